package restapi

import (
	"context"
	"sort"
	"strings"
	"sync"

	"github.com/sluice-dev/sluice/internal/store"
)

// memStore is an in-memory store.Store for tests: transactions buffer their writes
// and apply them atomically when fn succeeds, as the real backends do.
type memStore struct {
	mu  sync.Mutex
	kv  map[string][]byte
	rev int64
}

func newMemStore() *memStore { return &memStore{kv: map[string][]byte{}} }

func (m *memStore) Get(_ context.Context, key string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.kv[key]
	if !ok {
		return nil, store.ErrNotFound
	}
	return append([]byte(nil), v...), nil
}

func (m *memStore) List(_ context.Context, prefix string) ([]store.KV, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return listLocked(m.kv, prefix), nil
}

func listLocked(kv map[string][]byte, prefix string) []store.KV {
	var out []store.KV
	for k, v := range kv {
		if strings.HasPrefix(k, prefix) {
			out = append(out, store.KV{Key: k, Value: append([]byte(nil), v...), Revision: 1})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

func (m *memStore) Update(_ context.Context, fn func(tx store.Tx) error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	tx := &memTx{base: m.kv, writes: map[string][]byte{}, deletes: map[string]bool{}}
	if err := fn(tx); err != nil {
		return err
	}
	for k := range tx.deletes {
		delete(m.kv, k)
	}
	for k, v := range tx.writes {
		m.kv[k] = v
	}
	m.rev++
	return nil
}

func (m *memStore) Watch(ctx context.Context, _ string) (<-chan store.Event, error) {
	ch := make(chan store.Event)
	go func() { <-ctx.Done(); close(ch) }()
	return ch, nil
}

func (m *memStore) Close() error { return nil }

// keys returns every key under prefix (for assertions).
func (m *memStore) keys(prefix string) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for _, kv := range listLocked(m.kv, prefix) {
		out = append(out, kv.Key)
	}
	return out
}

type memTx struct {
	base    map[string][]byte
	writes  map[string][]byte
	deletes map[string]bool
}

func (t *memTx) Get(key string) ([]byte, error) {
	if t.deletes[key] {
		return nil, store.ErrNotFound
	}
	if v, ok := t.writes[key]; ok {
		return append([]byte(nil), v...), nil
	}
	if v, ok := t.base[key]; ok {
		return append([]byte(nil), v...), nil
	}
	return nil, store.ErrNotFound
}

func (t *memTx) List(prefix string) ([]store.KV, error) {
	merged := map[string][]byte{}
	for k, v := range t.base {
		if !t.deletes[k] {
			merged[k] = v
		}
	}
	for k, v := range t.writes {
		merged[k] = v
	}
	return listLocked(merged, prefix), nil
}

func (t *memTx) Put(key string, value []byte) error {
	delete(t.deletes, key)
	t.writes[key] = append([]byte(nil), value...)
	return nil
}

func (t *memTx) Delete(key string) error {
	delete(t.writes, key)
	t.deletes[key] = true
	return nil
}
