// Package fnlogs owns function log storage: every line a function instance
// prints (and the pool's START/END/REPORT lines) is appended to per-function,
// append-only segment files on local disk, kept for a bounded time and size,
// and can be read back or followed live — over HTTP for `sluice logs`. It plays
// the part CloudWatch Logs plays for Lambda, for one node.
//
// Layout: <dir>/<function>/<yyyy-mm-dd>-<seq>.log, one JSON object per line:
// {"t":<unix nanoseconds>,"s":"<stream>","m":"<message>"}. Segment names sort
// chronologically. A segment for day D only holds entries stamped on or before
// D (UTC), which lets readers skip whole segments older than `since`.
//
// Append is on the invocation hot path: it encodes into a per-function buffer and
// returns; a background flusher writes buffers out every FlushInterval, and
// readers flush the function they read first, so a reader always sees every
// line appended before it looked.
package fnlogs

import (
	"bufio"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sluice-dev/sluice/internal/awsproto"
)

// ErrNotFound: the function has no logs (and is not known to exist).
var ErrNotFound = errors.New("fnlogs: no logs for function")

// Entry is one stored log line.
type Entry struct {
	Time    time.Time
	Stream  string // the log stream, e.g. "2026/11/23/[$LATEST]<instance id>"
	Message string
}

// Options tune a Store; zero values take the defaults.
type Options struct {
	// Retention is how long segments are kept after their last write. Default
	// 7 days.
	Retention time.Duration
	// MaxBytes caps the disk used per function; the oldest segments go first.
	// Default 64 MiB.
	MaxBytes int64
	// SegmentBytes is the size at which a segment is closed and a new one
	// started, which bounds how much a size-triggered prune drops at once.
	// Default MaxBytes/8.
	SegmentBytes int64
	// FlushInterval bounds how long an appended line may sit in memory before
	// it is written to its file. Default 100ms.
	FlushInterval time.Duration
	// Exists, when set, tells Read that a function with no logs yet exists, so
	// reading it yields nothing (or waits, when following) instead of
	// ErrNotFound.
	Exists func(function string) bool
	// Logger receives write failures. Default slog.Default().
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.Retention <= 0 {
		o.Retention = 7 * 24 * time.Hour
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = 64 << 20
	}
	if o.SegmentBytes <= 0 {
		o.SegmentBytes = o.MaxBytes / 8
	}
	if o.SegmentBytes > o.MaxBytes {
		o.SegmentBytes = o.MaxBytes
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = 100 * time.Millisecond
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

const (
	// idleClose: a function's segment file is closed after this long without
	// appends, so thousands of quiet functions do not hold thousands of fds.
	idleClose = time.Minute
	// pruneEvery: how often retention runs over every function directory.
	pruneEvery = time.Minute
	bufferSize = 16 << 10
	segmentExt = ".log"
	dayLayout  = "2006-01-02"
)

// Store is the log store of one node. It is safe for concurrent use.
type Store struct {
	dir  string
	opts Options

	mu     sync.RWMutex // guards fns and closed
	fns    map[string]*fnLog
	closed bool

	done chan struct{} // closed by Close: stops the flusher and followers
	wg   sync.WaitGroup
}

// fnLog is the write side of one function's logs.
type fnLog struct {
	name string
	dir  string

	mu        sync.Mutex // guards the fields below
	f         *os.File
	w         *bufio.Writer
	seg       segment // the segment f is open on
	segDayKey int     // seg.day as yyyymmdd
	size      int64   // bytes in seg, buffered ones included
	dirty     bool    // w holds unflushed bytes
	lastWrite time.Time
	scratch   []byte
	notify    chan struct{} // closed on the next append; nil when nobody waits
	lastErr   string        // last write error logged, to log each failure once
	closed    bool          // the store is closed; appends are dropped
}

// Open opens (creating if needed) the store rooted at dir with default options.
func Open(dir string) (*Store, error) { return OpenWith(dir, Options{}) }

// OpenWith opens the store rooted at dir.
func OpenWith(dir string, opts Options) (*Store, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("open function logs: %w", err)
	}
	s := &Store{dir: dir, opts: opts.withDefaults(), fns: map[string]*fnLog{}, done: make(chan struct{})}
	// Retention runs once before the store is used (for functions that have not
	// logged since the last run), so it never races the first appends.
	s.pruneAll()
	s.wg.Add(1)
	go s.background()
	return s, nil
}

// Close flushes and closes every file and stops followers (their Read returns
// nil). Appends after Close are dropped.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	fns := make([]*fnLog, 0, len(s.fns))
	for _, fl := range s.fns {
		fns = append(fns, fl)
	}
	s.mu.Unlock()
	close(s.done)
	s.wg.Wait()
	var errs []error
	for _, fl := range fns {
		fl.mu.Lock()
		fl.closed = true
		errs = append(errs, fl.closeFileLocked())
		fl.mu.Unlock()
	}
	return errors.Join(errs...)
}

