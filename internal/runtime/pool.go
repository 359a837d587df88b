// Package runtime owns the function pool: it extracts function code, starts function
// processes (a custom runtime's bootstrap, or Sluice's Node.js/Python shim), serves each
// of them the Lambda Runtime API on a private loopback listener, keeps warm instances
// for reuse under the node's and the function's concurrency limits, and turns
// timeouts, crashes and init failures into the error payloads AWS Lambda returns.
//
// The lambda service resolves a function name and qualifier to a FunctionSpec and calls
// Pool.Invoke; everything about processes stays in this package.
package runtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/google/uuid"
)

// LogSink receives every log line a function writes (and the START/END/REPORT lines
// the platform adds), as CloudWatch Logs would: function is the function name, stream
// the log stream name AWS would use ("2026/11/23/[$LATEST]<instance id>"). Append is
// called synchronously from the goroutine that reads the function's output, so it must
// be quick and must not block.
type LogSink interface {
	Append(function, stream string, t time.Time, line string)
}

// ShimSource gives the command line that starts a managed runtime (nodejs*, python3.*):
// for example ["node", "/data/shims/node/index.mjs"]. The process it starts reads
// _HANDLER, LAMBDA_TASK_ROOT and AWS_LAMBDA_RUNTIME_API like AWS's runtime interface
// clients. An error means the runtime is not supported on this node.
// *shims.Installed implements it; when the source also has
// CommandFor(runtime string, memoryMB int) ([]string, error), the pool uses that so
// the runtime can size itself to the function's memory.
type ShimSource interface {
	Command(runtime string) (argv []string, err error)
}

// Credentials are injected into a function instance's environment so that AWS SDKs
// inside functions reach Sluice's own services.
type Credentials struct {
	AccessKeyID, SecretAccessKey, SessionToken string
}

// CredentialSource mints the credentials of one new instance: temporary ones,
// for the function's execution role, as Lambda gives each execution environment.
type CredentialSource func(spec *FunctionSpec) (Credentials, error)

// Options configure a Pool. Zero values take the documented defaults.
type Options struct {
	// DataDir holds extracted code under DataDir/runtime/code/<sha256>.
	DataDir string
	// FetchCode, when set, makes a code or layer zip readable at its path before
	// it is extracted (a cluster's shared blob store copies it to this node). It
	// runs only when the code is not extracted yet.
	FetchCode func(ctx context.Context, sha256Hex string) error
	// MaxInstances caps function processes on this node (default 64).
	MaxInstances int
	// IdleTimeout is how long an idle warm instance lives (default 10m).
	IdleTimeout time.Duration
	// QueueTimeout is how long Invoke waits for an instance when the function or the
	// node is at its limit before returning ErrThrottled (default 3s).
	QueueTimeout time.Duration
	// Region and AccountID describe the emulated account (AWS_REGION etc.).
	Region, AccountID string
	// EndpointURL is injected as AWS_ENDPOINT_URL so SDKs in functions call Sluice.
	EndpointURL string
	// Credentials, when set, gives each new instance its credentials; without it
	// functions get none (SDKs inside them cannot call Sluice).
	Credentials CredentialSource
	// NoSandbox runs functions as Sluice's own user even where the sandbox is
	// available, and lets a root Sluice start where the sandbox cannot work
	// (serve --no-function-sandbox; tests of the pool's own mechanics use it).
	NoSandbox bool
	// MaxInstanceAge is how long an instance may be reused; older ones are
	// retired after their invocation (so credentials never expire under a live
	// instance). Zero means no limit.
	MaxInstanceAge time.Duration
	// Scheduler is the instance scheduling policy (sched.go): SchedulerAdaptive
	// (the default, "") waits for a warm instance when the function's instances are
	// CPU-busy on saturated cores, and scales out I/O-bound ones; SchedulerQueue
	// waits when a warm instance will be free sooner than a new one could start and
	// the function has at least as many instances as the host has cores;
	// SchedulerSpawn starts a new instance whenever none is idle.
	Scheduler string
	// Concurrency, when set, admits each invocation under limits shared with
	// other nodes (a cluster's reserved and account concurrency) before the
	// pool's own limits apply; nil (a single node) costs nothing.
	Concurrency ConcurrencyGate
	Logs        LogSink    // optional
	Shims       ShimSource // optional; without it only provided.* runtimes run
	Logger      *slog.Logger
}

