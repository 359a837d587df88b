package blobstore

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func newStore(t *testing.T) *Store {
	t.Helper()
	s, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func readBlob(t *testing.T, s *Store, sha string) []byte {
	t.Helper()
	f, err := s.Open(sha)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestPutOpen(t *testing.T) {
	tests := []struct {
		name    string
		content []byte
	}{
		{"empty", nil},
		{"small", []byte("hello, lambda")},
		{"large", bytes.Repeat([]byte("0123456789abcdef"), 1<<16)}, // 1 MiB
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			sha, size, err := s.Put(bytes.NewReader(tc.content))
			if err != nil {
				t.Fatal(err)
			}
			if want := digest(tc.content); sha != want {
				t.Fatalf("sha = %s, want %s", sha, want)
			}
			if size != int64(len(tc.content)) {
				t.Fatalf("size = %d, want %d", size, len(tc.content))
			}
			if want := filepath.Join(s.Dir(), "sha256", sha[:2], sha); s.Path(sha) != want {
				t.Fatalf("Path = %s, want %s", s.Path(sha), want)
			}
			if !s.Exists(sha) {
				t.Fatal("Exists = false after Put")
			}
			if got := readBlob(t, s, sha); !bytes.Equal(got, tc.content) {
				t.Fatalf("read back %d bytes, want %d", len(got), len(tc.content))
			}
			assertNoTemps(t, s)
		})
	}
}

func assertNoTemps(t *testing.T, s *Store) {
	t.Helper()
	entries, err := os.ReadDir(s.tmpDir())
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Fatalf("%d temp files left behind", len(entries))
	}
}

func TestPutIdempotent(t *testing.T) {
	s := newStore(t)
	sha1, _, err := s.Put(strings.NewReader("same"))
	if err != nil {
		t.Fatal(err)
	}
	fi1, _ := os.Stat(s.Path(sha1))
	sha2, size, err := s.Put(strings.NewReader("same"))
	if err != nil || sha2 != sha1 || size != 4 {
		t.Fatalf("second Put = %s, %d, %v", sha2, size, err)
	}
	fi2, _ := os.Stat(s.Path(sha2))
	if !os.SameFile(fi1, fi2) {
		t.Fatal("second Put replaced the existing file")
	}
	assertNoTemps(t, s)
}

func TestConcurrentPutSameContent(t *testing.T) {
	s := newStore(t)
	content := bytes.Repeat([]byte("concurrent"), 10000)
	want := digest(content)
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sha, size, err := s.Put(bytes.NewReader(content))
			if err == nil && (sha != want || size != int64(len(content))) {
				err = errors.New("wrong digest or size")
			}
			if err != nil {
				errs <- err
				return
			}
			// A reader racing the writers sees the whole blob or nothing.
			f, err := s.Open(sha)
			if err != nil {
				errs <- err
				return
			}
			defer f.Close()
			b, err := io.ReadAll(f)
			if err == nil && !bytes.Equal(b, content) {
				err = errors.New("partial blob visible")
			}
			if err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	assertNoTemps(t, s)
	shard, err := os.ReadDir(filepath.Dir(s.Path(want)))
	if err != nil || len(shard) != 1 {
		t.Fatalf("shard dir holds %d entries, %v", len(shard), err)
	}
}

type failingReader struct{ n int }

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, errors.New("connection reset")
	}
	r.n -= len(p)
	return len(p), nil
}

func TestPutReaderErrorLeavesNothing(t *testing.T) {
	s := newStore(t)
	if _, _, err := s.Put(&failingReader{n: 100000}); err == nil {
		t.Fatal("Put succeeded with a failing reader")
	}
	assertNoTemps(t, s)
	entries, _ := os.ReadDir(filepath.Join(s.Dir(), "sha256"))
	if len(entries) != 0 {
		t.Fatalf("blob dir holds %d entries after a failed Put", len(entries))
	}
}

func TestDelete(t *testing.T) {
	s := newStore(t)
	sha, _, err := s.Put(strings.NewReader("bye"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(sha); err != nil {
		t.Fatal(err)
	}
	if s.Exists(sha) {
		t.Fatal("Exists after Delete")
	}
	if _, err := s.Open(sha); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Open after Delete = %v, want fs.ErrNotExist", err)
	}
	if err := s.Delete(sha); err != nil {
		t.Fatalf("second Delete = %v, want nil", err)
	}
	// Content can be put again after deletion.
	if _, _, err := s.Put(strings.NewReader("bye")); err != nil || !s.Exists(sha) {
		t.Fatalf("re-Put after Delete: %v", err)
	}
}

func TestInvalidDigest(t *testing.T) {
	s := newStore(t)
	good := digest([]byte("x"))
	for _, bad := range []string{
		"",
		"../../etc/passwd",
		strings.ToUpper(good),
		good[:63],
		good + "0",
		"../" + good[3:],
		strings.Repeat("g", 64),
	} {
		if s.Exists(bad) {
			t.Errorf("Exists(%q) = true", bad)
		}
		if _, err := s.Open(bad); !errors.Is(err, ErrInvalidDigest) {
			t.Errorf("Open(%q) = %v, want ErrInvalidDigest", bad, err)
		}
		if err := s.Delete(bad); !errors.Is(err, ErrInvalidDigest) {
			t.Errorf("Delete(%q) = %v, want ErrInvalidDigest", bad, err)
		}
		if p := s.Path(bad); !strings.HasPrefix(p, s.Dir()+string(filepath.Separator)) || strings.Contains(p, "sha256") {
			t.Errorf("Path(%q) = %q escapes the blob tree", bad, p)
		}
	}
}

func TestNewRemovesStaleTemps(t *testing.T) {
	s := newStore(t)
	old := filepath.Join(s.tmpDir(), "put-old")
	young := filepath.Join(s.tmpDir(), "put-young")
	for _, p := range []string{old, young} {
		if err := os.WriteFile(p, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	past := time.Now().Add(-2 * staleTempAge)
	if err := os.Chtimes(old, past, past); err != nil {
		t.Fatal(err)
	}
	if _, err := New(s.Dir()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(old); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("stale temp survived: %v", err)
	}
	if _, err := os.Stat(young); err != nil {
		t.Errorf("young temp removed: %v", err)
	}
}

func TestSweepKeepsReferencedAndYoung(t *testing.T) {
	s, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	kept, _, _ := s.Put(strings.NewReader("kept"))
	old, _, _ := s.Put(strings.NewReader("old"))
	young, _, _ := s.Put(strings.NewReader("young"))
	past := time.Now().Add(-2 * time.Hour)
	for _, sha := range []string{kept, old} {
		os.Chtimes(s.Path(sha), past, past)
	}
	n, err := s.Sweep(func(sha string) bool { return sha == kept }, time.Now().Add(-time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("Sweep = %d, %v; want 1 removed", n, err)
	}
	if !s.Exists(kept) || s.Exists(old) || !s.Exists(young) {
		t.Fatalf("after sweep: kept %v old %v young %v", s.Exists(kept), s.Exists(old), s.Exists(young))
	}
	// Putting existing content again makes it young: a record about to reference
	// it is protected by the grace period.
	os.Chtimes(s.Path(kept), past, past)
	s.Put(strings.NewReader("kept"))
	if n, _ := s.Sweep(func(string) bool { return false }, time.Now().Add(-time.Hour)); n != 0 || !s.Exists(kept) {
		t.Fatalf("a re-put blob was swept (removed %d)", n)
	}
}
