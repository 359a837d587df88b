package runtime

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/sluice-dev/sluice/internal/codezip"
)

// codeCache extracts each code zip once, into dir/<sha256>, and remembers the result.
// Extraction goes to a temporary directory that is renamed into place, so a crash
// never leaves a half-extracted tree under the final name.
type codeCache struct {
	dir string
	// fetch, when set, makes the zip readable at its path (a blob store shared by
	// a cluster copies it to this node); called only when the code must be
	// extracted, so a warm invocation pays nothing for it.
	fetch func(sha string) error

	mu      sync.Mutex
	entries map[string]*codeEntry
}

type codeEntry struct {
	ready chan struct{} // closed when path/err are set
	path  string
	err   error
}

func newCodeCache(dir string) *codeCache {
	return &codeCache{dir: dir, entries: make(map[string]*codeEntry)}
}

// dir returns the extracted directory of the zip whose SHA-256 is sha.
func (cc *codeCache) extracted(sha, zipPath string) (string, error) {
	if !validSHA(sha) {
		return "", fmt.Errorf("invalid CodeSHA256 %q", sha)
	}
	cc.mu.Lock()
	e := cc.entries[sha]
	if e != nil {
		cc.mu.Unlock()
		<-e.ready
		return e.path, e.err
	}
	e = &codeEntry{ready: make(chan struct{})}
	cc.entries[sha] = e
	cc.mu.Unlock()

	e.path, e.err = cc.extract(sha, zipPath)
	if e.err != nil {
		// Don't cache failures: the zip may appear later (e.g. written concurrently).
		cc.mu.Lock()
		delete(cc.entries, sha)
		cc.mu.Unlock()
	}
	close(e.ready)
	return e.path, e.err
}

// validSHA accepts hex (what Sluice stores) and base64 (what the Lambda API shows);
// either way the name must be safe as a directory name.
func validSHA(s string) bool {
	if s == "" || len(s) > 128 || s == "." || s == ".." {
		return false
	}
	for _, r := range s {
		ok := r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '-' || r == '_' || r == '='
		if !ok {
			return false
		}
	}
	return true
}

func (cc *codeCache) extract(sha, zipPath string) (string, error) {
	final := filepath.Join(cc.dir, sha)
	if fi, err := os.Stat(final); err == nil && fi.IsDir() {
		touch(final)      // in use again: young for the sweeper
		return final, nil // extracted by an earlier run
	}
	if cc.fetch != nil {
		if err := cc.fetch(sha); err != nil {
			return "", fmt.Errorf("fetch code: %w", err)
		}
	}
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	tmp := filepath.Join(cc.dir, ".tmp-"+sha+"-"+hex.EncodeToString(rnd[:]))
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return "", err
	}
	if err := codezip.Extract(zipPath, tmp, codezip.Options{}); err != nil {
		_ = os.RemoveAll(tmp)
		return "", err
	}
	// Readable by the instance's own user (sandboxed instances run under another
	// uid): the data dir around it is 0700 and hidden from instances, which see only
	// their own code directory bound into an otherwise empty view.
	if err := os.Chmod(tmp, 0o755); err != nil {
		_ = os.RemoveAll(tmp)
		return "", err
	}
	if err := os.Rename(tmp, final); err != nil {
		_ = os.RemoveAll(tmp)
		if fi, statErr := os.Stat(final); statErr == nil && fi.IsDir() {
			return final, nil // another process won the race
		}
		return "", err
	}
	return final, nil
}

func touch(p string) {
	now := time.Now()
	_ = os.Chtimes(p, now, now)
}

// sweep removes extracted directories last used before before whose digest keep
// rejects and that no live instance (inUse) runs, and forgets them.
func (cc *codeCache) sweep(keep, inUse func(sha string) bool, before time.Time) int {
	entries, err := os.ReadDir(cc.dir)
	if err != nil {
		return 0
	}
	removed := 0
	for _, e := range entries {
		sha := e.Name()
		if !e.IsDir() || strings.HasPrefix(sha, ".") || keep(sha) || inUse(sha) {
			continue
		}
		fi, err := e.Info()
		if err != nil || !fi.ModTime().Before(before) {
			continue
		}
		cc.mu.Lock()
		delete(cc.entries, sha)
		cc.mu.Unlock()
		if os.RemoveAll(filepath.Join(cc.dir, sha)) == nil {
			removed++
		}
	}
	return removed
}
