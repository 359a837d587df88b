package console

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/internal/apigw/model"
	"github.com/sluice-dev/sluice/internal/fnlogs"
	"github.com/sluice-dev/sluice/internal/lambda"
	"github.com/sluice-dev/sluice/internal/metrics"
	"github.com/sluice-dev/sluice/internal/store"
	"github.com/sluice-dev/sluice/internal/store/memstore"
)

// hostile is a name and description built to break out of every HTML context
// the pages put them in.
const hostile = `<script>alert(1)</script>"'><img src=x onerror=alert(2)>`

type fakeFunctions []lambda.Configuration

func (f fakeFunctions) Functions() []lambda.Configuration { return f }

func (f fakeFunctions) Function(name string) (lambda.Configuration, bool) {
	for _, c := range f {
		if c.FunctionName == name {
			return c, true
		}
	}
	return lambda.Configuration{}, false
}

var testFunctions = fakeFunctions{
	{FunctionName: "hello", FunctionArn: "arn:aws:lambda:us-east-1:123456789012:function:hello", Runtime: "nodejs22.x",
		Handler: "index.handler", State: "Active", MemorySize: 128, Timeout: 3, Description: "says hello"},
	{FunctionName: hostile, Runtime: "python3.12", State: "Active", MemorySize: 256, Description: hostile},
}

type fixture struct {
	logs    *fnlogs.Store
	store   *memstore.Store
	metrics *metrics.Metrics
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	logs, err := fnlogs.OpenWith(t.TempDir(), fnlogs.Options{FlushInterval: 10 * time.Millisecond,
		Exists: func(name string) bool { _, ok := testFunctions.Function(name); return ok }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { logs.Close() })
	return &fixture{logs: logs, store: memstore.New(), metrics: metrics.New()}
}

func (f *fixture) console(mut func(*Options)) *Console {
	opts := Options{Functions: testFunctions, Logs: f.logs, APIs: f.store, Metrics: f.metrics.Gatherer(), Open: true,
		Endpoint: "http://127.0.0.1:4566", ExecuteAPIDomain: "execute-api.localhost"}
	if mut != nil {
		mut(&opts)
	}
	return New(opts)
}

func get(t *testing.T, h http.Handler, path string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func checkSecurityHeaders(t *testing.T, rec *httptest.ResponseRecorder) {
	t.Helper()
	for k, want := range map[string]string{
		"Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'",
		"X-Content-Type-Options":  "nosniff",
		"Cache-Control":           "no-store",
	} {
		if got := rec.Header().Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
}

func TestAuth(t *testing.T) {
	f := newFixture(t)
	verify := func(o *Options) { o.Open, o.RootAccessKeyID, o.RootSecretAccessKey = false, "AKIDROOT", "root-secret" }
	noKey := func(o *Options) { o.Open = false }
	tests := []struct {
		name       string
		mut        func(*Options)
		user, pass string
		basic      bool
		want       int
	}{
		{"open mode needs nothing", nil, "", "", false, http.StatusOK},
		{"verify without credentials", verify, "", "", false, http.StatusUnauthorized},
		{"verify with the root key", verify, "AKIDROOT", "root-secret", true, http.StatusOK},
		{"verify with a wrong secret", verify, "AKIDROOT", "root-secreT", true, http.StatusUnauthorized},
		{"verify with a wrong key id", verify, "AKIDOTHER", "root-secret", true, http.StatusUnauthorized},
		{"verify with a prefix of the secret", verify, "AKIDROOT", "root", true, http.StatusUnauthorized},
		{"no root key configured fails closed", noKey, "", "", true, http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := f.console(tt.mut)
			for _, path := range []string{Path, Path + "/functions/hello", Path + "/functions/hello/tail?x", Path + "/static/console.css", Path + "/nope"} {
				if strings.Contains(path, "/tail") && tt.want == http.StatusOK {
					continue // a granted tail streams until cancelled; TestTail covers it
				}
				req := httptest.NewRequest(http.MethodGet, path, nil)
				if tt.basic {
					req.SetBasicAuth(tt.user, tt.pass)
				}
				rec := httptest.NewRecorder()
				c.ServeHTTP(rec, req)
				want := tt.want
				if want == http.StatusOK && path == Path+"/nope" {
					want = http.StatusNotFound
				}
				if rec.Code != want {
					t.Fatalf("GET %s: %d, want %d\n%s", path, rec.Code, want, rec.Body)
				}
				checkSecurityHeaders(t, rec)
				if want == http.StatusUnauthorized {
					if got := rec.Header().Get("WWW-Authenticate"); !strings.HasPrefix(got, `Basic realm="sluice"`) {
						t.Errorf("WWW-Authenticate = %q", got)
					}
					if strings.Contains(rec.Body.String(), "hello") {
						t.Errorf("401 body leaks content: %s", rec.Body)
					}
				}
			}
		})
	}
}

func TestReadOnly(t *testing.T) {
	c := newFixture(t).console(nil)
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
		rec := httptest.NewRecorder()
		c.ServeHTTP(rec, httptest.NewRequest(m, Path+"/functions/hello", strings.NewReader("x")))
		if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "GET, HEAD" {
			t.Errorf("%s: %d Allow=%q", m, rec.Code, rec.Header().Get("Allow"))
		}
	}
}

// TestEscaping renders every page with a function whose name and description
// try to inject markup: they must come out as text.
func TestEscaping(t *testing.T) {
	f := newFixture(t)
	f.metrics.ObserveInvoke(hostile, metrics.InvokeOK, 5*time.Millisecond)
	f.metrics.ObserveRequest(hostile, hostile, hostile, 200, time.Millisecond, time.Millisecond)
	putJSON(t, f.store, model.Key(model.HTTPAPIPrefix, "abc123"), model.HTTPAPI{APIID: "abc123", Name: hostile, Description: hostile, ProtocolType: "HTTP"})
	putJSON(t, f.store, model.Key(model.HTTPStagePrefix, "abc123", "$default"), model.Stage2{StageName: "$default", DeploymentID: "d1"})
	putJSON(t, f.store, model.Key(model.HTTPSnapshotPrefix, "abc123", "d1"), model.HTTPSnapshot{Routes: []*model.Route{{RouteKey: "GET /" + hostile}}})
	c := f.console(nil)
	for _, path := range []string{Path, Path + "/functions/" + url.PathEscape(hostile), Path + "/apis", Path + "/metrics", Path + "/functions/" + url.PathEscape(hostile+"x")} {
		rec := get(t, c, path)
		body := rec.Body.String()
		if rec.Code != http.StatusOK && rec.Code != http.StatusNotFound {
			t.Fatalf("GET %s: %d\n%s", path, rec.Code, body)
		}
		for _, bad := range []string{"<script>alert", "<img src=x", `"'>`} {
			if strings.Contains(body, bad) {
				t.Errorf("GET %s: raw %q in the page:\n%s", path, bad, body)
			}
		}
		if !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
			t.Errorf("GET %s: the escaped name is missing:\n%s", path, body)
		}
		// The only scripts are the console's own file.
		if n := strings.Count(body, "<script"); n != 1 || !strings.Contains(body, `<script src="/_sluice/console/static/console.js" defer></script>`) {
			t.Errorf("GET %s: %d script tags", path, n)
		}
	}
}

