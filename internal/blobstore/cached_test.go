package blobstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// memBackend is a Backend in memory, standing in for a bucket; the S3 backend
// itself is driven against a real S3-compatible server by the e2e cluster test.
type memBackend struct {
	mu   sync.Mutex
	objs map[string]memObj
	puts int
}

type memObj struct {
	data []byte
	mod  time.Time
}

func newMemBackend() *memBackend { return &memBackend{objs: map[string]memObj{}} }

func (m *memBackend) Put(_ context.Context, sha string, size int64, r io.ReadSeeker) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if int64(len(b)) != size {
		return errors.New("short body")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.objs[sha] = memObj{b, time.Now()}
	m.puts++
	return nil
}

func (m *memBackend) Get(_ context.Context, sha string) (io.ReadCloser, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	o, ok := m.objs[sha]
	if !ok {
		return nil, fs.ErrNotExist
	}
	return io.NopCloser(bytes.NewReader(o.data)), nil
}

func (m *memBackend) Modified(_ context.Context, sha string) (time.Time, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	o, ok := m.objs[sha]
	if !ok {
		return time.Time{}, fs.ErrNotExist
	}
	return o.mod, nil
}

func (m *memBackend) Delete(_ context.Context, sha string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.objs, sha)
	return nil
}

func (m *memBackend) List(_ context.Context, fn func(string, time.Time) error) error {
	m.mu.Lock()
	var shas []string
	mods := map[string]time.Time{}
	for k, o := range m.objs {
		shas = append(shas, k)
		mods[k] = o.mod
	}
	m.mu.Unlock()
	for _, k := range shas {
		if err := fn(k, mods[k]); err != nil {
			return err
		}
	}
	return nil
}

func (m *memBackend) String() string { return "mem://" }

func (m *memBackend) age(sha string, d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	o := m.objs[sha]
	o.mod = o.mod.Add(-d)
	m.objs[sha] = o
}

