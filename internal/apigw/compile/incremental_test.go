package compile

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/sluice-dev/sluice/internal/apigw/compile/compiletest"
	"github.com/sluice-dev/sluice/internal/apigw/model"
	"github.com/sluice-dev/sluice/internal/store"
	"github.com/sluice-dev/sluice/internal/store/memstore"
)

// Following a store's watch events, the incremental compiler serves exactly the
// snapshot a full Build of the store's records gives, through random creates,
// redeploys, stage moves, API and key deletions, including events that raced the
// initial List.
func TestIncrementalMatchesBuild(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	events, err := st.Watch(ctx, model.Prefix)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	routes, _ := scaleRoutes(6)
	mutate := func() {
		id := fmt.Sprintf("api%d", rng.IntN(6))
		switch rng.IntN(7) {
		case 0, 1: // (re)deploy an HTTP API with some routes
			scaleHTTPAPI(t, st, id, routes[:1+rng.IntN(len(routes))])
		case 2: // a REST API deployed to a stage
			compiletest.RestDeploy(t, st, model.RestSnapshot{API: model.RestAPI{ID: "r" + id},
				Resources: []*model.Resource{compiletest.Resource("x", fmt.Sprintf("/p%d", rng.IntN(3)), nil)}},
				fmt.Sprint("d", rng.IntN(3)), model.Stage{StageName: "v1"})
		case 3: // delete an API record (its stages and snapshots stay, unserved)
			compiletest.Delete(t, st, model.Key(model.HTTPAPIPrefix, id))
		case 4: // an API key and a plan
			compiletest.Put(t, st, model.APIKeyPrefix+id, model.APIKey{ID: id, Value: "key-" + id + "-0123456789abcdef", Enabled: rng.IntN(2) == 0})
			compiletest.Put(t, st, model.UsagePlanPrefix+"p", model.UsagePlan{ID: "p", APIStages: []model.UsagePlanStage{{APIID: "r" + id, Stage: "v1"}}})
		case 5:
			compiletest.Delete(t, st, model.APIKeyPrefix+id)
		case 6: // a record the compiler does not read
			compiletest.Put(t, st, model.Key(model.HTTPRoutePrefix, id, "r1"), model.Route{RouteID: "r1", RouteKey: "GET /x"})
		}
	}
	for range 10 {
		mutate()
	}
	// Events for the first writes are queued before the List: the compiler must
	// ignore the ones the List already holds.
	kvs, err := st.List(ctx, model.Prefix)
	if err != nil {
		t.Fatal(err)
	}
	c := NewIncremental(kvs, Options{Region: "us-east-1", AccountID: "123456789012"})
	for step := range 300 {
		mutate()
		// Drain the events committed so far.
		for drained := false; !drained; {
			select {
			case ev := <-events:
				c.Apply(ev)
			default:
				drained = true
			}
		}
		if rng.IntN(3) > 0 && step != 299 {
			continue // let changes pile up between snapshots too
		}
		got := c.Snapshot()
		all, err := st.List(ctx, model.Prefix)
		if err != nil {
			t.Fatal(err)
		}
		want := Build(all, Options{Region: "us-east-1", AccountID: "123456789012"})
		gotIDs, wantIDs := slices.Sorted(apiIDs(got)), slices.Sorted(apiIDs(want))
		if !slices.Equal(gotIDs, wantIDs) {
			t.Fatalf("step %d: APIs %v, want %v", step, gotIDs, wantIDs)
		}
		for _, id := range wantIDs {
			if !reflect.DeepEqual(got.API(id), want.API(id)) {
				t.Fatalf("step %d: API %s differs from a full build", step, id)
			}
		}
		if !reflect.DeepEqual(got.Keys, want.Keys) {
			t.Fatalf("step %d: key index differs from a full build", step)
		}
	}
}

func apiIDs(s *Snapshot) func(func(string) bool) {
	return func(yield func(string) bool) {
		for id := range s.apis {
			if !yield(id) {
				return
			}
		}
	}
}

// BenchmarkIncrementalScale is BenchmarkRecompileScale's change (one API of N gets
// a new stage revision) through the incremental compiler, as the gateway now runs it.
func BenchmarkIncrementalScale(b *testing.B) {
	routes, _ := scaleRoutes(30)
	for _, n := range []int{1, 10, 100, 1000} {
		b.Run(fmt.Sprintf("apis=%d", n), func(b *testing.B) {
			kvs := scaleAPIs(b, n, routes)
			c := NewIncremental(kvs, Options{Region: "us-east-1", AccountID: "123456789012"})
			stageKey := model.Key(model.HTTPStagePrefix, "api0000", "$default")
			var stage store.KV
			for _, kv := range kvs {
				if kv.Key == stageKey {
					stage = kv
				}
			}
			rev := int64(1 << 40)
			b.ReportAllocs()
			for b.Loop() {
				rev++
				c.Apply(store.Event{Type: store.EventPut, Key: stage.Key, Value: stage.Value, Revision: rev})
				if s := c.Snapshot(); s.APIs() != n {
					b.Fatalf("%d APIs", s.APIs())
				}
			}
		})
	}
}
