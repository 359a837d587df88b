package gateway

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/internal/apigw/compile/compiletest"
	"github.com/sluice-dev/sluice/internal/apigw/model"
	"github.com/sluice-dev/sluice/internal/invoke"
)

func awsIntegration(responses map[string]*model.IntegrationResponse) *model.Integration {
	return &model.Integration{Type: "AWS", HTTPMethod: "POST", URI: compiletest.LambdaURI(testRegion, testFn),
		IntegrationResponses: responses}
}

// Non-proxy Lambda integration (scenario 2): the body passes through as the event and
// the function's result comes back unchanged with the selected response's status.
func TestRESTLambdaNonProxy(t *testing.T) {
	responses := map[string]*model.IntegrationResponse{
		"200": {StatusCode: "200", ResponseParameters: map[string]string{"method.response.header.X-Static": "'yes'",
			"method.response.header.X-Echo": "method.request.header.X-In"}},
		"400": {StatusCode: "400", SelectionPattern: "Invalid.*"},
	}
	tests := []struct {
		name       string
		resp       *invoke.Response
		body       string
		wantStatus int
		wantBody   string
		wantEvent  string
	}{
		{"passthrough", &invoke.Response{Payload: []byte(`{"statusCode": 200, "body": "\"\""}`)}, `{"q":1}`, 200,
			`{"statusCode": 200, "body": "\"\""}`, `{"q":1}`},
		{"empty body is {}", &invoke.Response{Payload: []byte(`[1]`)}, ``, 200, `[1]`, `{}`},
		{"error matches pattern", &invoke.Response{FunctionError: "Unhandled", Payload: []byte(`{"errorMessage":"Invalid token","errorType":"Error"}`)},
			`{}`, 400, `{"errorMessage":"Invalid token","errorType":"Error"}`, `{}`},
		{"error without a match uses the default response", &invoke.Response{FunctionError: "Unhandled",
			Payload: []byte(`{"errorMessage":"oops Invalid"}`)}, `{}`, 200, `{"errorMessage":"oops Invalid"}`, `{}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.inv.respond = func(context.Context, *invoke.Request) (*invoke.Response, error) { return tt.resp, nil }
			e.deployREST(compiletest.Resource("r1", "/blocks", map[string]*model.Integration{"GET": awsIntegration(responses)}))
			r := e.call("GET", "api1", "/v1/blocks", tt.body, "X-In", "hello")
			wantResponse(t, r, tt.wantStatus, tt.wantBody)
			if got := string(e.inv.last(t).Payload); got != tt.wantEvent {
				t.Errorf("event = %s, want %s", got, tt.wantEvent)
			}
			if r.Header.Get("Content-Type") != "application/json" {
				t.Errorf("Content-Type = %q", r.Header.Get("Content-Type"))
			}
			if tt.wantStatus == 200 && (r.Header.Get("X-Static") != "yes" || r.Header.Get("X-Echo") != "hello") {
				t.Errorf("response parameters not applied: %v", r.Header)
			}
			if got := e.inv.last(t).SourceARN; got != "arn:aws:execute-api:us-east-1:123456789012:api1/v1/GET/blocks" {
				t.Errorf("SourceARN = %q", got)
			}
		})
	}
}

func TestRESTNonProxyTemplates(t *testing.T) {
	ok := map[string]*model.IntegrationResponse{"200": {StatusCode: "200"}}
	tests := []struct {
		name        string
		templates   map[string]string
		passthrough string
		contentType string
		irs         map[string]*model.IntegrationResponse
		wantStatus  int
		wantBody    string
	}{
		{"NEVER without template", nil, "NEVER", "application/json", ok, 415, `{"message": "Unsupported Media Type"}`},
		{"WHEN_NO_TEMPLATES with other template", map[string]string{"application/xml": "x"}, "WHEN_NO_TEMPLATES", "text/plain", ok,
			415, `{"message": "Unsupported Media Type"}`},
		{"WHEN_NO_TEMPLATES without templates passes", nil, "WHEN_NO_TEMPLATES", "text/plain", ok, 200, `"r"`},
		{"WHEN_NO_MATCH passes", map[string]string{"application/xml": "x"}, "WHEN_NO_MATCH", "text/plain", ok, 200, `"r"`},
		{"template needs Velocity", map[string]string{"application/json": `{"a":"$input.body"}`}, "", "application/json", ok,
			500, `{"message":"` + templatesUnsupported + `"}`},
		{"response template needs Velocity", nil, "", "", map[string]*model.IntegrationResponse{"200": {StatusCode: "200",
			ResponseTemplates: map[string]string{"application/json": "$input.json('$')"}}}, 500, `{"message":"` + templatesUnsupported + `"}`},
		{"no integration response", nil, "", "", nil, 500, `{"message": "Internal server error"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.inv.respond = payload(`"r"`)
			in := awsIntegration(tt.irs)
			in.RequestTemplates, in.PassthroughBehavior = tt.templates, tt.passthrough
			e.deployREST(compiletest.Resource("r1", "/t", map[string]*model.Integration{"POST": in}))
			var hdr []string
			if tt.contentType != "" {
				hdr = []string{"Content-Type", tt.contentType}
			}
			wantResponse(t, e.call("POST", "api1", "/v1/t", "body", hdr...), tt.wantStatus, tt.wantBody)
		})
	}
}

