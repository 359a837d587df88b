package gateway

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/internal/apigw/compile/compiletest"
	"github.com/sluice-dev/sluice/internal/apigw/model"
	"github.com/sluice-dev/sluice/internal/invoke"
	"github.com/sluice-dev/sluice/internal/store/memstore"
)

// cannedInvoker answers every invocation with the same payload, doing no work, so the
// benchmark measures the gateway alone.
type cannedInvoker struct{ resp *invoke.Response }

func (c cannedInvoker) Invoke(context.Context, *invoke.Request) (*invoke.Response, error) {
	return c.resp, nil
}

// discardWriter is a minimal ResponseWriter that keeps headers and drops the body.
type discardWriter struct {
	h    http.Header
	code int
}

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(code int)        { d.code = code }

// BenchmarkServeProxy measures the gateway's own overhead per request (address and
// route resolution, event building and encoding, response parsing and writing) for a
// REST Lambda proxy (payload 1.0) and an HTTP API route (payload 2.0), with a fake
// invoker that answers at once.
func BenchmarkServeProxy(b *testing.B) {
	st := memstore.New()
	compiletest.RestDeploy(b, st, model.RestSnapshot{
		API: model.RestAPI{ID: "api1"},
		Resources: []*model.Resource{
			compiletest.Resource("r0", "/", map[string]*model.Integration{"GET": proxyIntegration()}),
			compiletest.Resource("r1", "/email/{proxy+}", map[string]*model.Integration{"ANY": proxyIntegration()}),
			compiletest.Resource("r2", "/users/{id}", map[string]*model.Integration{"GET": proxyIntegration()}),
		},
	}, "d1", model.Stage{StageName: "v1"})
	compiletest.HTTPDeploy(b, st, model.HTTPSnapshot{
		API:          model.HTTPAPI{APIID: "h1", ProtocolType: "HTTP"},
		Integrations: map[string]*model.Integration2{"i1": lambdaIntegration2("2.0")},
		Routes: []*model.Route{
			{RouteID: "a", RouteKey: "GET /users/{id}", Target: "integrations/i1"},
			{RouteID: "b", RouteKey: "ANY /{proxy+}", Target: "integrations/i1"},
		},
	}, "d1", model.Stage2{StageName: "$default"})
	resp := &invoke.Response{Payload: []byte(`{"statusCode":200,"headers":{"Content-Type":"application/json"},"body":"{\"ok\":true}"}`)}
	g := New(Options{Store: st, Invoker: cannedInvoker{resp}, Region: testRegion, AccountID: testAccount, Debounce: time.Millisecond,
		AccountRateLimit: 1e9, AccountBurstLimit: 1e9}) // the gateway's cost, not the account throttle's 429s
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := g.Start(ctx); err != nil {
		b.Fatal(err)
	}
	run := func(b *testing.B, host, path string) {
		body := `{"to":"a@example.com","subject":"hello"}`
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				req := httptest.NewRequest("POST", "http://"+host+path, strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("User-Agent", "bench/1.0")
				req.Header.Set("Accept", "*/*")
				w := &discardWriter{h: http.Header{}}
				g.ServeHTTP(w, req)
				if w.code != 200 {
					b.Fatalf("status %d", w.code)
				}
			}
		})
	}
	b.Run("rest-payload-1.0", func(b *testing.B) { run(b, "api1.execute-api.localhost:4566", "/v1/email/send?x=1") })
	b.Run("http-payload-2.0", func(b *testing.B) { run(b, "h1.execute-api.localhost:4566", "/users/42?x=1") })
}
