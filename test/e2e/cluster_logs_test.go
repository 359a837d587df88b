package e2e

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// The Logs API answers on any node with every node's lines of a function: a
// function invoked on node b is read through node a (filter-log-events, and
// get-log-events on b's stream), and the other way round; `sluice logs` on either
// node prints both; each line arrives once; and a node stopped right after an
// invocation ships its last lines before it exits.
func TestClusterLogsOnEveryNode(t *testing.T) {
	c := startCluster(t)
	a, b := c.node(), c.node()
	zip := filepath.Join(t.TempDir(), "fn.zip")
	if err := os.WriteFile(zip, nodeZip(t, `exports.handler = async (e) => { console.log("mark=" + e.mark); return e.mark; };`), 0o644); err != nil {
		t.Fatal(err)
	}
	a.createFunction("logs-everywhere", "nodejs22.x", "index.handler", zip)
	if meta, out := b.invokeCLI("logs-everywhere", `{"mark":"on-b"}`); meta["StatusCode"] != float64(200) || string(out) != `"on-b"` {
		t.Fatalf("invoke on b = %v %s", meta, out)
	}
	if meta, out := a.invokeCLI("logs-everywhere", `{"mark":"on-a"}`); meta["StatusCode"] != float64(200) || string(out) != `"on-a"` {
		t.Fatalf("invoke on a = %v %s", meta, out)
	}
	awaitMarks := func(n *instance, want ...string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			got := n.logged("logs-everywhere", "mark=")
			if strings.Join(slices.Sorted(slices.Values(got)), ",") == strings.Join(want, ",") {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("node %s: marks %q, want %q", n.Addr, got, want)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	awaitMarks(a, "on-a", "on-b")
	awaitMarks(b, "on-a", "on-b")

	// b's log stream, read through a with get-log-events: START, the line, END, REPORT.
	streams := a.awsJSON("logs", "describe-log-streams", "--log-group-name", "/aws/lambda/logs-everywhere")["logStreams"].([]any)
	if len(streams) != 2 {
		t.Fatalf("node a lists %d log streams, want 2 (one per node's instance): %v", len(streams), streams)
	}
	var sawB bool
	for _, st := range streams {
		name := str(st.(map[string]any)["logStreamName"])
		evs := a.awsJSON("logs", "get-log-events", "--log-group-name", "/aws/lambda/logs-everywhere", "--log-stream-name", name,
			"--start-from-head")["events"].([]any)
		var msgs []string
		for _, e := range evs {
			msgs = append(msgs, str(e.(map[string]any)["message"]))
		}
		all := strings.Join(msgs, "")
		if !strings.Contains(all, "START RequestId") || !strings.Contains(all, "REPORT RequestId") {
			t.Fatalf("stream %s on node a: %q", name, msgs)
		}
		sawB = sawB || strings.Contains(all, "mark=on-b")
	}
	if !sawB {
		t.Fatal("no stream on node a holds node b's invocation")
	}

	// sluice logs through either node prints both invocations.
	for _, n := range []*instance{a, b} {
		out, err := n.sluiceLogs("logs-everywhere")
		if err != nil || !strings.Contains(out, "mark=on-a") || !strings.Contains(out, "mark=on-b") {
			t.Fatalf("sluice logs on %s: %v\n%s", n.Addr, err, out)
		}
	}

	// A node stopped right after an invocation ships its last lines first.
	if meta, _ := b.invokeCLI("logs-everywhere", `{"mark":"last-on-b"}`); meta["StatusCode"] != float64(200) {
		t.Fatalf("invoke on b = %v", meta)
	}
	b.stop()
	awaitMarks(a, "last-on-b", "on-a", "on-b")
}
