package gateway

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/internal/apigw/compile/compiletest"
	"github.com/sluice-dev/sluice/internal/apigw/model"
	"github.com/sluice-dev/sluice/internal/store/memstore"
)

func TestCORS(t *testing.T) {
	age := 600
	cors := &model.Cors{AllowOrigins: []string{"https://app.example.com"}, AllowMethods: []string{"GET", "POST"},
		AllowHeaders: []string{"content-type", "x-token"}, ExposeHeaders: []string{"x-trace"}, MaxAge: &age, AllowCredentials: true}
	e := newEnv(t)
	e.inv.respond = payload(`{"statusCode":200,"headers":{"Access-Control-Allow-Origin":"https://from-function"},"body":"x"}`)
	e.deployHTTP("$default", cors, lambdaIntegration2("2.0"), "ANY /{proxy+}")

	r := e.call("OPTIONS", "h1", "/items", "", "Origin", "https://app.example.com", "Access-Control-Request-Method", "POST",
		"Access-Control-Request-Headers", "content-type")
	if r.Status != 204 || r.Body != "" {
		t.Fatalf("preflight = %d %q", r.Status, r.Body)
	}
	want := map[string]string{
		"Access-Control-Allow-Origin":      "https://app.example.com",
		"Access-Control-Allow-Methods":     "GET,POST",
		"Access-Control-Allow-Headers":     "content-type,x-token",
		"Access-Control-Max-Age":           "600",
		"Access-Control-Allow-Credentials": "true",
	}
	for k, v := range want {
		if r.Header.Get(k) != v {
			t.Errorf("preflight %s = %q, want %q", k, r.Header.Get(k), v)
		}
	}
	if e.inv.count() != 0 {
		t.Fatal("preflight invoked the function")
	}

	r = e.call("OPTIONS", "h1", "/items", "", "Origin", "https://evil.example.com", "Access-Control-Request-Method", "POST")
	if r.Status != 204 || r.Header.Get("Access-Control-Allow-Origin") != "" || r.Header.Get("Access-Control-Allow-Methods") != "" {
		t.Fatalf("disallowed preflight = %d %v", r.Status, r.Header)
	}

	r = e.call("GET", "h1", "/items", "", "Origin", "https://app.example.com")
	if r.Status != 200 || r.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" ||
		r.Header.Get("Access-Control-Expose-Headers") != "x-trace" || r.Header.Get("Access-Control-Allow-Credentials") != "true" {
		t.Fatalf("actual response CORS headers = %d %v", r.Status, r.Header)
	}
	r = e.call("GET", "h1", "/items", "", "Origin", "https://evil.example.com")
	if r.Status != 200 || r.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("disallowed origin got %v (the function's CORS header must be ignored too)", r.Header)
	}
	// OPTIONS without Access-Control-Request-Method is an ordinary request.
	if r := e.call("OPTIONS", "h1", "/items", "", "Origin", "https://app.example.com"); r.Status != 200 || e.inv.count() != 3 {
		t.Fatalf("plain OPTIONS = %d, invocations %d", r.Status, e.inv.count())
	}
}

func TestCORSWildcard(t *testing.T) {
	e := newEnv(t)
	e.deployHTTP("$default", &model.Cors{AllowOrigins: []string{"*"}, AllowMethods: []string{"*"}}, lambdaIntegration2("2.0"), "$default")
	r := e.call("OPTIONS", "h1", "/x", "", "Origin", "https://any.example", "Access-Control-Request-Method", "PUT")
	if r.Status != 204 || r.Header.Get("Access-Control-Allow-Origin") != "*" || r.Header.Get("Access-Control-Allow-Methods") != "*" {
		t.Fatalf("wildcard preflight = %d %v", r.Status, r.Header)
	}
}

