// Package cluster owns what the nodes of one Sluice cluster agree on through etcd
// beyond the store's records: which nodes are alive (each registers under its own
// lease), which one is the leader that runs cluster-wide chores (an etcd
// election), and how many invocations of a function run at once across all of
// them (lease-backed concurrency slots, concurrency.go).
//
// Everything lives under one key prefix (the store's, plus "/cluster"), apart from
// the store's records, so a cluster's bookkeeping never shows up in a service's
// List.
package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
)

// Member is one registered node, as `sluice cluster status` lists it.
type Member struct {
	ID      string    `json:"id"`
	Address string    `json:"address"` // the URL clients and peers reach it at
	Version string    `json:"version"`
	Started time.Time `json:"started"`
}

// Options configure Join.
type Options struct {
	// Prefix is the etcd key prefix of the cluster's bookkeeping (the store's
	// prefix + "/cluster").
	Prefix string
	// TTL is the lease of a node's registration and slots, in seconds (default
	// 5): a node killed without warning is gone from the registry, and its
	// concurrency slots are free, this long after its last keep-alive.
	TTL    int
	Logger *slog.Logger
}

const defaultTTL = 5

// Node is this process's membership: its registration, its part in the leader
// election, and the lease its concurrency slots are held under. Join starts it;
// Leave ends it.
type Node struct {
	cli    *clientv3.Client
	prefix string
	self   Member
	ttl    int
	log    *slog.Logger
	leader atomic.Bool

	mu      sync.Mutex // guards session
	session *concurrency.Session

	stop context.CancelFunc
	done chan struct{} // closed when the session loop has returned
}

// Join registers self under a new lease and keeps the registration alive until
// Leave (or ctx ends). It fails when etcd does not answer: a node that cannot
// register must not serve as part of the cluster. When the lease is lost (etcd
// unreachable for longer than the TTL), the node registers again under a new one
// as soon as etcd answers.
func Join(ctx context.Context, cli *clientv3.Client, self Member, opts Options) (*Node, error) {
	if opts.TTL <= 0 {
		opts.TTL = defaultTTL
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	n := &Node{cli: cli, prefix: opts.Prefix, self: self, ttl: opts.TTL, log: opts.Logger, done: make(chan struct{})}
	s, err := n.register(ctx)
	if err != nil {
		return nil, err
	}
	loopCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	n.stop = stop
	go n.run(loopCtx, s)
	return n, nil
}

// Self is this node's registration.
func (n *Node) Self() Member { return n.self }

func (n *Node) memberKey(id string) string { return n.prefix + "/nodes/" + id }

// register opens a session (a lease kept alive by the client) and puts the
// member record under it.
func (n *Node) register(ctx context.Context) (*concurrency.Session, error) {
	s, err := concurrency.NewSession(n.cli, concurrency.WithTTL(n.ttl), concurrency.WithContext(context.WithoutCancel(ctx)))
	if err != nil {
		return nil, fmt.Errorf("cluster: open lease: %w", err)
	}
	b, _ := json.Marshal(n.self)
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := n.cli.Put(pctx, n.memberKey(n.self.ID), string(b), clientv3.WithLease(s.Lease())); err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("cluster: register node %s: %w", n.self.ID, err)
	}
	n.mu.Lock()
	n.session = s
	n.mu.Unlock()
	return s, nil
}

// run campaigns for leadership in each session and registers again when a
// session's lease is lost.
func (n *Node) run(ctx context.Context, s *concurrency.Session) {
	defer close(n.done)
	for {
		campaignCtx, stopCampaign := context.WithCancel(ctx)
		campaigned := make(chan struct{})
		go func() {
			defer close(campaigned)
			n.campaign(campaignCtx, s)
		}()
		select {
		case <-ctx.Done():
		case <-s.Done():
			n.log.Warn("cluster: lease lost; registering again", "node", n.self.ID)
		}
		stopCampaign()
		<-campaigned
		n.leader.Store(false)
		if ctx.Err() != nil {
			return
		}
		for {
			var err error
			if s, err = n.register(ctx); err == nil {
				break
			}
			n.log.Warn("cluster: register again", "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
		}
	}
}

// campaign blocks until this node is elected, marks it leader, and holds the
// office until ctx ends (the session ending ends ctx via run).
func (n *Node) campaign(ctx context.Context, s *concurrency.Session) {
	e := concurrency.NewElection(s, n.prefix+"/leader")
	if err := e.Campaign(ctx, n.self.ID); err != nil {
		if ctx.Err() == nil {
			n.log.Warn("cluster: leader campaign", "err", err)
		}
		return
	}
	n.leader.Store(true)
	n.log.Info("cluster: this node is the leader", "node", n.self.ID)
	select {
	case <-ctx.Done():
	case <-s.Done():
	}
	n.leader.Store(false)
	rctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = e.Resign(rctx)
}

// IsLeader reports whether this node holds the leader office now. Two nodes can
// both believe they lead for at most one TTL after a partition (the old leader
// learns it lost its lease only when its keep-alive fails), so work done by the
// leader must be safe to run twice (garbage collection is: it deletes only blobs
// unreferenced for a grace period far longer than the TTL).
func (n *Node) IsLeader() bool { return n.leader.Load() }

// lease is the lease of the current session (0 between sessions).
func (n *Node) lease() clientv3.LeaseID {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.session == nil {
		return 0
	}
	return n.session.Lease()
}

// Members lists the registered nodes, by id.
func (n *Node) Members(ctx context.Context) ([]Member, error) {
	resp, err := n.cli.Get(ctx, n.prefix+"/nodes/", clientv3.WithPrefix())
	if err != nil {
		return nil, fmt.Errorf("cluster: list nodes: %w", err)
	}
	out := make([]Member, 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		var m Member
		if json.Unmarshal(kv.Value, &m) == nil {
			out = append(out, m)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Leave takes the node out of the cluster: the leader office passes on, the
// registration and every concurrency slot this node holds are deleted (the
// lease is revoked), and the keep-alive stops.
func (n *Node) Leave(ctx context.Context) error {
	n.stop()
	<-n.done
	n.mu.Lock()
	s := n.session
	n.session = nil
	n.mu.Unlock()
	if s == nil {
		return nil
	}
	// Session.Close revokes the lease (bounded by its own TTL-long timeout).
	rctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	_, err := n.cli.Revoke(rctx, s.Lease())
	s.Orphan()
	if err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("cluster: leave: %w", err)
	}
	return nil
}
