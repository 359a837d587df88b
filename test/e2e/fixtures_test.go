package e2e

import (
	"archive/zip"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

var (
	goZipOnce sync.Once
	goZipPath string
	goZipErr  error
)

// goFunctionZip builds testdata/gofn as a provided.al2023 `bootstrap` and returns
// the path of its deployment zip.
func goFunctionZip(t *testing.T) string {
	t.Helper()
	goZipOnce.Do(func() {
		bin := filepath.Join(buildDir, "gofn-bootstrap")
		cmd := exec.Command("go", "build", "-o", bin, "./testdata/gofn")
		cmd.Env = append(os.Environ(), "GOFLAGS=-buildvcs=false", "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			goZipErr = &buildError{string(out), err}
			return
		}
		data, err := os.ReadFile(bin)
		if err != nil {
			goZipErr = err
			return
		}
		goZipPath = filepath.Join(buildDir, "gofn.zip")
		goZipErr = os.WriteFile(goZipPath, zipBytes(t, map[string]zipEntry{"bootstrap": {data, 0o755}}), 0o644)
	})
	if goZipErr != nil {
		t.Fatalf("build go function: %v", goZipErr)
	}
	return goZipPath
}

type buildError struct {
	out string
	err error
}

func (e *buildError) Error() string { return e.err.Error() + "\n" + e.out }

type zipEntry struct {
	data []byte
	mode os.FileMode
}

func zipBytes(t *testing.T, files map[string]zipEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, f := range files {
		h := &zip.FileHeader{Name: name, Method: zip.Deflate}
		mode := f.mode
		if mode == 0 {
			mode = 0o644
		}
		h.SetMode(mode)
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(f.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// dirZip zips every file of testdata/<dir> and writes it to a temp file.
func dirZip(t *testing.T, dir string) string {
	t.Helper()
	return zipTree(t, filepath.Join("testdata", dir), dir)
}

// emailZip is seed scenario 1's Node.js function, examples/email-service's CodeUri
// (email/: the tests deploy what the example deploys).
func emailZip(t *testing.T) string {
	t.Helper()
	return zipTree(t, filepath.Join("..", "..", "examples", "email-service", "email"), "email-service")
}

// zipTree zips every file under root into a temp file named name.zip.
func zipTree(t *testing.T, root, name string) string {
	t.Helper()
	files := map[string]zipEntry{}
	err := filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		files[rel] = zipEntry{data, info.Mode().Perm()}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), name+".zip")
	if err := os.WriteFile(out, zipBytes(t, files), 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}
