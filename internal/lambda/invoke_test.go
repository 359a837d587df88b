package lambda

import (
	"bytes"
	"context"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/sluice-dev/sluice/internal/runtime"
)

func TestInvokeSync(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := context.Background()
	e.create("echo")
	e.runner.fn = func(spec *runtime.FunctionSpec, inv runtime.Invocation) (*runtime.Result, error) {
		switch string(inv.Payload) {
		case `{"fail":true}`:
			return &runtime.Result{Payload: []byte(`{"errorMessage":"boom","errorType":"Error"}`), FunctionError: "Unhandled",
				LogTail: []byte(strings.Repeat("x", 5000) + "REPORT RequestId: " + inv.RequestID)}, nil
		case `{"throttle":true}`:
			return nil, runtime.ErrThrottled
		}
		return &runtime.Result{Payload: inv.Payload, LogTail: []byte("START\nEND\n")}, nil
	}
	out, err := e.client.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("echo"), Payload: []byte(`{"a":1}`), LogType: types.LogTypeTail,
		ClientContext: aws.String(base64.StdEncoding.EncodeToString([]byte(`{"custom":{"k":"v"}}`)))})
	if err != nil {
		t.Fatal(err)
	}
	if out.StatusCode != 200 || string(out.Payload) != `{"a":1}` || aws.ToString(out.ExecutedVersion) != "$LATEST" || out.FunctionError != nil {
		t.Fatalf("Invoke = %+v", out)
	}
	if logs, _ := base64.StdEncoding.DecodeString(aws.ToString(out.LogResult)); string(logs) != "START\nEND\n" {
		t.Fatalf("LogResult = %q", logs)
	}
	call := e.runner.Calls()[0]
	if call.Inv.ClientContext != `{"custom":{"k":"v"}}` || call.Inv.InvokedFunctionARN != "arn:aws:lambda:us-east-1:123456789012:function:echo" ||
		call.Inv.RequestID == "" || !strings.HasSuffix(call.Spec.CodeZip, call.Spec.CodeSHA256) || !call.Inv.LogTail {
		t.Fatalf("invocation = %+v spec %+v", call.Inv, call.Spec)
	}

	out, err = e.client.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("echo"), Payload: []byte(`{"fail":true}`), LogType: types.LogTypeTail})
	if err != nil || aws.ToString(out.FunctionError) != "Unhandled" || !strings.Contains(string(out.Payload), "boom") {
		t.Fatalf("function error: %v %+v", err, out)
	}
	if logs, _ := base64.StdEncoding.DecodeString(aws.ToString(out.LogResult)); len(logs) != 4096 || !strings.Contains(string(logs), "REPORT RequestId:") {
		t.Fatalf("log tail is %d bytes", len(logs))
	}

	_, err = e.client.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("echo"), Payload: []byte(`{"throttle":true}`)})
	wantAPIError(t, err, "TooManyRequestsException", `^Rate Exceeded\.$`)
	var tm *types.TooManyRequestsException
	if !asError(err, &tm) || tm.Reason != types.ThrottleReasonConcurrentInvocationLimitExceeded {
		t.Fatalf("throttle reason: %v", err)
	}

	_, err = e.client.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("echo"), Payload: bytes.Repeat([]byte("1"), 6291457)})
	wantAPIError(t, err, "RequestTooLargeException", `^Request must be smaller than 6291456 bytes for the InvokeFunction operation$`)
	_, err = e.client.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("echo"), InvocationType: types.InvocationTypeEvent, Payload: bytes.Repeat([]byte("1"), 1048577)})
	wantAPIError(t, err, "RequestTooLargeException", `^1048577 byte payload is too large for the Event invocation type \(limit 1048576 bytes\)$`)
	_, err = e.client.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("nope")})
	wantAPIError(t, err, "ResourceNotFoundException", `^Function not found: arn:aws:lambda:us-east-1:123456789012:function:nope$`)
	_, err = e.client.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("echo"), Qualifier: aws.String("7")})
	wantAPIError(t, err, "ResourceNotFoundException", `^Function not found: arn:aws:lambda:us-east-1:123456789012:function:echo:7$`)
	_, err = e.client.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("echo:live"), Qualifier: aws.String("other")})
	wantAPIError(t, err, "InvalidParameterValueException", `^The derived qualifier from the function name does not match the specified qualifier\.$`)
	_, err = e.client.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("echo"), Payload: []byte(`not json`)})
	wantAPIError(t, err, "InvalidRequestContentException", `^Could not parse request body into json`)

	dry, err := e.client.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("echo"), InvocationType: types.InvocationTypeDryRun})
	if err != nil || dry.StatusCode != 204 {
		t.Fatalf("DryRun: %v %+v", err, dry)
	}
	_, err = e.client.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("gone"), InvocationType: types.InvocationTypeDryRun})
	wantAPIError(t, err, "ResourceNotFoundException", `^Function not found`)
}

