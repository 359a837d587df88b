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
	"github.com/sluice-dev/sluice/internal/fnlogs"
	"github.com/sluice-dev/sluice/internal/invoke"
	"github.com/sluice-dev/sluice/internal/metrics"
	"github.com/sluice-dev/sluice/internal/store/memstore"
)

// fnlogsSink writes access log lines into a real log store, as the server does.
type fnlogsSink struct{ s *fnlogs.Store }

func (f fnlogsSink) AppendAccessLog(group, stream string, t time.Time, line string) {
	f.s.Append("@"+group, stream, t, line)
}

// BenchmarkObservability is the gateway's cost per HTTP API request with access
// logging (a JSON format of eight $context variables into the log store) and
// Prometheus metrics on, against both off, in the same run.
func BenchmarkObservability(b *testing.B) {
	deploy := func(logged bool) *Gateway {
		st := memstore.New()
		stage := model.Stage2{StageName: "$default"}
		if logged {
			stage.AccessLogSettings = &model.AccessLogSettings{
				DestinationArn: "arn:aws:logs:us-east-1:123456789012:log-group:/bench/access",
				Format: `{"requestId":"$context.requestId","ip":"$context.identity.sourceIp","time":"$context.requestTime",` +
					`"method":"$context.httpMethod","route":"$context.routeKey","status":"$context.status",` +
					`"len":"$context.responseLength","latency":"$context.responseLatency"}`,
			}
		}
		compiletest.HTTPDeploy(b, st, model.HTTPSnapshot{
			API:          model.HTTPAPI{APIID: "h1", ProtocolType: "HTTP"},
			Integrations: map[string]*model.Integration2{"i1": lambdaIntegration2("2.0")},
			Routes:       []*model.Route{{RouteID: "a", RouteKey: "GET /users/{id}", Target: "integrations/i1"}},
		}, "d1", stage)
		opts := Options{Store: st, Region: testRegion, AccountID: testAccount, Debounce: time.Millisecond,
			AccountRateLimit: 1e9, AccountBurstLimit: 1e9, // measure the gateway, not the account throttle
			Invoker: cannedInvoker{&invoke.Response{Payload: []byte(`{"statusCode":200,"body":"{\"ok\":true}"}`)}}}
		if logged {
			logs, err := fnlogs.Open(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { logs.Close() })
			opts.AccessLogs = fnlogsSink{logs}
			opts.Observer = metrics.New()
		}
		g := New(opts)
		ctx, cancel := context.WithCancel(context.Background())
		b.Cleanup(cancel)
		if err := g.Start(ctx); err != nil {
			b.Fatal(err)
		}
		return g
	}
	run := func(b *testing.B, g *Gateway) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				req := httptest.NewRequest("GET", "http://h1.execute-api.localhost:4566/users/42", strings.NewReader(""))
				req.Header.Set("User-Agent", "bench/1.0")
				w := &discardWriter{h: http.Header{}}
				g.ServeHTTP(w, req)
				if w.code != 200 {
					b.Fatalf("status %d", w.code)
				}
			}
		})
	}
	off, on := deploy(false), deploy(true)
	b.Run("off", func(b *testing.B) { run(b, off) })
	b.Run("access-log+metrics", func(b *testing.B) { run(b, on) })
}
