package runtime

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Memory limits. AWS kills a function that exceeds its memory size and reports
// Runtime.OutOfMemory. Sluice enforces that with a memory cgroup per instance when it
// can create one:
//
//   - cgroup v1 with a writable memory hierarchy (/sys/fs/cgroup/memory): each instance
//     gets <hierarchy>/sluice-<pid>/<instance id> with memory.limit_in_bytes set to
//     MemorySize; the kernel's OOM killer enforces it, memory.oom_control's oom_kill
//     counter tells an OOM kill from any other SIGKILL, and memory.max_usage_in_bytes
//     is the REPORT line's Max Memory Used.
//   - cgroup v2 when Sluice runs in the root cgroup with the memory controller
//     available: the same with memory.max, memory.events (oom_kill) and memory.peak.
//   - otherwise the limit is advisory: nothing kills the function, and Max Memory
//     Used is the process's peak RSS (VmHWM in /proc/<pid>/status) — the main
//     process only, not its children.
type memoryLimiter interface {
	// attach puts pid in a new cgroup limited to mb MB and returns its directory,
	// or "" when limits are advisory.
	attach(id string, pid, mb int) string
	// detach removes the cgroup once its processes are gone.
	detach(cg string)
	// peakBytes is the cgroup's peak usage (0 when unknown).
	peakBytes(cg string) int64
	// oomKilled reports whether the kernel OOM-killed a process of the cgroup.
	oomKilled(cg string) bool
	close()
}

// detectMemoryLimiter probes for a usable memory cgroup hierarchy.
func detectMemoryLimiter(log *slog.Logger) memoryLimiter {
	base := fmt.Sprintf("sluice-%d", os.Getpid())
	if v1 := "/sys/fs/cgroup/memory"; isFile(filepath.Join(v1, "memory.limit_in_bytes")) {
		dir := filepath.Join(v1, base)
		if err := os.Mkdir(dir, 0o755); err == nil || os.IsExist(err) {
			log.Debug("memory limits enforced with cgroup v1", "dir", dir)
			return &cgroupLimiter{dir: dir, v2: false, log: log}
		}
	}
	if data, err := os.ReadFile("/sys/fs/cgroup/cgroup.controllers"); err == nil && bytes.Contains(data, []byte("memory")) {
		self, _ := os.ReadFile("/proc/self/cgroup")
		if strings.TrimSpace(string(self)) == "0::/" {
			_ = os.WriteFile("/sys/fs/cgroup/cgroup.subtree_control", []byte("+memory"), 0o644)
			dir := filepath.Join("/sys/fs/cgroup", base)
			if err := os.Mkdir(dir, 0o755); err == nil || os.IsExist(err) {
				if os.WriteFile(filepath.Join(dir, "cgroup.subtree_control"), []byte("+memory"), 0o644) == nil {
					log.Debug("memory limits enforced with cgroup v2", "dir", dir)
					return &cgroupLimiter{dir: dir, v2: true, log: log}
				}
				_ = os.Remove(dir)
			}
		}
	}
	log.Info("memory cgroups unavailable: function memory sizes are advisory (not enforced)")
	return advisoryMemory{}
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

type advisoryMemory struct{}

func (advisoryMemory) attach(string, int, int) string { return "" }
func (advisoryMemory) detach(string)                  {}
func (advisoryMemory) peakBytes(string) int64         { return 0 }
func (advisoryMemory) oomKilled(string) bool          { return false }
func (advisoryMemory) close()                         {}

type cgroupLimiter struct {
	dir string
	v2  bool
	log *slog.Logger
}

func (l *cgroupLimiter) attach(id string, pid, mb int) string {
	if mb <= 0 {
		mb = defaultMemoryMB
	}
	cg := filepath.Join(l.dir, id)
	if err := os.Mkdir(cg, 0o755); err != nil {
		l.log.Warn("memory cgroup: create", "err", err)
		return ""
	}
	limit := strconv.FormatInt(int64(mb)<<20, 10)
	limitFile := "memory.limit_in_bytes"
	if l.v2 {
		limitFile = "memory.max"
		_ = os.WriteFile(filepath.Join(cg, "memory.swap.max"), []byte("0"), 0o644)
	} else {
		_ = os.WriteFile(filepath.Join(cg, "memory.swappiness"), []byte("0"), 0o644)
	}
	if err := os.WriteFile(filepath.Join(cg, limitFile), []byte(limit), 0o644); err != nil {
		l.log.Warn("memory cgroup: set limit", "err", err)
		_ = os.Remove(cg)
		return ""
	}
	if err := os.WriteFile(filepath.Join(cg, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0o644); err != nil {
		l.log.Warn("memory cgroup: attach process", "err", err)
		_ = os.Remove(cg)
		return ""
	}
	return cg
}

func (l *cgroupLimiter) detach(cg string) {
	if cg == "" {
		return
	}
	// The kernel frees a cgroup asynchronously after its last process exits.
	for i := 0; i < 50; i++ {
		if err := os.Remove(cg); err == nil || os.IsNotExist(err) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (l *cgroupLimiter) peakBytes(cg string) int64 {
	if cg == "" {
		return 0
	}
	file := "memory.max_usage_in_bytes"
	if l.v2 {
		file = "memory.peak"
	}
	b, err := os.ReadFile(filepath.Join(cg, file))
	if err != nil {
		return 0
	}
	n, _ := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	return n
}

func (l *cgroupLimiter) oomKilled(cg string) bool {
	if cg == "" {
		return false
	}
	file := "memory.oom_control"
	if l.v2 {
		file = "memory.events"
	}
	b, err := os.ReadFile(filepath.Join(cg, file))
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if n, ok := strings.CutPrefix(line, "oom_kill "); ok {
			v, _ := strconv.Atoi(strings.TrimSpace(n))
			return v > 0
		}
	}
	return false
}

func (l *cgroupLimiter) close() {
	_ = os.Remove(l.dir)
}

// maxMemoryUsedMB is the REPORT line's Max Memory Used, in MB rounded up.
func (inst *instance) maxMemoryUsedMB() int64 {
	var b int64
	select {
	case <-inst.exited:
		b = inst.peakAtExit
	default:
		b = inst.pool.memory.peakBytes(inst.cgroup)
		if b == 0 {
			b = vmHWM(inst.pid())
			if b > 0 {
				inst.lastHWM.Store(b)
			}
		}
	}
	return (b + 1<<20 - 1) >> 20
}

// vmHWM reads a process's peak resident set size from /proc/<pid>/status.
func vmHWM(pid int) int64 {
	if pid <= 0 {
		return 0
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	i := bytes.Index(b, []byte("VmHWM:"))
	if i < 0 {
		return 0
	}
	rest := b[i+len("VmHWM:"):]
	if j := bytes.IndexByte(rest, '\n'); j >= 0 {
		rest = rest[:j]
	}
	f := strings.Fields(string(rest)) // "12345 kB"
	if len(f) == 0 {
		return 0
	}
	kb, _ := strconv.ParseInt(f[0], 10, 64)
	return kb << 10
}
