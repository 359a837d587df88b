package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	npmPackagesMu sync.Mutex
	npmPackages   = map[string]string{}
)

// npmPackage copies the Node.js package in src (its package.json, package-lock.json
// and sources, not node_modules) to a build directory and installs its locked
// dependencies from the npm registry with `npm ci`, as a user packaging a function
// would; once per test binary. It returns the directory, ready to zip.
func npmPackage(t *testing.T, src string) string {
	t.Helper()
	if _, err := exec.LookPath("npm"); err != nil {
		t.Fatal("npm is not installed (scripts/install-deps.sh installs it)")
	}
	npmPackagesMu.Lock()
	defer npmPackagesMu.Unlock()
	if dir, ok := npmPackages[src]; ok {
		return dir
	}
	dir := filepath.Join(buildDir, "npm-"+strings.ReplaceAll(strings.Trim(src, "./"), "/", "-"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() || e.Name() == "function.zip" {
			continue
		}
		data, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", "ci", "--omit=dev", "--no-audit", "--no-fund", "--loglevel=error")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm ci in %s: %v\n%s", src, err, out)
	}
	npmPackages[src] = dir
	return dir
}

// copyInto copies file into dir and returns the copy's path.
func copyInto(t *testing.T, file, dir string) string {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, filepath.Base(file))
	if err := os.WriteFile(dst, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return dst
}
