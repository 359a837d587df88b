package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// logged returns what follows pattern in each message of a function's log group
// that has it (console.log lines carry a timestamp, request id and level first).
func (s *instance) logged(fn, pattern string) []string {
	out, _, err := s.awsRaw("logs", "filter-log-events", "--log-group-name", "/aws/lambda/"+fn, "--filter-pattern", pattern,
		"--query", "events[].message", "--output", "json")
	if err != nil {
		return nil
	}
	var msgs []string
	if err := json.Unmarshal(out, &msgs); err != nil {
		return nil
	}
	var found []string
	for _, m := range msgs {
		if _, after, ok := strings.Cut(m, pattern); ok {
			found = append(found, strings.TrimSpace(after))
		}
	}
	return found
}

// Bucket notifications from a template: a SAM S3 event (with a key filter) and a
// plain AWS::S3::Bucket NotificationConfiguration invoke their functions.
func TestCloudFormationS3Notifications(t *testing.T) {
	s := startSluice(t, startOpts{})
	tmpl := "file://" + filepath.Join("testdata", "cloudformation", "sam-s3.yaml")
	s.aws("cloudformation", "create-stack", "--stack-name", "s3app", "--template-body", tmpl,
		"--capabilities", "CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND")
	s.waitStack(t, "stack-create-complete", "s3app")
	outs := stackOutputs(s.describeStack(t, "s3app"))

	nc := s.awsJSON("s3api", "get-bucket-notification-configuration", "--bucket", outs["Uploads"])
	lcs, _ := nc["LambdaFunctionConfigurations"].([]any)
	if len(lcs) != 1 || !strings.HasSuffix(str(lcs[0].(map[string]any)["LambdaFunctionArn"]), ":function:"+outs["OnUpload"]) {
		t.Fatalf("notification configuration = %v", nc)
	}
	file := filepath.Join(t.TempDir(), "f.txt")
	if err := os.WriteFile(file, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"in/a.txt", "in/b.png", "other/c.txt"} {
		s.aws("s3", "cp", file, "s3://"+outs["Uploads"]+"/"+key)
	}
	s.aws("s3", "cp", file, "s3://"+outs["Plain"]+"/gone.txt")
	s.aws("s3", "rm", "s3://"+outs["Plain"]+"/gone.txt")
	var got, plain []string
	eventually(t, 30*time.Second, func() bool {
		got, plain = s.logged(outs["OnUpload"], "GOT"), s.logged(outs["OnPlain"], "GOT")
		return len(got) >= 1 && len(plain) >= 1
	})
	// The other keys miss the filter; give their notifications time to show up.
	time.Sleep(time.Second)
	got = s.logged(outs["OnUpload"], "GOT")
	if strings.Join(got, "|") != "ObjectCreated:Put "+outs["Uploads"]+"/in/a.txt" {
		t.Fatalf("OnUpload saw %q", got)
	}
	if strings.Join(plain, "|") != "ObjectRemoved:Delete "+outs["Plain"]+"/gone.txt" {
		t.Fatalf("OnPlain saw %q", plain)
	}

	s.aws("s3", "rm", "--recursive", "s3://"+outs["Uploads"])
	s.aws("cloudformation", "delete-stack", "--stack-name", "s3app")
	s.waitStack(t, "stack-delete-complete", "s3app")
	if b, _ := s.awsJSON("s3api", "list-buckets")["Buckets"].([]any); len(b) != 0 {
		t.Fatalf("buckets left after delete: %v", b)
	}
}
