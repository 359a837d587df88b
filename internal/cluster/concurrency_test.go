package cluster

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/sluice-dev/sluice/internal/store/etcdstore/etcdtest"
)

// Three nodes hammering a function with reserved concurrency 3: never more than 3
// hold a slot at once, and the slots of a node that leaves free up.
// The unreserved pool is what the reservations leave of the account: an account
// of 5 with 3 reserved runs 2 unreserved invocations at once across the nodes,
// and 5 once the reservations are gone.
func TestSlotsUnreservedPool(t *testing.T) {
	endpoint := etcdtest.Start(t)
	var reserved atomic.Int64
	reserved.Store(3)
	var nodes []*Slots
	for _, id := range []string{"a", "b"} {
		s := NewSlots(join(t, client(t, endpoint), id), 5)
		s.SetReserved(func() int { return int(reserved.Load()) })
		nodes = append(nodes, s)
	}
	take := func() (taken int, releases []func()) {
		for i := range 8 {
			release, ok, err := nodes[i%2].Acquire(context.Background(), "fn", nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			if ok {
				taken++
				releases = append(releases, release)
			}
		}
		return taken, releases
	}
	n, releases := take()
	if n != 2 {
		t.Fatalf("account 5, 3 reserved: %d unreserved slots taken, want 2", n)
	}
	for _, r := range releases {
		r()
	}
	reserved.Store(0)
	if n, _ := take(); n != 5 {
		t.Fatalf("account 5, none reserved: %d taken, want 5", n)
	}
}

func TestSlotsHoldAcrossNodes(t *testing.T) {
	endpoint := etcdtest.Start(t)
	var nodes []*Slots
	for _, id := range []string{"a", "b", "c"} {
		nodes = append(nodes, NewSlots(join(t, client(t, endpoint), id), 1000))
	}
	limit := 3
	var running, peak, got, refused atomic.Int64
	var wg sync.WaitGroup
	for i := range 30 {
		wg.Go(func() {
			release, ok, err := nodes[i%3].Acquire(context.Background(), "fn", &limit, 2*time.Second)
			if err != nil {
				t.Error(err)
			}
			if !ok {
				refused.Add(1)
				return
			}
			got.Add(1)
			n := running.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			time.Sleep(20 * time.Millisecond)
			running.Add(-1)
			release()
		})
	}
	wg.Wait()
	if peak.Load() > int64(limit) || got.Load() == 0 {
		t.Fatalf("peak %d concurrent (limit %d), %d ran, %d refused", peak.Load(), limit, got.Load(), refused.Load())
	}
	// Every slot held by a node is freed when it leaves.
	one := 1
	if _, ok, err := nodes[0].Acquire(context.Background(), "single", &one, 0); !ok || err != nil {
		t.Fatal(ok, err)
	}
	if _, ok, err := nodes[1].Acquire(context.Background(), "single", &one, 0); ok || err != nil {
		t.Fatalf("second slot of a limit of 1 = %v %v, want refused", ok, err)
	}
	if err := nodes[0].node.Leave(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := nodes[1].Acquire(context.Background(), "single", &one, time.Second); !ok || err != nil {
		t.Fatalf("slot after its holder left: %v %v", ok, err)
	}
	zero := 0
	if _, ok, err := nodes[1].Acquire(context.Background(), "none", &zero, 0); ok || err != nil {
		t.Fatalf("reserved 0 = %v %v", ok, err)
	}
}

// BenchmarkSlot is one invocation's cost: take a slot and give it back.
func BenchmarkSlot(b *testing.B) {
	endpoint := etcdtest.Start(b)
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{endpoint}, DialTimeout: 5 * time.Second})
	if err != nil {
		b.Fatal(err)
	}
	defer cli.Close()
	n, err := Join(context.Background(), cli, Member{ID: "bench"}, Options{Prefix: "/b/cluster"})
	if err != nil {
		b.Fatal(err)
	}
	s := NewSlots(n, 1000)
	limit := 10
	b.ResetTimer()
	for b.Loop() {
		release, ok, err := s.Acquire(context.Background(), "fn", &limit, time.Second)
		if !ok || err != nil {
			b.Fatal(ok, err)
		}
		release()
	}
}
