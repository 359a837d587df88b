package runtime

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Code zips built once by TestMain.
var fixtures struct {
	dir         string
	gofn        codeZip // aws-lambda-go bootstrap, mode 0755
	noexec      codeZip // the same bootstrap, mode 0644
	nobootstrap codeZip // no bootstrap at all
	initerr     codeZip // a bootstrap that posts /init/error
	inithang    codeZip // a bootstrap that never calls /next
}

type codeZip struct{ path, sha string }

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sluice-runtime-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := func() int {
		defer os.RemoveAll(dir)
		if err := buildFixtures(dir); err != nil {
			fmt.Fprintln(os.Stderr, "build fixtures:", err)
			return 1
		}
		return m.Run()
	}()
	os.Exit(code)
}

func buildFixtures(dir string) error {
	fixtures.dir = dir
	bin := filepath.Join(dir, "gofn")
	cmd := exec.Command("go", "build", "-o", bin, "./testdata/gofn")
	cmd.Env = append(os.Environ(), "GOFLAGS=-buildvcs=false", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %v\n%s", err, out)
	}
	gofn, err := os.ReadFile(bin)
	if err != nil {
		return err
	}
	initerr, err := os.ReadFile("testdata/initerr/bootstrap")
	if err != nil {
		return err
	}
	inithang, err := os.ReadFile("testdata/inithang/bootstrap")
	if err != nil {
		return err
	}
	for _, z := range []struct {
		dst   *codeZip
		name  string
		files []zipFile
	}{
		{&fixtures.gofn, "gofn.zip", []zipFile{{"bootstrap", gofn, 0o755}}},
		{&fixtures.noexec, "noexec.zip", []zipFile{{"bootstrap", gofn, 0o644}}},
		{&fixtures.nobootstrap, "nobootstrap.zip", []zipFile{{"index.js", []byte("x"), 0o644}}},
		{&fixtures.initerr, "initerr.zip", []zipFile{{"bootstrap", initerr, 0o755}}},
		{&fixtures.inithang, "inithang.zip", []zipFile{{"bootstrap", inithang, 0o755}}},
	} {
		p := filepath.Join(dir, z.name)
		sha, err := writeZip(p, z.files)
		if err != nil {
			return err
		}
		*z.dst = codeZip{p, sha}
	}
	return nil
}

type zipFile struct {
	name string
	data []byte
	mode os.FileMode
}

func writeZip(path string, files []zipFile) (string, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		h := &zip.FileHeader{Name: f.name, Method: zip.Deflate}
		h.SetMode(f.mode)
		w, err := zw.CreateHeader(h)
		if err != nil {
			return "", err
		}
		if _, err := w.Write(f.data); err != nil {
			return "", err
		}
	}
	if err := zw.Close(); err != nil {
		return "", err
	}
	sum := sha256.Sum256(buf.Bytes())
	return hex.EncodeToString(sum[:]), os.WriteFile(path, buf.Bytes(), 0o644)
}

// memSink records log lines.
type memSink struct {
	mu    sync.Mutex
	lines []string
}

func (s *memSink) Append(function, stream string, t time.Time, line string) {
	s.mu.Lock()
	s.lines = append(s.lines, function+" "+stream+" "+line)
	s.mu.Unlock()
}

func (s *memSink) snapshot() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.lines...)
}

