package store

import (
	"context"
	"strings"
	"sync"
)

// WatchBuffer is how many undelivered events an in-process watcher may hold before
// it is dropped (its channel closed), as the Watch contract allows; it must then
// re-list and re-watch.
const WatchBuffer = 4096

// Fanout hands committed changes to in-process watchers, for backends that see every
// commit themselves (boltstore, memstore). Publish never blocks on a slow watcher.
// The zero value is ready to use.
type Fanout struct {
	mu       sync.Mutex // guards the fields below
	watchers map[*fanoutWatcher]struct{}
	closed   bool
}

type fanoutWatcher struct {
	prefix string
	ch     chan Event
	// stop unregisters the context.AfterFunc that drops the watcher when its ctx
	// ends. Dropping for any other reason (overflow, Close) calls it, so a dropped
	// watcher holds nothing: no goroutine, and its buffer is garbage once the
	// receiver lets go of the channel.
	stop func() bool
}

// Watch registers a watcher of prefix until ctx is done; ok is false once Close
// has run.
func (f *Fanout) Watch(ctx context.Context, prefix string) (ch <-chan Event, ok bool) {
	w := &fanoutWatcher{prefix: prefix, ch: make(chan Event, WatchBuffer)}
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return nil, false
	}
	if f.watchers == nil {
		f.watchers = map[*fanoutWatcher]struct{}{}
	}
	f.watchers[w] = struct{}{}
	// AfterFunc starts no goroutine until ctx ends (a goroutine per watcher parked
	// on ctx.Done() outlived overflowed watchers until the server stopped, and
	// every re-watch added one). Setting stop under f.mu means dropLocked always
	// sees it.
	w.stop = context.AfterFunc(ctx, func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.dropLocked(w)
	})
	f.mu.Unlock()
	return w.ch, true
}

// Publish hands events, in order, to every watcher whose prefix they fall under;
// each watcher gets its own copy of the values. Callers publish one commit at a time,
// in revision order.
func (f *Fanout) Publish(events ...Event) {
	if len(events) == 0 {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for w := range f.watchers {
		for _, ev := range events {
			if !strings.HasPrefix(ev.Key, w.prefix) {
				continue
			}
			if ev.Type == EventPut {
				ev.Value = append([]byte{}, ev.Value...) // non-nil even when empty
			} else {
				ev.Value = nil
			}
			select {
			case w.ch <- ev:
				continue
			default:
				f.dropLocked(w)
			}
			break
		}
	}
}

// Close closes every watcher's channel; later Watch calls fail.
func (f *Fanout) Close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	for w := range f.watchers {
		f.dropLocked(w)
	}
}

// dropLocked closes w's channel once. f.mu must be held.
func (f *Fanout) dropLocked(w *fanoutWatcher) {
	if _, ok := f.watchers[w]; !ok {
		return
	}
	delete(f.watchers, w)
	close(w.ch)
	w.stop()
}
