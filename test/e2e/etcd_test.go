package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/internal/store/etcdstore/etcdtest"
)

// With --store etcd, functions and APIs live in etcd: they survive a restart of
// sluice, and a second sluice on the same etcd serves them too.
func TestEtcdStore(t *testing.T) {
	endpoint := etcdtest.Start(t)
	etcdArgs := []string{"--store", "etcd", "--etcd-endpoints", endpoint}
	s := startSluice(t, startOpts{args: etcdArgs})

	fn := s.createFunction("etcd-fn", "provided.al2023", "bootstrap", goFunctionZip(t))
	fnArn := str(fn["FunctionArn"])
	if fnArn != "arn:aws:lambda:us-east-1:123456789012:function:etcd-fn" || fn["State"] != "Active" {
		t.Fatalf("create-function = %v", fn)
	}
	if meta, out := s.invokeCLI("etcd-fn", `{"via":"etcd"}`); meta["StatusCode"] != float64(200) || string(out) != `{"via":"etcd"}` {
		t.Fatalf("invoke = %v %s", meta, out)
	}
	api := s.awsJSON("apigatewayv2", "create-api", "--name", "etcd-api", "--protocol-type", "HTTP", "--target", fnArn)
	apiID := str(api["ApiId"])
	if apiID == "" {
		t.Fatalf("create-api = %v", api)
	}
	s.aws("lambda", "add-permission", "--function-name", "etcd-fn", "--statement-id", "apigw", "--action", "lambda:InvokeFunction",
		"--principal", "apigateway.amazonaws.com", "--source-arn", "arn:aws:execute-api:us-east-1:123456789012:"+apiID+"/*")
	checkAPI := func(s *instance, when string) {
		t.Helper()
		r := s.awaitStatus(t, 200, "GET", apiID, "/hello?x=1", "")
		if r.Status != 200 {
			t.Fatalf("%s: GET /hello = %d %s", when, r.Status, r.Body)
		}
		if ev := r.JSON(t); ev["rawPath"] != "/hello" || ev["rawQueryString"] != "x=1" || ev["routeKey"] != "$default" {
			t.Fatalf("%s: event = %s", when, r.Body)
		}
	}
	checkAPI(s, "before restart")

	// State survives a restart.
	s.restart()
	got := s.awsJSON("lambda", "get-function", "--function-name", "etcd-fn")
	if cfg, _ := got["Configuration"].(map[string]any); cfg["FunctionArn"] != fnArn || cfg["CodeSha256"] != fn["CodeSha256"] {
		t.Fatalf("get-function after restart = %v", got)
	}
	if apis := s.awsJSON("apigatewayv2", "get-apis"); len(apis["Items"].([]any)) != 1 {
		t.Fatalf("get-apis after restart = %v", apis)
	}
	if meta, out := s.invokeCLI("etcd-fn", `{"after":"restart"}`); meta["StatusCode"] != float64(200) || string(out) != `{"after":"restart"}` {
		t.Fatalf("invoke after restart = %v %s", meta, out)
	}
	checkAPI(s, "after restart")

	// A second sluice on the same etcd sees what the first creates, and the other
	// way round. Function code is content-addressed blobs on disk, which nodes
	// share through a shared filesystem path (ARCHITECTURE.md, Scale-out): here
	// both nodes use the same data dir. The second node is configured through
	// SLUICE_* environment variables instead of flags.
	s2 := startSluice(t, startOpts{dataDir: s.DataDir, env: []string{"SLUICE_STORE=etcd", "SLUICE_ETCD_ENDPOINTS=" + endpoint}})
	checkAPI(s2, "second node")
	if meta, out := s2.invokeCLI("etcd-fn", `{"node":2}`); meta["StatusCode"] != float64(200) || string(out) != `{"node":2}` {
		t.Fatalf("invoke through the second node = %v %s", meta, out)
	}
	s2.createFunction("made-on-2", "provided.al2023", "bootstrap", goFunctionZip(t))
	if meta, out := s.invokeCLI("made-on-2", `{"node":1}`); meta["StatusCode"] != float64(200) || string(out) != `{"node":1}` {
		t.Fatalf("invoke through the first node of a function created on the second = %v %s", meta, out)
	}
	names := map[string]bool{}
	for _, f := range s.awsJSON("lambda", "list-functions")["Functions"].([]any) {
		names[str(f.(map[string]any)["FunctionName"])] = true
	}
	if len(names) != 2 || !names["etcd-fn"] || !names["made-on-2"] {
		t.Fatalf("list-functions on node 1 = %v", names)
	}
}

// /_sluice/health is liveness (the process serves); /_sluice/ready is readiness for
// a load balancer: 200 while the store answers, 503 with the reason once etcd is
// gone, while health stays 200.
func TestReadiness(t *testing.T) {
	endpoint, stopEtcd := etcdtest.StartStoppable(t)
	s := startSluice(t, startOpts{args: []string{"--store", "etcd", "--etcd-endpoints", endpoint}})
	get := func(path string) apiResponse {
		req, err := http.NewRequest("GET", s.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		return s.do(t, req)
	}
	if r := get("/_sluice/ready"); r.Status != 200 || r.JSON(t)["status"] != "ready" {
		t.Fatalf("ready with etcd up: %d %s", r.Status, r.Body)
	}
	stopEtcd()
	var r apiResponse
	eventually(t, 15*time.Second, func() bool { r = get("/_sluice/ready"); return r.Status == 503 })
	if r.Status != 503 || r.JSON(t)["status"] != "unavailable" || !strings.Contains(str(r.JSON(t)["reason"]), "store") {
		t.Fatalf("ready with etcd down: %d %s", r.Status, r.Body)
	}
	if h := get("/_sluice/health"); h.Status != 200 {
		t.Fatalf("health with etcd down: %d %s", h.Status, h.Body)
	}
}
