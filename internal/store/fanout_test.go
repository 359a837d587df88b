package store

import (
	"context"
	"runtime"
	"testing"
	"weak"
)

// overflow publishes one more event than a watcher may buffer.
func overflow(f *Fanout, prefix string) {
	evs := make([]Event, WatchBuffer+1)
	for i := range evs {
		evs[i] = Event{Type: EventPut, Key: prefix + "k", Value: []byte("v")}
	}
	f.Publish(evs...)
}

// A watcher dropped for overflowing holds nothing afterwards: no goroutine and no
// reference to its buffer, although its context lives on (the lambda service's
// and the gateway's watch contexts live as long as the server). Before, each
// overflow, and so each re-watch, left a goroutine and a 4096-event buffer behind
// until the server stopped.
func TestFanoutOverflowFreesWatcher(t *testing.T) {
	var f Fanout
	ctx := context.Background() // never done, like a server-lifetime watch
	before := runtime.NumGoroutine()
	var refs []weak.Pointer[fanoutWatcher]
	const rewatches = 200
	for i := 0; i < rewatches; i++ {
		ch, ok := f.Watch(ctx, "/a/")
		if !ok {
			t.Fatal("watch refused")
		}
		f.mu.Lock()
		for w := range f.watchers {
			refs = append(refs, weak.Make(w))
		}
		f.mu.Unlock()
		overflow(&f, "/a/")
		n := 0
		for range ch { // the buffered events, then the close
			n++
		}
		if n != WatchBuffer {
			t.Fatalf("rewatch %d: got %d events before close, want %d", i, n, WatchBuffer)
		}
		if c := f.watcherCount(); c != 0 {
			t.Fatalf("rewatch %d: %d watchers still registered after overflow", i, c)
		}
	}
	if extra := runtime.NumGoroutine() - before; extra > rewatches/2 {
		t.Fatalf("%d goroutines left behind by %d overflowed watchers", extra, rewatches)
	}
	runtime.GC()
	live := 0
	for _, r := range refs {
		if r.Value() != nil {
			live++
		}
	}
	if live > 0 {
		t.Fatalf("%d of %d overflowed watchers (and their buffers) still reachable", live, len(refs))
	}
}

// Cancelling a watcher's context still drops it, and Close drops the rest.
func TestFanoutCancelAndClose(t *testing.T) {
	var f Fanout
	ctx, cancel := context.WithCancel(context.Background())
	ch1, _ := f.Watch(ctx, "/a/")
	ch2, _ := f.Watch(context.Background(), "/a/")
	cancel()
	for range ch1 {
	}
	f.Publish(Event{Type: EventPut, Key: "/a/x", Value: []byte("1")})
	if ev := <-ch2; ev.Key != "/a/x" {
		t.Fatalf("got %+v", ev)
	}
	f.Close()
	if _, open := <-ch2; open {
		t.Fatal("channel open after Close")
	}
	if _, ok := f.Watch(context.Background(), "/a/"); ok {
		t.Fatal("Watch after Close succeeded")
	}
	if c := f.watcherCount(); c != 0 {
		t.Fatalf("%d watchers after Close", c)
	}
}

// watcherCount is how many watchers are registered.
func (f *Fanout) watcherCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.watchers)
}
