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
	"bytes"
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
	Cursor  Cursor // where the entry starts (set by reads)
	Next    Cursor // where the next entry starts
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
	// Ship, when set, is also given every line Append stores (not those Import
	// stores): in a cluster, the log shipper (internal/logship) copies them to the
	// other nodes, which Import them.
	Ship func(name, stream string, t time.Time, line string)
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

	kick chan *fnLog   // functions whose pending bytes passed kickBytes
	done chan struct{} // closed by Close: stops the flusher and followers
	wg   sync.WaitGroup
}

// fnLog is one log's (a function's, or a log group's) write side. Two locks
// split it so that Append never waits for a disk: mu guards the in-memory
// queue Append fills and is never held across I/O; ioMu serializes everything
// that touches the files (flush, rotation, retention, group metadata) and is
// never taken by Append.
type fnLog struct {
	name string
	dir  string

	mu           sync.Mutex // guards the fields below; never held across I/O
	pending      []chunk    // encoded lines not yet written, oldest first
	pendingBytes int
	free         [][]byte      // recycled chunk buffers
	dropped      int           // lines dropped since the last flush (queue full)
	kicked       bool          // a kick is queued
	notify       chan struct{} // closed on the next append; nil when nobody waits
	closed       bool          // the store is closed; appends are dropped

	ioMu      sync.Mutex // serializes file I/O; guards the fields below
	f         *os.File
	seg       segment // the segment f is open on
	segDayKey int     // seg.day as yyyymmdd
	size      int64   // bytes in seg
	lastWrite time.Time
	lastErr   string     // last write error logged, to log each failure once
	meta      *groupMeta // cached .group.json; nil until loaded

	idxMu sync.Mutex  // guards idx (the stream index, read side only)
	idx   streamIndex // per-segment stream statistics, built incrementally
}

// chunk is a run of encoded lines that all go to the same day's segment.
type chunk struct {
	dayKey int    // yyyymmdd (UTC) of the lines
	day    string // the same, as a segment day
	b      []byte
}

const (
	// chunkBytes: a chunk is closed at this size, which bounds how far a
	// segment can grow past SegmentBytes before it rotates.
	chunkBytes = 16 << 10
	// kickBytes: an Append that leaves this much pending wakes the flusher
	// instead of waiting for the next FlushInterval tick.
	kickBytes = 256 << 10
	// maxPendingBytes: when the writer falls this far behind (a stalled disk)
	// further lines are dropped and counted, rather than growing memory or
	// blocking the function: CloudWatch's agent drops too when it cannot keep up.
	maxPendingBytes = 8 << 20
)

// Open opens (creating if needed) the store rooted at dir with default options.
func Open(dir string) (*Store, error) { return OpenWith(dir, Options{}) }

// OpenWith opens the store rooted at dir.
func OpenWith(dir string, opts Options) (*Store, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("open function logs: %w", err)
	}
	s := &Store{dir: dir, opts: opts.withDefaults(), fns: map[string]*fnLog{},
		kick: make(chan *fnLog, 64), done: make(chan struct{})}
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
		fl.mu.Unlock()
		errs = append(errs, s.flush(fl))
		fl.ioMu.Lock()
		errs = append(errs, fl.closeFileLocked())
		fl.ioMu.Unlock()
	}
	return errors.Join(errs...)
}

// Append stores one line of function's logs. It never touches the disk: the
// line is encoded into an in-memory queue that the background flusher writes
// out (within FlushInterval, sooner when a lot is pending), and readers flush
// before they read. A write failure is logged, not returned, because the
// invocation must not fail for it.
func (s *Store) Append(function, stream string, t time.Time, line string) {
	s.append(function, stream, t, line)
	if s.opts.Ship != nil {
		s.opts.Ship(function, stream, t, line)
	}
}

// Import stores a line another node appended (and shipped): like Append, but
// not shipped again.
func (s *Store) Import(name, stream string, t time.Time, line string) {
	s.append(name, stream, t, line)
}