func newTestPool(t testing.TB, mutate func(*Options)) (*Pool, *memSink) {
	t.Helper()
	sink := &memSink{}
	opts := Options{
		DataDir:      filepath.Join(fixtures.dir, "data"), // shared: code is extracted once per zip
		MaxInstances: 8,
		QueueTimeout: 10 * time.Second,
		Region:       "eu-west-1",
		AccountID:    "123456789012",
		EndpointURL:  "http://127.0.0.1:4566",
		Credentials: func(*FunctionSpec) (Credentials, error) {
			return Credentials{AccessKeyID: "AKIDTEST", SecretAccessKey: "secret"}, nil
		},
		Logs:   sink,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		// The pool's mechanics are tested on host pids (an instance reports its own
		// pid, 1 inside a PID namespace); sandbox_test.go covers the sandbox.
		NoSandbox: true,
	}
	if mutate != nil {
		mutate(&opts)
	}
	p, err := NewPool(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p, sink
}

func goSpec(name string, code codeZip) *FunctionSpec {
	return &FunctionSpec{
		Key:          name + ":$LATEST:1",
		FunctionName: name,
		FunctionARN:  "arn:aws:lambda:eu-west-1:123456789012:function:" + name,
		Version:      "$LATEST",
		Runtime:      "provided.al2023",
		Handler:      "bootstrap",
		CodeZip:      code.path,
		CodeSHA256:   code.sha,
		MemoryMB:     128,
		Timeout:      5 * time.Second,
	}
}

type fnReply struct {
	Op        string            `json:"op"`
	Data      string            `json:"data"`
	PID       int               `json:"pid"`
	RequestID string            `json:"requestId"`
	ARN       string            `json:"arn"`
	Deadline  int64             `json:"deadlineMs"`
	Env       map[string]string `json:"env"`
	Value     string            `json:"value"`
	Custom    map[string]string `json:"custom"`
	Cognito   string            `json:"cognito"`
	Trace     string            `json:"trace"`
}

func invoke(t testing.TB, p *Pool, spec *FunctionSpec, event string, tail bool) *Result {
	t.Helper()
	res, err := p.Invoke(context.Background(), spec, Invocation{Payload: []byte(event), LogTail: tail})
	if err != nil {
		t.Fatalf("Invoke(%s): %v", event, err)
	}
	return res
}

func decode(t testing.TB, res *Result) fnReply {
	t.Helper()
	if res.FunctionError != "" {
		t.Fatalf("FunctionError %q, payload %s", res.FunctionError, res.Payload)
	}
	var r fnReply
	if err := json.Unmarshal(res.Payload, &r); err != nil {
		t.Fatalf("payload %q: %v", res.Payload, err)
	}
	return r
}

func TestColdThenWarmReusesInstance(t *testing.T) {
	p, _ := newTestPool(t, nil)
	spec := goSpec("echo", fixtures.gofn)

	first := invoke(t, p, spec, `{"op":"echo","data":"one"}`, true)
	r1 := decode(t, first)
	if r1.Data != "one" || r1.RequestID != first.RequestID || r1.ARN != spec.FunctionARN {
		t.Fatalf("first reply %+v (request id %s)", r1, first.RequestID)
	}
	if !bytes.Contains(first.LogTail, []byte("Init Duration: ")) {
		t.Errorf("cold start REPORT lacks Init Duration:\n%s", first.LogTail)
	}

	second := invoke(t, p, spec, `{"op":"echo","data":"two"}`, true)
	r2 := decode(t, second)
	if r2.PID != r1.PID {
		t.Errorf("warm invoke ran in pid %d, cold one in %d: instance not reused", r2.PID, r1.PID)
	}
	if bytes.Contains(second.LogTail, []byte("Init Duration")) {
		t.Errorf("warm REPORT has Init Duration:\n%s", second.LogTail)
	}
	if s := p.Stats(); s.Instances != 1 || s.Idle != 1 {
		t.Errorf("Stats = %+v, want one idle instance", s)
	}
}

func TestLogLinesAndReport(t *testing.T) {
	p, sink := newTestPool(t, nil)
	spec := goSpec("logger", fixtures.gofn)
	res, err := p.Invoke(context.Background(), spec, Invocation{
		RequestID: "11111111-2222-3333-4444-555555555555",
		Payload:   []byte(`{"op":"log","lines":["out one","err two","out three"]}`),
		LogTail:   true,
	})
	if err != nil {
		t.Fatal(err)
	}
	decode(t, res)
	lines := strings.Split(strings.TrimSuffix(string(res.LogTail), "\n"), "\n")
	// Init-phase output (none for this fixture) may precede START.
	var i int
	for i < len(lines) && !strings.HasPrefix(lines[i], "START ") {
		i++
	}
	lines = lines[i:]
	if len(lines) != 6 {
		t.Fatalf("tail has %d lines, want 6:\n%s", len(lines), res.LogTail)
	}
	want := []string{
		"START RequestId: 11111111-2222-3333-4444-555555555555 Version: $LATEST",
		"out one", "err two", "out three",
		"END RequestId: 11111111-2222-3333-4444-555555555555",
	}
	for i, w := range want {
		if lines[i] != w {
			t.Errorf("line %d = %q, want %q", i, lines[i], w)
		}
	}
	report := lines[5]
	for _, part := range []string{
		"REPORT RequestId: 11111111-2222-3333-4444-555555555555\tDuration: ",
		" ms\tBilled Duration: ", " ms\tMemory Size: 128 MB\tMax Memory Used: ", " MB\tInit Duration: ",
	} {
		if !strings.Contains(report, part) {
			t.Errorf("REPORT %q lacks %q", report, part)
		}
	}
	if strings.Contains(report, "Max Memory Used: 0 MB") {
		t.Errorf("REPORT has no memory figure: %q", report)
	}
	// The sink saw the same lines on the AWS-style stream of the function.
	got := sink.snapshot()
	streamPrefix := "logger " + time.Now().UTC().Format("2006/01/02") + "/[$LATEST]"
	var seen int
	for _, l := range got {
		if !strings.HasPrefix(l, streamPrefix) {
			t.Errorf("sink line %q not on a stream %q...", l, streamPrefix)
		}
		if strings.HasSuffix(l, " out one") || strings.HasSuffix(l, " err two") {
			seen++
		}
	}
	if seen != 2 {
		t.Errorf("sink lines: %q", got)
	}
}

func TestConcurrentInvokesShareBoundedInstances(t *testing.T) {
	const maxInst = 4
	p, _ := newTestPool(t, func(o *Options) { o.MaxInstances = maxInst })
	spec := goSpec("busy", fixtures.gofn)
	var wg sync.WaitGroup
	pids := make(chan int, 32)
	errs := make(chan error, 32)
	for i := 0; i < 32; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := p.Invoke(context.Background(), spec, Invocation{Payload: []byte(`{"op":"sleep","ms":30}`)})
			if err != nil {
				errs <- err
				return
			}
			var r fnReply
			if res.FunctionError != "" || json.Unmarshal(res.Payload, &r) != nil {
				errs <- fmt.Errorf("bad result %s %s", res.FunctionError, res.Payload)
				return
			}
			pids <- r.PID
		}()
	}
	wg.Wait()
	close(errs)
	close(pids)
	for err := range errs {
		t.Error(err)
	}
	distinct := map[int]bool{}
	for pid := range pids {
		distinct[pid] = true
	}
	if len(distinct) == 0 || len(distinct) > maxInst {
		t.Errorf("%d distinct instances served 32 invokes, want 1..%d", len(distinct), maxInst)
	}
	if s := p.Stats(); s.Instances > maxInst || s.Busy != 0 {
		t.Errorf("Stats = %+v", s)
	}
}

