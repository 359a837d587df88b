package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// maxResponseSize is the largest synchronous response AWS accepts from a runtime:
// 6 MB plus 100 bytes of framing, which is the number AWS prints in its error
// ("... maximum allowed payload size (6291556 bytes).").
const maxResponseSize = 6*1024*1024 + 100

// tailSize is how much log Invoke returns with LogType Tail: "the last 4 KB".
const tailSize = 4096

// outcomeKind says how an invocation ended.
type outcomeKind int

const (
	outSuccess      outcomeKind = iota
	outHandlerError             // the runtime posted /invocation/{id}/error
	outInitError                // the runtime posted /init/error
	outTooLarge                 // the response exceeded maxResponseSize
	outTimeout
	outExit   // the process exited mid-invocation
	outMemory // the process exceeded its memory size
)

type outcome struct {
	kind     outcomeKind
	payload  []byte
	at       time.Time
	streamed bool // the response went to Invocation.Stream
}

// errorObject is the standard Lambda error body
// ({"errorMessage":...,"errorType":...}); Message is without the "RequestId: " prefix.
type errorObject struct {
	Type    string
	Message string
}

// payload renders the error as AWS does for platform errors:
// {"errorType":"Runtime.ExitError","errorMessage":"RequestId: <id> Error: ..."}.
func (e *errorObject) payload(requestID string) []byte {
	b, _ := json.Marshal(struct {
		ErrorType    string `json:"errorType"`
		ErrorMessage string `json:"errorMessage"`
	}{e.Type, "RequestId: " + requestID + " " + e.Message})
	return b
}

// invocation is one Invoke in flight on an instance.
type invocation struct {
	inv     *Invocation
	timeout time.Duration

	started   chan struct{} // closed by /next when the runtime receives the event
	startedAt time.Time     // written before started is closed
	deadline  time.Time     // written before started is closed
	claimed   atomic.Bool   // the first outcome wins
	done      chan outcome  // capacity 1; receives the winning outcome

	// Guarded by instance.logMu.
	tail        []byte
	startLogged bool
}

func newInvocation(inv *Invocation, spec *FunctionSpec) *invocation {
	timeout := spec.Timeout
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	return &invocation{
		inv:     inv,
		timeout: timeout,
		started: make(chan struct{}),
		done:    make(chan outcome, 1),
	}
}

// finish delivers o if no other outcome was delivered first; it reports whether o won.
func (c *invocation) finish(o outcome) bool {
	if !c.claimed.CompareAndSwap(false, true) {
		return false
	}
	if o.at.IsZero() {
		o.at = time.Now()
	}
	c.done <- o
	return true
}

func (c *invocation) hasStarted() bool {
	select {
	case <-c.started:
		return true
	default:
		return false
	}
}

// errRetry: the instance died before the invocation reached it; try another one.
var errRetry = errors.New("runtime: instance gone before delivery")

// runState is an invocation being waited on.
type runState struct {
	c    *invocation
	cold bool // the instance's cold start: REPORT carries its Init Duration
	// beforeInit: handed over before the instance finished init (it waits for
	// init too). Equal to cold except on a multi instance, where several
	// invocations can wait for one init and only the first reports it.
	beforeInit bool
	submitted  time.Time
	timer      *time.Timer
	started    <-chan struct{} // nil once the runtime has the event
}

// begin hands c to the runtime; await then waits for its outcome.
func (inst *instance) begin(c *invocation) *runState {
	multi := inst.inflight != nil
	inst.mu.Lock()
	if multi {
		inst.inflight[c.inv.RequestID] = c
	} else {
		inst.cur = c
	}
	beforeInit := !inst.initDone
	initErr := inst.initErr
	inst.mu.Unlock()
	if initErr != nil { // posted before the invocation was assigned
		c.finish(outcome{kind: outInitError, payload: initErr})
	}
	inst.logMu.Lock()
	cold := beforeInit
	if multi {
		cold = beforeInit && inst.firstPending
		inst.logOpen[c] = struct{}{}
		inst.retargetLogsLocked()
	} else {
		inst.logTo = c
	}
	if inst.firstPending {
		inst.firstPending = false
		if c.inv.LogTail {
			c.tail = inst.initTail
		}
		inst.initTail = nil
	}
	inst.logMu.Unlock()
	st := &runState{c: c, cold: cold, beforeInit: beforeInit, submitted: time.Now(), started: c.started}
	// Never blocks: the pool assigns an instance at most spec.slots() invocations,
	// the channel's capacity.
	inst.work <- c

	limit := c.timeout
	switch {
	case beforeInit && multi:
		// "For Lambda Managed Instances functions ... the [init] timeout is the
		// maximum of 130 seconds or the configured function timeout" (Understanding
		// the Lambda Managed Instances execution environment).
		limit += max(lmiInitTimeout, c.timeout)
	case beforeInit:
		limit += inst.pool.initTimeout
	}
	st.timer = time.NewTimer(limit)
	return st
}

