// Package storetest is the conformance suite every store.Store backend must pass.
// It pins down the semantics the services rely on: prefix-bounded sorted listing,
// all-or-nothing transactions that see their own writes, serializable
// read-modify-write under contention, and ordered watches with growing revisions.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/internal/store"
)

// Run runs the whole suite. open must return a fresh, empty store for each call
// (a new file, or a new etcd prefix) and register its own cleanup on t.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"GetMissing", testGetMissing},
		{"PutGetDelete", testPutGetDelete},
		{"EmptyValue", testEmptyValue},
		{"ValuesAreCopied", testValuesAreCopied},
		{"ListPrefix", testListPrefix},
		{"UpdateErrorWritesNothing", testUpdateErrorWritesNothing},
		{"TxReadsOwnWrites", testTxReadsOwnWrites},
		{"TxListSeesOwnWrites", testTxListSeesOwnWrites},
		{"DeleteMissingIsNoop", testDeleteMissingIsNoop},
		{"LargeUpdate", testLargeUpdate},
		{"ConcurrentCounter", testConcurrentCounter},
		{"ConcurrentPrefixInsert", testConcurrentPrefixInsert},
		{"Revision", testRevision},
		{"Watch", testWatch},
		{"WatchMultiKeyUpdate", testWatchMultiKeyUpdate},
		{"WatchCancel", testWatchCancel},
		{"WatchFailedUpdateIsSilent", testWatchFailedUpdateIsSilent},
		{"WatchAbandonedIsFreed", testWatchAbandonedIsFreed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, open(t))
		})
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func put(t *testing.T, s store.Store, key, value string) {
	t.Helper()
	err := s.Update(ctxT(t), func(tx store.Tx) error { return tx.Put(key, []byte(value)) })
	if err != nil {
		t.Fatalf("put %q: %v", key, err)
	}
}

func del(t *testing.T, s store.Store, key string) {
	t.Helper()
	err := s.Update(ctxT(t), func(tx store.Tx) error { return tx.Delete(key) })
	if err != nil {
		t.Fatalf("delete %q: %v", key, err)
	}
}

func mustGet(t *testing.T, s store.Store, key string) string {
	t.Helper()
	v, err := s.Get(ctxT(t), key)
	if err != nil {
		t.Fatalf("get %q: %v", key, err)
	}
	return string(v)
}

func mustMissing(t *testing.T, s store.Store, key string) {
	t.Helper()
	v, err := s.Get(ctxT(t), key)
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("get %q = %q, %v; want ErrNotFound", key, v, err)
	}
}

