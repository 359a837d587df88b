package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// awsS3Endpoint runs the AWS CLI with S3 pointed at s as well
// (`cloudformation package` builds its own S3 client, which --endpoint-url does
// not reach).
func (s *instance) awsS3Endpoint(dir string, args ...string) (string, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "aws", append([]string{"--endpoint-url", s.URL}, args...)...)
	cmd.Env = append(awsEnv(), "AWS_ENDPOINT_URL_S3="+s.URL)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

func writeHandler(t *testing.T, dir, greetingKey string) {
	t.Helper()
	src := `exports.handler = async () => ({statusCode: 200, body: JSON.stringify({"` + greetingKey + `": process.env.GREETING})});`
	if err := os.MkdirAll(filepath.Join(dir, "src"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "src", "index.js"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
}

// `aws cloudformation package` + `deploy` (change sets and waiters) create the
// stack, a redeploy with nothing changed changes nothing, a changed handler and
// parameter update the function in place under the same API id, and an update
// that fails rolls back while the previous stack keeps serving.
func TestCloudFormationDeployAndUpdate(t *testing.T) {
	s := startSluice(t, startOpts{})
	dir := t.TempDir()
	tmpl, err := os.ReadFile(filepath.Join("testdata", "cloudformation", "deploy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "template.yaml"), tmpl, 0o644); err != nil {
		t.Fatal(err)
	}
	writeHandler(t, dir, "v1")
	s.aws("s3api", "create-bucket", "--bucket", "artifacts")
	deploy := func(extra ...string) (string, error) {
		t.Helper()
		if _, stderr, err := s.awsS3Endpoint(dir, "cloudformation", "package", "--template-file", "template.yaml",
			"--s3-bucket", "artifacts", "--output-template-file", "packaged.yaml"); err != nil {
			t.Fatalf("package: %v %s", err, stderr)
		}
		out, stderr, err := s.awsS3Endpoint(dir, append([]string{"cloudformation", "deploy", "--template-file", "packaged.yaml",
			"--stack-name", "app", "--capabilities", "CAPABILITY_IAM"}, extra...)...)
		return out + stderr, err
	}
	if out, err := deploy(); err != nil || !strings.Contains(out, "Successfully created/updated stack - app") {
		t.Fatalf("deploy: %v\n%s", err, out)
	}
	apiID := stackOutputs(s.describeStack(t, "app"))["ApiId"]
	if r := s.awaitStatus(t, 200, "GET", apiID, "/anything", ""); string(r.Body) != `{"v1":"hi"}` {
		t.Fatalf("after deploy: %d %s", r.Status, r.Body)
	}

	// Nothing changed: the change set is empty and the CLI says so.
	out, err := deploy("--no-fail-on-empty-changeset")
	if err != nil || !strings.Contains(out, "No changes to deploy. Stack app is up to date") {
		t.Fatalf("redeploy: %v\n%s", err, out)
	}
	if st := s.describeStack(t, "app"); st["StackStatus"] != "CREATE_COMPLETE" {
		t.Fatalf("after empty redeploy: %v", st["StackStatus"])
	}

	// A changed handler and parameter: the function is updated in place, the API
	// is untouched.
	writeHandler(t, dir, "v2")
	if out, err := deploy("--parameter-overrides", "Greeting=hello"); err != nil || !strings.Contains(out, "Successfully created/updated stack - app") {
		t.Fatalf("update: %v\n%s", err, out)
	}
	st := s.describeStack(t, "app")
	if st["StackStatus"] != "UPDATE_COMPLETE" || stackOutputs(st)["ApiId"] != apiID {
		t.Fatalf("after update: %v", st)
	}
	if r := s.awaitStatus(t, 200, "GET", apiID, "/anything", ""); string(r.Body) != `{"v2":"hello"}` {
		t.Fatalf("after update: %d %s", r.Status, r.Body)
	}
	evs, _ := s.awsJSON("cloudformation", "describe-stack-events", "--stack-name", "app")["StackEvents"].([]any)
	updated := map[string]bool{}
	for _, x := range evs {
		m := x.(map[string]any)
		if m["ResourceStatus"] == "UPDATE_COMPLETE" {
			updated[str(m["LogicalResourceId"])] = true
		}
	}
	if !updated["Hello"] || updated["ServerlessHttpApi"] || updated["HelloRole"] || len(updated) != 2 {
		t.Fatalf("updated resources = %v (want Hello and the stack only)", updated)
	}

	// An update that adds a bucket and then fails on the function's code rolls
	// back: the bucket is deleted, the function keeps its code, the API serves.
	packaged, err := os.ReadFile(filepath.Join(dir, "packaged.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	broken := strings.Replace(string(packaged), "CodeUri: s3://artifacts/", "CodeUri: s3://artifacts/missing-", 1) +
		"  Extra:\n    Type: AWS::S3::Bucket\n    Properties:\n      BucketName: extra-bucket\n"
	broken = strings.Replace(broken, "Resources:\n", "Resources:\n  Extra:\n    Type: AWS::S3::Bucket\n    Properties:\n      BucketName: extra-bucket\n", 1)
	broken = strings.TrimSuffix(broken, "  Extra:\n    Type: AWS::S3::Bucket\n    Properties:\n      BucketName: extra-bucket\n")
	if err := os.WriteFile(filepath.Join(dir, "broken.yaml"), []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	s.aws("cloudformation", "update-stack", "--stack-name", "app", "--template-body", "file://"+filepath.Join(dir, "broken.yaml"),
		"--capabilities", "CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND", "--parameters", "ParameterKey=Greeting,UsePreviousValue=true")
	if _, _, err := s.awsRaw("cloudformation", "wait", "stack-update-complete", "--stack-name", "app"); err == nil {
		t.Fatal("wait stack-update-complete succeeded for a failing update")
	}
	st = s.describeStack(t, "app")
	if st["StackStatus"] != "UPDATE_ROLLBACK_COMPLETE" {
		t.Fatalf("after failed update: %v", st)
	}
	if r := s.call(t, "GET", apiID, "/anything", ""); string(r.Body) != `{"v2":"hello"}` {
		t.Fatalf("after rollback: %d %s", r.Status, r.Body)
	}
	if _, _, err := s.awsRaw("s3api", "head-bucket", "--bucket", "extra-bucket"); err == nil {
		t.Fatal("the bucket the failed update created is still there")
	}
	evs, _ = s.awsJSON("cloudformation", "describe-stack-events", "--stack-name", "app")["StackEvents"].([]any)
	var reason string
	for _, x := range evs {
		m := x.(map[string]any)
		if m["LogicalResourceId"] == "app" && m["ResourceStatus"] == "UPDATE_ROLLBACK_IN_PROGRESS" {
			reason = str(m["ResourceStatusReason"])
			break
		}
	}
	if reason != "The following resource(s) failed to update: [Hello]. " {
		t.Fatalf("UPDATE_ROLLBACK_IN_PROGRESS reason = %q", reason)
	}

	// Change sets by hand: the plan lists each change; deleting one leaves the
	// stack alone.
	s.aws("cloudformation", "create-change-set", "--stack-name", "app", "--change-set-name", "more", "--use-previous-template",
		"--capabilities", "CAPABILITY_IAM", "--parameters", "ParameterKey=Greeting,ParameterValue=again")
	s.aws("cloudformation", "wait", "change-set-create-complete", "--stack-name", "app", "--change-set-name", "more")
	cs := s.awsJSON("cloudformation", "describe-change-set", "--stack-name", "app", "--change-set-name", "more")
	changes, _ := cs["Changes"].([]any)
	if cs["Status"] != "CREATE_COMPLETE" || cs["ExecutionStatus"] != "AVAILABLE" || len(changes) != 1 {
		t.Fatalf("change set = %v", cs)
	}
	rc := changes[0].(map[string]any)["ResourceChange"].(map[string]any)
	if rc["Action"] != "Modify" || rc["LogicalResourceId"] != "Hello" || rc["Replacement"] != "False" {
		t.Fatalf("change = %v", rc)
	}
	// The executed change set of the last deploy stays listed, as on AWS.
	l, _ := s.awsJSON("cloudformation", "list-change-sets", "--stack-name", "app")["Summaries"].([]any)
	statuses := map[string]string{}
	for _, x := range l {
		m := x.(map[string]any)
		statuses[str(m["ChangeSetName"])] = str(m["ExecutionStatus"])
	}
	if len(l) != 2 || statuses["more"] != "AVAILABLE" {
		t.Fatalf("list-change-sets = %v", l)
	}
	s.aws("cloudformation", "delete-change-set", "--stack-name", "app", "--change-set-name", "more")
	_, stderr, err := s.awsRaw("cloudformation", "describe-change-set", "--stack-name", "app", "--change-set-name", "more")
	if err == nil || !strings.Contains(stderr, "ChangeSetNotFound") {
		t.Fatalf("describe deleted change set: %v %s", err, stderr)
	}
	_, stderr, err = s.awsRaw("cloudformation", "update-stack", "--stack-name", "app", "--use-previous-template",
		"--capabilities", "CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND", "--parameters", "ParameterKey=Greeting,UsePreviousValue=true")
	if err == nil || !strings.Contains(stderr, "No updates are to be performed.") {
		t.Fatalf("no-op update-stack: %v %s", err, stderr)
	}
}
