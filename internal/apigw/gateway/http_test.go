package gateway

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sluice-dev/sluice/internal/awsproto"
	"github.com/sluice-dev/sluice/internal/invoke"
)

// The payload 2.0 event for the request of aws-lambda-go's
// apigw-v2-request-no-authorizer.json matches the fixture field by field (ids, times
// and the mTLS block excepted).
func TestHTTPProxyEventV2Golden(t *testing.T) {
	var want events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(lambdaTestdata(t, "apigw-v2-request-no-authorizer.json"), &want); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t)
	e.deployHTTP("$default", nil, lambdaIntegration2("2.0"), "$default")
	r := e.do("GET", "http://aaaaaaaaaa.execute-api.us-west-2.amazonaws.com/", "",
		"Host", "h1.execute-api.us-west-2.amazonaws.com", "Accept", "*/*", "User-Agent", "curl/7.58.0",
		"X-Amzn-Trace-Id", "Root=1-5e9f0c65-1de4d666d4dd26aced652b6c", "Content-Length", "0")
	if r.Status != 200 {
		t.Fatalf("got %d %s", r.Status, r.Body)
	}
	var got events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(e.inv.last(t).Payload, &got); err != nil {
		t.Fatal(err)
	}
	check := func(field string, got, want any) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %#v, want %#v", field, got, want)
		}
	}
	check("version", got.Version, want.Version)
	check("routeKey", got.RouteKey, want.RouteKey)
	check("rawPath", got.RawPath, want.RawPath)
	check("rawQueryString", got.RawQueryString, want.RawQueryString)
	check("cookies", got.Cookies, want.Cookies)
	for k, v := range want.Headers {
		switch k {
		case "host", "x-forwarded-for", "x-forwarded-port", "x-forwarded-proto":
			continue
		}
		check("headers."+k, got.Headers[k], v)
	}
	check("headers.host", got.Headers["host"], "h1.execute-api.us-west-2.amazonaws.com")
	check("headers.x-forwarded-for", got.Headers["x-forwarded-for"], "203.0.113.9")
	check("queryStringParameters", got.QueryStringParameters, want.QueryStringParameters)
	check("pathParameters", got.PathParameters, want.PathParameters)
	check("stageVariables", got.StageVariables, want.StageVariables)
	check("body", got.Body, want.Body)
	check("isBase64Encoded", got.IsBase64Encoded, want.IsBase64Encoded)
	rc, wrc := got.RequestContext, want.RequestContext
	check("requestContext.accountId", rc.AccountID, testAccount)
	check("requestContext.apiId", rc.APIID, "h1")
	check("requestContext.domainName", rc.DomainName, "h1.execute-api.us-west-2.amazonaws.com")
	check("requestContext.domainPrefix", rc.DomainPrefix, "h1")
	check("requestContext.http", rc.HTTP, events.APIGatewayV2HTTPRequestContextHTTPDescription{
		Method: wrc.HTTP.Method, Path: wrc.HTTP.Path, Protocol: wrc.HTTP.Protocol, SourceIP: "203.0.113.9", UserAgent: wrc.HTTP.UserAgent})
	check("requestContext.routeKey", rc.RouteKey, wrc.RouteKey)
	check("requestContext.stage", rc.Stage, wrc.Stage)
	if rc.RequestID != r.Header.Get("Apigw-Requestid") || len(rc.RequestID) != 16 {
		t.Errorf("requestId %q vs apigw-requestid %q", rc.RequestID, r.Header.Get("Apigw-Requestid"))
	}
	if r.Header.Get("X-Amzn-Requestid") != "" {
		t.Errorf("HTTP APIs answer apigw-requestid, not x-amzn-RequestId")
	}
	var raw map[string]any
	_ = json.Unmarshal(e.inv.last(t).Payload, &raw)
	for _, k := range []string{"cookies", "queryStringParameters", "pathParameters", "stageVariables", "body"} {
		if _, ok := raw[k]; ok {
			t.Errorf("%s present in a payload 2.0 event that has none", k)
		}
	}
	if _, ok := raw["requestContext"].(map[string]any)["authentication"]; ok {
		t.Errorf("authentication present without a client certificate")
	}
	req := e.inv.last(t)
	if req.SourceARN != "arn:aws:execute-api:us-east-1:123456789012:h1/$default/$default" || req.Principal != principal {
		t.Errorf("invoke request = %+v", req)
	}
}

