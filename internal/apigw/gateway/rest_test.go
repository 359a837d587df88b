package gateway

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"maps"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sluice-dev/sluice/internal/apigw/compile/compiletest"
	"github.com/sluice-dev/sluice/internal/apigw/model"
	"github.com/sluice-dev/sluice/internal/awsproto"
	"github.com/sluice-dev/sluice/internal/invoke"
)

// lambdaTestdata returns the path of aws-lambda-go's events/testdata fixture.
func lambdaTestdata(t *testing.T, name string) []byte {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		t.Skipf("go env GOMODCACHE: %v", err)
	}
	p := filepath.Join(strings.TrimSpace(string(out)), "github.com/aws/aws-lambda-go@v1.55.1/events/testdata", name)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("fixture: %v", err)
	}
	return b
}

func lowerKeys[V any](m map[string]V) map[string]V {
	out := make(map[string]V, len(m))
	for k, v := range m {
		out[strings.ToLower(k)] = v
	}
	return out
}

// The payload 1.0 event for the request of aws-lambda-go's apigw-request.json matches
// the fixture field by field (ids, times, and the identity/authorizer data an
// authorizer would add excepted).
func TestRESTProxyEventGolden(t *testing.T) {
	var want events.APIGatewayProxyRequest
	if err := json.Unmarshal(lambdaTestdata(t, "apigw-request.json"), &want); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t)
	e.deployRESTSnap(model.RestSnapshot{
		API:       model.RestAPI{ID: "gy415nuibc"},
		Resources: []*model.Resource{compiletest.Resource("roq9wj", "/{proxy+}", map[string]*model.Integration{"ANY": proxyIntegration()})},
	}, "d1", model.Stage{StageName: "testStage", Variables: map[string]string{"stageVariableName": "stageVariableValue"}})

	var hdr []string
	for k, v := range want.Headers {
		if strings.HasPrefix(k, "X-Forwarded") {
			continue
		}
		hdr = append(hdr, k, v)
	}
	r := e.do("POST", "http://gy415nuibc.execute-api.us-east-1.amazonaws.com/testStage/hello/world?name=me", want.Body, hdr...)
	if r.Status != 200 || r.Body != "ok" {
		t.Fatalf("got %d %s", r.Status, r.Body)
	}
	var got events.APIGatewayProxyRequest
	if err := json.Unmarshal(e.inv.last(t).Payload, &got); err != nil {
		t.Fatal(err)
	}
	check := func(field string, got, want any) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %#v, want %#v", field, got, want)
		}
	}
	check("resource", got.Resource, want.Resource)
	check("path", got.Path, want.Path)
	check("httpMethod", got.HTTPMethod, want.HTTPMethod)
	// Go canonicalizes header names, so compare them case-insensitively.
	gotH, gotMH := lowerKeys(got.Headers), lowerKeys(got.MultiValueHeaders)
	for k, v := range lowerKeys(want.Headers) {
		if strings.HasPrefix(k, "x-forwarded") {
			continue
		}
		check("headers."+k, gotH[k], v)
		check("multiValueHeaders."+k, gotMH[k], []string{v})
	}
	check("headers.x-forwarded-for", gotH["x-forwarded-for"], "203.0.113.9")
	check("headers.x-forwarded-proto", gotH["x-forwarded-proto"], "http")
	check("queryStringParameters", got.QueryStringParameters, want.QueryStringParameters)
	check("multiValueQueryStringParameters", got.MultiValueQueryStringParameters, want.MultiValueQueryStringParameters)
	check("pathParameters", got.PathParameters, want.PathParameters)
	check("stageVariables", got.StageVariables, want.StageVariables)
	check("body", got.Body, want.Body)
	check("isBase64Encoded", got.IsBase64Encoded, want.IsBase64Encoded)
	rc, wrc := got.RequestContext, want.RequestContext
	check("requestContext.accountId", rc.AccountID, testAccount)
	check("requestContext.resourceId", rc.ResourceID, wrc.ResourceID)
	check("requestContext.stage", rc.Stage, wrc.Stage)
	check("requestContext.protocol", rc.Protocol, wrc.Protocol)
	check("requestContext.resourcePath", rc.ResourcePath, wrc.ResourcePath)
	check("requestContext.httpMethod", rc.HTTPMethod, wrc.HTTPMethod)
	check("requestContext.apiId", rc.APIID, wrc.APIID)
	check("requestContext.identity.userAgent", rc.Identity.UserAgent, wrc.Identity.UserAgent)
	check("requestContext.identity.sourceIp", rc.Identity.SourceIP, "203.0.113.9")
	// AWS puts the stage in requestContext.path (the fixture's sample omits it).
	check("requestContext.path", rc.Path, "/testStage/hello/world")
	check("requestContext.domainName", rc.DomainName, "gy415nuibc.execute-api.us-east-1.amazonaws.com")
	check("requestContext.domainPrefix", rc.DomainPrefix, "gy415nuibc")
	if rc.RequestID != r.Header.Get("X-Amzn-Requestid") || len(rc.RequestID) != 36 {
		t.Errorf("requestId %q does not match x-amzn-RequestId %q", rc.RequestID, r.Header.Get("X-Amzn-Requestid"))
	}
	if rc.ExtendedRequestID != r.Header.Get("X-Amz-Apigw-Id") || len(rc.ExtendedRequestID) != 16 {
		t.Errorf("extendedRequestId %q vs x-amz-apigw-id %q", rc.ExtendedRequestID, r.Header.Get("X-Amz-Apigw-Id"))
	}
	if tm, err := time.Parse(requestTimeLayout, rc.RequestTime); err != nil || tm.UnixMilli()/1000 != rc.RequestTimeEpoch/1000 {
		t.Errorf("requestTime %q / epoch %d inconsistent (%v)", rc.RequestTime, rc.RequestTimeEpoch, err)
	}
	if !strings.HasPrefix(r.Header.Get("X-Amzn-Trace-Id"), "Root=1-") {
		t.Errorf("X-Amzn-Trace-Id = %q", r.Header.Get("X-Amzn-Trace-Id"))
	}

	req := e.inv.last(t)
	if req.Principal != "apigateway.amazonaws.com" || req.Function != testFn || req.SourceAccount != testAccount ||
		req.SourceARN != "arn:aws:execute-api:us-east-1:123456789012:gy415nuibc/testStage/POST/{proxy+}" {
		t.Errorf("invoke request = %+v", req)
	}
}

