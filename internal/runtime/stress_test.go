package runtime

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

// checkAccounting verifies the pool's bookkeeping: every function's instance count
// matches its instances, the node total matches the sum, and idle stacks hold only
// live, non-busy instances of the function's current keys.
func checkAccounting(t *testing.T, p *Pool) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	total := 0
	for name, fs := range p.functions {
		if fs.instances != len(fs.all) {
			t.Errorf("%s: instances = %d, len(all) = %d", name, fs.instances, len(fs.all))
		}
		total += fs.instances
		for key, stack := range fs.idle {
			for _, inst := range stack {
				if _, ok := fs.all[inst]; !ok {
					t.Errorf("%s/%s: idle instance not in all", name, key)
				}
				if inst.busy {
					t.Errorf("%s/%s: busy instance on the idle stack", name, key)
				}
			}
		}
	}
	if total != p.total {
		t.Errorf("node total = %d, sum of functions = %d", p.total, total)
	}
	if p.total > p.opts.MaxInstances {
		t.Errorf("node total %d over MaxInstances %d", p.total, p.opts.MaxInstances)
	}
}

// TestPoolUnderChurn runs many concurrent invocations of several functions whose
// configuration keeps changing, with reserved concurrency and a small node limit,
// and checks that every invocation either succeeds or is throttled, and that the
// bookkeeping stays exact.
func TestPoolUnderChurn(t *testing.T) {
	p, _ := newTestPool(t, func(o *Options) { o.MaxInstances = 6; o.QueueTimeout = 2 * time.Second })
	two := 2
	var wg sync.WaitGroup
	for g := 0; g < 24; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 8; i++ {
				fn := fmt.Sprintf("churn%d", rand.IntN(3))
				spec := goSpec(fn, fixtures.gofn)
				spec.Key = fmt.Sprintf("%s:$LATEST:%d", fn, rand.IntN(2)) // config flips between two revisions
				if fn == "churn0" {
					spec.ReservedConcurrency = &two
				}
				event := fmt.Sprintf(`{"op":"sleep","ms":%d}`, rand.IntN(20))
				res, err := p.Invoke(context.Background(), spec, Invocation{Payload: []byte(event)})
				if errors.Is(err, ErrThrottled) {
					continue
				}
				if err != nil || res.FunctionError != "" {
					t.Errorf("%s: %v %+v", fn, err, res)
				}
			}
		}()
	}
	// Check the bookkeeping while the churn goes on.
	checkWhile(&wg, func() {
		checkAccounting(t, p)
		p.mu.Lock()
		if fs := p.functions["churn0"]; fs != nil && fs.instances > 2 {
			t.Errorf("churn0 has %d instances, reserved concurrency is 2", fs.instances)
		}
		p.mu.Unlock()
	})
	checkAccounting(t, p)
	if s := p.Stats(); s.Busy != 0 || s.Instances > 6 {
		t.Errorf("after churn: %+v", s)
	}
}

// checkSlots verifies the multi-instance bookkeeping (multi.go): a function's
// slotsIn is the sum of its instances' slots in use, open lists hold live,
// non-retired instances with a free slot and one in use, and idle instances have
// none in use.
func checkSlots(t *testing.T, p *Pool) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	for name, fs := range p.functions {
		sum := 0
		for inst := range fs.all {
			if inst.slotsIn < 0 || inst.slotsIn > inst.spec.slots() {
				t.Errorf("%s: instance with %d slots in use of %d", name, inst.slotsIn, inst.spec.slots())
			}
			sum += inst.slotsIn
		}
		if sum > fs.slotsIn {
			// Detached instances (killed, still finishing) are no longer in all
			// but hold their slots until released: all's sum is a lower bound.
			t.Errorf("%s: instances hold %d slots, slotsIn = %d", name, sum, fs.slotsIn)
		}
		for key, open := range fs.open {
			for _, inst := range open {
				if _, ok := fs.all[inst]; !ok || inst.retired || inst.slotsIn <= 0 || inst.slotsIn >= inst.spec.slots() || inst.spec.Key != key {
					t.Errorf("%s/%s: open instance: live %v, retired %v, slots %d/%d", name, key, ok, inst.retired, inst.slotsIn, inst.spec.slots())
				}
			}
		}
		for key, stack := range fs.idle {
			for _, inst := range stack {
				if inst.slotsIn != 0 {
					t.Errorf("%s/%s: idle instance with %d slots in use", name, key, inst.slotsIn)
				}
			}
		}
	}
}

// TestPoolUnderChurnMulti is TestPoolUnderChurn for Lambda Managed Instances
// functions: several invocations per process, reserved concurrency counted per
// invocation, configuration flipping, a small node limit, a few timeouts.
func TestPoolUnderChurnMulti(t *testing.T) {
	p, _ := newTestPool(t, func(o *Options) { o.MaxInstances = 4; o.QueueTimeout = 2 * time.Second })
	four := 4
	var wg sync.WaitGroup
	for g := 0; g < 24; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 8; i++ {
				fn := fmt.Sprintf("churnm%d", rand.IntN(3))
				spec := goSpec(fn, fixtures.gofn)
				spec.Key = fmt.Sprintf("%s:$LATEST:%d", fn, rand.IntN(2))
				spec.MaxConcurrency = 3
				spec.Timeout = time.Second
				if fn == "churnm0" {
					spec.ReservedConcurrency = &four
				}
				ms := rand.IntN(20)
				if rand.IntN(40) == 0 {
					ms = 1500 // times out
				}
				res, err := p.Invoke(context.Background(), spec, Invocation{Payload: []byte(fmt.Sprintf(`{"op":"sleep","ms":%d}`, ms))})
				if errors.Is(err, ErrThrottled) {
					continue
				}
				switch {
				case err != nil:
					t.Errorf("%s: %v", fn, err)
				case ms < 1000 && res.FunctionError != "":
					t.Errorf("%s: %s", fn, res.Payload)
				}
			}
		}()
	}
	checkWhile(&wg, func() {
		checkAccounting(t, p)
		checkSlots(t, p)
		p.mu.Lock()
		if fs := p.functions["churnm0"]; fs != nil && fs.slotsIn > 4 {
			t.Errorf("churnm0 has %d invocations in flight, reserved concurrency is 4", fs.slotsIn)
		}
		p.mu.Unlock()
	})
	checkAccounting(t, p)
	checkSlots(t, p)
	p.mu.Lock()
	for name, fs := range p.functions {
		if fs.slotsIn != 0 || len(fs.open) != 0 {
			t.Errorf("%s after churn: slotsIn %d, open %d", name, fs.slotsIn, len(fs.open))
		}
	}
	p.mu.Unlock()
	if s := p.Stats(); s.Busy != 0 || s.Instances > 4 {
		t.Errorf("after churn: %+v", s)
	}
}

// checkWhile runs check every 5 ms until the work wg counts is done.
func checkWhile(wg *sync.WaitGroup, check func()) {
	stop := make(chan struct{})
	checked := make(chan struct{})
	go func() {
		defer close(checked)
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
				check()
			}
		}
	}()
	wg.Wait()
	close(stop)
	<-checked
}
