// Command benchfloor is the benchmark's floors, so the bench script can compare
// Sluice against the cheapest possible way to do the same work:
//
//   - --mode proxy (the default): a plain Go net/http server that returns the
//     benchmark function's fixed body through httputil.ReverseProxy (the cheapest
//     possible proxy hop, no function process at all);
//   - --mode runtimeapi: a bare Go server that hands each HTTP request, as an API
//     Gateway payload 2.0 event, to warm function processes (the same aws-lambda-go
//     bootstrap Sluice runs) over the Lambda Runtime API, and answers with the
//     function's body. --workers N starts N processes that each take one invocation
//     at a time (Sluice's on-demand instance model); --max-concurrency M passes
//     AWS_LAMBDA_MAX_CONCURRENCY=M so each process keeps M /next polls outstanding
//     (Lambda Managed Instances mode). Nothing else: no logs, no REPORT, no limits.
//   - --mode files --dir D: the object store's floor, a plain file server (GET is
//     http.ServeContent, PUT writes as durably as Sluice's blob store).
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:4599", "address of the floor server")
	mode := flag.String("mode", "proxy", "proxy | runtimeapi | files")
	dir := flag.String("dir", "", "files: the directory served")
	bootstrap := flag.String("bootstrap", "", "runtimeapi: the function's bootstrap executable")
	workers := flag.Int("workers", 1, "runtimeapi: function processes")
	maxConc := flag.Int("max-concurrency", 0, "runtimeapi: AWS_LAMBDA_MAX_CONCURRENCY for each process (0: unset)")
	flag.Parse()

	switch *mode {
	case "proxy":
		serveProxy(*listen)
	case "runtimeapi":
		if *bootstrap == "" {
			log.Fatal("--bootstrap is required with --mode runtimeapi")
		}
		serveRuntimeAPI(*listen, *bootstrap, *workers, *maxConc)
	case "files":
		if *dir == "" {
			log.Fatal("--dir is required with --mode files")
		}
		serveFiles(*listen, *dir)
	default:
		log.Fatalf("unknown --mode %q", *mode)
	}
}

func serveProxy(listen string) {
	backend, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go func() {
		log.Fatal(http.Serve(backend, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write([]byte("hello from sluice\n"))
		})))
	}()
	target, _ := url.Parse("http://" + backend.Addr().String())
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.Transport = &http.Transport{MaxIdleConnsPerHost: 256}
	log.Fatal(http.ListenAndServe(listen, proxy))
}

// job is one request waiting for its function's answer.
type job struct {
	id    string
	event []byte
	done  chan []byte
}

type runtimeAPI struct {
	queue   chan *job
	pending sync.Map // request id → *job
	seq     atomic.Uint64
}

// event renders an API Gateway payload 2.0 event for r, shaped like the one an HTTP
// API sends (the function parses it, so the floor does the same function work).
func event(r *http.Request, id string) []byte {
	now := time.Now()
	hdrs := make(map[string]string, len(r.Header))
	for k, v := range r.Header {
		hdrs[strings.ToLower(k)] = strings.Join(v, ",")
	}
	ev := map[string]any{
		"version":        "2.0",
		"routeKey":       "$default",
		"rawPath":        r.URL.Path,
		"rawQueryString": r.URL.RawQuery,
		"headers":        hdrs,
		"requestContext": map[string]any{
			"accountId": "123456789012", "apiId": "floor", "domainName": r.Host, "domainPrefix": "floor",
			"http": map[string]any{"method": r.Method, "path": r.URL.Path, "protocol": r.Proto,
				"sourceIp": "127.0.0.1", "userAgent": r.UserAgent()},
			"requestId": id, "routeKey": "$default", "stage": "$default",
			"time": now.UTC().Format("02/Jan/2006:15:04:05 -0700"), "timeEpoch": now.UnixMilli(),
		},
		"isBase64Encoded": false,
	}
	b, _ := json.Marshal(ev)
	return b
}

func (a *runtimeAPI) serveClient(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	id := strconv.FormatUint(a.seq.Add(1), 10)
	j := &job{id: id, event: event(r, id), done: make(chan []byte, 1)}
	a.pending.Store(id, j)
	a.queue <- j
	out := <-j.done
	var resp struct {
		StatusCode int    `json:"statusCode"`
		Body       string `json:"body"`
	}
	if json.Unmarshal(out, &resp) != nil || resp.StatusCode == 0 {
		resp.StatusCode = 502
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(resp.Body)))
	w.WriteHeader(resp.StatusCode)
	_, _ = io.WriteString(w, resp.Body)
}

