package s3

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/sluice-dev/sluice/internal/blobstore"
	"github.com/sluice-dev/sluice/internal/store"
)

// ObjectBytes holds object bodies as immutable blobs named by their SHA-256. The
// disk implementation is BlobBytes; a shared backend (an S3 bucket, for clusters)
// can stand in behind the same three methods.
type ObjectBytes interface {
	// Put stores everything read from r durably and returns its hex SHA-256 and
	// size. It must not keep the bytes in memory.
	Put(r io.Reader) (sha256Hex string, size int64, err error)
	// Open returns the blob for reading; an error satisfying errors.Is(err,
	// fs.ErrNotExist) when it is missing.
	Open(sha256Hex string) (io.ReadSeekCloser, error)
	// Delete removes the blob; deleting a missing blob is not an error.
	Delete(sha256Hex string) error
}

// BlobBytes is ObjectBytes over content-addressed blobs: a local directory
// (*blobstore.Store) or a cluster's shared store behind a local cache
// (*blobstore.Cached).
type BlobBytes struct{ Blobs blobstore.Blobs }

func (b BlobBytes) Put(r io.Reader) (string, int64, error) { return b.Blobs.Put(r) }
func (b BlobBytes) Open(sha string) (io.ReadSeekCloser, error) {
	f, err := b.Blobs.Open(sha)
	if err != nil {
		return nil, err
	}
	return f, nil
}
func (b BlobBytes) Delete(sha string) error { return b.Blobs.Delete(sha) }

// Blob lifetime. A blob is kept while some owner references it: a key
// /s3/refs/{sha}/{owner} written in the same transaction as the owner's record (an
// object, or an uploaded part). Removing an owner writes a gcItem in the same
// transaction as the removal; the collector then drops the owner's references and
// deletes each blob nobody references any more. A crash anywhere leaves either a
// reference to a live blob or a gcItem that is retried, never a record without its
// bytes.
//
// The race left is between a writer whose blob turned out to exist already (blobstore
// dedups by content) and the collector deleting that very blob before the writer's
// reference commits. Writers therefore hold the blob's stripe lock while they check
// the blob is still there and mark it in flight; the collector deletes only blobs
// that are unreferenced and not in flight, under the same lock.

// gcItem is one unit of collector work: references to drop, then blobs to check.
type gcItem struct {
	Refs []gcRef `json:"refs"`
}

type gcRef struct {
	SHA   string `json:"sha"`
	Owner string `json:"owner"`
}

func gcItemFor(owner string, shas []string) gcItem {
	it := gcItem{}
	for _, sha := range shas {
		it.Refs = append(it.Refs, gcRef{SHA: sha, Owner: owner})
	}
	return it
}

// putGC queues item in tx (no-op when it holds no references).
func putGC(tx store.Tx, item gcItem) error {
	if len(item.Refs) == 0 {
		return nil
	}
	return store.PutRecord(tx, prefixGC+time.Now().UTC().Format("20060102T150405.000000000")+"-"+uuid.NewString(), item)
}

// collector deletes blobs no owner references. On a cluster it runs on the
// leader only (leader); the other nodes queue gcItems for it.
type collector struct {
	store       store.Store
	bytes       ObjectBytes
	log         *slog.Logger
	leader      func() bool
	orphanEvery time.Duration

	stripes [64]sync.Mutex // lock of a blob: stripes[fnv(sha)%64]

	mu       sync.Mutex // guards inflight
	inflight map[string]int

	poke chan struct{}
}

func newCollector(st store.Store, b ObjectBytes, log *slog.Logger) *collector {
	return &collector{store: st, bytes: b, log: log, leader: func() bool { return true }, orphanEvery: orphanInterval,
		inflight: map[string]int{}, poke: make(chan struct{}, 1)}
}

func (g *collector) stripe(sha string) *sync.Mutex {
	h := fnv.New32a()
	_, _ = h.Write([]byte(sha))
	return &g.stripes[h.Sum32()%uint32(len(g.stripes))]
}

// hold marks a freshly written blob in flight until release; it fails when the
// collector deleted the blob between its write and now (the caller retries the
// upload: nothing was acknowledged).
func (g *collector) hold(sha string) (release func(), err error) {
	l := g.stripe(sha)
	l.Lock()
	defer l.Unlock()
	rc, err := g.bytes.Open(sha)
	if err != nil {
		return nil, fmt.Errorf("blob %s vanished before it was referenced: %w", sha, err)
	}
	_ = rc.Close()
	g.mu.Lock()
	g.inflight[sha]++
	g.mu.Unlock()
	return func() {
		g.mu.Lock()
		if g.inflight[sha]--; g.inflight[sha] <= 0 {
			delete(g.inflight, sha)
		}
		g.mu.Unlock()
	}, nil
}

// discard drops a blob that was written but will not be referenced (a failed
// checksum, a lost precondition), if nobody else uses it.
func (g *collector) discard(sha string) {
	g.maybeDelete(context.Background(), sha)
}

// kick asks the collector to run soon.
func (g *collector) kick() {
	select {
	case g.poke <- struct{}{}:
	default:
	}
}

func (g *collector) start(ctx context.Context, wg *sync.WaitGroup) error {
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(30 * time.Second)
		defer t.Stop()
		orphans := time.NewTicker(g.orphanEvery)
		defer orphans.Stop()
		g.sweepOrphans(ctx, time.Now().Add(-orphanGrace))
		for {
			if g.leader() {
				g.sweep(ctx)
			}
			select {
			case <-ctx.Done():
				return
			case <-g.poke:
			case <-t.C:
			case <-orphans.C:
				g.sweepOrphans(ctx, time.Now().Add(-orphanGrace))
			}
		}
	}()
	return nil
}

