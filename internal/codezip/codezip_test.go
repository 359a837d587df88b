package codezip

import (
	"archive/zip"
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// entry is one zip member: a file, a directory (name ends in "/") or a symlink.
type entry struct {
	name, body string
	mode       fs.FileMode
}

func link(name, target string) entry {
	return entry{name: name, body: target, mode: fs.ModeSymlink | 0o777}
}
func file(name, body string) entry { return entry{name: name, body: body, mode: 0o644} }

func buildZip(t testing.TB, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
		h.SetMode(e.mode)
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(e.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// extractInto writes the zip to a file and extracts it under base/a/b/code, so an
// escape of up to three levels lands somewhere the test can see.
func extractInto(t *testing.T, data []byte, opts Options) (base, dir string, err error) {
	t.Helper()
	base = t.TempDir()
	zipPath := filepath.Join(base, "code.zip")
	if err := os.WriteFile(zipPath, data, 0o600); err != nil {
		t.Fatal(err)
	}
	dir = filepath.Join(base, "a", "b", "code")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return base, dir, Extract(zipPath, dir, opts)
}

// escaped reports files written outside dir under base.
func escaped(t *testing.T, base, dir string) []string {
	var out []string
	filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == filepath.Join(base, "code.zip") || d.IsDir() || strings.HasPrefix(p, dir+string(filepath.Separator)) {
			return nil
		}
		out = append(out, p)
		return nil
	})
	return out
}

func TestExtractRefusesEscapes(t *testing.T) {
	tests := []struct {
		name    string
		entries []entry
	}{
		{"parent", []entry{file("../evil", "x")}},
		{"nested parent", []entry{file("a/../../evil", "x")}},
		{"absolute", []entry{file("/etc/evil", "x")}},
		{"backslash parent", []entry{file(`..\evil`, "x")}},
		{"symlink out", []entry{link("l", "../../evil"), file("l/x", "x")}},
		{"absolute symlink", []entry{link("l", "/etc")}},
		// The review's attack: each link is lexically inside, the chain is not.
		{"symlink chain", []entry{link("t", "."), link("s", "t/.."), file("s/evil", "x")}},
		{"symlink chain climbing", []entry{
			link("t", "."), link("s", "t/.."), link("s2", "s/t/.."), link("s3", "s2/t/.."), file("s3/evil", "x"),
		}},
		{"symlink then file through it", []entry{link("d", "."), link("e", "d/../.."), file("e/evil", "x")}},
		{"dangling link resolved later", []entry{link("l", "t/../.."), link("t", "."), file("l/evil", "x")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base, dir, err := extractInto(t, buildZip(t, tt.entries...), Options{})
			var zerr *Error
			if !errors.As(err, &zerr) {
				t.Fatalf("Extract = %v, want a package *Error", err)
			}
			if out := escaped(t, base, dir); len(out) > 0 {
				t.Fatalf("entries escaped the code directory: %v", out)
			}
		})
	}
}

func TestExtractKeepsModesAndInnerLinks(t *testing.T) {
	data := buildZip(t,
		entry{name: "bootstrap", body: "#!/bin/sh\n", mode: 0o755},
		file("lib/real.txt", "content"),
		link("inside", "lib/real.txt"),
		link("lib/up", "../bootstrap"),
		entry{name: "empty/", mode: fs.ModeDir | 0o755},
	)
	_, dir, err := extractInto(t, data, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "bootstrap")); err != nil || fi.Mode().Perm()&0o100 == 0 {
		t.Errorf("bootstrap mode %v, %v", fi.Mode(), err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "lib", "real.txt")); err != nil || fi.Mode().Perm()&0o111 != 0 {
		t.Errorf("real.txt mode %v, %v", fi.Mode(), err)
	}
	if got, err := os.ReadFile(filepath.Join(dir, "inside")); err != nil || string(got) != "content" {
		t.Errorf("inside = %q, %v", got, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "empty")); err != nil {
		t.Error(err)
	}
}

