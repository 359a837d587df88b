package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// runExample runs an example's deploy.sh against s, as its README says to, and
// returns what it printed.
func runExample(t *testing.T, s *instance, script string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", append([]string{script}, args...)...)
	cmd.Env = append(awsEnv(), "ENDPOINT="+s.URL)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("bash %s: %v\n%s", script, err, out)
	}
	return string(out)
}

// examples/email-service/deploy.sh is idempotent: the second run updates the
// function and redeploys the same API (no "already exists"), both runs answer
// through the path-form URL, and nothing is left in the example's folder.
func TestEmailServiceDeployTwice(t *testing.T) {
	s := startSluice(t, startOpts{})
	dir := filepath.Join("..", "..", "examples", "email-service")
	before := listDir(t, dir)
	first := runExample(t, s, filepath.Join(dir, "deploy.sh"))
	second := runExample(t, s, filepath.Join(dir, "deploy.sh"))
	for i, out := range []string{first, second} {
		for _, want := range []string{`POST /v1/email/send → {"sent":true`, `GET  /v1/email/ping → {"pong":true`,
			`GET  /v1/nothing    → {"message":"Missing Authentication Token"}`} {
			if !strings.Contains(out, want) {
				t.Fatalf("run %d: no %q in:\n%s", i+1, want, out)
			}
		}
	}
	if !strings.Contains(first, "created function email") || !strings.Contains(second, "updated function email") ||
		strings.Contains(second, "created REST API") {
		t.Fatalf("the second run should update, not create:\nfirst:\n%s\nsecond:\n%s", first, second)
	}
	apis := s.awsJSON("apigateway", "get-rest-apis")["items"].([]any)
	if len(apis) != 1 {
		t.Fatalf("two runs made %d REST APIs, want 1: %v", len(apis), apis)
	}
	if after := listDir(t, dir); strings.Join(after, ",") != strings.Join(before, ",") {
		t.Fatalf("deploy.sh left files behind: before %v, after %v", before, after)
	}
}

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}
