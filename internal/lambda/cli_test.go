package lambda

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestAWSCLI drives the handler with the AWS CLI (botocore's model, not the Go
// SDK's), when the CLI is installed.
func TestAWSCLI(t *testing.T) {
	if _, err := exec.LookPath("aws"); err != nil {
		t.Skip("aws CLI not installed")
	}
	if testing.Short() {
		t.Skip("slow: runs the AWS CLI")
	}
	e := newEnv(t, envOpts{})
	dir := t.TempDir()
	zipPath := filepath.Join(dir, "fn.zip")
	if err := os.WriteFile(zipPath, makeZip(t, map[string]string{"app.py": "def h(e, c): return e"}), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (map[string]any, string, error) {
		t.Helper()
		cmd := exec.Command("aws", append([]string{"--endpoint-url", e.srv.URL, "--region", "us-east-1", "--output", "json"}, args...)...)
		cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=AKID", "AWS_SECRET_ACCESS_KEY=SECRET", "AWS_PAGER=", "AWS_CONFIG_FILE=/dev/null",
			"AWS_SHARED_CREDENTIALS_FILE=/dev/null")
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		var m map[string]any
		if len(strings.TrimSpace(string(out))) > 0 {
			if jerr := json.Unmarshal(out, &m); jerr != nil {
				t.Fatalf("aws %v: output %q: %v", args, out, jerr)
			}
		}
		return m, stderr.String(), err
	}
	must := func(args ...string) map[string]any {
		t.Helper()
		m, stderr, err := run(args...)
		if err != nil {
			t.Fatalf("aws %v: %v\n%s", args, err, stderr)
		}
		return m
	}
	cfg := must("lambda", "create-function", "--function-name", "cli-fn", "--runtime", "python3.12", "--handler", "app.h",
		"--role", testRole, "--zip-file", "fileb://"+zipPath, "--environment", "Variables={A=b}")
	if cfg["FunctionArn"] != "arn:aws:lambda:us-east-1:123456789012:function:cli-fn" || cfg["State"] != "Active" {
		t.Fatalf("create-function = %v", cfg)
	}
	out := filepath.Join(dir, "out.json")
	meta := must("lambda", "invoke", "--function-name", "cli-fn", "--payload", `{"hi":1}`, out)
	if data, _ := os.ReadFile(out); meta["StatusCode"] != float64(200) || meta["ExecutedVersion"] != "$LATEST" || string(data) != `{"hi":1}` {
		t.Fatalf("invoke = %v %s", meta, data)
	}
	if v := must("lambda", "publish-version", "--function-name", "cli-fn"); v["Version"] != "1" {
		t.Fatalf("publish-version = %v", v)
	}
	must("lambda", "create-alias", "--function-name", "cli-fn", "--name", "live", "--function-version", "1")
	must("lambda", "add-permission", "--function-name", "cli-fn", "--statement-id", "s3", "--action", "lambda:InvokeFunction",
		"--principal", "s3.amazonaws.com", "--source-arn", "arn:aws:s3:::bucket", "--qualifier", "live")
	if p := must("lambda", "get-policy", "--function-name", "cli-fn", "--qualifier", "live"); !strings.Contains(p["Policy"].(string), `"Sid":"s3"`) {
		t.Fatalf("get-policy = %v", p)
	}
	if l := must("lambda", "list-functions"); len(l["Functions"].([]any)) != 1 {
		t.Fatalf("list-functions = %v", l)
	}
	if a := must("lambda", "get-account-settings"); a["AccountLimit"].(map[string]any)["ConcurrentExecutions"] != float64(1000) {
		t.Fatalf("get-account-settings = %v", a)
	}
	must("lambda", "put-function-concurrency", "--function-name", "cli-fn", "--reserved-concurrent-executions", "3")
	must("lambda", "delete-function", "--function-name", "cli-fn")
	_, stderr, err := run("lambda", "get-function", "--function-name", "cli-fn")
	if err == nil || !strings.Contains(stderr, "ResourceNotFoundException") || !strings.Contains(stderr, "Function not found: arn:aws:lambda:us-east-1:123456789012:function:cli-fn") {
		t.Fatalf("get-function after delete: %v %s", err, stderr)
	}
}
