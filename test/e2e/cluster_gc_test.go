package e2e

import (
	"strings"
	"testing"
	"time"
)

// gcLines counts n's log lines of sweeps of the shared blobs: Lambda's code
// sweep when it covered the bucket, and the S3 service's unreferenced-body sweep.
func (s *instance) gcLines() (code, objects int) {
	for line := range strings.SplitSeq(s.logs.String(), "\n") {
		switch {
		case strings.Contains(line, `msg="lambda: code garbage collection"`) && strings.Contains(line, "swept_blobs=true"):
			code++
		case strings.Contains(line, `msg="s3 gc: swept blobs no object references"`):
			objects++
		}
	}
	return code, objects
}

// With a bucket shared by two nodes only the elected leader sweeps it (code blobs
// and object bodies); the other node still sweeps its own extracted code. When the
// leader dies (kill -9), the other node takes the office over once the dead
// node's lease expires, and sweeps from then on.
func TestClusterGarbageCollectionLeader(t *testing.T) {
	c := startCluster(t)
	c.nodeArgs = append(c.nodeArgs, "--gc-interval", "500ms")
	a, b := c.node(), c.node()
	_, leaderID, ids := a.clusterStatus(t)
	var leader, follower *instance
	switch leaderID {
	case ids[a.URL]:
		leader, follower = a, b
	case ids[b.URL]:
		leader, follower = b, a
	default:
		t.Fatalf("leader %q is neither node (%v)", leaderID, ids)
	}

	if !eventually(t, 20*time.Second, func() bool { code, objects := leader.gcLines(); return code >= 3 && objects >= 3 }) {
		code, objects := leader.gcLines()
		t.Fatalf("the leader swept code %d times and objects %d times in 20 s, want 3 each", code, objects)
	}
	if code, objects := follower.gcLines(); code != 0 || objects != 0 {
		t.Fatalf("the follower swept the shared bucket too: code %d times, objects %d times", code, objects)
	}
	if !strings.Contains(follower.logs.String(), "swept_blobs=false") {
		t.Fatal("the follower does not sweep its own extracted code")
	}

	leader.kill9()
	start := time.Now()
	if !eventually(t, 30*time.Second, func() bool { code, objects := follower.gcLines(); return code >= 2 && objects >= 2 }) {
		t.Fatal("after the leader was killed, the other node did not take over the sweeps within 30 s")
	}
	t.Logf("the surviving node swept %s after the leader was killed", time.Since(start).Round(100*time.Millisecond))
	if _, leader, ids := follower.clusterStatus(t); leader != ids[follower.URL] {
		t.Fatalf("leader %q, want the surviving node %q", leader, ids[follower.URL])
	}
}