func mockIntegration(requestTemplate string, irs map[string]*model.IntegrationResponse) *model.Integration {
	in := &model.Integration{Type: "MOCK", IntegrationResponses: irs}
	if requestTemplate != "" {
		in.RequestTemplates = map[string]string{"application/json": requestTemplate}
	}
	return in
}

func TestRESTMock(t *testing.T) {
	irs := map[string]*model.IntegrationResponse{
		"200": {StatusCode: "200", ResponseTemplates: map[string]string{"application/json": `{"v":1}`},
			ResponseParameters: map[string]string{"method.response.header.Access-Control-Allow-Origin": "'*'"}},
		"404": {StatusCode: "404", SelectionPattern: "404"},
	}
	e := newEnv(t)
	e.deployREST(
		compiletest.Resource("r1", "/m", map[string]*model.Integration{"GET": mockIntegration(`{"statusCode": 200}`, irs)}),
		compiletest.Resource("r2", "/n", map[string]*model.Integration{"GET": mockIntegration(`{"statusCode": 404}`, irs)}),
		compiletest.Resource("r3", "/v", map[string]*model.Integration{"GET": mockIntegration(`#set($x = 1){"statusCode": $x}`, irs)}),
		compiletest.Resource("r4", "/d", map[string]*model.Integration{"GET": mockIntegration(``, irs)}),
	)
	r := e.call("GET", "api1", "/v1/m", "")
	wantResponse(t, r, 200, `{"v":1}`)
	if r.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("static response parameter missing: %v", r.Header)
	}
	wantResponse(t, e.call("GET", "api1", "/v1/n", ""), 404, ``)
	wantResponse(t, e.call("GET", "api1", "/v1/v", ""), 500, `{"message":"`+templatesUnsupported+`"}`)
	wantResponse(t, e.call("GET", "api1", "/v1/d", ""), 200, `{"v":1}`)
}

// upstream is an httptest server that records what it was sent.
type upstream struct {
	*httptest.Server
	mu   sync.Mutex
	last *http.Request
	body string
}

func newUpstream(t *testing.T, h http.HandlerFunc) *upstream {
	u := &upstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		u.mu.Lock()
		u.last, u.body = r, string(b)
		u.mu.Unlock()
		h(w, r)
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *upstream) got() (*http.Request, string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.last, u.body
}

func TestRESTHTTPProxy(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Up", "1")
		w.Header().Add("Set-Cookie", "a=1")
		w.Header().Add("Set-Cookie", "b=2")
		w.WriteHeader(418)
		_, _ = io.WriteString(w, "teapot")
	})
	e := newEnv(t)
	in := &model.Integration{Type: "HTTP_PROXY", HTTPMethod: "ANY", URI: up.URL + "/base/{proxy}",
		RequestParameters: map[string]string{"integration.request.path.proxy": "method.request.path.proxy",
			"integration.request.header.X-Mapped": "'static'"}}
	e.deployREST(compiletest.Resource("r1", "/api/{proxy+}", map[string]*model.Integration{"ANY": in}))
	r := e.call("PUT", "api1", "/v1/api/a/b%20c?x=1&x=2", "payload", "X-Client", "c")
	wantResponse(t, r, 418, "teapot")
	if r.Header.Get("X-Up") != "1" || len(r.Header["Set-Cookie"]) != 2 {
		t.Errorf("upstream headers not passed back: %v", r.Header)
	}
	req, body := up.got()
	if req.Method != "PUT" || req.URL.EscapedPath() != "/base/a/b%20c" || req.URL.RawQuery != "x=1&x=2" || body != "payload" {
		t.Errorf("upstream got %s %s?%s %q", req.Method, req.URL.EscapedPath(), req.URL.RawQuery, body)
	}
	if req.Header.Get("X-Client") != "c" || req.Header.Get("X-Mapped") != "static" || req.Header.Get("X-Forwarded-For") == "" {
		t.Errorf("upstream headers = %v", req.Header)
	}
	if strings.HasPrefix(req.Host, "api1.") {
		t.Errorf("Host forwarded to upstream: %s", req.Host)
	}
}