func putJSON(t *testing.T, st store.Store, key string, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Update(context.Background(), func(tx store.Tx) error { return tx.Put(key, b) }); err != nil {
		t.Fatal(err)
	}
}

func TestFunctionsPage(t *testing.T) {
	f := newFixture(t)
	f.metrics.ObserveInvoke("hello", metrics.InvokeOK, 10*time.Millisecond)
	f.metrics.ObserveInvoke("hello", metrics.InvokeError, 30*time.Millisecond)
	rec := get(t, f.console(nil), Path)
	checkSecurityHeaders(t, rec)
	if ct := rec.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	body := rec.Body.String()
	row := regexp.MustCompile(`(?s)<tr data-function="hello">.*?</tr>`).FindString(body)
	for _, want := range []string{`href="/_sluice/console/functions/hello"`, "nodejs22.x", "Active", "128 MB",
		`<td class="num">2</td>`, `<td class="num bad">1</td>`, "20.00 ms", "says hello"} {
		if !strings.Contains(row, want) {
			t.Errorf("hello's row lacks %q:\n%s", want, row)
		}
	}

	off := get(t, f.console(func(o *Options) { o.Metrics = nil }), Path).Body.String()
	if !strings.Contains(off, "--metrics-listen") || strings.Contains(off, "<th class=\"num\">Invocations</th>") {
		t.Errorf("metrics off: the page should say so and show no counts:\n%s", off)
	}
}