// The account's concurrency is configurable (--account-concurrency): reservations
// come out of it, keeping AWS's floor of 100 unreserved (all of it for a smaller
// account, as AWS answers a new account whose quota is 10), and the invoke cache
// keeps the sum of the reservations the cluster's unreserved pool is cut by.
func TestAccountConcurrency(t *testing.T) {
	e := newEnv(t, envOpts{account: 300})
	ctx := context.Background()
	e.create("r1")
	e.create("r2")
	for fn, n := range map[string]int32{"r1": 150, "r2": 50} {
		if _, err := e.client.PutFunctionConcurrency(ctx, &awslambda.PutFunctionConcurrencyInput{FunctionName: aws.String(fn), ReservedConcurrentExecutions: aws.Int32(n)}); err != nil {
			t.Fatal(err)
		}
	}
	_, err := e.client.PutFunctionConcurrency(ctx, &awslambda.PutFunctionConcurrencyInput{FunctionName: aws.String("r2"), ReservedConcurrentExecutions: aws.Int32(51)})
	wantAPIError(t, err, "InvalidParameterValueException", `^Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of \[100\]\.$`)
	settings, err := e.client.GetAccountSettings(ctx, &awslambda.GetAccountSettingsInput{})
	if err != nil || settings.AccountLimit.ConcurrentExecutions != 300 || aws.ToInt32(settings.AccountLimit.UnreservedConcurrentExecutions) != 100 {
		t.Fatalf("GetAccountSettings: %v %+v", err, settings.AccountLimit)
	}
	if got := e.svc.ReservedConcurrency(); got != 200 {
		t.Fatalf("ReservedConcurrency = %d, want 200", got)
	}
	if _, err := e.client.DeleteFunctionConcurrency(ctx, &awslambda.DeleteFunctionConcurrencyInput{FunctionName: aws.String("r1")}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.DeleteFunction(ctx, &awslambda.DeleteFunctionInput{FunctionName: aws.String("r2")}); err != nil {
		t.Fatal(err)
	}
	if got := e.svc.ReservedConcurrency(); got != 0 {
		t.Fatalf("ReservedConcurrency after the delete = %d, want 0", got)
	}

	small := newEnv(t, envOpts{account: 10})
	small.create("s")
	_, err = small.client.PutFunctionConcurrency(ctx, &awslambda.PutFunctionConcurrencyInput{FunctionName: aws.String("s"), ReservedConcurrentExecutions: aws.Int32(1)})
	wantAPIError(t, err, "InvalidParameterValueException", `below its minimum value of \[10\]\.$`)
}

func TestReservedConcurrency(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := context.Background()
	e.create("rc")
	got, err := e.client.GetFunctionConcurrency(ctx, &awslambda.GetFunctionConcurrencyInput{FunctionName: aws.String("rc")})
	if err != nil || got.ReservedConcurrentExecutions != nil {
		t.Fatalf("GetFunctionConcurrency unset: %v %+v", err, got)
	}
	put, err := e.client.PutFunctionConcurrency(ctx, &awslambda.PutFunctionConcurrencyInput{FunctionName: aws.String("rc"), ReservedConcurrentExecutions: aws.Int32(5)})
	if err != nil || aws.ToInt32(put.ReservedConcurrentExecutions) != 5 {
		t.Fatalf("PutFunctionConcurrency: %v %+v", err, put)
	}
	got, err = e.client.GetFunctionConcurrency(ctx, &awslambda.GetFunctionConcurrencyInput{FunctionName: aws.String("rc")})
	if err != nil || aws.ToInt32(got.ReservedConcurrentExecutions) != 5 {
		t.Fatalf("GetFunctionConcurrency: %v %+v", err, got)
	}
	fn, _ := e.client.GetFunction(ctx, &awslambda.GetFunctionInput{FunctionName: aws.String("rc")})
	if fn.Concurrency == nil || aws.ToInt32(fn.Concurrency.ReservedConcurrentExecutions) != 5 {
		t.Fatalf("GetFunction.Concurrency = %+v", fn.Concurrency)
	}
	e.runner.fn = func(spec *runtime.FunctionSpec, inv runtime.Invocation) (*runtime.Result, error) {
		if spec.ReservedConcurrency == nil || *spec.ReservedConcurrency != 5 {
			t.Errorf("spec.ReservedConcurrency = %v", spec.ReservedConcurrency)
		}
		return nil, runtime.ErrThrottled
	}
	_, err = e.client.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("rc")})
	var tm *types.TooManyRequestsException
	if !asError(err, &tm) || tm.Reason != types.ThrottleReasonReservedFunctionConcurrentInvocationLimitExceeded {
		t.Fatalf("throttle: %v", err)
	}
	settings, err := e.client.GetAccountSettings(ctx, &awslambda.GetAccountSettingsInput{})
	if err != nil || settings.AccountLimit.ConcurrentExecutions != 1000 || aws.ToInt32(settings.AccountLimit.UnreservedConcurrentExecutions) != 995 ||
		settings.AccountUsage.FunctionCount != 1 || settings.AccountUsage.TotalCodeSize == 0 || settings.AccountLimit.CodeSizeZipped != 52428800 ||
		settings.AccountLimit.CodeSizeUnzipped != 262144000 || settings.AccountLimit.TotalCodeSize != 80530636800 {
		t.Fatalf("GetAccountSettings: %v %+v %+v", err, settings.AccountLimit, settings.AccountUsage)
	}
	_, err = e.client.PutFunctionConcurrency(ctx, &awslambda.PutFunctionConcurrencyInput{FunctionName: aws.String("rc"), ReservedConcurrentExecutions: aws.Int32(901)})
	wantAPIError(t, err, "InvalidParameterValueException", `below its minimum value of \[100\]`)

	// Zero throttles every invocation without reaching the pool.
	e.client.PutFunctionConcurrency(ctx, &awslambda.PutFunctionConcurrencyInput{FunctionName: aws.String("rc"), ReservedConcurrentExecutions: aws.Int32(0)})
	before := len(e.runner.Calls())
	_, err = e.client.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("rc")})
	wantAPIError(t, err, "TooManyRequestsException", `Rate Exceeded`)
	if len(e.runner.Calls()) != before {
		t.Fatalf("runner called with reserved concurrency 0")
	}
	if _, err := e.client.DeleteFunctionConcurrency(ctx, &awslambda.DeleteFunctionConcurrencyInput{FunctionName: aws.String("rc")}); err != nil {
		t.Fatal(err)
	}
	e.runner.fn = nil
	if _, err := e.client.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("rc")}); err != nil {
		t.Fatalf("after DeleteFunctionConcurrency: %v", err)
	}
	_, err = e.client.GetFunctionConcurrency(ctx, &awslambda.GetFunctionConcurrencyInput{FunctionName: aws.String("nope")})
	wantAPIError(t, err, "ResourceNotFoundException", `Function not found`)
}

