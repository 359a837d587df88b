package e2e

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"
)

// restFixture builds a REST API with the AWS CLI, one call per line of a test.
type restFixture struct {
	s    *instance
	t    *testing.T
	id   string
	root string
}

// newRESTAPI creates a REST API (extra: more create-rest-api flags).
func newRESTAPI(t *testing.T, s *instance, name string, extra ...string) *restFixture {
	t.Helper()
	api := s.awsJSON(append([]string{"apigateway", "create-rest-api", "--name", name}, extra...)...)
	f := &restFixture{s: s, t: t, id: str(api["id"]), root: str(api["rootResourceId"])}
	if f.id == "" || f.root == "" {
		t.Fatalf("create-rest-api = %v", api)
	}
	return f
}

// resource creates parent/part and returns its id.
func (f *restFixture) resource(parent, part string) string {
	f.t.Helper()
	r := f.s.awsJSON("apigateway", "create-resource", "--rest-api-id", f.id, "--parent-id", parent, "--path-part", part)
	return str(r["id"])
}

// method puts a method without authorization (extra: more put-method flags).
func (f *restFixture) method(rid, httpMethod string, extra ...string) {
	f.t.Helper()
	f.s.aws(append([]string{"apigateway", "put-method", "--rest-api-id", f.id, "--resource-id", rid,
		"--http-method", httpMethod, "--authorization-type", "NONE"}, extra...)...)
}

// lambdaProxy puts the method and an AWS_PROXY integration to uri on it.
func (f *restFixture) lambdaProxy(rid, httpMethod, uri string, extra ...string) {
	f.t.Helper()
	f.method(rid, httpMethod)
	f.s.aws(append([]string{"apigateway", "put-integration", "--rest-api-id", f.id, "--resource-id", rid,
		"--http-method", httpMethod, "--type", "AWS_PROXY", "--integration-http-method", "POST", "--uri", uri}, extra...)...)
}

// deploy deploys the API to stage (extra: more create-deployment flags).
func (f *restFixture) deploy(stage string, extra ...string) {
	f.t.Helper()
	f.s.aws(append([]string{"apigateway", "create-deployment", "--rest-api-id", f.id, "--stage-name", stage}, extra...)...)
}

// allowInvoke lets API Gateway invoke fn from any method of api.
func (s *instance) allowInvoke(fn, apiID string) {
	s.t.Helper()
	s.aws("lambda", "add-permission", "--function-name", fn, "--statement-id", "apigw-"+apiID, "--action", "lambda:InvokeFunction",
		"--principal", "apigateway.amazonaws.com", "--source-arn", "arn:aws:execute-api:us-east-1:123456789012:"+apiID+"/*")
}

// nodeGW creates the testdata/node-gw function under name and returns its ARN.
func (s *instance) nodeGW(t *testing.T, name string) string {
	t.Helper()
	fn := s.createFunction(name, "nodejs22.x", "index.handler", dirZip(t, "node-gw"), "--timeout", "10")
	return str(fn["FunctionArn"])
}

