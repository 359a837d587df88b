package cwlogs

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/internal/fnlogs"
)

func newService(t *testing.T) (*Service, *fnlogs.Store) {
	t.Helper()
	st, err := fnlogs.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return New(Options{Logs: st, Region: "us-east-1", AccountID: "123456789012"}), st
}

// call invokes op and decodes the answer; it returns the status and body.
func call(t *testing.T, s *Service, op string, in any) (int, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(in)
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(string(b)))
	req.Header.Set("X-Amz-Target", TargetPrefix+op)
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	var out map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatalf("%s: decode %q: %v", op, rec.Body.String(), err)
	}
	return rec.Code, out
}

func mustCall(t *testing.T, s *Service, op string, in any) map[string]any {
	t.Helper()
	code, out := call(t, s, op, in)
	if code != 200 {
		t.Fatalf("%s: %d %v", op, code, out)
	}
	return out
}

func messages(out map[string]any) []string {
	var ms []string
	for _, e := range out["events"].([]any) {
		ms = append(ms, e.(map[string]any)["message"].(string))
	}
	return ms
}

func TestLambdaGroupReadBack(t *testing.T) {
	s, st := newService(t)
	now := time.Now().Truncate(time.Millisecond)
	streamA, streamB := "2026/12/02/[$LATEST]aaaa", "2026/12/02/[$LATEST]bbbb"
	for i := 0; i < 5; i++ {
		st.Append("hello", streamA, now.Add(time.Duration(i)*time.Millisecond), fmt.Sprintf("a%d", i))
		st.Append("hello", streamB, now.Add(time.Duration(i)*time.Millisecond), fmt.Sprintf(`{"level":"%s","i":%d}`, []string{"INFO", "ERROR"}[i%2], i))
	}

	groups := mustCall(t, s, "DescribeLogGroups", map[string]any{"logGroupNamePrefix": "/aws/lambda/"})
	lg := groups["logGroups"].([]any)
	if len(lg) != 1 || lg[0].(map[string]any)["logGroupName"] != "/aws/lambda/hello" ||
		lg[0].(map[string]any)["arn"] != "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/hello:*" {
		t.Fatalf("groups = %v", groups)
	}

	streams := mustCall(t, s, "DescribeLogStreams", map[string]any{"logGroupName": "/aws/lambda/hello", "orderBy": "LastEventTime", "descending": true})
	ls := streams["logStreams"].([]any)
	if len(ls) != 2 {
		t.Fatalf("streams = %v", streams)
	}
	if first := ls[0].(map[string]any); first["firstEventTimestamp"].(float64) != float64(now.UnixMilli()) {
		t.Errorf("firstEventTimestamp = %v, want %d", first["firstEventTimestamp"], now.UnixMilli())
	}

	// Forward from the head in pages of 2, until the token repeats.
	var got []string
	in := map[string]any{"logGroupName": "/aws/lambda/hello", "logStreamName": streamA, "startFromHead": true, "limit": 2}
	for i := 0; i < 10; i++ {
		out := mustCall(t, s, "GetLogEvents", in)
		got = append(got, messages(out)...)
		if out["nextForwardToken"] == in["nextToken"] {
			break
		}
		in["nextToken"] = out["nextForwardToken"]
	}
	if strings.Join(got, ",") != "a0,a1,a2,a3,a4" {
		t.Errorf("forward pages = %v", got)
	}

	// Default (no token, not from head): the newest events, then backward.
	out := mustCall(t, s, "GetLogEvents", map[string]any{"logGroupName": "/aws/lambda/hello", "logStreamName": streamA, "limit": 2})
	if strings.Join(messages(out), ",") != "a3,a4" {
		t.Errorf("tail = %v", messages(out))
	}
	back := mustCall(t, s, "GetLogEvents", map[string]any{"logGroupName": "/aws/lambda/hello", "logStreamName": streamA, "limit": 2, "nextToken": out["nextBackwardToken"]})
	if strings.Join(messages(back), ",") != "a1,a2" {
		t.Errorf("backward page = %v", messages(back))
	}

	f := mustCall(t, s, "FilterLogEvents", map[string]any{"logGroupName": "/aws/lambda/hello", "filterPattern": `{ $.level = "ERROR" }`})
	if strings.Join(messages(f), ",") != `{"level":"ERROR","i":1},{"level":"ERROR","i":3}` {
		t.Errorf("filtered = %v", messages(f))
	}
	f = mustCall(t, s, "FilterLogEvents", map[string]any{"logGroupName": "/aws/lambda/hello", "filterPattern": `?a1 ?a3`, "limit": 1})
	if strings.Join(messages(f), ",") != "a1" || f["nextToken"] == nil {
		t.Fatalf("first filtered page = %v", f)
	}
	f = mustCall(t, s, "FilterLogEvents", map[string]any{"logGroupName": "/aws/lambda/hello", "filterPattern": `?a1 ?a3`, "nextToken": f["nextToken"]})
	if strings.Join(messages(f), ",") != "a3" || f["nextToken"] != nil {
		t.Errorf("second filtered page = %v", f)
	}
}

