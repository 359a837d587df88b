package runtime

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// killReason says why an instance was killed; the first reason wins.
type killReason int

const (
	killNone    killReason = iota
	killRetired            // replaced by a new key, evicted, or unhealthy
	killIdle               // idle longer than IdleTimeout
	killClosed             // the pool is closing
	killTimeout            // its invocation timed out
)

func (r killReason) String() string {
	switch r {
	case killRetired:
		return "retired"
	case killIdle:
		return "idle"
	case killClosed:
		return "pool closed"
	case killTimeout:
		return "timeout"
	}
	return "exited"
}

// instance is one function process (an "execution environment" in AWS's terms) with
// its own Runtime API listener. It runs one invocation at a time, or up to
// spec.MaxConcurrency at once for a Lambda Managed Instances function (multi.go).
type instance struct {
	pool    *Pool
	spec    *FunctionSpec
	id      string // 32 hex digits, the tail of the log stream name
	stream  string // log stream name
	codeDir string
	// layerDirs are the function's extracted layers, in configured order; a
	// sandboxed instance sees them merged at /opt.
	layerDirs []string

	// Guarded by pool.mu.
	busy     bool
	retired  bool
	lastUsed time.Time
	slotsIn  int // multi: invocations assigned and not yet released

	// Set by start before the instance is used, read-only afterwards.
	cmd      *exec.Cmd
	creds    Credentials  // this instance's own, in its environment
	uid      int          // the sandboxed process's user and group id; 0 when not sandboxed
	startErr *errorObject // the process could not start: reported as an init error
	// poolClosed: the pool closed before the process could start.
	poolClosed bool
	srv        *http.Server
	logs       *logPipe
	spawned    time.Time
	cgroup     string     // memory cgroup directory, "" when memory is advisory
	peak       *peakMeter // reads peak memory use
	cpu        *cpuMeter  // reads the process's CPU time (nil when unreadable)

	// ready is closed once start has returned (multi only; nil otherwise): an
	// instance with free slots is handed to later invocations while it starts.
	ready   chan struct{}
	work    chan *invocation // capacity spec.slots(): invocations for /next
	exited  chan struct{}    // closed when the process has exited and been reaped
	exitErr error            // the process's exit status; valid once exited is closed
	// Also valid once exited is closed: whether the kernel OOM-killed it, and its
	// peak memory (read before its cgroup is removed).
	oomKilled  bool
	peakAtExit int64
	lastPeak   atomic.Int64 // the last peak read while it ran

	mu           sync.Mutex // guards the fields below
	cur          *invocation
	inflight     map[string]*invocation // multi: by request id, instead of cur
	initDone     bool
	initDuration time.Duration
	initErr      []byte // the payload of /init/error, if the runtime posted one
	killed       killReason

	logMu sync.Mutex  // serializes log lines and guards the fields below
	logTo *invocation // the invocation the next log lines belong to
	// logOpen (multi) holds the invocations in flight: output is attributed to one
	// only while it is the only one (logTo), since lines carry no request id.
	logOpen map[*invocation]struct{}
	// initTail keeps the output the process writes before its first invocation is
	// assigned (it starts printing at once), for that invocation's log tail.
	initTail     []byte
	firstPending bool // no invocation assigned yet
}

func (p *Pool) newInstance(spec *FunctionSpec) *instance {
	var b [16]byte
	_, _ = rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	now := time.Now().UTC()
	inst := &instance{
		pool: p,
		spec: spec,
		id:   id,
		// AWS names streams "YYYY/MM/DD/[version]<execution environment id>".
		stream:       fmt.Sprintf("%s/[%s]%s", now.Format("2006/01/02"), spec.Version, id),
		busy:         true,
		lastUsed:     now,
		firstPending: true,
		work:         make(chan *invocation, spec.slots()),
		exited:       make(chan struct{}),
	}
	if spec.multi() {
		inst.ready = make(chan struct{})
		inst.inflight = make(map[string]*invocation, spec.slots())
		inst.logOpen = make(map[*invocation]struct{}, spec.slots())
	}
	return inst
}

