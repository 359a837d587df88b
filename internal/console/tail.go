package console

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/sluice-dev/sluice/internal/fnlogs"
)

// Live tail timing: how long entries may wait in the buffer before a flush, how
// often an idle stream sends a comment (so proxies and the browser keep it
// open), and how often a log group with no entries yet is looked for again.
const (
	tailFlushEvery   = 200 * time.Millisecond
	tailHeartbeat    = 15 * time.Second
	tailRetryMissing = 2 * time.Second
	// tailBacklog is how far back a new tail starts.
	tailBacklog = fnlogs.DefaultSince
)

// tailEvent is the data of one "log" event.
type tailEvent struct {
	Time    string `json:"time"`
	Stream  string `json:"stream"`
	Message string `json:"message"`
}

// serveTail streams a function's log as server-sent events: one "log" event per
// entry, with the entry's cursor as its id, so a browser that reconnects (it
// sends the last id as Last-Event-ID) resumes after the last entry it got
// instead of repeating the backlog.
func (c *Console) serveTail(w http.ResponseWriter, r *http.Request) {
	f, ok := c.opts.Functions.Function(r.PathValue("name"))
	if !ok {
		c.renderError(w, http.StatusNotFound, "Function not found: "+r.PathValue("name")+".")
		return
	}
	var after fnlogs.Cursor
	resume := false
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		after, resume = fnlogs.ParseCursor(id)
	}
	since := time.Now().Add(-tailBacklog)
	if resume {
		// The cursor orders entries; since only skips whole older days.
		since = time.Time{}
	}

	rc := http.NewResponseController(w)
	// A tail outlives any server write timeout.
	_ = rc.SetWriteDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	w.WriteHeader(http.StatusOK)

	s := &sseWriter{w: bufio.NewWriterSize(w, 16<<10), flush: rc.Flush}
	// Tell the browser how long to wait before reconnecting, and show the
	// stream is open at once.
	s.comment("retry: 2000", true)
	ctx, cancel := context.WithCancel(r.Context())
	var wg sync.WaitGroup
	wg.Go(func() { s.pump(ctx, c.opts.Draining, cancel) })
	defer wg.Wait()
	defer cancel()

	key := logKey(f)
	for {
		err := c.opts.Logs.Read(ctx, key, since, true, func(e fnlogs.Entry) error {
			if resume && !after.Less(e.Cursor) {
				return nil
			}
			return s.event(e)
		})
		if !errors.Is(err, fnlogs.ErrNotFound) {
			// nil: the log store closed (the server is stopping); else the
			// client went away or the write failed. Either way the stream ends.
			return
		}
		// A custom log group that has no entries yet: look again shortly.
		select {
		case <-ctx.Done():
			return
		case <-time.After(tailRetryMissing):
		}
	}
}

// sseWriter frames server-sent events onto a buffered response. The reader
// goroutine writes events; pump flushes them and sends heartbeats. mu guards w
// and dirty.
type sseWriter struct {
	mu    sync.Mutex
	w     *bufio.Writer
	dirty bool
	err   error
	flush func() error
}

// event writes one log entry. Its data is JSON on one line, so a message's own
// newlines cannot end the event early or forge fields.
func (s *sseWriter) event(e fnlogs.Entry) error {
	data, err := json.Marshal(tailEvent{Time: e.Time.UTC().Format(time.RFC3339Nano), Stream: e.Stream, Message: e.Message})
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	_, _ = s.w.WriteString("id: " + e.Cursor.String() + "\nevent: log\ndata: ")
	_, _ = s.w.Write(data)
	_, s.err = s.w.WriteString("\n\n")
	s.dirty = true
	return s.err
}

// comment writes a raw field line (a "retry:" or a ": comment") and, with now,
// flushes it.
func (s *sseWriter) comment(line string, now bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return
	}
	_, s.err = s.w.WriteString(line + "\n\n")
	s.dirty = true
	if now {
		s.flushLocked()
	}
}

func (s *sseWriter) flushLocked() {
	if !s.dirty || s.err != nil {
		return
	}
	s.dirty = false
	if s.err = s.w.Flush(); s.err == nil {
		s.err = s.flush()
	}
}

// pump flushes buffered events every tailFlushEvery and sends a heartbeat after
// tailHeartbeat of silence, until ctx is done; it ends the stream (stop) once
// draining says the node is shutting down.
func (s *sseWriter) pump(ctx context.Context, draining func() bool, stop context.CancelFunc) {
	flush := time.NewTicker(tailFlushEvery)
	defer flush.Stop()
	quiet := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-flush.C:
			if draining != nil && draining() {
				stop()
				return
			}
			s.mu.Lock()
			if s.dirty {
				quiet = now
			} else if s.err == nil && now.Sub(quiet) >= tailHeartbeat {
				_, s.err = s.w.WriteString(": keep-alive\n\n")
				s.dirty, quiet = s.err == nil, now
			}
			s.flushLocked()
			s.mu.Unlock()
		}
	}
}