func TestFunctionPage(t *testing.T) {
	f := newFixture(t)
	now := time.Now()
	stream := "2026/01/02/[$LATEST]0123456789abcdef"
	for i, line := range []string{
		"START RequestId: r1 Version: $LATEST",
		"hello from /hi",
		"END RequestId: r1",
		"REPORT RequestId: r1\tDuration: 12.34 ms\tBilled Duration: 60 ms\tMemory Size: 128 MB\tMax Memory Used: 45 MB\tInit Duration: 47.10 ms\t",
		"END RequestId: r2",
		"REPORT RequestId: r2\tDuration: 3000.00 ms\tBilled Duration: 3000 ms\tMemory Size: 128 MB\tMax Memory Used: 50 MB\tStatus: timeout\t",
	} {
		f.logs.Append("hello", stream, now.Add(time.Duration(i)*time.Millisecond), line)
	}
	f.logs.Append("hello", stream, now.Add(-2*time.Hour), "REPORT RequestId: old\tDuration: 1.00 ms\tBilled Duration: 1 ms\tMemory Size: 128 MB\tMax Memory Used: 45 MB\t")
	rec := get(t, f.console(nil), Path+"/functions/hello")
	if rec.Code != http.StatusOK {
		t.Fatalf("%d\n%s", rec.Code, rec.Body)
	}
	body := rec.Body.String()
	table := regexp.MustCompile(`(?s)<table id="invocations">.*?</table>`).FindString(body)
	rows := strings.Split(table, "<tr>")[2:] // after the header row
	if len(rows) != 2 {
		t.Fatalf("want 2 invocations (the 2 h old one is outside the window), got %d:\n%s", len(rows), table)
	}
	// Newest first.
	for _, want := range []string{"<code>r2</code>", "3000.00 ms", "50 MB", "result-timeout"} {
		if !strings.Contains(rows[0], want) {
			t.Errorf("first row lacks %q:\n%s", want, rows[0])
		}
	}
	for _, want := range []string{"<code>r1</code>", "12.34 ms", "60 ms", "45 MB", "47.10 ms", "result-completed"} {
		if !strings.Contains(rows[1], want) {
			t.Errorf("second row lacks %q:\n%s", want, rows[1])
		}
	}
	for _, want := range []string{"<code>/aws/lambda/hello</code>", `data-src="/_sluice/console/functions/hello/tail"`, "index.handler"} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if rec := get(t, f.console(nil), Path+"/functions/nope"); rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), "Function not found: nope.") {
		t.Errorf("unknown function: %d\n%s", rec.Code, rec.Body)
	}
}

func TestParseReport(t *testing.T) {
	tests := []struct {
		line string
		want invocation
		ok   bool
	}{
		{"REPORT RequestId: a\tDuration: 1.50 ms\tBilled Duration: 2 ms\tMemory Size: 128 MB\tMax Memory Used: 7 MB\t",
			invocation{RequestID: "a", DurationMs: 1.5, BilledMs: 2, MaxMemoryMB: 7, HasMaxMemory: true}, true},
		{"REPORT RequestId: b\tDuration: 0.00 ms\tBilled Duration: 0 ms\tMemory Size: 128 MB\tMax Memory Used: 0 MB\tStatus: error\tError Type: Runtime.ExitError\t",
			invocation{RequestID: "b", HasMaxMemory: true, Status: "error", ErrorType: "Runtime.ExitError"}, true},
		{`{"time":"2026-01-02T03:04:05.000Z","type":"platform.report","record":{"requestId":"c","metrics":{"durationMs":4.25,"billedDurationMs":90,"memorySizeMB":128,"maxMemoryUsedMB":30,"initDurationMs":85.5},"status":"success"}}`,
			invocation{RequestID: "c", DurationMs: 4.25, BilledMs: 90, MaxMemoryMB: 30, HasMaxMemory: true, InitMs: 85.5, ColdStart: true, Status: "success"}, true},
		{`{"time":"2026-01-02T03:04:05.000Z","type":"platform.start","record":{"requestId":"c"}}`, invocation{}, false},
		{"END RequestId: a", invocation{}, false},
		{"2026-01-02T03:04:05Z\tREPORT RequestId: x", invocation{}, false},
	}
	for _, tt := range tests {
		got, ok := parseReport(tt.line)
		if ok != tt.ok || got != tt.want {
			t.Errorf("parseReport(%q) = %+v, %v; want %+v, %v", tt.line, got, ok, tt.want, tt.ok)
		}
	}
	if r := (invocation{Status: "success"}).Result(); r != "completed" {
		t.Errorf("success: %q", r)
	}
}

