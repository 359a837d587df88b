package boltstore

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/sluice-dev/sluice/internal/store"
	"github.com/sluice-dev/sluice/internal/store/storetest"
)

func openTemp(t *testing.T) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openTemp(t) })
}

// A watcher that never reads is dropped (channel closed) once its buffer is full,
// and writers never block on it.
func TestSlowWatcherIsClosed(t *testing.T) {
	s := openTemp(t)
	ch, err := s.Watch(t.Context(), "/")
	if err != nil {
		t.Fatal(err)
	}
	for i := range store.WatchBuffer + 10 {
		if err := s.Update(t.Context(), func(tx store.Tx) error {
			return tx.Put(fmt.Sprintf("/k/%d", i), []byte("v"))
		}); err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	for range ch {
		n++
	}
	if n != store.WatchBuffer {
		t.Fatalf("got %d buffered events before close, want %d", n, store.WatchBuffer)
	}
}

func TestClose(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	ch, err := s.Watch(t.Context(), "/")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, ok := <-ch; ok {
		t.Fatal("watch channel open after Close")
	}
	if _, err := s.Get(t.Context(), "/x"); !errors.Is(err, ErrClosed) {
		t.Fatalf("Get after Close = %v, want ErrClosed", err)
	}
	if err := s.Update(t.Context(), func(store.Tx) error { return nil }); !errors.Is(err, ErrClosed) {
		t.Fatalf("Update after Close = %v, want ErrClosed", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close = %v", err)
	}
}

func TestReopenKeepsDataAndRevision(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Update(t.Context(), func(tx store.Tx) error { return tx.Put("/a", []byte("1")) }); err != nil {
		t.Fatal(err)
	}
	kvs, _ := s.List(t.Context(), "/a")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Update(t.Context(), func(tx store.Tx) error { return tx.Put("/b", []byte("2")) }); err != nil {
		t.Fatal(err)
	}
	got, err := s.List(t.Context(), "/")
	if err != nil || len(got) != 2 || string(got[0].Value) != "1" || got[0].Revision != kvs[0].Revision || got[1].Revision <= got[0].Revision {
		t.Fatalf("after reopen: %+v, %v (first revision was %d)", got, err, kvs[0].Revision)
	}
}

func TestEmptyKeyRejected(t *testing.T) {
	s := openTemp(t)
	if err := s.Update(t.Context(), func(tx store.Tx) error { return tx.Put("", []byte("x")) }); err == nil {
		t.Fatal("Put with empty key succeeded")
	}
}

func TestTxUseAfterUpdate(t *testing.T) {
	s := openTemp(t)
	var leaked store.Tx
	if err := s.Update(t.Context(), func(tx store.Tx) error { leaked = tx; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := leaked.Get("/x"); err == nil {
		t.Fatal("Get on a finished tx succeeded")
	}
	if err := leaked.Put("/x", nil); err == nil {
		t.Fatal("Put on a finished tx succeeded")
	}
}

// BenchmarkUpdate measures one durable (fsynced) single-key Update.
func BenchmarkUpdate(b *testing.B) {
	s, err := Open(filepath.Join(b.TempDir(), "state.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	value := make([]byte, 512)
	i := 0
	for b.Loop() {
		i++
		if err := s.Update(b.Context(), func(tx store.Tx) error {
			return tx.Put(fmt.Sprintf("/bench/%d", i%1000), value)
		}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGet(b *testing.B) {
	s, err := Open(filepath.Join(b.TempDir(), "state.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if err := s.Update(b.Context(), func(tx store.Tx) error { return tx.Put("/k", make([]byte, 512)) }); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := s.Get(b.Context(), "/k"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUpdateParallel measures durable single-key Updates from 16 writers at
// once: group commit shares each fsync among the updates that queued meanwhile.
func BenchmarkUpdateParallel(b *testing.B) {
	s, err := Open(filepath.Join(b.TempDir(), "state.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	value := make([]byte, 512)
	var n atomic.Int64
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			if err := s.Update(b.Context(), func(tx store.Tx) error {
				return tx.Put(fmt.Sprintf("/bench/%d", i%1000), value)
			}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// Updates committed together stay independent: one that fails (or panics) after
// writing leaves nothing behind, the others commit with a revision each, in order,
// every fn runs exactly once, and each sees the writes of those committed before it.
func TestGroupCommitIsolation(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	events, err := s.Watch(ctx, "/g/")
	if err != nil {
		t.Fatal(err)
	}
	var runs atomic.Int64
	var wg sync.WaitGroup
	failErr := errors.New("refused")
	for i := range 64 {
		wg.Go(func() {
			err := s.Update(ctx, func(tx store.Tx) error {
				runs.Add(1)
				// A counter every update increments: lost or doubled updates show.
				n := 0
				if v, err := tx.Get("/g/count"); err == nil {
					n, _ = strconv.Atoi(string(v))
				}
				if err := tx.Put("/g/count", []byte(strconv.Itoa(n+1))); err != nil {
					return err
				}
				if err := tx.Put(fmt.Sprintf("/g/k%02d", i), []byte("v")); err != nil {
					return err
				}
				switch i % 8 {
				case 3:
					return failErr
				case 5:
					panic("boom")
				}
				return nil
			})
			switch i % 8 {
			case 3:
				if !errors.Is(err, failErr) {
					t.Errorf("update %d: %v, want its own error", i, err)
				}
			case 5:
				if err == nil || !strings.Contains(err.Error(), "panicked: boom") {
					t.Errorf("update %d: %v, want the panic as an error", i, err)
				}
			default:
				if err != nil {
					t.Errorf("update %d: %v", i, err)
				}
			}
		})
	}
	wg.Wait()
	if runs.Load() != 64 {
		t.Fatalf("%d fn runs for 64 updates", runs.Load())
	}
	kvs, err := s.List(ctx, "/g/k")
	if err != nil {
		t.Fatal(err)
	}
	if len(kvs) != 48 {
		t.Fatalf("%d keys, want the 48 of the successful updates", len(kvs))
	}
	for _, kv := range kvs {
		var i int
		fmt.Sscanf(kv.Key, "/g/k%d", &i)
		if i%8 == 3 || i%8 == 5 {
			t.Errorf("failed update %d left %s", i, kv.Key)
		}
	}
	if v, _ := s.Get(ctx, "/g/count"); string(v) != "48" {
		t.Fatalf("count %s, want 48", v)
	}
	// Two events per successful update, revisions strictly increasing by update.
	var last int64
	for range 96 {
		ev := <-events
		if ev.Revision < last {
			t.Fatalf("revision %d after %d", ev.Revision, last)
		}
		last = ev.Revision
	}
	if last != 48 {
		t.Fatalf("last revision %d, want 48", last)
	}
}
