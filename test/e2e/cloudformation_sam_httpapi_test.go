package e2e

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/lestrrat-go/jwx/v3/jwa"
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
	// Tags (and Globals.HttpApi's) with SAM's own on the API and its stage.
	for what, tags := range map[string]any{"api": api["Tags"], "stage": st["Tags"]} {
		if got := fmt.Sprint(tags); got != "map[env:prod httpapi:createdBy:SAM team:blue]" {
			t.Fatalf("%s tags = %s", what, got)
		}
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

// AWS::Serverless::HttpApi Auth: a JWT DefaultAuthorizer (JWKS served by the test)
// with a route-level scope, a Lambda authorizer with simple responses on one route
// (its permission from EnableFunctionDefaultPermissions) and a public route; an
// update that changes the audience keeps the API and its authorizer and takes
// effect.
func TestCloudFormationSAMHTTPAPIAuth(t *testing.T) {
	s := startSluice(t, startOpts{})
	o := newOIDCIssuer(t)
	key := o.key(t, "rs-1", jwa.RS256(), true)
	tmpl := "file://" + filepath.Join("testdata", "cloudformation", "sam-httpapi-auth.yaml")
	s.aws("cloudformation", "create-stack", "--stack-name", "httpauth", "--template-body", tmpl,
		"--parameters", "ParameterKey=Issuer,ParameterValue="+o.srv.URL, "--capabilities", "CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND")
	s.waitStack(t, "stack-create-complete", "httpauth")
	apiID := stackOutputs(s.describeStack(t, "httpauth"))["ApiId"]
	auths, _ := s.awsJSON("apigatewayv2", "get-authorizers", "--api-id", apiID)["Items"].([]any)
	byName := map[string]map[string]any{}
	for _, a := range auths {
		m := a.(map[string]any)
		byName[str(m["Name"])] = m
	}
	if len(byName) != 2 || byName["OAuth"]["AuthorizerType"] != "JWT" || byName["Gate"]["AuthorizerPayloadFormatVersion"] != "2.0" {
		t.Fatalf("authorizers = %v", auths)
	}

	type reply struct {
		Route      string         `json:"route"`
		Authorizer map[string]any `json:"authorizer"`
	}
	get := func(method, path string, want int, headers ...string) reply {
		t.Helper()
		r := s.call(t, method, apiID, path, "", headers...)
		var out reply
		if r.Status != want || (want == 200 && json.Unmarshal(r.Body, &out) != nil) {
			t.Fatalf("%s %s %v = %d %s, want %d", method, path, headers, r.Status, r.Body, want)
		}
		return out
	}
	tok := o.token(t, key, nil) // scope "orders:read profile"
	s.awaitStatus(t, 200, "GET", apiID, "/health", "")
	get("GET", "/orders", 401)
	rep := get("GET", "/orders", 200, "Authorization", tok)
	if claims, _ := rep.Authorizer["jwt"].(map[string]any)["claims"].(map[string]any); claims["sub"] != "alice" {
		t.Fatalf("GET /orders authorizer = %v", rep.Authorizer)
	}
	get("POST", "/orders", 403, "Authorization", tok)
	get("POST", "/orders", 200, "Authorization", o.token(t, key, map[string]any{"scope": "orders:write"}))
	get("GET", "/gate", 401, "Authorization", tok)
	get("GET", "/gate", 403, "X-Key", "nope")
	if rep := get("GET", "/gate", 200, "X-Key", "open-sesame"); rep.Authorizer["lambda"].(map[string]any)["who"] != "ali" {
		t.Fatalf("GET /gate authorizer = %v", rep.Authorizer)
	}

	// A new audience: the same API and authorizer, and the old tokens no longer pass.
	s.aws("cloudformation", "update-stack", "--stack-name", "httpauth", "--template-body", tmpl,
		"--parameters", "ParameterKey=Issuer,UsePreviousValue=true", "ParameterKey=Audience,ParameterValue=api://other",
		"--capabilities", "CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND")
	s.waitStack(t, "stack-update-complete", "httpauth")
	if got := stackOutputs(s.describeStack(t, "httpauth"))["ApiId"]; got != apiID {
		t.Fatalf("ApiId after update = %s, was %s", got, apiID)
	}
	oauth := s.awsJSON("apigatewayv2", "get-authorizer", "--api-id", apiID, "--authorizer-id", str(byName["OAuth"]["AuthorizerId"]))
	if aud, _ := oauth["JwtConfiguration"].(map[string]any)["Audience"].([]any); len(aud) != 1 || aud[0] != "api://other" {
		t.Fatalf("authorizer after update = %v", oauth)
	}
	get("GET", "/orders", 401, "Authorization", tok)
	get("GET", "/orders", 200, "Authorization", o.token(t, key, map[string]any{"aud": "api://other"}))

	s.aws("cloudformation", "delete-stack", "--stack-name", "httpauth")
	s.waitStack(t, "stack-delete-complete", "httpauth")
}
