package metrics

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluice-dev/sluice/internal/store"
)

// storeBuckets reach from an in-memory read (microseconds) to an fsync on a slow
// disk or an etcd commit across a WAN (about a second).
var storeBuckets = []float64{.00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1}

// InstrumentStore returns st with every operation's latency recorded in
// sluice_store_operation_seconds{backend, op} (op get, list or update; an update
// from its call until its writes are durable, including the wait for the group it
// commits with) and failures in sluice_store_errors_total{backend, op}. A caller's
// own error returned from an Update fn is not a store failure and is not counted.
func (m *Metrics) InstrumentStore(st store.Store, backend string) store.Store {
	lat := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "sluice_store_operation_seconds",
		Help:    "Latency of state store operations: get, list, and update (a read-write transaction, until durable).",
		Buckets: storeBuckets}, []string{"backend", "op"})
	errs := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_store_errors_total",
		Help: "State store operations that failed in the store (not errors returned by an update's own function)."},
		[]string{"backend", "op"})
	m.reg.MustRegister(lat, errs)
	is := &instrumentedStore{Store: st}
	for i, op := range []string{"get", "list", "update"} {
		is.lat[i], is.errs[i] = lat.WithLabelValues(backend, op), errs.WithLabelValues(backend, op)
	}
	return is
}

type instrumentedStore struct {
	store.Store
	lat  [3]prometheus.Observer
	errs [3]prometheus.Counter
}

func (s *instrumentedStore) observe(op int, t0 time.Time, err error) {
	s.lat[op].Observe(time.Since(t0).Seconds())
	if err != nil && !errors.Is(err, store.ErrNotFound) && !errors.Is(err, context.Canceled) {
		s.errs[op].Inc()
	}
}

func (s *instrumentedStore) Get(ctx context.Context, key string) ([]byte, error) {
	t0 := time.Now()
	v, err := s.Store.Get(ctx, key)
	s.observe(0, t0, err)
	return v, err
}

func (s *instrumentedStore) List(ctx context.Context, prefix string) ([]store.KV, error) {
	t0 := time.Now()
	kvs, err := s.Store.List(ctx, prefix)
	s.observe(1, t0, err)
	return kvs, err
}

func (s *instrumentedStore) Update(ctx context.Context, fn func(store.Tx) error) error {
	var fnErr error
	t0 := time.Now()
	err := s.Store.Update(ctx, func(tx store.Tx) error {
		fnErr = fn(tx)
		return fnErr
	})
	storeErr := err
	if fnErr != nil && errors.Is(err, fnErr) {
		storeErr = nil // the caller's refusal, not the store's failure
	}
	s.observe(2, t0, storeErr)
	return err
}
