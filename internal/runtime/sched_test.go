package runtime

import (
	"math"
	"testing"
	"time"
)

// The scheduler's decision is a pure function of the measured durations, the host's
// load and the occupancy; no timing is asserted.
func TestQueueForDecision(t *testing.T) {
	p := &Pool{}
	live := hostCores
	cases := []struct {
		name  string
		sched string
		ks    keySched
		queue bool
	}{
		{"nothing measured yet", SchedulerQueue, keySched{live: live, busy: live}, false},
		{"fewer instances than cores", SchedulerQueue, keySched{live: hostCores - 1, busy: hostCores - 1, invoke: time.Millisecond, init: time.Second}, false},
		{"short invokes, slow init: wait", SchedulerQueue, keySched{live: live, busy: live, invoke: time.Millisecond, init: 50 * time.Millisecond}, true},
		{"long invokes: start one", SchedulerQueue, keySched{live: live, busy: live, invoke: time.Second, init: 50 * time.Millisecond}, false},
		{"a long queue: start one", SchedulerQueue, keySched{live: live, busy: live, invoke: time.Millisecond, init: 5 * time.Millisecond,
			waiters: make([]*waiter, 100)}, false},
		{"spawn policy", SchedulerSpawn, keySched{live: live, busy: live, invoke: time.Millisecond, init: time.Second}, false},
	}
	for _, c := range cases {
		p.opts.Scheduler = c.sched
		if got := p.queueFor(&c.ks) > 0; got != c.queue {
			t.Errorf("%s: queue = %v, want %v", c.name, got, c.queue)
		}
	}
}

