package runtime

import (
	"archive/zip"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestUnzip(t *testing.T) {
	tests := []struct {
		name    string
		entries []zip.FileHeader
		wantErr error
		check   func(t *testing.T, dir string)
	}{
		{
			name: "keeps the executable bit",
			entries: []zip.FileHeader{
				{Name: "bootstrap"}, {Name: "lib/data.txt"},
			},
			check: func(t *testing.T, dir string) {
				fi, err := os.Stat(filepath.Join(dir, "bootstrap"))
				if err != nil || fi.Mode().Perm() != 0o755 {
					t.Errorf("bootstrap mode %v, err %v", fi.Mode(), err)
				}
				fi, err = os.Stat(filepath.Join(dir, "lib", "data.txt"))
				if err != nil || fi.Mode().Perm() != 0o644 {
					t.Errorf("data.txt mode %v, err %v", fi.Mode(), err)
				}
			},
		},
		{name: "parent escape", entries: []zip.FileHeader{{Name: "../evil"}}, wantErr: errUnsafePath},
		{name: "nested escape", entries: []zip.FileHeader{{Name: "a/../../evil"}}, wantErr: errUnsafePath},
		{name: "absolute path", entries: []zip.FileHeader{{Name: "/etc/evil"}}, wantErr: errUnsafePath},
		{name: "symlink out", entries: []zip.FileHeader{{Name: "link"}}, wantErr: errUnsafePath},
		{
			name:    "symlink inside",
			entries: []zip.FileHeader{{Name: "lib/real.txt"}, {Name: "inside"}},
			check: func(t *testing.T, dir string) {
				if target, err := os.Readlink(filepath.Join(dir, "inside")); err != nil || target != "lib/real.txt" {
					t.Errorf("symlink = %q, %v", target, err)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			zw := zip.NewWriter(&buf)
			for _, h := range tt.entries {
				h := h
				body := []byte("content")
				switch h.Name {
				case "bootstrap":
					h.SetMode(0o755)
				case "link":
					h.SetMode(os.ModeSymlink | 0o777)
					body = []byte("../../etc/passwd")
				case "inside":
					h.SetMode(os.ModeSymlink | 0o777)
					body = []byte("lib/real.txt")
				default:
					h.SetMode(0o644)
				}
				w, err := zw.CreateHeader(&h)
				if err != nil {
					t.Fatal(err)
				}
				w.Write(body)
			}
			zw.Close()
			root := t.TempDir()
			zipPath := filepath.Join(root, "code.zip")
			os.WriteFile(zipPath, buf.Bytes(), 0o644)
			dir := filepath.Join(root, "out", "code")
			os.MkdirAll(dir, 0o755)
			err := unzip(zipPath, dir)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("unzip err = %v, want %v", err, tt.wantErr)
			}
			if _, err := os.Stat(filepath.Join(root, "out", "evil")); err == nil {
				t.Error("an entry escaped the code directory")
			}
			if tt.check != nil {
				tt.check(t, dir)
			}
		})
	}
}

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
