// Package etcdstore is the cluster store.Store backend: all Sluice nodes share one
// etcd cluster, each key living under a namespace prefix. It owns the mapping of
// store keys to etcd keys and the optimistic, serializable transaction protocol
// built on etcd's compare-and-swap Txn.
//
// Layout under Config.Prefix (default "/sluice"):
//
//	<prefix>/kv<key>          the value of store key <key>
//	<prefix>/meta/deletes     bumped by every Update that deletes a key
//
// Update runs fn against a snapshot pinned at the revision of its first read,
// records what it read, and commits its writes with one etcd Txn whose If clause
// fails when anything it read has changed since. On failure fn is run again.
// Reads are validated as follows:
//
//   - a Get of key k: ModRevision(k) must still equal what was seen (0 if absent),
//     which catches puts and deletes of k;
//   - a List of prefix p: every key under p must have ModRevision ≤ the snapshot
//     revision (a range compare), which catches puts, including new keys; and the
//     deletes marker must not have moved, which catches deletes. etcd has no
//     "count of keys in range" compare, so deletes are tracked conservatively: any
//     delete anywhere in the namespace conflicts with a concurrent List. Deletes
//     are rare in Sluice (control-plane deletes), so the extra retries are cheap.
//
// The scheme is sound only if every writer to the namespace goes through
// Update; do not edit keys under the prefix with etcdctl while Sluice runs.
//
// etcd limits a Txn to 128 compares and 128 operations by default
// (--max-txn-ops), so one Update may read (outside listed prefixes) or write at
// most about that many keys.
package etcdstore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/sluice-dev/sluice/internal/store"
)

// Config says which etcd cluster to use and where in it Sluice's keys live.
type Config struct {
	Endpoints []string
	// Prefix namespaces all keys, default "/sluice". Two Sluice clusters sharing
	// one etcd must use different prefixes.
	Prefix string
	// DialTimeout bounds connecting to etcd in Open, default 5s.
	DialTimeout time.Duration
}

// DefaultPrefix is the namespace used when Config.Prefix is empty.
const DefaultPrefix = "/sluice"

// maxAttempts bounds how often Update re-runs fn after conflicts.
const maxAttempts = 100

// watchBuffer is the per-watch channel capacity: the in-process backends'
// figure, so a watcher may fall as far behind on every backend.
const watchBuffer = store.WatchBuffer

// ErrConflict is returned (wrapped) when Update lost the race maxAttempts times.
var ErrConflict = errors.New("etcdstore: transaction kept conflicting with concurrent writers")

// Store is a store.Store backed by etcd.
type Store struct {
	cli       *clientv3.Client
	kvPrefix  string // <prefix>/kv
	deleteKey string // <prefix>/meta/deletes

	closeOnce sync.Once
	closeErr  error
}

var _ store.Store = (*Store)(nil)

// Open connects to etcd and checks that it answers within cfg.DialTimeout.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if len(cfg.Endpoints) == 0 {
		return nil, errors.New("etcdstore: no endpoints configured")
	}
	prefix := strings.TrimRight(cfg.Prefix, "/")
	if prefix == "" {
		prefix = DefaultPrefix
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = 5 * time.Second
	}
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   cfg.Endpoints,
		DialTimeout: cfg.DialTimeout,
		Context:     context.WithoutCancel(ctx),
	})
	if err != nil {
		return nil, fmt.Errorf("etcdstore: connect %v: %w", cfg.Endpoints, err)
	}
	s := &Store{cli: cli, kvPrefix: prefix + "/kv", deleteKey: prefix + "/meta/deletes"}
	pingCtx, cancel := context.WithTimeout(ctx, cfg.DialTimeout)
	defer cancel()
	if _, err := cli.Get(pingCtx, s.deleteKey); err != nil {
		_ = cli.Close()
		return nil, fmt.Errorf("etcdstore: reach etcd at %v: %w", cfg.Endpoints, err)
	}
	return s, nil
}

// Close releases the etcd client; open watch channels close. Calling it again
// returns the first call's result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() { s.closeErr = s.cli.Close() })
	return s.closeErr
}

func (s *Store) etcdKey(key string) string { return s.kvPrefix + key }

func (s *Store) storeKey(etcdKey []byte) string { return string(etcdKey[len(s.kvPrefix):]) }

// Get returns the value of key (a linearizable read), or store.ErrNotFound.
func (s *Store) Get(ctx context.Context, key string) ([]byte, error) {
	resp, err := s.cli.Get(ctx, s.etcdKey(key))
	if err != nil {
		return nil, fmt.Errorf("etcd get %q: %w", key, err)
	}
	if len(resp.Kvs) == 0 {
		return nil, store.ErrNotFound
	}
	return nonNil(resp.Kvs[0].Value), nil
}

// List returns every key with the given prefix, sorted by key.
func (s *Store) List(ctx context.Context, prefix string) ([]store.KV, error) {
	resp, err := s.cli.Get(ctx, s.etcdKey(prefix), clientv3.WithPrefix())
	if err != nil {
		return nil, fmt.Errorf("etcd list %q: %w", prefix, err)
	}
	return s.kvs(resp.Kvs), nil
}

