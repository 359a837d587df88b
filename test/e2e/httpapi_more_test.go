package e2e

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"
)

// httpFixture builds an HTTP API with the AWS CLI.
type httpFixture struct {
	s  *instance
	t  *testing.T
	id string
}

func newHTTPAPI(t *testing.T, s *instance, name string, extra ...string) *httpFixture {
	t.Helper()
	api := s.awsJSON(append([]string{"apigatewayv2", "create-api", "--name", name, "--protocol-type", "HTTP"}, extra...)...)
	f := &httpFixture{s: s, t: t, id: str(api["ApiId"])}
	if f.id == "" {
		t.Fatalf("create-api = %v", api)
	}
	return f
}

// integration creates an integration and returns its route target
// ("integrations/{id}").
func (f *httpFixture) integration(args ...string) string {
	f.t.Helper()
	in := f.s.awsJSON(append([]string{"apigatewayv2", "create-integration", "--api-id", f.id}, args...)...)
	return "integrations/" + str(in["IntegrationId"])
}

// lambda creates an AWS_PROXY integration to fnArn with payload format version.
func (f *httpFixture) lambda(fnArn, version string, extra ...string) string {
	f.t.Helper()
	return f.integration(append([]string{"--integration-type", "AWS_PROXY", "--integration-uri", fnArn,
		"--payload-format-version", version}, extra...)...)
}

func (f *httpFixture) route(key, target string) {
	f.t.Helper()
	f.s.aws("apigatewayv2", "create-route", "--api-id", f.id, "--route-key", key, "--target", target)
}

