// Package boltstore is the embedded store.Store backend: one bbolt file on local
// disk. It owns the on-disk layout (a "kv" bucket of key → revision+value and a
// "meta" bucket holding the store-wide revision counter) and the in-process watch
// fan-out that reports committed Updates to watchers in revision order.
//
// Durability comes from bbolt itself: every committed read-write transaction is
// fsynced before db.Update returns (NoSync stays false), so a nil Update survives
// kill -9. Serializability also comes from bbolt: it admits one writer at a time.
package boltstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/sluice-dev/sluice/internal/store"
)

var (
	kvBucket   = []byte("kv")
	metaBucket = []byte("meta")
	revKey     = []byte("revision")
)

// lockTimeout bounds the wait for bbolt's exclusive file lock, so a second
// process opening the same file fails with an error instead of hanging.
const lockTimeout = 5 * time.Second

// ErrClosed is returned by every method after Close.
var ErrClosed = errors.New("boltstore: store is closed")

// Store is a store.Store backed by one bbolt file.
type Store struct {
	db *bolt.DB

	// writeMu serializes commit+publish so watchers see events in revision
	// order: bbolt releases its writer lock at commit, before we could publish.
	writeMu sync.Mutex

	// mu guards closed.
	mu     sync.Mutex
	closed bool

	watchers store.Fanout
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the bbolt file at path.
func Open(path string) (*Store, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout:      lockTimeout,
		FreelistType: bolt.FreelistMapType,
	})
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			// bbolt holds an exclusive flock for the life of the process (the kernel
			// drops it on kill -9), so a timeout means a live process has the file.
			return nil, fmt.Errorf("open bolt store %s: another process holds its lock (waited %s; is another sluice serving this data dir?): %w",
				path, lockTimeout, err)
		}
		return nil, fmt.Errorf("open bolt store %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{kvBucket, metaBucket} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open bolt store %s: create buckets: %w", path, err)
	}
	return &Store{db: db}, nil
}

// Path returns the file the store lives in.
func (s *Store) Path() string { return s.db.Path() }

// Get returns the value of key, or store.ErrNotFound.
func (s *Store) Get(ctx context.Context, key string) ([]byte, error) {
	var out []byte
	err := s.view(ctx, func(tx *bolt.Tx) error {
		_, v, err := get(tx.Bucket(kvBucket), key)
		out = v
		return err
	})
	return out, err
}

// List returns every key with the given prefix, sorted by key.
func (s *Store) List(ctx context.Context, prefix string) ([]store.KV, error) {
	var out []store.KV
	err := s.view(ctx, func(tx *bolt.Tx) error {
		var err error
		out, err = list(tx.Bucket(kvBucket), prefix)
		return err
	})
	return out, err
}