func (s *Store) append(function, stream string, t time.Time, line string) {
	fl := s.fn(function)
	if fl == nil {
		return
	}
	fl.mu.Lock()
	if fl.closed {
		fl.mu.Unlock()
		return
	}
	if fl.pendingBytes >= maxPendingBytes {
		fl.dropped++
		fl.mu.Unlock()
		return
	}
	ut := t.UTC()
	y, m, d := ut.Date()
	dayKey := y*10000 + int(m)*100 + d // compared, not formatted, on the hot path
	n := len(fl.pending)
	if n == 0 || fl.pending[n-1].dayKey != dayKey || len(fl.pending[n-1].b) >= chunkBytes {
		var buf []byte
		if k := len(fl.free); k > 0 {
			buf, fl.free = fl.free[k-1][:0], fl.free[:k-1]
		}
		fl.pending = append(fl.pending, chunk{dayKey: dayKey, day: ut.Format(dayLayout), b: buf})
		n++
	}
	c := &fl.pending[n-1]
	before := len(c.b)
	c.b = appendEncoded(c.b, stream, t, line)
	fl.pendingBytes += len(c.b) - before
	kick := fl.pendingBytes >= kickBytes && !fl.kicked
	if kick {
		fl.kicked = true
	}
	if fl.notify != nil {
		close(fl.notify)
		fl.notify = nil
	}
	fl.mu.Unlock()
	if kick {
		select {
		case s.kick <- fl:
		default: // the flusher is busy; its next tick gets it
		}
	}
}

