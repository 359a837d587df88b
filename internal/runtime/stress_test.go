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
	stop := make(chan struct{})
	checked := make(chan struct{})
	go func() {
		defer close(checked)
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
				checkAccounting(t, p)
				p.mu.Lock()
				if fs := p.functions["churn0"]; fs != nil && fs.instances > 2 {
					t.Errorf("churn0 has %d instances, reserved concurrency is 2", fs.instances)
				}
				p.mu.Unlock()
			}
		}
	}()
	wg.Wait()
	close(stop)
	<-checked
	checkAccounting(t, p)
	if s := p.Stats(); s.Busy != 0 || s.Instances > 6 {
		t.Errorf("after churn: %+v", s)
	}
}
