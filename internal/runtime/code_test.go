package runtime

import (
	"archive/zip"
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestCodeCacheExtractsOnce(t *testing.T) {
	cc := newCodeCache(t.TempDir())
	d1, err := cc.extracted(fixtures.gofn.sha, fixtures.gofn.path)
	if err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(d1, "marker")
	os.WriteFile(marker, nil, 0o644)
	// A second cache over the same directory (a restarted node) reuses the tree.
	d2, err := newCodeCache(filepath.Dir(d1)).extracted(fixtures.gofn.sha, fixtures.gofn.path)
	if err != nil || d2 != d1 {
		t.Fatalf("second extraction: %q %v", d2, err)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Error("code was extracted again")
	}
	if _, err := cc.extracted("../etc", fixtures.gofn.path); err == nil {
		t.Error("a path-like CodeSHA256 was accepted")
	}
	if _, err := cc.extracted("deadbeef", filepath.Join(t.TempDir(), "missing.zip")); err == nil {
		t.Error("a missing zip was accepted")
	}
	leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(d1), ".tmp-*"))
	if len(leftovers) != 0 {
		t.Errorf("temporary directories left: %v", leftovers)
	}
}

// The review's attack on the lexical symlink check: t -> ., s -> t/.., then s/x.
func TestCodeCacheRefusesSymlinkChain(t *testing.T) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range []struct{ name, body string }{{"t", "."}, {"s", "t/.."}, {"u", "s/.."}, {"u/evil", "x"}} {
		h := &zip.FileHeader{Name: e.name}
		if e.name == "u/evil" {
			h.SetMode(0o644)
		} else {
			h.SetMode(os.ModeSymlink | 0o777)
		}
		w, _ := zw.CreateHeader(h)
		w.Write([]byte(e.body))
	}
	zw.Close()
	base := t.TempDir()
	zipPath := filepath.Join(base, "code.zip")
	os.WriteFile(zipPath, buf.Bytes(), 0o644)
	cacheDir := filepath.Join(base, "x", "y", "code")
	os.MkdirAll(cacheDir, 0o755)
	cc := newCodeCache(cacheDir)
	if _, err := cc.extracted("abc123", zipPath); err == nil {
		t.Error("a zip with an escaping symlink chain was extracted")
	}
	var found []string
	filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Name() == "evil" {
			found = append(found, p)
		}
		return nil
	})
	if len(found) > 0 {
		t.Fatalf("the zip wrote outside the code directory: %v", found)
	}
}

func TestCodeCacheSweep(t *testing.T) {
	cc := newCodeCache(t.TempDir())
	dir, err := cc.extracted(fixtures.gofn.sha, fixtures.gofn.path)
	if err != nil {
		t.Fatal(err)
	}
	no := func(string) bool { return false }
	yes := func(string) bool { return true }
	if n := cc.sweep(yes, no, time.Now().Add(time.Second)); n != 0 {
		t.Fatal("swept referenced code")
	}
	if n := cc.sweep(no, yes, time.Now().Add(time.Second)); n != 0 {
		t.Fatal("swept code a live instance runs")
	}
	if n := cc.sweep(no, no, time.Now().Add(-time.Minute)); n != 0 {
		t.Fatal("swept code used within the grace period")
	}
	if n := cc.sweep(no, no, time.Now().Add(time.Second)); n != 1 {
		t.Fatalf("sweep removed %d, want 1", n)
	}
	if _, err := os.Stat(dir); err == nil {
		t.Fatal("extracted directory still there")
	}
	// Forgotten, so the next use extracts again.
	if d, err := cc.extracted(fixtures.gofn.sha, fixtures.gofn.path); err != nil || d != dir {
		t.Fatalf("re-extract: %q %v", d, err)
	}
}

// The zip is fetched (from a cluster's shared blob store) only when the code must
// be extracted: once, not on every use; a failed fetch fails the extraction and
// is tried again next time.
func TestCodeCacheFetchesOnlyToExtract(t *testing.T) {
	cc := newCodeCache(t.TempDir())
	var fetched []string
	fail := true
	cc.fetch = func(sha string) error {
		fetched = append(fetched, sha)
		if fail {
			return fs.ErrNotExist
		}
		return nil
	}
	if _, err := cc.extracted(fixtures.gofn.sha, fixtures.gofn.path); err == nil {
		t.Fatal("extracted although the fetch failed")
	}
	fail = false
	for range 3 {
		if _, err := cc.extracted(fixtures.gofn.sha, fixtures.gofn.path); err != nil {
			t.Fatal(err)
		}
	}
	if len(fetched) != 2 {
		t.Fatalf("fetched %d times (%v), want 2: the failed try and the one extraction", len(fetched), fetched)
	}
}
