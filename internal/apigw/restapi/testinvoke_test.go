package restapi

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigateway/types"

	"github.com/sluice-dev/sluice/internal/awsproto"
	"github.com/sluice-dev/sluice/internal/invoke"
)

// fakeAuthorizerFunction answers by the event's token (or header "token").
type fakeAuthorizerFunction struct {
	events []map[string]any
	deny   bool // the function's resource policy does not allow API Gateway
}

func (f *fakeAuthorizerFunction) Invoke(_ context.Context, req *invoke.Request) (*invoke.Response, error) {
	if f.deny {
		return nil, awsproto.Errorf(403, "AccessDeniedException", "not allowed")
	}
	var ev map[string]any
	_ = json.Unmarshal(req.Payload, &ev)
	f.events = append(f.events, ev)
	token, _ := ev["authorizationToken"].(string)
	if h, ok := ev["headers"].(map[string]any); ok {
		token, _ = h["Token"].(string)
	}
	switch token {
	case "wrong-token":
		return &invoke.Response{FunctionError: "Unhandled", Payload: []byte(`{"errorMessage":"Unauthorized","errorType":"Exception"}`)}, nil
	case "junk-token-":
		return &invoke.Response{Payload: []byte(`{"principalId":"u"}`)}, nil
	}
	return &invoke.Response{Payload: []byte(`{"principalId":"user-1","policyDocument":{"Version":"2012-10-17",` +
		`"Statement":[{"Action":"execute-api:Invoke","Effect":"Allow","Resource":"` + ev["methodArn"].(string) + `"}]},"context":{"tier":"gold"}}`)}, nil
}

func TestTestInvokeAuthorizer(t *testing.T) {
	fn := &fakeAuthorizerFunction{}
	e := newTestEnv(t, func(o *Options) { o.Invoker = fn })
	ctx := context.Background()
	api, _ := e.createAPI(t, "auth")
	uri := "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:" + testAccount + ":function:auth/invocations"
	tok, err := e.client.CreateAuthorizer(ctx, &apigateway.CreateAuthorizerInput{RestApiId: aws.String(api), Name: aws.String("tok"),
		Type: types.AuthorizerTypeToken, AuthorizerUri: aws.String(uri), IdentitySource: aws.String("method.request.header.token"),
		IdentityValidationExpression: aws.String(`[a-z]+-token-?`)})
	mustNoErr(t, err)
	reqAuth, err := e.client.CreateAuthorizer(ctx, &apigateway.CreateAuthorizerInput{RestApiId: aws.String(api), Name: aws.String("req"),
		Type: types.AuthorizerTypeRequest, AuthorizerUri: aws.String(uri), IdentitySource: aws.String("method.request.header.token, method.request.querystring.q, stageVariables.env")})
	mustNoErr(t, err)

	test := func(id *string, in apigateway.TestInvokeAuthorizerInput) *apigateway.TestInvokeAuthorizerOutput {
		t.Helper()
		in.RestApiId, in.AuthorizerId = aws.String(api), id
		out, err := e.client.TestInvokeAuthorizer(ctx, &in)
		mustNoErr(t, err)
		return out
	}
	out := test(tok.Id, apigateway.TestInvokeAuthorizerInput{Headers: map[string]string{"token": "good-token"}})
	wantARN := "arn:aws:execute-api:us-east-1:" + testAccount + ":" + api + "/ESTestInvoke-stage/GET/"
	if out.ClientStatus != 0 || aws.ToString(out.PrincipalId) != "user-1" ||
		aws.ToString(out.Policy) != `{"Version":"2012-10-17","Statement":[{"Action":"execute-api:Invoke","Effect":"Allow","Resource":"`+wantARN+`"}]}` {
		t.Fatalf("good token: status %d principal %q policy %s\n%s", out.ClientStatus, aws.ToString(out.PrincipalId), aws.ToString(out.Policy), aws.ToString(out.Log))
	}
	for _, line := range []string{"Starting authorizer: " + *tok.Id, "Incoming identity: {method.request.header.token=****-token}",
		"Successfully completed authorizer execution"} {
		if !strings.Contains(aws.ToString(out.Log), line) {
			t.Errorf("log lacks %q:\n%s", line, aws.ToString(out.Log))
		}
	}
	if ev := fn.events[0]; ev["type"] != "TOKEN" || ev["authorizationToken"] != "good-token" || ev["methodArn"] != wantARN {
		t.Fatalf("TOKEN event = %v", ev)
	}

	// Refusals before any invocation, and the function's own answers.
	n := len(fn.events)
	for _, tc := range []struct {
		name    string
		headers map[string]string
		status  int32
	}{
		{"missing token", nil, 401},
		{"token failing the validation expression", map[string]string{"token": "BAD"}, 401},
		{"function says Unauthorized", map[string]string{"token": "wrong-token"}, 401},
		{"output without a policy", map[string]string{"token": "junk-token-"}, 500},
	} {
		out := test(tok.Id, apigateway.TestInvokeAuthorizerInput{Headers: tc.headers})
		if out.ClientStatus != tc.status || out.Policy != nil {
			t.Errorf("%s: status %d policy %v\n%s", tc.name, out.ClientStatus, out.Policy, aws.ToString(out.Log))
		}
	}
	if got := len(fn.events) - n; got != 2 {
		t.Fatalf("%d invocations for the four refusals, want 2 (the first two never invoke)", got)
	}

	// REQUEST: every source must be present; the event carries headers, query string
	// and stage variables.
	out = test(reqAuth.Id, apigateway.TestInvokeAuthorizerInput{Headers: map[string]string{"token": "good-token"},
		PathWithQueryString: aws.String("/pets/1?q=x"), StageVariables: map[string]string{"env": "test"}})
	if out.ClientStatus != 0 || aws.ToString(out.PrincipalId) != "user-1" {
		t.Fatalf("REQUEST: %d\n%s", out.ClientStatus, aws.ToString(out.Log))
	}
	ev := fn.events[len(fn.events)-1]
	rc, _ := ev["requestContext"].(map[string]any)
	if ev["type"] != "REQUEST" || ev["methodArn"] != wantARN+"pets/1" || ev["path"] != "/pets/1" ||
		ev["queryStringParameters"].(map[string]any)["q"] != "x" || ev["stageVariables"].(map[string]any)["env"] != "test" ||
		rc["stage"] != "test-invoke-stage" {
		t.Fatalf("REQUEST event = %v", ev)
	}
	if out := test(reqAuth.Id, apigateway.TestInvokeAuthorizerInput{Headers: map[string]string{"token": "good-token"},
		PathWithQueryString: aws.String("/pets/1?q=x")}); out.ClientStatus != 401 {
		t.Fatalf("REQUEST without the stage variable: %d", out.ClientStatus)
	}

	// API Gateway may not invoke the function: 500, as on a deployed stage.
	fn.deny = true
	if out := test(tok.Id, apigateway.TestInvokeAuthorizerInput{Headers: map[string]string{"token": "good-token"}}); out.ClientStatus != 500 ||
		!strings.Contains(aws.ToString(out.Log), "Execution failed due to configuration error: Invalid permissions on Lambda function") {
		t.Fatalf("no permission: %d\n%s", out.ClientStatus, aws.ToString(out.Log))
	}
	_, err = e.client.TestInvokeAuthorizer(ctx, &apigateway.TestInvokeAuthorizerInput{RestApiId: aws.String(api), AuthorizerId: aws.String("nope")})
	wantAPIError(t, err, "NotFoundException", 404, "Invalid Authorizer identifier specified")
}
