package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/sluice-dev/sluice/internal/awsproto"
	"github.com/sluice-dev/sluice/internal/cluster"
	"github.com/sluice-dev/sluice/internal/logship"
	"github.com/sluice-dev/sluice/internal/store"
	"github.com/sluice-dev/sluice/internal/store/etcdstore"
)

// ClusterStatus is what GET /_sluice/cluster answers (and `sluice cluster
// status` prints): the registered nodes, the leader and the node that answered.
type ClusterStatus struct {
	Store  string           `json:"store"` // bolt (a single node) or etcd
	Self   string           `json:"self"`
	Leader string           `json:"leader,omitempty"`
	Nodes  []cluster.Member `json:"nodes"`
}

// clusterPrefix is where the cluster's bookkeeping lives in etcd, beside the
// store's records (<prefix>/kv).
func clusterPrefix(st *etcdstore.Store) string { return st.Prefix() + "/cluster" }

// joinCluster registers this node when the store is etcd; nil with bolt (a
// single node has no one to agree with).
func joinCluster(ctx context.Context, cfg Config, st store.Store, endpoint string, logger *slog.Logger) (*cluster.Node, error) {
	es, ok := st.(*etcdstore.Store)
	if !ok {
		return nil, nil
	}
	id, err := nodeID(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	return cluster.Join(ctx, es.Client(), cluster.Member{ID: id, Address: endpoint, Version: cfg.Version, Started: time.Now().UTC()},
		cluster.Options{Prefix: clusterPrefix(es), Logger: logger.With("component", "cluster")})
}

// sweepsSharedBlobs says whether this node collects garbage in the blob store:
// with a bucket shared by a cluster, only the elected leader sweeps (nodes racing
// to delete could remove bytes another node's record is about to name, since what
// a node holds in flight is visible only to it). Nil otherwise: each node sweeps
// its own blobs.
func (n *node) sweepsSharedBlobs(cfg Config) func() bool {
	if n.cluster == nil || !cfg.sharedBlobs() {
		return nil
	}
	return n.cluster.IsLeader
}

// nodeID is this data dir's node id, made once (hostname and a random suffix)
// and kept in data-dir/node-id, so a restarted node is the same member.
func nodeID(dataDir string) (string, error) {
	path := filepath.Join(dataDir, "node-id")
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) > 0 {
		return strings.TrimSpace(string(b)), nil
	}
	host, _ := os.Hostname()
	if host == "" {
		host = "node"
	}
	var r [4]byte
	_, _ = rand.Read(r[:])
	id := host + "-" + hex.EncodeToString(r[:])
	if err := os.WriteFile(path, []byte(id+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("node id: %w", err)
	}
	return id, nil
}

// clusterStatus answers GET /_sluice/cluster.
func (n *node) clusterStatus(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		awsproto.WriteError(w, awsproto.StyleAPIGateway, awsproto.Errorf(http.StatusMethodNotAllowed, "MethodNotAllowedException", "use GET"))
		return
	}
	if n.cluster == nil {
		awsproto.WriteJSON(w, http.StatusOK, ClusterStatus{Store: "bolt", Self: n.self.ID, Leader: n.self.ID, Nodes: []cluster.Member{n.self}})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	members, err := n.cluster.Members(ctx)
	if err != nil {
		awsproto.WriteError(w, awsproto.StyleAPIGateway, awsproto.Errorf(http.StatusServiceUnavailable, "ServiceUnavailableException", "%v", err))
		return
	}
	st := ClusterStatus{Store: "etcd", Self: n.self.ID, Nodes: members}
	if id, err := n.leaderID(ctx); err == nil {
		st.Leader = id
	}
	awsproto.WriteJSON(w, http.StatusOK, st)
}

// leaderID is the id the current leader campaigned with: the value of the oldest
// key under the election prefix (how concurrency.Election finds its leader).
func (n *node) leaderID(ctx context.Context) (string, error) {
	resp, err := n.etcd.Get(ctx, n.clusterPrefix+"/leader/", clientv3.WithFirstCreate()...)
	if err != nil {
		return "", err
	}
	if len(resp.Kvs) == 0 {
		return "", errors.New("no leader")
	}
	return string(resp.Kvs[0].Value), nil
}

// logShipper copies this node's function logs to the other nodes and theirs to
// this one (internal/logship), so the Logs API answers the same on every node. It
// needs a cluster and a shared blob store; nil otherwise (a single node, or nodes
// with local blobs, which keep their own logs).
func (n *node) logShipper(ctx context.Context, cfg Config, st store.Store, logger *slog.Logger) (*logship.Shipper, error) {
	if n.cluster == nil || !cfg.sharedBlobs() {
		return nil, nil
	}
	blobs, err := openBlobs(ctx, cfg, "logs", logger)
	if err != nil {
		return nil, fmt.Errorf("log blob store: %w", err)
	}
	return logship.New(logship.Options{Store: st, Blobs: blobs, Node: n.self.ID,
		StateFile: filepath.Join(cfg.DataDir, "logship", "imported.json"),
		IsLeader:  n.cluster.IsLeader, Logger: logger.With("component", "logship")})
}
