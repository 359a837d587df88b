// Command gofn is the Go (provided.al2023) function the end-to-end tests deploy.
// It behaves according to its event:
//   - an API Gateway proxy event (payload 1.0 or 2.0): answers 200 with the event as
//     the JSON body, so tests can inspect exactly what the gateway sent, or, for a
//     path ending in /fixed, a fixed small body (the benchmark route);
//   - {"mode":"sleep","ms":N}: sleeps N ms, then echoes;
//   - {"mode":"error"}: returns a handler error;
//   - {"mode":"exit"}: exits the process mid-invocation;
//   - {"mode":"log","lines":N}: prints N log lines;
//   - {"mode":"print","text":[...]}: prints each string of text as one line;
//   - {"mode":"env"}: returns its environment;
//   - {"mode":"barrier","lines":N}: waits (at most 20 s) until N invocations are in
//     flight in this process at once, then returns {"stream","pid","peak","maxConcurrency"}:
//     the instance's log stream (unique per execution environment), the most
//     invocations it saw at once, and AWS_LAMBDA_MAX_CONCURRENCY (Lambda Managed
//     Instances tests);
//   - {"mode":"count","url":U,"failures":N}: POSTs to U (which answers the attempt number), and fails
//     while P has no more than N lines (so async retries can be observed); with "ms":M it first
//     POSTs the node's endpoint (AWS_ENDPOINT_URL) to U/start and sleeps M ms, so a test can
//     kill the node that runs it before the count;
//   - anything else: echoed back unchanged.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
)

type control struct {
	Mode       string   `json:"mode"`
	MS         int      `json:"ms"`
	Lines      int      `json:"lines"`
	HTTPMethod string   `json:"httpMethod"`
	RouteKey   string   `json:"routeKey"`
	Path       string   `json:"path"`
	RawPath    string   `json:"rawPath"`
	Failures   int      `json:"failures"`
	Text       []string `json:"text"`
	URL        string   `json:"url"`
}

var started = time.Now()

// inFlight counts the invocations running in this process (mode barrier).
var inFlight struct {
	sync.Mutex
	cond      *sync.Cond
	now, peak int
}

func init() { inFlight.cond = sync.NewCond(&inFlight.Mutex) }

// barrier waits until n invocations are in flight at once (or 20 s pass) and
// reports the most it saw.
func barrier(n int) map[string]any {
	inFlight.Lock()
	inFlight.now++
	inFlight.peak = max(inFlight.peak, inFlight.now)
	inFlight.cond.Broadcast()
	deadline := time.AfterFunc(20*time.Second, func() {
		inFlight.Lock()
		inFlight.cond.Broadcast()
		inFlight.Unlock()
	})
	give := time.Now().Add(20 * time.Second)
	for inFlight.peak < n && time.Now().Before(give) {
		inFlight.cond.Wait()
	}
	deadline.Stop()
	peak := inFlight.peak
	inFlight.now--
	inFlight.Unlock()
	return map[string]any{"stream": os.Getenv("AWS_LAMBDA_LOG_STREAM_NAME"), "pid": os.Getpid(), "peak": peak,
		"maxConcurrency": os.Getenv("AWS_LAMBDA_MAX_CONCURRENCY")}
}

// fixedBody is what the benchmark routes answer (scripts/bench.sh's floor server
// answers the same bytes).
const fixedBody = "hello from sluice\n"

func handle(ctx context.Context, event json.RawMessage) (any, error) {
	var c control
	_ = json.Unmarshal(event, &c)
	if c.HTTPMethod != "" || c.RouteKey != "" {
		if strings.HasSuffix(c.Path, "/fixed") || strings.HasSuffix(c.RawPath, "/fixed") {
			// The benchmark's route: a fixed small body, like the floor server's.
			return map[string]any{"statusCode": 200, "body": fixedBody}, nil
		}
		return map[string]any{
			"statusCode": 200,
			"headers":    map[string]string{"Content-Type": "application/json", "X-Started": started.Format(time.RFC3339Nano)},
			"body":       string(event),
		}, nil
	}
	switch c.Mode {
	case "sleep":
		time.Sleep(time.Duration(c.MS) * time.Millisecond)
	case "error":
		return nil, errors.New("something went wrong")
	case "exit":
		os.Exit(3)
	case "log":
		for i := 0; i < c.Lines; i++ {
			fmt.Printf("log line %d\n", i)
		}
	case "print":
		for _, l := range c.Text {
			fmt.Println(l)
		}
	case "count":
		if c.MS > 0 {
			resp, err := http.Post(c.URL+"/start", "text/plain", strings.NewReader(os.Getenv("AWS_ENDPOINT_URL")))
			if err != nil {
				return nil, err
			}
			resp.Body.Close()
			time.Sleep(time.Duration(c.MS) * time.Millisecond)
		}
		// Counts attempts on the test's HTTP server (the sandboxed function cannot
		// write the host's files), failing the first N.
		resp, err := http.Post(c.URL, "text/plain", nil)
		if err != nil {
			return nil, err
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if n, _ := strconv.Atoi(strings.TrimSpace(string(body))); n <= c.Failures {
			return nil, fmt.Errorf("failing attempt %d", n)
		}
	case "barrier":
		return barrier(c.Lines), nil
	case "env":
		env := map[string]string{}
		for _, kv := range os.Environ() {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
		return env, nil
	}
	return event, nil
}

func main() { lambda.Start(handle) }
