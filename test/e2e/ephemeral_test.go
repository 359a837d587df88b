package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// EphemeralStorage from the API sizes the instance's private /tmp (a tmpfs of
// exactly that many MiB when sandboxed), and an update reaches the next instance.
func TestEphemeralStorageSizesTmp(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("a sized /tmp needs the function sandbox (root)")
	}
	s := startSluice(t, startOpts{})
	src := "import os\ndef handler(event, context):\n    st = os.statvfs('/tmp')\n    return {'bytes': st.f_blocks * st.f_frsize}\n"
	zip := filepath.Join(t.TempDir(), "tmp.zip")
	if err := os.WriteFile(zip, zipBytes(t, map[string]zipEntry{"app.py": {data: []byte(src)}}), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := s.createFunction("tmpsize", "python3.12", "app.handler", zip, "--ephemeral-storage", "Size=1024")
	if es, _ := cfg["EphemeralStorage"].(map[string]any); es["Size"] != float64(1024) {
		t.Fatalf("create-function EphemeralStorage = %v", cfg["EphemeralStorage"])
	}
	size := func() float64 {
		t.Helper()
		_, out := s.invokeCLI("tmpsize", `{}`)
		var got struct{ Bytes float64 }
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("invoke = %s", out)
		}
		return got.Bytes
	}
	if got := size(); got != 1024<<20 {
		t.Fatalf("/tmp = %.0f bytes, want %d", got, 1024<<20)
	}
	s.aws("lambda", "update-function-configuration", "--function-name", "tmpsize", "--ephemeral-storage", "Size=2048")
	s.aws("lambda", "wait", "function-updated-v2", "--function-name", "tmpsize")
	if got := size(); got != 2048<<20 {
		t.Fatalf("/tmp after update = %.0f bytes, want %d", got, 2048<<20)
	}
}