func TestAPIsPage(t *testing.T) {
	f := newFixture(t)
	putJSON(t, f.store, model.Key(model.RestAPIPrefix, "rest1"), model.RestAPI{ID: "rest1", Name: "email"})
	putJSON(t, f.store, model.Key(model.RestStagePrefix, "rest1", "v1"), model.Stage{StageName: "v1", DeploymentID: "dep1"})
	putJSON(t, f.store, model.Key(model.RestSnapshotPrefix, "rest1", "dep1"), model.RestSnapshot{Resources: []*model.Resource{
		{ID: "r", Path: "/"},
		{ID: "e", Path: "/email/{proxy+}", ResourceMethods: map[string]*model.Method{"POST": {}, "ANY": {}}},
	}})
	putJSON(t, f.store, model.Key(model.RestAPIPrefix, "priv1"), model.RestAPI{ID: "priv1", Name: "internal",
		EndpointConfiguration: &model.EndpointConfiguration{Types: []string{"PRIVATE"}}})
	putJSON(t, f.store, model.Key(model.RestStagePrefix, "priv1", "prod"), model.Stage{StageName: "prod"})
	putJSON(t, f.store, model.Key(model.HTTPAPIPrefix, "http1"), model.HTTPAPI{APIID: "http1", Name: "hello", ProtocolType: "HTTP"})
	putJSON(t, f.store, model.Key(model.HTTPStagePrefix, "http1", "$default"), model.Stage2{StageName: "$default", DeploymentID: "d1"})
	putJSON(t, f.store, model.Key(model.HTTPStagePrefix, "http1", "dev"), model.Stage2{StageName: "dev"})
	putJSON(t, f.store, model.Key(model.HTTPSnapshotPrefix, "http1", "d1"), model.HTTPSnapshot{Routes: []*model.Route{{RouteKey: "GET /items"}, {RouteKey: "$default"}}})

	body := get(t, f.console(nil), Path+"/apis").Body.String()
	for _, want := range []string{
		// REST stage v1: both forms, and the deployed methods.
		`<code class="url">http://rest1.execute-api.localhost:4566/v1/</code>`,
		`<code class="url">http://127.0.0.1:4566/restapis/rest1/v1/_user_request_/</code>`,
		`data-copy="http://rest1.execute-api.localhost:4566/v1/"`,
		"<li><code>ANY /email/{proxy&#43;}</code></li><li><code>POST /email/{proxy&#43;}</code></li>",
		// HTTP $default at the Host's root, a named stage under its name.
		`<code class="url">http://http1.execute-api.localhost:4566/</code>`,
		`<code class="url">http://127.0.0.1:4566/restapis/http1/$default/_user_request_/</code>`,
		`<code class="url">http://http1.execute-api.localhost:4566/dev/</code>`,
		"<li><code>$default</code></li><li><code>GET /items</code></li>",
		"not deployed",
		"PRIVATE: served only on --private-listen endpoints",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("APIs page lacks %s", want)
		}
	}
	if strings.Contains(body, "priv1.execute-api") {
		t.Errorf("a PRIVATE API shows public invoke URLs")
	}
}

func TestMetricsPage(t *testing.T) {
	f := newFixture(t)
	f.metrics.ObserveInvoke("hello", metrics.InvokeOK, 4*time.Millisecond)
	f.metrics.ObserveInvoke("hello", metrics.InvokeOK, 8*time.Millisecond)
	f.metrics.ObserveInvoke("other", metrics.InvokeOK, 1*time.Millisecond)
	f.metrics.ObserveColdStart("hello", 50*time.Millisecond)
	f.metrics.ObserveRequest("api1", "$default", "GET /items", 200, 2*time.Millisecond, time.Millisecond)
	f.metrics.ObserveRequest("api1", "$default", "GET /items", 502, 4*time.Millisecond, 3*time.Millisecond)
	body := get(t, f.console(nil), Path+"/metrics").Body.String()
	lambdaTable := regexp.MustCompile(`(?s)<table id="lambda-metrics">.*?</table>`).FindString(body)
	for _, want := range []string{`<rect width="120" height="10"></rect></svg> 2`, `<rect width="60" height="10"></rect></svg> 1`, "6.00 ms"} {
		if !strings.Contains(lambdaTable, want) {
			t.Errorf("Lambda table lacks %q:\n%s", want, lambdaTable)
		}
	}
	apiTable := regexp.MustCompile(`(?s)<table id="api-metrics">.*?</table>`).FindString(body)
	for _, want := range []string{"<code>GET /items</code>", "200 ×1, 502 ×1", `<td class="num bad">1</td>`, "3.00 ms", "2.00 ms"} {
		if !strings.Contains(apiTable, want) {
			t.Errorf("API table lacks %q:\n%s", want, apiTable)
		}
	}
	off := get(t, f.console(func(o *Options) { o.Metrics = nil }), Path+"/metrics").Body.String()
	if !strings.Contains(off, "Metrics are off") {
		t.Errorf("metrics off:\n%s", off)
	}
}

