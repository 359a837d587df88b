package runtime

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
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
	// create makes the cgroup without a process (one joins it itself), or ""
	// when limits are advisory.
	create(id string, mb int) string
	// detach removes the cgroup once its processes are gone.
	detach(cg string)
	// peakFile is the file holding the cgroup's peak usage in bytes ("" when
	// advisory).
	peakFile(cg string) string
	// oomKilled reports whether the kernel OOM-killed a process of the cgroup.
	oomKilled(cg string) bool
	close()
}

// detectMemoryLimiter probes for a usable memory cgroup hierarchy.
func detectMemoryLimiter(log *slog.Logger) memoryLimiter {
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	base := fmt.Sprintf("sluice-%d-%x", os.Getpid(), rnd)
	if v1 := "/sys/fs/cgroup/memory"; isFile(filepath.Join(v1, "memory.limit_in_bytes")) {
		removeStaleCgroups(v1)
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
			removeStaleCgroups("/sys/fs/cgroup")
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

// removeStaleCgroups removes the (empty) cgroups left by Sluice processes that died
// without closing their pool. A cgroup with live processes cannot be removed, so
// this never disturbs a running instance.
func removeStaleCgroups(hierarchy string) {
	dirs, _ := filepath.Glob(filepath.Join(hierarchy, "sluice-*"))
	for _, dir := range dirs {
		var pid int
		if _, err := fmt.Sscanf(filepath.Base(dir), "sluice-%d-", &pid); err != nil || pid <= 0 {
			continue
		}
		if syscall.Kill(pid, 0) == nil {
			continue // its owner is alive
		}
		children, _ := os.ReadDir(dir)
		for _, c := range children {
			if c.IsDir() {
				_ = os.Remove(filepath.Join(dir, c.Name()))
			}
		}
		_ = os.Remove(dir)
	}
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

type advisoryMemory struct{}

func (advisoryMemory) attach(string, int, int) string { return "" }
func (advisoryMemory) create(string, int) string      { return "" }
func (advisoryMemory) detach(string)                  {}
func (advisoryMemory) peakFile(string) string         { return "" }
func (advisoryMemory) oomKilled(string) bool          { return false }
func (advisoryMemory) close()                         {}

type cgroupLimiter struct {
	dir string
	v2  bool
	log *slog.Logger
}

func (l *cgroupLimiter) attach(id string, pid, mb int) string {
	cg := l.create(id, mb)
	if cg == "" {
		return ""
	}
	if err := os.WriteFile(filepath.Join(cg, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0o644); err != nil {
		l.log.Warn("memory cgroup: attach process", "err", err)
		_ = os.Remove(cg)
		return ""
	}
	return cg
}

func (l *cgroupLimiter) create(id string, mb int) string {
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

func (l *cgroupLimiter) peakFile(cg string) string {
	if cg == "" {
		return ""
	}
	if l.v2 {
		return filepath.Join(cg, "memory.peak")
	}
	return filepath.Join(cg, "memory.max_usage_in_bytes")
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

// peakMeter reads an instance's peak memory from files kept open for the instance's
// life (re-reading an open cgroup or /proc file costs a few µs, opening it ten times
// more): the larger of the memory cgroup's peak usage (which covers child processes)
// and the main process's VmHWM from /proc/<pid>/status (which also covers memory the
// process touched before it was moved into its cgroup).
type peakMeter struct {
	cgroup *os.File // nil when memory is advisory
	status *os.File // nil when unreadable
	buf    []byte

	// The kernel renders all of /proc/<pid>/status to answer a read (tens of µs, a
	// large part of a warm invoke), so VmHWM is read sparingly: with a cgroup, once
	// (it only adds what was touched before the move into the cgroup); without one,
	// at most every hwmInterval, so a peak reached within that window of the last
	// read shows in the next REPORT line instead.
	hwm     int64
	hwmRead time.Time
}

const hwmInterval = 50 * time.Millisecond

func openPeakMeter(cgroupFile string, pid int) *peakMeter {
	m := &peakMeter{buf: make([]byte, 4096)}
	if cgroupFile != "" {
		m.cgroup, _ = os.Open(cgroupFile)
	}
	m.status, _ = os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	return m
}

// bytes returns the peak in bytes, 0 when unknown. Not safe for concurrent use.
func (m *peakMeter) bytes() int64 {
	if m.cgroup != nil {
		if m.hwmRead.IsZero() {
			m.hwm, m.hwmRead = m.vmHWM(), time.Now()
		}
		return max(m.cgroupPeak(m.buf), m.hwm)
	}
	if now := time.Now(); now.Sub(m.hwmRead) >= hwmInterval {
		m.hwm, m.hwmRead = m.vmHWM(), now
	}
	return m.hwm
}

// cgroupPeak reads the cgroup's peak; it stays readable after the processes exit.
func (m *peakMeter) cgroupPeak(buf []byte) int64 {
	if m.cgroup == nil {
		return 0
	}
	n, _ := m.cgroup.ReadAt(buf, 0)
	v, _ := strconv.ParseInt(strings.TrimSpace(string(buf[:n])), 10, 64)
	return v
}

func (m *peakMeter) vmHWM() int64 {
	if m.status == nil {
		return 0
	}
	n, _ := m.status.ReadAt(m.buf, 0)
	return parseVmHWM(m.buf[:n])
}

func (m *peakMeter) close() {
	if m.cgroup != nil {
		_ = m.cgroup.Close()
	}
	if m.status != nil {
		_ = m.status.Close()
	}
}

// parseVmHWM finds "VmHWM:   12345 kB" in /proc/<pid>/status.
func parseVmHWM(b []byte) int64 {
	i := bytes.Index(b, []byte("VmHWM:"))
	if i < 0 {
		return 0
	}
	rest := b[i+len("VmHWM:"):]
	if j := bytes.IndexByte(rest, '\n'); j >= 0 {
		rest = rest[:j]
	}
	rest = bytes.TrimSpace(bytes.TrimSuffix(bytes.TrimSpace(rest), []byte("kB")))
	kb, _ := strconv.ParseInt(string(rest), 10, 64)
	return kb << 10
}

// maxMemoryUsedMB is the REPORT line's Max Memory Used, in MB rounded up. Called
// only by the goroutine running the instance's current invocation.
func (inst *instance) maxMemoryUsedMB() int64 {
	var b int64
	select {
	case <-inst.exited:
		b = inst.peakAtExit
	default:
		b = inst.peak.bytes()
		if b > 0 {
			inst.lastPeak.Store(b)
		}
	}
	return (b + 1<<20 - 1) >> 20
}