func TestRESTHTTPNonProxy(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Up", "u")
		if r.URL.Query().Get("fail") != "" {
			w.WriteHeader(503)
			_, _ = io.WriteString(w, "down")
			return
		}
		_, _ = io.WriteString(w, `{"ok":true}`)
	})
	e := newEnv(t)
	in := &model.Integration{Type: "HTTP", HTTPMethod: "GET", URI: up.URL + "/items/{id}",
		RequestParameters: map[string]string{"integration.request.path.id": "method.request.path.id",
			"integration.request.querystring.fail": "method.request.querystring.fail"},
		IntegrationResponses: map[string]*model.IntegrationResponse{
			"200": {StatusCode: "200", ResponseParameters: map[string]string{"method.response.header.X-From": "integration.response.header.X-Up"}},
			"502": {StatusCode: "502", SelectionPattern: "5\\d{2}"},
		}}
	e.deployREST(compiletest.Resource("r1", "/items/{id}", map[string]*model.Integration{"GET": in}))
	r := e.call("GET", "api1", "/v1/items/42?ignored=1", "", "X-Client", "c")
	wantResponse(t, r, 200, `{"ok":true}`)
	if r.Header.Get("X-From") != "u" || r.Header.Get("X-Up") != "" {
		t.Errorf("non-proxy response headers = %v", r.Header)
	}
	req, _ := up.got()
	if req.URL.Path != "/items/42" || req.URL.RawQuery != "" || req.Header.Get("X-Client") != "" {
		t.Errorf("non-proxy upstream got %s?%s %v", req.URL.Path, req.URL.RawQuery, req.Header)
	}
	wantResponse(t, e.call("GET", "api1", "/v1/items/1?fail=1", ""), 502, "down")
}

func TestHTTPIntegrationFailures(t *testing.T) {
	slow := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(2 * time.Second):
		}
	})
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()

	e := newEnv(t)
	e.deployREST(
		compiletest.Resource("r1", "/slow", map[string]*model.Integration{"GET": {Type: "HTTP_PROXY", HTTPMethod: "GET", URI: slow.URL, TimeoutInMillis: 50}}),
		compiletest.Resource("r2", "/dead", map[string]*model.Integration{"GET": {Type: "HTTP_PROXY", HTTPMethod: "GET", URI: deadURL}}),
	)
	wantResponse(t, e.call("GET", "api1", "/v1/slow", ""), 504, `{"message": "Endpoint request timed out"}`)
	wantResponse(t, e.call("GET", "api1", "/v1/dead", ""), 500, `{"message": "Internal server error"}`)

	e.deployHTTP("$default", nil, &model.Integration2{IntegrationID: "s", IntegrationType: "HTTP_PROXY", IntegrationMethod: "ANY",
		IntegrationURI: slow.URL, TimeoutInMillis: 50}, "GET /slow")
	wantResponse(t, e.call("GET", "h1", "/slow", ""), 503, `{"message":"Service Unavailable"}`)
}

// HTTP API HTTP_PROXY with parameter mapping.
func TestHTTPAPIHTTPProxyMapping(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Up", "1")
		w.Header().Set("Access-Control-Allow-Origin", "https://backend-says")
		_, _ = io.WriteString(w, "hi "+r.URL.Path)
	})
	e := newEnv(t)
	in := &model.Integration2{IntegrationID: "p", IntegrationType: "HTTP_PROXY", IntegrationMethod: "ANY",
		IntegrationURI: up.URL + "/svc/{proxy}",
		RequestParameters: map[string]string{
			"append:header.X-Req":       "$context.requestId",
			"overwrite:header.X-Name":   "user-${request.querystring.name}",
			"remove:header.X-Secret":    "''",
			"overwrite:querystring.add": "$request.header.X-In",
			"remove:querystring.drop":   "''",
		},
		ResponseParameters: map[string]map[string]string{"200": {"overwrite:header.X-Up": "changed", "overwrite:statuscode": "202"}},
	}
	e.deployHTTP("$default", nil, in, "ANY /{proxy+}")
	r := e.call("POST", "h1", "/a/b?name=bob&drop=1", "body", "X-Secret", "s", "X-In", "v")
	wantResponse(t, r, 202, "hi /svc/a/b")
	if r.Header.Get("X-Up") != "changed" {
		t.Errorf("response mapping not applied: %v", r.Header)
	}
	req, body := up.got()
	if req.Method != "POST" || body != "body" || req.Header.Get("X-Secret") != "" || req.Header.Get("X-Name") != "user-bob" ||
		req.Header.Get("X-Req") != r.Header.Get("Apigw-Requestid") || req.URL.Query().Get("add") != "v" ||
		req.URL.Query().Has("drop") || req.URL.Query().Get("name") != "bob" {
		t.Errorf("upstream got %s %s %v body %q", req.Method, req.URL, req.Header, body)
	}
}

