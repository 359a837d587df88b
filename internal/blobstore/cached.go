package blobstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"
)

// Cached is Blobs over a shared Backend with a bounded, content-addressed local
// cache: the blob store of a cluster. Every node writes through to the backend and
// reads from its cache, fetching what it lacks.
//
//   - Put writes the bytes to the local cache (fsynced), uploads them, and returns
//     only after the backend acknowledged the upload: a record that names the blob
//     is committed only after every node can read it. Putting existing content
//     uploads it again, which renews its modification time for Sweep's grace period.
//   - Fetch downloads a missing blob into the cache, hashing it on the way: bytes
//     that do not hash to their name are refused. A blob found in the cache at
//     startup is re-hashed the first time it is used.
//   - The cache holds at most MaxBytes (beyond one blob bigger than that); the
//     least recently used blobs go first, never one used in the last minute.
type Cached struct {
	local   *Store
	backend Backend
	max     int64
	log     *slog.Logger

	mu       sync.Mutex
	entries  map[string]*cacheEntry
	total    int64
	fetching map[string]chan struct{} // one download per digest at a time
}

type cacheEntry struct {
	size     int64
	used     time.Time
	verified bool
}

// cacheMinAge keeps a blob just fetched (about to be opened or extracted) out of
// eviction.
const cacheMinAge = time.Minute

// backendTimeout bounds one upload or download.
const backendTimeout = 10 * time.Minute

// NewCached returns Blobs over backend, caching in dir up to maxBytes (0 means 10 GiB).
func NewCached(dir string, backend Backend, maxBytes int64, log *slog.Logger) (*Cached, error) {
	local, err := New(dir)
	if err != nil {
		return nil, err
	}
	if maxBytes <= 0 {
		maxBytes = 10 << 30
	}
	if log == nil {
		log = slog.Default()
	}
	c := &Cached{local: local, backend: backend, max: maxBytes, log: log,
		entries: map[string]*cacheEntry{}, fetching: map[string]chan struct{}{}}
	shards, _ := os.ReadDir(filepath.Join(local.dir, "sha256"))
	for _, shard := range shards {
		files, _ := os.ReadDir(filepath.Join(local.dir, "sha256", shard.Name()))
		for _, f := range files {
			fi, err := f.Info()
			if err != nil || !validDigest(f.Name()) || !fi.Mode().IsRegular() {
				continue
			}
			c.entries[f.Name()] = &cacheEntry{size: fi.Size(), used: fi.ModTime()}
			c.total += fi.Size()
		}
	}
	c.mu.Lock()
	c.evictLocked("")
	c.mu.Unlock()
	return c, nil
}

// Backend is the shared store behind the cache.
func (c *Cached) Backend() Backend { return c.backend }

// Put implements Blobs.
func (c *Cached) Put(r io.Reader) (string, int64, error) {
	sha, size, err := c.local.Put(r)
	if err != nil {
		return "", 0, err
	}
	f, err := c.local.Open(sha)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	ctx, cancel := context.WithTimeout(context.Background(), backendTimeout)
	defer cancel()
	if err := c.backend.Put(ctx, sha, size, f); err != nil {
		return "", 0, err
	}
	c.mu.Lock()
	c.addLocked(sha, size)
	c.mu.Unlock()
	return sha, size, nil
}

func (c *Cached) addLocked(sha string, size int64) {
	if e := c.entries[sha]; e != nil {
		e.used, e.verified = time.Now(), true
		return
	}
	c.entries[sha] = &cacheEntry{size: size, used: time.Now(), verified: true}
	c.total += size
	c.evictLocked(sha)
}

// evictLocked drops least recently used blobs until the cache fits, sparing keep
// and anything used within cacheMinAge. Every evicted blob is in the backend: an
// entry is only added after its upload or download succeeded.
func (c *Cached) evictLocked(keep string) {
	if c.total <= c.max {
		return
	}
	type cand struct {
		sha string
		e   *cacheEntry
	}
	var cands []cand
	cutoff := time.Now().Add(-cacheMinAge)
	for sha, e := range c.entries {
		if sha != keep && e.used.Before(cutoff) {
			cands = append(cands, cand{sha, e})
		}
	}
	sort.Slice(cands, func(i, j int) bool { return cands[i].e.used.Before(cands[j].e.used) })
	for _, k := range cands {
		if c.total <= c.max {
			return
		}
		if err := c.local.Delete(k.sha); err != nil {
			c.log.Warn("blob cache: evict", "sha", k.sha, "err", err)
			continue
		}
		delete(c.entries, k.sha)
		c.total -= k.e.size
	}
}

