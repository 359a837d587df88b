// Package store is Sluice's single source of truth: keyed, transactional, watchable
// state. Control planes write it; the data plane compiles it into snapshots when a
// watch fires. Two backends implement Store (boltstore, embedded default, and
// etcdstore, for clusters); storetest holds the conformance suite both must pass.
//
// Keys are slash-separated strings owned by the services ("/lambda/functions/x").
// Values are opaque bytes (JSON by convention). A write that returns nil is durable:
// it survives kill -9 of the process at any later moment.
package store

import (
	"context"
	"errors"
)

// ErrNotFound is returned by Get when the key does not exist.
var ErrNotFound = errors.New("store: key not found")

// KV is one stored key and value. Revision is the store revision at which the key was
// last modified (monotonic per store, > 0).
type KV struct {
	Key      string
	Value    []byte
	Revision int64
}

// EventType says what happened to a key.
type EventType int

const (
	EventPut EventType = iota + 1
	EventDelete
)

// Event is one change seen by a watch.
type Event struct {
	Type     EventType
	Key      string
	Value    []byte // nil for EventDelete
	Revision int64
}

// Store is the state interface every service uses.
type Store interface {
	// Get returns the value of key, or ErrNotFound.
	Get(ctx context.Context, key string) ([]byte, error)
	// List returns every key with the given prefix, sorted by key.
	List(ctx context.Context, prefix string) ([]KV, error)
	// Update runs fn in a serializable read-write transaction. If another writer
	// commits a conflicting change first, fn is run again (so fn must be free of side
	// effects outside tx). If fn returns an error nothing is written and Update returns
	// that error unchanged. When Update returns nil the writes are durable.
	// Keep one Update to at most storetest.LargeUpdateKeys (100) keys read outside
	// a listed prefix or written: etcd caps a transaction at 128 operations by default.
	Update(ctx context.Context, fn func(tx Tx) error) error
	// Watch reports every change under prefix made after Watch returns, in revision
	// order, until ctx is done; then the channel is closed. A watcher that falls too far
	// behind may see the channel closed early and must re-list and re-watch.
	Watch(ctx context.Context, prefix string) (<-chan Event, error)
	// Close releases the backend.
	Close() error
}

// Tx is a read-write transaction. Reads see the transaction's own writes.
type Tx interface {
	Get(key string) ([]byte, error)
	List(prefix string) ([]KV, error)
	Put(key string, value []byte) error
	Delete(key string) error
}
