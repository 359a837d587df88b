package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Seed scenario 1: a REST API with /email/{proxy+} ANY → one Node function that
// routes on the path, deployed to stage v1.
func TestRESTScenario1EmailProxy(t *testing.T) {
	s := startSluice(t, startOpts{})
	fn := s.createFunction("email", "nodejs22.x", "index.handler", emailZip(t))
	fnArn := str(fn["FunctionArn"])

	api := s.awsJSON("apigateway", "create-rest-api", "--name", "email-service")
	apiID, root := str(api["id"]), str(api["rootResourceId"])
	email := s.awsJSON("apigateway", "create-resource", "--rest-api-id", apiID, "--parent-id", root, "--path-part", "email")
	proxy := s.awsJSON("apigateway", "create-resource", "--rest-api-id", apiID, "--parent-id", str(email["id"]), "--path-part", "{proxy+}")
	if proxy["path"] != "/email/{proxy+}" {
		t.Fatalf("proxy resource = %v", proxy)
	}
	s.aws("apigateway", "put-method", "--rest-api-id", apiID, "--resource-id", str(proxy["id"]), "--http-method", "ANY", "--authorization-type", "NONE")
	s.aws("apigateway", "put-integration", "--rest-api-id", apiID, "--resource-id", str(proxy["id"]), "--http-method", "ANY",
		"--type", "AWS_PROXY", "--integration-http-method", "POST", "--uri", fnURI(fnArn))
	s.aws("lambda", "add-permission", "--function-name", "email", "--statement-id", "apigw", "--action", "lambda:InvokeFunction",
		"--principal", "apigateway.amazonaws.com", "--source-arn", "arn:aws:execute-api:us-east-1:123456789012:"+apiID+"/*/*/email/*")

	// Not deployed: not reachable.
	if r := s.call(t, "GET", apiID, "/v1/email/send", ""); r.Status != 403 {
		t.Fatalf("before deployment: %d %s", r.Status, r.Body)
	}
	s.aws("apigateway", "create-deployment", "--rest-api-id", apiID, "--stage-name", "v1")

	for _, sub := range []string{"send", "ping"} {
		r := s.awaitStatus(t, 200, "POST", apiID, "/v1/email/"+sub, `{"to":"a@example.com"}`)
		if r.Status != 200 {
			t.Fatalf("/v1/email/%s: %d %s", sub, r.Status, r.Body)
		}
		m := r.JSON(t)
		if m["path"] != "/email/"+sub || m["resource"] != "/email/{proxy+}" || m["proxy"] != sub {
			t.Fatalf("/v1/email/%s reached the function with %v", sub, m)
		}
		if r.Header.Get("x-amzn-RequestId") == "" || r.Header.Get("x-amz-apigw-id") == "" {
			t.Fatalf("missing API Gateway headers: %v", r.Header)
		}
	}
	if r := s.callPath(t, "GET", apiID, "v1", "/email/ping"); r.Status != 200 || r.JSON(t)["proxy"] != "ping" {
		t.Fatalf("path form: %d %s", r.Status, r.Body)
	}
	// No matching resource: AWS's 403 Missing Authentication Token.
	r := s.call(t, "GET", apiID, "/v1/nothing", "")
	if r.Status != 403 || string(r.Body) != `{"message":"Missing Authentication Token"}` {
		t.Fatalf("unmatched path: %d %s", r.Status, r.Body)
	}
}