// HTTP API Lambda proxy answers: function errors, malformed results, timeouts and
// missing permissions, and the payload 2.0 response rules (a result without
// statusCode, a plain string, cookies, base64 bodies), plus payload 1.0 on an HTTP
// API.
func TestHTTPAPILambdaResponses(t *testing.T) {
	s := startSluice(t, startOpts{})
	arn := s.nodeGW(t, "gw")
	api := newHTTPAPI(t, s, "responses")
	v2 := api.lambda(arn, "2.0")
	api.route("ANY /{proxy+}", v2)
	api.route("GET /slow", api.lambda(arn, "2.0", "--timeout-in-millis", "1000"))
	api.route("ANY /v1/{proxy+}", api.lambda(arn, "1.0"))
	s.aws("apigatewayv2", "create-stage", "--api-id", api.id, "--stage-name", "$default", "--auto-deploy")
	s.allowInvoke("gw", api.id)
	if r := s.awaitStatus(t, 200, "GET", api.id, "/warm", ""); r.Status != 200 {
		t.Fatalf("warm: %d %s", r.Status, r.Body)
	}

	const internal = `{"message":"Internal Server Error"}`
	cases := []struct {
		name, method, path string
		status             int
		contentType        string
		body               string
	}{
		{"handler throws", "POST", "/throw", 500, "application/json", internal},
		{"statusCode not a number", "GET", "/badstatus", 500, "application/json", internal},
		{"integration timeout", "GET", "/slow", 503, "application/json", `{"message":"Service Unavailable"}`},
		// Payload 2.0: valid JSON without a statusCode is a 200 application/json whose
		// body is the result.
		{"object without statusCode", "GET", "/nostatus", 200, "application/json", `{"hello":"world"}`},
		{"plain string", "GET", "/string", 200, "application/json", `hello`},
		// Payload 1.0 keeps the strict rules: no statusCode is a malformed response.
		{"1.0 object without statusCode", "GET", "/v1/nostatus", 500, "application/json", internal},
		{"1.0 handler throws", "GET", "/v1/throw", 500, "application/json", internal},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := s.call(t, c.method, api.id, c.path, "")
			if r.Status != c.status || string(r.Body) != c.body || r.Header.Get("Content-Type") != c.contentType {
				t.Fatalf("%s %s = %d %q %s; want %d %q %s", c.method, c.path, r.Status, r.Header.Get("Content-Type"), r.Body,
					c.status, c.contentType, c.body)
			}
			if r.Header.Get("Apigw-Requestid") == "" {
				t.Errorf("no apigw-requestid header: %v", r.Header)
			}
		})
	}

	t.Run("cookies", func(t *testing.T) {
		r := s.call(t, "GET", api.id, "/cookies", "")
		if r.Status != 200 || string(r.Body) != "cookies" || fmt.Sprint(r.Header.Values("Set-Cookie")) != "[a=1; Path=/ b=2; HttpOnly]" {
			t.Fatalf("cookies: %d %v %s", r.Status, r.Header, r.Body)
		}
	})
	t.Run("no multiValueHeaders in 2.0", func(t *testing.T) {
		// Format 2.0 responses have no multiValueHeaders; API Gateway ignores them.
		r := s.call(t, "GET", api.id, "/multi", "")
		if r.Status != 201 || string(r.Body) != "multi" || r.Header.Get("X-Single") != "one" || len(r.Header.Values("X-Multi")) != 0 {
			t.Fatalf("multi: %d %v %s", r.Status, r.Header, r.Body)
		}
		// Format 1.0 on the same API reads them.
		r = s.call(t, "GET", api.id, "/v1/multi", "")
		if r.Status != 201 || fmt.Sprint(r.Header.Values("X-Multi")) != "[a b]" {
			t.Fatalf("1.0 multi: %d %v %s", r.Status, r.Header, r.Body)
		}
	})
	t.Run("isBase64Encoded", func(t *testing.T) {
		// HTTP APIs always decode a base64 body; there are no binary media types.
		r := s.call(t, "GET", api.id, "/binary", "")
		if r.Status != 200 || !bytes.Equal(r.Body, pngBytes) || r.Header.Get("Content-Type") != "image/png" {
			t.Fatalf("binary: %d %q %q", r.Status, r.Header.Get("Content-Type"), r.Body)
		}
	})
	t.Run("binary request", func(t *testing.T) {
		r := s.call(t, "POST", api.id, "/upload", string(pngBytes), "Content-Type", "image/png")
		ev := decodeEvent(t, r)
		if ev["isBase64Encoded"] != true || ev["body"] != b64(pngBytes) {
			t.Fatalf("binary request: isBase64Encoded=%v body=%v", ev["isBase64Encoded"], ev["body"])
		}
	})
	t.Run("payload 1.0 event", func(t *testing.T) {
		r := s.call(t, "GET", api.id, "/v1/things?a=1&a=2", "", "X-Dup", "one", "X-Dup", "two")
		ev := decodeEvent(t, r)
		rc := obj(ev["requestContext"])
		if ev["version"] != "1.0" || ev["httpMethod"] != "GET" || ev["path"] != "/v1/things" || ev["resource"] != "/v1/{proxy+}" ||
			rc["stage"] != "$default" || rc["apiId"] != api.id || rc["accountId"] != "123456789012" {
			t.Fatalf("payload 1.0 event = %s", r.Body)
		}
		if mqs := obj(ev["multiValueQueryStringParameters"]); fmt.Sprint(mqs["a"]) != "[1 2]" {
			t.Errorf("multiValueQueryStringParameters = %v", ev["multiValueQueryStringParameters"])
		}
		if qs := obj(ev["queryStringParameters"]); qs["a"] != "2" {
			t.Errorf("queryStringParameters = %v", ev["queryStringParameters"])
		}
	})
	t.Run("payload 2.0 event", func(t *testing.T) {
		r := s.call(t, "PUT", api.id, "/things/7?a=1&a=2", `{"k":1}`, "Content-Type", "application/json", "X-Dup", "one", "X-Dup", "two")
		ev := decodeEvent(t, r)
		rc := obj(ev["requestContext"])
		h := obj(rc["http"])
		if ev["version"] != "2.0" || ev["routeKey"] != "ANY /{proxy+}" || ev["rawPath"] != "/things/7" || ev["rawQueryString"] != "a=1&a=2" ||
			ev["body"] != `{"k":1}` || ev["isBase64Encoded"] != false {
			t.Fatalf("payload 2.0 event = %s", r.Body)
		}
		if rc["apiId"] != api.id || rc["accountId"] != "123456789012" || rc["stage"] != "$default" || rc["routeKey"] != "ANY /{proxy+}" ||
			rc["requestId"] != r.Header.Get("Apigw-Requestid") || rc["domainPrefix"] != api.id {
			t.Errorf("requestContext = %v (apigw-requestid %q)", rc, r.Header.Get("Apigw-Requestid"))
		}
		if h["method"] != "PUT" || h["path"] != "/things/7" || h["protocol"] != "HTTP/1.1" || h["sourceIp"] != "127.0.0.1" {
			t.Errorf("requestContext.http = %v", h)
		}
		// Payload 2.0 joins repeated headers with commas.
		if hd := obj(ev["headers"]); hd["x-dup"] != "one,two" {
			t.Errorf("headers = %v", ev["headers"])
		}
		if epoch, _ := rc["timeEpoch"].(float64); epoch == 0 {
			t.Errorf("requestContext.timeEpoch = %v", rc["timeEpoch"])
		}
	})

	t.Run("payload 2.0 absent parts", func(t *testing.T) {
		r := s.call(t, "GET", api.id, "/bare", "")
		ev := decodeEvent(t, r)
		// Payload 2.0 leaves out what the request did not have, except rawQueryString.
		for _, k := range []string{"queryStringParameters", "cookies", "body", "stageVariables"} {
			if v, ok := ev[k]; ok {
				t.Errorf("%s = %v, want it absent", k, v)
			}
		}
		if v, ok := ev["rawQueryString"]; !ok || v != "" {
			t.Errorf("rawQueryString = %v (present %v), want \"\"", v, ok)
		}
		if ev["isBase64Encoded"] != false {
			t.Errorf("isBase64Encoded = %v", ev["isBase64Encoded"])
		}
	})

	t.Run("payload over 10 MB", func(t *testing.T) {
		r := s.call(t, "POST", api.id, "/big", strings.Repeat("a", 10*1024*1024+1), "Content-Type", "text/plain")
		if r.Status != 413 {
			t.Fatalf("11 MB body: %d %.200s", r.Status, r.Body)
		}
	})

	t.Run("missing permission", func(t *testing.T) {
		other := newHTTPAPI(t, s, "no-permission", "--target", arn)
		r := s.awaitStatus(t, 500, "GET", other.id, "/x", "")
		if r.Status != 500 || string(r.Body) != internal {
			t.Fatalf("without permission: %d %s", r.Status, r.Body)
		}
	})
}