func TestReservedConcurrency(t *testing.T) {
	p, _ := newTestPool(t, func(o *Options) { o.QueueTimeout = 200 * time.Millisecond })
	zero, one := 0, 1

	spec0 := goSpec("reserved0", fixtures.gofn)
	spec0.ReservedConcurrency = &zero
	if _, err := p.Invoke(context.Background(), spec0, Invocation{Payload: []byte(`{"op":"echo"}`)}); !errors.Is(err, ErrThrottled) {
		t.Errorf("reserved 0: err = %v, want ErrThrottled", err)
	}

	spec1 := goSpec("reserved1", fixtures.gofn)
	spec1.ReservedConcurrency = &one
	slow := make(chan error, 1)
	go func() {
		_, err := p.Invoke(context.Background(), spec1, Invocation{Payload: []byte(`{"op":"sleep","ms":1500}`)})
		slow <- err
	}()
	// Wait until the slow call holds the only instance.
	for deadline := time.Now().Add(5 * time.Second); p.Stats().Busy == 0; {
		if time.Now().After(deadline) {
			t.Fatal("slow invocation never started")
		}
		time.Sleep(5 * time.Millisecond)
	}
	start := time.Now()
	_, err := p.Invoke(context.Background(), spec1, Invocation{Payload: []byte(`{"op":"echo"}`)})
	if !errors.Is(err, ErrThrottled) {
		t.Fatalf("second concurrent call: err = %v, want ErrThrottled", err)
	}
	if waited := time.Since(start); waited < 150*time.Millisecond {
		t.Errorf("throttled after %v, want it to wait QueueTimeout first", waited)
	}
	if err := <-slow; err != nil {
		t.Fatal(err)
	}
	// Once the instance is free the function runs again.
	decode(t, invoke(t, p, spec1, `{"op":"echo"}`, false))
}

