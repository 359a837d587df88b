package runtime

import (
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestTraceIDFormat(t *testing.T) {
	re := regexp.MustCompile(`^Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0$`)
	for i := 0; i < 100; i++ {
		if id := newTraceID(time.Now()); !re.MatchString(id) {
			t.Fatalf("trace id %q", id)
		}
	}
}

func TestRuntimeAPIRouting(t *testing.T) {
	inst := &instance{work: make(chan *invocation, 1), exited: make(chan struct{})}
	inst.initDone = true
	tests := []struct {
		method, path string
		status       int
		body         string
	}{
		{"GET", "/", 404, ""},
		{"GET", "/2018-06-01/runtime/unknown", 404, ""},
		{"POST", "/2018-06-01/runtime/invocation/next", 405, ""},
		{"GET", "/2018-06-01/runtime/init/error", 405, ""},
		{"GET", "/2018-06-01/runtime/invocation/abc/response", 405, ""},
		{"POST", "/2018-06-01/runtime/invocation/abc/other", 404, ""},
		{"POST", "/2018-06-01/runtime/invocation//response", 404, ""},
		{"POST", "/2018-06-01/runtime/invocation/abc/response", 400, `{"errorMessage":"Invalid request ID","errorType":"InvalidRequestID"}`},
		{"POST", "/2018-06-01/runtime/invocation/abc/error", 400, `{"errorMessage":"Invalid request ID","errorType":"InvalidRequestID"}`},
		{"POST", "/2018-06-01/runtime/init/error", 403, `{"errorMessage":"State transition from Ready to InitError failed for runtime. Error: State transition is not allowed","errorType":"InvalidStateTransition"}`},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			rec := httptest.NewRecorder()
			inst.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, strings.NewReader(`{}`)))
			if rec.Code != tt.status {
				t.Errorf("status %d, want %d", rec.Code, tt.status)
			}
			if tt.body != "" && strings.TrimSpace(rec.Body.String()) != tt.body {
				t.Errorf("body %s, want %s", rec.Body, tt.body)
			}
		})
	}
}

func TestErrorPayloadFallback(t *testing.T) {
	r := httptest.NewRequest("POST", "/", nil)
	r.Header.Set("Lambda-Runtime-Function-Error-Type", "Runtime.Custom")
	tests := []struct{ body, want string }{
		{`{"errorMessage":"m","errorType":"T"}`, `{"errorMessage":"m","errorType":"T"}`},
		{``, `{"errorMessage":"","errorType":"Runtime.Custom"}`},
		{`not json`, `{"errorMessage":"not json","errorType":"Runtime.Custom"}`},
	}
	for _, tt := range tests {
		if got := string(errorPayload(r, []byte(tt.body))); got != tt.want {
			t.Errorf("errorPayload(%q) = %s, want %s", tt.body, got, tt.want)
		}
	}
}

func TestCleanTraceID(t *testing.T) {
	for in, want := range map[string]string{
		"Root=1-5759e988-bd862e3fe1be46a994272793":                             "Root=1-5759e988-bd862e3fe1be46a994272793",
		" Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1 ":                 "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1",
		"Self=1-abc;Root=1-5759e988-bd862e3fe1be46a994272793;Parent=1234":      "Self=1-abc;Root=1-5759e988-bd862e3fe1be46a994272793;Parent=1234",
		"Root=1-5759e988-bd862e3fe1be46a99427279":                              "",
		"Root=2-5759e988-bd862e3fe1be46a994272793":                             "",
		"Root=1-5759e988-bd862e3fe1be46a99427279\n":                            "",
		"Parent=53995c3f42cd8ad8":                                              "",
		"":                                                                     "",
		"Root=1-5759e988-bd862e3fe1be46a994272793;" + strings.Repeat("x", 300): "",
	} {
		if got := CleanTraceID(in); got != want {
			t.Errorf("CleanTraceID(%q) = %q, want %q", in, got, want)
		}
	}
	if got := lambdaTraceHeader("Root=1-5759e988-bd862e3fe1be46a994272793"); !regexp.MustCompile(`^Root=1-5759e988-bd862e3fe1be46a994272793;Parent=[0-9a-f]{16};Sampled=0$`).MatchString(got) {
		t.Errorf("lambdaTraceHeader added %q", got)
	}
	if got := lambdaTraceHeader("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"); got != "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1" {
		t.Errorf("lambdaTraceHeader changed a complete header: %q", got)
	}
}