func TestGroupLifecycleAndErrors(t *testing.T) {
	s, _ := newService(t)
	mustCall(t, s, "CreateLogGroup", map[string]any{"logGroupName": "access/api"})
	if code, out := call(t, s, "CreateLogGroup", map[string]any{"logGroupName": "access/api"}); code != 400 || out["__type"] != "ResourceAlreadyExistsException" {
		t.Errorf("duplicate create = %d %v", code, out)
	}
	if code, out := call(t, s, "PutRetentionPolicy", map[string]any{"logGroupName": "access/api", "retentionInDays": 2}); code != 400 || out["__type"] != "InvalidParameterException" {
		t.Errorf("retention 2 = %d %v", code, out)
	}
	mustCall(t, s, "PutRetentionPolicy", map[string]any{"logGroupName": "access/api", "retentionInDays": 14})
	g := mustCall(t, s, "DescribeLogGroups", map[string]any{"logGroupNamePattern": "API"})["logGroups"].([]any)
	if len(g) != 1 || g[0].(map[string]any)["retentionInDays"].(float64) != 14 {
		t.Errorf("groups = %v", g)
	}
	if code, out := call(t, s, "PutLogEvents", map[string]any{"logGroupName": "access/api", "logStreamName": "s1",
		"logEvents": []any{map[string]any{"timestamp": time.Now().UnixMilli(), "message": "x"}}}); code != 400 || out["message"] != "The specified log stream does not exist." {
		t.Errorf("put to a missing stream = %d %v", code, out)
	}
	mustCall(t, s, "CreateLogStream", map[string]any{"logGroupName": "access/api", "logStreamName": "s1"})
	now := time.Now().UnixMilli()
	mustCall(t, s, "PutLogEvents", map[string]any{"logGroupName": "access/api", "logStreamName": "s1",
		"logEvents": []any{map[string]any{"timestamp": now, "message": "one"}, map[string]any{"timestamp": now + 1, "message": "two"}}})
	out := mustCall(t, s, "GetLogEvents", map[string]any{"logGroupName": "access/api", "logStreamName": "s1", "startFromHead": true})
	if strings.Join(messages(out), ",") != "one,two" {
		t.Errorf("events = %v", messages(out))
	}
	mustCall(t, s, "DeleteLogGroup", map[string]any{"logGroupName": "access/api"})
	for _, op := range []string{"DeleteLogGroup", "DescribeLogStreams", "FilterLogEvents"} {
		if code, out := call(t, s, op, map[string]any{"logGroupName": "access/api"}); code != 400 || out["__type"] != "ResourceNotFoundException" ||
			out["message"] != "The specified log group does not exist." {
			t.Errorf("%s after delete = %d %v", op, code, out)
		}
	}
	if code, out := call(t, s, "StartLiveTail", map[string]any{}); code != 501 {
		t.Errorf("StartLiveTail = %d %v", code, out)
	}
	if code, out := call(t, s, "NoSuchThing", map[string]any{}); code != 400 || out["__type"] != "UnknownOperationException" {
		t.Errorf("unknown op = %d %v", code, out)
	}
	if code, out := call(t, s, "FilterLogEvents", map[string]any{"logGroupName": "x", "filterPattern": "{ $.a = "}); code != 400 || out["message"] != "Invalid filter pattern" {
		t.Errorf("bad pattern = %d %v", code, out)
	}
}
