// Package blobstore keeps immutable blobs named by the SHA-256 of their content:
// function code zips and S3 object bodies. Store keeps them on local disk (one
// node); Cached keeps them in a shared Backend (an S3-compatible bucket) behind a
// bounded local cache (a cluster). It owns the
// directory layout (dir/sha256/ab/abcdef…) and the write protocol that makes a
// blob appear atomically and durably or not at all.
//
// A blob is written to a temporary file in dir, fsynced, renamed into place and
// the parent directory fsynced, so after Put returns the blob survives a crash,
// and a reader never sees a partial blob. Putting the same content twice (even
// concurrently) is harmless: both writers produce identical bytes and rename is
// atomic.
package blobstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// ErrInvalidDigest is returned for a digest that is not 64 lowercase hex digits.
// Checking it keeps a caller-supplied digest from escaping dir ("../..").
var ErrInvalidDigest = errors.New("blobstore: invalid sha256 digest")

// Store is a content-addressed blob directory. It is safe for concurrent use by
// several goroutines and processes sharing the directory.
type Store struct {
	dir string // absolute
}

// New returns a Store rooted at dir, creating dir/sha256 and dir/tmp if needed.
func New(dir string) (*Store, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("blobstore %s: %w", dir, err)
	}
	s := &Store{dir: abs}
	for _, d := range []string{s.tmpDir(), filepath.Join(abs, "sha256")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("blobstore %s: %w", dir, err)
		}
	}
	s.removeStaleTemps(time.Now().Add(-staleTempAge))
	return s, nil
}

// staleTempAge is how old a leftover temp file (from a crash mid-Put) must be
// before New removes it; young ones may belong to another live process.
const staleTempAge = time.Hour

func (s *Store) removeStaleTemps(before time.Time) {
	entries, err := os.ReadDir(s.tmpDir())
	if err != nil {
		return
	}
	for _, e := range entries {
		if fi, err := e.Info(); err == nil && fi.ModTime().Before(before) {
			_ = os.Remove(filepath.Join(s.tmpDir(), e.Name()))
		}
	}
}

// Dir returns the store's root directory.
func (s *Store) Dir() string { return s.dir }

// tmpDir is inside dir so the final rename never crosses filesystems.
func (s *Store) tmpDir() string { return filepath.Join(s.dir, "tmp") }

// Put stores everything read from r and returns its lowercase hex SHA-256 and
// size. If the blob already exists, the existing file is kept.
func (s *Store) Put(r io.Reader) (sha256Hex string, size int64, err error) {
	return s.put(r, "")
}

// ErrDigestMismatch is returned when bytes fetched for a digest hash to another.
var ErrDigestMismatch = errors.New("blobstore: content does not match its sha256")

