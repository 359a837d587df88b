// Package logship makes every node of a cluster hold every node's function logs,
// so the Logs API, `sluice logs` and the console answer the same on any node.
//
// Each node keeps its logs in its own fnlogs.Store (local segment files). The
// Shipper taps that store's appends (fnlogs.Options.Ship): every Interval it gzips
// the lines appended since the last batch into one chunk, puts the chunk in the
// cluster's shared blob store (the S3-compatible --blob-store), and only then
// records it in the shared store under /logs/chunks/<node>/<seq>. Every other node
// watches that prefix, fetches each new chunk (verified by its SHA-256, like every
// blob) and Imports its lines into its own log store, remembering per peer the
// last chunk it imported (a file in the log directory), so a restarted node
// resumes where it stopped. Imported lines are not shipped again.
//
// What this gives, and costs:
//   - A line appended on node A is readable on node B about one Interval (1 s)
//     plus a blob round trip later; on A at once.
//   - Every node stores the whole cluster's logs, bounded by the log store's own
//     retention and size limits.
//   - A node killed with kill -9 loses the lines of its last Interval for the
//     others (they stay in its own log store, served when it is back); a node
//     stopped cleanly ships them before it exits.
//   - A node that crashes between importing a chunk and recording it imports that
//     chunk again after a restart (its lines appear twice on that node).
//   - Chunk records and their blobs are kept ChunkRetention (1 day): a node away
//     for longer, or a new node, gets the peers' lines of the last day only.
package logship

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sluice-dev/sluice/internal/awsproto"
	"github.com/sluice-dev/sluice/internal/store"
)

// Prefix is where chunk records live in the store.
const Prefix = "/logs/chunks/"

const (
	defaultInterval  = time.Second
	defaultRetention = 24 * time.Hour
	// maxBatchBytes bounds the lines waiting to be shipped: past it (the blob
	// store unreachable for long) further lines are dropped and counted, as the
	// log store itself drops rather than grow without bound.
	maxBatchBytes = 16 << 20
	// sweepEvery: how often the leader deletes chunks past ChunkRetention.
	sweepEvery = 10 * time.Minute
	// maxDeletes per store transaction (etcd caps a transaction's operations).
	maxDeletes = 100
)

// Blobs is the part of the shared blob store the shipper uses
// (blobstore.Blobs).
type Blobs interface {
	Put(r io.Reader) (sha256Hex string, size int64, err error)
	Open(sha256Hex string) (*os.File, error)
	Delete(sha256Hex string) error
}

// Logs is the node's log store (fnlogs.Store).
type Logs interface {
	Import(name, stream string, t time.Time, line string)
}

// Options configure a Shipper; zero durations take the defaults.
type Options struct {
	Store store.Store
	Blobs Blobs
	// Node is this node's id (stable across restarts).
	Node string
	// StateFile records the last chunk imported from each peer.
	StateFile string
	// Interval is how often appended lines are shipped. Default 1 s.
	Interval time.Duration
	// ChunkRetention is how long chunks are kept for nodes to import. Default 1 day.
	ChunkRetention time.Duration
	// IsLeader says whether this node deletes expired chunks (one node does, so
	// nodes do not race); nil means this node does.
	IsLeader func() bool
	Logger   *slog.Logger
}

// chunkRecord is the value of /logs/chunks/<node>/<seq>.
type chunkRecord struct {
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
	Lines  int    `json:"lines"`
	// Shipped is when the chunk was recorded (Unix ms): retention counts from it.
	Shipped int64 `json:"shipped"`
}