func TestStatic(t *testing.T) {
	c := newFixture(t).console(nil)
	for path, ct := range map[string]string{"console.css": "text/css; charset=utf-8", "console.js": "text/javascript; charset=utf-8"} {
		rec := get(t, c, Path+"/static/"+path)
		if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != ct {
			t.Errorf("%s: %d %q", path, rec.Code, rec.Header().Get("Content-Type"))
		}
		checkSecurityHeaders(t, rec)
	}
}

// sseEvent is one parsed server-sent event.
type sseEvent struct {
	id, event string
	data      tailEvent
}

// readEvent reads the next event with data, skipping comments and field-only
// blocks ("retry:"), and checks its framing.
func readEvent(t *testing.T, br *bufio.Reader) sseEvent {
	t.Helper()
	for {
		var ev sseEvent
		var data string
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("read event: %v", err)
			}
			line = strings.TrimSuffix(line, "\n")
			if line == "" {
				break
			}
			k, v, _ := strings.Cut(line, ": ")
			switch k {
			case "id":
				ev.id = v
			case "event":
				ev.event = v
			case "data":
				if data != "" {
					t.Fatalf("an event with two data lines: %q", line)
				}
				data = v
			}
		}
		if data == "" {
			continue
		}
		if err := json.Unmarshal([]byte(data), &ev.data); err != nil {
			t.Fatalf("data %q: %v", data, err)
		}
		return ev
	}
}

func TestTail(t *testing.T) {
	f := newFixture(t)
	stream := "2026/01/02/[$LATEST]abc"
	f.logs.Append("hello", stream, time.Now().Add(-time.Hour), "too old for the backlog")
	f.logs.Append("hello", stream, time.Now(), "first\nwith a newline\n\nid: forged")
	srv := httptest.NewServer(f.console(nil))
	defer srv.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	open := func(lastID string) (*http.Response, *bufio.Reader) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+Path+"/functions/hello/tail", nil)
		if lastID != "" {
			req.Header.Set("Last-Event-ID", lastID)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream; charset=utf-8" {
			t.Fatalf("tail: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		if resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("Cache-Control %q", resp.Header.Get("Cache-Control"))
		}
		br := bufio.NewReader(resp.Body)
		if first, _ := br.ReadString('\n'); first != "retry: 2000\n" {
			t.Fatalf("stream starts with %q", first)
		}
		return resp, br
	}
	resp, br := open("")
	ev := readEvent(t, br)
	if ev.event != "log" || ev.data.Message != "first\nwith a newline\n\nid: forged" || ev.data.Stream != stream || len(ev.id) != 26 {
		t.Fatalf("first event: %+v", ev)
	}
	// Live: appended after the stream opened.
	f.logs.Append("hello", stream, time.Now(), "second")
	ev2 := readEvent(t, br)
	if ev2.data.Message != "second" || ev2.id <= ev.id {
		t.Fatalf("live event: %+v (after id %s)", ev2, ev.id)
	}
	resp.Body.Close()

	// A reconnect resumes after the last id the browser saw.
	f.logs.Append("hello", stream, time.Now(), "third")
	resp, br = open(ev.id)
	defer resp.Body.Close()
	if got := readEvent(t, br); got.data.Message != "second" {
		t.Fatalf("resumed at %+v, want second", got)
	}
	if got := readEvent(t, br); got.data.Message != "third" {
		t.Fatalf("then %+v, want third", got)
	}

	rec := get(t, f.console(nil), Path+"/functions/nope/tail")
	if rec.Code != http.StatusNotFound {
		t.Errorf("unknown function's tail: %d", rec.Code)
	}
}

// A node that starts draining ends its live tails, so shutdown does not wait for
// an open console tab.
func TestTailEndsOnDrain(t *testing.T) {
	f := newFixture(t)
	var draining atomic.Bool
	srv := httptest.NewServer(f.console(func(o *Options) { o.Draining = draining.Load }))
	defer srv.Close()
	resp, err := http.Get(srv.URL + Path + "/functions/hello/tail")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	if first, _ := br.ReadString('\n'); first != "retry: 2000\n" {
		t.Fatalf("stream starts with %q", first)
	}
	draining.Store(true)
	done := make(chan error, 1)
	go func() { _, err := io.Copy(io.Discard, br); done <- err }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("stream ended with %v, want EOF", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the tail did not end when the node started draining")
	}
}
