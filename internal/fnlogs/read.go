package fnlogs

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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
		// Register for the next append before flushing, so an append that lands
		// after the flush is sure to wake us.
		var wake chan struct{}
		fl.mu.Lock()
		if follow && !fl.closed {
			if fl.notify == nil {
				fl.notify = make(chan struct{})
			}
			wake = fl.notify
		}
		fl.mu.Unlock()
		_ = s.flush(fl) // a failure is logged by flush; what is on disk is still read
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
			// Deliver the rest, then stop.
			_ = s.flush(fl)
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
		start := r.off
		line, err := readLine(br)
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
		e := Entry{Time: time.Unix(0, sl.T), Stream: sl.S, Message: sl.M,
			Cursor: Cursor{seg: r.seg, off: start}, Next: Cursor{seg: r.seg, off: r.off}}
		if !r.since.IsZero() && e.Time.Before(r.since) {
			continue
		}
		if err := r.fn(e); err != nil {
			return err
		}
	}
}

// readLine returns the next complete line (with its newline); a trailing
// partial line is io.EOF.
func readLine(br *bufio.Reader) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		// A line longer than the buffer: gather it whole.
		rest, err2 := br.ReadBytes('\n')
		line, err = append(append([]byte(nil), line...), rest...), err2
	}
	return line, err
}

// Cursor is the position of an entry in a log: its segment and byte offset.
// Cursors order entries as they were appended; the zero Cursor is before the
// first entry. Its String form is 26 digits, usable as a token or event id.
type Cursor struct {
	seg segment
	off int64
}

// IsZero reports whether c is the start of the log.
func (c Cursor) IsZero() bool { return c == Cursor{} }

// Less orders cursors.
func (c Cursor) Less(o Cursor) bool {
	if c.seg != o.seg {
		return c.seg.less(o.seg)
	}
	return c.off < o.off
}

func (c Cursor) String() string {
	if c.IsZero() {
		return strings.Repeat("0", 26)
	}
	return fmt.Sprintf("%08d%04d%014d", c.seg.dayKey(), c.seg.seq, c.off)
}

// ParseCursor reads a Cursor's String form.
func ParseCursor(s string) (Cursor, bool) {
	if len(s) != 26 || strings.Trim(s, "0123456789") != "" {
		return Cursor{}, false
	}
	if s == strings.Repeat("0", 26) {
		return Cursor{}, true
	}
	day, err := time.Parse("20060102", s[:8])
	if err != nil {
		return Cursor{}, false
	}
	seq, _ := strconv.Atoi(s[8:12])
	off, _ := strconv.ParseInt(s[12:], 10, 64)
	return Cursor{seg: segment{day: day.Format(dayLayout), seq: seq}, off: off}, true
}

// Scan calls fn for every stored entry of the log from cursor from
// (inclusive) on, in append order, skipping whole segments of days before
// since. It flushes first, so it sees every line appended before it was
// called. ErrNotFound when the log does not exist. An error from fn stops the
// scan and is returned; ErrStop stops it with a nil result.
func (s *Store) Scan(name string, from Cursor, since time.Time, fn func(Entry) error) error {
	if !s.exists(name) {
		return ErrNotFound
	}
	fl := s.fn(name)
	if fl == nil {
		return ErrNotFound
	}
	_ = s.flush(fl) // a failure is logged by flush
	r := reader{dir: fl.dir, fn: fn}
	if !from.IsZero() {
		r.started, r.seg, r.off = true, from.seg, from.off
	}
	if !since.IsZero() {
		r.minDay = since.UTC().Format(dayLayout)
	}
	if err := r.catchUp(); err != nil && !errors.Is(err, ErrStop) {
		return err
	}
	return nil
}

// ErrStop, returned by a Scan callback, ends the scan without an error.
var ErrStop = errors.New("fnlogs: stop")
