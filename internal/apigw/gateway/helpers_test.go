package gateway

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/internal/apigw/compile"
	"github.com/sluice-dev/sluice/internal/apigw/compile/compiletest"
	"github.com/sluice-dev/sluice/internal/apigw/model"
	"github.com/sluice-dev/sluice/internal/invoke"
	"github.com/sluice-dev/sluice/internal/store/memstore"
)

const (
	testRegion  = "us-east-1"
	testAccount = "123456789012"
	testFn      = "arn:aws:lambda:us-east-1:123456789012:function:f"
)

// fakeInvoker records every invocation and answers with respond (or a canned 200).
type fakeInvoker struct {
	mu      sync.Mutex
	reqs    []*invoke.Request
	respond func(ctx context.Context, req *invoke.Request) (*invoke.Response, error)
}

func (f *fakeInvoker) Invoke(ctx context.Context, req *invoke.Request) (*invoke.Response, error) {
	f.mu.Lock()
	f.reqs = append(f.reqs, req)
	respond := f.respond
	f.mu.Unlock()
	if respond == nil {
		return &invoke.Response{Payload: []byte(`{"statusCode":200,"body":"ok"}`)}, nil
	}
	return respond(ctx, req)
}

func (f *fakeInvoker) last(t *testing.T) *invoke.Request {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.reqs) == 0 {
		t.Fatal("function was not invoked")
	}
	return f.reqs[len(f.reqs)-1]
}

func (f *fakeInvoker) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.reqs)
}

// lastEvent decodes the payload of the last invocation into a generic map, so tests
// see nulls and absent fields as the function does.
func (f *fakeInvoker) lastEvent(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(f.last(t).Payload, &m); err != nil {
		t.Fatalf("event is not JSON: %v\n%s", err, f.last(t).Payload)
	}
	return m
}

func payload(s string) func(context.Context, *invoke.Request) (*invoke.Response, error) {
	return func(context.Context, *invoke.Request) (*invoke.Response, error) {
		return &invoke.Response{Payload: []byte(s)}, nil
	}
}

type env struct {
	t   *testing.T
	st  *memstore.Store
	inv *fakeInvoker
	gw  *Gateway
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, st: memstore.New(), inv: &fakeInvoker{}}
	e.gw = New(Options{Store: e.st, Invoker: e.inv, Region: testRegion, AccountID: testAccount, Debounce: time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if err := e.gw.Start(ctx); err != nil {
		t.Fatal(err)
	}
	return e
}

// sync waits until the gateway serves a snapshot that includes the store's latest
// revision.
func (e *env) sync() {
	e.t.Helper()
	kvs, _ := e.st.List(context.Background(), model.Prefix)
	var rev int64
	for _, kv := range kvs {
		if compile.Reads(kv.Key) { // other records do not trigger a recompile
			rev = max(rev, kv.Revision)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for e.gw.Snapshot().Revision < rev {
		if time.Now().After(deadline) {
			e.t.Fatalf("snapshot stuck at revision %d, store at %d", e.gw.Snapshot().Revision, rev)
		}
		time.Sleep(time.Millisecond)
	}
}

type response struct {
	Status int
	Header http.Header
	Body   string
}

// call sends a request to {apiID}.execute-api.localhost:4566; hdr is name, value pairs.
func (e *env) call(method, apiID, path, body string, hdr ...string) response {
	e.t.Helper()
	return e.do(method, "http://"+apiID+".execute-api.localhost:4566"+path, body, hdr...)
}

func (e *env) do(method, url, body string, hdr ...string) response {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, url, rd)
	req.RemoteAddr = "203.0.113.9:5555"
	for i := 0; i+1 < len(hdr); i += 2 {
		if strings.EqualFold(hdr[i], "Host") {
			req.Host = hdr[i+1]
			continue
		}
		req.Header.Add(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	e.gw.ServeHTTP(rec, req)
	return response{Status: rec.Code, Header: rec.Header(), Body: rec.Body.String()}
}

func proxyIntegration() *model.Integration {
	return &model.Integration{Type: "AWS_PROXY", HTTPMethod: "POST", URI: compiletest.LambdaURI(testRegion, testFn)}
}

func lambdaIntegration2(version string) *model.Integration2 {
	return &model.Integration2{IntegrationID: "i1", IntegrationType: "AWS_PROXY", IntegrationURI: testFn, PayloadFormatVersion: version}
}

// deployREST deploys a REST API "api1" with the given resources to stage "v1".
func (e *env) deployREST(resources ...*model.Resource) {
	e.t.Helper()
	e.deployRESTSnap(model.RestSnapshot{API: model.RestAPI{ID: "api1", Name: "a"}, Resources: resources}, "d1", model.Stage{StageName: "v1"})
}

func (e *env) deployRESTSnap(snap model.RestSnapshot, dep string, stage model.Stage) {
	e.t.Helper()
	compiletest.RestDeploy(e.t, e.st, snap, dep, stage)
	e.sync()
}

// deployHTTP deploys HTTP API "h1" with routes (route key → integration) to stage.
func (e *env) deployHTTP(stage string, cors *model.Cors, integ *model.Integration2, routeKeys ...string) {
	e.t.Helper()
	snap := model.HTTPSnapshot{API: model.HTTPAPI{APIID: "h1", ProtocolType: "HTTP", CorsConfiguration: cors},
		Integrations: map[string]*model.Integration2{integ.IntegrationID: integ}}
	for i, k := range routeKeys {
		snap.Routes = append(snap.Routes, &model.Route{RouteID: string(rune('a' + i)), RouteKey: k,
			Target: "integrations/" + integ.IntegrationID, AuthorizationType: "NONE"})
	}
	compiletest.HTTPDeploy(e.t, e.st, snap, "d-"+stage, model.Stage2{StageName: stage})
	e.sync()
}

func wantResponse(t *testing.T, r response, status int, body string) {
	t.Helper()
	if r.Status != status || r.Body != body {
		t.Fatalf("got %d %s, want %d %s", r.Status, r.Body, status, body)
	}
}

func compiletestRequest(host, path string) *http.Request {
	r := httptest.NewRequest("GET", "http://localhost"+path, nil)
	r.Host = host
	return r
}
