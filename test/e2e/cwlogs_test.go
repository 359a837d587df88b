package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// The CloudWatch Logs API serves function logs as AWS does: the AWS CLI finds
// the group /aws/lambda/{name}, one stream per instance named
// YYYY/MM/DD/[$LATEST]{id}, reads the stream with get-log-events, and searches
// the group with filter patterns (terms, quoted phrases, JSON).
func TestCloudWatchLogsCLI(t *testing.T) {
	s := startSluice(t, startOpts{})
	s.createFunction("cwfn", "provided.al2023", "bootstrap", goFunctionZip(t))
	c := lambdaClient(s)
	id := invokeForID(t, c, "cwfn", `{"mode":"print","text":["{\"level\":\"ERROR\",\"msg\":\"disk full\"}","{\"level\":\"INFO\",\"msg\":\"ok\"}","plain WARN line"]}`)

	groups := s.awsJSON("logs", "describe-log-groups", "--log-group-name-prefix", "/aws/lambda/")
	lg := groups["logGroups"].([]any)
	if len(lg) != 1 || lg[0].(map[string]any)["logGroupName"] != "/aws/lambda/cwfn" {
		t.Fatalf("describe-log-groups = %v", groups)
	}
	streams := s.awsJSON("logs", "describe-log-streams", "--log-group-name", "/aws/lambda/cwfn",
		"--order-by", "LastEventTime", "--descending")
	ls := streams["logStreams"].([]any)
	if len(ls) != 1 {
		t.Fatalf("describe-log-streams = %v", streams)
	}
	stream := ls[0].(map[string]any)["logStreamName"].(string)
	if !logStreamRE.MatchString(stream) {
		t.Fatalf("stream name %q is not YYYY/MM/DD/[$LATEST]<id>", stream)
	}

	events := s.awsJSON("logs", "get-log-events", "--log-group-name", "/aws/lambda/cwfn", "--log-stream-name", stream, "--start-from-head")
	var msgs []string
	for _, e := range events["events"].([]any) {
		msgs = append(msgs, e.(map[string]any)["message"].(string))
	}
	// A new execution environment's stream starts with AWS's INIT_START line.
	if len(msgs) != 7 || !strings.HasPrefix(msgs[0], "INIT_START Runtime Version: provided:al2023.v1\tRuntime Version ARN: arn:aws:lambda:us-east-1::runtime:") {
		t.Fatalf("get-log-events messages = %q", msgs)
	}
	msgs = msgs[1:]
	if msgs[0] != "START RequestId: "+id+" Version: $LATEST" || msgs[3] != "plain WARN line" ||
		msgs[4] != "END RequestId: "+id || !strings.HasPrefix(msgs[5], "REPORT RequestId: "+id) {
		t.Fatalf("get-log-events messages = %q", msgs)
	}

	for _, tc := range []struct{ pattern, want string }{
		{`{ $.level = "ERROR" }`, `{"level":"ERROR","msg":"disk full"}`},
		{`"WARN line"`, "plain WARN line"},
		{`?nothing ?END`, "END RequestId: " + id},
	} {
		out := s.awsJSON("logs", "filter-log-events", "--log-group-name", "/aws/lambda/cwfn", "--filter-pattern", tc.pattern)
		ev := out["events"].([]any)
		if len(ev) != 1 || ev[0].(map[string]any)["message"] != tc.want || ev[0].(map[string]any)["logStreamName"] != stream {
			t.Errorf("filter-log-events %s = %v, want one event %q", tc.pattern, ev, tc.want)
		}
	}

	// Errors in CloudWatch's shape.
	_, stderr, err := s.awsRaw("logs", "get-log-events", "--log-group-name", "/aws/lambda/nope", "--log-stream-name", "x")
	if err == nil || !strings.Contains(stderr, "ResourceNotFoundException") || !strings.Contains(stderr, "The specified log group does not exist.") {
		t.Errorf("missing group: %v %s", err, stderr)
	}
	s.aws("logs", "create-log-group", "--log-group-name", "my-app")
	_, stderr, err = s.awsRaw("logs", "create-log-group", "--log-group-name", "my-app")
	if err == nil || !strings.Contains(stderr, "ResourceAlreadyExistsException") {
		t.Errorf("duplicate group: %v %s", err, stderr)
	}
	s.aws("logs", "put-retention-policy", "--log-group-name", "my-app", "--retention-in-days", "7")
	g := s.awsJSON("logs", "describe-log-groups", "--log-group-name-prefix", "my-")["logGroups"].([]any)
	if len(g) != 1 || g[0].(map[string]any)["retentionInDays"] != float64(7) {
		t.Errorf("retention not shown: %v", g)
	}
	s.aws("logs", "delete-log-group", "--log-group-name", "my-app")
}