// TestAdaptiveDecision covers the adaptive policy: CPU-busy instances on saturated
// cores stop spawning at the cores' count, I/O-bound ones scale out however busy the
// host is, and every wait is bounded.
func TestAdaptiveDecision(t *testing.T) {
	const cores = 2
	// A fast CPU-bound function (~0.3 ms a round trip, 0.1 ms of it on the CPU) and
	// an I/O-bound one (50 ms, nearly all of it asleep).
	fast := schedInput{policy: SchedulerAdaptive, live: cores, busy: cores, cores: cores,
		invoke: 300 * time.Microsecond, init: 5 * time.Millisecond, cpu: 100 * time.Microsecond,
		hostBusy: 1, runnable: 6}
	io := fast
	io.invoke, io.cpu = 50*time.Millisecond, 200*time.Microsecond
	with := func(in schedInput, f func(*schedInput)) schedInput { f(&in); return in }

	cases := []struct {
		name string
		in   schedInput
		// want: 0 = start an instance now; otherwise the wait bound.
		want time.Duration
	}{
		{"fewer instances than cores: start one", with(fast, func(in *schedInput) { in.live, in.busy = 1, 1 }), 0},
		{"first burst, nothing measured: wait a prior init for the starting ones",
			with(fast, func(in *schedInput) { in.invoke, in.init, in.cpu = 0, 0, 0 }), priorInit},
		{"CPU-busy on saturated cores, 60 queued: wait 2 × expected wait",
			with(fast, func(in *schedInput) { in.waiters = 60 }), 2 * 300 * time.Microsecond * 61 / cores},
		{"CPU-busy on saturated cores, none queued: wait 2 × init", fast, 10 * time.Millisecond},
		{"CPU-busy on saturated cores, huge queue: wait at most maxSaturatedWait",
			with(fast, func(in *schedInput) { in.waiters = 100000 }), maxSaturatedWait},
		{"CPU-busy, cores to spare, long queue: start one (expected wait > init)",
			with(fast, func(in *schedInput) { in.hostBusy, in.waiters = 0.5, 100 }), 0},
		{"CPU-busy, host load unknown, long queue: start one",
			with(fast, func(in *schedInput) { in.hostBusy, in.runnable, in.waiters = -1, -1, 100 }), 0},
		{"I/O-bound on saturated cores: start one (the old prototype waited here)", io, 0},
		{"I/O-bound on saturated cores, 30 queued: start one", with(io, func(in *schedInput) { in.waiters = 30 }), 0},
		{"I/O-bound, 500 busy: one is due sooner than a cold start, wait at most init",
			with(io, func(in *schedInput) { in.live, in.busy = 500, 500 }), 5 * time.Millisecond},
		{"I/O-bound, CPU time not measured yet: the wall time decides", with(io, func(in *schedInput) { in.cpu = 0 }), 0},
		{"a long CPU-bound invoke stretched by contention is not I/O",
			with(fast, func(in *schedInput) {
				in.invoke, in.cpu, in.init, in.runnable = 400*time.Millisecond, 100*time.Millisecond, 5*time.Millisecond, 8
			}), min(2*400*time.Millisecond/cores, maxSaturatedWait)},
		{"spawn policy never waits", with(fast, func(in *schedInput) { in.policy = SchedulerSpawn }), 0},
		{"queue policy ignores host load: 40 queued is longer than init",
			with(fast, func(in *schedInput) { in.policy, in.waiters = SchedulerQueue, 40 }), 0},
	}
	for _, c := range cases {
		if got := schedDecide(c.in); got != c.want {
			t.Errorf("%s: wait = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestIOBound(t *testing.T) {
	cases := []struct {
		name        string
		invoke, cpu time.Duration
		runnable    float64
		cores       int
		want        bool
	}{
		{"sleeps 50 ms", 50 * time.Millisecond, time.Millisecond, 2, 2, true},
		{"fast round trip is never I/O", 800 * time.Microsecond, 0, 2, 2, false},
		{"computes 20 ms of 22", 22 * time.Millisecond, 20 * time.Millisecond, 2, 2, false},
		{"computes 20 ms, stretched to 80 by 8 runnable on 2 cores", 80 * time.Millisecond, 20 * time.Millisecond, 8, 2, false},
		{"half asleep", 40 * time.Millisecond, 20 * time.Millisecond, 1, 2, true},
	}
	for _, c := range cases {
		in := schedInput{invoke: c.invoke, cpu: c.cpu, runnable: c.runnable, cores: c.cores}
		if got := ioBound(in); got != c.want {
			t.Errorf("%s: ioBound = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestParseProcStat(t *testing.T) {
	b := []byte("cpu  100 5 50 800 20 1 4 0 0 0\ncpu0 50 2 25 400 10 0 2 0 0 0\nintr 1 2\nctxt 9\nprocs_running 3\nprocs_blocked 0\n")
	busy, total, run, ok := parseProcStat(b)
	if !ok || total != 980 || busy != 160 || run != 3 {
		t.Fatalf("parseProcStat = %d %d %d %v, want 160 980 3 true", busy, total, run, ok)
	}
	if _, _, _, ok := parseProcStat([]byte("garbage")); ok {
		t.Fatal("parseProcStat accepted garbage")
	}
}

func TestParsePIDStatCPU(t *testing.T) {
	// The command name may contain spaces and parentheses.
	b := []byte("4242 (my (odd) fn) S 1 4242 4242 0 -1 4194560 500 0 0 0 7 3 0 0 20 0 8 0 123 0 0")
	d, ok := parsePIDStatCPU(b)
	if !ok || d != 10*clockTick {
		t.Fatalf("parsePIDStatCPU = %v %v, want %v", d, ok, 10*clockTick)
	}
	if _, ok := parsePIDStatCPU([]byte("4242 (x) S 1")); ok {
		t.Fatal("short stat accepted")
	}
}

func TestHostLoadEWMA(t *testing.T) {
	h := newHostLoad(nil)
	if b, r := math.Float64frombits(h.busy.Load()), math.Float64frombits(h.runnable.Load()); b >= 0 || r >= 0 {
		t.Fatalf("estimates before any sample: %v %v, want negative", b, r)
	}
	if got := ewmaFloat(-1, 0.5); got != 0.5 {
		t.Fatalf("first sample = %v", got)
	}
	if got := ewmaFloat(1, 0); got != 0.75 {
		t.Fatalf("ewma(1, 0) = %v, want 0.75", got)
	}
}
