package shims

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestSupported(t *testing.T) {
	for _, tt := range []struct {
		runtime string
		want    bool
	}{
		{"nodejs18.x", true}, {"nodejs20.x", true}, {"nodejs22.x", true},
		{"nodejs24.x", true}, {"python3.9", true}, {"python3.13", true}, {"python3.14", true}, {"ruby3.4", true},
		{"provided.al2023", false}, {"java21", false}, {"", false}, {"nodejs", false},
	} {
		if got := Supported(tt.runtime); got != tt.want {
			t.Errorf("Supported(%q) = %v, want %v", tt.runtime, got, tt.want)
		}
	}
}

func TestRuntimeAvailable(t *testing.T) {
	if err := RuntimeAvailable("provided.al2"); err != nil {
		t.Errorf("provided.al2: %v", err)
	}
	for rt, want := range map[string]string{"java21": "JVM", "dotnet8": ".NET", "go1.x": "no runtime client"} {
		if err := RuntimeAvailable(rt); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("RuntimeAvailable(%s) = %v, want it to mention %q", rt, err, want)
		}
	}
	t.Setenv("PATH", t.TempDir())
	if err := RuntimeAvailable("python3.14"); err == nil || !strings.Contains(err.Error(), `"python3" is not on PATH`) {
		t.Errorf("python3.14 without python3 on PATH: %v", err)
	}
}

func TestInstallIsIdempotentAndRepairs(t *testing.T) {
	dir := t.TempDir()
	in, err := Install(dir)
	if err != nil {
		t.Fatal(err)
	}
	node := filepath.Join(in.Dir, NodeClient)
	want, err := embedded.ReadFile(NodeClient)
	if err != nil {
		t.Fatal(err)
	}
	st1, err := os.Stat(node)
	if err != nil {
		t.Fatal(err)
	}
	// Unchanged files are not rewritten.
	old := time.Now().Add(-time.Hour)
	os.Chtimes(node, old, old)
	if _, err := Install(dir); err != nil {
		t.Fatal(err)
	}
	if st2, _ := os.Stat(node); !st2.ModTime().Before(st1.ModTime()) {
		t.Errorf("unchanged client was rewritten")
	}
	// A damaged file is replaced.
	os.WriteFile(node, []byte("garbage"), 0o644)
	if _, err := Install(dir); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(node); string(got) != string(want) {
		t.Errorf("damaged client not repaired")
	}
	entries, _ := os.ReadDir(filepath.Dir(node))
	if len(entries) != 1 {
		t.Errorf("leftover files in %s: %v", filepath.Dir(node), entries)
	}
}

func TestCommand(t *testing.T) {
	in := installed(t)
	if _, err := in.Command("provided.al2023"); err == nil {
		t.Error("Command(provided.al2023) succeeded, want error")
	}
	if _, err := in.Command("cobol1.0"); err == nil {
		t.Error("Command(cobol1.0) succeeded, want error")
	}
	argv, err := in.Command("nodejs22.x")
	if err != nil {
		t.Skip(err)
	}
	client := filepath.Join(in.Dir, "node", "index.mjs")
	if want := []string{argv[0], "--expose-gc", "--max-http-header-size", "81920", client}; filepath.Base(argv[0]) != "node" || !slices.Equal(argv, want) {
		t.Errorf("Command(nodejs22.x) = %q, want %q", argv, want)
	}
	if _, err := os.Stat(client); err != nil {
		t.Error(err)
	}
	argv, _ = in.CommandFor("nodejs20.x", 256)
	if want := []string{argv[0], "--expose-gc", "--max-http-header-size", "81920",
		"--max-semi-space-size=12", "--max-old-space-size=231", client}; !slices.Equal(argv, want) {
		t.Errorf("CommandFor(nodejs20.x, 256) = %q, want %q", argv, want)
	}
	if argv, err := in.CommandFor("python3.11", 256); err == nil && (len(argv) != 2 || argv[1] != filepath.Join(in.Dir, "python", "bootstrap.py")) {
		t.Errorf("CommandFor(python3.11, 256) = %q", argv)
	}
	t.Setenv("PATH", t.TempDir())
	if _, err := in.Command("python3.12"); err == nil {
		t.Error("Command with no python3 on PATH succeeded, want error")
	}
}

func TestEnv(t *testing.T) {
	tests := []struct {
		runtime string
		want    []string
	}{
		{"nodejs20.x", []string{"AWS_EXECUTION_ENV=AWS_Lambda_nodejs20.x", "NODE_PATH=/code"}},
		{"python3.12", []string{"AWS_EXECUTION_ENV=AWS_Lambda_python3.12"}},
		{"provided.al2023", nil},
	}
	for _, tt := range tests {
		if got := Env(tt.runtime, "/code"); !slices.Equal(got, tt.want) {
			t.Errorf("Env(%s) = %q, want %q", tt.runtime, got, tt.want)
		}
	}
}

// Both clients exit with status 1 once the Runtime API is gone (the sandbox is
// being torn down), instead of spinning on /invocation/next.
func TestExitsWhenRuntimeAPIGoesAway(t *testing.T) {
	in := installed(t)
	tests := []struct{ runtime, codeDir, handler string }{
		{nodeRuntime, "testdata/node/cjs", "index.asyncHandler"},
		{pythonRuntime, "testdata/python/basic", "app.ok"},
	}
	for _, tt := range tests {
		t.Run(tt.runtime, func(t *testing.T) {
			t.Parallel()
			api, p := start(t, in, tt.runtime, tt.codeDir, tt.handler)
			api.invoke("last", `{}`)
			api.next(t, p)
			api.goAway()
			if code := exitCode(p.wait(t)); code != 1 {
				t.Errorf("exit code = %d, want 1", code)
			}
		})
	}
}