// Fetch implements Blobs.
func (c *Cached) Fetch(ctx context.Context, sha string) error {
	if !validDigest(sha) {
		return fmt.Errorf("blobstore fetch %q: %w", sha, ErrInvalidDigest)
	}
	for {
		c.mu.Lock()
		if e := c.entries[sha]; e != nil && e.verified {
			e.used = time.Now()
			c.mu.Unlock()
			return nil
		}
		if wait, busy := c.fetching[sha]; busy {
			c.mu.Unlock()
			select {
			case <-wait:
				continue
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		done := make(chan struct{})
		c.fetching[sha] = done
		e := c.entries[sha]
		c.mu.Unlock()

		err := c.fill(ctx, sha, e)
		c.mu.Lock()
		delete(c.fetching, sha)
		close(done)
		c.mu.Unlock()
		return err
	}
}

// fill verifies a cached copy found at startup, or downloads the blob.
func (c *Cached) fill(ctx context.Context, sha string, e *cacheEntry) error {
	if e != nil {
		if ok, err := c.verifyLocal(sha); err == nil && ok {
			c.mu.Lock()
			e.verified, e.used = true, time.Now()
			c.mu.Unlock()
			return nil
		}
		c.log.Warn("blob cache: cached copy damaged or unreadable; fetching it again", "sha", sha)
		c.mu.Lock()
		if c.entries[sha] == e {
			delete(c.entries, sha)
			c.total -= e.size
		}
		c.mu.Unlock()
		_ = os.Chmod(c.local.Path(sha), 0o644)
		_ = c.local.Delete(sha)
	}
	ctx, cancel := context.WithTimeout(ctx, backendTimeout)
	defer cancel()
	body, err := c.backend.Get(ctx, sha)
	if err != nil {
		return err
	}
	defer body.Close()
	_, size, err := c.local.put(body, sha)
	if err != nil {
		return fmt.Errorf("blob fetch %s from %s: %w", sha, c.backend, err)
	}
	c.mu.Lock()
	c.addLocked(sha, size)
	c.mu.Unlock()
	return nil
}

func (c *Cached) verifyLocal(sha string) (bool, error) {
	f, err := c.local.Open(sha)
	if err != nil {
		return false, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return false, err
	}
	return hex.EncodeToString(h.Sum(nil)) == sha, nil
}

// Open implements Blobs: the blob is fetched into the cache first.
func (c *Cached) Open(sha string) (*os.File, error) {
	if err := c.Fetch(context.Background(), sha); err != nil {
		return nil, fmt.Errorf("blobstore open: %w", err)
	}
	return c.local.Open(sha)
}

// Path implements Blobs: the cache file of the blob (Fetch it first).
func (c *Cached) Path(sha string) string { return c.local.Path(sha) }

// Exists implements Blobs: cached here, or in the backend.
func (c *Cached) Exists(sha string) bool {
	if !validDigest(sha) {
		return false
	}
	c.mu.Lock()
	_, ok := c.entries[sha]
	c.mu.Unlock()
	if ok {
		return true
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := c.backend.Modified(ctx, sha)
	return err == nil
}

// SharedDeleteGrace is how long after its last Put a blob in a shared backend is
// safe from Delete. Another node may have just put the same bytes (content
// addressing makes them one blob) for a record it is about to commit, and what
// that node holds in flight is invisible here; its Put renewed the blob's
// modification time, so the blob looks young and stays. A blob Delete leaves
// goes with the leader's next sweep once it is unreferenced and older than this.
const SharedDeleteGrace = time.Hour

// Delete implements Blobs for a backend other nodes share: the blob leaves this
// node's cache at once, and the backend only when nobody put it within
// SharedDeleteGrace (see there). Other nodes' cached copies are harmless (same
// bytes, same name) and age out.
func (c *Cached) Delete(sha string) error {
	if !validDigest(sha) {
		return fmt.Errorf("blobstore delete %q: %w", sha, ErrInvalidDigest)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := c.DeleteIfOlder(ctx, sha, time.Now().Add(-SharedDeleteGrace)); err != nil {
		return err
	}
	c.dropLocal(sha)
	return nil
}

func (c *Cached) dropLocal(sha string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.entries[sha]; e != nil {
		delete(c.entries, sha)
		c.total -= e.size
	}
	_ = c.local.Delete(sha)
}

// DeleteIfOlder deletes the blob from the backend only when it was last put before
// before: a writer that just put the same bytes (and is about to commit a record
// naming them) keeps them. It reports whether it deleted.
func (c *Cached) DeleteIfOlder(ctx context.Context, sha string, before time.Time) (bool, error) {
	mod, err := c.backend.Modified(ctx, sha)
	if errors.Is(err, fs.ErrNotExist) {
		c.dropLocal(sha)
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if !mod.Before(before) {
		return false, nil
	}
	if err := c.backend.Delete(ctx, sha); err != nil {
		return false, err
	}
	c.dropLocal(sha)
	return true, nil
}

// Sweep implements Blobs over the backend: every blob last put before before and
// not kept is deleted, each after a fresh look at its modification time (a re-Put
// since the listing renews it). Cached copies of swept blobs go too.
func (c *Cached) Sweep(keep func(sha string) bool, before time.Time) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	var cands []string
	if err := c.backend.List(ctx, func(sha string, mod time.Time) error {
		if !keep(sha) && mod.Before(before) {
			cands = append(cands, sha)
		}
		return nil
	}); err != nil {
		return 0, err
	}
	removed := 0
	for _, sha := range cands {
		if keep(sha) {
			continue
		}
		ok, err := c.DeleteIfOlder(ctx, sha, before)
		if err != nil {
			return removed, err
		}
		if ok {
			removed++
		}
	}
	return removed, nil
}

var (
	_ Blobs = (*Store)(nil)
	_ Blobs = (*Cached)(nil)
)
