package e2e

import (
	"fmt"
	"net"
	"os/exec"
	"sync"
	"testing"
	"time"
)

// redisServer is a redis-server of the test's own on a free loopback port, without
// persistence.
type redisServer struct {
	URL  string
	cmd  *exec.Cmd
	once sync.Once
}

// startRedis starts Debian's redis-server (CI installs it: scripts/install-deps.sh);
// the test is skipped only when the binary is missing.
func startRedis(t *testing.T) *redisServer {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server not installed (apt-get install redis-server)")
	}
	port := freePort(t)
	r := &redisServer{URL: fmt.Sprintf("redis://127.0.0.1:%d/0", port),
		cmd: exec.Command(bin, "--bind", "127.0.0.1", "--port", fmt.Sprint(port), "--save", "", "--appendonly", "no", "--dir", t.TempDir())}
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.stop)
	if !eventually(t, 10*time.Second, func() bool {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			c.Close()
		}
		return err == nil
	}) {
		t.Fatal("redis-server did not listen within 10 s")
	}
	return r
}

func (r *redisServer) stop() { r.once.Do(func() { _ = r.cmd.Process.Kill(); _ = r.cmd.Wait() }) }

// keyedMockAPI makes a REST API whose GET /keyed (a MOCK answering {"ok":true})
// needs an API key, in a usage plan with a daily quota of limit; it returns the
// API's id and the key's value.
func keyedMockAPI(t *testing.T, s *instance, limit int) (apiID, key string) {
	t.Helper()
	api := newRESTAPI(t, s, "keyed")
	rid := api.resource(api.root, "keyed")
	api.method(rid, "GET", "--api-key-required")
	s.aws("apigateway", "put-integration", "--rest-api-id", api.id, "--resource-id", rid, "--http-method", "GET",
		"--type", "MOCK", "--request-templates", `{"application/json":"{\"statusCode\": 200}"}`)
	s.aws("apigateway", "put-method-response", "--rest-api-id", api.id, "--resource-id", rid, "--http-method", "GET", "--status-code", "200")
	s.aws("apigateway", "put-integration-response", "--rest-api-id", api.id, "--resource-id", rid, "--http-method", "GET",
		"--status-code", "200", "--response-templates", `{"application/json":"{\"ok\":true}"}`)
	api.deploy("prod")
	k := s.awsJSON("apigateway", "create-api-key", "--name", "quota", "--enabled", "--value", "cluster-quota-key-0123456789")
	plan := s.awsJSON("apigateway", "create-usage-plan", "--name", "daily", "--api-stages", "apiId="+api.id+",stage=prod",
		"--quota", fmt.Sprintf("limit=%d,period=DAY", limit))
	s.aws("apigateway", "create-usage-plan-key", "--usage-plan-id", str(plan["id"]), "--key-id", str(k["id"]), "--key-type", "API_KEY")
	return api.id, str(k["value"])
}

