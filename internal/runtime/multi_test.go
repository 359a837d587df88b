package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// invokeAll runs n concurrent invocations of event and returns their replies and
// the Results' request ids, failing the test on any error.
func invokeAll(t *testing.T, p *Pool, spec *FunctionSpec, n int, event string) []fnReply {
	t.Helper()
	replies := make([]fnReply, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
			res, err := p.Invoke(context.Background(), spec, Invocation{RequestID: id, Payload: []byte(event)})
			switch {
			case err != nil:
				errs[i] = err
			case res.FunctionError != "":
				errs[i] = fmt.Errorf("FunctionError %s: %s", res.FunctionError, res.Payload)
			default:
				errs[i] = json.Unmarshal(res.Payload, &replies[i])
				if errs[i] == nil && replies[i].RequestID != id {
					errs[i] = fmt.Errorf("invocation %s got the reply of %s", id, replies[i].RequestID)
				}
			}
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("invocation %d: %v", i, err)
		}
	}
	return replies
}

func distinctPIDs(replies []fnReply) map[int]bool {
	pids := map[int]bool{}
	for _, r := range replies {
		pids[r.PID] = true
	}
	return pids
}

// TestMultiConcurrencyOneInstanceServesN: with MaxConcurrency 8, eight concurrent
// invocations of a handler that sleeps 200 ms all run in one process (aws-lambda-go
// runs 8 pollers when AWS_LAMBDA_MAX_CONCURRENCY=8), each answered with its own
// reply; with MaxConcurrency 1 (classic) the same burst needs several processes.
func TestMultiConcurrencyOneInstanceServesN(t *testing.T) {
	const burst = 8
	event := `{"op":"sleep","ms":200}`

	p, _ := newTestPool(t, func(o *Options) { o.Scheduler = SchedulerSpawn })
	multi := goSpec("lmi8", fixtures.gofn)
	multi.MaxConcurrency = burst
	if pids := distinctPIDs(invokeAll(t, p, multi, burst, event)); len(pids) != 1 {
		t.Errorf("MaxConcurrency %d: %d processes served %d invocations, want 1", burst, len(pids), burst)
	}
	if got := decode(t, invoke(t, p, multi, `{"op":"getenv","key":"AWS_LAMBDA_MAX_CONCURRENCY"}`, false)).Value; got != "8" {
		t.Errorf("AWS_LAMBDA_MAX_CONCURRENCY = %q, want 8", got)
	}
	if s := p.FunctionStats()["lmi8"]; s.Instances != 1 || s.Busy != 0 {
		t.Errorf("FunctionStats = %+v, want one idle instance", s)
	}

	classic := goSpec("lmi1", fixtures.gofn)
	classic.MaxConcurrency = 1
	if pids := distinctPIDs(invokeAll(t, p, classic, burst, event)); len(pids) < 2 {
		t.Errorf("MaxConcurrency 1: %d process(es) served %d concurrent invocations, want several", len(pids), burst)
	}
	if got := decode(t, invoke(t, p, classic, `{"op":"getenv","key":"AWS_LAMBDA_MAX_CONCURRENCY"}`, false)).Value; got != "" {
		t.Errorf("classic instance has AWS_LAMBDA_MAX_CONCURRENCY=%q", got)
	}
	checkAccounting(t, p)
}

// TestMultiConcurrencyScalesOutWhenFull: invocations beyond an instance's slots
// start another instance; none waits for a slot while it may start one.
func TestMultiConcurrencyScalesOutWhenFull(t *testing.T) {
	p, _ := newTestPool(t, func(o *Options) { o.Scheduler = SchedulerSpawn })
	spec := goSpec("lmi2", fixtures.gofn)
	spec.MaxConcurrency = 2
	pids := distinctPIDs(invokeAll(t, p, spec, 6, `{"op":"sleep","ms":300}`))
	if len(pids) != 3 {
		t.Errorf("6 concurrent invocations on 2-slot instances used %d processes, want 3", len(pids))
	}
	checkAccounting(t, p)
}

