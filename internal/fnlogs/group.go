package fnlogs

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// ErrExists: CreateGroup or CreateStream of a name that exists.
var ErrExists = errors.New("fnlogs: already exists")

// metaFile holds a log's group metadata, next to its segments.
const metaFile = ".group.json"

// groupMeta is what CloudWatch keeps about a log group besides its events.
type groupMeta struct {
	CreationTime    int64 `json:"creationTime"` // Unix ms
	RetentionInDays int   `json:"retentionInDays,omitempty"`
	// Streams created by CreateLogStream, name -> creation time (Unix ms). Streams
	// that only exist because lines were appended to them are found in the
	// segments.
	Streams map[string]int64 `json:"streams,omitempty"`
}

// Group describes one log (a function's, or a created log group).
type Group struct {
	Name            string // the key Append was called with
	CreationTime    time.Time
	RetentionInDays int // 0: the store's default retention
	StoredBytes     int64
}

// Stream describes one stream of a log.
type Stream struct {
	Name          string
	CreationTime  time.Time
	FirstEvent    time.Time // zero when the stream has no events
	LastEvent     time.Time
	LastIngestion time.Time
	StoredBytes   int64
}

// ensureDirLocked creates fl's directory with its metadata if it is missing.
// fl.ioMu must be held.
func (fl *fnLog) ensureDirLocked(now time.Time) error {
	if _, err := os.Stat(fl.dir); err == nil {
		return nil
	}
	if err := os.MkdirAll(fl.dir, 0o755); err != nil {
		return err
	}
	fl.meta = &groupMeta{CreationTime: now.UnixMilli()}
	return fl.writeMetaLocked()
}

// metaLocked returns fl's metadata, loading it once. A directory from before
// metadata existed gets its modification time as creation time. fl.ioMu must
// be held.
func (fl *fnLog) metaLocked() (*groupMeta, error) {
	if fl.meta != nil {
		return fl.meta, nil
	}
	b, err := os.ReadFile(filepath.Join(fl.dir, metaFile))
	switch {
	case err == nil:
		var m groupMeta
		if json.Unmarshal(b, &m) == nil {
			fl.meta = &m
			return fl.meta, nil
		}
		fallthrough // a torn file: rebuild it
	case errors.Is(err, os.ErrNotExist):
		st, serr := os.Stat(fl.dir)
		if serr != nil {
			if errors.Is(serr, os.ErrNotExist) {
				return nil, ErrNotFound
			}
			return nil, serr
		}
		fl.meta = &groupMeta{CreationTime: st.ModTime().UnixMilli()}
		return fl.meta, nil
	default:
		return nil, err
	}
}

// writeMetaLocked stores fl.meta atomically (temp file and rename).
func (fl *fnLog) writeMetaLocked() error {
	b, err := json.Marshal(fl.meta)
	if err != nil {
		return err
	}
	tmp := filepath.Join(fl.dir, metaFile+".tmp")
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(fl.dir, metaFile))
}

// exists reports whether name has a directory in the store, flushing its
// pending lines first (the first lines of a log create its directory).
func (s *Store) exists(name string) bool {
	s.mu.RLock()
	fl := s.fns[name]
	s.mu.RUnlock()
	if fl != nil {
		_ = s.flush(fl) // a failure is logged by flush
	}
	_, err := os.Stat(filepath.Join(s.dir, dirName(name)))
	return err == nil
}

