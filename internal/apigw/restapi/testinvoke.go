package restapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sluice-dev/sluice/internal/apigw/access"
	"github.com/sluice-dev/sluice/internal/apigw/compile"
	"github.com/sluice-dev/sluice/internal/apigw/model"
	"github.com/sluice-dev/sluice/internal/awsproto"
	"github.com/sluice-dev/sluice/internal/invoke"
)

// TestInvokeAuthorizer runs a stored (not necessarily deployed) Lambda authorizer
// against a simulated request, as the console's "Test" button does. The event is the
// one the data plane sends, with AWS's test-invoke placeholders: the method ARN is
// {apiId}/ESTestInvoke-stage/GET/{path}, the request context's stage
// "test-invoke-stage" and resource "test-invoke-resource-id" (as AWS's execution logs
// of test invocations show them).

// testAuthorizerTimeout is the data plane's bound on one authorizer invocation.
const testAuthorizerTimeout = 29 * time.Second

type testInvokeAuthorizerInput struct {
	Headers             map[string]string   `json:"headers"`
	MultiValueHeaders   map[string][]string `json:"multiValueHeaders"`
	PathWithQueryString string              `json:"pathWithQueryString"`
	Body                string              `json:"body"`
	StageVariables      map[string]string   `json:"stageVariables"`
	AdditionalContext   map[string]string   `json:"additionalContext"`
}

// testInvokeAuthorizerOutput is AWS's TestInvokeAuthorizerResponse. clientStatus is
// "the HTTP status code that the client would have received. Value is 0 if the
// authorizer succeeded"; claims are a Cognito user pool's, so a Lambda authorizer
// leaves them (and authorization) out.
type testInvokeAuthorizerOutput struct {
	ClientStatus  int                 `json:"clientStatus"`
	Log           string              `json:"log"`
	Latency       int64               `json:"latency"`
	PrincipalID   string              `json:"principalId,omitempty"`
	Policy        string              `json:"policy,omitempty"`
	Authorization map[string][]string `json:"authorization,omitempty"`
	Claims        map[string]string   `json:"claims,omitempty"`
}

// executionLog writes AWS's execution log lines: "Thu Sep 05 04:56:39 UTC 2019 : ...".
type executionLog struct{ b strings.Builder }

func (l *executionLog) printf(format string, args ...any) {
	l.b.WriteString(time.Now().UTC().Format("Mon Jan 02 15:04:05 MST 2006"))
	l.b.WriteString(" : ")
	fmt.Fprintf(&l.b, format, args...)
	l.b.WriteByte('\n')
}

// maskIdentity hides all but the last six characters of an identity value, as
// AWS's execution log does ("********aaaaaa").
func maskIdentity(v string) string {
	if len(v) <= 6 {
		return strings.Repeat("*", len(v))
	}
	return strings.Repeat("*", len(v)-6) + v[len(v)-6:]
}

func (s *Service) testInvokeAuthorizer(ctx context.Context, req *request) (int, any, error) {
	var in testInvokeAuthorizerInput
	if err := req.decode(&in); err != nil {
		return 0, nil, err
	}
	api, id := req.params["restApiId"], req.params["authorizerId"]
	rd := s.reader(ctx)
	if _, err := s.loadAPI(rd, api); err != nil {
		return 0, nil, err
	}
	m, err := loadAuthorizer(rd, api, id)
	if err != nil {
		return 0, nil, err
	}
	if s.invoker == nil {
		return 0, nil, awsproto.Errorf(http.StatusNotImplemented, "NotImplementedException", "TestInvokeAuthorizer needs a Lambda service")
	}
	started := time.Now()
	requestID := awsproto.RequestID(ctx)
	if requestID == "" {
		requestID = awsproto.NewRequestID()
	}
	var log executionLog
	log.b.WriteString("Execution log for request " + requestID + "\n")
	log.printf("Starting authorizer: %s for request: %s", id, requestID)
	out := s.runTestAuthorizer(ctx, api, m, &in, requestID, &log)
	out.Log = log.b.String()
	out.Latency = time.Since(started).Milliseconds()
	return http.StatusOK, out, nil
}