// HTTP_PROXY to an upstream: {proxy} filled from the greedy path variable, request
// parameter mapping (overwrite:header, append:querystring) and response parameter
// mapping by status code.
func TestHTTPAPIHTTPProxyMapping(t *testing.T) {
	s := startSluice(t, startOpts{})
	up := newUpstream(t)
	api := newHTTPAPI(t, s, "http-proxy")
	target := api.integration("--integration-type", "HTTP_PROXY", "--integration-method", "ANY",
		"--integration-uri", up.srv.URL+"/base/{proxy}", "--payload-format-version", "1.0",
		"--request-parameters", `{"overwrite:header.X-From":"$request.header.X-Client","append:querystring.added":"yes"}`,
		"--response-parameters", `{"201":{"overwrite:header.X-Mapped":"mapped-$context.stage"}}`)
	api.route("ANY /up/{proxy+}", target)
	s.aws("apigatewayv2", "create-stage", "--api-id", api.id, "--stage-name", "$default", "--auto-deploy")

	r := s.awaitStatus(t, 201, "POST", api.id, "/up/a/b?q=1", "payload", "X-Client", "c-42", "X-From", "client-sent", "Content-Type", "text/plain")
	if r.Status != 201 || !strings.HasPrefix(string(r.Body), "upstream saw POST /base/a/b?") || r.Header.Get("X-Upstream") != "yes" {
		t.Fatalf("HTTP_PROXY: %d %v %s", r.Status, r.Header, r.Body)
	}
	if got := r.Header.Get("X-Mapped"); got != "mapped-$default" {
		t.Errorf("response mapping X-Mapped = %q", got)
	}
	req, body := up.last(t)
	q := req.URL.Query()
	if body != "payload" || fmt.Sprint(req.Header.Values("X-From")) != "[c-42]" || req.Header.Get("X-Client") != "c-42" ||
		len(q) != 2 || q.Get("q") != "1" || q.Get("added") != "yes" {
		t.Fatalf("upstream request: %s %s headers=%v body=%q", req.Method, req.URL, req.Header, body)
	}

	// overwrite:path replaces the whole upstream path; remove:header drops a client
	// header.
	rewrite := api.integration("--integration-type", "HTTP_PROXY", "--integration-method", "GET",
		"--integration-uri", up.srv.URL, "--payload-format-version", "1.0",
		"--request-parameters", `{"overwrite:path":"/v2/things/$request.path.id","remove:header.X-Secret":"''"}`)
	api.route("GET /things/{id}", rewrite)
	r2 := s.awaitStatus(t, 201, "GET", api.id, "/things/42?x=1", "", "X-Secret", "s3cret")
	if r2.Status != 201 || string(r2.Body) != "upstream saw GET /v2/things/42?x=1" {
		t.Fatalf("overwrite:path: %d %s", r2.Status, r2.Body)
	}
	if req, _ := up.last(t); req.Header.Get("X-Secret") != "" {
		t.Fatalf("remove:header left X-Secret: %v", req.Header)
	}
}

