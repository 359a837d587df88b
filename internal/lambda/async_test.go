package lambda

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/sluice-dev/sluice/internal/invoke"
	"github.com/sluice-dev/sluice/internal/runtime"
	"github.com/sluice-dev/sluice/internal/store/memstore"
)

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (e *env) queued() int {
	kvs, _ := e.store.List(context.Background(), keyAsync)
	return len(kvs)
}

// A failing Event invocation runs three times (1 + AWS's 2 retries), with the
// configured delays between attempts, and is then removed from the queue.
func TestAsyncRetries(t *testing.T) {
	delays := []time.Duration{50 * time.Millisecond, 100 * time.Millisecond}
	e := newEnv(t, envOpts{retryDelays: delays})
	ctx := context.Background()
	e.create("ev")
	var mu sync.Mutex
	var times []time.Time
	var ids []string
	e.runner.fn = func(spec *runtime.FunctionSpec, inv runtime.Invocation) (*runtime.Result, error) {
		mu.Lock()
		defer mu.Unlock()
		times = append(times, time.Now())
		ids = append(ids, inv.RequestID)
		return &runtime.Result{Payload: []byte(`{"errorMessage":"no"}`), FunctionError: "Unhandled"}, nil
	}
	start := time.Now()
	out, err := e.client.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("ev"), InvocationType: types.InvocationTypeEvent, Payload: []byte(`{"n":1}`)})
	if err != nil || out.StatusCode != 202 {
		t.Fatalf("Event invoke: %v %+v", err, out)
	}
	reqID, _ := awsmiddleware.GetRequestIDMetadata(out.ResultMetadata)
	waitFor(t, "3 attempts and an empty queue", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(times) == 3 && e.queued() == 0
	})
	time.Sleep(300 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if len(times) != 3 {
		t.Fatalf("%d attempts, want 3", len(times))
	}
	if times[1].Sub(times[0]) < delays[0] || times[2].Sub(times[1]) < delays[1] || times[0].Sub(start) > 2*time.Second {
		t.Fatalf("attempt times %v (start %v)", times, start)
	}
	for _, id := range ids {
		if id != reqID || id == "" {
			t.Fatalf("request ids %v, want all %s", ids, reqID)
		}
	}
}

// A successful Event invocation runs once; the Invoker queues too (S3 notifications).
func TestAsyncSuccessAndInvoker(t *testing.T) {
	e := newEnv(t, envOpts{retryDelays: []time.Duration{time.Millisecond, time.Millisecond}})
	e.create("ok")
	if _, err := e.svc.Invoke(context.Background(), &invoke.Request{Function: "ok", Async: true, Payload: []byte(`{"Records":[]}`)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "one run", func() bool { return len(e.runner.Calls()) == 1 && e.queued() == 0 })
	time.Sleep(100 * time.Millisecond)
	if calls := e.runner.Calls(); len(calls) != 1 || string(calls[0].Inv.Payload) != `{"Records":[]}` {
		t.Fatalf("calls = %+v", calls)
	}
}

// Queued events survive a restart: a Service that queued events but stopped
// before running them leaves them in the store, and the next one runs them.
func TestAsyncSurvivesRestart(t *testing.T) {
	st := memstore.New()
	blobDir := t.TempDir()
	first := newEnv(t, envOpts{store: st, blobDir: blobDir, noStart: true})
	first.create("durable")
	for i := range 3 {
		_, err := first.client.Invoke(context.Background(), &awslambda.InvokeInput{FunctionName: aws.String("durable"),
			InvocationType: types.InvocationTypeEvent, Payload: []byte(`{"i":` + string(rune('0'+i)) + `}`)})
		if err != nil {
			t.Fatal(err)
		}
	}
	if first.queued() != 3 || len(first.runner.Calls()) != 0 {
		t.Fatalf("queued %d, ran %d", first.queued(), len(first.runner.Calls()))
	}
	first.close()

	second := newEnv(t, envOpts{store: st, blobDir: blobDir})
	waitFor(t, "3 runs after restart", func() bool { return len(second.runner.Calls()) == 3 && second.queued() == 0 })
	seen := map[string]bool{}
	for _, c := range second.runner.Calls() {
		seen[string(c.Inv.Payload)] = true
	}
	if !seen[`{"i":0}`] || !seen[`{"i":1}`] || !seen[`{"i":2}`] {
		t.Fatalf("payloads %v", seen)
	}
}

// An event whose function is deleted before it runs is dropped, not retried.
func TestAsyncFunctionDeleted(t *testing.T) {
	st := memstore.New()
	blobDir := t.TempDir()
	first := newEnv(t, envOpts{store: st, blobDir: blobDir, noStart: true})
	first.create("doomed")
	first.client.Invoke(context.Background(), &awslambda.InvokeInput{FunctionName: aws.String("doomed"), InvocationType: types.InvocationTypeEvent})
	first.client.DeleteFunction(context.Background(), &awslambda.DeleteFunctionInput{FunctionName: aws.String("doomed")})
	first.close()
	second := newEnv(t, envOpts{store: st, blobDir: blobDir})
	waitFor(t, "queue drained", func() bool { return second.queued() == 0 })
	if n := len(second.runner.Calls()); n != 0 {
		t.Fatalf("ran %d times", n)
	}
}

// A throttled event stays queued and runs when capacity returns.
func TestAsyncThrottledStaysQueued(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.create("busy")
	var mu sync.Mutex
	throttle := true
	e.runner.fn = func(spec *runtime.FunctionSpec, inv runtime.Invocation) (*runtime.Result, error) {
		mu.Lock()
		defer mu.Unlock()
		if throttle {
			throttle = false
			return nil, runtime.ErrThrottled
		}
		return &runtime.Result{Payload: []byte(`null`)}, nil
	}
	e.client.Invoke(context.Background(), &awslambda.InvokeInput{FunctionName: aws.String("busy"), InvocationType: types.InvocationTypeEvent})
	waitFor(t, "throttled then run", func() bool { return len(e.runner.Calls()) == 2 && e.queued() == 0 })
	// The retry after a throttle does not count as a function-error attempt.
	kvs, _ := e.store.List(context.Background(), keyAsync)
	for _, kv := range kvs {
		var ev asyncEvent
		json.Unmarshal(kv.Value, &ev)
		t.Fatalf("left in queue: %+v", ev)
	}
}

// An Event invocation that could not run (a system error: here the pool is
// closing) is retried with backoff from 1 s and is not discarded after the two
// retries that function errors get (AWS invocation-async-error-handling).
func TestAsyncSystemErrorsRetryWithoutUsingAttempts(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{retryDelays: []time.Duration{time.Millisecond, time.Millisecond}})
	e.create("sys")
	var mu sync.Mutex
	var times []time.Time
	e.runner.fn = func(spec *runtime.FunctionSpec, inv runtime.Invocation) (*runtime.Result, error) {
		mu.Lock()
		defer mu.Unlock()
		times = append(times, time.Now())
		if len(times) <= 3 {
			return nil, runtime.ErrClosed
		}
		return &runtime.Result{Payload: []byte(`null`)}, nil
	}
	if _, err := e.svc.Invoke(context.Background(), &invoke.Request{Function: "sys", Async: true, Payload: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "4 runs and an empty queue", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(times) == 4 && e.queued() == 0
	})
	mu.Lock()
	defer mu.Unlock()
	for i, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
		if gap := times[i+1].Sub(times[i]); gap < want-100*time.Millisecond || gap > want+time.Second {
			t.Errorf("gap before run %d = %v, want about %v", i+2, gap, want)
		}
	}
}