func TestRawInvokeHeaders(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.create("raw")
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/2015-03-31/functions/raw/invocations", strings.NewReader(`{"x":1}`))
	req.Header.Set("X-Amz-Invocation-Type", "Bogus")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 || resp.Header.Get("X-Amzn-Errortype") != "ValidationException" {
		t.Fatalf("bogus invocation type: %d %s", resp.StatusCode, resp.Header.Get("X-Amzn-Errortype"))
	}
	resp, err = http.Get(e.srv.URL + "/2015-03-31/functions/raw/nothing")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Fatalf("unknown route: %d", resp.StatusCode)
	}
	// Unsigned code downloads are refused before the path is looked at.
	resp, _ = http.Get(e.srv.URL + "/_sluice/lambda/code/" + strings.Repeat("0", 64))
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Fatalf("unsigned code download: %d", resp.StatusCode)
	}
	resp, _ = http.Get(e.srv.URL + "/_sluice/lambda/code/..%2f..%2fetc%2fpasswd")
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Fatalf("traversal: %d", resp.StatusCode)
	}
}

func TestMalformedRequests(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.create("mal")
	cases := []struct {
		method, path, body string
		status             int
		code               string
	}{
		{"POST", "/2015-03-31/functions", `{"FunctionName":`, 400, "InvalidRequestContentException"},
		{"PUT", "/2015-03-31/functions/mal/configuration", `[1,2]`, 400, "InvalidRequestContentException"},
		{"GET", "/2015-03-31/functions?Marker=!!!", "", 400, "InvalidParameterValueException"},
		{"GET", "/2015-03-31/functions?MaxItems=abc", "", 400, "InvalidRequestContentException"},
		{"GET", "/2015-03-31/functions?FunctionVersion=SOME", "", 400, "ValidationException"},
		{"PATCH", "/2015-03-31/functions/mal", "", 404, "UnknownOperationException"},
		{"GET", "/2015-03-31/functions/mal%3Aa%3Ab", "", 400, "ValidationException"},
		{"GET", "/2015-03-31/functions/" + strings.Repeat("a", 65), "", 400, "ValidationException"},
		{"GET", "/2015-03-31/functions/mal?Qualifier=bad%20q", "", 400, "ValidationException"},
		{"POST", "/2015-03-31/functions/mal/invocations", "", 200, ""},
		{"GET", "/2015-03-31/functions/mal/aliases/%2F", "", 400, "ValidationException"},
	}
	for _, c := range cases {
		req, _ := http.NewRequest(c.method, e.srv.URL+c.path, strings.NewReader(c.body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.status || resp.Header.Get("X-Amzn-Errortype") != c.code {
			t.Errorf("%s %s: %d %q, want %d %q", c.method, c.path, resp.StatusCode, resp.Header.Get("X-Amzn-Errortype"), c.status, c.code)
		}
	}
}
