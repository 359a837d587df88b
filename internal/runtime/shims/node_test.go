package shims

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const nodeRuntime = "nodejs20.x"

// nodeError is the body the Node.js runtime posts for a function or init error.
type nodeError struct {
	ErrorType    string   `json:"errorType"`
	ErrorMessage string   `json:"errorMessage"`
	Trace        []string `json:"trace"`
}

func decodeNodeError(t *testing.T, p apiPost) nodeError {
	t.Helper()
	var e nodeError
	for _, k := range decodeErrorBody(t, p, &e) {
		if k != "errorType" && k != "errorMessage" && k != "trace" {
			t.Errorf("unexpected key %q in error body %s", k, p.body)
		}
	}
	return e
}

func TestNodeResponses(t *testing.T) {
	in := installed(t)
	tests := []struct {
		name    string
		dir     string
		handler string
		payload string
		want    string
	}{
		{"async", "cjs", "index.asyncHandler", `{"a":1}`, `{"model":"async","event":{"a":1}}`},
		{"promise returned by sync function", "cjs", "index.promiseHandler", `[1,2]`, `{"model":"promise","event":[1,2]}`},
		// Lambda ignores the return value of a non-async handler with fewer than
		// three parameters and completes with null (RIC Runtime.js beforeExit).
		{"sync return value is ignored", "cjs", "index.syncHandler", `{}`, `null`},
		{"callback", "cjs", "index.callbackHandler", `"s"`, `{"model":"callback","event":"s"}`},
		{"callback waits for empty event loop", "cjs", "index.callbackWaits", `{}`, `{"late":true}`},
		{"callbackWaitsForEmptyEventLoop false", "cjs", "index.callbackNoWait", `{}`, `{"late":false}`},
		{"context.succeed", "cjs", "index.contextSucceed", `{}`, `{"model":"succeed"}`},
		{"undefined result is null", "cjs", "index.undefinedResult", `{}`, `null`},
		{"nested export", "cjs", "index.nested.deeper.handler", `{}`, `"nested ok"`},
		{"esm .mjs", "esm_mjs", "index.handler", `{"x":true}`, `{"module":"esm-mjs","event":{"x":true}}`},
		{"esm .js with type module", "esm_type_module", "index.handler", `{}`, `{"module":"esm-type-module","sep":"/"}`},
		{"commonjs .cjs", "cjs_ext", "index.handler", `{}`, `{"module":"cjs-ext"}`},
		{"handler in a subdirectory", "nested", "src/handlers/app.handler", `{}`, `{"module":"nested","dir":"src/handlers"}`},
		{"require through NODE_PATH", "nodepath", "src/app.handler", `{}`, `"hello node_path"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			api, p := start(t, in, nodeRuntime, filepath.Join("testdata/node", tt.dir), tt.handler)
			api.invoke("req-1", tt.payload)
			got := api.next(t, p)
			if got.kind != "response" || got.requestID != "req-1" {
				t.Fatalf("post = %s %s %s, want response for req-1\nstdout:\n%s", got.kind, got.requestID, got.body, p.stdout)
			}
			jsonEqual(t, got.body, tt.want)
		})
	}
}

func TestNodeInvocationErrors(t *testing.T) {
	in := installed(t)
	tests := []struct {
		handler   string
		wantType  string
		wantMsg   string
		wantTrace string // first trace line; "" means an empty trace
	}{
		{"index.throwSync", "Error", "boom", "Error: boom"},
		{"index.rejectAsync", "RangeError", "out of range", "RangeError: out of range"},
		{"index.customError", "ValidationError", "invalid thing", "ValidationError: invalid thing"},
		{"index.callbackError", "TypeError", "bad input", "TypeError: bad input"},
		{"index.contextFail", "Error", "failed via context", "Error: failed via context"},
		// A non-Error value: errorType is its typeof and the trace is empty.
		{"index.callbackString", "string", "plain string error", ""},
		// RIC RAPIDClient._trySerializeResponse.
		{"index.circular", "Error", "Unable to stringify response body", "Error: Unable to stringify response body"},
		{"index.neverSettles", "Runtime.NodeJsExit", "The Lambda runtime client detected an unexpected Node.js exit code. This is most commonly caused by a Promise that was never settled. For more information, see https://nodejs.org/docs/latest/api/process.html#exit-codes", "Runtime.NodeJsExit: The Lambda runtime client detected an unexpected Node.js exit code. This is most commonly caused by a Promise that was never settled. For more information, see https://nodejs.org/docs/latest/api/process.html#exit-codes"},
		{"index.notAFunction", "Runtime.HandlerNotFound", "index.notAFunction is not a function", ""},
	}
	for _, tt := range tests {
		t.Run(tt.handler, func(t *testing.T) {
			t.Parallel()
			api, p := start(t, in, nodeRuntime, "testdata/node/cjs", tt.handler)
			api.invoke("req-err", `{}`)
			got := api.next(t, p)
			if tt.wantType == "Runtime.HandlerNotFound" {
				if got.kind != "init-error" {
					t.Fatalf("post = %s %s, want init-error", got.kind, got.body)
				}
			} else if got.kind != "error" || got.requestID != "req-err" {
				t.Fatalf("post = %s %s %s, want error for req-err\nstdout:\n%s", got.kind, got.requestID, got.body, p.stdout)
			}
			e := decodeNodeError(t, got)
			if e.ErrorType != tt.wantType || e.ErrorMessage != tt.wantMsg {
				t.Errorf("error = %q %q, want %q %q", e.ErrorType, e.ErrorMessage, tt.wantType, tt.wantMsg)
			}
			switch {
			case tt.wantTrace == "" && tt.wantType == "string":
				if len(e.Trace) != 0 {
					t.Errorf("trace = %q, want empty", e.Trace)
				}
			case tt.wantTrace != "":
				if len(e.Trace) < 2 || e.Trace[0] != tt.wantTrace || !strings.HasPrefix(e.Trace[1], "    at ") {
					t.Errorf("trace = %q, want %q then stack frames", e.Trace, tt.wantTrace)
				}
			}
			if got.kind == "error" {
				// The error is also logged, as the RIC's "Invoke Error" line;
				// non-Error values are logged wrapped in an Error.
				logType := tt.wantType
				if logType == "string" {
					logType = "Error"
				}
				re := regexp.MustCompile(`(?m)^\S+Z\treq-err\tERROR\tInvoke Error \t\{"errorType":"` + regexp.QuoteMeta(logType) + `","errorMessage":"` + regexp.QuoteMeta(tt.wantMsg) + `"`)
				waitFor(t, p, func(out string) bool { return re.MatchString(out) })
			}
		})
	}
}

func TestNodeFatalDuringInvocation(t *testing.T) {
	in := installed(t)
	tests := []struct {
		handler  string
		wantType string
		wantMsg  string
		wantExit int
	}{
		{"index.uncaught", "Error", "late throw", 129},
		{"index.unhandledRejection", "Runtime.UnhandledPromiseRejection", "Error: nobody caught me", 128},
	}
	for _, tt := range tests {
		t.Run(tt.handler, func(t *testing.T) {
			t.Parallel()
			api, p := start(t, in, nodeRuntime, "testdata/node/cjs", tt.handler)
			api.invoke("req-fatal", `{}`)
			got := api.next(t, p)
			if got.kind != "error" || got.requestID != "req-fatal" {
				t.Fatalf("post = %s %s %s, want error", got.kind, got.requestID, got.body)
			}
			e := decodeNodeError(t, got)
			if e.ErrorType != tt.wantType || e.ErrorMessage != tt.wantMsg {
				t.Errorf("error = %q %q, want %q %q", e.ErrorType, e.ErrorMessage, tt.wantType, tt.wantMsg)
			}
			if code := exitCode(p.wait(t)); code != tt.wantExit {
				t.Errorf("exit code = %d, want %d", code, tt.wantExit)
			}
		})
	}
}

func TestNodeInitErrors(t *testing.T) {
	in := installed(t)
	client := filepath.Join(in.Dir, NodeClient)
	tests := []struct {
		name     string
		dir      string
		handler  string
		wantType string
		wantMsg  string
	}{
		{"missing module", "cjs", "nope.handler", "Runtime.ImportModuleError",
			"Error: Cannot find module 'nope'\nRequire stack:\n- " + client},
		{"missing export", "cjs", "index.missing", "Runtime.HandlerNotFound", "index.missing is undefined or not exported"},
		{"missing nested export", "cjs", "index.nested.nope", "Runtime.HandlerNotFound", "index.nested.nope is undefined or not exported"},
		{"no dot", "cjs", "index", "Runtime.MalformedHandlerName", "Bad handler"},
		{"relative path", "cjs", "../cjs/index.handler", "Runtime.MalformedHandlerName",
			"'../cjs/index.handler' is not a valid handler name. Use absolute paths when specifying root directories in handler names."},
		{"syntax error", "syntax", "index.handler", "Runtime.UserCodeSyntaxError", "SyntaxError: Unexpected token ';'"},
		// Other errors thrown while loading pass through unwrapped.
		{"module throws at load", "initthrow", "index.handler", "Error", "init failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			api, p := start(t, in, nodeRuntime, filepath.Join("testdata/node", tt.dir), tt.handler)
			got := api.next(t, p)
			if got.kind != "init-error" {
				t.Fatalf("post = %s %s, want init-error", got.kind, got.body)
			}
			e := decodeNodeError(t, got)
			if e.ErrorType != tt.wantType || e.ErrorMessage != tt.wantMsg {
				t.Errorf("error = %q %q\nwant      %q %q", e.ErrorType, e.ErrorMessage, tt.wantType, tt.wantMsg)
			}
			if len(e.Trace) == 0 || !strings.HasPrefix(e.Trace[0], tt.wantType+": ") {
				t.Errorf("trace = %q, want it to start with the error", e.Trace)
			}
			if code := exitCode(p.wait(t)); code != 129 {
				t.Errorf("exit code = %d, want 129", code)
			}
			// AWS logs init failures as "Uncaught Exception" with request id "undefined".
			if !regexp.MustCompile(`(?m)^\S+Z\tundefined\tERROR\tUncaught Exception \t\{"errorType":"` + regexp.QuoteMeta(tt.wantType) + `"`).MatchString(p.stdout.String()) {
				t.Errorf("stdout lacks the Uncaught Exception line:\n%s", p.stdout)
			}
		})
	}
}

// Response streaming handlers stream: one chunked POST /response in streaming
// mode; an error after the first byte (here: resolving with the stream unended, as
// the RIC refuses) goes in the error trailers.
func TestNodeStreamingHandler(t *testing.T) {
	in := installed(t)
	api, p := start(t, in, nodeRuntime, "testdata/node/cjs", "index.streaming")
	api.invoke("s-1", `{}`)
	got := api.next(t, p)
	if got.kind != "response" || string(got.body) != "part1,part2" || got.header.Get("Lambda-Runtime-Function-Response-Mode") != "streaming" ||
		got.header.Get("Content-Type") != "application/octet-stream" || got.trailer.Get("Lambda-Runtime-Function-Error-Type") != "" {
		t.Errorf("post = %s %q %v %v, want a streamed response \"part1,part2\"", got.kind, got.body, got.header, got.trailer)
	}

	api2, p2 := start(t, in, nodeRuntime, "testdata/node/cjs", "index.streamingUnfinished")
	api2.invoke("s-2", `{}`)
	got = api2.next(t, p2)
	errBody, _ := base64.StdEncoding.DecodeString(got.trailer.Get("Lambda-Runtime-Function-Error-Body"))
	if got.kind != "response" || string(got.body) != "never ended" || got.trailer.Get("Lambda-Runtime-Function-Error-Type") != "Error" ||
		!strings.Contains(string(errBody), `"errorMessage":"Response stream is not finished."`) {
		t.Errorf("post = %s %q trailers %v (%s), want the error in trailers", got.kind, got.body, got.trailer, errBody)
	}

	// HttpResponseStream.from writes the prelude and eight NUL bytes first.
	api3, p3 := start(t, in, nodeRuntime, "testdata/node/cjs", "index.streamingHTTP")
	api3.invoke("s-3", `{}`)
	got = api3.next(t, p3)
	want := `{"statusCode":201,"headers":{"x-a":"b"}}` + strings.Repeat("\x00", 8) + "hello"
	if got.header.Get("Content-Type") != "application/vnd.awslambda.http-integration-response" || string(got.body) != want {
		t.Errorf("http stream = %q (%s), want %q", got.body, got.header.Get("Content-Type"), want)
	}
}

func TestNodeContext(t *testing.T) {
	in := installed(t)
	api, p := start(t, in, nodeRuntime, "testdata/node/cjs", "index.context")
	api.events <- fakeEvent{id: "ctx-1", payload: `{}`, headers: map[string]string{
		"Lambda-Runtime-Client-Context":   `{"custom":{"k":"v"}}`,
		"Lambda-Runtime-Cognito-Identity": `{"cognitoIdentityId":"id-1"}`,
	}}
	got := api.next(t, p)
	jsonEqual(t, got.body, `{
		"functionName":"fn","functionVersion":"$LATEST",
		"invokedFunctionArn":"arn:aws:lambda:us-east-1:000000000000:function:fn",
		"memoryLimitInMB":"256","awsRequestId":"ctx-1",
		"logGroupName":"/aws/lambda/fn","logStreamName":"2024/01/01/[$LATEST]abcdef",
		"identity":{"cognitoIdentityId":"id-1"},"clientContext":{"custom":{"k":"v"}},
		"callbackWaitsForEmptyEventLoop":true,"remainingPositive":true,
		"traceId":"Root=1-00000000-000000000000000000000000;Sampled=0","hasSucceed":true}`)
}

func TestNodeLoopReusesInstance(t *testing.T) {
	in := installed(t)
	api, p := start(t, in, nodeRuntime, "testdata/node/cjs", "index.counter")
	for i, want := range []string{"1", "2", "3"} {
		id := "loop-" + want
		api.invoke(id, `{}`)
		got := api.next(t, p)
		if got.kind != "response" || got.requestID != id || string(got.body) != want {
			t.Fatalf("invocation %d: post = %s %s %s, want response %s", i, got.kind, got.requestID, got.body, want)
		}
	}
}

func TestNodeConsoleFormat(t *testing.T) {
	in := installed(t)
	api, p := start(t, in, nodeRuntime, "testdata/node/cjs", "index.logs")
	api.invoke("log-1", `{}`)
	if got := api.next(t, p); string(got.body) != `"logged"` {
		t.Fatalf("response = %s", got.body)
	}
	wantLines := []string{
		`INFO\thello world`,
		`INFO\tmulti\rline`,
		`WARN\tcareful`,
		`ERROR\tbad { a: 1 }`,
		`DEBUG\tdbg`,
	}
	for _, l := range wantLines {
		re := regexp.MustCompile(`(?m)^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\tlog-1\t` + l + `$`)
		waitFor(t, p, func(out string) bool { return re.MatchString(out) })
	}
}

func TestNodeLogLevelAndJSONFormat(t *testing.T) {
	in := installed(t)
	api, p := start(t, in, nodeRuntime, "testdata/node/cjs", "index.logs",
		"AWS_LAMBDA_LOG_FORMAT=JSON", "AWS_LAMBDA_LOG_LEVEL=WARN")
	api.invoke("log-2", `{}`)
	api.next(t, p)
	waitFor(t, p, func(out string) bool { return strings.Contains(out, `"message":"bad { a: 1 }"`) })
	out := p.stdout.String()
	if strings.Contains(out, "hello world") || strings.Contains(out, "dbg") {
		t.Errorf("INFO/DEBUG lines logged at level WARN:\n%s", out)
	}
	re := regexp.MustCompile(`(?m)^\{"timestamp":"[^"]+Z","level":"WARN","requestId":"log-2","message":"careful"\}$`)
	if !re.MatchString(out) {
		t.Errorf("no JSON WARN line in:\n%s", out)
	}
}

// With AWS_LAMBDA_MAX_CONCURRENCY=4 (Lambda Managed Instances) one process runs
// four invocations of an async handler at once: each stays in flight until all
// four are (a serial loop would leave the first alone, and it would report a peak
// of 1), and each log line carries its own invocation's request id.
func TestNodeConcurrentInvocations(t *testing.T) {
	in := installed(t)
	api, p := start(t, in, nodeRuntime, "testdata/node/concurrent", "index.barrier", "AWS_LAMBDA_MAX_CONCURRENCY=4")
	for i := range 4 {
		api.invoke(fmt.Sprintf("mc-%d", i), fmt.Sprintf(`{"n":%d,"expect":4}`, i))
	}
	pids := map[float64]bool{}
	for range 4 {
		got := api.next(t, p)
		var out struct{ N, Peak, Pid float64 }
		if err := json.Unmarshal(got.body, &out); err != nil || got.kind != "response" {
			t.Fatalf("post = %s %s %s", got.kind, got.requestID, got.body)
		}
		if got.requestID != fmt.Sprintf("mc-%d", int(out.N)) || out.Peak != 4 {
			t.Errorf("response %s for %s: want n matching the request and peak 4\nstdout:\n%s", got.body, got.requestID, p.stdout)
		}
		pids[out.Pid] = true
	}
	if len(pids) != 1 {
		t.Errorf("responses came from %d processes, want 1", len(pids))
	}
	for i := range 4 {
		for _, what := range []string{"start", "end"} {
			re := regexp.MustCompile(fmt.Sprintf(`(?m)^\S+Z\tmc-%d\tINFO\t%s %d$`, i, what, i))
			waitFor(t, p, func(out string) bool { return re.MatchString(out) })
		}
	}
	for _, m := range regexp.MustCompile(`(?m)^\S+Z\t(\S+)\tINFO\t(?:start|end) (\d)$`).FindAllStringSubmatch(p.stdout.String(), -1) {
		if m[1] != "mc-"+m[2] {
			t.Errorf("log line of invocation %s carries request id %s", m[2], m[1])
		}
	}
}

// In multi mode a callback-style handler runs one invocation at a time, and its
// callback posts at once (the event loop is never empty while polls wait).
func TestNodeConcurrentCallbackHandlerIsSerialized(t *testing.T) {
	in := installed(t)
	api, p := start(t, in, nodeRuntime, "testdata/node/concurrent", "index.callbackPeak", "AWS_LAMBDA_MAX_CONCURRENCY=4")
	for i := range 3 {
		api.invoke(fmt.Sprintf("cb-%d", i), fmt.Sprintf(`{"n":%d}`, i))
	}
	for range 3 {
		got := api.next(t, p)
		var out struct{ N, Seen float64 }
		if err := json.Unmarshal(got.body, &out); err != nil || got.kind != "response" || got.requestID != fmt.Sprintf("cb-%d", int(out.N)) {
			t.Fatalf("post = %s %s %s", got.kind, got.requestID, got.body)
		}
		if out.Seen != 1 {
			t.Errorf("invocation %s saw %v in flight, want 1", got.requestID, out.Seen)
		}
	}
}

// An uncaught exception in multi mode fails the invocation in flight and exits
// 129, as in the classic loop.
func TestNodeConcurrentUncaught(t *testing.T) {
	in := installed(t)
	api, p := start(t, in, nodeRuntime, "testdata/node/cjs", "index.uncaught", "AWS_LAMBDA_MAX_CONCURRENCY=2")
	api.invoke("mc-fatal", `{}`)
	got := api.next(t, p)
	if e := decodeNodeError(t, got); got.kind != "error" || got.requestID != "mc-fatal" || e.ErrorMessage != "late throw" {
		t.Fatalf("post = %s %s %s, want error late throw for mc-fatal", got.kind, got.requestID, got.body)
	}
	if code := exitCode(p.wait(t)); code != 129 {
		t.Errorf("exit code = %d, want 129", code)
	}
	if !regexp.MustCompile(`(?m)^\S+Z\tmc-fatal\tERROR\tUncaught Exception \t`).MatchString(p.stdout.String()) {
		t.Errorf("no Uncaught Exception line for mc-fatal:\n%s", p.stdout)
	}
}

// Response streaming handlers stream in multi mode too, each invocation on its
// own POST.
func TestNodeConcurrentStreaming(t *testing.T) {
	in := installed(t)
	api, p := start(t, in, nodeRuntime, "testdata/node/cjs", "index.streaming", "AWS_LAMBDA_MAX_CONCURRENCY=2")
	api.invoke("ms-1", `{}`)
	api.invoke("ms-2", `{}`)
	seen := map[string]bool{}
	for range 2 {
		got := api.next(t, p)
		if got.kind != "response" || string(got.body) != "part1,part2" || got.header.Get("Lambda-Runtime-Function-Response-Mode") != "streaming" {
			t.Errorf("post = %s %s %q %v, want a streamed response \"part1,part2\"", got.kind, got.requestID, got.body, got.header)
		}
		seen[got.requestID] = true
	}
	if !seen["ms-1"] || !seen["ms-2"] {
		t.Errorf("responses for %v, want ms-1 and ms-2", seen)
	}
}
