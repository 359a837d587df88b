package cluster

import (
	"context"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/sluice-dev/sluice/internal/store/etcdstore/etcdtest"
)

func client(t *testing.T, endpoint string) *clientv3.Client {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{endpoint}, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

func join(t *testing.T, cli *clientv3.Client, id string) *Node {
	t.Helper()
	n, err := Join(context.Background(), cli, Member{ID: id, Address: "http://" + id, Version: "test", Started: time.Now()},
		Options{Prefix: "/t/cluster", TTL: 2})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// Members lists the joined nodes; exactly one is leader; Leave removes a node and
// hands the office on.
func TestMembershipAndLeader(t *testing.T) {
	cli := client(t, etcdtest.Start(t))
	a, b := join(t, cli, "a"), join(t, cli, "b")
	ms, err := a.Members(context.Background())
	if err != nil || len(ms) != 2 || ms[0].ID != "a" || ms[1].ID != "b" || ms[1].Address != "http://b" {
		t.Fatalf("Members = %+v, %v", ms, err)
	}
	waitFor(t, func() bool { return a.IsLeader() != b.IsLeader() })
	first, second := a, b
	if b.IsLeader() {
		first, second = b, a
	}
	if err := first.Leave(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, second.IsLeader)
	ms, _ = second.Members(context.Background())
	if len(ms) != 1 || ms[0].ID != second.Self().ID {
		t.Fatalf("after Leave, Members = %+v", ms)
	}
	_ = second.Leave(context.Background())
}

func waitFor(t *testing.T, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