// A blob written by a request that crashed (or lost its node) before its record
// committed has no reference and no gcItem, so process never sees it. sweepOrphans
// deletes such blobs once they are older than orphanGrace (a dedup Put renews a
// blob's time, so a writer about to reference it keeps it young), at start and then
// every orphanInterval.
const (
	orphanGrace    = time.Hour
	orphanInterval = time.Hour
)

type blobSweeper interface {
	Sweep(keep func(sha string) bool, before time.Time) (int, error)
}

// Sweep deletes the blobs last written before before that keep does not want.
func (b BlobBytes) Sweep(keep func(sha string) bool, before time.Time) (int, error) {
	return b.Blobs.Sweep(keep, before)
}

func (g *collector) sweepOrphans(ctx context.Context, before time.Time) int {
	sw, ok := g.bytes.(blobSweeper)
	if !ok || !g.leader() {
		return 0
	}
	kvs, err := g.store.List(ctx, prefixRefs)
	if err != nil {
		if ctx.Err() == nil {
			g.log.Warn("s3 gc: list references", "err", err)
		}
		return 0
	}
	refs := make(map[string]bool, len(kvs))
	for _, kv := range kvs {
		sha, _, _ := strings.Cut(strings.TrimPrefix(kv.Key, prefixRefs), "/")
		refs[sha] = true
	}
	n, err := sw.Sweep(func(sha string) bool {
		g.mu.Lock()
		busy := g.inflight[sha] > 0
		g.mu.Unlock()
		return busy || refs[sha]
	}, before)
	if err != nil && ctx.Err() == nil {
		g.log.Warn("s3 gc: sweep orphans", "err", err)
	}
	level := slog.LevelDebug
	if n > 0 {
		level = slog.LevelInfo
	}
	g.log.Log(ctx, level, "s3 gc: swept blobs no object references", "blobs", n)
	return n
}

// sweep processes every queued gcItem.
func (g *collector) sweep(ctx context.Context) {
	kvs, err := g.store.List(ctx, prefixGC)
	if err != nil {
		if ctx.Err() == nil {
			g.log.Warn("s3 gc: list", "err", err)
		}
		return
	}
	for _, kv := range kvs {
		var it gcItem
		if err := json.Unmarshal(kv.Value, &it); err != nil {
			g.log.Warn("s3 gc: bad item", "key", kv.Key, "err", err)
			continue
		}
		if err := g.process(ctx, kv.Key, it); err != nil {
			if ctx.Err() == nil {
				g.log.Warn("s3 gc", "key", kv.Key, "err", err)
			}
			return
		}
	}
}

// gcBatch keeps each transaction within etcd's operation limit.
const gcBatch = 90

func (g *collector) process(ctx context.Context, key string, it gcItem) error {
	for start := 0; start < len(it.Refs); start += gcBatch {
		batch := it.Refs[start:min(start+gcBatch, len(it.Refs))]
		if err := g.store.Update(ctx, func(tx store.Tx) error {
			for _, r := range batch {
				if err := tx.Delete(refKey(r.SHA, r.Owner)); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return err
		}
	}
	for _, r := range it.Refs {
		g.maybeDelete(ctx, r.SHA)
	}
	return g.store.Update(ctx, func(tx store.Tx) error { return tx.Delete(key) })
}

// maybeDelete deletes the blob when no reference names it and no writer holds it.
func (g *collector) maybeDelete(ctx context.Context, sha string) {
	l := g.stripe(sha)
	l.Lock()
	defer l.Unlock()
	g.mu.Lock()
	busy := g.inflight[sha] > 0
	g.mu.Unlock()
	if busy {
		return
	}
	refs, err := g.store.List(ctx, refPrefix(sha))
	if err != nil || len(refs) > 0 {
		return
	}
	if err := g.bytes.Delete(sha); err != nil && !errors.Is(err, fs.ErrNotExist) {
		g.log.Warn("s3 gc: delete blob", "sha", sha, "err", err)
	}
}

// segmentReader reads a byte range of an object across its segments, opening each
// blob only when the range reaches it.
type segmentReader struct {
	bytes    ObjectBytes
	segments []segment
	off, end int64 // absolute offsets still to read: [off, end)
	cur      io.ReadSeekCloser
	curEnd   int64
}

func newSegmentReader(b ObjectBytes, segs []segment, off, length int64) *segmentReader {
	return &segmentReader{bytes: b, segments: segs, off: off, end: off + length}
}

func (r *segmentReader) Read(p []byte) (int, error) {
	for {
		if r.off >= r.end {
			return 0, io.EOF
		}
		if r.cur == nil {
			if err := r.openAt(r.off); err != nil {
				return 0, err
			}
		}
		want := min(int64(len(p)), r.end-r.off, r.curEnd-r.off)
		n, err := r.cur.Read(p[:want])
		r.off += int64(n)
		if r.off >= r.curEnd || errors.Is(err, io.EOF) {
			_ = r.cur.Close()
			r.cur = nil
			if errors.Is(err, io.EOF) && r.off < r.curEnd {
				return n, io.ErrUnexpectedEOF
			}
			err = nil
		}
		if n > 0 || err != nil {
			return n, err
		}
	}
}

func (r *segmentReader) openAt(off int64) error {
	var start int64
	for _, s := range r.segments {
		if off < start+s.Size {
			f, err := r.bytes.Open(s.SHA)
			if err != nil {
				return err
			}
			if _, err := f.Seek(off-start, io.SeekStart); err != nil {
				f.Close()
				return err
			}
			r.cur, r.curEnd = f, start+s.Size
			return nil
		}
		start += s.Size
	}
	return io.ErrUnexpectedEOF
}

func (r *segmentReader) Close() error {
	if r.cur != nil {
		return r.cur.Close()
	}
	return nil
}