func TestHTTPProxyEventV2Fields(t *testing.T) {
	e := newEnv(t)
	e.deployHTTP("dev", nil, lambdaIntegration2("2.0"), "POST /items/{id}", "ANY /{proxy+}")
	r := e.call("POST", "h1", "/dev/items/a%20b?x=1&x=2&y=", `{"k":1}`, "Content-Type", "application/json",
		"Cookie", "c1=v1; c2=v2", "Cookie", "c3=v3", "X-Multi", "a", "X-Multi", "b")
	if r.Status != 200 {
		t.Fatalf("got %d %s", r.Status, r.Body)
	}
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(e.inv.last(t).Payload, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.RouteKey != "POST /items/{id}" || ev.RawPath != "/dev/items/a%20b" || ev.RequestContext.HTTP.Path != "/dev/items/a b" {
		t.Errorf("routeKey %q rawPath %q http.path %q", ev.RouteKey, ev.RawPath, ev.RequestContext.HTTP.Path)
	}
	if ev.RawQueryString != "x=1&x=2&y=" || ev.QueryStringParameters["x"] != "1,2" || ev.QueryStringParameters["y"] != "" {
		t.Errorf("query: %q %v", ev.RawQueryString, ev.QueryStringParameters)
	}
	if !reflect.DeepEqual(ev.Cookies, []string{"c1=v1", "c2=v2", "c3=v3"}) {
		t.Errorf("cookies = %v", ev.Cookies)
	}
	if _, ok := ev.Headers["cookie"]; ok {
		t.Errorf("cookie header kept in headers")
	}
	if ev.Headers["x-multi"] != "a,b" || ev.Headers["content-type"] != "application/json" {
		t.Errorf("headers = %v", ev.Headers)
	}
	if ev.PathParameters["id"] != "a b" || ev.RequestContext.Stage != "dev" || ev.Body != `{"k":1}` || ev.IsBase64Encoded {
		t.Errorf("params %v stage %q body %q b64 %v", ev.PathParameters, ev.RequestContext.Stage, ev.Body, ev.IsBase64Encoded)
	}
	if got := e.inv.last(t).SourceARN; got != "arn:aws:execute-api:us-east-1:123456789012:h1/dev/POST/items/{id}" {
		t.Errorf("SourceARN = %q", got)
	}
}

// HTTP APIs base64 every body that is not text (they have no binaryMediaTypes).
func TestHTTPBodyEncoding(t *testing.T) {
	e := newEnv(t)
	e.deployHTTP("$default", nil, lambdaIntegration2("2.0"), "$default")
	for _, tt := range []struct {
		ct   string
		want bool
	}{
		{"application/json; charset=utf-8", false},
		{"text/csv", false},
		{"application/xml", false},
		{"application/javascript", false},
		{"application/octet-stream", true},
		{"application/x-www-form-urlencoded", true},
		{"", true},
	} {
		hdr := []string{}
		if tt.ct != "" {
			hdr = []string{"Content-Type", tt.ct}
		}
		e.call("POST", "h1", "/p", "a=b", hdr...)
		ev := e.inv.lastEvent(t)
		if ev["isBase64Encoded"] != tt.want {
			t.Errorf("Content-Type %q: isBase64Encoded = %v", tt.ct, ev["isBase64Encoded"])
		}
		if tt.want && ev["body"] != base64.StdEncoding.EncodeToString([]byte("a=b")) {
			t.Errorf("Content-Type %q: body = %v", tt.ct, ev["body"])
		}
	}
}

func TestHTTPStageAddressing(t *testing.T) {
	e := newEnv(t)
	e.deployHTTP("$default", nil, lambdaIntegration2("2.0"), "ANY /{proxy+}")
	e.deployHTTP("dev", nil, lambdaIntegration2("2.0"), "ANY /{proxy+}")
	e.call("GET", "h1", "/dev/a", "")
	if ev := e.inv.lastEvent(t); ev["rawPath"] != "/dev/a" || ev["requestContext"].(map[string]any)["stage"] != "dev" {
		t.Errorf("named stage: rawPath %v", ev["rawPath"])
	}
	e.call("GET", "h1", "/other/a", "")
	if ev := e.inv.lastEvent(t); ev["rawPath"] != "/other/a" || ev["requestContext"].(map[string]any)["stage"] != "$default" {
		t.Errorf("$default stage: rawPath %v", ev["rawPath"])
	}
	// $default is never addressed by name.
	e.call("GET", "h1", "/$default/a", "")
	if ev := e.inv.lastEvent(t); ev["rawPath"] != "/$default/a" {
		t.Errorf("/$default/a: rawPath %v", ev["rawPath"])
	}
	r := e.do("GET", "http://localhost/restapis/h1/dev/_user_request_/z", "")
	if r.Status != 200 || e.inv.lastEvent(t)["rawPath"] != "/dev/z" {
		t.Errorf("path form: %d rawPath %v", r.Status, e.inv.lastEvent(t)["rawPath"])
	}
}

// Payload 1.0 on an HTTP API: version "1.0", the path with a named stage's prefix,
// resource and resourcePath the route path, resourceId null.
func TestHTTPPayloadV1(t *testing.T) {
	e := newEnv(t)
	e.inv.respond = payload(`{"statusCode":200,"multiValueHeaders":{"X-A":["1","2"]},"body":"v1"}`)
	e.deployHTTP("dev", nil, lambdaIntegration2("1.0"), "GET /pets/{id}")
	r := e.call("GET", "h1", "/dev/pets/7?a=1&a=2", "")
	wantResponse(t, r, 200, "v1")
	if !reflect.DeepEqual(r.Header["X-A"], []string{"1", "2"}) {
		t.Errorf("multiValueHeaders = %v", r.Header["X-A"])
	}
	ev := e.inv.lastEvent(t)
	rc := ev["requestContext"].(map[string]any)
	if ev["version"] != "1.0" || ev["resource"] != "/pets/{id}" || ev["path"] != "/dev/pets/7" || rc["resourcePath"] != "/pets/{id}" ||
		rc["resourceId"] != nil || rc["stage"] != "dev" || rc["path"] != "/dev/pets/7" {
		t.Errorf("payload 1.0 event = %s", e.inv.last(t).Payload)
	}
	if mq := ev["multiValueQueryStringParameters"].(map[string]any); !reflect.DeepEqual(mq["a"], []any{"1", "2"}) {
		t.Errorf("multiValueQueryStringParameters = %v", mq)
	}
}

func TestHTTPProxyResponseV2(t *testing.T) {
	tests := []struct {
		name       string
		payload    string
		wantStatus int
		wantBody   string
		wantHeader map[string][]string
	}{
		{"string result", `"Hello from Lambda!"`, 200, "Hello from Lambda!", map[string][]string{"Content-Type": {"application/json"}}},
		{"object without statusCode", `{ "message": "Hello" }`, 200, `{ "message": "Hello" }`, map[string][]string{"Content-Type": {"application/json"}}},
		{"number", `42`, 200, `42`, nil},
		{"full response", `{"statusCode":201,"headers":{"x-a":"1"},"cookies":["a=1","b=2; Secure"],"body":"made"}`, 201, "made",
			map[string][]string{"X-A": {"1"}, "Set-Cookie": {"a=1", "b=2; Secure"}}},
		{"base64", `{"statusCode":200,"isBase64Encoded":true,"body":"` + base64.StdEncoding.EncodeToString([]byte("\x00\x01")) + `"}`, 200, "\x00\x01", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.inv.respond = payload(tt.payload)
			e.deployHTTP("$default", nil, lambdaIntegration2("2.0"), "$default")
			r := e.call("GET", "h1", "/", "")
			wantResponse(t, r, tt.wantStatus, tt.wantBody)
			for k, v := range tt.wantHeader {
				if !reflect.DeepEqual(r.Header[k], v) {
					t.Errorf("header %s = %v, want %v", k, r.Header[k], v)
				}
			}
		})
	}
}

