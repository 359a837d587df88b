package runtime

import (
	goruntime "runtime"
	"time"
)

// The instance scheduler decides, when an invocation finds no idle instance of its
// function version, whether to start a new instance (a process) or to wait for a busy
// one to finish. AWS's semantics stay what a function sees: one invocation per
// instance at a time, reserved and account concurrency as hard limits with 429
// throttles, and INIT reported on the instance that started cold. What changes is
// only the choice a scheduler makes on a host with few cores. SchedulerQueue: when the function
// already has at least as many instances as the host has cores, and a busy instance
// is expected to be free sooner than a new one could start (from the measured invoke
// and init durations of that version), the invocation waits, FIFO, and the instance
// that finishes is handed to it directly. Otherwise (long invocations, slow-starting
// but short waits never reached, fewer instances than cores) it starts a new one, and
// a wait that outlives its estimate starts one too, so nothing waits much longer than
// a cold start would have taken.
//
// SchedulerSpawn turns this off: every invocation without an idle instance starts a
// new one (up to the limits), as Sluice did before and as Lambda's own fleet does.

// SchedulerAdaptive, the default, adds a measurement of what the busy instances are
// doing. An instance that spends most of an invocation neither on a CPU nor waiting
// for one is waiting on I/O (a downstream call, a sleep): another instance adds
// throughput however busy the host is, so it scales out as spawn does, up to the
// limits. An instance that computes is CPU-busy: once the host's cores are saturated
// (≥ saturatedBusy of the CPU time, sampled from /proc/stat), another instance only
// adds memory and contention, so with at least as many instances as cores the
// invocation waits for a warm one, FIFO, at most max(2 × init, 2 × expected wait),
// capped at maxSaturatedWait, and then starts one anyway. Whether an invocation is
// "on a CPU or waiting for one" is estimated from the function process's CPU time per
// invocation (utime+stime from /proc/<pid>/stat, sampled per instance every
// cpuSampleEvery of busy time) times the host's contention (runnable tasks per core).

// Scheduler policies (Options.Scheduler).
const (
	SchedulerAdaptive = "adaptive" // the default: queue CPU-busy invocations on a saturated host
	SchedulerQueue    = "queue"    // wait for a warm instance when that is faster than a cold start
	SchedulerSpawn    = "spawn"    // always start a new instance when none is idle
)

// ewmaShift: the weight of a new sample in the duration averages is 1/8.
const ewmaShift = 3

const (
	// saturatedBusy is the host CPU busy fraction from which the cores count as
	// saturated.
	saturatedBusy = 0.9
	// ioMinOffCPU: an invocation counts as waiting on I/O only when at least this
	// much of it is spent off the CPU (and not queued for one), so that the Runtime
	// API round trip of a fast function never looks like I/O.
	ioMinOffCPU = time.Millisecond
	// priorInit stands in for the init duration before one is measured: during a
	// first burst, invocations beyond the cores' count wait this long for the
	// instances being started before they start their own.
	priorInit = 50 * time.Millisecond
	// maxSaturatedWait bounds a CPU-busy invocation's wait on a saturated host.
	maxSaturatedWait = time.Second
)

// keySched is the scheduler's state for one spec Key (guarded by Pool.mu).
type keySched struct {
	waiters []*waiter     // FIFO of invocations waiting for an instance of this key
	invoke  time.Duration // EWMA of warm invoke durations (begin to outcome)
	init    time.Duration // EWMA of init durations (spawn to first /next)
	cpu     time.Duration // EWMA of the function process's CPU time per warm invocation
	busy    int           // instances of this key running an invocation
	live    int           // instances of this key alive or starting
}

// waiter is one invocation waiting for an instance of a key.
type waiter struct {
	ch  chan *instance // capacity 1: the instance handed over by release
	ks  *keySched
	max time.Duration // how long to wait before starting an instance anyway
}

func ewma(avg, sample time.Duration) time.Duration {
	if avg == 0 {
		return sample
	}
	return avg + (sample-avg)>>ewmaShift
}

// SchedStats counts the scheduler's decisions since the pool started.
type SchedStats struct {
	Spawned  uint64 // invocations that started a new instance
	Warm     uint64 // invocations that found an idle instance
	Queued   uint64 // invocations that waited for a busy instance (handed over or not)
	HandedOn uint64 // of those, served by the instance handed over
	Waiting  int    // invocations waiting right now
}

// hostCores is how many invocations the host can run at once (GOMAXPROCS follows the
// CPU quota of the cgroup Sluice runs in).
var hostCores = goruntime.GOMAXPROCS(0)

// schedInput is everything a scheduling decision depends on, so that the decision
// itself is a pure function (schedDecide) tested without timing.
type schedInput struct {
	policy              string
	live, busy, waiters int // this key's instances, busy ones, queued invocations
	cores               int
	invoke, init, cpu   time.Duration // the key's averages; 0 = not measured
	hostBusy            float64       // host CPU busy fraction; < 0 = not known
	runnable            float64       // runnable tasks on the host; < 0 = not known
}