// runTestAuthorizer decides as the data plane would: a missing identity source or a
// token that fails identityValidationExpression is 401 without an invocation; the
// function failing with "Unauthorized" is 401; a configuration error, a failure or an
// output that is no valid authorizer response is 500; a valid response is 0.
func (s *Service) runTestAuthorizer(ctx context.Context, api string, m *model.Authorizer, in *testInvokeAuthorizerInput, requestID string, log *executionLog) *testInvokeAuthorizerOutput {
	configError := func(msg string) *testInvokeAuthorizerOutput {
		log.printf("Execution failed due to configuration error: %s", msg)
		log.printf("AuthorizerConfigurationException")
		return &testInvokeAuthorizerOutput{ClientStatus: http.StatusInternalServerError}
	}
	unauthorized := func() *testInvokeAuthorizerOutput {
		log.printf("Unauthorized request: %s", requestID)
		log.printf("Unauthorized")
		return &testInvokeAuthorizerOutput{ClientStatus: http.StatusUnauthorized}
	}
	a := compile.RESTAuthorizer(s.region, s.account, api, m.ID, m, in.StageVariables)
	if a.ConfigErr != "" {
		return configError(a.ConfigErr)
	}
	tr := newTestRequest(in)
	var identity []string
	var token string
	for _, src := range a.Sources {
		v := tr.source(src, in)
		if v == "" {
			log.printf("The identity source %s is missing or empty", src.Origin())
			return unauthorized()
		}
		identity = append(identity, src.Origin()+"="+maskIdentity(v))
		token = v
	}
	log.printf("Incoming identity: {%s}", strings.Join(identity, ", "))
	if a.Validation != nil && !a.Validation.MatchString(token) {
		log.printf("The incoming identity does not match the identity validation expression")
		return unauthorized()
	}
	methodARN := "arn:aws:execute-api:" + s.region + ":" + s.account + ":" + api + "/ESTestInvoke-stage/GET/" + strings.TrimPrefix(tr.path, "/")
	payload, err := tr.event(a.Type, token, methodARN, s.account, requestID)
	if err != nil {
		return configError(err.Error())
	}
	log.printf("Endpoint request body after transformations: %s", payload)
	log.printf("Sending request to https://lambda.%s.amazonaws.com/2015-03-31/functions/%s/invocations", s.region, a.FunctionARN)
	ictx, cancel := context.WithTimeout(ctx, testAuthorizerTimeout)
	defer cancel()
	resp, err := s.invoker.Invoke(ictx, &invoke.Request{Function: a.FunctionARN, Payload: payload,
		Principal: "apigateway.amazonaws.com", SourceARN: a.SourceARN, SourceAccount: s.account})
	if err != nil {
		var ae *awsproto.Error
		if errors.As(err, &ae) && ae.Code == "AccessDeniedException" {
			return configError("Invalid permissions on Lambda function")
		}
		return configError("Authorizer error")
	}
	if resp.FunctionError != "" {
		var fe struct {
			ErrorMessage string `json:"errorMessage"`
		}
		_ = json.Unmarshal(resp.Payload, &fe)
		if fe.ErrorMessage == "Unauthorized" {
			return unauthorized()
		}
		log.printf("Lambda execution failed with status 200 due to customer function error: %s", fe.ErrorMessage)
		return configError("Authorizer error")
	}
	log.printf("Authorizer result body before parsing: %s", resp.Payload)
	res, err := a.ParseResult(resp.Payload)
	if err != nil {
		return configError("Invalid JSON in response: " + err.Error())
	}
	var raw struct {
		PolicyDocument json.RawMessage `json:"policyDocument"`
	}
	_ = json.Unmarshal(resp.Payload, &raw)
	var policy bytes.Buffer
	_ = json.Compact(&policy, raw.PolicyDocument)
	log.printf("Using valid authorizer policy for principal: %s", maskIdentity(res.PrincipalID))
	log.printf("Successfully completed authorizer execution")
	return &testInvokeAuthorizerOutput{ClientStatus: 0, PrincipalID: res.PrincipalID, Policy: policy.String()}
}

// testRequest is the simulated request: headers (single- and multi-valued merged),
// path and query string.
type testRequest struct {
	header    http.Header
	stageVars map[string]string
	path      string
	query     url.Values
}

func newTestRequest(in *testInvokeAuthorizerInput) *testRequest {
	tr := &testRequest{header: http.Header{}, path: "/", stageVars: map[string]string{}}
	for k, v := range in.StageVariables {
		tr.stageVars[k] = v
	}
	for k, vs := range in.MultiValueHeaders {
		for _, v := range vs {
			tr.header.Add(k, v)
		}
	}
	for k, v := range in.Headers {
		if len(tr.header.Values(k)) == 0 {
			tr.header.Set(k, v)
		}
	}
	p, q, _ := strings.Cut(in.PathWithQueryString, "?")
	if p != "" {
		tr.path = "/" + strings.TrimPrefix(p, "/")
	}
	tr.query, _ = url.ParseQuery(q)
	return tr
}

// source is one identity source's value in the simulated request; "" when missing.
func (tr *testRequest) source(src access.IdentitySource, in *testInvokeAuthorizerInput) string {
	switch src.Kind {
	case access.SourceHeader:
		return strings.Join(tr.header.Values(src.Name), ",")
	case access.SourceQuery:
		if vs := tr.query[src.Name]; len(vs) > 0 {
			return vs[len(vs)-1]
		}
	case access.SourceStageVariable:
		return in.StageVariables[src.Name]
	case access.SourceContext:
		return in.AdditionalContext[src.Name]
	}
	return ""
}

// event is the authorizer's input: events.APIGatewayCustomAuthorizerRequest for a
// TOKEN authorizer, ...RequestTypeRequest for a REQUEST one, with every map present
// ({} rather than null) as AWS sends them.
func (tr *testRequest) event(kind, token, methodARN, account, requestID string) ([]byte, error) {
	if kind == "TOKEN" {
		return json.Marshal(events.APIGatewayCustomAuthorizerRequest{Type: "TOKEN", AuthorizationToken: token, MethodArn: methodARN})
	}
	headers, multi := map[string]string{}, map[string][]string{}
	for k, vs := range tr.header {
		headers[k], multi[k] = vs[len(vs)-1], vs
	}
	query, multiQuery := map[string]string{}, map[string][]string{}
	for k, vs := range tr.query {
		query[k], multiQuery[k] = vs[len(vs)-1], vs
	}
	return json.Marshal(events.APIGatewayCustomAuthorizerRequestTypeRequest{
		Type: "REQUEST", MethodArn: methodARN, Resource: tr.path, Path: tr.path, HTTPMethod: "GET",
		Headers: headers, MultiValueHeaders: multi, QueryStringParameters: query, MultiValueQueryStringParameters: multiQuery,
		PathParameters: map[string]string{}, StageVariables: tr.stageVars,
		RequestContext: events.APIGatewayCustomAuthorizerRequestTypeRequestContext{
			Path: tr.path, AccountID: account, ResourceID: "test-invoke-resource-id", Stage: "test-invoke-stage",
			RequestID: requestID, ResourcePath: tr.path, HTTPMethod: "GET",
			Identity: events.APIGatewayCustomAuthorizerRequestTypeRequestIdentity{APIKey: "test-invoke-api-key", SourceIP: "test-invoke-source-ip"},
		},
	})
}