// Deployments are snapshots: a stage serves its deployment, live edits change nothing
// until a new deployment is pointed at, and the gateway follows the store.
func TestSnapshotSwap(t *testing.T) {
	e := newEnv(t)
	irs := func(body string) map[string]*model.IntegrationResponse {
		return map[string]*model.IntegrationResponse{"200": {StatusCode: "200", ResponseTemplates: map[string]string{"application/json": body}}}
	}
	res := compiletest.Resource("r1", "/m", map[string]*model.Integration{"GET": mockIntegration(`{"statusCode": 200}`, irs(`{"v":1}`))})

	// An API with no stage is unreachable.
	compiletest.Put(t, e.st, model.Key(model.RestAPIPrefix, "api1"), model.RestAPI{ID: "api1"})
	compiletest.Put(t, e.st, model.Key(model.RestResourcePrefix, "api1", "r1"), res)
	e.sync()
	wantResponse(t, e.call("GET", "api1", "/v1/m", ""), 403, `{"message":"Forbidden"}`)

	e.deployREST(res)
	wantResponse(t, e.call("GET", "api1", "/v1/m", ""), 200, `{"v":1}`)

	// Editing the live resource record does not change the deployed stage.
	edited := compiletest.Resource("r1", "/m", map[string]*model.Integration{"GET": mockIntegration(`{"statusCode": 200}`, irs(`{"v":2}`))})
	compiletest.Put(t, e.st, model.Key(model.RestResourcePrefix, "api1", "r1"), edited)
	e.sync()
	wantResponse(t, e.call("GET", "api1", "/v1/m", ""), 200, `{"v":1}`)

	// A new deployment switched onto the stage does.
	e.deployRESTSnap(model.RestSnapshot{API: model.RestAPI{ID: "api1"}, Resources: []*model.Resource{edited}}, "d2", model.Stage{StageName: "v1"})
	wantResponse(t, e.call("GET", "api1", "/v1/m", ""), 200, `{"v":2}`)

	// Pointing the stage back at the first deployment restores it.
	compiletest.Put(t, e.st, model.Key(model.RestStagePrefix, "api1", "v1"), model.Stage{StageName: "v1", DeploymentID: "d1"})
	e.sync()
	wantResponse(t, e.call("GET", "api1", "/v1/m", ""), 200, `{"v":1}`)

	// Deleting the stage makes it unreachable again.
	compiletest.Delete(t, e.st, model.Key(model.RestStagePrefix, "api1", "v1"))
	deadline := time.Now().Add(5 * time.Second)
	for e.gw.Snapshot().API("api1").Stage("v1") != nil {
		if time.Now().After(deadline) {
			t.Fatal("stage deletion not picked up")
		}
		time.Sleep(time.Millisecond)
	}
	wantResponse(t, e.call("GET", "api1", "/v1/m", ""), 403, `{"message":"Forbidden"}`)
}

