package runtime

import (
	"testing"
	"time"
)

// The scheduler's decision is a pure function of the measured durations and the
// occupancy; no timing is asserted.
func TestQueueForDecision(t *testing.T) {
	p := &Pool{}
	live := hostCores
	cases := []struct {
		name  string
		sched string
		ks    keySched
		queue bool
	}{
		{"nothing measured yet", "", keySched{live: live, busy: live}, false},
		{"fewer instances than cores", "", keySched{live: hostCores - 1, busy: hostCores - 1, invoke: time.Millisecond, init: time.Second}, false},
		{"short invokes, slow init: wait", "", keySched{live: live, busy: live, invoke: time.Millisecond, init: 50 * time.Millisecond}, true},
		{"long invokes: start one", "", keySched{live: live, busy: live, invoke: time.Second, init: 50 * time.Millisecond}, false},
		{"a long queue: start one", "", keySched{live: live, busy: live, invoke: time.Millisecond, init: 5 * time.Millisecond,
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
