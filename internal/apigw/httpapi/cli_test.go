package httpapi

import (
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestAWSCLI drives the service with the AWS CLI, the client the e2e tests and
// users script with: its escaping of "$default", route keys and ARNs in paths, and
// its parsing of our timestamps and bodies. Skipped where the CLI is not installed.
func TestAWSCLI(t *testing.T) {
	if _, err := exec.LookPath("aws"); err != nil {
		t.Skip("aws CLI not installed")
	}
	if testing.Short() {
		t.Skip("slow: runs the AWS CLI")
	}
	e := newEnv(t)
	run := func(args ...string) map[string]any {
		t.Helper()
		cmd := exec.Command("aws", append([]string{"--endpoint-url", e.srv.URL, "--region", "us-east-1", "--output", "json", "apigatewayv2"}, args...)...)
		cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY=secret",
			"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_MAX_ATTEMPTS=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		m := map[string]any{}
		if len(strings.TrimSpace(string(out))) > 0 {
			if err := json.Unmarshal(out, &m); err != nil {
				t.Fatalf("aws %s: output is not JSON: %s", strings.Join(args, " "), out)
			}
		}
		return m
	}

	api := run("create-api", "--name", "cli", "--protocol-type", "HTTP", "--target", testFnARN,
		"--cors-configuration", "AllowOrigins=https://app.example.com,AllowMethods=GET,POST,MaxAge=600")
	apiID, _ := api["ApiId"].(string)
	if len(apiID) != 10 || api["ApiEndpoint"] != "http://"+apiID+".execute-api.localhost:4566" {
		t.Fatalf("create-api = %v", api)
	}
	st := run("get-stage", "--api-id", apiID, "--stage-name", "$default")
	if st["StageName"] != "$default" || st["AutoDeploy"] != true || st["DeploymentId"] == nil {
		t.Fatalf("get-stage $default = %v", st)
	}
	integ := run("create-integration", "--api-id", apiID, "--integration-type", "AWS_PROXY",
		"--integration-uri", testFnARN, "--payload-format-version", "2.0")
	target := "integrations/" + integ["IntegrationId"].(string)
	run("create-route", "--api-id", apiID, "--route-key", "ANY /{proxy+}", "--target", target)
	run("create-stage", "--api-id", apiID, "--stage-name", "dev",
		"--route-settings", `{"ANY /{proxy+}":{"ThrottlingBurstLimit":5}}`)
	run("create-deployment", "--api-id", apiID, "--stage-name", "dev")
	run("delete-route-settings", "--api-id", apiID, "--stage-name", "dev", "--route-key", "ANY /{proxy+}")
	arn := "arn:aws:apigateway:us-east-1::/apis/" + apiID + "/stages/dev"
	run("tag-resource", "--resource-arn", arn, "--tags", "team=a,env=dev")
	run("untag-resource", "--resource-arn", arn, "--tag-keys", "env")
	tags := run("get-tags", "--resource-arn", arn)
	if tg, _ := tags["Tags"].(map[string]any); len(tg) != 1 || tg["team"] != "a" {
		t.Fatalf("get-tags = %v", tags)
	}
	routes := run("get-routes", "--api-id", apiID)
	if items, _ := routes["Items"].([]any); len(items) != 2 {
		t.Fatalf("get-routes = %v", routes)
	}
	dev := run("get-stage", "--api-id", apiID, "--stage-name", "dev")
	if rs, _ := dev["RouteSettings"].(map[string]any); len(rs) != 0 || dev["DeploymentId"] == nil {
		t.Fatalf("get-stage dev = %v", dev)
	}
	run("delete-api", "--api-id", apiID)
}