// appendEncoded appends one stored line: {"t":<ns>,"s":"<stream>","m":"<message>"}.
func appendEncoded(b []byte, stream string, t time.Time, line string) []byte {
	b = append(b, `{"t":`...)
	b = strconv.AppendInt(b, t.UnixNano(), 10)
	b = append(b, `,"s":`...)
	b = awsproto.AppendJSONString(b, stream)
	b = append(b, `,"m":`...)
	b = awsproto.AppendJSONString(b, line)
	return append(b, "}\n"...)
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

// flush writes fl's pending lines to its segment files. Only the writer side
// (ioMu) is held across the I/O; Append keeps queueing meanwhile.
func (s *Store) flush(fl *fnLog) error {
	fl.ioMu.Lock()
	defer fl.ioMu.Unlock()
	fl.mu.Lock()
	chunks, dropped := fl.pending, fl.dropped
	fl.pending, fl.pendingBytes, fl.dropped, fl.kicked = nil, 0, 0, false
	fl.mu.Unlock()
	if dropped > 0 {
		now := time.Now().UTC()
		y, m, d := now.Date()
		note := fmt.Sprintf("sluice: %d log lines dropped: the log writer fell %d MiB behind", dropped, maxPendingBytes>>20)
		chunks = append(chunks, chunk{dayKey: y*10000 + int(m)*100 + d, day: now.Format(dayLayout),
			b: appendEncoded(nil, "sluice", now, note)})
		s.opts.Logger.Warn("function log lines dropped", "function", fl.name, "lines", dropped)
	}
	var err error
	for _, c := range chunks {
		if werr := fl.writeChunkLocked(s.opts, c); werr != nil && err == nil {
			err = werr
		}
	}
	if err != nil {
		if msg := err.Error(); msg != fl.lastErr {
			fl.lastErr = msg
			s.opts.Logger.Warn("function log write failed", "function", fl.name, "err", err)
		}
	} else if len(chunks) > 0 {
		fl.lastErr = ""
	}
	fl.mu.Lock()
	for _, c := range chunks {
		if cap(c.b) <= 2*chunkBytes && len(fl.free) < 4 {
			fl.free = append(fl.free, c.b)
		}
	}
	fl.mu.Unlock()
	return err
}

// writeChunkLocked writes one chunk to the right segment, opening or rotating
// first. A failed write closes the file (the next chunk reopens it): one
// transient failure, such as a full disk, must not lose the function's logs for
// good. fl.ioMu must be held.
func (fl *fnLog) writeChunkLocked(opts Options, c chunk) error {
	if fl.f == nil {
		if err := fl.openLocked(c.day); err != nil {
			return err
		}
	}
	// Segments only move forward: a line stamped on an earlier day than the
	// open segment (clock skew, late lines) goes into the open segment.
	if c.dayKey > fl.segDayKey {
		if err := fl.rotateLocked(segment{day: c.day}); err != nil {
			return err
		}
	}
	for b := c.b; len(b) > 0; {
		if fl.size >= opts.SegmentBytes {
			if err := fl.rotateLocked(segment{day: fl.seg.day, seq: fl.seg.seq + 1}); err != nil {
				return err
			}
		}
		// Fill the segment up to the line that crosses SegmentBytes.
		n := len(b)
		if room := opts.SegmentBytes - fl.size; int64(n) > room {
			if i := bytes.IndexByte(b[room:], '\n'); i >= 0 {
				n = int(room) + i + 1
			}
		}
		w, err := fl.f.Write(b[:n])
		fl.size += int64(w)
		fl.lastWrite = time.Now()
		if err != nil {
			_ = fl.f.Close()
			fl.f = nil
			return err
		}
		b = b[n:]
	}
	return nil
}

// openLocked opens the newest segment of the function for appending, or a new
// one for day if the newest is older. A new directory gets its group metadata
// (creation time), as CloudWatch creates /aws/lambda/{name} on the first line.
func (fl *fnLog) openLocked(day string) error {
	if err := fl.ensureDirLocked(time.Now()); err != nil {
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
	return nil
}

func (fl *fnLog) rotateLocked(next segment) error {
	if err := fl.closeFileLocked(); err != nil {
		return err
	}
	if err := fl.ensureDirLocked(time.Now()); err != nil {
		return err
	}
	return fl.openSegmentLocked(next)
}

func (fl *fnLog) closeFileLocked() error {
	if fl.f == nil {
		return nil
	}
	err := fl.f.Close()
	fl.f = nil
	return err
}

// background flushes every FlushInterval (and whenever an Append kicks it),
// closes idle files, and runs retention every pruneEvery.
func (s *Store) background() {
	defer s.wg.Done()
	flush := time.NewTicker(s.opts.FlushInterval)
	defer flush.Stop()
	lastPrune := time.Now()
	for {
		select {
		case <-s.done:
			return
		case fl := <-s.kick:
			_ = s.flush(fl)
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
		_ = s.flush(fl)
		fl.ioMu.Lock()
		if fl.f != nil && now.Sub(fl.lastWrite) > idleClose {
			_ = fl.closeFileLocked()
		}
		fl.ioMu.Unlock()
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
		if err := fl.prune(s.opts, now); err != nil {
			s.opts.Logger.Warn("function log retention", "function", name, "err", err)
		}
	}
}

// prune deletes segments last written before now minus the retention (the
// group's retention policy, else Options.Retention), then the oldest segments
// until the log uses at most MaxBytes. The open segment is never deleted. The
// writer lock is held only to learn which segment is open: the Stat and Remove
// calls run without it (a segment removed under a reader is skipped by it).
func (fl *fnLog) prune(opts Options, now time.Time) error {
	fl.ioMu.Lock()
	open, openSize, isOpen := fl.seg, fl.size, fl.f != nil
	retention := opts.Retention
	if m, err := fl.metaLocked(); err == nil && m.RetentionInDays > 0 {
		retention = time.Duration(m.RetentionInDays) * 24 * time.Hour
	}
	fl.ioMu.Unlock()
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
		isOpenSeg := isOpen && seg == open
		path := filepath.Join(fl.dir, seg.name())
		st, err := os.Stat(path)
		if err != nil {
			continue
		}
		if !isOpenSeg && now.Sub(st.ModTime()) > retention {
			errs = append(errs, removeMissingOK(path))
			continue
		}
		size := st.Size()
		if isOpenSeg {
			size = max(size, openSize)
		}
		keep = append(keep, sized{seg, size})
		total += size
	}
	for _, k := range keep {
		if total <= opts.MaxBytes {
			break
		}
		if isOpen && k.seg == open {
			continue
		}
		errs = append(errs, removeMissingOK(filepath.Join(fl.dir, k.seg.name())))
		total -= k.size
	}
	return errors.Join(errs...)
}

func removeMissingOK(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
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