// TestMultiConcurrencyReservedCountsInvocations: reserved concurrency bounds
// invocations in flight, not processes: with 2 reserved and 8 slots, a third
// concurrent invocation is throttled although the instance has free slots.
func TestMultiConcurrencyReservedCountsInvocations(t *testing.T) {
	p, _ := newTestPool(t, func(o *Options) { o.QueueTimeout = 100 * time.Millisecond })
	two := 2
	spec := goSpec("lmires", fixtures.gofn)
	spec.MaxConcurrency = 8
	spec.ReservedConcurrency = &two
	slow := make(chan error, 2)
	for range 2 {
		go func() {
			_, err := p.Invoke(context.Background(), spec, Invocation{Payload: []byte(`{"op":"sleep","ms":2000}`)})
			slow <- err
		}()
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		p.mu.Lock()
		n := p.functions["lmires"].slotsInOrZero()
		p.mu.Unlock()
		if n == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the two slow invocations never started")
		}
	}
	if _, err := p.Invoke(context.Background(), spec, Invocation{Payload: []byte(`{"op":"echo"}`)}); !errors.Is(err, ErrThrottled) {
		t.Errorf("third concurrent invocation: err = %v, want ErrThrottled", err)
	}
	for range 2 {
		if err := <-slow; err != nil {
			t.Fatal(err)
		}
	}
	decode(t, invoke(t, p, spec, `{"op":"echo"}`, false))
	if s := p.FunctionStats()["lmires"]; s.Instances != 1 {
		t.Errorf("FunctionStats = %+v, want one instance", s)
	}
	checkAccounting(t, p)
}

func (fs *functionState) slotsInOrZero() int {
	if fs == nil {
		return 0
	}
	return fs.slotsIn
}

// TestMultiConcurrencyTimeoutIsPerInvocation: one invocation timing out does not
// fail the others in flight on the same process; the instance is then retired and
// the next invocation starts a new one.
func TestMultiConcurrencyTimeoutIsPerInvocation(t *testing.T) {
	p, _ := newTestPool(t, nil)
	spec := goSpec("lmitimeout", fixtures.gofn)
	spec.MaxConcurrency = 4
	spec.Timeout = 2 * time.Second
	first := decode(t, invoke(t, p, spec, `{"op":"echo"}`, false)).PID

	hung := make(chan *Result, 1)
	go func() {
		res, err := p.Invoke(context.Background(), spec, Invocation{Payload: []byte(`{"op":"sleep","ms":5000}`)})
		if err != nil {
			t.Error(err)
		}
		hung <- res
	}()
	// Runs beside the hung one on the same process and answers normally.
	if pid := decode(t, invoke(t, p, spec, `{"op":"sleep","ms":300}`, false)).PID; pid != first {
		t.Errorf("second invocation ran on pid %d, want %d (the instance with free slots)", pid, first)
	}
	res := <-hung
	if res.FunctionError != "Unhandled" || !strings.Contains(string(res.Payload), "Sandbox.Timedout") {
		t.Fatalf("hung invocation: %s %s", res.FunctionError, res.Payload)
	}
	waitDead(t, first)
	if pid := decode(t, invoke(t, p, spec, `{"op":"echo"}`, false)).PID; pid == first {
		t.Error("the instance of the timed-out invocation served again")
	}
	checkAccounting(t, p)
}

// TestMultiConcurrencyLogsAndReport: every invocation gets its END and REPORT;
// the instance's one init is reported once, on the invocation that started it.
func TestMultiConcurrencyLogsAndReport(t *testing.T) {
	p, sink := newTestPool(t, func(o *Options) { o.Scheduler = SchedulerSpawn })
	spec := goSpec("lmilogs", fixtures.gofn)
	spec.MaxConcurrency = 4
	invokeAll(t, p, spec, 4, `{"op":"sleep","ms":100}`)
	reports, inits := 0, 0
	for _, l := range sink.snapshot() {
		if strings.Contains(l, "REPORT RequestId: ") {
			reports++
			if strings.Contains(l, "Init Duration: ") {
				inits++
			}
		}
	}
	if reports != 4 || inits != 1 {
		t.Errorf("%d REPORT lines, %d with Init Duration; want 4 and 1 (one init for the instance)", reports, inits)
	}
}
