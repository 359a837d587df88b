package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Lambda Managed Instances with the AWS CLI: a capacity provider, a Go function
// on it with PerExecutionEnvironmentMaxConcurrency 8, published to
// $LATEST.PUBLISHED, invoked unqualified 8 times at once: one execution
// environment (one log stream) has all 8 in flight together, and its process got
// AWS_LAMBDA_MAX_CONCURRENCY=8 (aws-lambda-go runs 8 pollers). A nodejs22.x
// function on it serves 4 async invocations at once in one process. Bad settings
// get AWS's errors and create nothing.
func TestManagedInstances(t *testing.T) {
	s := startSluice(t, startOpts{})
	zip := goFunctionZip(t)
	cp := s.awsJSON("lambda", "create-capacity-provider", "--capacity-provider-name", "cp-e2e",
		"--vpc-config", "SubnetIds=subnet-1,SecurityGroupIds=sg-1",
		"--permissions-config", "CapacityProviderOperatorRoleArn=arn:aws:iam::123456789012:role/operator")
	arn, _ := cp["CapacityProvider"].(map[string]any)["CapacityProviderArn"].(string)
	if arn != "arn:aws:lambda:us-east-1:123456789012:capacity-provider:cp-e2e" {
		t.Fatalf("create-capacity-provider = %v", cp)
	}
	lmiArg := func(extra string) string {
		return "LambdaManagedInstancesCapacityProviderConfig={CapacityProviderArn=" + arn + extra + "}"
	}

	cfg := s.createFunction("lmi-go", "provided.al2023", "bootstrap", zip, "--timeout", "30",
		"--capacity-provider-config", lmiArg(",PerExecutionEnvironmentMaxConcurrency=8"))
	lmi, _ := cfg["CapacityProviderConfig"].(map[string]any)["LambdaManagedInstancesCapacityProviderConfig"].(map[string]any)
	if lmi["CapacityProviderArn"] != arn || lmi["PerExecutionEnvironmentMaxConcurrency"] != float64(8) {
		t.Fatalf("create-function CapacityProviderConfig = %v", cfg["CapacityProviderConfig"])
	}
	got := s.awsJSON("lambda", "get-function-configuration", "--function-name", "lmi-go")
	if !jsonEqual(got["CapacityProviderConfig"], cfg["CapacityProviderConfig"]) {
		t.Fatalf("get-function-configuration CapacityProviderConfig = %v", got["CapacityProviderConfig"])
	}

	out := filepath.Join(t.TempDir(), "out.json")
	_, stderr, err := s.awsRaw("lambda", "invoke", "--function-name", "lmi-go", "--payload", `{}`, out)
	if err == nil || !strings.Contains(stderr, "NoPublishedVersionException") {
		t.Fatalf("unqualified invoke before publishing: %v %s", err, stderr)
	}
	_, stderr, err = s.awsRaw("lambda", "invoke", "--function-name", "lmi-go", "--qualifier", "$LATEST", "--payload", `{}`, out)
	if err == nil || !strings.Contains(stderr, "InvalidParameterValueException") {
		t.Fatalf("invoke of $LATEST: %v %s", err, stderr)
	}

	pub := s.awsJSON("lambda", "publish-version", "--function-name", "lmi-go", "--publish-to", "LATEST_PUBLISHED")
	if pub["Version"] != "$LATEST.PUBLISHED" || pub["FunctionArn"] != "arn:aws:lambda:us-east-1:123456789012:function:lmi-go:$LATEST.PUBLISHED" {
		t.Fatalf("publish-version --publish-to LATEST_PUBLISHED = %v", pub)
	}
	if v := s.awsJSON("lambda", "get-function-configuration", "--function-name", "lmi-go", "--qualifier", "$LATEST.PUBLISHED"); v["Version"] != "$LATEST.PUBLISHED" {
		t.Fatalf("get-function-configuration $LATEST.PUBLISHED = %v", v)
	}

	const n = 8
	type reply struct {
		Stream         string `json:"stream"`
		Peak           int    `json:"peak"`
		MaxConcurrency string `json:"maxConcurrency"`
	}
	replies := make([]reply, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out := filepath.Join(t.TempDir(), fmt.Sprintf("out%d.json", i))
			meta, stderr, err := s.awsRaw("lambda", "invoke", "--function-name", "lmi-go",
				"--payload", fmt.Sprintf(`{"mode":"barrier","lines":%d}`, n), out)
			if err != nil {
				errs[i] = fmt.Errorf("%v: %s", err, stderr)
				return
			}
			var m map[string]any
			_ = json.Unmarshal(meta, &m)
			if m["ExecutedVersion"] != "$LATEST.PUBLISHED" || m["FunctionError"] != nil {
				errs[i] = fmt.Errorf("invoke meta %s", meta)
				return
			}
			data, _ := os.ReadFile(out)
			errs[i] = json.Unmarshal(data, &replies[i])
		}()
	}
	wg.Wait()
	streams := map[string]bool{}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("invocation %d: %v", i, err)
		}
		r := replies[i]
		streams[r.Stream] = true
		if r.Peak != n || r.MaxConcurrency != "8" {
			t.Errorf("invocation %d: %+v, want all %d in flight at once in a process with AWS_LAMBDA_MAX_CONCURRENCY=8", i, r, n)
		}
	}
	if len(streams) != 1 {
		t.Errorf("%d execution environments served %d concurrent invocations, want 1: %v", len(streams), n, streams)
	}
	for stream := range streams {
		if !strings.Contains(stream, "[$LATEST.PUBLISHED]") {
			t.Errorf("log stream %q does not name $LATEST.PUBLISHED", stream)
		}
	}

	// A Node.js function on LMI: async invocations run concurrently in one
	// process ("Node.js runtime for Lambda Managed Instances"). Each stays in
	// flight until all four are, counted by a module-level counter (a process per
	// invocation, or one at a time, would leave each alone and report a peak of 1).
	nodeSrc := `let inFlight = 0, peak = 0;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
exports.handler = async (event, context) => {
  inFlight++;
  peak = Math.max(peak, inFlight);
  for (let i = 0; i < 1000 && peak < event.expect; i++) await sleep(10);
  console.log("served " + context.awsRequestId);
  inFlight--;
  return { pid: process.pid, peak, maxConcurrency: process.env.AWS_LAMBDA_MAX_CONCURRENCY };
};`
	nodeZipPath := filepath.Join(t.TempDir(), "node.zip")
	if err := os.WriteFile(nodeZipPath, nodeZip(t, nodeSrc), 0o644); err != nil {
		t.Fatal(err)
	}
	s.createFunction("lmi-node", "nodejs22.x", "index.handler", nodeZipPath, "--timeout", "30",
		"--capacity-provider-config", lmiArg(",PerExecutionEnvironmentMaxConcurrency=4"))
	if pub := s.awsJSON("lambda", "publish-version", "--function-name", "lmi-node", "--publish-to", "LATEST_PUBLISHED"); pub["Version"] != "$LATEST.PUBLISHED" {
		t.Fatalf("publish-version lmi-node = %v", pub)
	}
	const nn = 4
	type nodeReply struct {
		Pid            int    `json:"pid"`
		Peak           int    `json:"peak"`
		MaxConcurrency string `json:"maxConcurrency"`
	}
	nodeReplies := make([]nodeReply, nn)
	errs = make([]error, nn)
	for i := range nn {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out := filepath.Join(t.TempDir(), fmt.Sprintf("node%d.json", i))
			meta, stderr, err := s.awsRaw("lambda", "invoke", "--function-name", "lmi-node",
				"--payload", fmt.Sprintf(`{"expect":%d}`, nn), out)
			if err != nil {
				errs[i] = fmt.Errorf("%v: %s", err, stderr)
				return
			}
			var m map[string]any
			_ = json.Unmarshal(meta, &m)
			if m["FunctionError"] != nil {
				data, _ := os.ReadFile(out)
				errs[i] = fmt.Errorf("invoke meta %s: %s", meta, data)
				return
			}
			data, _ := os.ReadFile(out)
			errs[i] = json.Unmarshal(data, &nodeReplies[i])
		}()
	}
	wg.Wait()
	pids := map[int]bool{}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("node invocation %d: %v", i, err)
		}
		r := nodeReplies[i]
		pids[r.Pid] = true
		if r.Peak != nn || r.MaxConcurrency != "4" {
			t.Errorf("node invocation %d: %+v, want all %d in flight at once in a process with AWS_LAMBDA_MAX_CONCURRENCY=4", i, r, nn)
		}
	}
	if len(pids) != 1 {
		t.Errorf("%d Node.js processes served %d concurrent invocations, want 1: %v", len(pids), nn, pids)
	}

	// Bad settings: AWS's errors, and nothing created.
	for _, c := range []struct{ name, config, want string }{
		{"lmi-too-many", lmiArg(",PerExecutionEnvironmentMaxConcurrency=1601"), "ValidationException"},
		{"lmi-ratio", lmiArg(",ExecutionEnvironmentMemoryGiBPerVCpu=3"), "InvalidParameterValueException"},
		{"lmi-ratio-4", lmiArg(",ExecutionEnvironmentMemoryGiBPerVCpu=4"), "NotImplementedException"},
		{"lmi-no-provider", "LambdaManagedInstancesCapacityProviderConfig={CapacityProviderArn=arn:aws:lambda:us-east-1:123456789012:capacity-provider:nope}", "ResourceNotFoundException"},
	} {
		_, stderr, err := s.awsRaw("lambda", "create-function", "--function-name", c.name, "--runtime", "provided.al2023",
			"--handler", "bootstrap", "--role", testRole, "--zip-file", "fileb://"+zip, "--capacity-provider-config", c.config)
		if err == nil || !strings.Contains(stderr, c.want) {
			t.Errorf("%s: %v %s, want %s", c.name, err, stderr, c.want)
		}
		if _, _, err := s.awsRaw("lambda", "get-function", "--function-name", c.name); err == nil {
			t.Errorf("%s: the refused function was created", c.name)
		}
	}
	_, stderr, err = s.awsRaw("lambda", "delete-capacity-provider", "--capacity-provider-name", "cp-e2e")
	if err == nil || !strings.Contains(stderr, "ResourceConflictException") {
		t.Errorf("delete-capacity-provider in use: %v %s", err, stderr)
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}