// Append stores one line of function's logs. It never blocks on disk I/O in the
// common case (the line goes to an in-memory buffer); a write failure is
// logged, not returned, because the invocation must not fail for it.
func (s *Store) Append(function, stream string, t time.Time, line string) {
	fl := s.fn(function)
	if fl == nil {
		return
	}
	fl.mu.Lock()
	defer fl.mu.Unlock()
	if fl.closed {
		return
	}
	if err := fl.appendLocked(s.opts, stream, t, line); err != nil {
		if msg := err.Error(); msg != fl.lastErr {
			fl.lastErr = msg
			s.opts.Logger.Warn("function log write failed", "function", function, "err", err)
		}
		return
	}
	fl.lastErr = ""
	if fl.notify != nil {
		close(fl.notify)
		fl.notify = nil
	}
}

// fn returns the fnLog of function, creating it; nil once the store is closed.
func (s *Store) fn(function string) *fnLog {
	s.mu.RLock()
	fl, ok := s.fns[function]
	closed := s.closed
	s.mu.RUnlock()
	if closed {
		return nil
	}
	if ok {
		return fl
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	fl, ok = s.fns[function]
	if !ok {
		fl = &fnLog{name: function, dir: filepath.Join(s.dir, dirName(function))}
		s.fns[function] = fl
	}
	return fl
}

func (fl *fnLog) appendLocked(opts Options, stream string, t time.Time, line string) error {
	ut := t.UTC()
	y, m, d := ut.Date()
	dayKey := y*10000 + int(m)*100 + d // compared, not formatted, on the hot path
	if fl.w == nil {
		if err := fl.openLocked(ut.Format(dayLayout)); err != nil {
			return err
		}
	}
	// Segments only move forward: a line stamped on an earlier day than the
	// open segment (clock skew, late lines) goes into the open segment.
	switch {
	case dayKey > fl.segDayKey:
		if err := fl.rotateLocked(segment{day: ut.Format(dayLayout)}); err != nil {
			return err
		}
	case fl.size >= opts.SegmentBytes:
		if err := fl.rotateLocked(segment{day: fl.seg.day, seq: fl.seg.seq + 1}); err != nil {
			return err
		}
	}
	b := fl.scratch[:0]
	b = append(b, `{"t":`...)
	b = strconv.AppendInt(b, t.UnixNano(), 10)
	b = append(b, `,"s":`...)
	b = awsproto.AppendJSONString(b, stream)
	b = append(b, `,"m":`...)
	b = awsproto.AppendJSONString(b, line)
	b = append(b, "}\n"...)
	fl.scratch = b
	n, err := fl.w.Write(b)
	fl.size += int64(n)
	fl.dirty = true
	fl.lastWrite = time.Now()
	if err != nil {
		fl.dropFileLocked()
	}
	return err
}

// dropFileLocked closes the segment after a write error. A bufio.Writer keeps
// its first error and fails every later write, so without this one transient
// failure (a full disk) would lose the function's logs until the file is closed
// for idleness, which never happens while the function keeps logging. The next
// append reopens the segment.
func (fl *fnLog) dropFileLocked() {
	if fl.f != nil {
		_ = fl.f.Close()
	}
	fl.f, fl.w, fl.dirty = nil, nil, false
}

// openLocked opens the newest segment of the function for appending, or a new
// one for day if the newest is older.
func (fl *fnLog) openLocked(day string) error {
	if err := os.MkdirAll(fl.dir, 0o755); err != nil {
		return err
	}
	segs, err := listSegments(fl.dir)
	if err != nil {
		return err
	}
	seg := segment{day: day}
	if len(segs) > 0 && segs[len(segs)-1].day >= day {
		seg = segs[len(segs)-1]
	}
	return fl.openSegmentLocked(seg)
}

func (fl *fnLog) openSegmentLocked(seg segment) error {
	f, err := os.OpenFile(filepath.Join(fl.dir, seg.name()), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	fl.f, fl.seg, fl.size = f, seg, st.Size()
	fl.segDayKey = seg.dayKey()
	if fl.w == nil {
		fl.w = bufio.NewWriterSize(f, bufferSize)
	} else {
		fl.w.Reset(f)
	}
	return nil
}

func (fl *fnLog) rotateLocked(next segment) error {
	if err := fl.closeFileLocked(); err != nil {
		return err
	}
	if err := os.MkdirAll(fl.dir, 0o755); err != nil {
		return err
	}
	return fl.openSegmentLocked(next)
}

// flushLocked writes buffered lines to the segment file.
func (fl *fnLog) flushLocked() error {
	if !fl.dirty || fl.w == nil {
		return nil
	}
	fl.dirty = false
	return fl.w.Flush()
}

func (fl *fnLog) closeFileLocked() error {
	if fl.f == nil {
		return nil
	}
	err := fl.flushLocked()
	if cerr := fl.f.Close(); err == nil {
		err = cerr
	}
	fl.f = nil
	fl.w = nil
	return err
}

// background flushes buffers every FlushInterval, closes idle files, and runs
// retention every pruneEvery.
func (s *Store) background() {
	defer s.wg.Done()
	flush := time.NewTicker(s.opts.FlushInterval)
	defer flush.Stop()
	lastPrune := time.Now()
	for {
		select {
		case <-s.done:
			return
		case now := <-flush.C:
			s.flushAll(now)
			if now.Sub(lastPrune) >= pruneEvery {
				s.pruneAll()
				lastPrune = now
			}
		}
	}
}

func (s *Store) snapshot() []*fnLog {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*fnLog, 0, len(s.fns))
	for _, fl := range s.fns {
		out = append(out, fl)
	}
	return out
}

func (s *Store) flushAll(now time.Time) {
	for _, fl := range s.snapshot() {
		fl.mu.Lock()
		if err := fl.flushLocked(); err != nil {
			s.opts.Logger.Warn("function log flush failed", "function", fl.name, "err", err)
			fl.dropFileLocked() // else the same error would be logged every FlushInterval
		}
		if fl.f != nil && now.Sub(fl.lastWrite) > idleClose {
			fl.closeFileLocked()
		}
		fl.mu.Unlock()
	}
}

// pruneAll applies retention to every function directory under the store.
func (s *Store) pruneAll() {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		s.opts.Logger.Warn("function log retention: list", "err", err)
		return
	}
	now := time.Now()
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		name, ok := functionName(e.Name())
		if !ok {
			continue
		}
		fl := s.fn(name)
		if fl == nil {
			return
		}
		fl.mu.Lock()
		if err := fl.pruneLocked(s.opts, now); err != nil {
			s.opts.Logger.Warn("function log retention", "function", name, "err", err)
		}
		fl.mu.Unlock()
	}
}