// Seed scenario 2 minus the authorizer: GET /blocks with a non-proxy Lambda
// integration whose response passes through unchanged; unreachable before
// deployment; 500 without the invoke permission, 200 after add-permission.
func TestRESTScenario2NonProxy(t *testing.T) {
	s := startSluice(t, startOpts{})
	dir := t.TempDir()
	src := "def handler(event, context):\n    return {\"statusCode\": 200, \"body\": \"\\\"\\\"\"}\n"
	zipPath := filepath.Join(dir, "blocks.zip")
	os.WriteFile(zipPath, zipBytes(t, map[string]zipEntry{"blocks.py": {[]byte(src), 0o644}}), 0o644)
	fn := s.createFunction("blocks", "python3.12", "blocks.handler", zipPath)

	api := s.awsJSON("apigateway", "create-rest-api", "--name", "blocks")
	apiID, root := str(api["id"]), str(api["rootResourceId"])
	res := s.awsJSON("apigateway", "create-resource", "--rest-api-id", apiID, "--parent-id", root, "--path-part", "blocks")
	rid := str(res["id"])
	s.aws("apigateway", "put-method", "--rest-api-id", apiID, "--resource-id", rid, "--http-method", "GET", "--authorization-type", "NONE")
	s.aws("apigateway", "put-integration", "--rest-api-id", apiID, "--resource-id", rid, "--http-method", "GET",
		"--type", "AWS", "--integration-http-method", "POST", "--uri", fnURI(str(fn["FunctionArn"])))
	s.aws("apigateway", "put-method-response", "--rest-api-id", apiID, "--resource-id", rid, "--http-method", "GET", "--status-code", "200")
	s.aws("apigateway", "put-integration-response", "--rest-api-id", apiID, "--resource-id", rid, "--http-method", "GET",
		"--status-code", "200", "--selection-pattern", "")

	if r := s.call(t, "GET", apiID, "/prod/blocks", ""); r.Status != 403 {
		t.Fatalf("before deployment: %d %s", r.Status, r.Body)
	}
	s.aws("apigateway", "create-deployment", "--rest-api-id", apiID, "--stage-name", "prod")
	r := s.awaitStatus(t, 500, "GET", apiID, "/prod/blocks", "")
	if r.Status != 500 || string(r.Body) != `{"message": "Internal server error"}` {
		t.Fatalf("without permission: %d %s", r.Status, r.Body)
	}
	s.aws("lambda", "add-permission", "--function-name", "blocks", "--statement-id", "apigw", "--action", "lambda:InvokeFunction",
		"--principal", "apigateway.amazonaws.com", "--source-arn", "arn:aws:execute-api:us-east-1:123456789012:"+apiID+"/*/GET/blocks")
	r = s.call(t, "GET", apiID, "/prod/blocks", "")
	var got map[string]any
	if r.Status != 200 || json.Unmarshal(r.Body, &got) != nil || got["statusCode"] != float64(200) || got["body"] != `""` {
		t.Fatalf("with permission: %d %s", r.Status, r.Body)
	}
}

// Deployments are snapshots: changing a method does nothing until redeployed.
func TestRESTDeploymentIsSnapshot(t *testing.T) {
	s := startSluice(t, startOpts{})
	api := s.awsJSON("apigateway", "create-rest-api", "--name", "mock")
	apiID, root := str(api["id"]), str(api["rootResourceId"])
	res := s.awsJSON("apigateway", "create-resource", "--rest-api-id", apiID, "--parent-id", root, "--path-part", "m")
	rid := str(res["id"])
	s.aws("apigateway", "put-method", "--rest-api-id", apiID, "--resource-id", rid, "--http-method", "GET", "--authorization-type", "NONE")
	s.aws("apigateway", "put-integration", "--rest-api-id", apiID, "--resource-id", rid, "--http-method", "GET",
		"--type", "MOCK", "--request-templates", `{"application/json":"{\"statusCode\": 200}"}`)
	s.aws("apigateway", "put-method-response", "--rest-api-id", apiID, "--resource-id", rid, "--http-method", "GET", "--status-code", "200")
	s.aws("apigateway", "put-integration-response", "--rest-api-id", apiID, "--resource-id", rid, "--http-method", "GET",
		"--status-code", "200", "--response-templates", `{"application/json":"{\"v\":1}"}`)
	s.aws("apigateway", "create-deployment", "--rest-api-id", apiID, "--stage-name", "s")
	if r := s.awaitStatus(t, 200, "GET", apiID, "/s/m", ""); r.Status != 200 || string(r.Body) != `{"v":1}` {
		t.Fatalf("mock: %d %s", r.Status, r.Body)
	}
	s.aws("apigateway", "put-integration-response", "--rest-api-id", apiID, "--resource-id", rid, "--http-method", "GET",
		"--status-code", "200", "--response-templates", `{"application/json":"{\"v\":2}"}`)
	if r := s.call(t, "GET", apiID, "/s/m", ""); string(r.Body) != `{"v":1}` {
		t.Fatalf("live edit leaked into the stage: %s", r.Body)
	}
	s.aws("apigateway", "create-deployment", "--rest-api-id", apiID, "--stage-name", "s")
	if !eventually(t, 3*time.Second, func() bool { return string(s.call(t, "GET", apiID, "/s/m", "").Body) == `{"v":2}` }) {
		t.Fatalf("redeploy not served")
	}
}