func TestQueuedInvokeGetsFreedInstance(t *testing.T) {
	p, _ := newTestPool(t, func(o *Options) { o.QueueTimeout = 5 * time.Second })
	one := 1
	spec := goSpec("queued", fixtures.gofn)
	spec.ReservedConcurrency = &one
	var wg sync.WaitGroup
	results := make([]int, 3)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = decode(t, invoke(t, p, spec, `{"op":"sleep","ms":100}`, false)).PID
		}()
	}
	wg.Wait()
	if results[0] != results[1] || results[1] != results[2] {
		t.Errorf("reserved concurrency 1 used several instances: %v", results)
	}
}

func TestTimeoutKillsAndReplaces(t *testing.T) {
	p, sink := newTestPool(t, nil)
	spec := goSpec("slow", fixtures.gofn)
	spec.Timeout = 500 * time.Millisecond
	warm := decode(t, invoke(t, p, spec, `{"op":"echo"}`, false))

	res, err := p.Invoke(context.Background(), spec, Invocation{RequestID: "req-timeout", Payload: []byte(`{"op":"sleep","ms":5000}`), LogTail: true})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"errorType":"Sandbox.Timedout","errorMessage":"RequestId: req-timeout Error: Task timed out after 0.50 seconds"}`
	if res.FunctionError != "Unhandled" || string(res.Payload) != want {
		t.Fatalf("timeout result = %q %s, want Unhandled %s", res.FunctionError, res.Payload, want)
	}
	if !bytes.Contains(res.LogTail, []byte(" req-timeout Task timed out after 0.50 seconds")) ||
		!bytes.Contains(res.LogTail, []byte("\tStatus: timeout\t")) {
		t.Errorf("timeout log tail:\n%s", res.LogTail)
	}
	if timedOut, end := bytes.Index(res.LogTail, []byte("Task timed out")), bytes.Index(res.LogTail, []byte("END RequestId: req-timeout")); timedOut < 0 || end < timedOut {
		t.Errorf("the timeout line must come before END:\n%s", res.LogTail)
	}
	if m := regexp.MustCompile(`REPORT RequestId: req-timeout\tDuration: ([0-9.]+) ms`).FindSubmatch(res.LogTail); m == nil {
		t.Errorf("no REPORT Duration in:\n%s", res.LogTail)
	} else if d, _ := strconv.ParseFloat(string(m[1]), 64); d < 500 {
		t.Errorf("REPORT Duration %v ms, want the elapsed time (at least the 500 ms timeout)", d)
	}
	waitDead(t, warm.PID)
	next := decode(t, invoke(t, p, spec, `{"op":"echo"}`, false))
	if next.PID == warm.PID {
		t.Error("next invoke reused the killed instance")
	}
	_ = sink
}

func TestInitThatNeverFinishesTimesOut(t *testing.T) {
	p, _ := newTestPool(t, nil)
	p.initTimeout = 300 * time.Millisecond
	spec := goSpec("hang", fixtures.inithang)
	spec.Timeout = 200 * time.Millisecond
	res, err := p.Invoke(context.Background(), spec, Invocation{RequestID: "req-hang", LogTail: true})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"errorType":"Sandbox.Timedout","errorMessage":"RequestId: req-hang Error: Task timed out after 0.20 seconds"}`
	if res.FunctionError != "Unhandled" || string(res.Payload) != want {
		t.Fatalf("got %q %s", res.FunctionError, res.Payload)
	}
	if !bytes.Contains(res.LogTail, []byte("initializing forever\nSTART RequestId: req-hang")) {
		t.Errorf("log tail:\n%s", res.LogTail)
	}
	if s := p.Stats(); s.Instances != 0 {
		t.Errorf("hung instance kept: %+v", s)
	}
}