// Groups lists every log in the store, sorted by name.
func (s *Store) Groups() ([]Group, error) {
	for _, fl := range s.snapshot() {
		_ = s.flush(fl)
	}
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, err
	}
	var out []Group
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		name, ok := functionName(e.Name())
		if !ok {
			continue
		}
		g, err := s.Group(name)
		if err != nil {
			continue // deleted meanwhile
		}
		out = append(out, g)
	}
	slices.SortFunc(out, func(a, b Group) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// Group describes one log; ErrNotFound when it has no directory.
func (s *Store) Group(name string) (Group, error) {
	if !s.exists(name) {
		return Group{}, ErrNotFound
	}
	fl := s.fn(name)
	if fl == nil {
		return Group{}, ErrNotFound
	}
	fl.ioMu.Lock()
	m, err := fl.metaLocked()
	var g Group
	if err == nil {
		g = Group{Name: name, CreationTime: time.UnixMilli(m.CreationTime), RetentionInDays: m.RetentionInDays}
	}
	fl.ioMu.Unlock()
	if err != nil {
		return Group{}, err
	}
	segs, _ := listSegments(fl.dir)
	for _, seg := range segs {
		if st, err := os.Stat(filepath.Join(fl.dir, seg.name())); err == nil {
			g.StoredBytes += st.Size()
		}
	}
	return g, nil
}

// CreateGroup creates an empty log; ErrExists when it exists.
func (s *Store) CreateGroup(name string, now time.Time) error {
	fl := s.fn(name)
	if fl == nil {
		return ErrNotFound
	}
	fl.ioMu.Lock()
	defer fl.ioMu.Unlock()
	if _, err := os.Stat(fl.dir); err == nil {
		return ErrExists
	}
	return fl.ensureDirLocked(now)
}

// DeleteGroup deletes a log with all its events; ErrNotFound when it does not
// exist. Lines appended afterwards start a new log, as a function's next line
// recreates /aws/lambda/{name} on AWS.
func (s *Store) DeleteGroup(name string) error {
	if !s.exists(name) {
		return ErrNotFound
	}
	fl := s.fn(name)
	if fl == nil {
		return ErrNotFound
	}
	fl.mu.Lock()
	fl.pending, fl.pendingBytes, fl.dropped = nil, 0, 0
	fl.mu.Unlock()
	fl.ioMu.Lock()
	_ = fl.closeFileLocked()
	fl.meta = nil
	err := os.RemoveAll(fl.dir)
	fl.ioMu.Unlock()
	fl.idxMu.Lock()
	fl.idx = streamIndex{}
	fl.idxMu.Unlock()
	return err
}

// SetRetention sets the log's retention in days (0: back to the store's
// default); ErrNotFound when it does not exist.
func (s *Store) SetRetention(name string, days int) error {
	if !s.exists(name) {
		return ErrNotFound
	}
	fl := s.fn(name)
	if fl == nil {
		return ErrNotFound
	}
	fl.ioMu.Lock()
	defer fl.ioMu.Unlock()
	m, err := fl.metaLocked()
	if err != nil {
		return err
	}
	m.RetentionInDays = days
	return fl.writeMetaLocked()
}

// CreateStream records an empty stream; ErrNotFound when the log does not
// exist, ErrExists when the stream does.
func (s *Store) CreateStream(name, stream string, now time.Time) error {
	streams, err := s.Streams(name)
	if err != nil {
		return err
	}
	for _, st := range streams {
		if st.Name == stream {
			return ErrExists
		}
	}
	fl := s.fn(name)
	if fl == nil {
		return ErrNotFound
	}
	fl.ioMu.Lock()
	defer fl.ioMu.Unlock()
	m, err := fl.metaLocked()
	if err != nil {
		return err
	}
	if m.Streams == nil {
		m.Streams = map[string]int64{}
	}
	m.Streams[stream] = now.UnixMilli()
	return fl.writeMetaLocked()
}

// StreamExists reports whether a log has the stream, created or written to.
func (s *Store) StreamExists(name, stream string) bool {
	if _, ok := s.streamCreated(name, stream); ok {
		return true
	}
	streams, err := s.Streams(name)
	if err != nil {
		return false
	}
	for _, st := range streams {
		if st.Name == stream {
			return true
		}
	}
	return false
}

func (s *Store) streamCreated(name, stream string) (time.Time, bool) {
	fl := s.fn(name)
	if fl == nil {
		return time.Time{}, false
	}
	fl.ioMu.Lock()
	defer fl.ioMu.Unlock()
	m, err := fl.metaLocked()
	if err != nil {
		return time.Time{}, false
	}
	ms, ok := m.Streams[stream]
	return time.UnixMilli(ms), ok
}

// Streams lists the streams of a log, sorted by name: those that have events
// and those created empty. ErrNotFound when the log does not exist.
func (s *Store) Streams(name string) ([]Stream, error) {
	if !s.exists(name) {
		return nil, ErrNotFound
	}
	fl := s.fn(name)
	if fl == nil {
		return nil, ErrNotFound
	}
	_ = s.flush(fl) // a failure is logged by flush
	fl.ioMu.Lock()
	m, err := fl.metaLocked()
	var created map[string]int64
	if err == nil {
		created = maps(m.Streams)
	}
	fl.ioMu.Unlock()
	if err != nil {
		return nil, err
	}
	fl.idxMu.Lock()
	byName, err := fl.idx.update(fl.dir)
	fl.idxMu.Unlock()
	if err != nil {
		return nil, err
	}
	for n, ms := range created {
		st, ok := byName[n]
		if !ok {
			byName[n] = &Stream{Name: n, CreationTime: time.UnixMilli(ms)}
			continue
		}
		if c := time.UnixMilli(ms); c.Before(st.CreationTime) {
			st.CreationTime = c
		}
	}
	out := make([]Stream, 0, len(byName))
	for _, st := range byName {
		out = append(out, *st)
	}
	slices.SortFunc(out, func(a, b Stream) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

func maps(m map[string]int64) map[string]int64 {
	out := make(map[string]int64, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// streamIndex caches per-segment stream statistics. Segments are append-only,
// so each update reads only the bytes written since the last one.
type streamIndex struct {
	segs map[segment]*segStats
}

type segStats struct {
	off     int64 // bytes consumed (always a line start)
	modTime time.Time
	streams map[string]*Stream
}

// update catches the index up with dir's segments and returns the merged
// statistics per stream.
func (ix *streamIndex) update(dir string) (map[string]*Stream, error) {
	segs, err := listSegments(dir)
	if err != nil {
		return nil, err
	}
	if ix.segs == nil {
		ix.segs = map[segment]*segStats{}
	}
	live := make(map[segment]bool, len(segs))
	for _, seg := range segs {
		live[seg] = true
		ss := ix.segs[seg]
		if ss == nil {
			ss = &segStats{streams: map[string]*Stream{}}
			ix.segs[seg] = ss
		}
		if err := ss.catchUp(filepath.Join(dir, seg.name())); err != nil {
			return nil, err
		}
	}
	for seg := range ix.segs {
		if !live[seg] {
			delete(ix.segs, seg) // removed by retention
		}
	}
	merged := map[string]*Stream{}
	for _, seg := range segs {
		ss := ix.segs[seg]
		for n, st := range ss.streams {
			m := merged[n]
			if m == nil {
				c := *st
				merged[n] = &c
				continue
			}
			m.StoredBytes += st.StoredBytes
			if st.FirstEvent.Before(m.FirstEvent) {
				m.FirstEvent = st.FirstEvent
			}
			if st.LastEvent.After(m.LastEvent) {
				m.LastEvent = st.LastEvent
			}
			if st.LastIngestion.After(m.LastIngestion) {
				m.LastIngestion = st.LastIngestion
			}
			if st.CreationTime.Before(m.CreationTime) {
				m.CreationTime = st.CreationTime
			}
		}
	}
	return merged, nil
}

func (ss *segStats) catchUp(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if st.Size() <= ss.off {
		return nil
	}
	if _, err := f.Seek(ss.off, io.SeekStart); err != nil {
		return err
	}
	// Ingestion time is not stored per line; the segment's modification time is
	// when its newest line was written.
	ingested := st.ModTime()
	br := bufio.NewReaderSize(f, 64<<10)
	for {
		line, err := readLine(br)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		ss.off += int64(len(line))
		var sl storedLine
		if json.Unmarshal(line, &sl) != nil {
			continue
		}
		t := time.Unix(0, sl.T)
		s := ss.streams[sl.S]
		if s == nil {
			s = &Stream{Name: sl.S, CreationTime: t, FirstEvent: t, LastEvent: t}
			ss.streams[sl.S] = s
		}
		if t.Before(s.FirstEvent) {
			s.FirstEvent, s.CreationTime = t, t
		}
		if t.After(s.LastEvent) {
			s.LastEvent = t
		}
		s.LastIngestion = ingested
		s.StoredBytes += int64(len(sl.M))
	}
}