// kvs converts etcd's range result, which is already sorted by key ascending.
func (s *Store) kvs(in []*mvccpb.KeyValue) []store.KV {
	out := make([]store.KV, 0, len(in))
	for _, kv := range in {
		out = append(out, store.KV{Key: s.storeKey(kv.Key), Value: nonNil(kv.Value), Revision: kv.ModRevision})
	}
	return out
}

// Update runs fn as an optimistic serializable transaction, re-running it when a
// concurrent writer changed something it read (see the package comment).
func (s *Store) Update(ctx context.Context, fn func(tx store.Tx) error) error {
	for attempt := range maxAttempts {
		if attempt > 0 {
			if err := backoff(ctx, attempt); err != nil {
				return err
			}
		}
		t := newTx(ctx, s)
		err := fn(t)
		t.done = true
		if t.retry {
			continue // the pinned revision was compacted away mid-transaction
		}
		if err != nil {
			return err
		}
		committed, err := t.commit()
		if err != nil {
			return err
		}
		if committed {
			return nil
		}
	}
	return fmt.Errorf("etcd update after %d attempts: %w", maxAttempts, ErrConflict)
}

// backoff sleeps a jittered, growing delay (capped at ~50ms) so that contending
// writers spread out instead of colliding again in lockstep.
func backoff(ctx context.Context, attempt int) error {
	limit := time.Millisecond << min(attempt, 6)
	d := time.Duration(rand.Int64N(int64(min(limit, 50*time.Millisecond)))) + time.Millisecond
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// Watch reports every change under prefix committed after Watch returns, until
// ctx is done. The channel also closes if etcd cancels the watch (compaction,
// leader loss): the caller must re-list and re-watch.
func (s *Store) Watch(ctx context.Context, prefix string) (<-chan store.Event, error) {
	// Any read returns the current store revision in its header; watching from the
	// next one gives exactly "changes after Watch returns".
	resp, err := s.cli.Get(ctx, s.deleteKey)
	if err != nil {
		return nil, fmt.Errorf("etcd watch %q: read revision: %w", prefix, err)
	}
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	wch := s.cli.Watch(wctx, s.etcdKey(prefix), clientv3.WithPrefix(), clientv3.WithRev(resp.Header.Revision+1))
	out := make(chan store.Event, watchBuffer)
	go func() {
		defer close(out)
		defer cancel()
		for wr := range wch {
			if wr.Canceled || wr.CompactRevision != 0 || wr.Err() != nil {
				return
			}
			for _, ev := range wr.Events {
				if ctx.Err() != nil {
					return
				}
				select {
				case out <- s.event(ev):
				default:
					// watchBuffer events behind: the receiver is stuck or gone
					// without cancelling. Drop it, as the Watch contract allows
					// (it re-lists and re-watches), rather than block here for
					// good holding this goroutine and an etcd watch stream.
					return
				}
			}
		}
	}()
	return out, nil
}

func (s *Store) event(ev *clientv3.Event) store.Event {
	e := store.Event{Key: s.storeKey(ev.Kv.Key), Revision: ev.Kv.ModRevision}
	if ev.Type == clientv3.EventTypeDelete {
		e.Type = store.EventDelete
	} else {
		e.Type = store.EventPut
		e.Value = nonNil(ev.Kv.Value)
	}
	return e
}

// etcdTx is one attempt of an Update. It buffers writes locally and reads from
// etcd at a pinned revision, recording what it read for validation at commit.
type etcdTx struct {
	ctx  context.Context
	s    *Store
	done bool

	rev      int64            // snapshot revision, 0 until the first read
	reads    map[string]int64 // key → ModRevision seen (0 = absent)
	prefixes map[string]bool  // prefixes listed
	writes   map[string]write // key → final write
	retry    bool             // snapshot compacted: rerun fn
}

type write struct {
	value  []byte
	delete bool
}

func newTx(ctx context.Context, s *Store) *etcdTx {
	return &etcdTx{
		ctx:      ctx,
		s:        s,
		reads:    map[string]int64{},
		prefixes: map[string]bool{},
		writes:   map[string]write{},
	}
}

var errTxDone = errors.New("etcdstore: transaction used after Update returned")

// read runs a range read at the snapshot revision, pinning it on first use.
func (t *etcdTx) read(key string, opts ...clientv3.OpOption) (*clientv3.GetResponse, error) {
	if t.rev != 0 {
		opts = append(opts, clientv3.WithRev(t.rev))
	}
	resp, err := t.s.cli.Get(t.ctx, key, opts...)
	if err != nil {
		if errors.Is(err, rpctypes.ErrCompacted) {
			t.retry = true
		}
		return nil, err
	}
	if t.rev == 0 {
		t.rev = resp.Header.Revision
	}
	return resp, nil
}

func (t *etcdTx) Get(key string) ([]byte, error) {
	if t.done {
		return nil, errTxDone
	}
	if w, ok := t.writes[key]; ok {
		if w.delete {
			return nil, store.ErrNotFound
		}
		return slices.Clone(nonNil(w.value)), nil
	}
	resp, err := t.read(t.s.etcdKey(key))
	if err != nil {
		return nil, fmt.Errorf("etcd tx get %q: %w", key, err)
	}
	if len(resp.Kvs) == 0 {
		t.reads[key] = 0
		return nil, store.ErrNotFound
	}
	t.reads[key] = resp.Kvs[0].ModRevision
	return nonNil(resp.Kvs[0].Value), nil
}

func (t *etcdTx) List(prefix string) ([]store.KV, error) {
	if t.done {
		return nil, errTxDone
	}
	resp, err := t.read(t.s.etcdKey(prefix), clientv3.WithPrefix())
	if err != nil {
		return nil, fmt.Errorf("etcd tx list %q: %w", prefix, err)
	}
	t.prefixes[prefix] = true
	kvs := t.s.kvs(resp.Kvs)
	// Overlay this transaction's own writes.
	byKey := make(map[string]int, len(kvs))
	for i, kv := range kvs {
		byKey[kv.Key] = i
	}
	removed := false
	for key, w := range t.writes {
		if !strings.HasPrefix(key, prefix) {
			continue
		}
		i, ok := byKey[key]
		switch {
		case w.delete && ok:
			kvs[i].Key = "" // tombstone, filtered below
			removed = true
		case w.delete:
		case ok:
			kvs[i].Value = slices.Clone(nonNil(w.value))
			kvs[i].Revision = 0 // not yet committed
		default:
			kvs = append(kvs, store.KV{Key: key, Value: slices.Clone(nonNil(w.value))})
		}
	}
	if removed {
		kvs = slices.DeleteFunc(kvs, func(kv store.KV) bool { return kv.Key == "" })
	}
	slices.SortFunc(kvs, func(a, b store.KV) int { return strings.Compare(a.Key, b.Key) })
	return kvs, nil
}

func (t *etcdTx) Put(key string, value []byte) error {
	if t.done {
		return errTxDone
	}
	if key == "" {
		return errors.New("etcdstore: empty key")
	}
	t.writes[key] = write{value: slices.Clone(nonNil(value))}
	return nil
}

// Delete reads the key first so that deleting a missing key is a no-op (no
// deletes-marker bump, no spurious conflicts for listers) and so that the
// existence it relied on is validated at commit.
func (t *etcdTx) Delete(key string) error {
	if t.done {
		return errTxDone
	}
	if key == "" {
		return errors.New("etcdstore: empty key")
	}
	delete(t.writes, key)
	if _, err := t.Get(key); errors.Is(err, store.ErrNotFound) {
		return nil // absent in the snapshot and no longer written by us
	} else if err != nil {
		return err
	}
	t.writes[key] = write{delete: true}
	return nil
}

// commit sends the buffered writes guarded by compares on everything read. It
// reports false if a concurrent writer got there first.
func (t *etcdTx) commit() (bool, error) {
	if len(t.writes) == 0 {
		// Read-only: every read came from one snapshot, which is already a
		// serializable view; nothing to validate or write.
		return true, nil
	}
	var cmps []clientv3.Cmp
	if t.rev != 0 {
		for key, rev := range t.reads {
			if t.coveredByListedPrefix(key) {
				continue
			}
			cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(t.s.etcdKey(key)), "=", rev))
		}
		for prefix := range t.prefixes {
			cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(t.s.etcdKey(prefix)), "<", t.rev+1).WithPrefix())
		}
		if len(t.prefixes) > 0 {
			cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(t.s.deleteKey), "<", t.rev+1))
		}
	}
	ops := make([]clientv3.Op, 0, len(t.writes)+1)
	deletes := false
	for key, w := range t.writes {
		if w.delete {
			deletes = true
			ops = append(ops, clientv3.OpDelete(t.s.etcdKey(key)))
		} else {
			ops = append(ops, clientv3.OpPut(t.s.etcdKey(key), string(w.value)))
		}
	}
	if deletes {
		ops = append(ops, clientv3.OpPut(t.s.deleteKey, ""))
	}
	resp, err := t.s.cli.Txn(t.ctx).If(cmps...).Then(ops...).Commit()
	if err != nil {
		return false, fmt.Errorf("etcd commit (%d compares, %d ops): %w", len(cmps), len(ops), err)
	}
	return resp.Succeeded, nil
}

// coveredByListedPrefix reports whether key's read is already validated by a
// prefix compare (puts) plus the deletes marker (deletes).
func (t *etcdTx) coveredByListedPrefix(key string) bool {
	for prefix := range t.prefixes {
		if strings.HasPrefix(key, prefix) {
			return true
		}
	}
	return false
}

func nonNil(v []byte) []byte {
	if v == nil {
		return []byte{}
	}
	return v
}

// Client is the store's etcd client, for the cluster's own bookkeeping
// (membership, leader election, concurrency slots) beside the records.
func (s *Store) Client() *clientv3.Client { return s.cli }

// Prefix is the key prefix the store was opened with; the records live under
// Prefix()+"/kv".
func (s *Store) Prefix() string { return strings.TrimSuffix(s.kvPrefix, "/kv") }