const boto3LogsScript = `
import json, sys, time
import boto3
endpoint = sys.argv[1]
logs = boto3.client("logs", endpoint_url=endpoint, region_name="us-east-1",
                    aws_access_key_id="AKIDBOTO3", aws_secret_access_key="boto3-secret")
logs.create_log_group(logGroupName="app/orders")
logs.create_log_stream(logGroupName="app/orders", logStreamName="worker-1")
now = int(time.time() * 1000)
logs.put_log_events(logGroupName="app/orders", logStreamName="worker-1", logEvents=[
    {"timestamp": now + i, "message": json.dumps({"level": "ERROR" if i % 3 == 0 else "INFO", "n": i})}
    for i in range(30)])
# Read the stream forward in pages of 7 until the token repeats, as SDK users do.
seen, token = [], None
while True:
    kw = {"nextToken": token} if token else {}
    page = logs.get_log_events(logGroupName="app/orders", logStreamName="worker-1", startFromHead=True, limit=7, **kw)
    seen += [json.loads(e["message"])["n"] for e in page["events"]]
    if page["nextForwardToken"] == token:
        break
    token = page["nextForwardToken"]
paginator = logs.get_paginator("filter_log_events")
errors = [json.loads(e["message"])["n"]
          for p in paginator.paginate(logGroupName="app/orders", filterPattern='{ $.level = "ERROR" }', PaginationConfig={"PageSize": 4})
          for e in p["events"]]
try:
    logs.describe_log_streams(logGroupName="app/missing")
    missing = None
except logs.exceptions.ResourceNotFoundException as e:
    missing = e.response["Error"]["Message"]
print(json.dumps({"seen": seen, "errors": errors, "missing": missing,
                  "groups": [g["logGroupName"] for g in logs.describe_log_groups()["logGroups"]]}))
`

func TestCloudWatchLogsBoto3(t *testing.T) {
	if err := exec.Command("python3", "-c", "import boto3").Run(); err != nil {
		t.Skip("python3 with boto3 not installed")
	}
	s := startSluice(t, startOpts{})
	cmd := exec.Command("python3", "-c", boto3LogsScript, s.URL)
	cmd.Env = append(os.Environ(), "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("boto3 script: %v\n%s", err, stderr)
	}
	var got struct {
		Seen, Errors []int
		Missing      string
		Groups       []string
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("boto3 output %q: %v", out, err)
	}
	if len(got.Seen) != 30 || got.Seen[0] != 0 || got.Seen[29] != 29 {
		t.Errorf("paged get_log_events saw %v", got.Seen)
	}
	if len(got.Errors) != 10 || got.Errors[9] != 27 {
		t.Errorf("filter_log_events ERROR events = %v", got.Errors)
	}
	if got.Missing != "The specified log group does not exist." {
		t.Errorf("missing group message = %q", got.Missing)
	}
	if len(got.Groups) != 1 || got.Groups[0] != "app/orders" {
		t.Errorf("groups = %v", got.Groups)
	}
}
