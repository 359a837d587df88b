// Package shims owns the runtime clients Sluice ships for the managed Node.js,
// Python and Ruby runtimes. Lambda runs a nodejs*.x, python3.x or ruby3.x function by starting its
// runtime interface client, which loads the user's handler and talks to the Lambda
// Runtime API; Sluice does the same with the machine's node, python3 and ruby and the small,
// dependency-free clients embedded here (node/index.mjs, python/bootstrap.py,
// ruby/bootstrap.rb).
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
	"strings"
)

//go:embed node/index.mjs python/bootstrap.py ruby/bootstrap.rb
var embedded embed.FS

// Paths of the clients inside an install directory.
const (
	NodeClient   = "node/index.mjs"
	PythonClient = "python/bootstrap.py"
	RubyClient   = "ruby/bootstrap.rb"
)

// interpreter is how one family of runtimes is started.
type interpreter struct {
	program string // looked up on PATH
	client  string // relative to the install dir
}

var (
	nodeInterpreter   = interpreter{program: "node", client: NodeClient}
	pythonInterpreter = interpreter{program: "python3", client: PythonClient}
	rubyInterpreter   = interpreter{program: "ruby", client: RubyClient}
)

// runtimes lists the Lambda runtime identifiers served by an embedded client. Every
// version of a family runs on the one interpreter the machine has (node, python3),
// (the README says so). Runtimes
// AWS no longer lets anyone create stay here so that existing functions keep running.
var runtimes = map[string]interpreter{
	"nodejs18.x": nodeInterpreter,
	"nodejs20.x": nodeInterpreter,
	"nodejs22.x": nodeInterpreter,
	"nodejs24.x": nodeInterpreter,
	"python3.9":  pythonInterpreter,
	"python3.10": pythonInterpreter,
	"python3.11": pythonInterpreter,
	"python3.12": pythonInterpreter,
	"python3.13": pythonInterpreter,
	"python3.14": pythonInterpreter,
	"ruby3.2":    rubyInterpreter,
	"ruby3.3":    rubyInterpreter,
	"ruby3.4":    rubyInterpreter,
}

// Supported reports whether runtime is served by an embedded client. provided.*
// runtimes are not: their bootstrap is the user's own program.
func Supported(runtime string) bool {
	_, ok := runtimes[runtime]
	return ok
}

// RuntimeAvailable reports whether a function of runtime can run on this machine:
// nil for provided.* (the function brings its bootstrap) and for a managed runtime
// whose interpreter is on PATH, else an error that names what is missing.
func RuntimeAvailable(runtime string) error {
	if strings.HasPrefix(runtime, "provided") {
		return nil
	}
	in, ok := runtimes[runtime]
	if !ok {
		return fmt.Errorf("Sluice has no runtime client for %s%s", runtime, missingHint(runtime))
	}
	if _, err := exec.LookPath(in.program); err != nil {
		return fmt.Errorf("the interpreter %q is not on PATH", in.program)
	}
	return nil
}

// missingHint says what a runtime family Sluice cannot run would need.
func missingHint(runtime string) string {
	switch {
	case strings.HasPrefix(runtime, "java"):
		return " (Java functions need a JVM and the AWS Lambda Java runtime interface client; package them as provided.al2023 with a bootstrap that starts java)"
	case strings.HasPrefix(runtime, "dotnet"):
		return " (.NET functions need the .NET runtime and Amazon.Lambda.RuntimeSupport; publish them as provided.al2023 with a native AOT or self-contained bootstrap)"
	}
	return ""
}

// RuntimeAvailable is the package function, as a method so *Installed serves as the
// lambda service's RuntimeHost.
func (i *Installed) RuntimeAvailable(runtime string) error { return RuntimeAvailable(runtime) }

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
	// Instances run as users of their own: the clients must be readable by them
	// whatever the server's umask.
	err = filepath.WalkDir(abs, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			err = os.Chmod(p, 0o755)
		}
		return err
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
// environment (AWS_LAMBDA_RUNTIME_API, _HANDLER, LAMBDA_TASK_ROOT, ...) plus Env.
func (i *Installed) Command(runtime string) ([]string, error) {
	return i.CommandFor(runtime, 0)
}

// CommandFor is Command for a function with memoryMB of memory. For Node.js it
// adds the V8 flags Lambda's nodejs bootstrap passes, which size the heap from
// the function's memory (new space = memory/10, semi space = half of it, old
// space = the rest) so a handler that outgrows its memory fails with a heap
// error as on Lambda. memoryMB <= 0 leaves the heap at node's defaults.
func (i *Installed) CommandFor(runtime string, memoryMB int) ([]string, error) {
	in, ok := runtimes[runtime]
	if !ok {
		return nil, fmt.Errorf("runtime %q has no embedded runtime client", runtime)
	}
	program, err := exec.LookPath(in.program)
	if err != nil {
		return nil, fmt.Errorf("runtime %s needs %q on PATH: %w", runtime, in.program, err)
	}
	argv := []string{program}
	if in == nodeInterpreter {
		argv = append(argv, "--expose-gc", "--max-http-header-size", "81920")
		if memoryMB > 0 {
			newSpace := memoryMB / 10
			argv = append(argv,
				fmt.Sprintf("--max-semi-space-size=%d", max(newSpace/2, 1)),
				fmt.Sprintf("--max-old-space-size=%d", memoryMB-newSpace))
		}
	}
	return append(argv, filepath.Join(i.Dir, filepath.FromSlash(in.client))), nil
}

// Env returns the runtime-specific variables Lambda sets in a managed runtime,
// for the pool to add to the instance environment (after the standard AWS_*
// ones; a function's own variables may override NODE_PATH, as on Lambda):
// AWS_EXECUTION_ENV=AWS_Lambda_<runtime>, and for Node.js a NODE_PATH ending in
// the task root, so require("lib/x") finds <task root>/lib/x as it does on
// Lambda (/var/task). Unsupported runtimes get nil.
func Env(runtime, taskRoot string) []string {
	in, ok := runtimes[runtime]
	if !ok {
		return nil
	}
	env := []string{"AWS_EXECUTION_ENV=AWS_Lambda_" + runtime}
	switch in {
	case nodeInterpreter:
		env = append(env, "NODE_PATH="+taskRoot)
	case rubyInterpreter:
		// AWS's Ruby runtimes set RUBYLIB=/var/task:/var/runtime/lib:/opt/ruby/lib, so a
		// handler requires its own files by bare name.
		env = append(env, "RUBYLIB="+taskRoot)
	}
	return env
}