func shaOf(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestCachedSharesThroughBackend(t *testing.T) {
	be := newMemBackend()
	a, err := NewCached(t.TempDir(), be, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewCached(t.TempDir(), be, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("function code")
	sha, size, err := a.Put(bytes.NewReader(data))
	if err != nil || sha != shaOf(data) || size != int64(len(data)) {
		t.Fatalf("Put = %s %d %v", sha, size, err)
	}
	if _, err := be.Get(context.Background(), sha); err != nil {
		t.Fatalf("Put returned before the backend had the bytes: %v", err)
	}
	if !b.Exists(sha) {
		t.Fatal("node b does not see the blob")
	}
	if err := b.Fetch(context.Background(), sha); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(b.Path(sha))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("node b's cached copy = %q, %v", got, err)
	}
	missing := shaOf([]byte("nobody put this"))
	if err := b.Fetch(context.Background(), missing); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Fetch of a missing blob = %v, want fs.ErrNotExist", err)
	}
	// A re-Put uploads again (renewing the backend's modification time).
	if _, _, err := a.Put(bytes.NewReader(data)); err != nil || be.puts != 2 {
		t.Fatalf("re-Put: %v, %d uploads", err, be.puts)
	}
}

// Bytes that do not hash to their name never enter the cache, from the backend
// or left damaged on disk.
func TestCachedVerifiesSHA256(t *testing.T) {
	be := newMemBackend()
	good := []byte("the real bytes")
	sha := shaOf(good)
	be.objs[sha] = memObj{[]byte("tampered bytes"), time.Now()}
	dir := t.TempDir()
	c, err := NewCached(dir, be, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Fetch(context.Background(), sha); !errors.Is(err, ErrDigestMismatch) {
		t.Fatalf("Fetch of tampered bytes = %v, want ErrDigestMismatch", err)
	}
	if _, err := os.Stat(c.Path(sha)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("tampered bytes reached the cache: %v", err)
	}

	// A cached copy damaged on disk is found out when a new process first uses it.
	be.objs[sha] = memObj{good, time.Now()}
	if err := c.Fetch(context.Background(), sha); err != nil {
		t.Fatal(err)
	}
	p := c.Path(sha)
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("bit rot here!!"), 0o644); err != nil {
		t.Fatal(err)
	}
	c2, err := NewCached(dir, be, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	f, err := c2.Open(sha)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got, _ := io.ReadAll(f); !bytes.Equal(got, good) {
		t.Fatalf("Open after on-disk damage = %q", got)
	}
}

func TestCachedBoundsItsCache(t *testing.T) {
	be := newMemBackend()
	c, err := NewCached(t.TempDir(), be, 100, nil)
	if err != nil {
		t.Fatal(err)
	}
	var shas []string
	for i := range 5 {
		sha, _, err := c.Put(strings.NewReader(strings.Repeat(string(rune('a'+i)), 40)))
		if err != nil {
			t.Fatal(err)
		}
		shas = append(shas, sha)
		// Age the entry so the next Put may evict it (entries younger than
		// cacheMinAge are spared).
		c.mu.Lock()
		c.entries[sha].used = time.Now().Add(-time.Hour + time.Duration(i)*time.Minute)
		c.mu.Unlock()
	}
	c.mu.Lock()
	total, n := c.total, len(c.entries)
	c.mu.Unlock()
	if total > 100 || n != 2 {
		t.Fatalf("cache holds %d bytes in %d blobs, want at most 100 in 2", total, n)
	}
	// The evicted ones are still readable: fetched again from the backend.
	f, err := c.Open(shas[0])
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
}

func TestCachedSweepHonoursGrace(t *testing.T) {
	be := newMemBackend()
	c, err := NewCached(t.TempDir(), be, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	old, _, _ := c.Put(strings.NewReader("old and unreferenced"))
	kept, _, _ := c.Put(strings.NewReader("old but referenced"))
	fresh, _, _ := c.Put(strings.NewReader("young and unreferenced"))
	be.age(old, 2*time.Hour)
	be.age(kept, 2*time.Hour)
	n, err := c.Sweep(func(sha string) bool { return sha == kept }, time.Now().Add(-time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("Sweep = %d, %v; want 1", n, err)
	}
	for sha, want := range map[string]bool{old: false, kept: true, fresh: true} {
		if _, err := be.Modified(context.Background(), sha); (err == nil) != want {
			t.Errorf("blob %s in backend = %v, want %v", sha[:8], err == nil, want)
		}
	}
	if _, err := os.Stat(c.Path(old)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("swept blob still cached: %v", err)
	}
	// A re-Put after the listing renews the blob: DeleteIfOlder leaves it.
	be.age(fresh, 2*time.Hour)
	if _, _, err := c.Put(strings.NewReader("young and unreferenced")); err != nil {
		t.Fatal(err)
	}
	if ok, err := c.DeleteIfOlder(context.Background(), fresh, time.Now().Add(-time.Hour)); ok || err != nil {
		t.Fatalf("DeleteIfOlder of a renewed blob = %v, %v", ok, err)
	}
}

// Delete on a shared backend spares a blob put within SharedDeleteGrace: another
// node may have just put the same bytes for a record it is about to commit. An
// older blob goes, from the backend and the cache.
func TestCachedDeleteSparesYoungBlobs(t *testing.T) {
	be := newMemBackend()
	c, err := NewCached(t.TempDir(), be, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	young, _, _ := c.Put(strings.NewReader("just put by some node"))
	old, _, _ := c.Put(strings.NewReader("put long ago"))
	be.age(old, SharedDeleteGrace+time.Minute)
	for _, sha := range []string{young, old} {
		if err := c.Delete(sha); err != nil {
			t.Fatalf("Delete %s: %v", sha[:8], err)
		}
	}
	if _, err := be.Modified(context.Background(), young); err != nil {
		t.Errorf("a blob put within the grace was deleted from the backend: %v", err)
	}
	if _, err := be.Modified(context.Background(), old); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("an old blob is still in the backend: %v", err)
	}
	if _, err := os.Stat(c.Path(old)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a deleted blob is still cached: %v", err)
	}
	// The young blob left this node's cache but is still readable.
	if err := c.Fetch(context.Background(), young); err != nil {
		t.Errorf("Fetch of the spared blob: %v", err)
	}
}
