package memstore

import (
	"context"
	"errors"
	"testing"

	"github.com/sluice-dev/sluice/internal/store"
	"github.com/sluice-dev/sluice/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s := New()
		t.Cleanup(func() { _ = s.Close() })
		return s
	})
}

// A watcher that does not drain its channel is dropped, never blocking writers.
func TestSlowWatcherIsDropped(t *testing.T) {
	s := New()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := s.Watch(ctx, "/")
	if err != nil {
		t.Fatal(err)
	}
	for range store.WatchBuffer + 1 {
		if err := s.Update(ctx, func(tx store.Tx) error { return tx.Put("/k", []byte("v")) }); err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	for range ch {
		n++
	}
	if n != store.WatchBuffer {
		t.Fatalf("received %d events before the close, want %d", n, store.WatchBuffer)
	}
}

func TestClose(t *testing.T) {
	s := New()
	ch, err := s.Watch(context.Background(), "/")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, ok := <-ch; ok {
		t.Fatal("watch channel still open after Close")
	}
	ctx := context.Background()
	if _, err := s.Get(ctx, "/k"); !errors.Is(err, ErrClosed) {
		t.Errorf("Get after Close: %v, want ErrClosed", err)
	}
	if _, err := s.List(ctx, "/"); !errors.Is(err, ErrClosed) {
		t.Errorf("List after Close: %v, want ErrClosed", err)
	}
	if err := s.Update(ctx, func(store.Tx) error { return nil }); !errors.Is(err, ErrClosed) {
		t.Errorf("Update after Close: %v, want ErrClosed", err)
	}
	if _, err := s.Watch(ctx, "/"); !errors.Is(err, ErrClosed) {
		t.Errorf("Watch after Close: %v, want ErrClosed", err)
	}
}