func TestExitIsRuntimeExitError(t *testing.T) {
	p, _ := newTestPool(t, nil)
	spec := goSpec("exiter", fixtures.gofn)
	res, err := p.Invoke(context.Background(), spec, Invocation{RequestID: "req-exit", Payload: []byte(`{"op":"exit","code":1}`)})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"errorType":"Runtime.ExitError","errorMessage":"RequestId: req-exit Error: Runtime exited with error: exit status 1"}`
	if res.FunctionError != "Unhandled" || string(res.Payload) != want {
		t.Fatalf("got %q %s, want %s", res.FunctionError, res.Payload, want)
	}
	decode(t, invoke(t, p, spec, `{"op":"echo"}`, false))
}

func TestHandlerErrorAndPanic(t *testing.T) {
	p, _ := newTestPool(t, nil)
	spec := goSpec("failing", fixtures.gofn)
	res := invoke(t, p, spec, `{"op":"error","data":"boom"}`, false)
	if res.FunctionError != "Unhandled" || string(res.Payload) != `{"errorMessage":"boom","errorType":"errorString"}` {
		t.Errorf("handler error: %q %s", res.FunctionError, res.Payload)
	}
	res = invoke(t, p, spec, `{"op":"panic","data":"kaboom"}`, false)
	if res.FunctionError != "Unhandled" || errorTypeOf(res.Payload, "") != "string" || !bytes.Contains(res.Payload, []byte("kaboom")) {
		t.Errorf("panic: %q %s", res.FunctionError, res.Payload)
	}
	// aws-lambda-go reports a panic with the panic value's type ("string") and exits; the pool must not hand the dead
	// instance the next event.
	// after reporting a panic; the pool must not hand the dead
	// instance the next event.
	for i := 0; i < 5; i++ {
		decode(t, invoke(t, p, spec, `{"op":"echo"}`, false))
	}
}

func TestInitErrors(t *testing.T) {
	p, _ := newTestPool(t, nil)
	tests := []struct {
		name string
		spec func() *FunctionSpec
		want string
	}{
		{"init error posted", func() *FunctionSpec { return goSpec("initerr", fixtures.initerr) },
			`{"errorMessage": "Unable to import module 'app': No module named 'app'", "errorType": "Runtime.ImportModuleError", "stackTrace": []}`},
		{"exit during init", func() *FunctionSpec {
			s := goSpec("initexit", fixtures.gofn)
			s.Environment = map[string]string{"GOFN_INIT": "exit"}
			return s
		}, `{"errorType":"Runtime.ExitError","errorMessage":"RequestId: req-1 Error: Runtime exited with error: exit status 3"}`},
		{"no bootstrap", func() *FunctionSpec { return goSpec("nobootstrap", fixtures.nobootstrap) },
			`{"errorType":"Runtime.InvalidEntrypoint","errorMessage":"RequestId: req-1 Error: Couldn't find valid bootstrap(s): [/var/task/bootstrap /opt/bootstrap]"}`},
		{"bootstrap not executable", func() *FunctionSpec { return goSpec("noexec", fixtures.noexec) },
			`{"errorType":"Runtime.InvalidEntrypoint","errorMessage":"RequestId: req-1 Error: fork/exec /var/task/bootstrap: permission denied"}`},
		{"unsupported runtime", func() *FunctionSpec {
			s := goSpec("java", fixtures.gofn)
			s.Runtime = "java21"
			return s
		}, `{"errorType":"Runtime.InvalidEntrypoint","errorMessage":"RequestId: req-1 Error: unsupported runtime \"java21\""}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := tt.spec()
			for i := 0; i < 2; i++ { // failed instances are discarded; a retry fails the same way
				res, err := p.Invoke(context.Background(), spec, Invocation{RequestID: "req-1", Payload: []byte(`{"op":"echo"}`), LogTail: true})
				if err != nil {
					t.Fatal(err)
				}
				if res.FunctionError != "Unhandled" || string(res.Payload) != tt.want {
					t.Fatalf("got %q %s\nwant Unhandled %s", res.FunctionError, res.Payload, tt.want)
				}
				if !bytes.Contains(res.LogTail, []byte("END RequestId: req-1\nREPORT RequestId: req-1\t")) {
					t.Errorf("log tail:\n%s", res.LogTail)
				}
			}
		})
	}
	if s := p.Stats(); s.Instances != 0 {
		t.Errorf("failed instances kept: %+v", s)
	}
}

func TestOversizedResponse(t *testing.T) {
	p, _ := newTestPool(t, nil)
	spec := goSpec("big", fixtures.gofn)
	ok := decode(t, invoke(t, p, spec, `{"op":"big","bytes":6000000}`, false))
	if len(ok.Data) != 6000000 {
		t.Fatalf("6 MB response came back with %d bytes", len(ok.Data))
	}
	res := invoke(t, p, spec, `{"op":"big","bytes":6291556}`, false)
	want := `{"errorMessage":"Response payload size exceeded maximum allowed payload size (6291556 bytes).","errorType":"Function.ResponseSizeTooLarge"}`
	if res.FunctionError != "Unhandled" || string(res.Payload) != want {
		t.Fatalf("got %q %.200s", res.FunctionError, res.Payload)
	}
	decode(t, invoke(t, p, spec, `{"op":"echo"}`, false))
}

