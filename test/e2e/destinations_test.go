package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// An async invocation that fails, with MaximumRetryAttempts 0, runs once and its
// invocation record reaches the OnFailure destination function, all driven with
// the AWS CLI.
func TestAsyncOnFailureDestinationCLI(t *testing.T) {
	s := startSluice(t, startOpts{})
	// The functions report to this collector (sandboxed instances cannot write
	// the host's files).
	var mu sync.Mutex
	var attempts []string
	var record []byte
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		switch r.URL.Path {
		case "/attempts":
			attempts = append(attempts, string(body))
		case "/record":
			record = body
		}
	}))
	t.Cleanup(collector.Close)
	env := "Variables={OUT=" + collector.URL + "}"
	zip := dirZip(t, "python-dest")
	s.createFunction("orders", "python3.14", "app.fail", zip, "--environment", env)
	s.createFunction("orders-dlq", "python3.14", "app.record", zip, "--environment", env)
	cfg := s.awsJSON("lambda", "put-function-event-invoke-config", "--function-name", "orders",
		"--maximum-retry-attempts", "0", "--maximum-event-age-in-seconds", "3600",
		"--destination-config", `{"OnFailure":{"Destination":"arn:aws:lambda:us-east-1:123456789012:function:orders-dlq"}}`)
	if cfg["MaximumRetryAttempts"] != float64(0) || cfg["FunctionArn"] != "arn:aws:lambda:us-east-1:123456789012:function:orders:$LATEST" {
		t.Fatalf("put-function-event-invoke-config = %v", cfg)
	}
	_, stderr, err := s.awsRaw("lambda", "put-function-event-invoke-config", "--function-name", "orders",
		"--destination-config", `{"OnFailure":{"Destination":"arn:aws:sqs:us-east-1:123456789012:dlq"}}`)
	if err == nil || !strings.Contains(stderr, "InvalidParameterValueException") {
		t.Fatalf("SQS destination: %v %s", err, stderr)
	}

	meta, _ := s.invokeCLI("orders", `{"order":42}`, "--invocation-type", "Event")
	if meta["StatusCode"] != float64(202) {
		t.Fatalf("invoke = %v", meta)
	}
	deadline := time.Now().Add(60 * time.Second)
	var raw []byte
	for {
		mu.Lock()
		raw = record
		mu.Unlock()
		if raw != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no record reached the destination")
		}
		time.Sleep(100 * time.Millisecond)
	}
	var rec struct {
		Version        string
		Timestamp      string
		RequestContext struct {
			RequestID, FunctionArn, Condition string
			ApproximateInvokeCount            int
		}
		RequestPayload  map[string]any
		ResponseContext struct {
			StatusCode                     int
			ExecutedVersion, FunctionError string
		}
		ResponsePayload struct{ ErrorMessage, ErrorType string }
	}
	if err := json.Unmarshal(raw, &rec); err != nil {
		t.Fatalf("record %s: %v", raw, err)
	}
	if rec.Version != "1.0" || rec.Timestamp == "" || rec.RequestContext.Condition != "RetriesExhausted" ||
		rec.RequestContext.ApproximateInvokeCount != 1 ||
		rec.RequestContext.FunctionArn != "arn:aws:lambda:us-east-1:123456789012:function:orders:$LATEST" ||
		rec.RequestPayload["order"] != float64(42) || rec.ResponseContext.StatusCode != 200 ||
		rec.ResponseContext.FunctionError != "Unhandled" || rec.ResponseContext.ExecutedVersion != "$LATEST" ||
		rec.ResponsePayload.ErrorMessage != "order 42 failed" || rec.ResponsePayload.ErrorType != "RuntimeError" {
		t.Fatalf("record = %s", raw)
	}
	// The record is delivered only once retries are over, so the count is final.
	mu.Lock()
	lines := append([]string(nil), attempts...)
	mu.Unlock()
	if len(lines) != 1 || lines[0] != rec.RequestContext.RequestID {
		t.Fatalf("attempts = %q, want one run with request id %s", lines, rec.RequestContext.RequestID)
	}
}