const prefix = "/2018-06-01/runtime/invocation/"

func (a *runtimeAPI) serveRuntime(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, prefix)
	if !ok {
		http.NotFound(w, r)
		return
	}
	if rest == "next" {
		var j *job
		select {
		case j = <-a.queue:
		case <-r.Context().Done():
			return
		}
		h := w.Header()
		h["Lambda-Runtime-Aws-Request-Id"] = []string{j.id}
		h["Lambda-Runtime-Deadline-Ms"] = []string{strconv.FormatInt(time.Now().Add(30*time.Second).UnixMilli(), 10)}
		h["Lambda-Runtime-Invoked-Function-Arn"] = []string{"arn:aws:lambda:us-east-1:123456789012:function:floor"}
		h["Lambda-Runtime-Trace-Id"] = []string{"Root=1-00000000-000000000000000000000000;Sampled=0"}
		h["Content-Type"] = []string{"application/json"}
		h["Content-Length"] = []string{strconv.Itoa(len(j.event))}
		_, _ = w.Write(j.event)
		return
	}
	id, action, _ := strings.Cut(rest, "/")
	v, ok := a.pending.LoadAndDelete(id)
	if !ok {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(r.Body)
	if action != "response" {
		buf.Reset()
		buf.WriteString(`{"statusCode":502,"body":"function error\n"}`)
	}
	v.(*job).done <- buf.Bytes()
	w.WriteHeader(http.StatusAccepted)
	_, _ = w.Write([]byte(`{"status":"OK"}` + "\n"))
}

func serveRuntimeAPI(listen, bootstrap string, workers, maxConc int) {
	a := &runtimeAPI{queue: make(chan *job)}
	rl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go func() { log.Fatal(http.Serve(rl, http.HandlerFunc(a.serveRuntime))) }()

	env := append(os.Environ(), "AWS_LAMBDA_RUNTIME_API="+rl.Addr().String(),
		"AWS_LAMBDA_FUNCTION_NAME=floor", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128", "AWS_LAMBDA_FUNCTION_VERSION=$LATEST")
	if maxConc > 0 {
		env = append(env, "AWS_LAMBDA_MAX_CONCURRENCY="+strconv.Itoa(maxConc))
	}
	var procs []*exec.Cmd
	for range workers {
		cmd := exec.Command(bootstrap)
		cmd.Env = env
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			log.Fatal(err)
		}
		procs = append(procs, cmd)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-sig
		for _, p := range procs {
			_ = p.Process.Kill()
		}
		os.Exit(0)
	}()
	log.Fatal(http.ListenAndServe(listen, http.HandlerFunc(a.serveClient)))
}

// serveFiles is the object store's floor: GET /{name} is http.ServeFile (Range,
// conditional requests) and PUT /{name} writes the body as durably as Sluice's
// blob store does (temporary file, fsync, rename, directory fsync), with no
// signature, metadata, checksums or index.
func serveFiles(listen, dir string) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		log.Fatal(err)
	}
	var seq atomic.Int64
	log.Fatal(http.ListenAndServe(listen, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, "/")
		if name == "" || strings.ContainsAny(name, "/\\") {
			http.NotFound(w, r)
			return
		}
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			f, err := root.Open(name)
			if err != nil {
				http.NotFound(w, r)
				return
			}
			defer f.Close()
			st, err := f.Stat()
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			http.ServeContent(w, r, name, st.ModTime(), f)
		case http.MethodPut:
			tmp := fmt.Sprintf(".tmp-%d", seq.Add(1))
			f, err := root.Create(tmp)
			if err == nil {
				_, err = io.Copy(f, r.Body)
				if err == nil {
					err = f.Sync()
				}
				if cerr := f.Close(); err == nil {
					err = cerr
				}
			}
			if err == nil {
				err = root.Rename(tmp, name)
			}
			if err == nil {
				var d *os.File
				if d, err = root.Open("."); err == nil {
					err = d.Sync()
					d.Close()
				}
			}
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
		default:
			http.Error(w, "method", http.StatusMethodNotAllowed)
		}
	})))
}