const (
	defaultMaxInstances = 64
	defaultIdleTimeout  = 10 * time.Minute
	defaultQueueTimeout = 3 * time.Second
	defaultTimeout      = 3 * time.Second // AWS's default function timeout
	defaultMemoryMB     = 128             // AWS's default memory size
	// defaultInitTimeout is AWS's limit on the init phase of an on-demand function
	// (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html).
	// AWS retries a timed-out init inside the invoke phase, under the function timeout;
	// Sluice approximates that by allowing init this long plus the function timeout.
	defaultInitTimeout = 10 * time.Second
	// fetchCodeTimeout bounds copying one zip from a shared blob store.
	fetchCodeTimeout = 2 * time.Minute
)

// ConcurrencyGate holds concurrency limits beyond this node. Acquire takes one of
// the function's slots (reserved is its reserved concurrency; nil draws on the
// account's unreserved pool), waiting up to wait for one; ok is false when none
// freed up. release gives the slot back, exactly once. An error means the limit
// could not be checked; the invocation does not run.
type ConcurrencyGate interface {
	Acquire(ctx context.Context, function string, reserved *int, wait time.Duration) (release func(), ok bool, err error)
}

// Pool runs function instances. It is safe for concurrent use.
type Pool struct {
	opts        Options
	log         *slog.Logger
	initTimeout time.Duration // defaultInitTimeout; shortened by tests
	code        *codeCache
	memory      memoryLimiter
	// sandboxed: instances run through the sandbox helper (self) under uids
	// from uids. Decided once by NewPool.
	sandboxed bool
	self      string
	uids      uidAllocator

	mu sync.Mutex // guards the fields below
	// functions by FunctionName: concurrency is accounted per function, all versions.
	functions map[string]*functionState
	total     int           // instances alive or starting on this node
	freed     chan struct{} // closed (and replaced) whenever capacity may have freed up
	closed    bool
	// schedStats counts the scheduler's decisions.
	schedStats SchedStats
	// load samples the host's CPU use for the adaptive scheduler (nil otherwise).
	load *hostLoad

	done    chan struct{} // closed by Close; stops the reaper
	reaped  sync.WaitGroup
	running sync.WaitGroup // one per live instance, done when its process is reaped
}

// functionState is the pool's view of one function name.
type functionState struct {
	instances int                    // alive or starting, all keys
	idle      map[string][]*instance // by spec Key; a stack (LIFO keeps few instances warm)
	latest    map[string]string      // version → newest Key seen for it
	all       map[*instance]struct{} // every live instance, busy or idle
	sched     map[string]*keySched   // by spec Key: waiters and measured durations
	// Multi instances (multi.go): open holds, by spec Key, the busy or starting
	// instances with a free slot; slotsIn counts the function's invocations
	// assigned to multi instances (what its reserved concurrency bounds).
	open    map[string][]*instance
	slotsIn int
}

// Stats is a snapshot of the pool's occupancy.
type Stats struct {
	Instances int // alive or starting
	Busy      int
	Idle      int
}

