package logship

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/internal/blobstore"
	"github.com/sluice-dev/sluice/internal/fnlogs"
	"github.com/sluice-dev/sluice/internal/store"
	"github.com/sluice-dev/sluice/internal/store/memstore"
)

// node is one cluster node's log store and shipper, over a shared store and
// blob store.
type node struct {
	dir  string
	logs *fnlogs.Store
	sh   *Shipper
}

func startNode(t *testing.T, st store.Store, blobs Blobs, id, dir string) *node {
	t.Helper()
	return startNodeEvery(t, st, blobs, id, dir, 20*time.Millisecond)
}

func startNodeEvery(t *testing.T, st store.Store, blobs Blobs, id, dir string, interval time.Duration) *node {
	t.Helper()
	sh, err := New(Options{Store: st, Blobs: blobs, Node: id, StateFile: filepath.Join(dir, "imported.json"),
		Interval: interval})
	if err != nil {
		t.Fatal(err)
	}
	logs, err := fnlogs.OpenWith(filepath.Join(dir, "logs"), fnlogs.Options{Ship: sh.Append})
	if err != nil {
		t.Fatal(err)
	}
	if err := sh.Start(context.Background(), logs); err != nil {
		t.Fatal(err)
	}
	n := &node{dir: dir, logs: logs, sh: sh}
	t.Cleanup(n.stop)
	return n
}

func (n *node) stop() {
	if n.sh != nil {
		_ = n.sh.Close()
		_ = n.logs.Close()
		n.sh = nil
	}
}

// lines is every "stream message" line of log name on the node.
func (n *node) lines(t *testing.T, name string) []string {
	t.Helper()
	var got []string
	err := n.logs.Scan(name, fnlogs.Cursor{}, time.Time{}, func(e fnlogs.Entry) error {
		got = append(got, e.Stream+" "+e.Message)
		return nil
	})
	if err != nil && err != fnlogs.ErrNotFound {
		t.Fatal(err)
	}
	slices.Sort(got)
	return got
}

func (n *node) await(t *testing.T, name string, want ...string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := n.lines(t, name)
		if slices.Equal(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: log %s = %q, want %q", n.dir, name, got, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestEveryNodeGetsEveryNodesLines(t *testing.T) {
	st := memstore.New()
	blobs, err := blobstore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	dirB := t.TempDir()
	a := startNode(t, st, blobs, "node-a", t.TempDir())
	b := startNode(t, st, blobs, "node-b", dirB)

	now := time.Now()
	a.logs.Append("fn", "s-a", now, "from a")
	b.logs.Append("fn", "s-b", now, "from b")
	b.logs.Append("/aws/access/x", "s-b", now, `{"status":200}`)
	want := []string{"s-a from a", "s-b from b"}
	a.await(t, "fn", want...)
	b.await(t, "fn", want...)
	a.await(t, "/aws/access/x", `s-b {"status":200}`)

	// Imported lines are not shipped back: after several intervals each node
	// still has each line once, and there are two chunks, one per node.
	time.Sleep(200 * time.Millisecond)
	a.await(t, "fn", want...)
	b.await(t, "fn", want...)
	kvs, err := st.List(context.Background(), Prefix)
	if err != nil {
		t.Fatal(err)
	}
	if len(kvs) != 2 || !strings.HasPrefix(kvs[0].Key, Prefix+"node-a/") || !strings.HasPrefix(kvs[1].Key, Prefix+"node-b/") {
		t.Fatalf("chunk records = %v", kvs)
	}

	// A restarted node resumes where it stopped: nothing imported twice, and
	// what was shipped while it was down arrives. (It ships only when it stops,
	// below.)
	b.stop()
	a.logs.Append("fn", "s-a", now, "while b was down")
	time.Sleep(100 * time.Millisecond)
	b = startNodeEvery(t, st, blobs, "node-b", dirB, time.Hour)
	want = []string{"s-a from a", "s-a while b was down", "s-b from b"}
	b.await(t, "fn", want...)

	// A node stopped cleanly ships what it still had queued.
	b.logs.Append("fn", "s-b", now, "last words")
	b.stop()
	want = []string{"s-a from a", "s-a while b was down", "s-b from b", "s-b last words"}
	a.await(t, "fn", want...)

	// The sweep deletes expired chunks' records and bytes.
	kvs, _ = st.List(context.Background(), Prefix)
	n, err := a.sh.Sweep(context.Background(), time.Now().Add(time.Minute))
	if err != nil || n != len(kvs) || n < 3 {
		t.Fatalf("sweep = %d, %v; want the %d chunks", n, err, len(kvs))
	}
	if kvs, _ := st.List(context.Background(), Prefix); len(kvs) != 0 {
		t.Fatalf("after the sweep: %v", kvs)
	}
}

// A malformed record, a chunk that is not gzip, and a record whose bytes are
// gone are skipped; the peer's later chunks still arrive.
func TestBadChunksAreSkipped(t *testing.T) {
	st := memstore.New()
	blobs, err := blobstore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	notGzip, _, err := blobs.Put(strings.NewReader("plain text"))
	if err != nil {
		t.Fatal(err)
	}
	put := func(seq int64, value string) {
		if err := st.Update(context.Background(), func(tx store.Tx) error { return tx.Put(chunkKey("peer", seq), []byte(value)) }); err != nil {
			t.Fatal(err)
		}
	}
	put(1, "{not json")
	put(2, `{"sha256":"`+notGzip+`"}`)
	put(3, `{"sha256":"`+strings.Repeat("ab", 32)+`"}`)
	if err := st.Update(context.Background(), func(tx store.Tx) error { return tx.Put(Prefix+"peer/short", []byte("{}")) }); err != nil {
		t.Fatal(err)
	}
	peer, err := New(Options{Store: st, Blobs: blobs, Node: "peer", StateFile: filepath.Join(t.TempDir(), "s.json")})
	if err != nil {
		t.Fatal(err)
	}
	peer.lastSeq = 3
	peer.Append("fn", "s", time.Now(), "after the bad ones")
	if err := peer.ship(context.Background()); err != nil {
		t.Fatal(err)
	}
	a := startNode(t, st, blobs, "node-a", t.TempDir())
	a.await(t, "fn", "s after the bad ones")
}

func TestBadNodeID(t *testing.T) {
	for _, id := range []string{"", "a/b"} {
		if _, err := New(Options{Node: id}); err == nil {
			t.Errorf("node id %q accepted", id)
		}
	}
}