func TestKeyChangeServesNewConfiguration(t *testing.T) {
	p, _ := newTestPool(t, nil)
	v1 := goSpec("versioned", fixtures.gofn)
	v1.Environment = map[string]string{"REV": "one"}
	r1 := decode(t, invoke(t, p, v1, `{"op":"getenv","key":"REV"}`, false))
	if r1.Value != "one" {
		t.Fatalf("REV = %q", r1.Value)
	}
	v2 := *v1
	v2.Key = "versioned:$LATEST:2"
	v2.Environment = map[string]string{"REV": "two"}
	r2 := decode(t, invoke(t, p, &v2, `{"op":"getenv","key":"REV"}`, false))
	if r2.Value != "two" || r2.PID == r1.PID {
		t.Fatalf("after key change: %+v (old pid %d)", r2, r1.PID)
	}
	waitDead(t, r1.PID)
	if s := p.Stats(); s.Instances != 1 {
		t.Errorf("Stats = %+v, want only the new instance", s)
	}
}

func TestDrainRetiresAFunction(t *testing.T) {
	p, _ := newTestPool(t, nil)
	spec := goSpec("drained", fixtures.gofn)
	other := goSpec("kept", fixtures.gofn)
	kept := decode(t, invoke(t, p, other, `{"op":"echo"}`, false)).PID
	busyDone := make(chan int, 1)
	go func() {
		busyDone <- decode(t, invoke(t, p, spec, `{"op":"sleep","ms":300}`, false)).PID
	}()
	for deadline := time.Now().Add(5 * time.Second); p.FunctionStats()["drained"].Busy != 1; {
		if time.Now().After(deadline) {
			t.Fatalf("busy invocation never started: %+v", p.FunctionStats())
		}
		time.Sleep(5 * time.Millisecond)
	}
	idle := decode(t, invoke(t, p, spec, `{"op":"echo"}`, false)).PID // a second instance, now idle
	p.Drain("drained")
	waitDead(t, idle)
	busy := <-busyDone // the busy invocation finishes normally, then its instance goes
	waitDead(t, busy)
	if !processAlive(kept) {
		t.Error("Drain killed another function's instance")
	}
	if st := p.FunctionStats(); st["drained"].Instances != 0 || st["kept"].Instances != 1 {
		t.Errorf("FunctionStats = %+v", st)
	}
	// The function still runs, on a new instance.
	if pid := decode(t, invoke(t, p, spec, `{"op":"echo"}`, false)).PID; pid == idle || pid == busy {
		t.Error("a drained instance served again")
	}
}