func TestExtractRefusesDuplicateEntry(t *testing.T) {
	_, _, err := extractInto(t, buildZip(t, file("a", "1"), file("a", "2")), Options{})
	var zerr *Error
	if !errors.As(err, &zerr) {
		t.Fatalf("Extract = %v, want a package error", err)
	}
}

func TestCheck(t *testing.T) {
	zeros := strings.Repeat("\x00", 64<<20) // 64 MB that deflates to ~64 KB
	tests := []struct {
		name string
		data []byte
		lim  Limits
		want string // "" means accepted
	}{
		{"ok", buildZip(t, file("index.js", "exports.handler=1")), Limits{}, ""},
		{"not a zip", []byte("hello"), Limits{}, "Could not unzip uploaded file. Please check your file, then try to upload again."},
		{"empty", buildZip(t), Limits{}, "Uploaded file must be a non-empty zip"},
		{"only dirs", buildZip(t, entry{name: "d/", mode: fs.ModeDir | 0o755}), Limits{}, "Uploaded file must be a non-empty zip"},
		{"unsafe name", buildZip(t, file("../x", "")), Limits{}, "Could not unzip uploaded file. Please check your file, then try to upload again."},
		{"too large", buildZip(t, file("a", strings.Repeat("x", 2048))), Limits{MaxUnzippedBytes: 1024}, "Unzipped size must be smaller than 262144000 bytes"},
		{"too many files", buildZip(t, file("a", ""), file("b", ""), file("c", "")), Limits{MaxFiles: 2}, "more than 2 entries"},
		{"zip bomb ratio", buildZip(t, file("zeros", zeros)), Limits{}, "expands more than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Check(bytes.NewReader(tt.data), int64(len(tt.data)), tt.lim)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Check = %v", err)
				}
				return
			}
			var zerr *Error
			if !errors.As(err, &zerr) || !strings.Contains(zerr.Message, tt.want) {
				t.Fatalf("Check = %v, want %q", err, tt.want)
			}
		})
	}
}

// A header that understates an entry's size must not let more bytes through than
// the budget: archive/zip stops at the declared size with ErrFormat.
func TestExtractLyingHeader(t *testing.T) {
	data := buildZip(t, file("big", strings.Repeat("y", 1<<20)))
	// Patch the central directory's and local header's uncompressed size to 10.
	zr, _ := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	f := zr.File[0]
	off, _ := f.DataOffset()
	_ = off
	patched := bytes.ReplaceAll(data, le32(uint32(f.UncompressedSize64)), le32(10))
	_, dir, err := extractInto(t, patched, Options{})
	if err == nil {
		t.Fatal("an archive with a lying size header was extracted")
	}
	if fi, statErr := os.Stat(filepath.Join(dir, "big")); statErr == nil && fi.Size() > 10 {
		t.Fatalf("wrote %d bytes past the declared size", fi.Size())
	}
}

func le32(v uint32) []byte { return []byte{byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24)} }

func FuzzCheckAndExtract(f *testing.F) {
	f.Add(buildZip(f, file("index.js", "x")))
	f.Add(buildZip(f, link("t", "."), link("s", "t/.."), file("s/evil", "x")))
	f.Add(buildZip(f, entry{name: "d/", mode: fs.ModeDir | 0o755}, file("d/a", "1")))
	f.Add([]byte("PK\x03\x04"))
	f.Fuzz(func(t *testing.T, data []byte) {
		lim := Limits{MaxUnzippedBytes: 1 << 20, MaxFiles: 100}
		if _, err := Check(bytes.NewReader(data), int64(len(data)), lim); err != nil {
			return
		}
		base := t.TempDir()
		zipPath := filepath.Join(base, "code.zip")
		os.WriteFile(zipPath, data, 0o600)
		dir := filepath.Join(base, "a", "b", "code")
		os.MkdirAll(dir, 0o755)
		_ = Extract(zipPath, dir, Options{Limits: lim})
		if out := escaped(t, base, dir); len(out) > 0 {
			t.Fatalf("entries escaped: %v", out)
		}
	})
}