// Shipper ships this node's log lines and imports the other nodes'.
type Shipper struct {
	opts Options
	log  *slog.Logger
	logs Logs // set by Start

	mu      sync.Mutex // guards batch, lines, dropped
	batch   []byte     // encoded lines not shipped yet
	lines   int
	dropped int

	shipMu  sync.Mutex // serializes ship (the loop and Close)
	lastSeq int64      // last sequence number used; guarded by shipMu

	stateMu  sync.Mutex        // guards imported and the state file
	imported map[string]string // peer node id → key of the last chunk imported

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New makes a Shipper; its Append may be used at once (lines queue), and Start
// starts shipping and importing into logs.
func New(opts Options) (*Shipper, error) {
	if opts.Interval <= 0 {
		opts.Interval = defaultInterval
	}
	if opts.ChunkRetention <= 0 {
		opts.ChunkRetention = defaultRetention
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Node == "" || strings.Contains(opts.Node, "/") {
		return nil, fmt.Errorf("logship: bad node id %q", opts.Node)
	}
	s := &Shipper{opts: opts, log: opts.Logger, imported: map[string]string{}, cancel: func() {}}
	if err := s.loadState(); err != nil {
		return nil, err
	}
	return s, nil
}

// Start ships this node's lines and imports the peers' into logs until Close.
func (s *Shipper) Start(ctx context.Context, logs Logs) error {
	s.logs = logs
	ctx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	// Watch before the first listing, so no chunk recorded in between is missed
	// (one seen twice is skipped by its key).
	events, err := s.opts.Store.Watch(ctx, Prefix)
	if err != nil {
		s.cancel()
		return fmt.Errorf("logship: watch: %w", err)
	}
	s.wg.Add(3)
	go s.shipLoop(ctx)
	go s.importLoop(ctx, events)
	go s.sweepLoop(ctx)
	return nil
}

// Append is the log store's Ship hook: it queues one line for the next chunk.
func (s *Shipper) Append(name, stream string, t time.Time, line string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.batch) >= maxBatchBytes {
		s.dropped++
		return
	}
	s.batch = appendLine(s.batch, name, stream, t, line)
	s.lines++
}

// Close stops the loops, then ships what is still queued (so a node stopped
// cleanly leaves nothing behind).
func (s *Shipper) Close() error {
	s.cancel()
	s.wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return s.ship(ctx)
}

// line is one shipped log line: {"g":<log name>,"t":<ns>,"s":<stream>,"m":<message>}.
type line struct {
	G string `json:"g"`
	T int64  `json:"t"`
	S string `json:"s"`
	M string `json:"m"`
}

func appendLine(b []byte, name, stream string, t time.Time, msg string) []byte {
	b = append(b, `{"g":`...)
	b = awsproto.AppendJSONString(b, name)
	b = append(b, `,"t":`...)
	b = strconv.AppendInt(b, t.UnixNano(), 10)
	b = append(b, `,"s":`...)
	b = awsproto.AppendJSONString(b, stream)
	b = append(b, `,"m":`...)
	b = awsproto.AppendJSONString(b, msg)
	return append(b, "}\n"...)
}

func (s *Shipper) shipLoop(ctx context.Context) {
	defer s.wg.Done()
	t := time.NewTicker(s.opts.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := s.ship(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("logship: ship failed; retrying", "err", err)
		}
	}
}

// ship puts the queued lines in the blob store as one chunk and records it. On
// failure the lines stay queued, ahead of newer ones, for the next try.
func (s *Shipper) ship(ctx context.Context) error {
	s.shipMu.Lock()
	defer s.shipMu.Unlock()
	s.mu.Lock()
	batch, lines, dropped := s.batch, s.lines, s.dropped
	s.batch, s.lines, s.dropped = nil, 0, 0
	s.mu.Unlock()
	if dropped > 0 {
		s.log.Warn("logship: dropped log lines: the blob store did not take them in time", "lines", dropped)
	}
	if len(batch) == 0 {
		return nil
	}
	err := s.put(ctx, batch, lines)
	if err != nil {
		s.mu.Lock()
		if len(batch)+len(s.batch) <= maxBatchBytes {
			s.batch, s.lines = append(batch, s.batch...), lines+s.lines
		} else {
			s.dropped += lines
		}
		s.mu.Unlock()
	}
	return err
}

func (s *Shipper) put(ctx context.Context, batch []byte, lines int) error {
	var z bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&z, gzip.BestSpeed)
	_, _ = zw.Write(batch)
	if err := zw.Close(); err != nil {
		return err
	}
	// Acknowledged only once the bytes are in the blob store, then named.
	sha, size, err := s.opts.Blobs.Put(&z)
	if err != nil {
		return fmt.Errorf("put chunk: %w", err)
	}
	now := time.Now()
	seq := max(now.UnixNano(), s.lastSeq+1)
	rec, _ := json.Marshal(chunkRecord{SHA256: sha, Size: size, Lines: lines, Shipped: now.UnixMilli()})
	key := chunkKey(s.opts.Node, seq)
	if err := s.opts.Store.Update(ctx, func(tx store.Tx) error { return tx.Put(key, rec) }); err != nil {
		return fmt.Errorf("record chunk: %w", err)
	}
	s.lastSeq = seq
	return nil
}