// Absent things are JSON null in payload 1.0, as AWS sends them.
func TestRESTProxyEventNulls(t *testing.T) {
	e := newEnv(t)
	e.deployREST(compiletest.Resource("r1", "/ping", map[string]*model.Integration{"GET": proxyIntegration()}))
	if r := e.call("GET", "api1", "/v1/ping", ""); r.Status != 200 {
		t.Fatalf("got %d %s", r.Status, r.Body)
	}
	ev := e.inv.lastEvent(t)
	for _, k := range []string{"queryStringParameters", "multiValueQueryStringParameters", "pathParameters", "stageVariables", "body"} {
		if v, ok := ev[k]; !ok || v != nil {
			t.Errorf("%s = %v (present %v), want null", k, v, ok)
		}
	}
	if ev["isBase64Encoded"] != false {
		t.Errorf("isBase64Encoded = %v", ev["isBase64Encoded"])
	}
	id := ev["requestContext"].(map[string]any)["identity"].(map[string]any)
	for _, k := range []string{"cognitoIdentityPoolId", "accountId", "cognitoIdentityId", "caller", "accessKey", "userArn", "user"} {
		if v, ok := id[k]; !ok || v != nil {
			t.Errorf("identity.%s = %v (present %v), want null", k, v, ok)
		}
	}
	if ev["path"] != "/ping" || ev["requestContext"].(map[string]any)["path"] != "/v1/ping" {
		t.Errorf("path = %v, requestContext.path = %v", ev["path"], ev["requestContext"].(map[string]any)["path"])
	}
}

