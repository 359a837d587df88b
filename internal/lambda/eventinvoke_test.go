package lambda

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/sluice-dev/sluice/internal/runtime"
)

func TestEventInvokeConfigAPI(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := context.Background()
	e.create("fn")
	_, err := e.client.GetFunctionEventInvokeConfig(ctx, &awslambda.GetFunctionEventInvokeConfigInput{FunctionName: aws.String("fn")})
	wantAPIError(t, err, "ResourceNotFoundException", `^The function arn:aws:lambda:us-east-1:123456789012:function:fn:\$LATEST doesn't have an EventInvokeConfig$`)
	_, err = e.client.UpdateFunctionEventInvokeConfig(ctx, &awslambda.UpdateFunctionEventInvokeConfigInput{FunctionName: aws.String("fn"), MaximumRetryAttempts: aws.Int32(1)})
	wantAPIError(t, err, "ResourceNotFoundException", `doesn't have an EventInvokeConfig$`)
	_, err = e.client.PutFunctionEventInvokeConfig(ctx, &awslambda.PutFunctionEventInvokeConfigInput{FunctionName: aws.String("fn"), MaximumRetryAttempts: aws.Int32(3)})
	wantAPIError(t, err, "ValidationException", `Value '3' at 'maximumRetryAttempts' failed to satisfy constraint: Member must have value less than or equal to 2$`)
	_, err = e.client.PutFunctionEventInvokeConfig(ctx, &awslambda.PutFunctionEventInvokeConfigInput{FunctionName: aws.String("fn"), MaximumEventAgeInSeconds: aws.Int32(59)})
	wantAPIError(t, err, "ValidationException", `at 'maximumEventAgeInSeconds' failed to satisfy constraint: Member must have value greater than or equal to 60$`)
	_, err = e.client.PutFunctionEventInvokeConfig(ctx, &awslambda.PutFunctionEventInvokeConfigInput{FunctionName: aws.String("fn"),
		DestinationConfig: &types.DestinationConfig{OnFailure: &types.OnFailure{Destination: aws.String("arn:aws:sqs:us-east-1:123456789012:dlq")}}})
	wantAPIError(t, err, "InvalidParameterValueException", `^The provided destination config DestinationConfig\(onSuccess=null, onFailure=OnFailure\(destination=arn:aws:sqs:us-east-1:123456789012:dlq\)\) is invalid\.`)

	dest := "arn:aws:lambda:us-east-1:123456789012:function:dest"
	put, err := e.client.PutFunctionEventInvokeConfig(ctx, &awslambda.PutFunctionEventInvokeConfigInput{FunctionName: aws.String("fn"),
		MaximumRetryAttempts: aws.Int32(0), DestinationConfig: &types.DestinationConfig{OnFailure: &types.OnFailure{Destination: aws.String(dest)}}})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(put.FunctionArn) != "arn:aws:lambda:us-east-1:123456789012:function:fn:$LATEST" || aws.ToInt32(put.MaximumRetryAttempts) != 0 ||
		put.MaximumEventAgeInSeconds != nil || aws.ToString(put.DestinationConfig.OnFailure.Destination) != dest || put.LastModified == nil {
		t.Fatalf("put = %+v", put)
	}
	up, err := e.client.UpdateFunctionEventInvokeConfig(ctx, &awslambda.UpdateFunctionEventInvokeConfigInput{FunctionName: aws.String("fn"), MaximumEventAgeInSeconds: aws.Int32(600)})
	if err != nil || aws.ToInt32(up.MaximumRetryAttempts) != 0 || aws.ToInt32(up.MaximumEventAgeInSeconds) != 600 ||
		aws.ToString(up.DestinationConfig.OnFailure.Destination) != dest {
		t.Fatalf("update = %+v %v", up, err)
	}
	list, err := e.client.ListFunctionEventInvokeConfigs(ctx, &awslambda.ListFunctionEventInvokeConfigsInput{FunctionName: aws.String("fn")})
	if err != nil || len(list.FunctionEventInvokeConfigs) != 1 {
		t.Fatalf("list = %+v %v", list, err)
	}
	if _, err := e.client.DeleteFunctionEventInvokeConfig(ctx, &awslambda.DeleteFunctionEventInvokeConfigInput{FunctionName: aws.String("fn")}); err != nil {
		t.Fatal(err)
	}
	_, err = e.client.GetFunctionEventInvokeConfig(ctx, &awslambda.GetFunctionEventInvokeConfigInput{FunctionName: aws.String("fn")})
	wantAPIError(t, err, "ResourceNotFoundException", `doesn't have an EventInvokeConfig$`)
}

