package shims

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeRuntimeAPI is a minimal Lambda Runtime API: it hands out queued events on
// GET /invocation/next and records what the client posts back.
type fakeRuntimeAPI struct {
	srv     *httptest.Server
	events  chan fakeEvent
	results chan apiPost
	gone    chan struct{} // closed by goAway
}

type fakeEvent struct {
	id      string
	payload string
	headers map[string]string // extra Lambda-Runtime-* headers
}

// apiPost is one POST the client made.
type apiPost struct {
	kind      string // "response", "error", "init-error"
	requestID string
	body      []byte
	header    http.Header
	trailer   http.Header // set after the body: a streamed response's error trailers
}

func newFakeRuntimeAPI(t *testing.T) *fakeRuntimeAPI {
	t.Helper()
	f := &fakeRuntimeAPI{events: make(chan fakeEvent, 16), results: make(chan apiPost, 16), gone: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", func(w http.ResponseWriter, r *http.Request) {
		select {
		case ev := <-f.events:
			h := w.Header()
			h.Set("Content-Type", "application/json")
			h.Set("Lambda-Runtime-Aws-Request-Id", ev.id)
			h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(time.Now().Add(time.Minute).UnixMilli(), 10))
			h.Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:000000000000:function:fn")
			h.Set("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000;Sampled=0")
			for k, v := range ev.headers {
				h.Set(k, v)
			}
			io.WriteString(w, ev.payload)
		case <-r.Context().Done():
		case <-f.gone:
			panic(http.ErrAbortHandler) // drop the connection without an answer
		}
	})
	record := func(kind string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			f.results <- apiPost{kind: kind, requestID: r.PathValue("id"), body: body, header: r.Header.Clone(), trailer: r.Trailer.Clone()}
			w.WriteHeader(http.StatusAccepted)
			io.WriteString(w, `{"status":"OK"}`)
		}
	}
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", record("response"))
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", record("error"))
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", record("init-error"))
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

// goAway takes the Runtime API down as a sandbox teardown does: a pending or later
// /next poll has its connection dropped, and the server is closed. Aborting the
// poll matters: a poll that reaches the server after CloseClientConnections would
// otherwise keep Close waiting on a handler that waits on the client.
func (f *fakeRuntimeAPI) goAway() {
	close(f.gone)
	f.srv.CloseClientConnections()
	f.srv.Close()
}

func (f *fakeRuntimeAPI) addr() string { return strings.TrimPrefix(f.srv.URL, "http://") }

func (f *fakeRuntimeAPI) invoke(id, payload string) { f.events <- fakeEvent{id: id, payload: payload} }

// next waits for the client's next POST. The bound only keeps a broken client
// from hanging the test run; it is not a timing assertion.
func (f *fakeRuntimeAPI) next(t *testing.T, p *instance) apiPost {
	t.Helper()
	select {
	case r := <-f.results:
		return r
	case <-time.After(30 * time.Second):
		t.Fatalf("no post from the runtime client\nstdout:\n%s\nstderr:\n%s", p.stdout.String(), p.stderr.String())
		return apiPost{}
	}
}

// syncBuffer is a bytes.Buffer safe for a writer goroutine and test readers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// instance is a running runtime client process.
type instance struct {
	cmd    *exec.Cmd
	stdout *syncBuffer
	stderr *syncBuffer
	done   chan struct{}
	err    error
}

func (p *instance) wait(t *testing.T) error {
	t.Helper()
	select {
	case <-p.done:
		return p.err
	case <-time.After(30 * time.Second):
		t.Fatalf("runtime client did not exit\nstdout:\n%s\nstderr:\n%s", p.stdout.String(), p.stderr.String())
		return nil
	}
}

func installed(t *testing.T) *Installed {
	t.Helper()
	in, err := Install(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// start runs the client for runtime with the function code in codeDir against a
// new fake Runtime API, as the pool does: cwd and LAMBDA_TASK_ROOT are the code dir.
func start(t *testing.T, in *Installed, runtime, codeDir, handler string, env ...string) (*fakeRuntimeAPI, *instance) {
	t.Helper()
	api := newFakeRuntimeAPI(t)
	argv, err := in.Command(runtime)
	if err != nil {
		t.Skipf("runtime %s not available: %v", runtime, err)
	}
	codeDir, err = filepath.Abs(codeDir)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = codeDir
	cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"),
		"AWS_LAMBDA_RUNTIME_API=" + api.addr(),
		"_HANDLER=" + handler,
		"LAMBDA_TASK_ROOT=" + codeDir,
		"AWS_LAMBDA_FUNCTION_NAME=fn",
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256",
		"AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/fn",
		"AWS_LAMBDA_LOG_STREAM_NAME=2024/01/01/[$LATEST]abcdef",
		"AWS_REGION=us-east-1",
		"TZ=:UTC",
	}, env...)
	p := &instance{cmd: cmd, stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.stdout, p.stderr
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		cancel()
		<-p.done
	})
	return api, p
}

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	return -1
}

// decodeErrorBody decodes an error POST's JSON body into e, checks that the
// Lambda-Runtime-Function-Error-Type header repeats the body's errorType, and
// returns the body's keys, in order.
func decodeErrorBody(t *testing.T, p apiPost, e any) (keys []string) {
	t.Helper()
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(p.body, &fields); err != nil {
		t.Fatalf("error body is not a JSON object: %v: %s", err, p.body)
	}
	json.Unmarshal(p.body, e)
	var errorType string
	json.Unmarshal(fields["errorType"], &errorType)
	if got := p.header.Get("Lambda-Runtime-Function-Error-Type"); got != errorType {
		t.Errorf("Lambda-Runtime-Function-Error-Type = %q, want %q", got, errorType)
	}
	return slices.Sorted(maps.Keys(fields))
}

// decode unmarshals a posted body into a generic value for comparison.
func decode(t *testing.T, body []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("posted body is not JSON: %v: %q", err, body)
	}
	return v
}

func jsonEqual(t *testing.T, got []byte, want string) {
	t.Helper()
	g, w := decode(t, got), decode(t, []byte(want))
	if !reflect.DeepEqual(g, w) {
		t.Errorf("body = %s\nwant   %s", got, want)
	}
}

// waitFor polls the instance's stdout until cond holds: the pipe is copied by
// another goroutine, so a line may land just after the POST that followed it.
func waitFor(t *testing.T, p *instance, cond func(stdout string) bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond(p.stdout.String()) {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met; stdout:\n%s\nstderr:\n%s", p.stdout, p.stderr)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
