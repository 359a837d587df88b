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

// TestSchedulerScalesOutIOBound: under the default (adaptive) instance scheduler, an
// I/O-bound function (it sleeps) invoked 8 at a time gets 8 instances — one log
// stream each — even though its measured invoke time is long, while its reserved
// concurrency of 8 still holds: a burst of 12 never gets a ninth instance, and the
// invocations over the limit are throttled with Lambda's 429
// TooManyRequestsException (https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html).
// No timing is asserted; the sleeps only keep instances busy.
func TestSchedulerScalesOutIOBound(t *testing.T) {
	s := startSluice(t, startOpts{args: []string{"--queue-timeout", "250ms"}})
	// No SDK retries: a throttled invoke must surface as the 429 it is.
	c := lambda.NewFromConfig(s.sdkConfig(), func(o *lambda.Options) { o.RetryMaxAttempts = 1 })
	ctx := context.Background()
	sdkCreateGo(t, c, "iobound", 30)
	sdkCall(c.PutFunctionConcurrency(ctx, &lambda.PutFunctionConcurrencyInput{
		FunctionName: aws.String("iobound"), ReservedConcurrentExecutions: aws.Int32(8)})).must(t)

	const sleep = `{"mode":"sleep","ms":1500}`
	burst := func(n int) (ok, throttled int) {
		var mu sync.Mutex
		var wg sync.WaitGroup
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				out, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("iobound"), Payload: []byte(sleep)})
				mu.Lock()
				defer mu.Unlock()
				var re interface{ HTTPStatusCode() int }
				var ae smithy.APIError
				switch {
				case err == nil && out.FunctionError == nil:
					ok++
				case errors.As(err, &ae) && ae.ErrorCode() == "TooManyRequestsException" && errors.As(err, &re) && re.HTTPStatusCode() == 429:
					throttled++
				default:
					t.Errorf("invoke: %v %+v", err, out)
				}
			}()
		}
		wg.Wait()
		return ok, throttled
	}
	// Two invocations one after the other: the scheduler has measured a long invoke
	// and the function's CPU time before the concurrent burst.
	for i := 0; i < 2; i++ {
		if ok, _ := burst(1); ok != 1 {
			t.Fatalf("warm-up invoke failed")
		}
	}
	if ok, th := burst(8); ok != 8 || th != 0 {
		t.Fatalf("8 concurrent invokes at reserved concurrency 8: %d ok, %d throttled", ok, th)
	}
	if n := s.logStreamCount("/aws/lambda/iobound"); n != 8 {
		t.Fatalf("8 concurrent I/O-bound invokes ran on %d instances (log streams), want 8", n)
	}
	ok, th := burst(12)
	if th == 0 || ok+th != 12 {
		t.Fatalf("12 concurrent invokes at reserved concurrency 8: %d ok, %d throttled; want some 429s", ok, th)
	}
	if n := s.logStreamCount("/aws/lambda/iobound"); n != 8 {
		t.Fatalf("after a burst over the limit: %d instances (log streams), want 8", n)
	}
}

// logStreamCount is how many log streams (instances) a log group has.
func (s *instance) logStreamCount(group string) int {
	s.t.Helper()
	out := s.awsJSON("logs", "describe-log-streams", "--log-group-name", group)
	streams, _ := out["logStreams"].([]any)
	return len(streams)
}