// MaximumRetryAttempts 0 runs a failing event once; its record goes to the
// OnFailure function with AWS's invocation-record fields. Success goes to OnSuccess.
func TestEventInvokeDestinations(t *testing.T) {
	e := newEnv(t, envOpts{retryDelays: []time.Duration{time.Millisecond, time.Millisecond}})
	ctx := context.Background()
	e.create("work")
	e.create("failures")
	e.create("successes")
	var mu sync.Mutex
	calls := map[string][][]byte{}
	e.runner.fn = func(spec *runtime.FunctionSpec, inv runtime.Invocation) (*runtime.Result, error) {
		mu.Lock()
		calls[spec.FunctionName] = append(calls[spec.FunctionName], inv.Payload)
		mu.Unlock()
		if spec.FunctionName == "work" && string(inv.Payload) == `{"fail":true}` {
			return &runtime.Result{Payload: []byte(`{"errorMessage":"boom","errorType":"Error"}`), FunctionError: "Unhandled"}, nil
		}
		return &runtime.Result{Payload: []byte(`{"ok":1}`)}, nil
	}
	_, err := e.client.PutFunctionEventInvokeConfig(ctx, &awslambda.PutFunctionEventInvokeConfigInput{FunctionName: aws.String("work"),
		MaximumRetryAttempts: aws.Int32(0), DestinationConfig: &types.DestinationConfig{
			OnFailure: &types.OnFailure{Destination: aws.String("arn:aws:lambda:us-east-1:123456789012:function:failures")},
			OnSuccess: &types.OnSuccess{Destination: aws.String("arn:aws:lambda:us-east-1:123456789012:function:successes")},
		}})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{`{"fail":true}`, `{"fail":false}`} {
		if _, err := e.client.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("work"), InvocationType: types.InvocationTypeEvent, Payload: []byte(p)}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "both records delivered", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(calls["failures"]) == 1 && len(calls["successes"]) == 1 && e.queued() == 0
	})
	mu.Lock()
	defer mu.Unlock()
	if n := len(calls["work"]); n != 2 {
		t.Fatalf("work ran %d times, want 2 (MaximumRetryAttempts 0)", n)
	}
	var rec struct {
		Version        string
		RequestContext struct {
			RequestID, FunctionArn, Condition string
			ApproximateInvokeCount            int
		}
		RequestPayload  map[string]any
		ResponseContext struct {
			StatusCode                     int
			ExecutedVersion, FunctionError string
		}
		ResponsePayload map[string]any
	}
	if err := json.Unmarshal(calls["failures"][0], &rec); err != nil {
		t.Fatal(err)
	}
	if rec.Version != "1.0" || rec.RequestContext.Condition != "RetriesExhausted" || rec.RequestContext.ApproximateInvokeCount != 1 ||
		rec.RequestContext.FunctionArn != "arn:aws:lambda:us-east-1:123456789012:function:work:$LATEST" || rec.RequestContext.RequestID == "" ||
		rec.RequestPayload["fail"] != true || rec.ResponseContext.StatusCode != 200 || rec.ResponseContext.FunctionError != "Unhandled" ||
		rec.ResponseContext.ExecutedVersion != "$LATEST" || rec.ResponsePayload["errorMessage"] != "boom" {
		t.Fatalf("failure record = %s", calls["failures"][0])
	}
	rec.ResponseContext.FunctionError = ""
	if err := json.Unmarshal(calls["successes"][0], &rec); err != nil {
		t.Fatal(err)
	}
	if rec.RequestContext.Condition != "Success" || rec.ResponsePayload["ok"] != float64(1) || rec.ResponseContext.FunctionError != "" {
		t.Fatalf("success record = %s", calls["successes"][0])
	}
}