// queueFor decides under p.mu whether an invocation of ks's key, finding no idle
// instance, should wait rather than start an instance; it returns how long to wait at
// most before starting one anyway (0: start one now).
func (p *Pool) queueFor(ks *keySched) time.Duration {
	in := schedInput{policy: p.opts.Scheduler, live: ks.live, busy: ks.busy, waiters: len(ks.waiters),
		cores: hostCores, invoke: ks.invoke, init: ks.init, cpu: ks.cpu, hostBusy: -1, runnable: -1}
	if (in.policy == "" || in.policy == SchedulerAdaptive) && in.live >= in.cores && in.busy > 0 && p.load != nil {
		in.hostBusy, in.runnable = p.load.get()
	}
	return schedDecide(in)
}

// schedDecide is the scheduling decision: how long an invocation that found no idle
// instance waits for a busy one before starting its own (0: start one now).
func schedDecide(in schedInput) time.Duration {
	if in.policy == SchedulerSpawn || in.live < in.cores || in.busy == 0 {
		return 0
	}
	if in.policy == SchedulerQueue {
		return queueDecide(in)
	}
	if in.init == 0 || in.invoke == 0 {
		// A first burst: nothing measured yet. The instances being started serve
		// the queue for as long as a typical cold start takes, then more start.
		return priorInit
	}
	if ioBound(in) || in.hostBusy < saturatedBusy {
		// Waiting on I/O, or cores to spare: start an instance unless a warm one
		// is expected sooner than a cold start.
		return queueDecide(in)
	}
	// CPU-busy instances on saturated cores: another instance adds no throughput.
	return min(max(2*in.init, 2*expectedWait(in), time.Millisecond), maxSaturatedWait)
}

// expectedWait: the invocations ahead of this one, served by the busy instances,
// each taking the average invoke duration.
func expectedWait(in schedInput) time.Duration {
	return in.invoke * time.Duration(in.waiters+1) / time.Duration(in.busy)
}

// queueDecide is the queue policy: wait (at most a cold start's duration) only when a
// busy instance is expected free sooner than a new one could start.
func queueDecide(in schedInput) time.Duration {
	if in.init == 0 || in.invoke == 0 {
		return 0 // nothing measured yet: start instances as on-demand Lambda does
	}
	if expectedWait(in) >= in.init {
		return 0
	}
	// At least 1 ms, so timer noise does not spawn needlessly.
	return max(in.init, time.Millisecond)
}

// ioBound reports whether the key's invocations spend most of their time neither on
// a CPU nor runnable and waiting for one: CPU time per invocation, stretched by the
// host's contention (runnable tasks per core, at least 1), against the wall time.
// An unmeasured CPU time counts as none (the wall time decides).
func ioBound(in schedInput) bool {
	contention := 1.0
	if in.runnable > 0 && in.cores > 0 {
		contention = max(1, in.runnable/float64(in.cores))
	}
	onCPU := time.Duration(float64(in.cpu) * contention)
	off := in.invoke - onCPU
	return off >= ioMinOffCPU && 2*off >= in.invoke
}

// handOffLocked gives inst (healthy, of a current key, p.mu held) to the oldest
// waiter of its key; it reports false when there is none.
func (p *Pool) handOffLocked(ks *keySched, inst *instance) bool {
	if ks == nil || len(ks.waiters) == 0 {
		return false
	}
	w := ks.waiters[0]
	ks.waiters[0] = nil
	ks.waiters = ks.waiters[1:]
	if len(ks.waiters) == 0 {
		ks.waiters = nil
	}
	inst.busy = true
	ks.busy++
	p.schedStats.HandedOn++
	p.schedStats.Waiting--
	w.ch <- inst // never blocks: capacity 1, one send per waiter
	return true
}

// dropWaiterLocked removes w from ks's queue; false means it was already handed an
// instance (which is then in w.ch).
func (p *Pool) dropWaiterLocked(ks *keySched, w *waiter) bool {
	for i, x := range ks.waiters {
		if x == w {
			ks.waiters = append(ks.waiters[:i:i], ks.waiters[i+1:]...)
			p.schedStats.Waiting--
			return true
		}
	}
	return false
}

// observe records one finished invocation's durations for the scheduler.
func (p *Pool) observe(inst *instance, d time.Duration, cold bool) {
	inst.mu.Lock()
	initDur, initDone := inst.initDuration, inst.initDone
	inst.mu.Unlock()
	cpu, okCPU := inst.cpu.observe(d)
	p.mu.Lock()
	if fs := p.functions[inst.spec.FunctionName]; fs != nil {
		if ks := fs.sched[inst.spec.Key]; ks != nil {
			if cold {
				if initDone {
					ks.init = ewma(ks.init, initDur)
					ks.invoke = ewma(ks.invoke, max(d-initDur, 0))
				}
			} else {
				ks.invoke = ewma(ks.invoke, d)
			}
			if okCPU {
				ks.cpu = ewma(ks.cpu, cpu)
			}
		}
	}
	p.mu.Unlock()
}

// SchedStats reports the scheduler's counters.
func (p *Pool) SchedStats() SchedStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.schedStats
}