// await waits for the outcome of st's invocation, enforcing the timeout, and
// completes it (END/REPORT, Result). healthy says whether the instance may serve
// again. A nil Result comes with ErrClosed (the pool closed underneath) or errRetry.
// When ctx ends first, await returns detached=true and the caller must finish the
// wait (with a context that does not end) before releasing the instance.
func (inst *instance) await(ctx context.Context, st *runState) (res *Result, healthy bool, err error, detached bool) {
	c := st.c
	var o outcome
wait:
	for {
		select {
		case <-st.started:
			st.started = nil
			st.timer.Reset(time.Until(c.deadline))
		case o = <-c.done:
			break wait
		case <-inst.exited:
			if !st.beforeInit && !c.hasStarted() && c.finish(outcome{kind: outExit}) {
				// A warm instance that died between invocations (e.g. a runtime that
				// exits after reporting a panic) never saw this event.
				st.timer.Stop()
				inst.detachLogs(c)
				return nil, false, errRetry, false
			}
			c.finish(inst.exitOutcome()) // loses to an answer that raced with the exit
			o = <-c.done
			break wait
		case <-st.timer.C:
			// A classic instance is killed with its invocation, as on Lambda. A multi
			// instance keeps serving the others in flight; the pool retires it (the
			// result is unhealthy) and kills it when the last one is released.
			if c.finish(outcome{kind: outTimeout}) && inst.inflight == nil {
				inst.kill(killTimeout)
			}
			o = <-c.done
			break wait
		case <-ctx.Done():
			return nil, false, ctx.Err(), true
		}
	}
	st.timer.Stop()
	if inst.killReason() == killClosed {
		inst.detachLogs(c)
		return nil, false, ErrClosed, false
	}
	res, healthy, err = inst.complete(c, o, st.cold, st.submitted)
	return res, healthy, err, false
}

// exitOutcome describes the process's exit (it has exited). An exit after /init/error
// keeps the init error; an OOM kill in the instance's memory cgroup is
// Runtime.OutOfMemory.
func (inst *instance) exitOutcome() outcome {
	if inst.oomKilled {
		return outcome{kind: outMemory}
	}
	inst.mu.Lock()
	initErr := inst.initErr
	inst.mu.Unlock()
	if initErr != nil {
		return outcome{kind: outInitError, payload: initErr}
	}
	return outcome{kind: outExit}
}

