package cluster

import (
	"context"
	"errors"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Slots enforce Lambda's concurrency limits across the cluster, as AWS enforces
// them per account and function rather than per machine. A running invocation
// holds one slot: a key <prefix>/concurrency/fn/<function>/<i> for a function with
// reserved concurrency L (0 <= i < L), else <prefix>/concurrency/account/<i> for
// the account's unreserved pool. A slot is taken with a transaction that creates
// the key only if it does not exist, under the node's lease, and given back by
// deleting it.
//
// Accuracy: exact. At most L invocations hold a slot of a limit L at any moment,
// whatever the number of nodes, because two nodes cannot both create one key.
// Lowering L leaves invocations that hold higher slots running to completion.
// Slots of a node killed without warning stay taken until its lease expires (the
// TTL, 5 s by default): the cluster then runs fewer than L, never more.
//
// Cost: two etcd round trips per invocation to take a slot (a serializable range
// read of the taken slots, then the create transaction, one raft commit) and one
// to give it back (a delete, another commit). Single-node Sluice does not use
// Slots at all (the pool's own counters, in memory, enforce the limits there).
type Slots struct {
	node *Node
	// Account is the account's concurrency across the cluster (AWS's default
	// quota is 1000); the unreserved pool is what reserved concurrency leaves of it.
	Account int
	// reserved, once set (SetReserved), is the sum of the functions' reserved
	// concurrency.
	reserved atomic.Pointer[func() int]
	// Poll is how often a waiting invocation looks for a free slot (default 10 ms).
	Poll time.Duration
}

// NewSlots returns the concurrency slots of node's cluster.
func NewSlots(node *Node, account int) *Slots {
	return &Slots{node: node, Account: account, Poll: 10 * time.Millisecond}
}

// SetReserved tells the slots how much of the account reserved concurrency takes
// (lambda.Service.ReservedConcurrency); until then the unreserved pool is all of
// Account.
func (s *Slots) SetReserved(reserved func() int) { s.reserved.Store(&reserved) }

// unreserved is the size of the account's unreserved pool: as on AWS, functions
// without a reservation share what the reservations leave.
func (s *Slots) unreserved() int {
	if f := s.reserved.Load(); f != nil {
		return s.Account - (*f)()
	}
	return s.Account
}

// Acquire takes a slot of function (reserved is its reserved concurrency, nil when
// it draws on the account's pool), waiting up to wait for one to free up; ok is
// false when none did (the invocation is throttled). release gives the slot back
// and must be called exactly once. An error means etcd did not answer: the
// invocation must not run, since its slot could not be accounted for.
func (s *Slots) Acquire(ctx context.Context, function string, reserved *int, wait time.Duration) (release func(), ok bool, err error) {
	prefix, limit := s.node.prefix+"/concurrency/account/", s.unreserved()
	if reserved != nil {
		prefix, limit = s.node.prefix+"/concurrency/fn/"+function+"/", *reserved
	}
	if limit <= 0 {
		return nil, false, nil
	}
	deadline := time.Now().Add(wait)
	for {
		key, err := s.tryTake(ctx, prefix, limit)
		if err != nil {
			return nil, false, err
		}
		if key != "" {
			return func() { s.give(key) }, true, nil
		}
		if !time.Now().Before(deadline) {
			return nil, false, nil
		}
		t := time.NewTimer(min(s.Poll, time.Until(deadline)))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, false, ctx.Err()
		case <-t.C:
		}
	}
}

// tryTake creates a free slot key under the node's lease. It returns "" when
// every slot below limit is taken.
func (s *Slots) tryTake(ctx context.Context, prefix string, limit int) (string, error) {
	for attempt := 0; ; attempt++ {
		key, again, err := s.takeOnce(ctx, prefix, limit, attempt == 0)
		if err != nil || !again {
			return key, err
		}
		if attempt >= 20 {
			return "", nil // lost every race: wait like a full limit
		}
	}
}

// takeOnce reads the taken slots and tries a few free ones; again says the view
// was stale (every slot tried was taken meanwhile).
func (s *Slots) takeOnce(ctx context.Context, prefix string, limit int, serializable bool) (key string, again bool, err error) {
	lease := s.node.lease()
	if lease == 0 {
		return "", false, errors.New("cluster: not registered (etcd unreachable); cannot take a concurrency slot")
	}
	opts := []clientv3.OpOption{clientv3.WithPrefix(), clientv3.WithKeysOnly()}
	if serializable {
		// A stale view only costs a failed transaction below; the retry reads
		// linearizably.
		opts = append(opts, clientv3.WithSerializable())
	}
	resp, err := s.node.cli.Get(ctx, prefix, opts...)
	if err != nil {
		return "", false, err
	}
	taken := make(map[int]bool, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		if i, err := strconv.Atoi(strings.TrimPrefix(string(kv.Key), prefix)); err == nil {
			taken[i] = true
		}
	}
	free := make([]int, 0, limit-len(taken)+1)
	for i := range limit {
		if !taken[i] {
			free = append(free, i)
		}
	}
	// Start at a random free slot so nodes racing for the last few rarely pick
	// the same one; on a conflict try the others.
	off := 0
	if len(free) > 1 {
		off = rand.IntN(len(free))
	}
	for j := range free {
		key := prefix + strconv.Itoa(free[(off+j)%len(free)])
		tx, err := s.node.cli.Txn(ctx).
			If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
			Then(clientv3.OpPut(key, s.node.self.ID, clientv3.WithLease(lease))).
			Commit()
		if err != nil {
			return "", false, err
		}
		if tx.Succeeded {
			return key, false, nil
		}
		if j >= 2 {
			break // the view is stale; read again
		}
	}
	return "", len(free) > 0, nil
}

// give deletes a slot. If etcd does not answer, the slot is freed when the
// node's lease ends (Leave, or expiry).
func (s *Slots) give(key string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := s.node.cli.Delete(ctx, key); err != nil {
		s.node.log.Warn("cluster: give back concurrency slot", "key", key, "err", err)
	}
}
