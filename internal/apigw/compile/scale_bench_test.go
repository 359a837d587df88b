package compile

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"github.com/sluice-dev/sluice/internal/apigw/compile/compiletest"
	"github.com/sluice-dev/sluice/internal/apigw/model"
	"github.com/sluice-dev/sluice/internal/store"
	"github.com/sluice-dev/sluice/internal/store/memstore"
)

// scaleRoutes returns n HTTP API routes, a third each literal ("GET /s{i}/items"),
// parameter ("GET /s{i}/items/{id}") and greedy ("ANY /s{i}/files/{proxy+}"), and a
// request path that reaches each.
func scaleRoutes(n int) (routes []*model.Route, paths []string) {
	for i := range n {
		var key, path string
		switch i % 3 {
		case 0:
			key, path = fmt.Sprintf("GET /s%d/items", i/3), fmt.Sprintf("/s%d/items", i/3)
		case 1:
			key, path = fmt.Sprintf("GET /s%d/items/{id}", i/3), fmt.Sprintf("/s%d/items/42", i/3)
		case 2:
			key, path = fmt.Sprintf("ANY /s%d/files/{proxy+}", i/3), fmt.Sprintf("/s%d/files/a/b/c.txt", i/3)
		}
		routes = append(routes, &model.Route{RouteID: fmt.Sprintf("r%d", i), RouteKey: key, Target: "integrations/i1"})
		paths = append(paths, path)
	}
	return routes, paths
}

func scaleHTTPAPI(tb testing.TB, st store.Store, id string, routes []*model.Route) {
	compiletest.HTTPDeploy(tb, st, model.HTTPSnapshot{
		API: model.HTTPAPI{APIID: id, ProtocolType: "HTTP"},
		Integrations: map[string]*model.Integration2{"i1": {IntegrationID: "i1", IntegrationType: "AWS_PROXY",
			IntegrationURI: "arn:aws:lambda:us-east-1:123456789012:function:f", PayloadFormatVersion: "2.0"}},
		Routes: routes,
	}, "d1", model.Stage2{StageName: "$default"})
}

// scaleAPIs deploys n HTTP APIs api0000... with routes and lists their records.
func scaleAPIs(tb testing.TB, n int, routes []*model.Route) []store.KV {
	st := memstore.New()
	for i := range n {
		scaleHTTPAPI(tb, st, fmt.Sprintf("api%04d", i), routes)
	}
	kvs, err := st.List(context.Background(), model.Prefix)
	if err != nil {
		tb.Fatal(err)
	}
	return kvs
}

func scaleBuild(tb testing.TB, st store.Store, prev *Snapshot) (*Snapshot, []store.KV) {
	kvs, err := st.List(context.Background(), model.Prefix)
	if err != nil {
		tb.Fatal(err)
	}
	return Build(kvs, Options{Region: "us-east-1", AccountID: "123456789012", Previous: prev}), kvs
}

// BenchmarkRouteMatchScale is the cost of matching a request against one HTTP API of
// 1 to 10,000 routes (literal, parameter and greedy mixed), cycling through requests
// that reach every route: the router is a tree by path segment, so the cost follows
// the path's depth, not the route count.
func BenchmarkRouteMatchScale(b *testing.B) {
	for _, n := range []int{1, 10, 100, 1000, 10000} {
		b.Run(fmt.Sprintf("routes=%d", n), func(b *testing.B) {
			st := memstore.New()
			routes, paths := scaleRoutes(n)
			scaleHTTPAPI(b, st, "api1", routes)
			snap, _ := scaleBuild(b, st, nil)
			rt := snap.API("api1").DefaultStage().Router
			for i, p := range paths {
				if m := rt.Match("GET", p); m.Route == nil {
					b.Fatalf("%s does not reach route %s", p, routes[i].RouteKey)
				}
			}
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if rt.Match("GET", paths[i%len(paths)]).Route == nil {
					b.Fatal("no match")
				}
			}
		})
	}
}

// BenchmarkRecompileScale is the cost of rebuilding the data plane's snapshot after
// one API of N (each with 30 routes) changed, as the gateway does on every store
// change (the unchanged APIs are carried over from the previous snapshot), and the
// heap each compiled API holds.
func BenchmarkRecompileScale(b *testing.B) {
	routes, _ := scaleRoutes(30)
	for _, n := range []int{1, 10, 100, 1000} {
		b.Run(fmt.Sprintf("apis=%d", n), func(b *testing.B) {
			kvs := scaleAPIs(b, n, routes)
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			prev := Build(kvs, Options{Region: "us-east-1", AccountID: "123456789012"})
			runtime.GC()
			runtime.ReadMemStats(&after)
			heapPerAPI := float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(n)
			// One changed record: the stage of the first API gets a new revision.
			stageKey := model.Key(model.HTTPStagePrefix, "api0000", "$default")
			changed := -1
			for i, kv := range kvs {
				if kv.Key == stageKey {
					changed = i
				}
			}
			if changed < 0 {
				b.Fatal("no stage record")
			}
			b.ReportAllocs()
			for b.Loop() {
				kvs[changed].Revision++
				next := Build(kvs, Options{Region: "us-east-1", AccountID: "123456789012", Previous: prev})
				if next.APIs() != n || next.API("api0000") == prev.API("api0000") || (n > 1 && next.API("api0001") != prev.API("api0001")) {
					b.Fatalf("%d APIs compiled (want %d), or the changed one reused, or an unchanged one rebuilt", next.APIs(), n)
				}
				prev = next
			}
			b.ReportMetric(heapPerAPI, "heapB/api")
		})
	}
}
