// Package shims owns the runtime clients Sluice ships for the managed Node.js and
// Python runtimes. Lambda runs a nodejs*.x or python3.x function by starting its
// runtime interface client, which loads the user's handler and talks to the Lambda
// Runtime API; Sluice does the same with the machine's node and python3 and the small,
// dependency-free clients embedded here (node/index.mjs, python/bootstrap.py).
//
// The pool calls Install once at start-up and Command per function to get the argv
// of an instance process; the process itself reads AWS_LAMBDA_RUNTIME_API, _HANDLER
// and LAMBDA_TASK_ROOT from its environment, as on Lambda.
package shims

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
)

//go:embed node/index.mjs python/bootstrap.py
var embedded embed.FS

// Paths of the clients inside an install directory.
const (
	NodeClient   = "node/index.mjs"
	PythonClient = "python/bootstrap.py"
)

// interpreter is how one family of runtimes is started.
type interpreter struct {
	program string // looked up on PATH
	client  string // relative to the install dir
}

var (
	nodeInterpreter   = interpreter{program: "node", client: NodeClient}
	pythonInterpreter = interpreter{program: "python3", client: PythonClient}
)

// runtimes lists the Lambda runtime identifiers served by an embedded client. The
// set matches the managed runtimes Sluice supports (see runtime.FunctionSpec).
var runtimes = map[string]interpreter{
	"nodejs18.x": nodeInterpreter,
	"nodejs20.x": nodeInterpreter,
	"nodejs22.x": nodeInterpreter,
	"python3.9":  pythonInterpreter,
	"python3.10": pythonInterpreter,
	"python3.11": pythonInterpreter,
	"python3.12": pythonInterpreter,
	"python3.13": pythonInterpreter,
}

// Supported reports whether runtime is served by an embedded client. provided.*
// runtimes are not: their bootstrap is the user's own program.
func Supported(runtime string) bool {
	_, ok := runtimes[runtime]
	return ok
}

// Installed is a directory holding the embedded clients.
type Installed struct {
	Dir string
}

// Install writes the embedded clients under dir, creating it if needed. It is
// idempotent and safe to run concurrently (several processes may share dir): each
// file is written to a temporary name and renamed into place, and files whose
// content is already right are left alone, so a running instance never sees a
// half-written client.
func Install(dir string) (*Installed, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("install runtime clients: %w", err)
	}
	err = fs.WalkDir(embedded, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := embedded.ReadFile(name)
		if err != nil {
			return err
		}
		return writeFileAtomic(filepath.Join(abs, filepath.FromSlash(name)), data)
	})
	if err != nil {
		return nil, fmt.Errorf("install runtime clients in %s: %w", abs, err)
	}
	return &Installed{Dir: abs}, nil
}

func writeFileAtomic(path string, data []byte) error {
	if cur, err := os.ReadFile(path); err == nil && bytes.Equal(cur, data) {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// Command returns the argv that starts an instance of runtime: the interpreter,
// resolved on PATH, and the client script. The process must be started with the
// function's code directory as its working directory and the Runtime API
// environment (AWS_LAMBDA_RUNTIME_API, _HANDLER, LAMBDA_TASK_ROOT, ...).
func (i *Installed) Command(runtime string) ([]string, error) {
	in, ok := runtimes[runtime]
	if !ok {
		return nil, fmt.Errorf("runtime %q has no embedded runtime client", runtime)
	}
	program, err := exec.LookPath(in.program)
	if err != nil {
		return nil, fmt.Errorf("runtime %s needs %q on PATH: %w", runtime, in.program, err)
	}
	return []string{program, filepath.Join(i.Dir, filepath.FromSlash(in.client))}, nil
}