// pruneLocked deletes segments last written before now-Retention, then the
// oldest segments until the function uses at most MaxBytes. The open segment is
// never deleted.
func (fl *fnLog) pruneLocked(opts Options, now time.Time) error {
	segs, err := listSegments(fl.dir)
	if err != nil {
		return err
	}
	type sized struct {
		seg  segment
		size int64
	}
	var keep []sized
	var total int64
	var errs []error
	for _, seg := range segs {
		open := fl.f != nil && seg == fl.seg
		path := filepath.Join(fl.dir, seg.name())
		st, err := os.Stat(path)
		if err != nil {
			continue
		}
		if !open && now.Sub(st.ModTime()) > opts.Retention {
			errs = append(errs, os.Remove(path))
			continue
		}
		size := st.Size()
		if open {
			size = fl.size
		}
		keep = append(keep, sized{seg, size})
		total += size
	}
	for _, k := range keep {
		if total <= opts.MaxBytes {
			break
		}
		if fl.f != nil && k.seg == fl.seg {
			continue
		}
		errs = append(errs, os.Remove(filepath.Join(fl.dir, k.seg.name())))
		total -= k.size
	}
	return errors.Join(errs...)
}

// segment names one file: <day>-<seq>.log.
type segment struct {
	day string
	seq int
}

func (s segment) name() string { return fmt.Sprintf("%s-%04d%s", s.day, s.seq, segmentExt) }

// dayKey is the segment's day as the integer yyyymmdd.
func (s segment) dayKey() int {
	n, _ := strconv.Atoi(strings.ReplaceAll(s.day, "-", ""))
	return n
}

func (s segment) less(o segment) bool {
	if s.day != o.day {
		return s.day < o.day
	}
	return s.seq < o.seq
}

func parseSegment(name string) (segment, bool) {
	base, ok := strings.CutSuffix(name, segmentExt)
	if !ok || len(base) < len(dayLayout)+2 || base[len(dayLayout)] != '-' {
		return segment{}, false
	}
	day := base[:len(dayLayout)]
	if _, err := time.Parse(dayLayout, day); err != nil {
		return segment{}, false
	}
	seq, err := strconv.Atoi(base[len(dayLayout)+1:])
	if err != nil || seq < 0 {
		return segment{}, false
	}
	return segment{day: day, seq: seq}, true
}

// listSegments returns dir's segments in chronological order; a missing dir
// has none.
func listSegments(dir string) ([]segment, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var segs []segment
	for _, e := range entries {
		if seg, ok := parseSegment(e.Name()); ok && e.Type().IsRegular() {
			segs = append(segs, seg)
		}
	}
	slices.SortFunc(segs, func(a, b segment) int {
		switch {
		case a.less(b):
			return -1
		case b.less(a):
			return 1
		}
		return 0
	})
	return segs, nil
}

// dirName maps a function name to a directory name. Lambda function names
// ([A-Za-z0-9_-]) map to themselves; anything else (qualifiers, ARNs, hostile
// input) is hex-encoded behind a "~", which no plain name contains, so names
// never escape the store and never collide.
func dirName(function string) string {
	if plainName(function) {
		return function
	}
	return "~" + hex.EncodeToString([]byte(function))
}

func functionName(dir string) (string, bool) {
	if rest, ok := strings.CutPrefix(dir, "~"); ok {
		b, err := hex.DecodeString(rest)
		return string(b), err == nil
	}
	return dir, plainName(dir)
}

func plainName(s string) bool {
	if s == "" || len(s) > 140 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
