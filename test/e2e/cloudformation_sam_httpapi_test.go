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

// AWS::ApiGatewayV2::Authorizer: a Lambda REQUEST authorizer with simple responses
// guards a route built from plain resources.
func TestCloudFormationHTTPAPIAuthorizer(t *testing.T) {
	s := startSluice(t, startOpts{})
	tmpl := "file://" + filepath.Join("testdata", "cloudformation", "httpapi-authorizer.yaml")
	s.aws("cloudformation", "create-stack", "--stack-name", "authed", "--template-body", tmpl, "--capabilities", "CAPABILITY_IAM")
	s.waitStack(t, "stack-create-complete", "authed")
	outs := stackOutputs(s.describeStack(t, "authed"))
	au := s.awsJSON("apigatewayv2", "get-authorizer", "--api-id", outs["ApiId"], "--authorizer-id", outs["AuthorizerId"])
	if au["Name"] != "lambda-auth" || au["EnableSimpleResponses"] != true || au["AuthorizerPayloadFormatVersion"] != "2.0" {
		t.Fatalf("get-authorizer = %v", au)
	}
	r := s.awaitStatus(t, 200, "GET", outs["ApiId"], "/hi", "", "Authorization", "open-sesame")
	if r.JSON(t)["who"] != "ali" {
		t.Fatalf("authorized = %d %s", r.Status, r.Body)
	}
	if r := s.call(t, "GET", outs["ApiId"], "/hi", "", "Authorization", "nope"); r.Status != 403 {
		t.Fatalf("refused = %d %s", r.Status, r.Body)
	}
	if r := s.call(t, "GET", outs["ApiId"], "/hi", ""); r.Status != 401 {
		t.Fatalf("no identity = %d %s", r.Status, r.Body)
	}
	s.aws("cloudformation", "delete-stack", "--stack-name", "authed")
	s.waitStack(t, "stack-delete-complete", "authed")
}