func TestCloseKillsEverything(t *testing.T) {
	p, _ := newTestPool(t, nil)
	var pids []int
	for i := 0; i < 3; i++ {
		pids = append(pids, decode(t, invoke(t, p, goSpec(fmt.Sprintf("fn%d", i), fixtures.gofn), `{"op":"echo"}`, false)).PID)
	}
	busy := make(chan error, 1)
	go func() {
		_, err := p.Invoke(context.Background(), goSpec("busy", fixtures.gofn), Invocation{Payload: []byte(`{"op":"sleep","ms":10000}`)})
		busy <- err
	}()
	for deadline := time.Now().Add(5 * time.Second); p.Stats().Busy == 0; {
		if time.Now().After(deadline) {
			t.Fatal("busy invocation never started")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-busy; !errors.Is(err, ErrClosed) {
		t.Errorf("busy Invoke during Close: %v, want ErrClosed", err)
	}
	for _, pid := range pids {
		if processAlive(pid) {
			t.Errorf("pid %d survived Close", pid)
		}
	}
	if _, err := p.Invoke(context.Background(), goSpec("fn0", fixtures.gofn), Invocation{}); !errors.Is(err, ErrClosed) {
		t.Errorf("Invoke after Close: %v", err)
	}
}

func TestIdleReaper(t *testing.T) {
	p, _ := newTestPool(t, func(o *Options) { o.IdleTimeout = 200 * time.Millisecond })
	pid := decode(t, invoke(t, p, goSpec("idle", fixtures.gofn), `{"op":"echo"}`, false)).PID
	waitDead(t, pid)
	for deadline := time.Now().Add(5 * time.Second); p.Stats().Instances != 0; {
		if time.Now().After(deadline) {
			t.Fatalf("idle instance not reaped: %+v", p.Stats())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestEnvironment(t *testing.T) {
	p, _ := newTestPool(t, nil)
	spec := goSpec("envfn", fixtures.gofn)
	spec.MemoryMB = 256
	spec.Environment = map[string]string{"AWS_REGION": "evil-1", "MY_VAR": "mine", "TZ": "Europe/Paris"}
	env := decode(t, invoke(t, p, spec, `{"op":"env"}`, false)).Env
	want := map[string]string{
		"AWS_LAMBDA_FUNCTION_NAME":        "envfn",
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
		"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/envfn",
		"AWS_LAMBDA_INITIALIZATION_TYPE":  "on-demand",
		"_HANDLER":                        "bootstrap",
		"AWS_REGION":                      "eu-west-1",
		"AWS_DEFAULT_REGION":              "eu-west-1",
		"AWS_ACCESS_KEY_ID":               "AKIDTEST",
		"AWS_SECRET_ACCESS_KEY":           "secret",
		"AWS_ENDPOINT_URL":                "http://127.0.0.1:4566",
		"MY_VAR":                          "mine",
		"TZ":                              "Europe/Paris",
		"LANG":                            "en_US.UTF-8",
	}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("%s = %q, want %q", k, env[k], v)
		}
	}
	if !strings.HasPrefix(env["AWS_LAMBDA_RUNTIME_API"], "127.0.0.1:") {
		t.Errorf("AWS_LAMBDA_RUNTIME_API = %q", env["AWS_LAMBDA_RUNTIME_API"])
	}
	if !strings.Contains(env["AWS_LAMBDA_LOG_STREAM_NAME"], "/[$LATEST]") {
		t.Errorf("AWS_LAMBDA_LOG_STREAM_NAME = %q", env["AWS_LAMBDA_LOG_STREAM_NAME"])
	}
	if fi, err := os.Stat(filepath.Join(env["LAMBDA_TASK_ROOT"], "bootstrap")); err != nil || fi.Mode().Perm()&0o100 == 0 {
		t.Errorf("LAMBDA_TASK_ROOT %q has no executable bootstrap: %v", env["LAMBDA_TASK_ROOT"], err)
	}
	if _, ok := env["AWS_EXECUTION_ENV"]; ok {
		t.Error("provided runtime has AWS_EXECUTION_ENV")
	}
}

func TestRuntimeAPIRejectsUnknownRequestID(t *testing.T) {
	p, _ := newTestPool(t, nil)
	spec := goSpec("api", fixtures.gofn)
	res := invoke(t, p, spec, `{"op":"getenv","key":"AWS_LAMBDA_RUNTIME_API"}`, false)
	api := decode(t, res).Value
	cases := []struct{ path, body string }{
		{"/2018-06-01/runtime/invocation/not-a-request/response", `{}`},
		{"/2018-06-01/runtime/invocation/" + res.RequestID + "/response", `{}`}, // stale: already answered
		{"/2018-06-01/runtime/invocation/not-a-request/error", `{"errorMessage":"x","errorType":"y"}`},
	}
	for _, c := range cases {
		resp, err := http.Post("http://"+api+c.path, "application/json", strings.NewReader(c.body))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || strings.TrimSpace(string(body)) != `{"errorMessage":"Invalid request ID","errorType":"InvalidRequestID"}` {
			t.Errorf("POST %s = %d %s", c.path, resp.StatusCode, body)
		}
	}
	// The instance still works.
	decode(t, invoke(t, p, spec, `{"op":"echo"}`, false))
}

func TestInvocationHeaders(t *testing.T) {
	p, _ := newTestPool(t, nil)
	spec := goSpec("hdr", fixtures.gofn)
	before := time.Now()
	res, err := p.Invoke(context.Background(), spec, Invocation{
		RequestID:          "rid-1",
		Payload:            []byte(`{"op":"echo"}`),
		InvokedFunctionARN: spec.FunctionARN + ":prod",
	})
	if err != nil {
		t.Fatal(err)
	}
	r := decode(t, res)
	if r.RequestID != "rid-1" || r.ARN != spec.FunctionARN+":prod" {
		t.Errorf("context: %+v", r)
	}
	dl := time.UnixMilli(r.Deadline)
	if dl.Before(before.Add(spec.Timeout-time.Second)) || dl.After(time.Now().Add(spec.Timeout+time.Second)) {
		t.Errorf("deadline %v not about Timeout from now", dl)
	}
}

func TestClientContextCognitoAndTrace(t *testing.T) {
	p, _ := newTestPool(t, nil)
	spec := goSpec("ctxfn", fixtures.gofn)
	res, err := p.Invoke(context.Background(), spec, Invocation{
		Payload:         []byte(`{"op":"ctx"}`),
		ClientContext:   `{"client":{"installation_id":"i-1"},"custom":{"k":"v"},"env":{}}`,
		CognitoIdentity: `{"cognitoIdentityId":"eu-west-1:abc","cognitoIdentityPoolId":"eu-west-1:pool"}`,
		TraceID:         "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
	})
	if err != nil {
		t.Fatal(err)
	}
	r := decode(t, res)
	if r.Custom["k"] != "v" || r.Cognito != "eu-west-1:abc" || r.Trace != "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1" {
		t.Errorf("context = %+v", r)
	}
	// Without a trace id the pool makes one, as Lambda always sends the header.
	r = decode(t, invoke(t, p, spec, `{"op":"ctx"}`, false))
	if !strings.HasPrefix(r.Trace, "Root=1-") {
		t.Errorf("generated trace = %q", r.Trace)
	}
}

func TestNodeLimitEvictsIdleInstances(t *testing.T) {
	p, _ := newTestPool(t, func(o *Options) { o.MaxInstances = 2; o.QueueTimeout = 100 * time.Millisecond })
	a := decode(t, invoke(t, p, goSpec("fa", fixtures.gofn), `{"op":"echo"}`, false)).PID
	decode(t, invoke(t, p, goSpec("fb", fixtures.gofn), `{"op":"echo"}`, false))
	// The node is full of idle instances: a third function evicts the least
	// recently used one instead of being throttled.
	decode(t, invoke(t, p, goSpec("fc", fixtures.gofn), `{"op":"echo"}`, false))
	waitDead(t, a)
	if s := p.Stats(); s.Instances != 2 {
		t.Errorf("Stats = %+v", s)
	}
	// With both instances busy the node is at its limit: throttled after QueueTimeout.
	var wg sync.WaitGroup
	for _, fn := range []string{"fb", "fc"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			invoke(t, p, goSpec(fn, fixtures.gofn), `{"op":"sleep","ms":800}`, false)
		}()
	}
	for deadline := time.Now().Add(5 * time.Second); p.Stats().Busy != 2; {
		if time.Now().After(deadline) {
			t.Fatalf("invocations did not start: %+v", p.Stats())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, err := p.Invoke(context.Background(), goSpec("fd", fixtures.gofn), Invocation{Payload: []byte(`{"op":"echo"}`)}); !errors.Is(err, ErrThrottled) {
		t.Errorf("at node limit: err = %v, want ErrThrottled", err)
	}
	wg.Wait()
}

func TestContextCancelDoesNotLoseInstance(t *testing.T) {
	p, _ := newTestPool(t, nil)
	spec := goSpec("cancel", fixtures.gofn)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := p.Invoke(ctx, spec, Invocation{Payload: []byte(`{"op":"sleep","ms":400}`)})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	// The invocation runs on; afterwards the instance is idle again and reused.
	for deadline := time.Now().Add(5 * time.Second); p.Stats().Idle != 1; {
		if time.Now().After(deadline) {
			t.Fatalf("instance not released: %+v", p.Stats())
		}
		time.Sleep(10 * time.Millisecond)
	}
	decode(t, invoke(t, p, spec, `{"op":"echo"}`, false))
}

func TestMemoryLimit(t *testing.T) {
	p, _ := newTestPool(t, nil)
	if _, ok := p.memory.(*cgroupLimiter); !ok {
		t.Skip("no memory cgroup on this machine: limits are advisory")
	}
	spec := goSpec("hog", fixtures.gofn)
	spec.MemoryMB = 64
	res := invoke(t, p, spec, `{"op":"alloc","mb":200}`, false)
	if res.FunctionError != "Unhandled" || errorTypeOf(res.Payload, "") != "Runtime.OutOfMemory" {
		t.Fatalf("got %q %s", res.FunctionError, res.Payload)
	}
	decode(t, invoke(t, p, spec, `{"op":"alloc","mb":8}`, false))
}

func processAlive(pid int) bool {
	return syscall.Kill(pid, 0) == nil
}

func waitDead(t *testing.T, pid int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); processAlive(pid); {
		if time.Now().After(deadline) {
			t.Fatalf("pid %d still alive", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