// chunkKey names a chunk; sequence numbers are fixed-width so keys sort by them.
func chunkKey(node string, seq int64) string {
	return fmt.Sprintf("%s%s/%020d", Prefix, node, seq)
}

// parseChunkKey splits a chunk key into its node and its sequence part.
func parseChunkKey(key string) (node, seq string, ok bool) {
	node, seq, ok = strings.Cut(strings.TrimPrefix(key, Prefix), "/")
	if !ok || node == "" || len(seq) != 20 || strings.Trim(seq, "0123456789") != "" {
		return "", "", false
	}
	return node, seq, true
}

// importLoop imports every chunk recorded so far, then each new one as the watch
// reports it; when the watch closes (fallen behind), it re-lists and re-watches.
func (s *Shipper) importLoop(ctx context.Context, events <-chan store.Event) {
	defer s.wg.Done()
	s.importAll(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-events:
			if !ok {
				for ctx.Err() == nil {
					var err error
					if events, err = s.opts.Store.Watch(ctx, Prefix); err == nil {
						break
					}
					sleep(ctx, time.Second)
				}
				s.importAll(ctx)
				continue
			}
			if ev.Type == store.EventPut {
				s.importChunk(ctx, ev.Key, ev.Value)
			}
		}
	}
}

func (s *Shipper) importAll(ctx context.Context) {
	for ctx.Err() == nil {
		kvs, err := s.opts.Store.List(ctx, Prefix)
		if err == nil {
			for _, kv := range kvs {
				s.importChunk(ctx, kv.Key, kv.Value)
			}
			return
		}
		if ctx.Err() == nil {
			s.log.Warn("logship: list chunks", "err", err)
		}
		sleep(ctx, time.Second)
	}
}

// importChunk imports one peer's chunk unless it is this node's or was imported
// already. A chunk whose bytes cannot be read yet is retried until ctx ends (its
// peer's later chunks wait for it, so each peer's lines arrive in order); one
// that is malformed is skipped with a warning.
func (s *Shipper) importChunk(ctx context.Context, key string, value []byte) {
	node, seq, ok := parseChunkKey(key)
	if !ok || node == s.opts.Node {
		return
	}
	s.stateMu.Lock()
	done := s.imported[node] >= seq
	s.stateMu.Unlock()
	if done {
		return
	}
	var rec chunkRecord
	if err := json.Unmarshal(value, &rec); err != nil {
		s.log.Warn("logship: skipping a malformed chunk record", "key", key, "err", err)
		s.markImported(node, seq)
		return
	}
	missing := 0
	for wait := 100 * time.Millisecond; ; wait = min(2*wait, 5*time.Second) {
		lines, err := s.readChunk(rec.SHA256)
		if err == nil {
			for _, l := range lines {
				s.logs.Import(l.G, l.S, time.Unix(0, l.T), l.M)
			}
			s.markImported(node, seq)
			return
		}
		var bad *malformedError
		if errors.As(err, &bad) {
			s.log.Warn("logship: skipping a malformed chunk", "key", key, "err", err)
			s.markImported(node, seq)
			return
		}
		if ctx.Err() != nil {
			return
		}
		// Gone from the blob store (a record outliving its bytes): after a few
		// tries, skip it rather than hold up every later chunk. Other errors
		// (the store unreachable) are retried for as long as they last.
		if missing++; errors.Is(err, fs.ErrNotExist) && missing >= 3 {
			s.log.Warn("logship: skipping a chunk whose bytes are gone", "key", key, "err", err)
			s.markImported(node, seq)
			return
		}
		s.log.Warn("logship: fetch chunk; retrying", "key", key, "err", err)
		sleep(ctx, wait)
	}
}

