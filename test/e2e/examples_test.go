package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
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
	cmd.Env = append(awsEnv(), "ENDPOINT="+s.URL, "SLUICE="+sluiceBin)
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

// examples/token-authorizer: the SAM template deploys with `sluice deploy` and the
// API answers each kind of token as scenario 2 says; a second run changes nothing.
func TestTokenAuthorizerExample(t *testing.T) {
	s := startSluice(t, startOpts{})
	dir := filepath.Join("..", "..", "examples", "token-authorizer")
	before := listDir(t, dir)
	first := runExample(t, s, filepath.Join(dir, "deploy.sh"))
	for _, want := range []string{"Stack token-authorizer is CREATE_COMPLETE", "BlocksApiTokenAuthorizerPermission",
		`token allow-1    → 200 {"blocks": [{"height": 1, "hash": "00ab"}, {"height": 2, "hash": "00cd"}]}`,
		`token deny-1     → 403 {"Message":"User is not authorized to access this resource with an explicit deny"}`,
		`token nonsense   → 401 {"message":"Unauthorized"}`,
		`token (none)     → 401 {"message":"Unauthorized"}`} {
		if !strings.Contains(first, want) {
			t.Fatalf("no %q in:\n%s", want, first)
		}
	}
	// sluice deploy prints the stage's URL, the one deploy.sh calls.
	if m := regexp.MustCompile(`GET (\S+)/restapis/(\w+)/prod/_user_request_/blocks`).FindStringSubmatch(first); m == nil ||
		!strings.Contains(first, "BlocksApi ("+m[2]+") "+m[1]+"/restapis/"+m[2]+"/prod/_user_request_/") {
		t.Fatalf("no REST API URL printed:\n%s", first)
	}
	// The malformed token never reached the authorizer: it ran for allow-1 and deny-1 only.
	fns := s.awsJSON("lambda", "list-functions")["Functions"].([]any)
	var auth string
	for _, f := range fns {
		if name := str(f.(map[string]any)["FunctionName"]); strings.HasPrefix(name, "token-authorizer-TokenAuth-") {
			auth = name
		}
	}
	if got := s.logged(auth, "START RequestId"); len(got) != 2 {
		t.Fatalf("authorizer invocations = %q, want 2", got)
	}
	second := runExample(t, s, filepath.Join(dir, "deploy.sh"))
	if !strings.Contains(second, "No changes to deploy") || !strings.Contains(second, "token allow-1    → 200") {
		t.Fatalf("second run:\n%s", second)
	}
	if after := listDir(t, dir); strings.Join(after, ",") != strings.Join(before, ",") {
		t.Fatalf("deploy.sh left files behind: before %v, after %v", before, after)
	}
}
