package e2e

import (
	"path/filepath"
	"testing"
)

// An AWS::Serverless::HttpApi with a stage name and CORS: the event's route is
// served on that stage and preflights are answered by the API.
func TestCloudFormationSAMExplicitHTTPAPI(t *testing.T) {
	s := startSluice(t, startOpts{})
	tmpl := "file://" + filepath.Join("testdata", "cloudformation", "sam-httpapi-explicit.yaml")
	s.aws("cloudformation", "create-stack", "--stack-name", "httpx", "--template-body", tmpl,
		"--capabilities", "CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND")
	s.waitStack(t, "stack-create-complete", "httpx")
	apiID := stackOutputs(s.describeStack(t, "httpx"))["ApiId"]
	api := s.awsJSON("apigatewayv2", "get-api", "--api-id", apiID)
	if api["Name"] != "explicit-http" {
		t.Fatalf("get-api = %v", api)
	}
	st := s.awsJSON("apigatewayv2", "get-stage", "--api-id", apiID, "--stage-name", "prod")
	if st["AutoDeploy"] != true || st["StageVariables"].(map[string]any)["color"] != "blue" {
		t.Fatalf("stage = %v", st)
	}
	r := s.awaitStatus(t, 200, "GET", apiID, "/prod/hi", "")
	if got := r.JSON(t); got["route"] != "GET /hi" || got["stage"] != "prod" {
		t.Fatalf("GET /prod/hi = %d %s", r.Status, r.Body)
	}
	pre := s.call(t, "OPTIONS", apiID, "/prod/hi", "", "Origin", "https://example.com", "Access-Control-Request-Method", "GET")
	if pre.Status != 204 || pre.Header.Get("Access-Control-Allow-Origin") != "https://example.com" {
		t.Fatalf("preflight = %d %v", pre.Status, pre.Header)
	}
	s.aws("cloudformation", "delete-stack", "--stack-name", "httpx")
	s.waitStack(t, "stack-delete-complete", "httpx")
}
