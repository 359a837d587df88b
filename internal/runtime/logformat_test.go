package runtime

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// LoggingConfig JSON: platform records instead of START/END/REPORT, the runtime
// told AWS_LAMBDA_LOG_FORMAT/LEVEL, the function's JSON lines below the application
// level dropped (plain lines kept), lines under the custom log group's key.
func TestJSONLogFormat(t *testing.T) {
	p, sink := newTestPool(t, nil)
	spec := goSpec("jsonlogs", fixtures.gofn)
	spec.LogFormat, spec.ApplicationLogLevel, spec.SystemLogLevel = "JSON", "WARN", "INFO"
	spec.LogKey, spec.LogGroup = "@/custom/group", "/custom/group"

	env := decode(t, invoke(t, p, spec, `{"op":"env"}`, false)).Env
	if env["AWS_LAMBDA_LOG_FORMAT"] != "JSON" || env["AWS_LAMBDA_LOG_LEVEL"] != "WARN" || env["AWS_LAMBDA_LOG_GROUP_NAME"] != "/custom/group" {
		t.Fatalf("environment: format %q level %q group %q", env["AWS_LAMBDA_LOG_FORMAT"], env["AWS_LAMBDA_LOG_LEVEL"], env["AWS_LAMBDA_LOG_GROUP_NAME"])
	}
	res := invoke(t, p, spec, `{"op":"log","lines":["plain text","{\"level\":\"DEBUG\",\"message\":\"dropped\"}","{\"level\":\"ERROR\",\"message\":\"kept\"}","{\"message\":\"no level\"}"]}`, true)
	if res.FunctionError != "" {
		t.Fatalf("invoke: %s", res.Payload)
	}

	var types []string
	var report struct {
		Record struct {
			RequestID string `json:"requestId"`
			Status    string `json:"status"`
			Metrics   map[string]float64
		}
	}
	var app []string
	for _, l := range sink.snapshot() {
		key, rest, _ := strings.Cut(l, " ")
		if key != "@/custom/group" {
			t.Fatalf("line under key %q: %s", key, l)
		}
		_, line, _ := strings.Cut(rest, " ")
		var ev struct {
			Time, Type string
		}
		if json.Unmarshal([]byte(line), &ev) == nil && strings.HasPrefix(ev.Type, "platform.") {
			if _, err := time.Parse("2006-01-02T15:04:05.000Z", ev.Time); err != nil {
				t.Fatalf("time %q: %v", ev.Time, err)
			}
			types = append(types, ev.Type)
			if ev.Type == "platform.report" {
				_ = json.Unmarshal([]byte(line), &report)
			}
			continue
		}
		if strings.HasPrefix(line, "START ") || strings.HasPrefix(line, "END ") || strings.HasPrefix(line, "REPORT ") || strings.HasPrefix(line, "INIT_START") {
			t.Fatalf("text platform line in JSON format: %s", line)
		}
		app = append(app, line)
	}
	// initStart once; start and report per invocation; runtimeDone only at DEBUG.
	if got := strings.Join(types, ","); got != "platform.initStart,platform.start,platform.report,platform.start,platform.report" {
		t.Fatalf("platform events %s", got)
	}
	m := report.Record.Metrics
	if report.Record.RequestID != res.RequestID || report.Record.Status != "success" || m["memorySizeMB"] != 128 ||
		m["billedDurationMs"] < m["durationMs"] || m["maxMemoryUsedMB"] <= 0 {
		t.Fatalf("report record %+v", report.Record)
	}
	if got := strings.Join(app, "|"); got != `plain text|{"level":"ERROR","message":"kept"}|{"message":"no level"}` {
		t.Fatalf("application lines %q", got)
	}
	if !strings.Contains(string(res.LogTail), `"type":"platform.start"`) {
		t.Fatalf("log tail: %s", res.LogTail)
	}

	// SystemLogLevel WARN drops the INFO platform events; DEBUG adds runtimeDone.
	for _, c := range []struct{ level, want string }{{"WARN", ""}, {"DEBUG", "platform.start,platform.runtimeDone,platform.report"}} {
		s := goSpec("jsonlogs-"+strings.ToLower(c.level), fixtures.gofn)
		s.LogFormat, s.SystemLogLevel = "JSON", c.level
		r := invoke(t, p, s, `{"op":"echo"}`, true)
		var got []string
		for _, line := range strings.Split(strings.TrimSpace(string(r.LogTail)), "\n") {
			var ev struct{ Type string }
			if json.Unmarshal([]byte(line), &ev) == nil && ev.Type != "" && ev.Type != "platform.initStart" {
				got = append(got, ev.Type)
			}
		}
		if strings.Join(got, ",") != c.want {
			t.Fatalf("SystemLogLevel %s: events %v\n%s", c.level, got, r.LogTail)
		}
	}
}