// A watch channel closed by the store (the watcher fell behind) is re-established.
func TestWatchRecovers(t *testing.T) {
	st := memstore.New()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	g := New(Options{Store: st, Region: testRegion, AccountID: testAccount, Debounce: time.Millisecond})
	if err := g.Start(ctx); err != nil {
		t.Fatal(err)
	}
	// Flood the store past the watch buffer while the gateway may be busy.
	for i := 0; i < 3000; i++ {
		compiletest.Put(t, st, model.Key(model.RestAPIPrefix, "flood"), model.RestAPI{ID: "flood", Name: string(rune('a' + i%26))})
	}
	compiletest.RestDeploy(t, st, model.RestSnapshot{API: model.RestAPI{ID: "late"}}, "d", model.Stage{StageName: "s"})
	deadline := time.Now().Add(5 * time.Second)
	for g.Snapshot().API("late").Stage("s") == nil {
		if time.Now().After(deadline) {
			t.Fatal("changes after a watch overflow were never compiled")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// Gateway responses: user-put responses and DEFAULT_4XX inheritance change the
// gateway's own errors, with $context.error.* substituted.
func TestGatewayResponses(t *testing.T) {
	e := newEnv(t)
	e.deployRESTSnap(model.RestSnapshot{
		API: model.RestAPI{ID: "api1"},
		Resources: []*model.Resource{compiletest.Resource("r1", "/x", map[string]*model.Integration{"GET": proxyIntegration()}),
			compiletest.Resource("r2", "/fail", map[string]*model.Integration{"GET": proxyIntegration()})},
		GatewayResponses: map[string]*model.GatewayResponse{
			"DEFAULT_4XX": {ResponseType: "DEFAULT_4XX", ResponseParameters: map[string]string{
				"gatewayresponse.header.Access-Control-Allow-Origin": "'*'",
				"gatewayresponse.header.X-Echo":                      "method.request.header.X-In"}},
			"DEFAULT_5XX": {ResponseType: "DEFAULT_5XX", StatusCode: "599",
				ResponseTemplates: map[string]string{"application/json": `{"err":$context.error.messageString,"type":"$context.error.responseType"}`}},
		},
	}, "d1", model.Stage{StageName: "v1"})

	r := e.call("GET", "api1", "/v1/nothing", "", "X-In", "echo")
	wantResponse(t, r, 403, `{"message":"Missing Authentication Token"}`)
	if r.Header.Get("Access-Control-Allow-Origin") != "*" || r.Header.Get("X-Echo") != "echo" {
		t.Errorf("DEFAULT_4XX headers not inherited: %v", r.Header)
	}
	e.inv.respond = payload(`garbage`)
	r = e.call("GET", "api1", "/v1/fail", "")
	wantResponse(t, r, 599, `{"err":"Internal server error","type":"DEFAULT_5XX"}`)
}

// A method whose authorizer is missing from the deployment is never served: 500
// AuthorizerConfigurationException, as for any authorizer that cannot run.
func TestRouteRequiringAuthorizationIsRefused(t *testing.T) {
	e := newEnv(t)
	res := compiletest.Resource("r1", "/blocks", map[string]*model.Integration{"GET": proxyIntegration()})
	res.ResourceMethods["GET"].AuthorizationType = "CUSTOM"
	res.ResourceMethods["GET"].AuthorizerID = "a1"
	e.deployREST(res)
	wantResponse(t, e.call("GET", "api1", "/v1/blocks", ""), 500, `{"message": null}`)
	if e.inv.count() != 0 {
		t.Fatal("a route requiring an authorizer was served without one")
	}
}

// A response parameter naming context.requestId resolves to the request id; a longer
// name that merely starts with it is no reference at all.
func TestGatewayResponseContextReference(t *testing.T) {
	e := newEnv(t)
	e.deployRESTSnap(model.RestSnapshot{
		API:       model.RestAPI{ID: "api1"},
		Resources: []*model.Resource{compiletest.Resource("r1", "/x", map[string]*model.Integration{"GET": proxyIntegration()})},
		GatewayResponses: map[string]*model.GatewayResponse{
			"MISSING_AUTHENTICATION_TOKEN": {ResponseType: "MISSING_AUTHENTICATION_TOKEN", ResponseParameters: map[string]string{
				"gatewayresponse.header.X-Req": "context.requestId",
				"gatewayresponse.header.X-Bad": "context.requestIdSuffix"}},
		},
	}, "d1", model.Stage{StageName: "v1"})
	r := e.call("GET", "api1", "/v1/nothing", "")
	if r.Status != 403 {
		t.Fatalf("status %d", r.Status)
	}
	if got, want := r.Header.Get("X-Req"), r.Header.Get("X-Amzn-Requestid"); got != want || got == "" {
		t.Errorf("X-Req = %q, want the request id %q", got, want)
	}
	if _, ok := r.Header["X-Bad"]; ok {
		t.Errorf("X-Bad = %q, want no header", r.Header.Get("X-Bad"))
	}
}

// compileCounter counts snapshot compiles.
type compileCounter struct{ n atomic.Int64 }

func (c *compileCounter) ObserveRequest(string, string, string, int, time.Duration, time.Duration) {}
func (c *compileCounter) ObserveCompile(time.Duration)                                             { c.n.Add(1) }

// Writing routes and resources that no deployment includes recompiles nothing (they
// reach the data plane through the snapshot a deploy writes); writing a stage does.
func TestUndeployedEditsDoNotRecompile(t *testing.T) {
	st := memstore.New()
	obs := &compileCounter{}
	g := New(Options{Store: st, Invoker: &fakeInvoker{}, Region: testRegion, AccountID: testAccount, Debounce: time.Millisecond, Observer: obs})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := g.Start(ctx); err != nil {
		t.Fatal(err)
	}
	base := obs.n.Load()
	for i := range 20 {
		compiletest.Put(t, st, model.Key(model.HTTPRoutePrefix, "h1", fmt.Sprint("r", i)), model.Route{RouteID: fmt.Sprint("r", i), RouteKey: "GET /x"})
		compiletest.Put(t, st, model.Key(model.RestResourcePrefix, "api1", fmt.Sprint("r", i)), compiletest.Resource(fmt.Sprint("r", i), "/x", nil))
	}
	time.Sleep(50 * time.Millisecond) // many debounce periods
	if n := obs.n.Load() - base; n != 0 {
		t.Fatalf("%d recompiles after undeployed edits, want 0", n)
	}
	compiletest.Put(t, st, model.Key(model.HTTPAPIPrefix, "h1"), model.HTTPAPI{APIID: "h1", ProtocolType: "HTTP"})
	if !eventuallyTrue(func() bool { return obs.n.Load() > base }) {
		t.Fatal("writing an API record did not recompile")
	}
}

func eventuallyTrue(f func() bool) bool {
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if f() {
			return true
		}
	}
	return false
}
