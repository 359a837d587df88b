package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// A function's temporary credentials act as a session of its execution role, as
// on Lambda: when IAM knows the role, its policies decide what the function may
// call (here: execute-api:Invoke on one method, and not Lambda's API); a role IAM
// does not know grants no identity policy on AWS_IAM methods.
func TestFunctionSessionActsAsItsRole(t *testing.T) {
	s := startSluice(t, startOpts{})
	api := newRESTAPI(t, s, "roles")
	rid := api.resource(api.root, "iam")
	s.aws("apigateway", "put-method", "--rest-api-id", api.id, "--resource-id", rid, "--http-method", "GET", "--authorization-type", "AWS_IAM")
	s.aws("apigateway", "put-integration", "--rest-api-id", api.id, "--resource-id", rid, "--http-method", "GET",
		"--type", "MOCK", "--request-templates", `{"application/json":"{\"statusCode\": 200}"}`)
	s.aws("apigateway", "put-method-response", "--rest-api-id", api.id, "--resource-id", rid, "--http-method", "GET", "--status-code", "200")
	s.aws("apigateway", "put-integration-response", "--rest-api-id", api.id, "--resource-id", rid, "--http-method", "GET",
		"--status-code", "200", "--response-templates", `{"application/json":"{\"signed\":true}"}`)
	api.deploy("prod")

	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	role := s.awsJSON("iam", "create-role", "--role-name", "invoker", "--assume-role-policy-document", trust)
	roleARN := role["Role"].(map[string]any)["Arn"].(string)
	s.aws("iam", "put-role-policy", "--role-name", "invoker", "--policy-name", "invoke", "--policy-document",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:us-east-1:123456789012:`+api.id+`/prod/GET/iam"}]}`)

	zip := dirZip(t, "python-rolecheck")
	for name, r := range map[string]string{"scoped": roleARN, "unknown": testRole} {
		s.awsJSON("lambda", "create-function", "--function-name", name, "--runtime", "python3.12", "--handler", "app.handler",
			"--role", r, "--timeout", "30", "--zip-file", "fileb://"+zip)
	}
	type result struct{ List, Key, Secret, Token string }
	run := func(name string) result {
		t.Helper()
		_, payload := s.invokeCLI(name, `{}`)
		var r result
		if err := json.Unmarshal(payload, &r); err != nil || r.Key == "" {
			t.Fatalf("%s returned %s: %v", name, payload, err)
		}
		return r
	}
	call := func(r result, token string) (int, string) {
		t.Helper()
		resp := s.do(t, s.signedCall(t, "GET", api.id, "/prod/iam", "", iamCreds{r.Key, r.Secret, token}, "execute-api", "us-east-1", time.Now(), false))
		return resp.Status, string(resp.Body)
	}

	scoped := run("scoped")
	// The role allows no lambda action: AccessDeniedException names the session.
	if !strings.HasPrefix(scoped.List, "AccessDeniedException: User: arn:aws:sts::123456789012:assumed-role/invoker/scoped is not authorized to perform: lambda:") {
		t.Fatalf("scoped function listing functions: %q", scoped.List)
	}
	if status, body := call(scoped, scoped.Token); status != 200 || body != `{"signed":true}` {
		t.Fatalf("scoped function calling its allowed method: %d %s", status, body)
	}
	// The key and secret without the session token are refused on the data plane too.
	if status, body := call(scoped, ""); status != 403 || !strings.Contains(body, "The security token included in the request is invalid.") {
		t.Fatalf("function key without its token: %d %s", status, body)
	}

	unknown := run("unknown")
	if unknown.List != "allowed" {
		t.Fatalf("function with a role IAM does not know, listing functions: %q", unknown.List)
	}
	if status, body := call(unknown, unknown.Token); status != 403 ||
		!strings.Contains(body, "User: arn:aws:sts::123456789012:assumed-role/lambda-role/unknown is not authorized to perform: execute-api:Invoke") {
		t.Fatalf("function without role policies calling an AWS_IAM method: %d %s", status, body)
	}
}
