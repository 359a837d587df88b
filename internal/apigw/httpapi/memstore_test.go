package httpapi

import (
	"context"
	"errors"
	"sort"
	"strings"
	"sync"

	"github.com/sluice-dev/sluice/internal/store"
)

// memStore is an in-memory store.Store for this package's tests: serializable
// because Update holds the lock for the whole transaction, and all-or-nothing
// because writes are buffered until fn returns nil.
type memStore struct {
	mu      sync.Mutex
	data    map[string][]byte
	commits int // successful Update calls, to count transactions
}

func newMemStore() *memStore { return &memStore{data: map[string][]byte{}} }

func (m *memStore) Get(_ context.Context, key string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.data[key]
	if !ok {
		return nil, store.ErrNotFound
	}
	return append([]byte(nil), v...), nil
}

func (m *memStore) List(_ context.Context, prefix string) ([]store.KV, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return listMap(m.data, nil, prefix), nil
}

func (m *memStore) Update(_ context.Context, fn func(store.Tx) error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	tx := &memTx{base: m.data, writes: map[string][]byte{}}
	if err := fn(tx); err != nil {
		return err
	}
	for k, v := range tx.writes {
		if v == nil {
			delete(m.data, k)
		} else {
			m.data[k] = v
		}
	}
	m.commits++
	return nil
}

func (m *memStore) Watch(context.Context, string) (<-chan store.Event, error) {
	return nil, errors.New("memStore: watch not supported")
}

func (m *memStore) Close() error { return nil }

// keys returns every stored key containing sub.
func (m *memStore) keys(sub string) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for k := range m.data {
		if strings.Contains(k, sub) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

type memTx struct {
	base   map[string][]byte
	writes map[string][]byte // nil value: deleted
}

func (t *memTx) Get(key string) ([]byte, error) {
	if v, ok := t.writes[key]; ok {
		if v == nil {
			return nil, store.ErrNotFound
		}
		return append([]byte(nil), v...), nil
	}
	v, ok := t.base[key]
	if !ok {
		return nil, store.ErrNotFound
	}
	return append([]byte(nil), v...), nil
}

func (t *memTx) List(prefix string) ([]store.KV, error) {
	return listMap(t.base, t.writes, prefix), nil
}

func (t *memTx) Put(key string, value []byte) error {
	t.writes[key] = append([]byte{}, value...)
	return nil
}

func (t *memTx) Delete(key string) error {
	t.writes[key] = nil
	return nil
}

func listMap(base, overlay map[string][]byte, prefix string) []store.KV {
	merged := map[string][]byte{}
	for k, v := range base {
		if strings.HasPrefix(k, prefix) {
			merged[k] = v
		}
	}
	for k, v := range overlay {
		if !strings.HasPrefix(k, prefix) {
			continue
		}
		if v == nil {
			delete(merged, k)
		} else {
			merged[k] = v
		}
	}
	out := make([]store.KV, 0, len(merged))
	for k, v := range merged {
		out = append(out, store.KV{Key: k, Value: append([]byte(nil), v...), Revision: 1})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}