// start launches the process. Failures that AWS reports as init errors of the
// invocation (missing or non-executable bootstrap, unsupported runtime) are recorded
// in startErr rather than returned.
func (p *Pool) start(inst *instance, codeDir string) {
	inst.codeDir = codeDir
	for _, l := range inst.spec.Layers {
		dir, err := p.code.extracted(l.SHA256Hex, l.ZipPath)
		if err != nil {
			inst.startErr = &errorObject{Type: "Runtime.Unknown", Message: "Error: layer: " + err.Error()}
			return
		}
		inst.layerDirs = append(inst.layerDirs, dir)
	}
	argv, runtimeDir, errObj := p.command(inst, codeDir)
	if errObj != nil {
		inst.startErr = errObj
		return
	}
	if p.opts.Credentials != nil {
		creds, err := p.opts.Credentials(inst.spec)
		if err != nil {
			inst.startErr = &errorObject{Type: "Runtime.Unknown", Message: "Error: credentials: " + err.Error()}
			return
		}
		inst.creds = creds
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		inst.startErr = &errorObject{Type: "Runtime.Unknown", Message: "Error: listen: " + err.Error()}
		return
	}
	inst.srv = &http.Server{
		Handler:           inst,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          nil,
	}
	serveLn := ln
	if p.sandboxed {
		inst.uid = p.uids.allocate()
		serveLn = ownerListener{Listener: ln, uid: inst.uid}
	}
	go func() { _ = inst.srv.Serve(serveLn) }()

	r, w, err := os.Pipe()
	if err != nil {
		_ = inst.srv.Close()
		inst.startErr = &errorObject{Type: "Runtime.Unknown", Message: "Error: pipe: " + err.Error()}
		return
	}
	var cmd *exec.Cmd
	if p.sandboxed {
		// The memory cgroup exists before the process does, so the sandbox joins it
		// before exec and no child ever runs outside it.
		inst.cgroup = p.memory.create(inst.id, inst.spec.MemoryMB)
		if cmd, err = p.sandboxCommand(inst, argv, codeDir, runtimeDir); err != nil {
			p.memory.detach(inst.cgroup)
			_ = r.Close()
			_ = w.Close()
			_ = inst.srv.Close()
			inst.startErr = &errorObject{Type: "Runtime.Unknown", Message: "Error: sandbox: " + err.Error()}
			return
		}
	} else {
		cmd = exec.Command(argv[0], argv[1:]...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	}
	cmd.Dir = codeDir
	cmd.Env = p.environment(inst, ln.Addr().String(), codeDir, runtimeDir)
	// stdout and stderr share one pipe so lines keep their order, as in CloudWatch.
	cmd.Stdout = w
	cmd.Stderr = w
	// Close waits for running; adding to it must not race with that wait.
	p.mu.Lock()
	closed := p.closed
	if !closed {
		p.running.Add(1)
	}
	p.mu.Unlock()
	if closed {
		_ = r.Close()
		_ = w.Close()
		_ = inst.srv.Close()
		inst.poolClosed = true
		return
	}
	inst.spawned = time.Now()
	err = cmd.Start()
	_ = w.Close()
	if err != nil {
		p.running.Done()
		_ = r.Close()
		_ = inst.srv.Close()
		inst.startErr = entrypointError(err, inst.spec)
		return
	}
	if !p.sandboxed {
		inst.cgroup = p.memory.attach(inst.id, cmd.Process.Pid, inst.spec.MemoryMB)
	}
	inst.peak = openPeakMeter(p.memory.peakFile(inst.cgroup), cmd.Process.Pid)
	if p.load != nil {
		inst.cpu = openCPUMeter(cmd.Process.Pid)
	}
	inst.logs = newLogPipe(r, inst.logLine)
	// Lambda's first line of an execution environment, before any init output.
	inst.logMu.Lock()
	if line, ok := inst.initStartLog(); ok {
		inst.emitLocked(nil, line)
	}
	inst.logMu.Unlock()
	inst.mu.Lock()
	inst.cmd = cmd
	killedEarly := inst.killed != killNone
	inst.mu.Unlock()
	go inst.logs.run()
	go inst.wait()
	p.log.Debug("function instance started", "function", inst.spec.FunctionName, "version", inst.spec.Version,
		"instance", inst.id, "pid", cmd.Process.Pid, "runtime_api", ln.Addr().String())
	if killedEarly { // Close (or an eviction) raced with the start
		inst.signalGroup()
	}
}

// command returns the argv that starts spec's runtime and LAMBDA_RUNTIME_DIR.
func (p *Pool) command(inst *instance, codeDir string) (argv []string, runtimeDir string, errObj *errorObject) {
	spec := inst.spec
	switch {
	case strings.HasPrefix(spec.Runtime, "provided"):
		// /var/task/bootstrap, else /opt/bootstrap: the last layer that has one,
		// as later layers override earlier ones in /opt.
		bootstrap := filepath.Join(codeDir, "bootstrap")
		fi, err := os.Stat(bootstrap)
		for i := len(inst.layerDirs) - 1; i >= 0 && (err != nil || fi.IsDir()); i-- {
			if lfi, lerr := os.Stat(filepath.Join(inst.layerDirs[i], "bootstrap")); lerr == nil && !lfi.IsDir() {
				bootstrap, fi, err = filepath.Join(inst.layerDirs[i], "bootstrap"), lfi, nil
				if p.sandboxed {
					bootstrap = "/opt/bootstrap"
				}
			}
		}
		if err != nil || fi.IsDir() {
			// AWS: {"errorType":"Runtime.InvalidEntrypoint","errorMessage":"RequestId: ... Error:
			// Couldn't find valid bootstrap(s): [/var/task/bootstrap /opt/bootstrap]"}
			return nil, "", &errorObject{Type: "Runtime.InvalidEntrypoint",
				Message: "Error: Couldn't find valid bootstrap(s): [/var/task/bootstrap /opt/bootstrap]"}
		}
		if fi.Mode().Perm()&0o111 == 0 {
			return nil, "", &errorObject{Type: "Runtime.InvalidEntrypoint",
				Message: "Error: fork/exec /var/task/bootstrap: permission denied"}
		}
		return []string{bootstrap}, codeDir, nil
	case isManagedRuntime(spec.Runtime):
		if p.opts.Shims == nil {
			return nil, "", &errorObject{Type: "Runtime.InvalidEntrypoint",
				Message: fmt.Sprintf("Error: runtime %s is not available on this node", spec.Runtime)}
		}
		var argv []string
		var err error
		if sized, ok := p.opts.Shims.(interface {
			CommandFor(runtime string, memoryMB int) ([]string, error)
		}); ok {
			argv, err = sized.CommandFor(spec.Runtime, memoryMB(spec))
		} else {
			argv, err = p.opts.Shims.Command(spec.Runtime)
		}
		if err != nil || len(argv) == 0 {
			msg := "no command"
			if err != nil {
				msg = err.Error()
			}
			return nil, "", &errorObject{Type: "Runtime.InvalidEntrypoint",
				Message: fmt.Sprintf("Error: runtime %s: %s", spec.Runtime, msg)}
		}
		return argv, filepath.Dir(argv[len(argv)-1]), nil
	default:
		return nil, "", &errorObject{Type: "Runtime.InvalidEntrypoint",
			Message: fmt.Sprintf("Error: unsupported runtime %q", spec.Runtime)}
	}
}

func isManagedRuntime(r string) bool {
	return strings.HasPrefix(r, "nodejs") || strings.HasPrefix(r, "python3") || strings.HasPrefix(r, "ruby")
}

// entrypointError turns an exec failure into AWS's Runtime.InvalidEntrypoint error,
// naming the path as AWS does (/var/task is LAMBDA_TASK_ROOT on AWS).
func entrypointError(err error, spec *FunctionSpec) *errorObject {
	msg := err.Error()
	var pe *os.PathError
	if errors.As(err, &pe) && strings.HasPrefix(spec.Runtime, "provided") {
		msg = fmt.Sprintf("fork/exec /var/task/bootstrap: %s", pe.Err)
	}
	return &errorObject{Type: "Runtime.InvalidEntrypoint", Message: "Error: " + msg}
}

// wait reaps the process, kills what is left of its process group, and shuts the
// Runtime API listener.
func (inst *instance) wait() {
	defer inst.pool.running.Done()
	err := inst.cmd.Wait()
	inst.signalGroup() // children the runtime left behind
	inst.exitErr = err
	inst.oomKilled = inst.pool.memory.oomKilled(inst.cgroup)
	inst.peakAtExit = max(inst.lastPeak.Load(), inst.peak.cgroupPeak(make([]byte, 64)))
	close(inst.exited)
	inst.peak.close()
	inst.cpu.close()
	_ = inst.srv.Close()
	inst.pool.memory.detach(inst.cgroup)
	inst.pool.forget(inst)
	inst.pool.log.Debug("function instance exited", "function", inst.spec.FunctionName, "instance", inst.id,
		"status", exitMessage(err), "reason", inst.killReason().String())
}

// forget drops an instance whose process exited while idle.
func (p *Pool) forget(inst *instance) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fs := p.functions[inst.spec.FunctionName]
	if fs == nil || inst.busy {
		return
	}
	if _, ok := fs.all[inst]; !ok {
		return
	}
	stack := fs.idle[inst.spec.Key]
	for i, s := range stack {
		if s == inst {
			fs.idle[inst.spec.Key] = append(stack[:i:i], stack[i+1:]...)
			break
		}
	}
	p.detachLocked(inst)
}

// kill kills the process group. The first reason is kept.
func (inst *instance) kill(reason killReason) {
	inst.mu.Lock()
	if inst.killed == killNone {
		inst.killed = reason
	}
	started := inst.cmd != nil
	inst.mu.Unlock()
	if started {
		inst.signalGroup()
	}
}

func (inst *instance) killReason() killReason {
	inst.mu.Lock()
	defer inst.mu.Unlock()
	return inst.killed
}

func (inst *instance) signalGroup() {
	if inst.cmd == nil || inst.cmd.Process == nil {
		return
	}
	// Setpgid made the process the leader of a group whose id is its pid.
	_ = syscall.Kill(-inst.cmd.Process.Pid, syscall.SIGKILL)
}

// pid is the process id, or 0 when it never started.
func (inst *instance) pid() int {
	if inst.cmd == nil || inst.cmd.Process == nil {
		return 0
	}
	return inst.cmd.Process.Pid
}