// complete writes END/REPORT, collects the log tail and builds the Result.
func (inst *instance) complete(c *invocation, o outcome, cold bool, submitted time.Time) (*Result, bool, error) {
	id := c.inv.RequestID
	res := &Result{RequestID: id, Streamed: o.streamed}
	healthy := false
	status := ""
	switch o.kind {
	case outSuccess:
		res.Payload = o.payload
		healthy = true
	case outHandlerError:
		res.Payload, res.FunctionError = o.payload, "Unhandled"
		healthy = true
	case outTooLarge:
		res.Payload, res.FunctionError = o.payload, "Unhandled"
		healthy = true
		status = "error\tError Type: Function.ResponseSizeTooLarge"
	case outInitError:
		res.Payload, res.FunctionError = o.payload, "Unhandled"
		status = "error\tError Type: " + errorTypeOf(o.payload, "Runtime.Unknown")
	case outTimeout:
		// Current AWS form (console and Invoke API):
		// {"errorType":"Sandbox.Timedout","errorMessage":"RequestId: <id> Error: Task timed out after 3.00 seconds"}
		res.Payload = (&errorObject{Type: "Sandbox.Timedout",
			Message: fmt.Sprintf("Error: Task timed out after %.2f seconds", c.timeout.Seconds())}).payload(id)
		res.FunctionError = "Unhandled"
		status = "timeout"
	case outExit:
		res.Payload = (&errorObject{Type: "Runtime.ExitError", Message: "Error: " + exitMessage(inst.exitErr)}).payload(id)
		res.FunctionError = "Unhandled"
		status = "error\tError Type: Runtime.ExitError"
	case outMemory:
		// AWS: {"errorType":"Runtime.OutOfMemory","errorMessage":"RequestId: <id> Error: Runtime exited with error: signal: killed"}
		res.Payload = (&errorObject{Type: "Runtime.OutOfMemory",
			Message: "Error: Runtime exited with error: signal: killed"}).payload(id)
		res.FunctionError = "Unhandled"
		status = "error\tError Type: Runtime.OutOfMemory"
	}

	alive := o.kind == outSuccess || o.kind == outHandlerError || o.kind == outTooLarge
	if !alive {
		inst.pool.log.Info("function invocation failed", "function", inst.spec.FunctionName,
			"request_id", id, "instance", inst.id, "status", status)
	}

	begin := c.startedAt
	if !c.hasStarted() {
		begin = submitted
	}
	// On a timeout too, REPORT's Duration is the time elapsed until the kill, a little
	// over the timeout, as AWS prints it ("Duration: 3003.16 ms" for a 3 s timeout).
	duration := o.at.Sub(begin)
	var initDur time.Duration
	if cold {
		inst.mu.Lock()
		initDur = inst.initDuration
		if !inst.initDone {
			initDur = o.at.Sub(inst.spawned)
		}
		inst.mu.Unlock()
	}
	rep := newReport(id, duration, initDur, cold, status)
	if cold {
		res.InitDuration = initDur
	}
	// Lines the function printed before answering may still be in the pipe; they
	// must land before END, as in CloudWatch. A dead process's pipe closes once its
	// children are gone too.
	if inst.logs != nil {
		// A multi instance lives on past one invocation's timeout (it is not killed
		// under the others): its pipe stays open, so flush as for a live one.
		if alive || (o.kind == outTimeout && inst.inflight != nil) {
			inst.logs.flush()
		} else {
			inst.logs.waitEOF(200 * time.Millisecond)
		}
	}

	inst.logMu.Lock()
	if !c.startLogged {
		if line, ok := inst.startLog(id); ok {
			inst.emitLocked(c, line)
		}
	}
	if o.kind == outTimeout {
		// The timeout line comes before END, as today's runtimes log it
		// (START, output, "<time> <id> Task timed out after 3.00 seconds", END,
		// REPORT ... Status: timeout); older ones printed it after REPORT.
		inst.emitLocked(c, fmt.Sprintf("%s %s Task timed out after %.2f seconds",
			o.at.UTC().Format("2006-01-02T15:04:05.000Z"), id, c.timeout.Seconds()))
	}
	for _, line := range inst.endLogs(rep) {
		inst.emitLocked(c, line)
	}
	if c.inv.LogTail {
		res.LogTail = append([]byte(nil), lastBytes(c.tail, tailSize)...)
	}
	inst.untrackLogsLocked(c)
	inst.logMu.Unlock()

	inst.untrack(c)
	return res, healthy, nil
}

func (inst *instance) detachLogs(c *invocation) {
	inst.logMu.Lock()
	inst.untrackLogsLocked(c)
	inst.logMu.Unlock()
	inst.untrack(c)
}

// untrackLogsLocked stops attributing output to c. inst.logMu must be held.
func (inst *instance) untrackLogsLocked(c *invocation) {
	if inst.logOpen != nil {
		delete(inst.logOpen, c)
		inst.retargetLogsLocked()
		return
	}
	if inst.logTo == c {
		inst.logTo = nil
	}
}

// retargetLogsLocked points a multi instance's output at its one invocation in
// flight, or at none when several share the process (their lines still reach
// the log stream, but no invocation's LogTail). inst.logMu must be held.
func (inst *instance) retargetLogsLocked() {
	inst.logTo = nil
	if len(inst.logOpen) == 1 {
		for c := range inst.logOpen {
			inst.logTo = c
		}
	}
}

// untrack forgets c as in flight on the instance: later posts for its id get 400.
func (inst *instance) untrack(c *invocation) {
	inst.mu.Lock()
	if inst.inflight != nil {
		if inst.inflight[c.inv.RequestID] == c {
			delete(inst.inflight, c.inv.RequestID)
		}
	} else if inst.cur == c {
		inst.cur = nil
	}
	inst.mu.Unlock()
}

// exitMessage renders AWS's "Runtime exited with error: exit status 1" (or "signal:
// killed"); a clean exit is "Runtime exited without providing a reason".
func exitMessage(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return "Runtime exited with error: " + ee.ProcessState.String()
	}
	if err != nil {
		return "Runtime exited with error: " + err.Error()
	}
	return "Runtime exited without providing a reason"
}

// errorTypeOf extracts errorType from an error payload.
func errorTypeOf(payload []byte, def string) string {
	var e struct {
		ErrorType string `json:"errorType"`
	}
	if json.Unmarshal(payload, &e) == nil && e.ErrorType != "" {
		return e.ErrorType
	}
	return def
}

