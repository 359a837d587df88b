package runtime

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/sluice-dev/sluice/internal/runtime/shims"
)

// TestManagedRuntimes runs Node.js and Python handlers through the embedded runtime
// clients (internal/runtime/shims), as the server wires them.
func TestManagedRuntimes(t *testing.T) {
	installed, err := shims.Install(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	p, _ := newTestPool(t, func(o *Options) { o.Shims = installed })
	var files []zipFile
	for _, name := range []string{"app.py", "index.mjs"} {
		data, err := os.ReadFile(filepath.Join("testdata", "managed", name))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, zipFile{name, data, 0o644})
	}
	zipPath := filepath.Join(t.TempDir(), "managed.zip")
	sha, err := writeZip(zipPath, files)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		runtime, handler, program string
		failType                  string
	}{
		{"python3.11", "app.handler", "python3", "ValueError"},
		{"nodejs20.x", "index.handler", "node", "TypeError"},
	}
	for _, tt := range tests {
		t.Run(tt.runtime, func(t *testing.T) {
			if _, err := exec.LookPath(tt.program); err != nil {
				t.Skipf("%s not installed", tt.program)
			}
			spec := goSpec("managed-"+tt.program, codeZip{zipPath, sha})
			spec.Runtime, spec.Handler = tt.runtime, tt.handler
			var first struct {
				Runtime, RequestID, Env string
				PID, Count              int
			}
			for i := 1; i <= 2; i++ {
				res := invoke(t, p, spec, `{"op":"hello"}`, true)
				var r struct {
					Runtime   string `json:"runtime"`
					PID       int    `json:"pid"`
					Count     int    `json:"count"`
					RequestID string `json:"requestId"`
					Env       string `json:"env"`
				}
				if res.FunctionError != "" || json.Unmarshal(res.Payload, &r) != nil {
					t.Fatalf("invoke %d: %q %s\nlogs:\n%s", i, res.FunctionError, res.Payload, res.LogTail)
				}
				if r.Count != i || r.RequestID != res.RequestID || r.Env != "AWS_Lambda_"+tt.runtime {
					t.Errorf("invoke %d: %+v", i, r)
				}
				if i == 1 {
					first.PID = r.PID
				} else if r.PID != first.PID {
					t.Errorf("warm invoke ran in a new process")
				}
				if !bytes.Contains(res.LogTail, []byte(" got hello")) {
					t.Errorf("handler output missing from the log tail:\n%s", res.LogTail)
				}
			}
			res := invoke(t, p, spec, `{"op":"fail"}`, false)
			if res.FunctionError != "Unhandled" || errorTypeOf(res.Payload, "") != tt.failType {
				t.Errorf("failing handler: %q %s", res.FunctionError, res.Payload)
			}

			// A handler module that does not exist fails init; the shim reports it on
			// /init/error and the invocation returns that error.
			broken := *spec
			broken.Key += ":broken"
			broken.FunctionName += "-broken"
			broken.Handler = "nope.handler"
			res = invoke(t, p, &broken, `{}`, false)
			if res.FunctionError != "Unhandled" || errorTypeOf(res.Payload, "") != "Runtime.ImportModuleError" {
				t.Errorf("missing module: %q %s", res.FunctionError, res.Payload)
			}
		})
	}
}