func keysOf(kvs []store.KV) []string {
	keys := make([]string, len(kvs))
	for i, kv := range kvs {
		keys[i] = kv.Key
	}
	return keys
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func testGetMissing(t *testing.T, s store.Store) {
	mustMissing(t, s, "/nope")
	err := s.Update(ctxT(t), func(tx store.Tx) error {
		if _, err := tx.Get("/nope"); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("tx.Get missing: got %v, want ErrNotFound", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	kvs, err := s.List(ctxT(t), "/nope/")
	if err != nil || len(kvs) != 0 {
		t.Fatalf("List empty prefix = %v, %v; want none", kvs, err)
	}
}

func testPutGetDelete(t *testing.T, s store.Store) {
	put(t, s, "/a/x", "one")
	if got := mustGet(t, s, "/a/x"); got != "one" {
		t.Fatalf("get = %q, want one", got)
	}
	put(t, s, "/a/x", "two")
	if got := mustGet(t, s, "/a/x"); got != "two" {
		t.Fatalf("get after overwrite = %q, want two", got)
	}
	del(t, s, "/a/x")
	mustMissing(t, s, "/a/x")
}

func testEmptyValue(t *testing.T, s store.Store) {
	put(t, s, "/empty", "")
	v, err := s.Get(ctxT(t), "/empty")
	if err != nil || len(v) != 0 {
		t.Fatalf("get empty value = %q, %v; want empty, nil", v, err)
	}
	kvs, err := s.List(ctxT(t), "/empty")
	if err != nil || len(kvs) != 1 || len(kvs[0].Value) != 0 {
		t.Fatalf("list empty value = %+v, %v", kvs, err)
	}
}

// testValuesAreCopied guards against backends handing out memory they still own
// (bbolt's mmap) or keeping the caller's slice.
func testValuesAreCopied(t *testing.T, s store.Store) {
	in := []byte("original")
	if err := s.Update(ctxT(t), func(tx store.Tx) error { return tx.Put("/c", in) }); err != nil {
		t.Fatal(err)
	}
	copy(in, "XXXXXXXX")
	out, err := s.Get(ctxT(t), "/c")
	if err != nil || string(out) != "original" {
		t.Fatalf("get after caller mutated input = %q, %v", out, err)
	}
	copy(out, "YYYYYYYY")
	kvs, err := s.List(ctxT(t), "/c")
	if err != nil || len(kvs) != 1 || string(kvs[0].Value) != "original" {
		t.Fatalf("list after caller mutated output = %+v, %v", kvs, err)
	}
	// Touch other keys so that a backend reusing pages would overwrite stale memory.
	for i := range 50 {
		put(t, s, fmt.Sprintf("/fill/%03d", i), string(bytes.Repeat([]byte{'f'}, 500)))
	}
	if string(kvs[0].Value) != "original" {
		t.Fatalf("listed value changed after later writes: %q", kvs[0].Value)
	}
}

func testListPrefix(t *testing.T, s store.Store) {
	for _, k := range []string{"/a/2", "/ab", "/a/0", "/a", "/b/1", "/a/1", "/a/1/deep", "/"} {
		put(t, s, k, "v"+k)
	}
	tests := []struct {
		prefix string
		want   []string
	}{
		{"/a/", []string{"/a/0", "/a/1", "/a/1/deep", "/a/2"}},
		{"/a", []string{"/a", "/a/0", "/a/1", "/a/1/deep", "/a/2", "/ab"}},
		{"/a/1", []string{"/a/1", "/a/1/deep"}},
		{"/b/", []string{"/b/1"}},
		{"/c/", nil},
		{"", []string{"/", "/a", "/a/0", "/a/1", "/a/1/deep", "/a/2", "/ab", "/b/1"}},
	}
	for _, tc := range tests {
		kvs, err := s.List(ctxT(t), tc.prefix)
		if err != nil {
			t.Fatalf("List(%q): %v", tc.prefix, err)
		}
		if got := keysOf(kvs); !equalStrings(got, tc.want) {
			t.Errorf("List(%q) = %q, want %q", tc.prefix, got, tc.want)
		}
		for _, kv := range kvs {
			if string(kv.Value) != "v"+kv.Key || kv.Revision <= 0 {
				t.Errorf("List(%q) entry %+v: want value %q and revision > 0", tc.prefix, kv, "v"+kv.Key)
			}
		}
		// The same listing from inside a transaction.
		err = s.Update(ctxT(t), func(tx store.Tx) error {
			kvs, err := tx.List(tc.prefix)
			if err != nil {
				return err
			}
			if got := keysOf(kvs); !equalStrings(got, tc.want) {
				return fmt.Errorf("tx.List(%q) = %q, want %q", tc.prefix, got, tc.want)
			}
			return nil
		})
		if err != nil {
			t.Error(err)
		}
	}
}

func testUpdateErrorWritesNothing(t *testing.T, s store.Store) {
	put(t, s, "/keep", "kept")
	sentinel := errors.New("caller says no")
	err := s.Update(ctxT(t), func(tx store.Tx) error {
		if err := tx.Put("/new", []byte("x")); err != nil {
			return err
		}
		if err := tx.Put("/keep", []byte("changed")); err != nil {
			return err
		}
		if err := tx.Delete("/keep"); err != nil {
			return err
		}
		return sentinel
	})
	if err != sentinel { //nolint:errorlint // the contract is "returned unchanged"
		t.Fatalf("Update returned %v, want the fn's error unchanged", err)
	}
	mustMissing(t, s, "/new")
	if got := mustGet(t, s, "/keep"); got != "kept" {
		t.Fatalf("/keep = %q after failed update, want kept", got)
	}
}

func testTxReadsOwnWrites(t *testing.T, s store.Store) {
	put(t, s, "/k", "before")
	err := s.Update(ctxT(t), func(tx store.Tx) error {
		if v, err := tx.Get("/k"); err != nil || string(v) != "before" {
			return fmt.Errorf("first read = %q, %v", v, err)
		}
		if err := tx.Put("/k", []byte("during")); err != nil {
			return err
		}
		if v, err := tx.Get("/k"); err != nil || string(v) != "during" {
			return fmt.Errorf("read after put = %q, %v", v, err)
		}
		if err := tx.Delete("/k"); err != nil {
			return err
		}
		if v, err := tx.Get("/k"); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("read after delete = %q, %v; want ErrNotFound", v, err)
		}
		if err := tx.Put("/k", []byte("after")); err != nil {
			return err
		}
		if v, err := tx.Get("/k"); err != nil || string(v) != "after" {
			return fmt.Errorf("read after re-put = %q, %v", v, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, s, "/k"); got != "after" {
		t.Fatalf("committed /k = %q, want after", got)
	}
}

func testTxListSeesOwnWrites(t *testing.T, s store.Store) {
	put(t, s, "/p/a", "a0")
	put(t, s, "/p/c", "c0")
	put(t, s, "/pq", "outside")
	err := s.Update(ctxT(t), func(tx store.Tx) error {
		for _, op := range []struct {
			key, value string
			del        bool
		}{
			{key: "/p/b", value: "b1"},
			{key: "/p/a", del: true},
			{key: "/p/d", value: "d1"},
			{key: "/p/c", value: "c1"},
			{key: "/pz", value: "outside"},
			{key: "/p/e", value: "e1"},
			{key: "/p/e", del: true},
		} {
			var err error
			if op.del {
				err = tx.Delete(op.key)
			} else {
				err = tx.Put(op.key, []byte(op.value))
			}
			if err != nil {
				return err
			}
		}
		kvs, err := tx.List("/p/")
		if err != nil {
			return err
		}
		var got []string
		for _, kv := range kvs {
			got = append(got, kv.Key+"="+string(kv.Value))
		}
		want := []string{"/p/b=b1", "/p/c=c1", "/p/d=d1"}
		if !equalStrings(got, want) {
			return fmt.Errorf("tx.List = %q, want %q", got, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	kvs, err := s.List(ctxT(t), "/p/")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := keysOf(kvs), []string{"/p/b", "/p/c", "/p/d"}; !equalStrings(got, want) {
		t.Fatalf("committed List = %q, want %q", got, want)
	}
}

func testDeleteMissingIsNoop(t *testing.T, s store.Store) {
	err := s.Update(ctxT(t), func(tx store.Tx) error { return tx.Delete("/never") })
	if err != nil {
		t.Fatalf("delete of a missing key: %v", err)
	}
	mustMissing(t, s, "/never")
}

// LargeUpdateKeys is the number of keys one Update may write on every backend.
// etcd's default --max-txn-ops is 128 operations per Txn and etcdstore needs one
// for its own bookkeeping, so services must keep single Updates below this.
const LargeUpdateKeys = 100

func testLargeUpdate(t *testing.T, s store.Store) {
	err := s.Update(ctxT(t), func(tx store.Tx) error {
		for i := range LargeUpdateKeys {
			if _, err := tx.Get(fmt.Sprintf("/big/%03d", i)); !errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("get: %v", err)
			}
			if err := tx.Put(fmt.Sprintf("/big/%03d", i), []byte(strconv.Itoa(i))); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("update writing %d keys: %v", LargeUpdateKeys, err)
	}
	kvs, err := s.List(ctxT(t), "/big/")
	if err != nil || len(kvs) != LargeUpdateKeys {
		t.Fatalf("listed %d keys, %v; want %d", len(kvs), err, LargeUpdateKeys)
	}
	err = s.Update(ctxT(t), func(tx store.Tx) error {
		kvs, err := tx.List("/big/")
		if err != nil {
			return err
		}
		for _, kv := range kvs {
			if err := tx.Delete(kv.Key); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("update deleting %d keys: %v", LargeUpdateKeys, err)
	}
	if kvs, err := s.List(ctxT(t), "/big/"); err != nil || len(kvs) != 0 {
		t.Fatalf("after deleting all: %d keys, %v", len(kvs), err)
	}
}

// testConcurrentCounter is the lost-update check: every increment reads the
// counter and writes it back, so any non-serializable interleaving loses counts.
func testConcurrentCounter(t *testing.T, s store.Store) {
	const workers, increments = 16, 50
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range increments {
				err := s.Update(ctxT(t), func(tx store.Tx) error {
					n := 0
					v, err := tx.Get("/counter")
					switch {
					case errors.Is(err, store.ErrNotFound):
					case err != nil:
						return err
					default:
						if n, err = strconv.Atoi(string(v)); err != nil {
							return err
						}
					}
					return tx.Put("/counter", []byte(strconv.Itoa(n+1)))
				})
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("increment: %v", err)
	}
	if got := mustGet(t, s, "/counter"); got != strconv.Itoa(workers*increments) {
		t.Fatalf("counter = %s, want %d", got, workers*increments)
	}
}

// testConcurrentPrefixInsert checks serializability of List (phantoms): each
// worker inserts its key only while fewer than limit keys exist under the prefix,
// and concurrently deletes a scratch key it created, so both puts and deletes
// race with the listing.
func testConcurrentPrefixInsert(t *testing.T, s store.Store) {
	const workers, limit = 12, 5
	for i := range workers {
		put(t, s, fmt.Sprintf("/scratch/%02d", i), "x")
	}
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.Update(ctxT(t), func(tx store.Tx) error {
				kvs, err := tx.List("/slots/")
				if err != nil {
					return err
				}
				if len(kvs) >= limit {
					return nil
				}
				return tx.Put(fmt.Sprintf("/slots/%02d", i), []byte("taken"))
			})
			if err != nil {
				errs <- err
			}
		}()
		// Deletes elsewhere must not confuse the slot count.
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.Update(ctxT(t), func(tx store.Tx) error {
				return tx.Delete(fmt.Sprintf("/scratch/%02d", i))
			}); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("update: %v", err)
	}
	kvs, err := s.List(ctxT(t), "/slots/")
	if err != nil {
		t.Fatal(err)
	}
	if len(kvs) != limit {
		t.Fatalf("%d slots taken, want exactly %d: %q", len(kvs), limit, keysOf(kvs))
	}

	// Now a delete-based phantom: workers each free one slot only if all limit
	// slots are still present; exactly one of them may succeed.
	var freed sync.Map
	errs = make(chan error, workers)
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.Update(ctxT(t), func(tx store.Tx) error {
				freed.Delete(i)
				kvs, err := tx.List("/slots/")
				if err != nil {
					return err
				}
				if len(kvs) < limit {
					return nil
				}
				freed.Store(i, true)
				return tx.Delete(kvs[i%len(kvs)].Key)
			})
			if err != nil {
				freed.Delete(i)
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("update: %v", err)
	}
	kvs, err = s.List(ctxT(t), "/slots/")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	freed.Range(func(_, _ any) bool { n++; return true })
	if len(kvs) != limit-1 || n != 1 {
		t.Fatalf("after racing frees: %d slots left (want %d), %d winners (want 1)", len(kvs), limit-1, n)
	}
}

func revisionOf(t *testing.T, s store.Store, key string) int64 {
	t.Helper()
	kvs, err := s.List(ctxT(t), key)
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range kvs {
		if kv.Key == key {
			return kv.Revision
		}
	}
	t.Fatalf("%q not listed", key)
	return 0
}

func testRevision(t *testing.T, s store.Store) {
	put(t, s, "/r/a", "1")
	r1 := revisionOf(t, s, "/r/a")
	if r1 <= 0 {
		t.Fatalf("first revision = %d, want > 0", r1)
	}
	put(t, s, "/r/a", "1") // same value is still a modification
	r2 := revisionOf(t, s, "/r/a")
	put(t, s, "/r/b", "2")
	r3 := revisionOf(t, s, "/r/b")
	put(t, s, "/r/c", "3")
	del(t, s, "/r/c")
	put(t, s, "/r/a", "4")
	r4 := revisionOf(t, s, "/r/a")
	if !(r1 < r2 && r2 < r3 && r3 < r4) {
		t.Fatalf("revisions %d, %d, %d, %d are not strictly increasing", r1, r2, r3, r4)
	}
	if r := revisionOf(t, s, "/r/b"); r != r3 {
		t.Fatalf("/r/b revision moved from %d to %d without a write to it", r3, r)
	}
	// A failed or read-only update does not move anything.
	_ = s.Update(ctxT(t), func(tx store.Tx) error {
		_ = tx.Put("/r/a", []byte("no"))
		return errors.New("abort")
	})
	if err := s.Update(ctxT(t), func(tx store.Tx) error { _, err := tx.Get("/r/a"); return err }); err != nil {
		t.Fatal(err)
	}
	if r := revisionOf(t, s, "/r/a"); r != r4 {
		t.Fatalf("revision moved from %d to %d without a committed write", r4, r)
	}
}

func watch(t *testing.T, s store.Store, prefix string) (<-chan store.Event, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ch, err := s.Watch(ctx, prefix)
	if err != nil {
		t.Fatalf("Watch(%q): %v", prefix, err)
	}
	return ch, cancel
}

func nextEvent(t *testing.T, ch <-chan store.Event) store.Event {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if !ok {
			t.Fatal("watch channel closed early")
		}
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("timed out waiting for a watch event")
	}
	return store.Event{}
}

func expectQuiet(t *testing.T, ch <-chan store.Event) {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if ok {
			t.Fatalf("unexpected event %+v", ev)
		}
		t.Fatal("watch channel closed early")
	case <-time.After(200 * time.Millisecond):
	}
}

func testWatch(t *testing.T, s store.Store) {
	put(t, s, "/w/before", "old") // before the watch: must not be reported
	ch, _ := watch(t, s, "/w/")
	put(t, s, "/w/a", "1")
	put(t, s, "/wx", "outside")
	put(t, s, "/x/w/a", "outside")
	put(t, s, "/w/b", "2")
	del(t, s, "/w/a")
	del(t, s, "/wx")
	put(t, s, "/w/a", "3")

	want := []struct {
		typ   store.EventType
		key   string
		value string
	}{
		{store.EventPut, "/w/a", "1"},
		{store.EventPut, "/w/b", "2"},
		{store.EventDelete, "/w/a", ""},
		{store.EventPut, "/w/a", "3"},
	}
	var last int64
	for i, w := range want {
		ev := nextEvent(t, ch)
		if ev.Type != w.typ || ev.Key != w.key || string(ev.Value) != w.value {
			t.Fatalf("event %d = {%v %q %q}, want {%v %q %q}", i, ev.Type, ev.Key, ev.Value, w.typ, w.key, w.value)
		}
		if w.typ == store.EventDelete && ev.Value != nil {
			t.Fatalf("delete event carries value %q", ev.Value)
		}
		if ev.Revision <= last {
			t.Fatalf("event %d revision %d not after %d", i, ev.Revision, last)
		}
		last = ev.Revision
	}
	if r := revisionOf(t, s, "/w/a"); r != last {
		t.Fatalf("listed revision %d != last event revision %d", r, last)
	}
	expectQuiet(t, ch)
}

func testWatchMultiKeyUpdate(t *testing.T, s store.Store) {
	put(t, s, "/m/gone", "x")
	chAll, _ := watch(t, s, "/m/")
	chOne, _ := watch(t, s, "/m/b")
	err := s.Update(ctxT(t), func(tx store.Tx) error {
		if err := tx.Put("/m/a", []byte("a")); err != nil {
			return err
		}
		if err := tx.Put("/m/b", []byte("b")); err != nil {
			return err
		}
		return tx.Delete("/m/gone")
	})
	if err != nil {
		t.Fatal(err)
	}
	put(t, s, "/m/b", "b2")

	seen := map[string]store.Event{}
	var revs []int64
	for range 3 {
		ev := nextEvent(t, chAll)
		seen[ev.Key] = ev
		revs = append(revs, ev.Revision)
	}
	if seen["/m/a"].Type != store.EventPut || seen["/m/b"].Type != store.EventPut || seen["/m/gone"].Type != store.EventDelete {
		t.Fatalf("events from one update = %+v", seen)
	}
	for i := 1; i < len(revs); i++ {
		if revs[i] < revs[i-1] {
			t.Fatalf("revisions within one update go backwards: %v", revs)
		}
	}
	ev := nextEvent(t, chAll)
	if ev.Key != "/m/b" || string(ev.Value) != "b2" || ev.Revision <= revs[2] {
		t.Fatalf("event after the multi-key update = %+v (previous revisions %v)", ev, revs)
	}
	// The narrower watcher sees only its key.
	if ev := nextEvent(t, chOne); ev.Key != "/m/b" || string(ev.Value) != "b" {
		t.Fatalf("narrow watch first event = %+v", ev)
	}
	if ev := nextEvent(t, chOne); ev.Key != "/m/b" || string(ev.Value) != "b2" {
		t.Fatalf("narrow watch second event = %+v", ev)
	}
	expectQuiet(t, chOne)
}

func testWatchCancel(t *testing.T, s store.Store) {
	ch, cancel := watch(t, s, "/c/")
	put(t, s, "/c/1", "x")
	_ = nextEvent(t, ch)
	cancel()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				// Writes after cancellation must not panic the backend (send on closed channel).
				put(t, s, "/c/2", "y")
				return
			}
		case <-deadline:
			t.Fatal("watch channel not closed after ctx cancel")
		}
	}
}

func testWatchFailedUpdateIsSilent(t *testing.T, s store.Store) {
	ch, _ := watch(t, s, "/f/")
	_ = s.Update(ctxT(t), func(tx store.Tx) error {
		_ = tx.Put("/f/a", []byte("x"))
		return errors.New("abort")
	})
	if err := s.Update(ctxT(t), func(tx store.Tx) error { return tx.Delete("/f/missing") }); err != nil {
		t.Fatal(err)
	}
	expectQuiet(t, ch)
}

// testWatchAbandonedIsFreed: a watcher whose receiver stops reading while its
// context stays live (a consumer that went away without cancelling, or one stuck
// behind) is dropped once it is store.WatchBuffer events behind: its channel is
// closed and the backend keeps no goroutine or buffer for it. Other watchers, and
// writers, are not held up by it. Before, etcdstore's per-watch goroutine blocked
// on the full channel forever, holding its etcd watch stream, and every re-watch
// added another.
func testWatchAbandonedIsFreed(t *testing.T, s store.Store) {
	const abandoned = 8
	// Warm up: a backend may start shared goroutines on its first watch (etcd's
	// client starts a gRPC watch stream) that outlive it by design.
	warm, cancelWarm := watch(t, s, "/ab/")
	put(t, s, "/ab/warm", "x")
	_ = nextEvent(t, warm)
	cancelWarm()
	for range warm {
	}
	before := runtime.NumGoroutine()
	var chans []<-chan store.Event
	for range abandoned {
		ch, err := s.Watch(context.Background(), "/ab/") // never cancelled
		if err != nil {
			t.Fatal(err)
		}
		chans = append(chans, ch)
	}
	// Enough updates of LargeUpdateKeys keys to put every reader-less watcher
	// more than store.WatchBuffer events behind.
	const updates = store.WatchBuffer/LargeUpdateKeys + 2
	const written = updates * LargeUpdateKeys
	live, cancelLive := watch(t, s, "/ab/")
	var liveSeen int
	liveDone := make(chan struct{})
	go func() { // a watcher that keeps up keeps its watch
		defer close(liveDone)
		for range live {
			if liveSeen++; liveSeen == written {
				return
			}
		}
	}()
	for u := range updates {
		err := s.Update(ctxT(t), func(tx store.Tx) error {
			for i := range LargeUpdateKeys {
				if err := tx.Put(fmt.Sprintf("/ab/%03d", i), []byte(strconv.Itoa(u))); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("update %d: %v", u, err)
		}
	}
	select {
	case <-liveDone:
	case <-time.After(30 * time.Second):
		t.Fatalf("the reading watcher got %d events, want %d", liveSeen, written)
	}
	for i, ch := range chans {
		n := 0
		deadline := time.After(30 * time.Second)
	drain:
		for {
			select {
			case _, ok := <-ch:
				if !ok {
					break drain
				}
				if n++; n > written {
					t.Fatalf("abandoned watcher %d: more events than were written", i)
				}
			case <-deadline:
				t.Fatalf("abandoned watcher %d: channel still open after %d buffered events", i, n)
			}
		}
		if n > store.WatchBuffer {
			t.Fatalf("abandoned watcher %d held %d events, more than store.WatchBuffer (%d)", i, n, store.WatchBuffer)
		}
	}
	cancelLive()
	for range live {
	}
	// The dropped watchers' goroutines are gone (a little slack for the backend's
	// own, such as a client stream winding down).
	deadline := time.Now().Add(10 * time.Second)
	for {
		extra := runtime.NumGoroutine() - before
		if extra <= 2 {
			break
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines more than before %d abandoned watchers were dropped:\n%s", extra, abandoned, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(20 * time.Millisecond)
	}
}
