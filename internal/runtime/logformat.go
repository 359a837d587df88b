package runtime

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"time"
)

// LoggingConfig as the runtime honours it. With LogFormat JSON, Lambda writes its
// platform lines as JSON records (the Telemetry API's platform events:
// platform.initStart, platform.start, platform.report at INFO, platform.runtimeDone
// at DEBUG) instead of INIT_START/START/END/REPORT, drops those below
// SystemLogLevel, tells the runtime AWS_LAMBDA_LOG_FORMAT=JSON and
// AWS_LAMBDA_LOG_LEVEL=ApplicationLogLevel (the managed runtimes' loggers format and
// filter by them), and filters the function's own JSON lines that carry a "level"
// below ApplicationLogLevel
// (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-log-level.html).

// logLevels ranks Lambda's log levels, lowest first, with the names Python's
// logging module gives two of them.
var logLevels = map[string]int{"TRACE": 0, "DEBUG": 1, "INFO": 2, "WARN": 3, "WARNING": 3, "ERROR": 4, "FATAL": 5, "CRITICAL": 5}

func (s *FunctionSpec) jsonLogs() bool { return strings.EqualFold(s.LogFormat, "JSON") }

// systemLogs reports whether platform events of level are written: always in Text
// format, by SystemLogLevel (INFO when unset) in JSON.
func (s *FunctionSpec) systemLogs(level string) bool {
	if !s.jsonLogs() {
		return true
	}
	return atLeast(level, s.SystemLogLevel)
}

// atLeast reports whether level passes threshold (INFO when unset or unknown).
func atLeast(level, threshold string) bool {
	t, ok := logLevels[strings.ToUpper(threshold)]
	if !ok {
		t = logLevels["INFO"]
	}
	return logLevels[level] >= t
}

// appLineDropped reports whether a line the function printed is below
// ApplicationLogLevel: only in JSON format, and only a JSON object with a "level".
func (s *FunctionSpec) appLineDropped(line string) bool {
	if !s.jsonLogs() || len(line) == 0 || line[0] != '{' {
		return false
	}
	var rec struct {
		Level string `json:"level"`
	}
	if json.Unmarshal([]byte(line), &rec) != nil || rec.Level == "" {
		return false
	}
	level := strings.ToUpper(rec.Level)
	if _, known := logLevels[level]; !known {
		return false
	}
	return !atLeast(level, s.ApplicationLogLevel)
}

// platformEvent is one JSON system log record, fields in AWS's order.
type platformEvent struct {
	Time   string `json:"time"`
	Type   string `json:"type"`
	Record any    `json:"record"`
}

func platformJSON(typ string, record any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(platformEvent{Time: time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), Type: typ, Record: record})
	return strings.TrimSuffix(b.String(), "\n")
}

// initStartLog is INIT_START, or platform.initStart.
func (inst *instance) initStartLog() (string, bool) {
	spec := inst.spec
	if !spec.jsonLogs() {
		return initStartLine(spec), true
	}
	if !spec.systemLogs("INFO") {
		return "", false
	}
	return platformJSON("platform.initStart", struct {
		InitializationType string `json:"initializationType"`
		Phase              string `json:"phase"`
		RuntimeVersion     string `json:"runtimeVersion"`
		RuntimeVersionArn  string `json:"runtimeVersionArn,omitempty"`
		FunctionName       string `json:"functionName"`
		FunctionVersion    string `json:"functionVersion"`
	}{"on-demand", "init", runtimeVersion(spec.Runtime), spec.RuntimeVersionARN, spec.FunctionName, spec.Version}), true
}

// startLog is START, or platform.start.
func (inst *instance) startLog(id string) (string, bool) {
	spec := inst.spec
	if !spec.jsonLogs() {
		return startLine(id, spec.Version), true
	}
	if !spec.systemLogs("INFO") {
		return "", false
	}
	return platformJSON("platform.start", struct {
		RequestID string `json:"requestId"`
		Version   string `json:"version"`
	}{id, spec.Version}), true
}

// report is what REPORT (or platform.report) says about one invocation.
type report struct {
	id        string
	duration  time.Duration
	initDur   time.Duration
	cold      bool
	status    string // "" (success), "error" or "timeout"
	errorType string
	noProcess bool // the process never started: no memory was used
}

// newReport splits complete's status ("error\tError Type: X", "timeout", "").
func newReport(id string, d, initDur time.Duration, cold bool, status string) report {
	st, errType, _ := strings.Cut(status, "\tError Type: ")
	return report{id: id, duration: d, initDur: initDur, cold: cold, status: st, errorType: errType}
}

// endLogs are END and REPORT, or platform.runtimeDone (DEBUG) and platform.report.
func (inst *instance) endLogs(r report) []string {
	spec := inst.spec
	if !spec.jsonLogs() {
		status := r.status
		if r.errorType != "" {
			status += "\tError Type: " + r.errorType
		}
		return []string{"END RequestId: " + r.id, inst.reportLine(r.id, r.duration, r.initDur, r.cold, status)}
	}
	status := r.status
	if status == "" {
		status = "success"
	}
	var out []string
	if spec.systemLogs("DEBUG") {
		out = append(out, platformJSON("platform.runtimeDone", struct {
			RequestID string `json:"requestId"`
			Status    string `json:"status"`
			ErrorType string `json:"errorType,omitempty"`
			Metrics   struct {
				DurationMs float64 `json:"durationMs"`
			} `json:"metrics"`
		}{RequestID: r.id, Status: status, ErrorType: r.errorType, Metrics: struct {
			DurationMs float64 `json:"durationMs"`
		}{millis(r.duration)}}))
	}
	if spec.systemLogs("INFO") {
		type metrics struct {
			DurationMs       float64  `json:"durationMs"`
			BilledDurationMs int64    `json:"billedDurationMs"`
			MemorySizeMB     int      `json:"memorySizeMB"`
			MaxMemoryUsedMB  int64    `json:"maxMemoryUsedMB"`
			InitDurationMs   *float64 `json:"initDurationMs,omitempty"`
		}
		m := metrics{DurationMs: millis(r.duration), MemorySizeMB: memoryMB(spec)}
		if !r.noProcess {
			m.MaxMemoryUsedMB = inst.maxMemoryUsedMB()
		}
		billed := float64(r.duration.Microseconds()) / 1000
		if r.cold {
			init := millis(r.initDur)
			m.InitDurationMs = &init
			billed += float64(r.initDur.Microseconds()) / 1000
		}
		m.BilledDurationMs = int64(math.Ceil(billed))
		out = append(out, platformJSON("platform.report", struct {
			RequestID string  `json:"requestId"`
			Metrics   metrics `json:"metrics"`
			Status    string  `json:"status"`
			ErrorType string  `json:"errorType,omitempty"`
		}{r.id, m, status, r.errorType}))
	}
	return out
}

// millis is d in milliseconds to three decimals, as the Telemetry API reports it.
func millis(d time.Duration) float64 {
	return math.Round(float64(d.Nanoseconds())/1e3) / 1e3
}