// REST API failures answer exactly what API Gateway answers: the function's errors
// and malformed results, integration timeouts, missing methods, unknown stages,
// oversized payloads, and a customized gateway response.
func TestRESTErrors(t *testing.T) {
	s := startSluice(t, startOpts{})
	arn := s.nodeGW(t, "gw")
	api := newRESTAPI(t, s, "errors")
	p := api.resource(api.root, "p")
	api.lambdaProxy(api.resource(p, "{proxy+}"), "ANY", fnURI(arn))
	// The same function behind a 1 s integration timeout; /slow sleeps 3 s.
	api.lambdaProxy(api.resource(api.root, "slow"), "GET", fnURI(arn), "--timeout-in-millis", "1000")
	onlyGet := api.resource(api.root, "only-get")
	api.lambdaProxy(onlyGet, "GET", fnURI(arn))
	s.allowInvoke("gw", api.id)
	api.deploy("v1")
	if r := s.awaitStatus(t, 200, "GET", api.id, "/v1/p/echo", ""); r.Status != 200 {
		t.Fatalf("echo: %d %s", r.Status, r.Body)
	}

	const internal = `{"message": "Internal server error"}`
	cases := []struct {
		name, method, path string
		body               string
		status             int
		want               string
		errorType          string
	}{
		// "Malformed Lambda proxy response": 502.
		{"no statusCode", "GET", "/v1/p/nostatus", "", 502, internal, "InternalServerErrorException"},
		{"plain string", "GET", "/v1/p/string", "", 502, internal, "InternalServerErrorException"},
		{"statusCode not a number", "GET", "/v1/p/badstatus", "", 502, internal, "InternalServerErrorException"},
		// A function error (Unhandled): 502 with the same body.
		{"handler throws", "POST", "/v1/p/throw", `{"x":1}`, 502, internal, "InternalServerErrorException"},
		// Integration timeout: 504 (AWS sends no x-amzn-ErrorType for it).
		{"integration timeout", "GET", "/v1/slow", "", 504, `{"message": "Endpoint request timed out"}`, ""},
		// A resource without the requested method.
		{"missing method", "POST", "/v1/only-get", "{}", 403, `{"message":"Missing Authentication Token"}`, "MissingAuthenticationTokenException"},
		{"no resource", "GET", "/v1/nowhere", "", 403, `{"message":"Missing Authentication Token"}`, "MissingAuthenticationTokenException"},
		// An unknown stage.
		{"unknown stage", "GET", "/nostage/p/echo", "", 403, `{"message":"Forbidden"}`, "ForbiddenException"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := c.path
			start := time.Now()
			r := s.call(t, c.method, api.id, path, c.body)
			if r.Status != c.status || string(r.Body) != c.want {
				t.Fatalf("%s %s = %d %s; want %d %s", c.method, path, r.Status, r.Body, c.status, c.want)
			}
			if got := r.Header.Get("X-Amzn-ErrorType"); got != c.errorType {
				t.Errorf("x-amzn-ErrorType = %q, want %q", got, c.errorType)
			}
			if r.Header.Get("x-amzn-RequestId") == "" {
				t.Errorf("no x-amzn-RequestId on the error response: %v", r.Header)
			}
			if c.status == 504 && time.Since(start) > 2500*time.Millisecond {
				t.Errorf("timed out after %v, want about 1 s (timeoutInMillis 1000)", time.Since(start))
			}
		})
	}

	t.Run("payload over 10 MB", func(t *testing.T) {
		big := bytes.Repeat([]byte("a"), 10*1024*1024+1)
		r := s.call(t, "POST", api.id, "/v1/p/echo", string(big))
		if r.Status != http.StatusRequestEntityTooLarge || string(r.Body) != `{"message":"Request Too Long"}` {
			t.Fatalf("11 MB body: %d %.200s", r.Status, r.Body)
		}
		// Exactly 10 MB passes the gateway (Lambda's own 6 MB limit then refuses it).
		r = s.call(t, "POST", api.id, "/v1/p/echo", strings.Repeat("a", 10*1024*1024))
		if r.Status == http.StatusRequestEntityTooLarge {
			t.Fatalf("10 MB body refused by the gateway: %d %.200s", r.Status, r.Body)
		}
	})

	t.Run("customized gateway response", func(t *testing.T) {
		s.aws("apigateway", "put-gateway-response", "--rest-api-id", api.id, "--response-type", "MISSING_AUTHENTICATION_TOKEN",
			"--status-code", "404", "--response-templates", `{"application/json":"{\"error\":$context.error.messageString}"}`)
		// Gateway responses are part of the deployment: nothing changes until redeployed.
		if r := s.call(t, "GET", api.id, "/v1/nowhere", ""); r.Status != 403 {
			t.Fatalf("before redeploy: %d %s", r.Status, r.Body)
		}
		api.deploy("v1")
		r := s.awaitStatus(t, 404, "GET", api.id, "/v1/nowhere", "")
		if r.Status != 404 || string(r.Body) != `{"error":"Missing Authentication Token"}` {
			t.Fatalf("customized MISSING_AUTHENTICATION_TOKEN: %d %s", r.Status, r.Body)
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type = %q", ct)
		}
		// Other failures keep AWS's defaults.
		if r := s.call(t, "GET", api.id, "/v1/p/nostatus", ""); r.Status != 502 || string(r.Body) != internal {
			t.Fatalf("502 after customizing another type: %d %s", r.Status, r.Body)
		}
		// Deleting it and redeploying restores the default.
		s.aws("apigateway", "delete-gateway-response", "--rest-api-id", api.id, "--response-type", "MISSING_AUTHENTICATION_TOKEN")
		api.deploy("v1")
		r = s.awaitStatus(t, 403, "GET", api.id, "/v1/nowhere", "")
		if r.Status != 403 || string(r.Body) != `{"message":"Missing Authentication Token"}` {
			t.Fatalf("after delete-gateway-response: %d %s", r.Status, r.Body)
		}
	})

	t.Run("DEFAULT_4XX and DEFAULT_5XX are inherited", func(t *testing.T) {
		// Every 4XX/5XX type not customized itself takes DEFAULT_4XX's/DEFAULT_5XX's
		// headers and template and keeps its own status: the usual way to put CORS
		// headers on gateway errors.
		s.aws("apigateway", "put-gateway-response", "--rest-api-id", api.id, "--response-type", "DEFAULT_4XX",
			"--response-parameters", `{"gatewayresponse.header.Access-Control-Allow-Origin":"'*'"}`,
			"--response-templates", `{"application/json":"{\"msg\":$context.error.messageString,\"type\":\"$context.error.responseType\"}"}`)
		s.aws("apigateway", "put-gateway-response", "--rest-api-id", api.id, "--response-type", "DEFAULT_5XX",
			"--response-parameters", `{"gatewayresponse.header.X-Failed":"'yes'"}`,
			"--response-templates", `{"application/json":"{\"oops\":$context.error.messageString}"}`)
		api.deploy("v1")
		var r apiResponse
		if !eventually(t, 3*time.Second, func() bool {
			r = s.call(t, "GET", api.id, "/v1/nowhere", "")
			return r.Header.Get("Access-Control-Allow-Origin") == "*"
		}) {
			t.Fatalf("DEFAULT_4XX not applied: %d %v %s", r.Status, r.Header, r.Body)
		}
		if r.Status != 403 || string(r.Body) != `{"msg":"Missing Authentication Token","type":"MISSING_AUTHENTICATION_TOKEN"}` {
			t.Fatalf("MISSING_AUTHENTICATION_TOKEN through DEFAULT_4XX: %d %s", r.Status, r.Body)
		}
		r = s.call(t, "GET", api.id, "/v1/p/nostatus", "")
		if r.Status != 502 || string(r.Body) != `{"oops":"Internal server error"}` || r.Header.Get("X-Failed") != "yes" {
			t.Fatalf("malformed response through DEFAULT_5XX: %d %v %s", r.Status, r.Header, r.Body)
		}
		r = s.call(t, "GET", api.id, "/v1/slow", "")
		if r.Status != 504 || string(r.Body) != `{"oops":"Endpoint request timed out"}` || r.Header.Get("X-Failed") != "yes" {
			t.Fatalf("INTEGRATION_TIMEOUT through DEFAULT_5XX: %d %v %s", r.Status, r.Header, r.Body)
		}
		// A 4XX customization does not leak into 5XX answers and vice versa.
		if r.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("DEFAULT_4XX header on a 504: %v", r.Header)
		}
	})
}