func (s *Store) view(ctx context.Context, fn func(*bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.isClosed() {
		return ErrClosed
	}
	return s.db.View(fn)
}

// Update runs fn in one bbolt read-write transaction. bbolt runs writers one at a
// time, so fn never conflicts and is run exactly once. Watchers are notified after
// the commit is durable.
func (s *Store) Update(ctx context.Context, fn func(tx store.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if s.isClosed() {
		return ErrClosed
	}
	var t *boltTx
	err := s.db.Update(func(btx *bolt.Tx) error {
		t = &boltTx{kv: btx.Bucket(kvBucket), meta: btx.Bucket(metaBucket)}
		defer func() { t.done = true }()
		if err := fn(t); err != nil {
			return &fnError{err}
		}
		return t.finish()
	})
	var fe *fnError
	if errors.As(err, &fe) {
		return fe.err // the contract: fn's error comes back unchanged
	}
	if err != nil {
		return fmt.Errorf("bolt update: %w", err)
	}
	s.watchers.Publish(t.events...)
	return nil
}

// fnError marks an error that came from the caller's fn, so Update can return it
// unwrapped while still wrapping bbolt's own errors.
type fnError struct{ err error }

func (e *fnError) Error() string { return e.err.Error() }

// Watch reports every committed change under prefix after Watch returns, until
// ctx is done. If the watcher falls more than store.WatchBuffer events behind, its
// channel is closed early.
func (s *Store) Watch(ctx context.Context, prefix string) (<-chan store.Event, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ch, ok := s.watchers.Watch(ctx, prefix)
	if !ok {
		return nil, ErrClosed
	}
	return ch, nil
}

func (s *Store) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// Close closes every watch channel and the bbolt file. In-flight reads and
// writes finish first.
func (s *Store) Close() error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	s.watchers.Close()
	return s.db.Close()
}

// boltTx adapts a bbolt read-write transaction to store.Tx. bbolt's own bucket
// already reads its uncommitted writes, so there is no overlay here.
type boltTx struct {
	kv, meta *bolt.Bucket
	done     bool

	rev    int64 // revision of this transaction's writes; 0 until the first write
	events []store.Event
}

var errTxDone = errors.New("boltstore: transaction used after Update returned")

func (t *boltTx) Get(key string) ([]byte, error) {
	if t.done {
		return nil, errTxDone
	}
	_, v, err := get(t.kv, key)
	return v, err
}

func (t *boltTx) List(prefix string) ([]store.KV, error) {
	if t.done {
		return nil, errTxDone
	}
	return list(t.kv, prefix)
}

func (t *boltTx) Put(key string, value []byte) error {
	if t.done {
		return errTxDone
	}
	if err := checkKey(key); err != nil {
		return err
	}
	rev, err := t.revision()
	if err != nil {
		return err
	}
	if err := t.kv.Put([]byte(key), encode(rev, value)); err != nil {
		return fmt.Errorf("put %q: %w", key, err)
	}
	t.events = append(t.events, store.Event{Type: store.EventPut, Key: key, Value: bytes.Clone(value), Revision: rev})
	return nil
}

func (t *boltTx) Delete(key string) error {
	if t.done {
		return errTxDone
	}
	if err := checkKey(key); err != nil {
		return err
	}
	if t.kv.Get([]byte(key)) == nil {
		return nil // deleting a missing key changes nothing, like etcd
	}
	rev, err := t.revision()
	if err != nil {
		return err
	}
	if err := t.kv.Delete([]byte(key)); err != nil {
		return fmt.Errorf("delete %q: %w", key, err)
	}
	t.events = append(t.events, store.Event{Type: store.EventDelete, Key: key, Revision: rev})
	return nil
}

// revision allocates this transaction's revision on its first write: one revision
// per committed Update, as etcd does per Txn.
func (t *boltTx) revision() (int64, error) {
	if t.rev != 0 {
		return t.rev, nil
	}
	var cur int64
	if v := t.meta.Get(revKey); v != nil {
		if len(v) != 8 {
			return 0, fmt.Errorf("boltstore: corrupt revision counter (%d bytes)", len(v))
		}
		cur = int64(binary.BigEndian.Uint64(v))
	}
	t.rev = cur + 1
	return t.rev, nil
}

// finish persists the revision counter if this transaction wrote anything.
func (t *boltTx) finish() error {
	if t.rev == 0 {
		return nil
	}
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(t.rev))
	if err := t.meta.Put(revKey, b[:]); err != nil {
		return fmt.Errorf("store revision: %w", err)
	}
	return nil
}

func checkKey(key string) error {
	if key == "" {
		return errors.New("boltstore: empty key")
	}
	if len(key) > bolt.MaxKeySize {
		return fmt.Errorf("boltstore: key of %d bytes exceeds %d", len(key), bolt.MaxKeySize)
	}
	return nil
}

// Values are stored as an 8-byte big-endian revision followed by the value.
func encode(rev int64, value []byte) []byte {
	b := make([]byte, 8+len(value))
	binary.BigEndian.PutUint64(b, uint64(rev))
	copy(b[8:], value)
	return b
}

// decode copies out of bbolt's mmap: the bytes are only valid inside the tx.
func decode(key string, raw []byte) (int64, []byte, error) {
	if len(raw) < 8 {
		return 0, nil, fmt.Errorf("boltstore: corrupt value for %q (%d bytes)", key, len(raw))
	}
	return int64(binary.BigEndian.Uint64(raw)), bytes.Clone(raw[8:]), nil
}

func get(b *bolt.Bucket, key string) (int64, []byte, error) {
	if key == "" {
		return 0, nil, store.ErrNotFound
	}
	raw := b.Get([]byte(key))
	if raw == nil {
		return 0, nil, store.ErrNotFound
	}
	rev, v, err := decode(key, raw)
	if err != nil {
		return 0, nil, err
	}
	return rev, nonNil(v), nil
}

func list(b *bolt.Bucket, prefix string) ([]store.KV, error) {
	var out []store.KV
	p := []byte(prefix)
	c := b.Cursor()
	for k, raw := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, raw = c.Next() {
		key := string(k)
		rev, v, err := decode(key, raw)
		if err != nil {
			return nil, err
		}
		out = append(out, store.KV{Key: key, Value: nonNil(v), Revision: rev})
	}
	return out, nil
}

// nonNil keeps an empty stored value distinguishable from a missing one.
func nonNil(v []byte) []byte {
	if v == nil {
		return []byte{}
	}
	return v
}
