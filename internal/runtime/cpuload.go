package runtime

import (
	"bytes"
	"math"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// CPU measurements for the adaptive scheduler (sched.go): how busy the host's cores
// are, how many tasks are runnable, and how much CPU time each function process uses.
// All of it comes from files kept open and re-read with pread (a few µs each), never
// once per invocation: the host sampler runs every hostSampleEvery while the
// scheduler is asking for it, and an instance's CPU time is read at most every
// cpuSampleEvery of its invocations' wall time.

const (
	hostSampleEvery = 100 * time.Millisecond
	// hostSampleLinger: the sampler stops after this long without a scheduling
	// decision that needed it, so an idle Sluice does not wake up for it.
	hostSampleLinger = 5 * time.Second
	cpuSampleEvery   = 100 * time.Millisecond
)

// clockTick is the unit of utime/stime in /proc/<pid>/stat (USER_HZ, 100 on every
// Linux architecture Go supports).
const clockTick = 10 * time.Millisecond

// hostLoad samples /proc/stat: the fraction of CPU time spent busy across all CPUs
// and the number of runnable tasks (procs_running), each an EWMA over the recent
// samples. Readers get -1 before the first two samples.
type hostLoad struct {
	busy     atomic.Uint64 // math.Float64bits of the busy fraction EWMA (0..1)
	runnable atomic.Uint64 // math.Float64bits of the runnable tasks EWMA
	demand   atomic.Int64  // UnixNano of the last decision that read the load

	mu      sync.Mutex
	running bool
	stop    <-chan struct{}
	// read is the sampling function (readProcStat; tests replace it).
	read func() (busy, total uint64, runnable int, ok bool)
}

func newHostLoad(stop <-chan struct{}) *hostLoad {
	h := &hostLoad{stop: stop, read: readProcStat}
	h.busy.Store(math.Float64bits(-1))
	h.runnable.Store(math.Float64bits(-1))
	return h
}

// get returns the current estimates (-1: not known yet) and keeps the sampler
// running for a while.
func (h *hostLoad) get() (busy, runnable float64) {
	h.demand.Store(time.Now().UnixNano())
	h.mu.Lock()
	if !h.running {
		h.running = true
		go h.sample()
	}
	h.mu.Unlock()
	return math.Float64frombits(h.busy.Load()), math.Float64frombits(h.runnable.Load())
}

func (h *hostLoad) sample() {
	t := time.NewTicker(hostSampleEvery)
	defer t.Stop()
	prevBusy, prevTotal, _, havePrev := h.read()
	for {
		select {
		case <-h.stop:
			return
		case now := <-t.C:
			if now.Sub(time.Unix(0, h.demand.Load())) > hostSampleLinger {
				h.mu.Lock()
				h.running = false
				h.mu.Unlock()
				// Estimates go stale while nobody samples: forget them.
				h.busy.Store(math.Float64bits(-1))
				h.runnable.Store(math.Float64bits(-1))
				return
			}
		}
		b, tot, run, ok := h.read()
		if !ok {
			continue
		}
		if havePrev && tot > prevTotal {
			frac := float64(b-prevBusy) / float64(tot-prevTotal)
			h.busy.Store(math.Float64bits(ewmaFloat(math.Float64frombits(h.busy.Load()), frac)))
			// procs_running counts the task reading /proc/stat too.
			h.runnable.Store(math.Float64bits(ewmaFloat(math.Float64frombits(h.runnable.Load()), float64(max(run-1, 0)))))
		}
		prevBusy, prevTotal, havePrev = b, tot, true
	}
}

// ewmaFloat weighs a new sample 1/4 (a second of samples forgets the past); a
// negative average means none yet.
func ewmaFloat(avg, sample float64) float64 {
	if avg < 0 {
		return sample
	}
	return avg + (sample-avg)/4
}

var (
	procStatOnce sync.Once
	procStat     *os.File
	procStatMu   sync.Mutex
	procStatBuf  = make([]byte, 16<<10)
)

// readProcStat reads the aggregate "cpu" line (busy = total - idle - iowait, in
// ticks) and procs_running from /proc/stat.
func readProcStat() (busy, total uint64, runnable int, ok bool) {
	procStatOnce.Do(func() { procStat, _ = os.Open("/proc/stat") })
	if procStat == nil {
		return 0, 0, 0, false
	}
	procStatMu.Lock()
	defer procStatMu.Unlock()
	n, _ := procStat.ReadAt(procStatBuf, 0)
	return parseProcStat(procStatBuf[:n])
}

func parseProcStat(b []byte) (busy, total uint64, runnable int, ok bool) {
	line, rest, _ := bytes.Cut(b, []byte("\n"))
	f := bytes.Fields(line)
	if len(f) < 5 || string(f[0]) != "cpu" {
		return 0, 0, 0, false
	}
	var idle uint64
	for i, v := range f[1:] {
		if i >= 8 { // guest and guest_nice are already in user and nice
			break
		}
		x, err := strconv.ParseUint(string(v), 10, 64)
		if err != nil {
			return 0, 0, 0, false
		}
		total += x
		if i == 3 || i == 4 { // idle, iowait
			idle += x
		}
	}
	if i := bytes.Index(rest, []byte("procs_running ")); i >= 0 {
		v := rest[i+len("procs_running "):]
		if j := bytes.IndexByte(v, '\n'); j >= 0 {
			v = v[:j]
		}
		runnable, _ = strconv.Atoi(string(bytes.TrimSpace(v)))
	}
	return total - idle, total, runnable, true
}

// cpuMeter reads one process's CPU time (utime + stime of all its threads) from
// /proc/<pid>/stat, kept open. Not safe for concurrent use: only the goroutine of
// the instance's current invocation uses it.
type cpuMeter struct {
	f   *os.File
	buf [512]byte

	// The window since the last reading: CPU time then, and the invocations and
	// their wall time since.
	lastCPU time.Duration
	marked  bool
	invokes int
	wall    time.Duration
}

func openCPUMeter(pid int) *cpuMeter {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil
	}
	return &cpuMeter{f: f}
}

