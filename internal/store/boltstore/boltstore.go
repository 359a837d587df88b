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
	"slices"
	"strings"
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
	// queueMu guards queue: the Updates waiting for the next group commit.
	queueMu sync.Mutex
	queue   []*pendingUpdate

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

// Update runs fn in a bbolt read-write transaction and returns once its writes are
// durable. Concurrent Updates are committed together (group commit): each runs
// exactly once, alone and in arrival order, inside one bbolt transaction, and one
// fsync makes the whole group durable, so N writers cost one disk flush instead of
// N (cpbench: the control plane spent most of its time in serialized fsyncs). A fn
// writes into its own overlay, applied to the transaction only if it returns nil,
// so a failing fn leaves no trace and does not affect the others; each successful
// writing fn gets its own revision, as before. Watchers are notified after the
// commit is durable.
func (s *Store) Update(ctx context.Context, fn func(tx store.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p := &pendingUpdate{fn: fn, done: make(chan struct{})}
	s.queueMu.Lock()
	s.queue = append(s.queue, p)
	s.queueMu.Unlock()

	// Whoever holds writeMu commits everything queued so far; our update is
	// either in that group (done before writeMu is released) or taken by us.
	s.writeMu.Lock()
	s.queueMu.Lock()
	group := s.queue
	s.queue = nil
	s.queueMu.Unlock()
	if len(group) > 0 {
		s.commit(group)
	}
	s.writeMu.Unlock()
	<-p.done
	return p.err
}

// pendingUpdate is one Update waiting for its group's commit.
type pendingUpdate struct {
	fn     func(tx store.Tx) error
	err    error
	events []store.Event
	done   chan struct{}
}

// commit runs a group of updates in one bbolt transaction. Called with writeMu
// held.
func (s *Store) commit(group []*pendingUpdate) {
	defer func() {
		for _, p := range group {
			close(p.done)
		}
	}()
	if s.isClosed() {
		for _, p := range group {
			p.err = ErrClosed
		}
		return
	}
	ok := make([]bool, len(group)) // fn returned nil
	err := s.db.Update(func(btx *bolt.Tx) error {
		kv, meta := btx.Bucket(kvBucket), btx.Bucket(metaBucket)
		cur, err := currentRevision(meta)
		if err != nil {
			return err
		}
		start := cur
		for i, p := range group {
			t := &boltTx{kv: kv, base: cur}
			if err := runFn(p.fn, t); err != nil {
				p.err = err // the contract: fn's error comes back unchanged
				continue
			}
			if err := t.apply(); err != nil {
				return err
			}
			ok[i] = true
			p.events = t.events
			if t.rev != 0 {
				cur = t.rev
			}
		}
		if cur == start {
			return nil
		}
		var b [8]byte
		binary.BigEndian.PutUint64(b[:], uint64(cur))
		if err := meta.Put(revKey, b[:]); err != nil {
			return fmt.Errorf("store revision: %w", err)
		}
		return nil
	})
	if err != nil {
		for i, p := range group {
			if ok[i] {
				p.err, p.events = fmt.Errorf("bolt update: %w", err), nil
			}
		}
		return
	}
	for i, p := range group {
		if ok[i] {
			s.watchers.Publish(p.events...)
		}
	}
}

// runFn runs one update's fn, turning a panic into that update's error so that
// it cannot take the rest of its group down.
func runFn(fn func(store.Tx) error, t *boltTx) (err error) {
	defer func() {
		t.done = true
		if r := recover(); r != nil {
			err = fmt.Errorf("boltstore: update function panicked: %v", r)
		}
	}()
	return fn(t)
}

func currentRevision(meta *bolt.Bucket) (int64, error) {
	v := meta.Get(revKey)
	if v == nil {
		return 0, nil
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("boltstore: corrupt revision counter (%d bytes)", len(v))
	}
	return int64(binary.BigEndian.Uint64(v)), nil
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

// boltTx adapts one update's view of a bbolt read-write transaction to store.Tx:
// its writes go to an overlay over the bucket (which holds the writes of the
// group's earlier updates), applied by apply only when its fn succeeded.
type boltTx struct {
	kv   *bolt.Bucket
	base int64 // the store's revision before this update
	done bool

	writes map[string]*overlayWrite // by key
	order  []string                 // keys in first-write order
	rev    int64                    // revision of this update's writes; 0 until the first write
	events []store.Event
}

// overlayWrite is an update's last write to a key: a value, or a delete.
type overlayWrite struct {
	value   []byte
	deleted bool
}

var errTxDone = errors.New("boltstore: transaction used after Update returned")

func (t *boltTx) Get(key string) ([]byte, error) {
	if t.done {
		return nil, errTxDone
	}
	if w, ok := t.writes[key]; ok {
		if w.deleted {
			return nil, store.ErrNotFound
		}
		return bytes.Clone(w.value), nil
	}
	_, v, err := get(t.kv, key)
	return v, err
}

func (t *boltTx) List(prefix string) ([]store.KV, error) {
	if t.done {
		return nil, errTxDone
	}
	out, err := list(t.kv, prefix)
	if err != nil || len(t.writes) == 0 {
		return out, err
	}
	// Merge the overlay: replace or drop listed keys, add new ones, keep order.
	merged := out[:0:0]
	for _, kv := range out {
		if w, ok := t.writes[kv.Key]; ok {
			if w.deleted {
				continue
			}
			kv.Value, kv.Revision = bytes.Clone(w.value), t.rev
		}
		merged = append(merged, kv)
	}
	for _, k := range t.order {
		if w := t.writes[k]; !w.deleted && strings.HasPrefix(k, prefix) && t.kv.Get([]byte(k)) == nil {
			merged = append(merged, store.KV{Key: k, Value: bytes.Clone(w.value), Revision: t.rev})
		}
	}
	slices.SortFunc(merged, func(a, b store.KV) int { return strings.Compare(a.Key, b.Key) })
	return merged, nil
}

func (t *boltTx) Put(key string, value []byte) error {
	if t.done {
		return errTxDone
	}
	if err := checkKey(key); err != nil {
		return err
	}
	t.write(key, &overlayWrite{value: bytes.Clone(value)})
	return nil
}

func (t *boltTx) Delete(key string) error {
	if t.done {
		return errTxDone
	}
	if err := checkKey(key); err != nil {
		return err
	}
	if _, err := t.Get(key); errors.Is(err, store.ErrNotFound) {
		return nil // deleting a missing key changes nothing, like etcd
	}
	t.write(key, &overlayWrite{deleted: true})
	return nil
}

// write records w as the update's last write to key; the first write allocates
// the update's revision: one revision per committed Update, as etcd does per Txn.
func (t *boltTx) write(key string, w *overlayWrite) {
	if t.rev == 0 {
		t.rev = t.base + 1
	}
	if t.writes == nil {
		t.writes = map[string]*overlayWrite{}
	}
	if _, seen := t.writes[key]; !seen {
		t.order = append(t.order, key)
	}
	t.writes[key] = w
	if w.deleted {
		t.events = append(t.events, store.Event{Type: store.EventDelete, Key: key, Revision: t.rev})
	} else {
		t.events = append(t.events, store.Event{Type: store.EventPut, Key: key, Value: bytes.Clone(w.value), Revision: t.rev})
	}
}

// apply writes the overlay into the bucket.
func (t *boltTx) apply() error {
	for _, k := range t.order {
		w := t.writes[k]
		if w.deleted {
			if t.kv.Get([]byte(k)) == nil {
				continue // created and deleted by this update
			}
			if err := t.kv.Delete([]byte(k)); err != nil {
				return fmt.Errorf("delete %q: %w", k, err)
			}
			continue
		}
		if err := t.kv.Put([]byte(k), encode(t.rev, w.value)); err != nil {
			return fmt.Errorf("put %q: %w", k, err)
		}
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
