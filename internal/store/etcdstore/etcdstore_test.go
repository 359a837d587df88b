package etcdstore

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/internal/store"
	"github.com/sluice-dev/sluice/internal/store/etcdstore/etcdtest"
	"github.com/sluice-dev/sluice/internal/store/storetest"
)

var prefixSeq atomic.Int64

// openOn returns a store on endpoint in a namespace of its own.
func openOn(t *testing.T, endpoint string) *Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := Open(ctx, Config{
		Endpoints:   []string{endpoint},
		Prefix:      fmt.Sprintf("/test-%d-%d", time.Now().UnixNano(), prefixSeq.Add(1)),
		DialTimeout: 5 * time.Second,
	})
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
	endpoint := etcdtest.Start(t)
	storetest.Run(t, func(t *testing.T) store.Store { return openOn(t, endpoint) })
}

func TestEtcdSpecific(t *testing.T) {
	endpoint := etcdtest.Start(t)

	t.Run("ConflictRerunsFn", func(t *testing.T) {
		s := openOn(t, endpoint)
		ctx := t.Context()
		if err := s.Update(ctx, func(tx store.Tx) error { return tx.Put("/n", []byte("1")) }); err != nil {
			t.Fatal(err)
		}
		var attempts []string
		err := s.Update(ctx, func(tx store.Tx) error {
			v, err := tx.Get("/n")
			if err != nil {
				return err
			}
			attempts = append(attempts, string(v))
			if len(attempts) == 1 {
				// A competing writer commits between our read and our commit.
				if _, err := s.cli.Put(ctx, s.etcdKey("/n"), "2"); err != nil {
					return err
				}
			}
			return tx.Put("/n", append(v, '+'))
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(attempts) != 2 || attempts[0] != "1" || attempts[1] != "2" {
			t.Fatalf("fn saw %q across attempts, want [1 2]", attempts)
		}
		if v, _ := s.Get(ctx, "/n"); string(v) != "2+" {
			t.Fatalf("final value %q, want 2+", v)
		}
	})

	t.Run("SnapshotIsPinned", func(t *testing.T) {
		s := openOn(t, endpoint)
		ctx := t.Context()
		if err := s.Update(ctx, func(tx store.Tx) error { return tx.Put("/a", []byte("old")) }); err != nil {
			t.Fatal(err)
		}
		err := s.Update(ctx, func(tx store.Tx) error {
			if _, err := tx.Get("/other"); err != store.ErrNotFound {
				return fmt.Errorf("get /other: %v", err)
			}
			if _, err := s.cli.Put(ctx, s.etcdKey("/a"), "new"); err != nil {
				return err
			}
			v, err := tx.Get("/a")
			if err != nil {
				return err
			}
			if string(v) != "old" {
				return fmt.Errorf("read after the snapshot revision = %q, want old", v)
			}
			return nil // read-only: commits without validation
		})
		if err != nil {
			t.Fatal(err)
		}
	})

	t.Run("Namespaced", func(t *testing.T) {
		a, b := openOn(t, endpoint), openOn(t, endpoint)
		ctx := t.Context()
		if err := a.Update(ctx, func(tx store.Tx) error { return tx.Put("/x", []byte("a")) }); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Get(ctx, "/x"); err != store.ErrNotFound {
			t.Fatalf("other namespace sees /x: %v", err)
		}
		if kvs, err := b.List(ctx, ""); err != nil || len(kvs) != 0 {
			t.Fatalf("other namespace lists %v, %v", kvs, err)
		}
		resp, err := a.cli.Get(ctx, a.kvPrefix+"/x")
		if err != nil || len(resp.Kvs) != 1 || string(resp.Kvs[0].Value) != "a" {
			t.Fatalf("raw etcd key %s: %v, %v", a.kvPrefix+"/x", resp, err)
		}
		// The deletes marker is outside the watched/listed key space.
		ch, err := a.Watch(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Update(ctx, func(tx store.Tx) error { return tx.Delete("/x") }); err != nil {
			t.Fatal(err)
		}
		select {
		case ev := <-ch:
			if ev.Type != store.EventDelete || ev.Key != "/x" {
				t.Fatalf("event %+v, want delete of /x", ev)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no delete event")
		}
		select {
		case ev := <-ch:
			t.Fatalf("unexpected event %+v (meta key leaked into the watch?)", ev)
		case <-time.After(200 * time.Millisecond):
		}
		if kvs, err := a.List(ctx, ""); err != nil || len(kvs) != 0 {
			t.Fatalf("List after delete = %v, %v", kvs, err)
		}
	})

	t.Run("WatchClosesWithClient", func(t *testing.T) {
		s := openOn(t, endpoint)
		ch, err := s.Watch(t.Context(), "/")
		if err != nil {
			t.Fatal(err)
		}
		_ = s.Close()
		select {
		case _, ok := <-ch:
			if ok {
				t.Fatal("event after Close")
			}
		case <-time.After(10 * time.Second):
			t.Fatal("watch channel still open after Close")
		}
	})
}

func TestOpenUnreachable(t *testing.T) {
	start := time.Now()
	_, err := Open(t.Context(), Config{Endpoints: []string{"http://127.0.0.1:1"}, DialTimeout: 500 * time.Millisecond})
	if err == nil {
		t.Fatal("Open of an unreachable endpoint succeeded")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Open took %v despite a 500ms DialTimeout", d)
	}
	if _, err := Open(t.Context(), Config{}); err == nil {
		t.Fatal("Open without endpoints succeeded")
	}
}
