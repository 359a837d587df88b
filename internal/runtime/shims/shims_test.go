package shims

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestSupported(t *testing.T) {
	for _, tt := range []struct {
		runtime string
		want    bool
	}{
		{"nodejs18.x", true}, {"nodejs20.x", true}, {"nodejs22.x", true},
		{"python3.9", true}, {"python3.13", true},
		{"provided.al2023", false}, {"java21", false}, {"", false}, {"nodejs", false},
	} {
		if got := Supported(tt.runtime); got != tt.want {
			t.Errorf("Supported(%q) = %v, want %v", tt.runtime, got, tt.want)
		}
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
	if len(argv) != 2 || filepath.Base(argv[0]) != "node" || argv[1] != filepath.Join(in.Dir, "node", "index.mjs") {
		t.Errorf("Command(nodejs22.x) = %q", argv)
	}
	if _, err := os.Stat(argv[1]); err != nil {
		t.Error(err)
	}
	t.Setenv("PATH", t.TempDir())
	if _, err := in.Command("python3.12"); err == nil {
		t.Error("Command with no python3 on PATH succeeded, want error")
	}
}