// NewPool validates opts, prepares DataDir and starts the idle reaper.
func NewPool(opts Options) (*Pool, error) {
	if opts.DataDir == "" {
		return nil, errors.New("runtime: Options.DataDir is required")
	}
	if opts.MaxInstances <= 0 {
		opts.MaxInstances = defaultMaxInstances
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = defaultIdleTimeout
	}
	if opts.QueueTimeout <= 0 {
		opts.QueueTimeout = defaultQueueTimeout
	}
	if opts.Region == "" {
		opts.Region = "us-east-1"
	}
	if opts.AccountID == "" {
		opts.AccountID = "000000000000"
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	codeDir := filepath.Join(opts.DataDir, "runtime", "code")
	if err := os.MkdirAll(codeDir, 0o755); err != nil {
		return nil, fmt.Errorf("runtime: create code dir: %w", err)
	}
	p := &Pool{
		opts:        opts,
		initTimeout: defaultInitTimeout,
		log:         opts.Logger,
		code:        newCodeCache(codeDir),
		functions:   make(map[string]*functionState),
		freed:       make(chan struct{}),
		done:        make(chan struct{}),
	}
	if fetch := opts.FetchCode; fetch != nil {
		p.code.fetch = func(sha string) error {
			ctx, cancel := context.WithTimeout(context.Background(), fetchCodeTimeout)
			defer cancel()
			return fetch(ctx, sha)
		}
	}
	p.memory = detectMemoryLimiter(p.log)
	if opts.Scheduler == "" || opts.Scheduler == SchedulerAdaptive {
		p.load = newHostLoad(p.done)
	}
	switch why, ok := sandboxProbe(); {
	case opts.NoSandbox:
		p.log.Warn("function sandbox disabled: functions run as Sluice's own user and can read its data dir")
	case ok:
		p.sandboxed = true
		p.self, _ = os.Executable()
		p.log.Debug("function instances sandboxed: own uid, private /tmp, mount and PID namespaces")
	case os.Geteuid() == 0:
		// Fail closed: as root, "no sandbox" would mean functions running as root
		// with the data dir readable. Refuse unless the operator asked for it.
		close(p.done)
		return nil, fmt.Errorf("%w (%s): functions would run as root; give Sluice what the sandbox needs "+
			"(mount and PID namespaces: CAP_SYS_ADMIN, e.g. docker run --privileged or --cap-add SYS_ADMIN "+
			"--security-opt seccomp=unconfined) or pass --no-function-sandbox to run them as Sluice's own user", ErrSandboxUnavailable, why)
	default:
		p.log.Warn("function sandbox unavailable: functions run as Sluice's own user", "reason", why)
	}
	p.reaped.Add(1)
	go p.reapIdle()
	return p, nil
}

// Invoke runs one invocation of spec on a warm instance, or on a new one when none is
// free and the limits allow it. Function failures (handler errors, timeouts, crashes,
// init errors) are Results with FunctionError set; the error return is reserved for
// invocations that could not run: ErrThrottled, ErrClosed, a cancelled ctx, or a
// spec that cannot be started (bad code zip, unsupported runtime).
func (p *Pool) Invoke(ctx context.Context, spec *FunctionSpec, inv Invocation) (*Result, error) {
	if err := validateSpec(spec); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if inv.RequestID == "" {
		inv.RequestID = uuid.NewString()
	}
	codeDir, err := p.code.extracted(spec.CodeSHA256, spec.CodeZip)
	if err != nil {
		return nil, fmt.Errorf("runtime: function %q code: %w", spec.FunctionName, err)
	}
	if g := p.opts.Concurrency; g != nil {
		// The slot is held until Invoke returns; a caller that goes away returns
		// early while the function runs on (detached), so for that run the
		// cluster may count one fewer than actually run.
		release, ok, err := g.Acquire(ctx, spec.FunctionName, spec.ReservedConcurrency, p.opts.QueueTimeout)
		switch {
		case err != nil && ctx.Err() != nil:
			return nil, ctx.Err()
		case err != nil:
			return nil, fmt.Errorf("runtime: function %q: cluster concurrency: %w", spec.FunctionName, err)
		case !ok:
			return nil, ErrThrottled
		}
		defer release()
	}
	for attempt := 0; ; attempt++ {
		res, err := p.invokeOnce(ctx, spec, codeDir, &inv)
		if err == errRetry && attempt < 3 {
			continue
		}
		if err == errRetry {
			err = fmt.Errorf("runtime: function %q: instances keep exiting between invocations", spec.FunctionName)
		}
		return res, err
	}
}

func (p *Pool) invokeOnce(ctx context.Context, spec *FunctionSpec, codeDir string, inv *Invocation) (*Result, error) {
	inst, err := p.acquire(ctx, spec, codeDir)
	if err != nil {
		return nil, err
	}
	if inst.poolClosed {
		p.release(inst, false)
		return nil, ErrClosed
	}
	if inst.startErr != nil {
		// The process could not even start (no bootstrap, not executable): AWS reports
		// that as an init error of the invocation.
		res := inst.failStart(inv)
		p.release(inst, false)
		return res, nil
	}
	st := inst.begin(newInvocation(inv, spec))
	res, healthy, err, detached := inst.await(ctx, st)
	if healthy && err == nil && !detached && inst.ready == nil {
		p.observe(inst, time.Since(st.submitted), st.cold)
	}
	if detached {
		// As on AWS, a caller that goes away does not stop the function: the
		// invocation runs to completion (or timeout), then the instance is released.
		go func() {
			_, healthy, _, _ := inst.await(context.Background(), st)
			p.release(inst, healthy)
		}()
		return nil, err
	}
	p.release(inst, healthy)
	return res, err
}

func validateSpec(spec *FunctionSpec) error {
	switch {
	case spec == nil:
		return errors.New("runtime: nil FunctionSpec")
	case spec.Key == "" || spec.FunctionName == "":
		return errors.New("runtime: FunctionSpec needs Key and FunctionName")
	case spec.CodeZip == "" || spec.CodeSHA256 == "":
		return fmt.Errorf("runtime: function %q has no code", spec.FunctionName)
	}
	return nil
}

// acquire returns an instance reserved for the caller: a warm idle one of spec.Key,
// or a new one (started here) when the limits allow. At a limit it waits up to
// QueueTimeout for capacity to free up.
func (p *Pool) acquire(ctx context.Context, spec *FunctionSpec, codeDir string) (*instance, error) {
	if r := spec.ReservedConcurrency; r != nil && *r <= 0 {
		// Reserved concurrency 0 means the function is throttled outright
		// (https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html).
		return nil, ErrThrottled
	}
	var timer *time.Timer
	mayQueue := true
	for {
		inst, fresh, evict, wait, w, err := p.tryAcquire(spec, mayQueue)
		for _, e := range evict {
			e.kill(killRetired)
		}
		if err != nil {
			return nil, err
		}
		if inst != nil {
			switch {
			case fresh:
				p.start(inst, codeDir)
				if inst.ready != nil {
					close(inst.ready)
				}
			case inst.ready != nil:
				<-inst.ready // a multi instance's slot, handed out while it starts
			}
			return inst, nil
		}
		if w != nil {
			if inst, err := p.awaitHandOff(ctx, w); inst != nil || err != nil {
				return inst, err
			}
			mayQueue = false // waited as long as a cold start takes: start one
			continue
		}
		if timer == nil {
			timer = time.NewTimer(p.opts.QueueTimeout)
			defer timer.Stop()
		}
		select {
		case <-wait:
		case <-timer.C:
			return nil, ErrThrottled
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// tryAcquire does one locked attempt. It returns either an instance (warm, or new and
// not yet started), or a channel to wait on. Instances in evict must be killed by the
// caller (outside the lock): idle instances of retired keys, or another function's
// idle instance making room at the node limit.
func (p *Pool) tryAcquire(spec *FunctionSpec, mayQueue bool) (inst *instance, fresh bool, evict []*instance, wait <-chan struct{}, w *waiter, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, false, nil, nil, nil, ErrClosed
	}
	fs := p.function(spec.FunctionName)
	evict = p.noteKey(fs, spec)
	ks := fs.sched[spec.Key]
	if ks == nil {
		ks = &keySched{}
		fs.sched[spec.Key] = ks
	}
	if spec.multi() {
		inst, fresh, evict, wait = p.tryAcquireSlotLocked(fs, ks, spec, evict)
		return inst, fresh, evict, wait, nil, nil
	}

	if stack := fs.idle[spec.Key]; len(stack) > 0 {
		inst = stack[len(stack)-1]
		stack[len(stack)-1] = nil
		fs.idle[spec.Key] = stack[:len(stack)-1]
		inst.busy = true
		ks.busy++
		p.schedStats.Warm++
		return inst, false, evict, nil, nil, nil
	}
	if mayQueue {
		if d := p.queueFor(ks); d > 0 {
			w = &waiter{ch: make(chan *instance, 1), ks: ks, max: d}
			ks.waiters = append(ks.waiters, w)
			p.schedStats.Queued++
			p.schedStats.Waiting++
			return nil, false, evict, nil, w, nil
		}
	}

	limit := p.opts.MaxInstances
	if r := spec.ReservedConcurrency; r != nil && *r < limit {
		limit = *r
	}
	if fs.instances >= limit {
		// The function is at its limit; an idle instance of another key of the
		// same function (another version) can make room.
		victim := p.anyIdle(fs, spec.Key)
		if victim == nil {
			return nil, false, evict, p.freed, nil, nil
		}
		evict = append(evict, victim)
	}
	if p.total >= p.opts.MaxInstances {
		victim := p.lruIdleNodeWide()
		if victim == nil {
			return nil, false, evict, p.freed, nil, nil
		}
		evict = append(evict, victim)
	}
	inst = p.spawnLocked(fs, ks, spec)
	p.schedStats.Spawned++
	return inst, true, evict, nil, nil, nil
}

// awaitHandOff waits for w to be handed an instance, at most w.max. It returns
// (nil, nil) when the wait ran out and the caller should start an instance.
func (p *Pool) awaitHandOff(ctx context.Context, w *waiter) (*instance, error) {
	t := time.NewTimer(w.max)
	defer t.Stop()
	select {
	case inst := <-w.ch:
		return inst, nil
	case <-t.C:
	case <-ctx.Done():
	}
	p.mu.Lock()
	dropped := p.dropWaiterLocked(w.ks, w)
	p.mu.Unlock()
	if !dropped { // handed over while the timer fired
		inst := <-w.ch
		if ctx.Err() != nil {
			p.release(inst, true) // unused: on to the next waiter
			return nil, ctx.Err()
		}
		return inst, nil
	}
	return nil, ctx.Err()
}

func (p *Pool) function(name string) *functionState {
	fs := p.functions[name]
	if fs == nil {
		fs = &functionState{
			idle:   make(map[string][]*instance),
			latest: make(map[string]string),
			all:    make(map[*instance]struct{}),
			sched:  make(map[string]*keySched),
			open:   make(map[string][]*instance),
		}
		p.functions[name] = fs
	}
	return fs
}

// noteKey records spec.Key as the newest for its version. When the key changed (new
// code or configuration), instances of the old key never get new work: idle ones are
// returned for eviction, busy ones are retired when they finish.
func (p *Pool) noteKey(fs *functionState, spec *FunctionSpec) (evict []*instance) {
	old, seen := fs.latest[spec.Version]
	if seen && old == spec.Key {
		return nil
	}
	fs.latest[spec.Version] = spec.Key
	if !seen {
		return nil
	}
	for inst := range fs.all {
		if inst.spec.Version == spec.Version && inst.spec.Key != spec.Key {
			inst.retired = true
		}
	}
	delete(fs.open, old)
	for key, stack := range fs.idle {
		if key == old || (len(stack) > 0 && stack[0].retired) {
			for _, inst := range stack {
				evict = append(evict, p.detachLocked(inst))
			}
			delete(fs.idle, key)
		}
	}
	return evict
}

// anyIdle detaches an idle instance of fs with a key other than key, or returns nil.
func (p *Pool) anyIdle(fs *functionState, key string) *instance {
	for k, stack := range fs.idle {
		if k == key || len(stack) == 0 {
			continue
		}
		inst := stack[0] // the oldest of that key
		fs.idle[k] = stack[1:]
		return p.detachLocked(inst)
	}
	return nil
}

// lruIdleNodeWide detaches the least recently used idle instance on the node.
func (p *Pool) lruIdleNodeWide() *instance {
	var victim *instance
	for _, fs := range p.functions {
		for _, stack := range fs.idle {
			if len(stack) > 0 && (victim == nil || stack[0].lastUsed.Before(victim.lastUsed)) {
				victim = stack[0]
			}
		}
	}
	if victim == nil {
		return nil
	}
	fs := p.functions[victim.spec.FunctionName]
	stack := fs.idle[victim.spec.Key]
	fs.idle[victim.spec.Key] = stack[1:]
	return p.detachLocked(victim)
}

// detachLocked removes inst from the accounting (it no longer counts toward limits)
// and returns it for killing. The caller has removed it from any idle stack.
func (p *Pool) detachLocked(inst *instance) *instance {
	fs := p.functions[inst.spec.FunctionName]
	if _, ok := fs.all[inst]; !ok {
		return inst
	}
	delete(fs.all, inst)
	fs.instances--
	p.total--
	if ks := fs.sched[inst.spec.Key]; ks != nil {
		ks.live--
		if ks.live <= 0 && len(ks.waiters) == 0 && fs.latest[inst.spec.Version] != inst.spec.Key {
			delete(fs.sched, inst.spec.Key)
		}
	}
	p.broadcastLocked()
	return inst
}

func (p *Pool) broadcastLocked() {
	close(p.freed)
	p.freed = make(chan struct{})
}

// release returns inst after an invocation. A healthy instance of the current key
// goes back on its idle stack; anything else is killed.
func (p *Pool) release(inst *instance, healthy bool) {
	if inst.ready != nil {
		p.releaseSlot(inst, healthy)
		return
	}
	p.mu.Lock()
	fs := p.functions[inst.spec.FunctionName]
	var ks *keySched
	if fs != nil {
		ks = fs.sched[inst.spec.Key]
	}
	if inst.busy && ks != nil {
		ks.busy--
	}
	inst.busy = false
	keep := healthy && !p.closed && !inst.retired && fs != nil && fs.latest[inst.spec.Version] == inst.spec.Key &&
		(p.opts.MaxInstanceAge <= 0 || time.Since(inst.spawned) < p.opts.MaxInstanceAge)
	if keep {
		if _, ok := fs.all[inst]; !ok {
			keep = false
		}
	}
	if keep && p.handOffLocked(ks, inst) {
		p.mu.Unlock()
		return
	}
	p.parkLocked(fs, inst, keep)
}

// spawnLocked makes a new instance of spec, counted as alive and busy on this
// node, for fs and its key.
func (p *Pool) spawnLocked(fs *functionState, ks *keySched, spec *FunctionSpec) *instance {
	inst := p.newInstance(spec)
	fs.instances++
	fs.all[inst] = struct{}{}
	p.total++
	ks.live++
	ks.busy++
	return inst
}

// parkLocked ends an instance's turn: back among fs's idle instances when keep,
// else detached and killed. It releases p.mu.
func (p *Pool) parkLocked(fs *functionState, inst *instance, keep bool) {
	if keep {
		inst.lastUsed = time.Now()
		fs.idle[inst.spec.Key] = append(fs.idle[inst.spec.Key], inst)
		p.broadcastLocked()
		p.mu.Unlock()
		return
	}
	if fs != nil {
		p.detachLocked(inst)
	}
	p.mu.Unlock()
	inst.kill(killRetired)
}

// reapIdle kills instances idle for longer than IdleTimeout until Close.
func (p *Pool) reapIdle() {
	defer p.reaped.Done()
	every := p.opts.IdleTimeout / 4
	if every < 100*time.Millisecond {
		every = 100 * time.Millisecond
	}
	if every > 30*time.Second {
		every = 30 * time.Second
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-p.done:
			return
		case now := <-tick.C:
			for _, inst := range p.collectIdle(now.Add(-p.opts.IdleTimeout)) {
				inst.kill(killIdle)
			}
		}
	}
}

func (p *Pool) collectIdle(before time.Time) (out []*instance) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for name, fs := range p.functions {
		if fs.instances == 0 {
			delete(p.functions, name) // forget functions with nothing running
			continue
		}
		for key, stack := range fs.idle {
			// Stacks are ordered by lastUsed, oldest first.
			n := 0
			for n < len(stack) && stack[n].lastUsed.Before(before) {
				n++
			}
			if n == 0 {
				continue
			}
			old := stack[:n]
			fs.idle[key] = append([]*instance(nil), stack[n:]...)
			for _, inst := range old {
				out = append(out, p.detachLocked(inst))
			}
		}
	}
	return out
}

// Drain retires every instance of a function (all versions), as when the function
// is deleted: idle instances are killed now, busy ones when their invocation ends.
// Later invocations of the function start new instances.
func (p *Pool) Drain(functionName string) {
	p.mu.Lock()
	fs := p.functions[functionName]
	if fs == nil {
		p.mu.Unlock()
		return
	}
	var idle []*instance
	for key, stack := range fs.idle {
		for _, inst := range stack {
			idle = append(idle, p.detachLocked(inst))
		}
		delete(fs.idle, key)
	}
	for inst := range fs.all {
		inst.retired = true
	}
	clear(fs.latest)
	clear(fs.open)
	p.mu.Unlock()
	for _, inst := range idle {
		inst.kill(killRetired)
	}
}

// FunctionStats reports the occupancy of each function that has instances.
func (p *Pool) FunctionStats() map[string]Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]Stats, len(p.functions))
	for name, fs := range p.functions {
		var s Stats
		for inst := range fs.all {
			s.Instances++
			if inst.busy {
				s.Busy++
			} else {
				s.Idle++
			}
		}
		if s.Instances > 0 {
			out[name] = s
		}
	}
	return out
}

