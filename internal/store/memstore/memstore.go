// Package memstore is an in-memory store.Store with watches. It keeps nothing on
// disk, so it is for tests and benchmarks of the services that sit on a store; it
// passes the same conformance suite (storetest) as the durable backends, so code
// tested against it sees the semantics boltstore and etcdstore give.
package memstore

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/sluice-dev/sluice/internal/store"
)

// ErrClosed is returned by every method after Close.
var ErrClosed = errors.New("memstore: store is closed")

// Store is an in-memory store.Store. One mutex serializes every transaction, which
// makes Update trivially serializable; fn passed to Update must not call back into
// the Store (only into its Tx).
type Store struct {
	// mu guards the following.
	mu       sync.Mutex
	data     map[string]store.KV
	rev      int64
	closed   bool
	watchers store.Fanout
}

var _ store.Store = (*Store)(nil)

// New returns an empty store.
func New() *Store {
	return &Store{data: map[string]store.KV{}}
}

// Get returns a copy of the value of key, or store.ErrNotFound.
func (s *Store) Get(_ context.Context, key string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	kv, ok := s.data[key]
	if !ok {
		return nil, store.ErrNotFound
	}
	return slices.Clone(kv.Value), nil
}

// List returns copies of every key with the given prefix, sorted by key.
func (s *Store) List(_ context.Context, prefix string) ([]store.KV, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	return s.listLocked(prefix, nil), nil
}

// listLocked lists prefix as it would be with writes applied (a nil value in writes
// is a delete). s.mu must be held.
func (s *Store) listLocked(prefix string, writes map[string][]byte) []store.KV {
	merged := map[string]store.KV{}
	for k, kv := range s.data {
		if strings.HasPrefix(k, prefix) {
			merged[k] = kv
		}
	}
	for k, v := range writes {
		switch {
		case !strings.HasPrefix(k, prefix):
		case v == nil:
			delete(merged, k)
		default:
			merged[k] = store.KV{Key: k, Value: v}
		}
	}
	out := make([]store.KV, 0, len(merged))
	for _, k := range slices.Sorted(maps.Keys(merged)) {
		kv := merged[k]
		kv.Value = slices.Clone(kv.Value)
		out = append(out, kv)
	}
	return out
}

// Update runs fn with every other reader and writer excluded, then applies its
// writes in key order, each at its own revision, and reports them to watchers.
func (s *Store) Update(ctx context.Context, fn func(tx store.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	tx := &memTx{s: s, writes: map[string][]byte{}}
	if err := fn(tx); err != nil {
		return err
	}
	for _, k := range slices.Sorted(maps.Keys(tx.writes)) {
		v := tx.writes[k]
		if v == nil {
			if _, ok := s.data[k]; !ok {
				continue // deleting a missing key changes nothing and is not reported
			}
			s.rev++
			delete(s.data, k)
			s.watchers.Publish(store.Event{Type: store.EventDelete, Key: k, Revision: s.rev})
			continue
		}
		s.rev++
		s.data[k] = store.KV{Key: k, Value: v, Revision: s.rev}
		s.watchers.Publish(store.Event{Type: store.EventPut, Key: k, Value: v, Revision: s.rev})
	}
	return nil
}

// Watch reports every change under prefix made after Watch returns, until ctx is
// done. A watcher more than store.WatchBuffer events behind has its channel closed
// early.
func (s *Store) Watch(ctx context.Context, prefix string) (<-chan store.Event, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	ch, ok := s.watchers.Watch(ctx, prefix)
	if !ok {
		return nil, ErrClosed
	}
	return ch, nil
}

// Close closes every watch channel; every later call returns ErrClosed.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.watchers.Close()
	return nil
}

// memTx buffers an Update's writes until fn returns; reads see them first.
type memTx struct {
	s      *Store
	writes map[string][]byte // a nil value is a delete
}

func (t *memTx) Get(key string) ([]byte, error) {
	v, ok := t.writes[key]
	if !ok {
		kv, found := t.s.data[key]
		if !found {
			return nil, store.ErrNotFound
		}
		v = kv.Value
	}
	if v == nil {
		return nil, store.ErrNotFound
	}
	return slices.Clone(v), nil
}

func (t *memTx) List(prefix string) ([]store.KV, error) {
	return t.s.listLocked(prefix, t.writes), nil
}

func (t *memTx) Put(key string, value []byte) error {
	v := make([]byte, len(value)) // never nil: nil marks a delete
	copy(v, value)
	t.writes[key] = v
	return nil
}

func (t *memTx) Delete(key string) error {
	t.writes[key] = nil
	return nil
}
