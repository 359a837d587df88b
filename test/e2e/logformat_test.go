package e2e

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// LoggingConfig as the AWS CLI sets it, honoured: JSON format turns the platform
// lines into platform.* records and the Node.js and Python runtimes' own loggers
// into JSON lines carrying the request id; ApplicationLogLevel WARN drops
// console.info/logging.info; a custom LogGroup receives the lines (read back with
// the Logs API); switching back to Text restores START/END/REPORT.
func TestLoggingConfigJSON(t *testing.T) {
	s := startSluice(t, startOpts{})
	dir := t.TempDir()
	node := filepath.Join(dir, "node.zip")
	os.WriteFile(node, zipBytes(t, map[string]zipEntry{"index.mjs": {data: []byte(`
export const handler = async () => {
  console.info("info line");
  console.warn("warn line");
  console.error("error line");
  return "ok";
};`)}}), 0o644)
	py := filepath.Join(dir, "py.zip")
	os.WriteFile(py, zipBytes(t, map[string]zipEntry{"app.py": {data: []byte(`
import logging
logger = logging.getLogger()
def handler(event, context):
    logger.info("info line")
    logger.warning("warn line")
    logger.error("error line")
    return "ok"
`)}}), 0o644)
	logging := "LogFormat=JSON,ApplicationLogLevel=WARN,SystemLogLevel=INFO,LogGroup=/custom/json-logs"
	s.createFunction("json-node", "nodejs22.x", "index.handler", node, "--logging-config", logging)
	cfg := s.createFunction("json-py", "python3.12", "app.handler", py, "--logging-config", logging)
	if lc, _ := cfg["LoggingConfig"].(map[string]any); lc["LogFormat"] != "JSON" || lc["LogGroup"] != "/custom/json-logs" || lc["ApplicationLogLevel"] != "WARN" {
		t.Fatalf("LoggingConfig = %v", cfg["LoggingConfig"])
	}

	// Python's records name levels as the logging module does (awslambdaric).
	for fn, wantLevels := range map[string]string{"json-node": "WARN,ERROR", "json-py": "WARNING,ERROR"} {
		meta, out := s.invokeCLI(fn, `{}`, "--log-type", "Tail")
		if string(out) != `"ok"` {
			t.Fatalf("%s returned %s", fn, out)
		}
		tail, _ := base64.StdEncoding.DecodeString(str(meta["LogResult"]))
		var types, levels, messages []string
		for _, line := range strings.Split(strings.TrimSpace(string(tail)), "\n") {
			var rec map[string]any
			if err := json.Unmarshal([]byte(line), &rec); err != nil {
				t.Fatalf("%s: a line that is not JSON in JSON format: %q\n%s", fn, line, tail)
			}
			if typ, ok := rec["type"].(string); ok {
				types = append(types, typ)
				continue
			}
			if rec["requestId"] == "" || rec["timestamp"] == nil {
				t.Fatalf("%s: application record without requestId/timestamp: %s", fn, line)
			}
			levels = append(levels, str(rec["level"]))
			messages = append(messages, str(rec["message"]))
		}
		if got := strings.Join(types, ","); got != "platform.initStart,platform.start,platform.report" {
			t.Fatalf("%s: platform events %s\n%s", fn, got, tail)
		}
		if got := strings.Join(levels, ","); got != wantLevels || strings.Join(messages, ",") != "warn line,error line" {
			t.Fatalf("%s: application records %v %v\n%s", fn, levels, messages, tail)
		}
	}

	// The custom group holds both functions' lines; /aws/lambda/json-node has none.
	ok := eventually(t, 10*time.Second, func() bool {
		ev := s.awsJSON("logs", "filter-log-events", "--log-group-name", "/custom/json-logs", "--filter-pattern", `"warn line"`)
		events, _ := ev["events"].([]any)
		return len(events) == 2
	})
	if !ok {
		t.Fatalf("custom log group: %s", s.aws("logs", "filter-log-events", "--log-group-name", "/custom/json-logs"))
	}
	if _, stderr, err := s.awsRaw("logs", "filter-log-events", "--log-group-name", "/aws/lambda/json-node"); err == nil || !strings.Contains(stderr, "ResourceNotFoundException") {
		t.Fatalf("default group of a function logging elsewhere: %v %s", err, stderr)
	}

	// Back to Text: START/END/REPORT again, console.info kept.
	s.aws("lambda", "update-function-configuration", "--function-name", "json-node", "--logging-config", "LogFormat=Text")
	s.aws("lambda", "wait", "function-updated-v2", "--function-name", "json-node")
	meta, _ := s.invokeCLI("json-node", `{}`, "--log-type", "Tail")
	tail, _ := base64.StdEncoding.DecodeString(str(meta["LogResult"]))
	if !strings.Contains(string(tail), "START RequestId: ") || !strings.Contains(string(tail), "\tINFO\tinfo line") || !strings.Contains(string(tail), "REPORT RequestId: ") {
		t.Fatalf("Text format tail:\n%s", tail)
	}
}