// Usage-plan quotas counted in Redis (--quota-counters) hold across nodes: 40
// requests at once through two nodes for a quota of 15 admit exactly 15, the rest
// get API Gateway's 429 Limit Exceeded. With Redis gone, requests fail closed with
// API Gateway's 500, never admitted uncounted.
func TestClusterRedisQuota(t *testing.T) {
	rs := startRedis(t)
	c := startCluster(t)
	c.nodeArgs = append(c.nodeArgs, "--quota-counters", rs.URL)
	a, b := c.node(), c.node()
	apiID, key := keyedMockAPI(t, a, 15)
	for _, n := range []*instance{a, b} {
		n.awaitStatus(t, 403, "GET", apiID, "/prod/keyed", "") // deployed on both (no key: Forbidden)
	}

	var mu sync.Mutex
	got := map[string]int{}
	var wg sync.WaitGroup
	for i := range 40 {
		n := []*instance{a, b}[i%2]
		wg.Go(func() {
			r := n.call(t, "GET", apiID, "/prod/keyed", "", "x-api-key", key)
			mu.Lock()
			got[fmt.Sprintf("%d %s", r.Status, r.Body)]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if got[`200 {"ok":true}`] != 15 || got[`429 {"message":"Limit Exceeded"}`] != 25 {
		t.Fatalf("40 requests through two nodes for a quota of 15: %v", got)
	}

	// GetUsage reads the counts the gateway enforces (Redis), from either node;
	// UpdateUsage's extension sets the window's counter there, so exactly that
	// many more requests pass, through either node.
	planID := str(b.awsJSON("apigateway", "get-usage-plans")["items"].([]any)[0].(map[string]any)["id"])
	keyID := str(b.awsJSON("apigateway", "get-api-keys")["items"].([]any)[0].(map[string]any)["id"])
	today := time.Now().UTC().Format(time.DateOnly)
	usage := b.awsJSON("apigateway", "get-usage", "--usage-plan-id", planID, "--start-date", today, "--end-date", today)
	if got := fmt.Sprint(usage["items"].(map[string]any)[keyID]); got != "[[15 0]]" {
		t.Fatalf("get-usage from node b: %s, want [[15 0]] (15 used, none left)", got)
	}
	upd := b.awsJSON("apigateway", "update-usage", "--usage-plan-id", planID, "--key-id", keyID,
		"--patch-operations", "op=replace,path=/remaining,value=5")
	if got := fmt.Sprint(upd["items"].(map[string]any)[keyID]); got != "[[15 5]]" {
		t.Fatalf("update-usage remaining=5: %v, want [[15 5]]", upd)
	}
	got = map[string]int{}
	for i := range 8 {
		r := []*instance{a, b}[i%2].call(t, "GET", apiID, "/prod/keyed", "", "x-api-key", key)
		got[fmt.Sprint(r.Status)]++
	}
	if got["200"] != 5 || got["429"] != 3 {
		t.Fatalf("8 requests after an extension of 5: %v", got)
	}
	usage = a.awsJSON("apigateway", "get-usage", "--usage-plan-id", planID, "--start-date", today, "--end-date", today)
	if got := fmt.Sprint(usage["items"].(map[string]any)[keyID]); got != "[[20 0]]" {
		t.Fatalf("get-usage from node a after the extension: %s, want [[20 0]]", got)
	}

	rs.stop()
	r := b.call(t, "GET", apiID, "/prod/keyed", "", "x-api-key", key)
	if r.Status != 500 || string(r.Body) != `{"message": "Internal server error"}` || r.Header.Get("x-amzn-ErrorType") != "InternalServerErrorException" {
		t.Fatalf("with redis down: %d %s %v", r.Status, r.Body, r.Header)
	}
}

// Rate limits hold across the cluster: a stage throttled to a burst of 4 (and a
// negligible refill) admits 4 requests in all through two nodes, 2 on each, and
// answers the rest with API Gateway's 429 Too Many Requests; each node alone
// would have admitted 4.
func TestClusterRateLimitShared(t *testing.T) {
	c := startCluster(t)
	a, b := c.node(), c.node()
	apiID, key := keyedMockAPI(t, a, 1000)
	a.aws("apigateway", "update-stage", "--rest-api-id", apiID, "--stage-name", "prod", "--patch-operations",
		"op=replace,path=/*/*/throttling/burstLimit,value=4", "op=replace,path=/*/*/throttling/rateLimit,value=0.001")
	// Both nodes serve the throttled stage and count each other (registrations
	// are read every second) before the burst.
	time.Sleep(2500 * time.Millisecond)
	got := map[string]int{}
	for i := range 12 {
		n := []*instance{a, b}[i%2]
		r := n.call(t, "GET", apiID, "/prod/keyed", "", "x-api-key", key)
		got[fmt.Sprintf("%d %s", r.Status, r.Body)]++
	}
	if got[`200 {"ok":true}`] != 4 || got[`429 {"message":"Too Many Requests"}`] != 8 {
		t.Fatalf("12 requests through two nodes for a burst of 4: %v", got)
	}
}
