package runtime

import (
	"archive/zip"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// codeCache extracts each code zip once, into dir/<sha256>, and remembers the result.
// Extraction goes to a temporary directory that is renamed into place, so a crash
// never leaves a half-extracted tree under the final name.
type codeCache struct {
	dir string

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
		return final, nil // extracted by an earlier run
	}
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	tmp := filepath.Join(cc.dir, ".tmp-"+sha+"-"+hex.EncodeToString(rnd[:]))
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return "", err
	}
	if err := unzip(zipPath, tmp); err != nil {
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

// unzip extracts zipPath into dir. Entries that would land outside dir (absolute
// paths, "..", symlinks pointing out) are refused; the executable bits recorded in
// the zip's external attributes are kept, as Lambda does for bootstrap files.
func unzip(zipPath, dir string) error {
	zr, err := zip.OpenReader(zipPath)
	if err != nil {
		return fmt.Errorf("open code zip: %w", err)
	}
	defer zr.Close()
	for _, f := range zr.File {
		if err := extractEntry(f, dir); err != nil {
			return fmt.Errorf("extract %q: %w", f.Name, err)
		}
	}
	return nil
}

var errUnsafePath = errors.New("path escapes the code directory")

func extractEntry(f *zip.File, dir string) error {
	name := strings.TrimPrefix(strings.ReplaceAll(f.Name, "\\", "/"), "./")
	if name == "" || name == "/" {
		return nil
	}
	if !filepath.IsLocal(filepath.FromSlash(strings.TrimSuffix(name, "/"))) {
		return errUnsafePath
	}
	target := filepath.Join(dir, filepath.FromSlash(name))
	mode := f.Mode()
	switch {
	case mode.IsDir() || strings.HasSuffix(name, "/"):
		return os.MkdirAll(target, 0o755)
	case mode&os.ModeSymlink != 0:
		return extractSymlink(f, dir, target)
	}
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return err
	}
	perm := os.FileMode(0o644)
	if mode.Perm()&0o111 != 0 {
		perm = 0o755
	}
	rc, err := f.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	out, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, rc); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func extractSymlink(f *zip.File, dir, target string) error {
	rc, err := f.Open()
	if err != nil {
		return err
	}
	link, err := io.ReadAll(io.LimitReader(rc, 4096))
	rc.Close()
	if err != nil {
		return err
	}
	dest := string(link)
	resolved := dest
	if !filepath.IsAbs(dest) {
		resolved = filepath.Join(filepath.Dir(target), dest)
	}
	rel, err := filepath.Rel(dir, resolved)
	if err != nil || !filepath.IsLocal(rel) {
		return errUnsafePath
	}
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return err
	}
	return os.Symlink(dest, target)
}