type malformedError struct{ err error }

func (e *malformedError) Error() string { return "malformed chunk: " + e.err.Error() }

// readChunk fetches a chunk (the blob store verifies its SHA-256) and decodes it.
func (s *Shipper) readChunk(sha string) ([]line, error) {
	f, err := s.opts.Blobs.Open(sha)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, &malformedError{err}
	}
	dec := json.NewDecoder(zr)
	var lines []line
	for {
		var l line
		err := dec.Decode(&l)
		if errors.Is(err, io.EOF) {
			return lines, nil
		}
		if err != nil {
			return nil, &malformedError{err}
		}
		if l.G == "" {
			return nil, &malformedError{errors.New("a line names no log")}
		}
		lines = append(lines, l)
	}
}

func (s *Shipper) markImported(node, seq string) {
	s.stateMu.Lock()
	defer s.stateMu.Unlock()
	s.imported[node] = seq
	if err := s.saveStateLocked(); err != nil {
		s.log.Warn("logship: save import state", "err", err)
	}
}

func (s *Shipper) loadState() error {
	b, err := os.ReadFile(s.opts.StateFile)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("logship: %w", err)
	}
	if err := json.Unmarshal(b, &s.imported); err != nil {
		// A torn file: importing again duplicates lines, refusing to start loses none.
		s.log.Warn("logship: import state unreadable; importing every recorded chunk again", "file", s.opts.StateFile, "err", err)
		s.imported = map[string]string{}
	}
	return nil
}

// saveStateLocked writes the state file atomically (a temp file renamed over it).
func (s *Shipper) saveStateLocked() error {
	b, _ := json.Marshal(s.imported)
	tmp := s.opts.StateFile + ".tmp"
	if err := os.MkdirAll(filepath.Dir(tmp), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, s.opts.StateFile)
}

// sweepLoop deletes, on the leader, chunks recorded more than ChunkRetention ago.
func (s *Shipper) sweepLoop(ctx context.Context) {
	defer s.wg.Done()
	t := time.NewTicker(sweepEvery)
	defer t.Stop()
	for {
		if s.opts.IsLeader == nil || s.opts.IsLeader() {
			if n, err := s.Sweep(ctx, time.Now().Add(-s.opts.ChunkRetention)); err != nil && ctx.Err() == nil {
				s.log.Warn("logship: sweep expired chunks", "err", err)
			} else if n > 0 {
				s.log.Info("logship: swept expired log chunks", "chunks", n)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Sweep deletes the chunks (records, then blobs) recorded before before and
// says how many.
func (s *Shipper) Sweep(ctx context.Context, before time.Time) (int, error) {
	kvs, err := s.opts.Store.List(ctx, Prefix)
	if err != nil {
		return 0, err
	}
	var keys, shas []string
	deleted := 0
	for _, kv := range kvs {
		var rec chunkRecord
		if json.Unmarshal(kv.Value, &rec) == nil && rec.Shipped >= before.UnixMilli() {
			continue
		}
		keys = append(keys, kv.Key)
		if rec.SHA256 != "" {
			shas = append(shas, rec.SHA256)
		}
	}
	for len(keys) > 0 {
		n := min(len(keys), maxDeletes)
		batch := keys[:n]
		if err := s.opts.Store.Update(ctx, func(tx store.Tx) error {
			for _, k := range batch {
				if err := tx.Delete(k); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return 0, err
		}
		keys, deleted = keys[n:], deleted+n
	}
	// Each chunk's bytes are its own (a chunk is unique), so no other record
	// can name them once the record is gone.
	var errs []error
	for _, sha := range shas {
		errs = append(errs, s.opts.Blobs.Delete(sha))
	}
	return deleted, errors.Join(errs...)
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
