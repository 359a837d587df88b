package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// pngBytes is the 1×1 PNG testdata/node-gw answers for .../binary.
var pngBytes, _ = hex.DecodeString("89504e470d0a1a0a0000000d4948445200000001000000010806000000" +
	"1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")

// decodeEvent reads the event testdata/node-gw echoes as its body.
func decodeEvent(t *testing.T, r apiResponse) map[string]any {
	t.Helper()
	if r.Status != 200 {
		t.Fatalf("echo: %d %s", r.Status, r.Body)
	}
	return r.JSON(t)
}

func obj(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// A REST Lambda proxy integration sends the event API Gateway sends: path without
// the stage, resource template, single- and multi-value headers and query strings,
// path parameters, and a requestContext filled as AWS fills it; its answer's
// multi-value headers and base64 bodies come back the way AWS returns them.
func TestRESTProxyEventAndResponse(t *testing.T) {
	s := startSluice(t, startOpts{})
	arn := s.nodeGW(t, "gw")
	api := newRESTAPI(t, s, "events", "--binary-media-types", "image/png")
	p := api.resource(api.root, "p")
	proxy := api.resource(p, "{proxy+}")
	api.lambdaProxy(proxy, "ANY", fnURI(arn))
	s.allowInvoke("gw", api.id)
	api.deploy("v1")
	s.awaitStatus(t, 200, "GET", api.id, "/v1/p/warm", "")

	// API Gateway hands REST proxy events the header names as the client spelled
	// them (a handler reading event.headers['x-api-key'] finds it), while the
	// headers it adds keep its own spelling.
	t.Run("header names as sent", func(t *testing.T) {
		for i := 0; i < 2; i++ { // twice on one keep-alive connection
			req := mustRequest(t, s, "POST", api.id, "/v1/p/names", `{"k":"v"}`)
			req.Header["x-api-key"] = []string{"k1"}
			req.Header["content-type"] = []string{"application/json"}
			req.Header["X-MiXeD-Case"] = []string{"m"}
			h := obj(decodeEvent(t, s.do(t, req))["headers"])
			if h["x-api-key"] != "k1" || h["content-type"] != "application/json" || h["X-MiXeD-Case"] != "m" ||
				h["X-Api-Key"] != nil || h["X-Forwarded-For"] != "127.0.0.1" || h["Host"] == nil {
				t.Fatalf("headers = %v", h)
			}
		}
	})

	t.Run("event", func(t *testing.T) {
		before := time.Now().UnixMilli()
		r := s.call(t, "POST", api.id, "/v1/p/a/b?x=1&x=2&y=3", `{"k":"v"}`,
			"Content-Type", "application/json", "X-Dup", "one", "X-Dup", "two")
		ev := decodeEvent(t, r)
		if ev["resource"] != "/p/{proxy+}" || ev["path"] != "/p/a/b" || ev["httpMethod"] != "POST" ||
			ev["body"] != `{"k":"v"}` || ev["isBase64Encoded"] != false {
			t.Fatalf("event = %s", r.Body)
		}
		if pp := obj(ev["pathParameters"]); len(pp) != 1 || pp["proxy"] != "a/b" {
			t.Errorf("pathParameters = %v", ev["pathParameters"])
		}
		// Last value wins in queryStringParameters; all values in the multi-value map.
		if qs := obj(ev["queryStringParameters"]); qs["x"] != "2" || qs["y"] != "3" {
			t.Errorf("queryStringParameters = %v", ev["queryStringParameters"])
		}
		mqs := obj(ev["multiValueQueryStringParameters"])
		if fmt.Sprint(mqs["x"]) != "[1 2]" || fmt.Sprint(mqs["y"]) != "[3]" {
			t.Errorf("multiValueQueryStringParameters = %v", mqs)
		}
		if h := obj(ev["headers"]); h["X-Dup"] != "two" || h["Content-Type"] != "application/json" || h["X-Forwarded-For"] != "127.0.0.1" {
			t.Errorf("headers = %v", h)
		}
		if mh := obj(ev["multiValueHeaders"]); fmt.Sprint(mh["X-Dup"]) != "[one two]" {
			t.Errorf("multiValueHeaders = %v", mh)
		}
		if ev["stageVariables"] != nil {
			t.Errorf("stageVariables = %v, want null (the stage has none)", ev["stageVariables"])
		}
		rc := obj(ev["requestContext"])
		want := map[string]any{
			"accountId": "123456789012", "apiId": api.id, "stage": "v1", "resourcePath": "/p/{proxy+}",
			"path": "/v1/p/a/b", "httpMethod": "POST", "protocol": "HTTP/1.1", "domainPrefix": api.id,
		}
		for k, v := range want {
			if rc[k] != v {
				t.Errorf("requestContext.%s = %v, want %v", k, rc[k], v)
			}
		}
		if rc["resourceId"] != proxy {
			t.Errorf("requestContext.resourceId = %v, want %s", rc["resourceId"], proxy)
		}
		if !strings.HasPrefix(str(rc["domainName"]), api.id+".execute-api.") {
			t.Errorf("requestContext.domainName = %v", rc["domainName"])
		}
		if id := obj(rc["identity"]); id["sourceIp"] != "127.0.0.1" {
			t.Errorf("requestContext.identity = %v", rc["identity"])
		}
		epoch, _ := rc["requestTimeEpoch"].(float64)
		if int64(epoch) < before-1000 || int64(epoch) > time.Now().UnixMilli() {
			t.Errorf("requestContext.requestTimeEpoch = %v, not the time of the request", rc["requestTimeEpoch"])
		}
		if _, err := time.Parse("02/Jan/2006:15:04:05 -0700", str(rc["requestTime"])); err != nil {
			t.Errorf("requestContext.requestTime = %v: %v", rc["requestTime"], err)
		}
		// The ids in the event are the ones on the response.
		if rc["requestId"] != r.Header.Get("x-amzn-RequestId") || rc["requestId"] == "" {
			t.Errorf("requestContext.requestId = %v, x-amzn-RequestId = %q", rc["requestId"], r.Header.Get("x-amzn-RequestId"))
		}
		if rc["extendedRequestId"] != r.Header.Get("x-amz-apigw-id") || rc["extendedRequestId"] == "" {
			t.Errorf("requestContext.extendedRequestId = %v, x-amz-apigw-id = %q", rc["extendedRequestId"], r.Header.Get("x-amz-apigw-id"))
		}
		if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`).MatchString(r.Header.Get("x-amzn-RequestId")) {
			t.Errorf("x-amzn-RequestId = %q, want a UUID", r.Header.Get("x-amzn-RequestId"))
		}
		trace := r.Header.Get("X-Amzn-Trace-Id")
		if !regexp.MustCompile(`^Root=1-[0-9a-f]{8}-[0-9a-f]{24}`).MatchString(trace) {
			t.Errorf("X-Amzn-Trace-Id = %q", trace)
		}
		if h := obj(ev["headers"]); h["X-Amzn-Trace-Id"] != trace {
			t.Errorf("event X-Amzn-Trace-Id = %v, response %q", h["X-Amzn-Trace-Id"], trace)
		}
	})

	t.Run("absent parts are null", func(t *testing.T) {
		r := s.call(t, "GET", api.id, "/v1/p/plain", "", "User-Agent", "sluice-e2e/1", "X-Forwarded-For", "203.0.113.9")
		ev := decodeEvent(t, r)
		// API Gateway sends null, not empty values, for a request without a body or a
		// query string.
		for _, k := range []string{"body", "queryStringParameters", "multiValueQueryStringParameters", "stageVariables"} {
			if v, ok := ev[k]; !ok || v != nil {
				t.Errorf("%s = %v (present %v), want null", k, v, ok)
			}
		}
		rc := obj(ev["requestContext"])
		id := obj(rc["identity"])
		// The client's X-Forwarded-For is extended with the caller's address; the
		// source IP is the connection's, never the header's.
		if id["sourceIp"] != "127.0.0.1" || id["userAgent"] != "sluice-e2e/1" {
			t.Errorf("identity = %v", id)
		}
		if h := obj(ev["headers"]); h["X-Forwarded-For"] != "203.0.113.9, 127.0.0.1" || h["X-Forwarded-Proto"] != "http" {
			t.Errorf("headers = %v", h)
		}
	})

	t.Run("HEAD through ANY", func(t *testing.T) {
		r := s.call(t, "HEAD", api.id, "/v1/p/echo", "")
		if r.Status != 200 || len(r.Body) != 0 {
			t.Fatalf("HEAD: %d %q", r.Status, r.Body)
		}
	})

	t.Run("path form", func(t *testing.T) {
		r := s.callPath(t, "GET", api.id, "v1", "/p/x/y")
		ev := decodeEvent(t, r)
		if ev["path"] != "/p/x/y" || obj(ev["pathParameters"])["proxy"] != "x/y" || obj(ev["requestContext"])["stage"] != "v1" {
			t.Fatalf("path form event = %s", r.Body)
		}
		if r := s.callPath(t, "GET", api.id, "nostage", "/p/x"); r.Status != 403 || string(r.Body) != `{"message":"Forbidden"}` {
			t.Fatalf("path form, unknown stage: %d %s", r.Status, r.Body)
		}
	})

	t.Run("binary response", func(t *testing.T) {
		r := s.call(t, "GET", api.id, "/v1/p/binary", "", "Accept", "image/png")
		if r.Status != 200 || !bytes.Equal(r.Body, pngBytes) || r.Header.Get("Content-Type") != "image/png" {
			t.Fatalf("binary: %d %q %q", r.Status, r.Header.Get("Content-Type"), r.Body)
		}
	})

	t.Run("binary request", func(t *testing.T) {
		r := s.call(t, "POST", api.id, "/v1/p/upload", string(pngBytes), "Content-Type", "image/png")
		ev := decodeEvent(t, r)
		if ev["isBase64Encoded"] != true || ev["body"] != base64.StdEncoding.EncodeToString(pngBytes) {
			t.Fatalf("binary request event: isBase64Encoded=%v body=%v", ev["isBase64Encoded"], ev["body"])
		}
		// A type that is not a binary media type reaches the function as text.
		r = s.call(t, "POST", api.id, "/v1/p/upload", "plain", "Content-Type", "text/plain")
		if ev := decodeEvent(t, r); ev["isBase64Encoded"] != false || ev["body"] != "plain" {
			t.Fatalf("text request event: isBase64Encoded=%v body=%v", ev["isBase64Encoded"], ev["body"])
		}
	})

	t.Run("multi-value response headers", func(t *testing.T) {
		r := s.call(t, "GET", api.id, "/v1/p/multi", "")
		if r.Status != 201 || string(r.Body) != "multi" {
			t.Fatalf("multi: %d %s", r.Status, r.Body)
		}
		if got := r.Header.Values("X-Multi"); fmt.Sprint(got) != "[a b]" {
			t.Errorf("X-Multi = %v", got)
		}
		if r.Header.Get("X-Single") != "one" || r.Header.Get("Content-Type") != "text/plain" {
			t.Errorf("headers = %v", r.Header)
		}
		// cookies is a payload 2.0 field; a REST API (format 1.0) does not read it.
		r = s.call(t, "GET", api.id, "/v1/p/cookies", "")
		if r.Status != 200 || string(r.Body) != "cookies" || len(r.Header.Values("Set-Cookie")) != 0 {
			t.Errorf("cookies on a REST API: %d %v %s", r.Status, r.Header, r.Body)
		}
	})
}

// A stage variable names the function in the integration URI; each stage invokes its
// own function and the event carries the stage's variables.
func TestRESTStageVariableFunction(t *testing.T) {
	s := startSluice(t, startOpts{})
	s.nodeGW(t, "gw-blue")
	s.nodeGW(t, "gw-green")
	api := newRESTAPI(t, s, "stagevars")
	rid := api.resource(api.root, "who")
	api.lambdaProxy(rid, "GET", fnURI("arn:aws:lambda:us-east-1:123456789012:function:${stageVariables.fn}"))
	s.allowInvoke("gw-blue", api.id)
	s.allowInvoke("gw-green", api.id)
	api.deploy("blue", "--variables", "fn=gw-blue")
	api.deploy("green", "--variables", "fn=gw-green,color=green")
	for _, c := range []struct{ stage, fn string }{{"blue", "gw-blue"}, {"green", "gw-green"}} {
		r := s.awaitStatus(t, 200, "GET", api.id, "/"+c.stage+"/who", "")
		ev := decodeEvent(t, r)
		sv := obj(ev["stageVariables"])
		if sv["fn"] != c.fn {
			t.Fatalf("stage %s: stageVariables = %v", c.stage, ev["stageVariables"])
		}
		if v, ok := ev["pathParameters"]; !ok || v != nil {
			t.Errorf("pathParameters = %v (present %v), want null for a resource without parameters", v, ok)
		}
		if got := r.Header.Get("X-Function"); got != c.fn {
			t.Fatalf("stage %s invoked %q, want %q", c.stage, got, c.fn)
		}
	}
	// A stage variable naming a function that does not exist: a configuration error.
	s.aws("apigateway", "create-stage", "--rest-api-id", api.id, "--stage-name", "none",
		"--deployment-id", str(s.awsJSON("apigateway", "get-stage", "--rest-api-id", api.id, "--stage-name", "blue")["deploymentId"]),
		"--variables", "fn=missing")
	r := s.awaitStatus(t, 500, "GET", api.id, "/none/who", "")
	if r.Status != 500 || string(r.Body) != `{"message": "Internal server error"}` {
		t.Fatalf("stage variable naming no function: %d %s", r.Status, r.Body)
	}
}

// upstreamRecorder is an httptest server that records what it was sent.
type upstreamRecorder struct {
	mu   sync.Mutex
	reqs []*http.Request
	body []string
	srv  *httptest.Server
}

func newUpstream(t *testing.T) *upstreamRecorder {
	u := &upstreamRecorder{}
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		u.mu.Lock()
		u.reqs = append(u.reqs, r)
		u.body = append(u.body, string(b))
		u.mu.Unlock()
		w.Header().Set("X-Upstream", "yes")
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, "upstream saw %s %s", r.Method, r.URL.RequestURI())
	}))
	t.Cleanup(u.srv.Close)
	return u
}

func (u *upstreamRecorder) last(t *testing.T) (*http.Request, string) {
	t.Helper()
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.reqs) == 0 {
		t.Fatal("upstream saw no request")
	}
	return u.reqs[len(u.reqs)-1], u.body[len(u.body)-1]
}

// HTTP_PROXY passes the request to the upstream with {proxy} filled and mapped request
// parameters, and the upstream's status, headers and body back unchanged; MOCK
// answers from its integration response.
func TestRESTHTTPProxyAndMock(t *testing.T) {
	s := startSluice(t, startOpts{})
	up := newUpstream(t)
	api := newRESTAPI(t, s, "proxy")
	upRes := api.resource(api.root, "up")
	proxy := api.resource(upRes, "{proxy+}")
	api.method(proxy, "ANY", "--request-parameters", "method.request.path.proxy=true,method.request.header.X-Client=false")
	s.aws("apigateway", "put-integration", "--rest-api-id", api.id, "--resource-id", proxy, "--http-method", "ANY",
		"--type", "HTTP_PROXY", "--integration-http-method", "ANY", "--uri", up.srv.URL+"/${stageVariables.prefix}/{proxy}",
		"--request-parameters", "integration.request.path.proxy=method.request.path.proxy,integration.request.header.X-From=method.request.header.X-Client")

	mock := api.resource(api.root, "mock")
	api.method(mock, "GET")
	s.aws("apigateway", "put-integration", "--rest-api-id", api.id, "--resource-id", mock, "--http-method", "GET",
		"--type", "MOCK", "--request-templates", `{"application/json":"{\"statusCode\": 200}"}`)
	s.aws("apigateway", "put-method-response", "--rest-api-id", api.id, "--resource-id", mock, "--http-method", "GET",
		"--status-code", "200", "--response-parameters", "method.response.header.X-Mock=false")
	// The CLI's shorthand strips single quotes: X-Mock='mocked' sends the bare value
	// mocked, which AWS refuses; a static value must reach the API quoted.
	_, stderr, err := s.awsRaw("apigateway", "put-integration-response", "--rest-api-id", api.id, "--resource-id", mock, "--http-method", "GET",
		"--status-code", "200", "--response-parameters", "method.response.header.X-Mock='mocked'")
	if err == nil || !strings.Contains(stderr, "BadRequestException") || !strings.Contains(stderr, "Invalid mapping expression specified: mocked") {
		t.Fatalf("bare response parameter value: err=%v stderr=%s", err, stderr)
	}
	s.aws("apigateway", "put-integration-response", "--rest-api-id", api.id, "--resource-id", mock, "--http-method", "GET",
		"--status-code", "200", "--response-parameters", `{"method.response.header.X-Mock":"'mocked'"}`,
		"--response-templates", `{"application/json":"{\"mock\":true}"}`)
	// The root resource, addressed as /prod and /prod/.
	api.method(api.root, "GET")
	s.aws("apigateway", "put-integration", "--rest-api-id", api.id, "--resource-id", api.root, "--http-method", "GET",
		"--type", "MOCK", "--request-templates", `{"application/json":"{\"statusCode\": 200}"}`)
	s.aws("apigateway", "put-method-response", "--rest-api-id", api.id, "--resource-id", api.root, "--http-method", "GET", "--status-code", "200")
	s.aws("apigateway", "put-integration-response", "--rest-api-id", api.id, "--resource-id", api.root, "--http-method", "GET",
		"--status-code", "200", "--response-templates", `{"application/json":"{\"root\":true}"}`)
	api.deploy("prod", "--variables", "prefix=base")

	for _, p := range []string{"/prod", "/prod/"} {
		if r := s.awaitStatus(t, 200, "GET", api.id, p, ""); r.Status != 200 || string(r.Body) != `{"root":true}` {
			t.Fatalf("root resource at %s: %d %s", p, r.Status, r.Body)
		}
	}

	// The stage variable fills the URI's ${stageVariables.prefix}.
	r := s.awaitStatus(t, 201, "PUT", api.id, "/prod/up/a/b?q=1&q=2", "payload", "X-Client", "c-42", "Content-Type", "text/plain")
	if r.Status != 201 || string(r.Body) != "upstream saw PUT /base/a/b?q=1&q=2" || r.Header.Get("X-Upstream") != "yes" {
		t.Fatalf("HTTP_PROXY: %d %v %s", r.Status, r.Header, r.Body)
	}
	req, body := up.last(t)
	if body != "payload" || req.Header.Get("X-From") != "c-42" || req.Header.Get("X-Client") != "c-42" {
		t.Fatalf("upstream request: %s %s headers=%v body=%q", req.Method, req.URL, req.Header, body)
	}
	if r.Header.Get("x-amzn-RequestId") == "" {
		t.Errorf("HTTP_PROXY response has no x-amzn-RequestId: %v", r.Header)
	}

	r = s.call(t, "GET", api.id, "/prod/mock", "")
	if r.Status != 200 || string(r.Body) != `{"mock":true}` || r.Header.Get("X-Mock") != "mocked" {
		t.Fatalf("MOCK: %d %v %s", r.Status, r.Header, r.Body)
	}
	// The method exists only for GET.
	if r := s.call(t, "DELETE", api.id, "/prod/mock", ""); r.Status != 403 || string(r.Body) != `{"message":"Missing Authentication Token"}` {
		t.Fatalf("MOCK, other method: %d %s", r.Status, r.Body)
	}
}

// Over a TLS listener too, an HTTP/1.1 client's header spellings reach a REST proxy
// event (the listener watches the plaintext above TLS), on a kept-alive connection;
// the execute-api host is served with the default certificate (--tls-cert).
func TestRESTHeaderNamesOverTLS(t *testing.T) {
	ca := newTestCA(t)
	certFile, keyFile, _ := ca.issue(t, t.TempDir(), 7, "*.execute-api.localhost")
	tlsAddr := freeAddr(t, "127.0.0.1")
	s := startSluice(t, startOpts{args: []string{"--tls-listen", tlsAddr, "--tls-cert", certFile, "--tls-key", keyFile}})
	arn := s.nodeGW(t, "gw")
	api := newRESTAPI(t, s, "names")
	api.lambdaProxy(api.resource(api.root, "{proxy+}"), "ANY", fnURI(arn))
	s.allowInvoke("gw", api.id)
	api.deploy("v1")

	host := api.id + ".execute-api.localhost"
	_, port, _ := net.SplitHostPort(tlsAddr)
	client := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: ca.pool, ServerName: host},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, tlsAddr)
		}}}
	names := func() apiResponse {
		req, err := http.NewRequest("POST", "https://"+host+":"+port+"/v1/names", strings.NewReader(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		req.Header["x-api-key"] = []string{"k1"}
		req.Header["content-type"] = []string{"application/json"}
		req.Header["X-MiXeD-Case"] = []string{"m"}
		return doWith(t, client, req)
	}
	var r apiResponse
	eventually(t, 10*time.Second, func() bool { r = names(); return r.Status == 200 })
	for i := 0; i < 2; i++ {
		if i > 0 {
			r = names()
		}
		h := obj(decodeEvent(t, r)["headers"])
		if h["x-api-key"] != "k1" || h["content-type"] != "application/json" || h["X-MiXeD-Case"] != "m" || h["X-Api-Key"] != nil {
			t.Fatalf("headers over TLS = %v", h)
		}
		if rc := obj(decodeEvent(t, r)["requestContext"]); rc["protocol"] != "HTTP/1.1" {
			t.Fatalf("requestContext = %v", rc)
		}
	}
}
