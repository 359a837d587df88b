package fnlogs

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"time"
)

// Read calls fn for every stored entry of function stamped at or after since
// (all of them when since is zero), oldest segment first and in append order
// within a segment. With follow, it then waits for new entries and calls fn
// for each until ctx is done (returning ctx.Err()) or the store closes
// (returning nil). An error from fn stops the read and is returned.
//
// A function with no logs yields ErrNotFound, unless Options.Exists says it
// exists.
func (s *Store) Read(ctx context.Context, function string, since time.Time, follow bool, fn func(Entry) error) error {
	return s.read(ctx, function, since, follow, fn, nil)
}

// read is Read with onIdle, called each time the reader has caught up and is
// about to wait (the HTTP handler flushes its response then).
func (s *Store) read(ctx context.Context, function string, since time.Time, follow bool, fn func(Entry) error, onIdle func()) error {
	// Look before creating: a reader of a name with no logs must not leave an
	// entry behind, or every GET of a made-up name would grow s.fns for good.
	s.mu.RLock()
	_, known := s.fns[function]
	s.mu.RUnlock()
	if !known {
		if _, err := os.Stat(filepath.Join(s.dir, dirName(function))); err != nil && (s.opts.Exists == nil || !s.opts.Exists(function)) {
			return ErrNotFound
		}
	}
	fl := s.fn(function)
	if fl == nil {
		return nil // closed
	}
	r := reader{dir: fl.dir, since: since, fn: fn}
	if !since.IsZero() {
		r.minDay = since.UTC().Format(dayLayout)
	}
	for {
		// Flush first so every line appended before this point is in a file;
		// take the notification channel under the same lock so an append
		// that lands after the flush is sure to wake us.
		fl.mu.Lock()
		ferr := fl.flushLocked()
		if ferr != nil {
			fl.dropFileLocked() // the next append reopens the segment
		}
		var wake chan struct{}
		if follow && !fl.closed {
			if fl.notify == nil {
				fl.notify = make(chan struct{})
			}
			wake = fl.notify
		}
		fl.mu.Unlock()
		if ferr != nil {
			s.opts.Logger.Warn("function log flush failed", "function", function, "err", ferr)
		}
		if err := r.catchUp(); err != nil {
			return err
		}
		if !follow {
			return nil
		}
		if onIdle != nil {
			onIdle()
		}
		if wake == nil {
			return nil
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return ctx.Err()
		case <-s.done:
			// Close flushed everything; deliver the rest, then stop.
			return r.catchUp()
		}
	}
}

// reader tracks how far one Read has got: the segment it is in and the offset
// of the first byte it has not consumed (always a line start).
type reader struct {
	dir    string
	since  time.Time
	minDay string // segments of earlier days hold only older entries
	fn     func(Entry) error

	started bool
	seg     segment
	off     int64
}

// catchUp delivers every complete line written since the last call.
func (r *reader) catchUp() error {
	segs, err := listSegments(r.dir)
	if err != nil {
		return err
	}
	for _, seg := range segs {
		if r.started && seg.less(r.seg) {
			continue
		}
		if !r.started && seg.day < r.minDay {
			continue
		}
		if !r.started || seg != r.seg {
			r.started, r.seg, r.off = true, seg, 0
		}
		if err := r.readSegment(); err != nil {
			return err
		}
	}
	return nil
}

type storedLine struct {
	T int64  `json:"t"`
	S string `json:"s"`
	M string `json:"m"`
}

func (r *reader) readSegment() error {
	f, err := os.Open(filepath.Join(r.dir, r.seg.name()))
	if errors.Is(err, os.ErrNotExist) {
		return nil // removed by retention meanwhile
	}
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.Seek(r.off, io.SeekStart); err != nil {
		return err
	}
	br := bufio.NewReaderSize(f, 64<<10)
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// A line longer than the buffer: gather it whole.
			rest, err2 := br.ReadBytes('\n')
			line, err = append(append([]byte(nil), line...), rest...), err2
		}
		if err != nil {
			// EOF: a trailing partial line is left for the next catch-up.
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		r.off += int64(len(line))
		var sl storedLine
		if json.Unmarshal(line, &sl) != nil {
			continue // a torn line from a crash; skip it
		}
		e := Entry{Time: time.Unix(0, sl.T), Stream: sl.S, Message: sl.M}
		if !r.since.IsZero() && e.Time.Before(r.since) {
			continue
		}
		if err := r.fn(e); err != nil {
			return err
		}
	}
}