// Upstream bodies are bounded by API Gateway's 10 MB response limit: a declared
// Content-Length over it fails the request before any byte is read, a non-proxy body
// that grows past it fails it after, and a proxied body of unknown length is cut.
func TestHTTPIntegrationResponseLimit(t *testing.T) {
	big := func(declared bool) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if declared {
				w.Header().Set("Content-Length", strconv.Itoa(maxResponseBytes+1))
				_, _ = io.WriteString(w, "x") // the server gives up on the rest
				return
			}
			w.(http.Flusher).Flush() // chunked: no length up front
			chunk := strings.Repeat("y", 1<<20)
			for range 11 {
				if _, err := io.WriteString(w, chunk); err != nil {
					return
				}
			}
		}
	}
	declared := newUpstream(t, big(true))
	chunked := newUpstream(t, big(false))
	e := newEnv(t)
	custom := func(url string) *model.Integration {
		return &model.Integration{Type: "HTTP", HTTPMethod: "GET", URI: url,
			IntegrationResponses: map[string]*model.IntegrationResponse{"200": {StatusCode: "200"}}}
	}
	e.deployREST(
		compiletest.Resource("r1", "/declared", map[string]*model.Integration{"GET": {Type: "HTTP_PROXY", HTTPMethod: "GET", URI: declared.URL}}),
		compiletest.Resource("r2", "/custom-declared", map[string]*model.Integration{"GET": custom(declared.URL)}),
		compiletest.Resource("r3", "/custom-chunked", map[string]*model.Integration{"GET": custom(chunked.URL)}),
		compiletest.Resource("r4", "/chunked", map[string]*model.Integration{"GET": {Type: "HTTP_PROXY", HTTPMethod: "GET", URI: chunked.URL}}),
	)
	for _, p := range []string{"/v1/declared", "/v1/custom-declared", "/v1/custom-chunked"} {
		r := e.call("GET", "api1", p, "")
		if r.Status != http.StatusBadGateway || r.Body != `{"message": "Internal server error"}` {
			t.Errorf("GET %s = %d %.80q, want 502 Internal server error", p, r.Status, r.Body)
		}
	}
	r := e.call("GET", "api1", "/v1/chunked", "")
	if r.Status != http.StatusOK || len(r.Body) != maxResponseBytes {
		t.Errorf("proxied chunked body = %d, %d bytes; want 200, %d bytes", r.Status, len(r.Body), maxResponseBytes)
	}
}

// With several response templates, the client's Accept picks one, else
// application/json, else the first by content type; the same request always gets the
// same body.
func TestRESTResponseTemplateSelection(t *testing.T) {
	mock := func(ts map[string]string) *model.Integration {
		return mockIntegration("", map[string]*model.IntegrationResponse{"200": {StatusCode: "200", ResponseTemplates: ts}})
	}
	e := newEnv(t)
	e.deployREST(
		compiletest.Resource("r1", "/json", map[string]*model.Integration{"GET": mock(map[string]string{
			"application/json": "J", "application/xml": "X", "text/plain": "T"})}),
		compiletest.Resource("r2", "/nojson", map[string]*model.Integration{"GET": mock(map[string]string{
			"text/plain": "T", "application/xml": "X", "text/html": "H"})}),
	)
	tests := []struct {
		path, accept, want string
	}{
		{"/v1/json", "", "J"},
		{"/v1/json", "application/xml, text/plain", "X"},
		{"/v1/json", "text/plain; q=0.9", "T"},
		{"/v1/json", "image/png", "J"},
		{"/v1/nojson", "", "X"},
		{"/v1/nojson", "text/html", "H"},
	}
	for _, tt := range tests {
		for range 5 { // map order varies between runs; the pick must not
			r := e.call("GET", "api1", tt.path, "", "Accept", tt.accept)
			if r.Status != 200 || r.Body != tt.want {
				t.Fatalf("GET %s Accept %q = %d %q, want 200 %q", tt.path, tt.accept, r.Status, r.Body, tt.want)
			}
		}
	}
}