// initStartLine is AWS's INIT_START line, logged once per execution environment:
// "INIT_START Runtime Version: python:3.12.v38\tRuntime Version ARN: arn:aws:lambda:...".
// The version is family:release.vN as AWS spells it (nodejs:24, python:3.14,
// ruby:3.4, provided:al2023); Sluice has one build of each runtime, v1.
func initStartLine(spec *FunctionSpec) string {
	line := "INIT_START Runtime Version: " + runtimeVersion(spec.Runtime)
	if spec.RuntimeVersionARN != "" {
		line += "\tRuntime Version ARN: " + spec.RuntimeVersionARN
	}
	return line
}

func runtimeVersion(rt string) string {
	switch {
	case strings.HasPrefix(rt, "nodejs"):
		return "nodejs:" + strings.TrimSuffix(strings.TrimPrefix(rt, "nodejs"), ".x") + ".v1"
	case strings.HasPrefix(rt, "python"):
		return "python:" + strings.TrimPrefix(rt, "python") + ".v1"
	case strings.HasPrefix(rt, "ruby"):
		return "ruby:" + strings.TrimPrefix(rt, "ruby") + ".v1"
	case strings.HasPrefix(rt, "provided."):
		return "provided:" + strings.TrimPrefix(rt, "provided.") + ".v1"
	}
	return rt + ".v1"
}

func startLine(id, version string) string {
	return "START RequestId: " + id + " Version: " + version
}

// reportLine formats AWS's REPORT line. Billed Duration includes Init Duration on a
// cold start: custom runtimes were always billed for init, and since August 1, 2025
// AWS bills the INIT phase of managed runtimes too ("AWS Lambda standardizes billing
// for INIT Phase", AWS Compute Blog).
func (inst *instance) reportLine(id string, d, initDur time.Duration, cold bool, status string) string {
	ms := float64(d.Microseconds()) / 1000
	billed := ms
	if cold {
		billed += float64(initDur.Microseconds()) / 1000
	}
	// Appended by hand (one allocation for the buffer, one for the string), not
	// with fmt: this runs once per invocation.
	b := make([]byte, 0, 256)
	b = append(b, "REPORT RequestId: "...)
	b = append(b, id...)
	b = append(b, "\tDuration: "...)
	b = strconv.AppendFloat(b, ms, 'f', 2, 64)
	b = append(b, " ms\tBilled Duration: "...)
	b = strconv.AppendInt(b, int64(math.Ceil(billed)), 10)
	b = append(b, " ms\tMemory Size: "...)
	b = strconv.AppendInt(b, int64(memoryMB(inst.spec)), 10)
	b = append(b, " MB\tMax Memory Used: "...)
	b = strconv.AppendInt(b, inst.maxMemoryUsedMB(), 10)
	b = append(b, " MB\t"...)
	if cold {
		b = append(b, "Init Duration: "...)
		b = strconv.AppendFloat(b, float64(initDur.Microseconds())/1000, 'f', 2, 64)
		b = append(b, " ms\t"...)
	}
	if status != "" {
		b = append(b, "Status: "...)
		b = append(b, status...)
		b = append(b, '\t')
	}
	return string(b)
}

func memoryMB(spec *FunctionSpec) int {
	if spec.MemoryMB <= 0 {
		return defaultMemoryMB
	}
	return spec.MemoryMB
}

func lastBytes(b []byte, n int) []byte {
	if len(b) <= n {
		return b
	}
	return b[len(b)-n:]
}

// failStart is the Result of an invocation whose process could not start.
func (inst *instance) failStart(inv *Invocation) *Result {
	id := inv.RequestID
	res := &Result{RequestID: id, Payload: inst.startErr.payload(id), FunctionError: "Unhandled"}
	var lines []string
	if line, ok := inst.startLog(id); ok {
		lines = append(lines, line)
	}
	if inst.spec.jsonLogs() {
		lines = append(lines, inst.endLogs(report{id: id, status: "error", errorType: inst.startErr.Type, noProcess: true})...)
	} else {
		lines = append(lines, "END RequestId: "+id,
			fmt.Sprintf("REPORT RequestId: %s\tDuration: 0.00 ms\tBilled Duration: 0 ms\tMemory Size: %d MB\tMax Memory Used: 0 MB\tStatus: error\tError Type: %s\t",
				id, memoryMB(inst.spec), inst.startErr.Type))
	}
	var tail []byte
	for _, l := range lines {
		inst.pool.appendLog(inst, l)
		tail = append(append(tail, l...), '\n')
	}
	if inv.LogTail {
		res.LogTail = lastBytes(tail, tailSize)
	}
	return res
}
