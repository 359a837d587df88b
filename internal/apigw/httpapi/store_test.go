package httpapi

import (
	"context"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/sluice-dev/sluice/internal/apigw/model"
	"github.com/sluice-dev/sluice/internal/store"
	"github.com/sluice-dev/sluice/internal/store/boltstore"
	"github.com/sluice-dev/sluice/internal/store/storetest"
)

// testStore is the real embedded store (bbolt in a temp dir) with two test aids:
// a count of committed transactions, to prove a change and its auto-deployment
// commit together, and a key search. Its transactions fail past etcd's write limit.
type testStore struct {
	store.Store
	commits atomic.Int64
}

func newTestStore(t testing.TB) *testStore {
	t.Helper()
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return &testStore{Store: st}
}

func (s *testStore) Update(ctx context.Context, fn func(store.Tx) error) error {
	err := s.Store.Update(ctx, func(tx store.Tx) error { return fn(storetest.LimitWrites(tx, model.MaxWritesPerUpdate)) })
	if err == nil {
		s.commits.Add(1)
	}
	return err
}

// keys returns every stored key containing sub, sorted.
func (s *testStore) keys(t *testing.T, sub string) []string {
	t.Helper()
	kvs, err := s.List(context.Background(), "/")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, kv := range kvs {
		if strings.Contains(kv.Key, sub) {
			out = append(out, kv.Key)
		}
	}
	sort.Strings(out)
	return out
}