// cpuTime is the process's CPU time so far, false when unreadable.
func (m *cpuMeter) cpuTime() (time.Duration, bool) {
	n, _ := m.f.ReadAt(m.buf[:], 0)
	return parsePIDStatCPU(m.buf[:n])
}

// parsePIDStatCPU extracts utime + stime (fields 14 and 15) from /proc/<pid>/stat;
// the command name (field 2) may hold spaces and parentheses, so fields are counted
// from its closing parenthesis.
func parsePIDStatCPU(b []byte) (time.Duration, bool) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	f := bytes.Fields(b[i+1:])
	// After ")": state is field 3, so utime (14) is index 11 and stime (15) index 12.
	if len(f) < 13 {
		return 0, false
	}
	u, err1 := strconv.ParseUint(string(f[11]), 10, 64)
	s, err2 := strconv.ParseUint(string(f[12]), 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(u+s) * clockTick, true
}

// observe adds one warm invocation of wall time d and, once the window holds
// cpuSampleEvery of wall time, returns the CPU time per invocation over it.
func (m *cpuMeter) observe(d time.Duration) (perInvoke time.Duration, ok bool) {
	if m == nil {
		return 0, false
	}
	if !m.marked { // the first reading starts the window (init's CPU is not counted)
		if c, ok := m.cpuTime(); ok {
			m.lastCPU, m.marked = c, true
		}
		return 0, false
	}
	m.invokes++
	m.wall += d
	if m.wall < cpuSampleEvery {
		return 0, false
	}
	c, ok := m.cpuTime()
	if !ok {
		return 0, false
	}
	perInvoke = (c - m.lastCPU) / time.Duration(m.invokes)
	m.lastCPU, m.invokes, m.wall = c, 0, 0
	return perInvoke, true
}

func (m *cpuMeter) close() {
	if m != nil {
		_ = m.f.Close()
	}
}