func TestRESTMultiValue(t *testing.T) {
	e := newEnv(t)
	e.deployREST(compiletest.Resource("r1", "/q", map[string]*model.Integration{"GET": proxyIntegration()}))
	e.call("GET", "api1", "/v1/q?a=1&a=2&b=x%20y", "", "X-Multi", "one", "X-Multi", "two")
	var ev events.APIGatewayProxyRequest
	if err := json.Unmarshal(e.inv.last(t).Payload, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.QueryStringParameters["a"] != "2" || ev.QueryStringParameters["b"] != "x y" {
		t.Errorf("queryStringParameters = %v (last value wins)", ev.QueryStringParameters)
	}
	if !reflect.DeepEqual(ev.MultiValueQueryStringParameters["a"], []string{"1", "2"}) {
		t.Errorf("multiValueQueryStringParameters = %v", ev.MultiValueQueryStringParameters)
	}
	if ev.Headers["X-Multi"] != "two" || !reflect.DeepEqual(ev.MultiValueHeaders["X-Multi"], []string{"one", "two"}) {
		t.Errorf("headers = %v / %v", ev.Headers["X-Multi"], ev.MultiValueHeaders["X-Multi"])
	}
}

func TestRESTProxyResponse(t *testing.T) {
	tests := []struct {
		name       string
		payload    string
		wantStatus int
		wantBody   string
		wantHeader map[string][]string
	}{
		{"headers merged", `{"statusCode":201,"headers":{"X-A":"1","X-B":"s"},"multiValueHeaders":{"X-B":["m1","m2"]},"body":"hi"}`,
			201, "hi", map[string][]string{"X-A": {"1"}, "X-B": {"m1", "m2"}, "Content-Type": {"application/json"}}},
		{"string status", `{"statusCode":"404","body":"nope","headers":{"content-type":"text/plain"}}`,
			404, "nope", map[string][]string{"Content-Type": {"text/plain"}}},
		{"null body", `{"statusCode":204}`, 204, "", nil},
		{"base64 not binary type: text kept", `{"statusCode":200,"isBase64Encoded":true,"body":"aGk="}`, 200, "aGk=", nil},
		// A null header value sends no header: "Content-Type": null opts out of the
		// application/json default.
		{"null header values", `{"statusCode":200,"headers":{"Content-Type":null,"X-A":null,"X-B":"b"},"body":"raw"}`,
			200, "raw", map[string][]string{"Content-Type": nil, "X-A": nil, "X-B": {"b"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.inv.respond = payload(tt.payload)
			e.deployREST(compiletest.Resource("r1", "/x", map[string]*model.Integration{"ANY": proxyIntegration()}))
			r := e.call("GET", "api1", "/v1/x", "")
			wantResponse(t, r, tt.wantStatus, tt.wantBody)
			for k, v := range tt.wantHeader {
				if !reflect.DeepEqual(r.Header[k], v) {
					t.Errorf("header %s = %v, want %v", k, r.Header[k], v)
				}
			}
		})
	}
}

func TestRESTBinaryMedia(t *testing.T) {
	e := newEnv(t)
	e.deployRESTSnap(model.RestSnapshot{
		API:       model.RestAPI{ID: "api1", BinaryMediaTypes: []string{"image/*", "application~1octet-stream"}},
		Resources: []*model.Resource{compiletest.Resource("r1", "/up", map[string]*model.Integration{"POST": proxyIntegration()})},
	}, "d1", model.Stage{StageName: "v1"})
	raw := "\x89PNG\x00\xff"
	e.inv.respond = payload(`{"statusCode":200,"headers":{"Content-Type":"image/png"},"isBase64Encoded":true,"body":"` +
		base64.StdEncoding.EncodeToString([]byte(raw)) + `"}`)
	r := e.call("POST", "api1", "/v1/up", raw, "Content-Type", "image/png", "Accept", "image/png")
	wantResponse(t, r, 200, raw)
	ev := e.inv.lastEvent(t)
	if ev["isBase64Encoded"] != true || ev["body"] != base64.StdEncoding.EncodeToString([]byte(raw)) {
		t.Fatalf("binary body: isBase64Encoded=%v body=%v", ev["isBase64Encoded"], ev["body"])
	}
	e.call("POST", "api1", "/v1/up", `{"a":1}`, "Content-Type", "application/json")
	if ev := e.inv.lastEvent(t); ev["isBase64Encoded"] != false || ev["body"] != `{"a":1}` {
		t.Fatalf("text body: %v %v", ev["isBase64Encoded"], ev["body"])
	}
	e.call("POST", "api1", "/v1/up", "zz", "Content-Type", "application/octet-stream")
	if ev := e.inv.lastEvent(t); ev["isBase64Encoded"] != true {
		t.Fatalf("~1-escaped binary media type not honored")
	}
}

func TestMatchesBinaryMediaType(t *testing.T) {
	tests := []struct {
		ct    string
		types []string
		want  bool
	}{
		{"image/png", []string{"image/*"}, true},
		{"image/png; q=1", []string{"image/png"}, true},
		{"text/plain", []string{"image/*"}, false},
		{"text/plain", []string{"*/*"}, true},
		{"", []string{"*/*"}, true},
		{"", []string{"image/*"}, false},
		{"application/pdf", nil, false},
	}
	for _, tt := range tests {
		if got := matchesBinaryMediaType(tt.ct, tt.types); got != tt.want {
			t.Errorf("matchesBinaryMediaType(%q, %v) = %v", tt.ct, tt.types, got)
		}
	}
}

// Every REST gateway-made error, with AWS's exact status and body.
func TestRESTErrors(t *testing.T) {
	slow := func(ctx context.Context, _ *invoke.Request) (*invoke.Response, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	tests := []struct {
		name       string
		respond    func(context.Context, *invoke.Request) (*invoke.Response, error)
		method     string
		path       string
		body       string
		wantStatus int
		wantBody   string
		wantType   string
	}{
		{"unknown stage", nil, "GET", "/nostage/x", "", 403, `{"message":"Forbidden"}`, "ForbiddenException"},
		{"no resource", nil, "GET", "/v1/nothing/here", "", 403, `{"message":"Missing Authentication Token"}`, "MissingAuthenticationTokenException"},
		{"no method", nil, "DELETE", "/v1/x", "", 403, `{"message":"Missing Authentication Token"}`, "MissingAuthenticationTokenException"},
		{"permission denied", func(context.Context, *invoke.Request) (*invoke.Response, error) {
			return nil, &awsproto.Error{Status: 403, Code: "AccessDeniedException", Message: "not allowed"}
		}, "GET", "/v1/x", "", 500, `{"message": "Internal server error"}`, "InternalServerErrorException"},
		{"function not found", func(context.Context, *invoke.Request) (*invoke.Response, error) {
			return nil, &awsproto.Error{Status: 404, Code: "ResourceNotFoundException", Message: "no"}
		}, "GET", "/v1/x", "", 500, `{"message": "Internal server error"}`, "InternalServerErrorException"},
		{"function error", func(context.Context, *invoke.Request) (*invoke.Response, error) {
			return &invoke.Response{FunctionError: "Unhandled", Payload: []byte(`{"errorMessage":"boom"}`)}, nil
		}, "GET", "/v1/x", "", 502, `{"message": "Internal server error"}`, "InternalServerErrorException"},
		{"malformed: not JSON", payload(`hello`), "GET", "/v1/x", "", 502, `{"message": "Internal server error"}`, ""},
		{"malformed: no statusCode", payload(`{"body":"x"}`), "GET", "/v1/x", "", 502, `{"message": "Internal server error"}`, ""},
		{"malformed: bad statusCode", payload(`{"statusCode":"abc"}`), "GET", "/v1/x", "", 502, `{"message": "Internal server error"}`, ""},
		{"malformed: object body", payload(`{"statusCode":200,"body":{"a":1}}`), "GET", "/v1/x", "", 502, `{"message": "Internal server error"}`, ""},
		{"timeout", slow, "GET", "/v1/x", "", 504, `{"message": "Endpoint request timed out"}`, ""},
		{"too large", nil, "POST", "/v1/x", strings.Repeat("a", maxBodyBytes+1), 413, `{"message":"Request Too Long"}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.inv.respond = tt.respond
			in := proxyIntegration()
			in.TimeoutInMillis = 50
			e.deployREST(compiletest.Resource("r1", "/x", map[string]*model.Integration{"GET": in, "POST": in}))
			r := e.call(tt.method, "api1", tt.path, tt.body)
			wantResponse(t, r, tt.wantStatus, tt.wantBody)
			if r.Header.Get("Content-Type") != "application/json" {
				t.Errorf("Content-Type = %q", r.Header.Get("Content-Type"))
			}
			if tt.wantType != "" && r.Header.Get("X-Amzn-Errortype") != tt.wantType {
				t.Errorf("x-amzn-ErrorType = %q, want %q", r.Header.Get("X-Amzn-Errortype"), tt.wantType)
			}
			if r.Header.Get("X-Amzn-Requestid") == "" || r.Header.Get("X-Amz-Apigw-Id") == "" {
				t.Errorf("missing request id headers: %v", r.Header)
			}
		})
	}
}

func TestUnknownAPIAndDisabledEndpoint(t *testing.T) {
	e := newEnv(t)
	wantResponse(t, e.call("GET", "nosuchapi", "/v1/x", ""), 403, `{"message":"Forbidden"}`)
	e.deployRESTSnap(model.RestSnapshot{API: model.RestAPI{ID: "api1", DisableExecuteAPIEndpoint: true},
		Resources: []*model.Resource{compiletest.Resource("r1", "/x", map[string]*model.Integration{"GET": proxyIntegration()})}},
		"d1", model.Stage{StageName: "v1"})
	wantResponse(t, e.call("GET", "api1", "/v1/x", ""), 403, `{"message":"Forbidden"}`)
	if e.inv.count() != 0 {
		t.Fatal("function invoked through a disabled endpoint")
	}
}

// The /restapis/{id}/{stage}/_user_request_/ address form reaches the same stage.
func TestUserRequestPath(t *testing.T) {
	e := newEnv(t)
	e.deployREST(compiletest.Resource("r1", "/email/{proxy+}", map[string]*model.Integration{"ANY": proxyIntegration()}))
	r := e.do("POST", "http://localhost:4566/restapis/api1/v1/_user_request_/email/send", "{}")
	wantResponse(t, r, 200, "ok")
	ev := e.inv.lastEvent(t)
	if ev["path"] != "/email/send" || !maps.Equal(toStrings(ev["pathParameters"]), map[string]string{"proxy": "send"}) {
		t.Fatalf("event path %v params %v", ev["path"], ev["pathParameters"])
	}
	if rc := ev["requestContext"].(map[string]any); rc["path"] != "/v1/email/send" {
		t.Fatalf("requestContext.path = %v", rc["path"])
	}
}

func toStrings(v any) map[string]string {
	m, _ := v.(map[string]any)
	out := map[string]string{}
	for k, x := range m {
		out[k], _ = x.(string)
	}
	return out
}

func TestIsDataPlaneRequest(t *testing.T) {
	tests := []struct {
		host, path string
		want       bool
	}{
		{"abc.execute-api.localhost:4566", "/v1/x", true},
		{"abc.execute-api.us-east-1.amazonaws.com", "/", true},
		{"ABC.Execute-Api.localhost", "/", true},
		{"localhost:4566", "/restapis/abc/v1/_user_request_/x", true},
		{"localhost:4566", "/restapis/abc/v1/_user_request_", true},
		{"localhost:4566", "/restapis/abc/resources", false},
		{"localhost:4566", "/2015-03-31/functions", false},
		{"execute-api.localhost", "/", false},
	}
	for _, tt := range tests {
		r := compiletestRequest(tt.host, tt.path)
		if got := IsDataPlaneRequest(r); got != tt.want {
			t.Errorf("IsDataPlaneRequest(%s%s) = %v", tt.host, tt.path, got)
		}
	}
}

func TestPrivateAPINotOnPublicEndpoint(t *testing.T) {
	e := newEnv(t)
	e.deployRESTSnap(model.RestSnapshot{API: model.RestAPI{ID: "api1", EndpointConfiguration: &model.EndpointConfiguration{Types: []string{"PRIVATE"}}},
		Resources: []*model.Resource{compiletest.Resource("r1", "/x", map[string]*model.Integration{"GET": proxyIntegration()})}},
		"d1", model.Stage{StageName: "v1"})
	wantResponse(t, e.call("GET", "api1", "/v1/x", ""), 403, `{"message":"Forbidden"}`)
	if e.inv.count() != 0 {
		t.Fatal("PRIVATE API served on the public endpoint")
	}
}

// ServeTarget is how a custom domain's base path mapping reaches a stage: no stage in
// the path, and a disabled default endpoint does not matter.
func TestServeTarget(t *testing.T) {
	e := newEnv(t)
	e.deployRESTSnap(model.RestSnapshot{API: model.RestAPI{ID: "api1", DisableExecuteAPIEndpoint: true},
		Resources: []*model.Resource{compiletest.Resource("r1", "/email/{proxy+}", map[string]*model.Integration{"ANY": proxyIntegration()})}},
		"d1", model.Stage{StageName: "v1"})
	for _, tt := range []struct {
		target     Target
		wantStatus int
	}{
		{Target{APIID: "api1", Stage: "v1", Path: "/email/send"}, 200},
		{Target{APIID: "api1", Stage: "v2", Path: "/email/send"}, 403},
		{Target{APIID: "nope", Stage: "v1", Path: "/email/send"}, 403},
		{Target{APIID: "api1", Stage: "v1", Path: "/other"}, 403},
	} {
		req := compiletestRequest("api.example.com", tt.target.Path)
		rec := httptest.NewRecorder()
		e.gw.ServeTarget(rec, req, tt.target)
		if rec.Code != tt.wantStatus {
			t.Errorf("%+v: %d %s", tt.target, rec.Code, rec.Body)
		}
	}
	ev := e.inv.lastEvent(t)
	if ev["path"] != "/email/send" || ev["requestContext"].(map[string]any)["domainName"] != "api.example.com" {
		t.Fatalf("event path %v domain %v", ev["path"], ev["requestContext"].(map[string]any)["domainName"])
	}
}
