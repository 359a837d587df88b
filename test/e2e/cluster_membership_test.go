package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"sort"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
)

// runProbe is the HTTP server gofn's "count" mode reports to: /start when a run
// begins (with the endpoint of the node running it), / when it finishes.
type runProbe struct {
	*httptest.Server
	started chan string // the node endpoint of each run that began
	mu      sync.Mutex  // guards the counts below
	done    int
	running int // begun and not finished
	peak    int // most running at once
}

func newRunProbe(t *testing.T) *runProbe {
	p := &runProbe{started: make(chan string, 16)}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		p.mu.Lock()
		if r.URL.Path == "/start" {
			p.running++
			p.peak = max(p.peak, p.running)
			p.mu.Unlock()
			select {
			case p.started <- string(body):
			default:
			}
			return
		}
		p.running--
		p.done++
		n := p.done
		p.mu.Unlock()
		fmt.Fprint(w, n)
	}))
	t.Cleanup(p.Close)
	return p
}

// peakRunning is the most runs in flight at once.
func (p *runProbe) peakRunning() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.peak
}

func (p *runProbe) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.done
}

// clusterStatus runs `sluice cluster status -o json` against node s.
func (s *instance) clusterStatus(t *testing.T) (self, leader string, nodes map[string]string) {
	t.Helper()
	cmd := exec.Command(sluiceBin, "cluster", "status", "-o", "json", "--endpoint-url", s.URL)
	cmd.Env = awsEnv()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("sluice cluster status: %v %s", err, out)
	}
	var st struct {
		Self, Leader string
		Nodes        []struct{ ID, Address, Version, Started string }
	}
	if err := json.Unmarshal(out, &st); err != nil {
		t.Fatalf("cluster status output %s: %v", out, err)
	}
	nodes = map[string]string{}
	for _, n := range st.Nodes {
		if n.Started == "" || n.Version == "" {
			t.Errorf("node %+v lacks its start time or version", n)
		}
		nodes[n.Address] = n.ID
	}
	return st.Self, st.Leader, nodes
}

func addresses(nodes map[string]string) []string {
	out := make([]string, 0, len(nodes))
	for a := range nodes {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}

// Nodes register in etcd under a lease: `sluice cluster status` on any node lists
// every live node and one leader; a node stopped with SIGTERM finishes the
// invocation it is running and then leaves the registry; a node killed with
// kill -9 drops out when its lease expires.
func TestClusterMembership(t *testing.T) {
	c := startCluster(t)
	a, b := c.node(), c.node()

	self, leader, nodes := b.clusterStatus(t)
	if len(nodes) != 2 || nodes[a.URL] == "" || nodes[b.URL] == "" {
		t.Fatalf("cluster status lists %v, want %s and %s", nodes, a.URL, b.URL)
	}
	if self != nodes[b.URL] || (leader != nodes[a.URL] && leader != nodes[b.URL]) {
		t.Fatalf("self %q leader %q, nodes %v", self, leader, nodes)
	}

	// Drain: an invocation running on b when it gets SIGTERM completes.
	a.createFunction("slow", "provided.al2023", "bootstrap", goFunctionZip(t), "--timeout", "30")
	probe := newRunProbe(t)
	payload := `{"mode":"count","ms":2000,"url":"` + probe.URL + `"}`
	lc := lambda.NewFromConfig(b.sdkConfig(), func(o *lambda.Options) { o.RetryMaxAttempts = 1 })
	type result struct {
		out *lambda.InvokeOutput
		err error
	}
	done := make(chan result, 1)
	go func() {
		out, err := lc.Invoke(context.Background(), &lambda.InvokeInput{FunctionName: aws.String("slow"), Payload: []byte(payload)})
		done <- result{out, err}
	}()
	select {
	case <-probe.started:
	case <-time.After(60 * time.Second):
		t.Fatal("the function did not start within 60 s")
	}
	if err := b.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil || r.out.StatusCode != 200 || r.out.FunctionError != nil || string(r.out.Payload) != payload {
		t.Fatalf("invocation in flight during the drain = %+v %v", r.out, r.err)
	}
	if probe.count() != 1 {
		t.Fatalf("the function finished %d times", probe.count())
	}
	b.stop()
	if _, _, nodes := a.clusterStatus(t); len(nodes) != 1 || nodes[a.URL] == "" {
		t.Fatalf("after b drained, cluster status lists %v", addresses(nodes))
	}

	// kill -9: the node is listed until its lease (5 s) runs out.
	k := c.node()
	if _, _, nodes := a.clusterStatus(t); len(nodes) != 2 {
		t.Fatalf("cluster status lists %v, want 2 nodes", addresses(nodes))
	}
	k.kill9()
	if !eventually(t, 15*time.Second, func() bool { _, _, nodes := a.clusterStatus(t); return len(nodes) == 1 }) {
		t.Fatalf("a killed node is still listed after 15 s")
	}
	if !eventually(t, 10*time.Second, func() bool { _, leader, _ := a.clusterStatus(t); return leader == nodes[a.URL] }) {
		t.Fatalf("the last node is not the leader")
	}
}
