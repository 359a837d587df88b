package cwlogs

import "testing"

func TestFilterPatterns(t *testing.T) {
	const (
		jsonErr  = `{"level":"ERROR","latency":250,"user":{"id":"u-17","admin":true},"tags":["a","b"],"gone":null}`
		jsonInfo = `{"level":"INFO","latency":12}`
		clf      = `127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 404 2326`
	)
	tests := []struct {
		pattern string
		message string
		want    bool
	}{
		{"", "anything", true},
		{"ERROR", "an ERROR happened", true},
		{"ERROR", "an error happened", false}, // case sensitive
		{"ERROR Exception", "ERROR: NullPointer Exception", true},
		{"ERROR Exception", "ERROR only", false},
		{"?ERROR ?WARN", "WARN disk", true},
		{"?ERROR ?WARN", "INFO ok", false},
		{"ERROR -timeout", "ERROR timeout", false},
		{"ERROR -timeout", "ERROR crash", true},
		{`"Task timed out"`, "2024 id Task timed out after 3.00 seconds", true},
		{`"Task timed out"`, "Task was timed out", false},
		{`%[Ee]rror%`, "an error", true},
		{`%^START%`, "REPORT START", false},
		{`{ $.level = "ERROR" }`, jsonErr, true},
		{`{ $.level = "ERROR" }`, jsonInfo, false},
		{`{ $.level = ERROR }`, jsonErr, true},
		{`{ $.level = "ERR*" }`, jsonErr, true},
		{`{ $.level != "ERROR" }`, jsonInfo, true},
		{`{ $.latency > 100 }`, jsonErr, true},
		{`{ $.latency > 100 }`, jsonInfo, false},
		{`{ $.latency >= 12 && $.level = "INFO" }`, jsonInfo, true},
		{`{ ($.level = "WARN" || $.latency < 20) && $.latency > 1 }`, jsonInfo, true},
		{`{ $.user.id = "u-17" }`, jsonErr, true},
		{`{ $.user.admin IS TRUE }`, jsonErr, true},
		{`{ $.user.admin IS FALSE }`, jsonErr, false},
		{`{ $.gone IS NULL }`, jsonErr, true},
		{`{ $.tags[1] = "b" }`, jsonErr, true},
		{`{ $.user EXISTS }`, jsonErr, true},
		{`{ $.user NOT EXISTS }`, jsonInfo, true},
		{`{ $.level = "ERROR" }`, "not json", false},
		{`[ip, identity, user, timestamp, request, status_code = 404, bytes]`, clf, true},
		{`[ip, identity, user, timestamp, request, status_code = 4*, bytes > 1000]`, clf, true},
		{`[ip, identity, user, timestamp, request, status_code = 200, bytes]`, clf, false},
		{`[ip, ..., status_code = 404, bytes]`, clf, true},
		{`[ip = 10.*, ...]`, clf, false},
	}
	for _, tc := range tests {
		f, err := compileFilter(tc.pattern)
		if err != nil {
			t.Errorf("compile %q: %v", tc.pattern, err)
			continue
		}
		if got := f.match(tc.message); got != tc.want {
			t.Errorf("%q on %q = %v, want %v", tc.pattern, tc.message, got, tc.want)
		}
	}
}

func TestFilterPatternErrors(t *testing.T) {
	for _, p := range []string{`{ $.level = "ERROR" `, `{ level = 1 }`, `{ $.a > "x" }`, `"unterminated`, `[a,,b]`, `%(%`, `{ $.a IS MAYBE }`} {
		if _, err := compileFilter(p); err == nil {
			t.Errorf("compile %q: no error", p)
		}
	}
}
