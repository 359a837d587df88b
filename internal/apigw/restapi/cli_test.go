package restapi

import (
	"encoding/json"
	"os"
	"os/exec"
	"testing"
)

// TestAWSCLIScenario drives PRODUCT.md scenario 1's control-plane steps with the AWS
// CLI (botocore's apigateway client), the way a user scripts them.
func TestAWSCLIScenario(t *testing.T) {
	if _, err := exec.LookPath("aws"); err != nil {
		t.Skip("aws CLI not installed")
	}
	if testing.Short() {
		t.Skip("spawns the AWS CLI")
	}
	e := newTestEnv(t)
	aws := func(args ...string) map[string]any {
		t.Helper()
		cmd := exec.Command("aws", append([]string{"--endpoint-url", e.url, "--region", "us-east-1", "--output", "json", "apigateway"}, args...)...)
		cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY=secret",
			"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_MAX_ATTEMPTS=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("aws apigateway %v: %v\n%s", args, err, out)
		}
		var v map[string]any
		if len(out) > 0 {
			if err := json.Unmarshal(out, &v); err != nil {
				t.Fatalf("aws apigateway %v: %v\n%s", args, err, out)
			}
		}
		return v
	}
	api := aws("create-rest-api", "--name", "email", "--endpoint-configuration", "types=REGIONAL")
	id, root := api["id"].(string), api["rootResourceId"].(string)
	email := aws("create-resource", "--rest-api-id", id, "--parent-id", root, "--path-part", "email")["id"].(string)
	proxy := aws("create-resource", "--rest-api-id", id, "--parent-id", email, "--path-part", "{proxy+}")
	if proxy["path"] != "/email/{proxy+}" {
		t.Errorf("proxy resource %v", proxy)
	}
	pid := proxy["id"].(string)
	aws("put-method", "--rest-api-id", id, "--resource-id", pid, "--http-method", "ANY", "--authorization-type", "NONE")
	uri := "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:email/invocations"
	integ := aws("put-integration", "--rest-api-id", id, "--resource-id", pid, "--http-method", "ANY",
		"--type", "AWS_PROXY", "--integration-http-method", "POST", "--uri", uri)
	if integ["uri"] != uri || integ["timeoutInMillis"] != float64(29000) {
		t.Errorf("integration %v", integ)
	}
	dep := aws("create-deployment", "--rest-api-id", id, "--stage-name", "v1")
	stage := aws("get-stage", "--rest-api-id", id, "--stage-name", "v1")
	if stage["deploymentId"] != dep["id"] {
		t.Errorf("stage %v, deployment %v", stage, dep)
	}
	upd := aws("update-rest-api", "--rest-api-id", id, "--patch-operations", "op=add,path=/binaryMediaTypes/image~1png")
	if types, _ := upd["binaryMediaTypes"].([]any); len(types) != 1 || types[0] != "image/png" {
		t.Errorf("binaryMediaTypes %v", upd["binaryMediaTypes"])
	}
	res := aws("get-resources", "--rest-api-id", id, "--embed", "methods")
	if items, _ := res["items"].([]any); len(items) != 3 {
		t.Errorf("resources %v", res)
	}
	aws("delete-rest-api", "--rest-api-id", id)
	if list := aws("get-rest-apis"); len(list["items"].([]any)) != 0 {
		t.Errorf("apis after delete %v", list)
	}
}
