package runtime

import "time"

// Lambda Managed Instances (LMI) run a function on a capacity provider's instances,
// where one execution environment serves several invocations at once: up to the
// function's PerExecutionEnvironmentMaxConcurrency
// (https://docs.aws.amazon.com/lambda/latest/dg/lambda-managed-instances-runtimes.html).
// FunctionSpec.MaxConcurrency carries that number; above 1 an instance is "multi":
//
//   - its process gets AWS_LAMBDA_MAX_CONCURRENCY=N, which runtime clients read to
//     run N pollers (aws-lambda-go's lambda.Start does, lambdacontext.MaxConcurrency);
//   - its Runtime API holds up to N invocations for /next (the work channel's
//     capacity) and routes /response and /error by request id (instance.inflight);
//   - the pool gives a new invocation a free slot of a live instance of the same
//     key before it takes an idle one or starts a new one, so instances fill up
//     before the function scales out.
//
// Concurrency stays counted per invocation ("In Lambda, concurrency is the number
// of in-flight requests that your function is currently handling",
// configuration-concurrency): reserved
// concurrency bounds the function's invocations in flight (functionState.slotsIn),
// not its processes, and the cluster gate is taken per Invoke as for any function.
// Each invocation has its own deadline; a timed-out one does not kill the process
// under the others: the instance is retired, gets no new work, and is killed once
// the last invocation in flight on it is released.
//
// AWS documents that a timed-out LMI invocation does not stop the execution
// environment: the handler runs on, its worker stays busy, the others carry on
// ("Understanding the Lambda Managed Instances execution environment"). Sluice
// answers the timed-out invocation the same way and lets the others finish, but
// then kills the process rather than keep a worker that may never come back.
// And where AWS throttles while its fleet scales asynchronously, Sluice starts
// another instance at once when every slot is taken (up to --max-instances).
//
// The classic path (MaxConcurrency 0 or 1) does not go through this file.

// lmiInitTimeout is the least time a multi instance's init may take.
const lmiInitTimeout = 130 * time.Second

// tryAcquireSlotLocked is tryAcquire for a multi spec (p.mu held): a free slot on a
// live instance of the key, else an idle instance, else a new one (not yet started,
// fresh), else a channel to wait on.
func (p *Pool) tryAcquireSlotLocked(fs *functionState, ks *keySched, spec *FunctionSpec, evict []*instance) (inst *instance, fresh bool, _ []*instance, wait <-chan struct{}) {
	if r := spec.ReservedConcurrency; r != nil && fs.slotsIn >= *r {
		return nil, false, evict, p.freed
	}
	n := spec.slots()
	if open := fs.open[spec.Key]; len(open) > 0 {
		// The most recently opened instance: it fills up before older ones, so
		// that instances a lull leaves idle can be reaped.
		inst = open[len(open)-1]
		inst.slotsIn++
		if inst.slotsIn >= n {
			open[len(open)-1] = nil
			fs.open[spec.Key] = open[:len(open)-1]
		}
		fs.slotsIn++
		p.schedStats.Warm++
		return inst, false, evict, nil
	}
	if stack := fs.idle[spec.Key]; len(stack) > 0 {
		inst = stack[len(stack)-1]
		stack[len(stack)-1] = nil
		fs.idle[spec.Key] = stack[:len(stack)-1]
		inst.busy = true
		ks.busy++
		p.takeFirstSlotLocked(fs, inst)
		p.schedStats.Warm++
		return inst, false, evict, nil
	}
	if p.total >= p.opts.MaxInstances {
		victim := p.lruIdleNodeWide()
		if victim == nil {
			return nil, false, evict, p.freed
		}
		evict = append(evict, victim)
	}
	inst = p.spawnLocked(fs, ks, spec)
	p.takeFirstSlotLocked(fs, inst)
	p.schedStats.Spawned++
	return inst, true, evict, nil
}

// takeFirstSlotLocked assigns an instance without invocations its first one and
// offers its other slots.
func (p *Pool) takeFirstSlotLocked(fs *functionState, inst *instance) {
	inst.slotsIn = 1
	fs.slotsIn++
	if inst.spec.slots() > 1 {
		fs.open[inst.spec.Key] = append(fs.open[inst.spec.Key], inst)
	}
}

// releaseSlot is release for a multi instance: one invocation on it has ended.
func (p *Pool) releaseSlot(inst *instance, healthy bool) {
	p.mu.Lock()
	fs := p.functions[inst.spec.FunctionName]
	var ks *keySched
	if fs != nil {
		ks = fs.sched[inst.spec.Key]
		fs.slotsIn--
	}
	wasFull := inst.slotsIn >= inst.spec.slots()
	inst.slotsIn--
	keep := healthy && !p.closed && !inst.retired && fs != nil && fs.latest[inst.spec.Version] == inst.spec.Key &&
		(p.opts.MaxInstanceAge <= 0 || time.Since(inst.spawned) < p.opts.MaxInstanceAge)
	if keep {
		if _, ok := fs.all[inst]; !ok {
			keep = false
		}
	}
	if !keep {
		inst.retired = true // no new work; killed when the last invocation is released
	}
	if inst.slotsIn > 0 {
		switch {
		case keep && wasFull:
			fs.open[inst.spec.Key] = append(fs.open[inst.spec.Key], inst)
		case !keep && fs != nil:
			p.closeSlotsLocked(fs, inst)
		}
		p.broadcastLocked() // a slot, or a reserved-concurrency unit, freed up
		p.mu.Unlock()
		return
	}
	if fs != nil {
		p.closeSlotsLocked(fs, inst)
	}
	if inst.busy && ks != nil {
		ks.busy--
	}
	inst.busy = false
	p.parkLocked(fs, inst, keep)
}

// closeSlotsLocked stops offering inst's free slots.
func (p *Pool) closeSlotsLocked(fs *functionState, inst *instance) {
	open := fs.open[inst.spec.Key]
	for i, x := range open {
		if x == inst {
			fs.open[inst.spec.Key] = append(open[:i:i], open[i+1:]...)
			break
		}
	}
	if len(fs.open[inst.spec.Key]) == 0 {
		delete(fs.open, inst.spec.Key)
	}
}