// put stores r; when want is set, bytes that do not hash to want are refused
// (ErrDigestMismatch) and never appear under any name.
func (s *Store) put(r io.Reader, want string) (sha256Hex string, size int64, err error) {
	tmp, err := os.CreateTemp(s.tmpDir(), "put-*")
	if err != nil {
		return "", 0, fmt.Errorf("blobstore put: %w", err)
	}
	name := tmp.Name()
	defer func() {
		if tmp != nil {
			_ = tmp.Close()
		}
		// After a successful rename the name is gone and this is a no-op.
		_ = os.Remove(name)
	}()

	h := sha256.New()
	size, err = io.Copy(io.MultiWriter(tmp, h), r)
	if err != nil {
		return "", 0, fmt.Errorf("blobstore put: write: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return "", 0, fmt.Errorf("blobstore put: fsync: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return "", 0, fmt.Errorf("blobstore put: close: %w", err)
	}
	tmp = nil
	sum := hex.EncodeToString(h.Sum(nil))
	if want != "" && sum != want {
		return "", 0, fmt.Errorf("blobstore: want %s, got %s: %w", want, sum, ErrDigestMismatch)
	}

	final := s.Path(sum)
	if s.Exists(sum) {
		_ = os.Remove(name)
		// A Put is a fresh use: the blob must not look old to Sweep while the
		// record that will reference it is being written.
		now := time.Now()
		_ = os.Chtimes(final, now, now)
		return sum, size, nil
	}
	shard := filepath.Dir(final)
	if err := os.MkdirAll(shard, 0o755); err != nil {
		return "", 0, fmt.Errorf("blobstore put: %w", err)
	}
	// Make the shard directory's own entry durable before the blob's.
	if err := syncDir(filepath.Dir(shard)); err != nil {
		return "", 0, err
	}
	if err := os.Chmod(name, 0o444); err != nil {
		return "", 0, fmt.Errorf("blobstore put: %w", err)
	}
	if err := os.Rename(name, final); err != nil {
		return "", 0, fmt.Errorf("blobstore put: rename: %w", err)
	}
	if err := syncDir(shard); err != nil {
		return "", 0, err
	}
	return sum, size, nil
}

// Open opens the blob for reading, or returns an error satisfying
// errors.Is(err, fs.ErrNotExist).
func (s *Store) Open(sha string) (*os.File, error) {
	if !validDigest(sha) {
		return nil, fmt.Errorf("blobstore open %q: %w", sha, ErrInvalidDigest)
	}
	f, err := os.Open(s.Path(sha))
	if err != nil {
		return nil, fmt.Errorf("blobstore open: %w", err)
	}
	return f, nil
}

// Fetch implements Blobs: a local store has every blob it will ever have, so it
// only reports whether this one is there.
func (s *Store) Fetch(_ context.Context, sha string) error {
	if !validDigest(sha) {
		return fmt.Errorf("blobstore fetch %q: %w", sha, ErrInvalidDigest)
	}
	if _, err := os.Stat(s.Path(sha)); err != nil {
		return fmt.Errorf("blobstore fetch: %w", err)
	}
	return nil
}

// Path returns where the blob with this digest lives (whether or not it exists).
// An invalid digest maps to a path inside dir that never holds a blob.
func (s *Store) Path(sha string) string {
	if !validDigest(sha) {
		return filepath.Join(s.dir, "invalid")
	}
	return filepath.Join(s.dir, "sha256", sha[:2], sha)
}

// Exists reports whether the blob is stored.
func (s *Store) Exists(sha string) bool {
	if !validDigest(sha) {
		return false
	}
	fi, err := os.Stat(s.Path(sha))
	return err == nil && fi.Mode().IsRegular()
}

// Delete removes the blob. Deleting a missing blob is not an error. Callers own
// reference counting: a blob shared by two functions must not be deleted while
// either still uses it.
func (s *Store) Delete(sha string) error {
	if !validDigest(sha) {
		return fmt.Errorf("blobstore delete %q: %w", sha, ErrInvalidDigest)
	}
	path := s.Path(sha)
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("blobstore delete: %w", err)
	}
	return syncDir(filepath.Dir(path))
}

// Sweep deletes every blob last written before before for which keep is false,
// and returns how many it deleted. Callers pass the set of referenced digests;
// the age bound (a grace period) covers blobs put for records not yet committed.
// Deleting is idempotent, so a sweep interrupted by a crash is simply redone.
func (s *Store) Sweep(keep func(sha string) bool, before time.Time) (int, error) {
	shards, err := os.ReadDir(filepath.Join(s.dir, "sha256"))
	if err != nil {
		return 0, fmt.Errorf("blobstore sweep: %w", err)
	}
	removed := 0
	for _, shard := range shards {
		entries, err := os.ReadDir(filepath.Join(s.dir, "sha256", shard.Name()))
		if err != nil {
			continue
		}
		for _, e := range entries {
			sha := e.Name()
			if !validDigest(sha) || keep(sha) {
				continue
			}
			fi, err := e.Info()
			if err != nil || !fi.ModTime().Before(before) {
				continue
			}
			if err := s.Delete(sha); err != nil {
				return removed, err
			}
			removed++
		}
	}
	return removed, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("blobstore: open dir for fsync: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("blobstore: fsync dir %s: %w", dir, err)
	}
	return nil
}

func validDigest(sha string) bool {
	if len(sha) != sha256.Size*2 {
		return false
	}
	for i := 0; i < len(sha); i++ {
		c := sha[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