// Route selection (most specific route first, then greedy, then $default), named
// stage prefixes vs $default, AutoDeploy vs explicit deployments, and CORS headers on
// actual responses.
func TestHTTPAPIRoutesStagesCORS(t *testing.T) {
	s := startSluice(t, startOpts{})
	fn := s.createFunction("echo", "provided.al2023", "bootstrap", goFunctionZip(t))
	arn := str(fn["FunctionArn"])
	api := newHTTPAPI(t, s, "routes", "--cors-configuration",
		"AllowOrigins=https://app.example.com,ExposeHeaders=x-trace,x-other,AllowMethods=GET")
	target := api.lambda(arn, "2.0")
	for _, key := range []string{"GET /items/{id}", "GET /items/special", "ANY /{proxy+}", "$default"} {
		api.route(key, target)
	}
	s.allowInvoke("echo", api.id)
	s.aws("apigatewayv2", "create-stage", "--api-id", api.id, "--stage-name", "$default", "--auto-deploy")
	s.aws("apigatewayv2", "create-stage", "--api-id", api.id, "--stage-name", "manual")
	s.aws("apigatewayv2", "create-deployment", "--api-id", api.id, "--stage-name", "manual")
	s.awaitStatus(t, 200, "GET", api.id, "/items/special", "")

	routeOf := func(method, path string) (string, map[string]any) {
		t.Helper()
		r := s.call(t, method, api.id, path, "")
		if r.Status != 200 {
			t.Fatalf("%s %s: %d %s", method, path, r.Status, r.Body)
		}
		ev := r.JSON(t)
		return str(ev["routeKey"]), ev
	}
	cases := []struct{ method, path, route, stage, rawPath string }{
		{"GET", "/items/special", "GET /items/special", "$default", "/items/special"},
		{"GET", "/items/42", "GET /items/{id}", "$default", "/items/42"},
		{"POST", "/items/42", "ANY /{proxy+}", "$default", "/items/42"},
		{"GET", "/items/42/more", "ANY /{proxy+}", "$default", "/items/42/more"},
		{"GET", "/", "$default", "$default", "/"},
		// The named stage is addressed by its prefix, which stays in rawPath.
		{"GET", "/manual/items/special", "GET /items/special", "manual", "/manual/items/special"},
		{"GET", "/manual/items/9", "GET /items/{id}", "manual", "/manual/items/9"},
		{"DELETE", "/manual/x", "ANY /{proxy+}", "manual", "/manual/x"},
	}
	for _, c := range cases {
		key, ev := routeOf(c.method, c.path)
		rc := obj(ev["requestContext"])
		if key != c.route || rc["stage"] != c.stage || ev["rawPath"] != c.rawPath {
			t.Errorf("%s %s: route %q stage %v rawPath %v; want %q %q %q", c.method, c.path, key, rc["stage"], ev["rawPath"],
				c.route, c.stage, c.rawPath)
		}
		if c.route == "GET /items/{id}" {
			if pp := obj(ev["pathParameters"]); pp["id"] != strings.TrimPrefix(strings.TrimPrefix(c.path, "/manual"), "/items/") {
				t.Errorf("%s: pathParameters = %v", c.path, ev["pathParameters"])
			}
		}
	}

	t.Run("AutoDeploy", func(t *testing.T) {
		api.route("GET /fresh", target)
		// The auto-deployed $default stage serves the new route within a second...
		if !eventually(t, time.Second, func() bool { k, _ := routeOf("GET", "/fresh"); return k == "GET /fresh" }) {
			t.Fatalf("AutoDeploy stage does not serve the new route")
		}
		// ...the manual stage keeps its deployment until the next create-deployment.
		if k, _ := routeOf("GET", "/manual/fresh"); k != "ANY /{proxy+}" {
			t.Fatalf("manual stage served %q before redeployment", k)
		}
		s.aws("apigatewayv2", "create-deployment", "--api-id", api.id, "--stage-name", "manual")
		if !eventually(t, 3*time.Second, func() bool { k, _ := routeOf("GET", "/manual/fresh"); return k == "GET /fresh" }) {
			t.Fatalf("manual stage does not serve the new route after create-deployment")
		}
	})

	t.Run("CORS on actual responses", func(t *testing.T) {
		r := s.call(t, "GET", api.id, "/items/1", "", "Origin", "https://app.example.com")
		if r.Status != 200 || r.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" ||
			r.Header.Get("Access-Control-Expose-Headers") != "x-trace,x-other" {
			t.Fatalf("allowed origin: %d %v", r.Status, r.Header)
		}
		r = s.call(t, "GET", api.id, "/items/1", "", "Origin", "https://evil.example.com")
		if r.Status != 200 || r.Header.Get("Access-Control-Allow-Origin") != "" || r.Header.Get("Access-Control-Expose-Headers") != "" {
			t.Fatalf("disallowed origin: %d %v", r.Status, r.Header)
		}
		// No Origin, no CORS headers.
		r = s.call(t, "GET", api.id, "/items/1", "")
		if r.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Fatalf("no Origin: %v", r.Header)
		}
	})
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
