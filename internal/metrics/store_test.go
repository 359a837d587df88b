package metrics

import (
	"context"
	"errors"
	"testing"

	"github.com/sluice-dev/sluice/internal/store"
	"github.com/sluice-dev/sluice/internal/store/memstore"
)

// The instrumented store passes every result through unchanged, times each
// operation, and counts only the store's own failures.
func TestInstrumentStore(t *testing.T) {
	m := New()
	mem := memstore.New()
	st := m.InstrumentStore(mem, "mem")
	ctx := context.Background()
	if err := st.Update(ctx, func(tx store.Tx) error { return tx.Put("/k", []byte("v")) }); err != nil {
		t.Fatal(err)
	}
	refused := errors.New("refused")
	if err := st.Update(ctx, func(tx store.Tx) error { return refused }); !errors.Is(err, refused) {
		t.Fatalf("fn error = %v, want it unchanged", err)
	}
	if v, err := st.Get(ctx, "/k"); err != nil || string(v) != "v" {
		t.Fatalf("get = %q, %v", v, err)
	}
	if _, err := st.Get(ctx, "/missing"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("get missing = %v", err)
	}
	if kvs, err := st.List(ctx, "/"); err != nil || len(kvs) != 1 {
		t.Fatalf("list = %v, %v", kvs, err)
	}
	_ = mem.Close()
	if err := st.Update(ctx, func(tx store.Tx) error { return tx.Put("/k", nil) }); err == nil {
		t.Fatal("update on a closed store succeeded")
	}
	families, err := m.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	observed, failed := map[string]uint64{}, map[string]float64{}
	for _, f := range families {
		for _, mt := range f.GetMetric() {
			var op string
			for _, l := range mt.GetLabel() {
				if l.GetName() == "op" {
					op = l.GetValue()
				}
			}
			switch f.GetName() {
			case "sluice_store_operation_seconds":
				observed[op] = mt.GetHistogram().GetSampleCount()
			case "sluice_store_errors_total":
				failed[op] = mt.GetCounter().GetValue()
			}
		}
	}
	if observed["update"] != 3 || observed["get"] != 2 || observed["list"] != 1 {
		t.Errorf("observed %v, want 3 updates, 2 gets, 1 list", observed)
	}
	// The closed store's failure counts; the fn's refusal and a missing key do not.
	if failed["update"] != 1 || failed["get"] != 0 || failed["list"] != 0 {
		t.Errorf("errors %v, want 1 update", failed)
	}
}