// Stats reports the pool's occupancy.
func (p *Pool) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	var s Stats
	for _, fs := range p.functions {
		for inst := range fs.all {
			s.Instances++
			if inst.busy {
				s.Busy++
			} else {
				s.Idle++
			}
		}
	}
	return s
}

// InstancesByFunction counts live instances (busy, idle or starting) per function.
func (p *Pool) InstancesByFunction() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]int, len(p.functions))
	for name, fs := range p.functions {
		if n := len(fs.all); n > 0 {
			out[name] = n
		}
	}
	return out
}

// SweepCode removes extracted code directories that keep rejects, no live
// instance runs, and were last used before before; it returns how many.
func (p *Pool) SweepCode(keep func(sha string) bool, before time.Time) int {
	p.mu.Lock()
	live := map[string]bool{}
	for _, fs := range p.functions {
		for inst := range fs.all {
			live[inst.spec.CodeSHA256] = true
		}
	}
	p.mu.Unlock()
	return p.code.sweep(keep, func(sha string) bool { return live[sha] }, before)
}

// Close kills every instance (busy ones too; their Invoke calls return ErrClosed),
// stops the reaper and waits for the processes to be reaped.
func (p *Pool) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	var all []*instance
	for _, fs := range p.functions {
		for inst := range fs.all {
			all = append(all, inst)
		}
	}
	p.broadcastLocked()
	p.mu.Unlock()
	close(p.done)
	for _, inst := range all {
		inst.kill(killClosed)
	}
	p.reaped.Wait()
	p.running.Wait()
	p.memory.close()
	return nil
}
