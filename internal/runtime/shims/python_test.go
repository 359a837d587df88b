package shims

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const pythonRuntime = "python3.11"

// pythonError is the body awslambdaric posts for a function or init error.
type pythonError struct {
	ErrorMessage string   `json:"errorMessage"`
	ErrorType    string   `json:"errorType"`
	RequestID    string   `json:"requestId"`
	StackTrace   []string `json:"stackTrace"`
}

func decodePythonError(t *testing.T, p apiPost) pythonError {
	t.Helper()
	var e pythonError
	if keys := decodeErrorBody(t, p, &e); len(keys) != 4 {
		t.Errorf("error body keys = %d, want errorMessage, errorType, requestId, stackTrace: %s", len(keys), p.body)
	}
	return e
}

func TestPythonResponses(t *testing.T) {
	in := installed(t)
	tests := []struct {
		name     string
		dir      string
		handler  string
		payload  string
		wantBody string // exact bytes: json.dumps separators, as on Lambda
	}{
		{"ok", "basic", "app.ok", `{"a": [1, "x"]}`, `{"ok": true, "event": {"a": [1, "x"]}}`},
		{"None is null", "basic", "app.none", `{}`, `null`},
		{"decimal keeps its digits", "basic", "app.decimals", `{}`, `{"price": 19.90, "n": 3}`},
		{"bytes pass through", "basic", "app.raw_bytes", `{}`, "\x00raw"},
		{"package path handler", "nested", "pkg/sub/mod.handler", `{}`, `{"module": "pkg.sub.mod"}`},
		{"dotted package handler", "nested", "pkg.sub.mod.handler", `{}`, `{"module": "pkg.sub.mod"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			api, p := start(t, in, pythonRuntime, filepath.Join("testdata/python", tt.dir), tt.handler)
			api.invoke("req-1", tt.payload)
			got := api.next(t, p)
			if got.kind != "response" || got.requestID != "req-1" {
				t.Fatalf("post = %s %s %s, want response\nstdout:\n%s\nstderr:\n%s", got.kind, got.requestID, got.body, p.stdout, p.stderr)
			}
			if string(got.body) != tt.wantBody {
				t.Errorf("body = %q, want %q", got.body, tt.wantBody)
			}
		})
	}
}

func TestPythonInvocationErrors(t *testing.T) {
	in := installed(t)
	app, _ := filepath.Abs("testdata/python/basic/app.py")
	tests := []struct {
		handler string
		want    pythonError
	}{
		{"app.raise_error", pythonError{
			ErrorMessage: "boom", ErrorType: "ValueError", RequestID: "req-err",
			StackTrace: []string{fmt.Sprintf("  File \"%s\", line 15, in raise_error\n    raise ValueError(\"boom\")\n", app)},
		}},
		{"app.non_serialisable", pythonError{
			ErrorMessage: "Unable to marshal response: Object of type set is not JSON serializable",
			ErrorType:    "Runtime.MarshalError", RequestID: "req-err", StackTrace: []string{},
		}},
		{"app.not_callable", pythonError{
			ErrorMessage: "'int' object is not callable", ErrorType: "TypeError", RequestID: "req-err",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.handler, func(t *testing.T) {
			t.Parallel()
			api, p := start(t, in, pythonRuntime, "testdata/python/basic", tt.handler)
			api.invoke("req-err", `{}`)
			got := api.next(t, p)
			if got.kind != "error" || got.requestID != "req-err" {
				t.Fatalf("post = %s %s %s, want error\nstderr:\n%s", got.kind, got.requestID, got.body, p.stderr)
			}
			e := decodePythonError(t, got)
			if e.ErrorMessage != tt.want.ErrorMessage || e.ErrorType != tt.want.ErrorType || e.RequestID != tt.want.RequestID {
				t.Errorf("error = %+v\nwant      %+v", e, tt.want)
			}
			if tt.want.StackTrace != nil && fmt.Sprint(e.StackTrace) != fmt.Sprint(tt.want.StackTrace) {
				t.Errorf("stackTrace = %q\nwant         %q", e.StackTrace, tt.want.StackTrace)
			}
			// Logged as awslambdaric does: one line, \r-joined, traceback indented with NBSP.
			re := regexp.MustCompile(`(?m)^\[ERROR\] ` + regexp.QuoteMeta(tt.want.ErrorType+": "+tt.want.ErrorMessage) + `\rTraceback \(most recent call last\):`)
			waitFor(t, p, func(out string) bool { return re.MatchString(out) })
			// The instance keeps serving after a function error.
			api.invoke("req-after", `{}`)
			if got := api.next(t, p); got.requestID != "req-after" {
				t.Errorf("next post after an error = %s %s", got.kind, got.requestID)
			}
		})
	}
}

func TestPythonInitErrors(t *testing.T) {
	in := installed(t)
	syntaxFile, _ := filepath.Abs("testdata/python/syntax/app.py")
	tests := []struct {
		name      string
		dir       string
		handler   string
		wantType  string
		wantMsg   string
		wantTrace []string // nil: not checked
	}{
		{"missing module", "basic", "nope.handler", "Runtime.ImportModuleError",
			"Unable to import module 'nope': No module named 'nope'", []string{}},
		{"module imports a missing module", "basic", "imports_missing.handler", "Runtime.ImportModuleError",
			"Unable to import module 'imports_missing': No module named 'definitely_not_installed_module'", []string{}},
		{"missing function", "basic", "app.nope", "Runtime.HandlerNotFound",
			"Handler 'nope' missing on module 'app'", []string{}},
		{"malformed handler", "basic", "app", "Runtime.MalformedHandlerName",
			"Bad handler 'app': not enough values to unpack (expected 2, got 1)", []string{}},
		{"built-in module", "basic", "sys.handler", "Runtime.BuiltInModuleConflict",
			"Cannot use built-in module sys as a handler module", []string{}},
		// The middle of the message is the interpreter's own wording (it varies by
		// Python version); "*" stands for it.
		{"syntax error", "syntax", "app.handler", "Runtime.UserCodeSyntaxError",
			"Syntax error in module 'app': * (app.py, line 2)",
			[]string{fmt.Sprintf("  File \"%s\" Line 2\n        return {\"oops\": }\n", syntaxFile)}},
		{"module raises at import", "basic", "init_raises.handler", "RuntimeError", "init failed", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			api, p := start(t, in, pythonRuntime, filepath.Join("testdata/python", tt.dir), tt.handler)
			got := api.next(t, p)
			if got.kind != "init-error" {
				t.Fatalf("post = %s %s, want init-error", got.kind, got.body)
			}
			e := decodePythonError(t, got)
			wantMsg := tt.wantMsg
			if pre, post, ok := strings.Cut(tt.wantMsg, "*"); ok {
				if strings.HasPrefix(e.ErrorMessage, pre) && strings.HasSuffix(e.ErrorMessage, post) && len(e.ErrorMessage) > len(pre)+len(post) {
					wantMsg = e.ErrorMessage
				}
			}
			if e.ErrorType != tt.wantType || e.ErrorMessage != wantMsg || e.RequestID != "" {
				t.Errorf("error = %+v\nwant type %q message %q", e, tt.wantType, tt.wantMsg)
			}
			if tt.wantTrace != nil && fmt.Sprint(e.StackTrace) != fmt.Sprint(tt.wantTrace) {
				t.Errorf("stackTrace = %q\nwant         %q", e.StackTrace, tt.wantTrace)
			}
			if tt.wantTrace == nil && len(e.StackTrace) == 0 {
				t.Errorf("stackTrace is empty, want the import traceback")
			}
			if code := exitCode(p.wait(t)); code != 1 {
				t.Errorf("exit code = %d, want 1", code)
			}
			out := p.stdout.String()
			if !strings.Contains(out, "[ERROR] "+tt.wantType+": "+wantMsg+"\r") {
				t.Errorf("stdout lacks the [ERROR] line:\n%q", out)
			}
			if !regexp.MustCompile(`(?m)^\[WARNING\]\t\S+Z\t\tLAMBDA_WARNING: Unhandled exception. `).MatchString(out) {
				t.Errorf("stdout lacks the LAMBDA_WARNING line:\n%q", out)
			}
		})
	}
}

func TestPythonContext(t *testing.T) {
	in := installed(t)
	api, p := start(t, in, pythonRuntime, "testdata/python/basic", "app.context_fields")
	api.events <- fakeEvent{id: "ctx-1", payload: `{}`, headers: map[string]string{
		"Lambda-Runtime-Client-Context":   `{"custom":{"k":"v"},"client":{"app_title":"t"}}`,
		"Lambda-Runtime-Cognito-Identity": `{"cognitoIdentityId":"id-1","cognitoIdentityPoolId":"pool-1"}`,
	}}
	got := api.next(t, p)
	jsonEqual(t, got.body, `{
		"function_name":"fn","function_version":"$LATEST",
		"invoked_function_arn":"arn:aws:lambda:us-east-1:000000000000:function:fn",
		"memory_limit_in_mb":"256","aws_request_id":"ctx-1",
		"log_group_name":"/aws/lambda/fn","log_stream_name":"2024/01/01/[$LATEST]abcdef",
		"remaining_positive":true,"identity_id":"id-1","identity_pool_id":"pool-1",
		"client_custom":{"k":"v"},"client_app_title":"t",
		"trace_id":"Root=1-00000000-000000000000000000000000;Sampled=0"}`)

	// Without the headers, identity is an object of Nones and client_context is None.
	api.invoke("ctx-2", `{}`)
	got = api.next(t, p)
	var m map[string]any
	json.Unmarshal(got.body, &m)
	if m["identity_id"] != nil || m["client_custom"] != nil || m["aws_request_id"] != "ctx-2" {
		t.Errorf("second context = %s", got.body)
	}
}

func TestPythonLoopAndLogs(t *testing.T) {
	in := installed(t)
	api, p := start(t, in, pythonRuntime, "testdata/python/basic", "app.counter")
	for _, want := range []string{"1", "2", "3"} {
		api.invoke("n-"+want, `{}`)
		if got := api.next(t, p); string(got.body) != want {
			t.Fatalf("counter = %s, want %s", got.body, want)
		}
	}

	api2, p2 := start(t, in, pythonRuntime, "testdata/python/basic", "app.logs")
	api2.invoke("log-1", `{}`)
	if got := api2.next(t, p2); string(got.body) != `"logged"` {
		t.Fatalf("response = %s", got.body)
	}
	for _, re := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^hello from print$`),
		regexp.MustCompile(`(?m)^\[WARNING\]\t\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\tlog-1\twarn 1$`),
		regexp.MustCompile(`(?m)^\[ERROR\]\t\S+Z\tlog-1\tchild error$`),
	} {
		waitFor(t, p2, func(out string) bool { return re.MatchString(out) })
	}
	if strings.Contains(p2.stdout.String(), "info line") {
		t.Errorf("INFO logged although the root logger defaults to WARNING:\n%s", p2.stdout)
	}

	// AWS_LAMBDA_LOG_LEVEL lowers the root level; JSON format changes the shape.
	api3, p3 := start(t, in, pythonRuntime, "testdata/python/basic", "app.logs",
		"AWS_LAMBDA_LOG_LEVEL=INFO", "AWS_LAMBDA_LOG_FORMAT=JSON")
	api3.invoke("log-2", `{}`)
	api3.next(t, p3)
	re := regexp.MustCompile(`(?m)^\{"timestamp": "\S+Z", "level": "INFO", "message": "info line", "logger": "root", "requestId": "log-2"\}$`)
	waitFor(t, p3, func(out string) bool { return re.MatchString(out) })
}
