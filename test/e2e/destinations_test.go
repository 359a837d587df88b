package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// An async invocation that fails, with MaximumRetryAttempts 0, runs once and its
// invocation record reaches the OnFailure destination function, all driven with
// the AWS CLI.
func TestAsyncOnFailureDestinationCLI(t *testing.T) {
	s := startSluice(t, startOpts{})
	out := t.TempDir()
	_ = os.Chmod(out, 0o777) // functions may run as another user
	env := "Variables={OUT=" + out + "}"
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
	recordPath := filepath.Join(out, "record.json")
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := os.Stat(recordPath); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no record reached the destination")
		}
		time.Sleep(100 * time.Millisecond)
	}
	raw, _ := os.ReadFile(recordPath)
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
	attempts, _ := os.ReadFile(filepath.Join(out, "attempts"))
	if lines := strings.Fields(string(attempts)); len(lines) != 1 || lines[0] != rec.RequestContext.RequestID {
		t.Fatalf("attempts = %q, want one run with request id %s", attempts, rec.RequestContext.RequestID)
	}
}