func TestHTTPErrors(t *testing.T) {
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
	}{
		{"no route", nil, "GET", "/nothing", "", 404, `{"message":"Not Found"}`},
		{"method does not fit", nil, "DELETE", "/x", "", 404, `{"message":"Not Found"}`},
		{"permission denied", func(context.Context, *invoke.Request) (*invoke.Response, error) {
			return nil, &awsproto.Error{Status: 403, Code: "AccessDeniedException", Message: "no"}
		}, "GET", "/x", "", 500, `{"message":"Internal Server Error"}`},
		{"function error", func(context.Context, *invoke.Request) (*invoke.Response, error) {
			return &invoke.Response{FunctionError: "Unhandled", Payload: []byte(`{"errorMessage":"x"}`)}, nil
		}, "GET", "/x", "", 500, `{"message":"Internal Server Error"}`},
		{"malformed", payload(`not json`), "GET", "/x", "", 500, `{"message":"Internal Server Error"}`},
		{"bad statusCode", payload(`{"statusCode":"x"}`), "GET", "/x", "", 500, `{"message":"Internal Server Error"}`},
		{"timeout", slow, "GET", "/x", "", 503, `{"message":"Service Unavailable"}`},
		{"too large", nil, "GET", "/x", strings.Repeat("b", maxBodyBytes+1), 413, `{"message":"Request Entity Too Large"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.inv.respond = tt.respond
			in := lambdaIntegration2("2.0")
			in.TimeoutInMillis = 50
			e.deployHTTP("$default", nil, in, "GET /x")
			r := e.call(tt.method, "h1", tt.path, tt.body)
			wantResponse(t, r, tt.wantStatus, tt.wantBody)
			if r.Header.Get("Content-Type") != "application/json" || r.Header.Get("Apigw-Requestid") == "" {
				t.Errorf("headers = %v", r.Header)
			}
		})
	}
}

// An HTTP API with no $default stage answers 404 for paths that name no stage, and a
// stage without a deployment is unreachable.
func TestHTTPNoStage(t *testing.T) {
	e := newEnv(t)
	e.deployHTTP("dev", nil, lambdaIntegration2("2.0"), "$default")
	wantResponse(t, e.call("GET", "h1", "/prod/x", ""), 404, `{"message":"Not Found"}`)
	wantResponse(t, e.call("GET", "h1", "/dev/x", ""), 200, "ok")
}
