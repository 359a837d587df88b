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
// only the choice a scheduler makes on a host with few cores: when the function
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

// Scheduler policies (Options.Scheduler).
const (
	SchedulerQueue = "queue" // the default: wait for a warm instance when that is faster
	SchedulerSpawn = "spawn" // always start a new instance when none is idle
)

// ewmaWeight is the weight of a new sample in the duration averages (1/8).
const ewmaShift = 3

// keySched is the scheduler's state for one spec Key (guarded by Pool.mu).
type keySched struct {
	waiters []*waiter     // FIFO of invocations waiting for an instance of this key
	invoke  time.Duration // EWMA of warm invoke durations (begin to outcome)
	init    time.Duration // EWMA of init durations (spawn to first /next)
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

// queueFor decides under p.mu whether an invocation of ks's key, finding no idle
// instance, should wait rather than start an instance; it returns how long to wait at
// most before starting one anyway (0: start one now).
func (p *Pool) queueFor(ks *keySched) time.Duration {
	if p.opts.Scheduler == SchedulerSpawn || ks.live < hostCores || ks.busy == 0 {
		return 0
	}
	initEst := ks.init
	if initEst == 0 || ks.invoke == 0 {
		return 0 // nothing measured yet: start instances as on-demand Lambda does
	}
	// Expected wait: the invocations ahead of this one, served by the busy
	// instances, each taking the average invoke duration.
	wait := ks.invoke * time.Duration(len(ks.waiters)+1) / time.Duration(ks.busy)
	if wait >= initEst {
		return 0
	}
	// Bound the wait by a cold start's duration (at least 1 ms, so timer noise does
	// not spawn needlessly): past it, starting an instance would have been faster.
	return max(initEst, time.Millisecond)
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
