package e2e

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/smithy-go"
)

// burstInvoke invokes fn n times at once, spread round robin over clients, and
// counts the successes and Lambda's 429 TooManyRequestsException throttles.
func burstInvoke(t *testing.T, clients []*lambda.Client, fn, payload string, n int) (ok, throttled int) {
	t.Helper()
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			out, err := clients[i%len(clients)].Invoke(context.Background(), &lambda.InvokeInput{FunctionName: aws.String(fn), Payload: []byte(payload)})
			mu.Lock()
			defer mu.Unlock()
			var ae smithy.APIError
			switch {
			case err == nil && out.FunctionError == nil:
				ok++
			case errors.As(err, &ae) && ae.ErrorCode() == "TooManyRequestsException":
				throttled++
			default:
				t.Errorf("invoke: %v %+v", err, out)
			}
		})
	}
	wg.Wait()
	return ok, throttled
}

// A function with reserved concurrency 2 invoked 8 at a time through two nodes
// never runs more than 2 at once across the cluster (each node alone would allow
// 2, 4 together); the invocations over the limit get 429.
func TestClusterConcurrency(t *testing.T) {
	c := startCluster(t)
	c.nodeArgs = append(c.nodeArgs, "--queue-timeout", "300ms")
	a, b := c.node(), c.node()
	var clients []*lambda.Client
	for _, n := range []*instance{a, b} {
		clients = append(clients, lambda.NewFromConfig(n.sdkConfig(), func(o *lambda.Options) { o.RetryMaxAttempts = 1 }))
	}
	sdkCreateGo(t, clients[0], "limited", 30)
	sdkCall(clients[0].PutFunctionConcurrency(context.Background(), &lambda.PutFunctionConcurrencyInput{
		FunctionName: aws.String("limited"), ReservedConcurrentExecutions: aws.Int32(2)})).must(t)
	probe := newRunProbe(t)
	payload := `{"mode":"count","ms":1500,"url":"` + probe.URL + `"}`
	// Warm both nodes (and the code cache) one at a time.
	for _, cl := range clients {
		if ok, _ := burstInvoke(t, []*lambda.Client{cl}, "limited", payload, 1); ok != 1 {
			t.Fatal("warm-up invoke failed")
		}
	}
	ok, throttled := burstInvoke(t, clients, "limited", payload, 8)
	if peak := probe.peakRunning(); peak > 2 || ok < 2 || throttled == 0 || ok+throttled != 8 {
		t.Fatalf("reserved concurrency 2 on 2 nodes: peak %d running at once, %d ran, %d throttled", peak, ok, throttled)
	}
	t.Logf("peak %d, %d ran, %d throttled", probe.peakRunning(), ok, throttled)
}
