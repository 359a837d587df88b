package lambda

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/sluice-dev/sluice/internal/awsproto"
	"github.com/sluice-dev/sluice/internal/invoke"
	"github.com/sluice-dev/sluice/internal/runtime"
)

// Invoke payload limits (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html).
const (
	maxSyncPayload  = 6291456 // 6 MB, request and response
	maxAsyncPayload = 1048576 // 1 MB since 2025 (was 256 KB)
	maxLogTail      = 4096    // X-Amz-Log-Result carries the last 4 KB of the log
)

// Invocation types of the Invoke API's X-Amz-Invocation-Type header.
const (
	typeRequestResponse = "RequestResponse"
	typeEvent           = "Event"
	typeDryRun          = "DryRun"
)

// invocation is one Invoke, from the HTTP API or from another service.
type invocation struct {
	ref           functionRef
	kind          string
	payload       []byte
	logTail       bool
	clientContext string // decoded JSON
	requestID     string
	traceID       string // the caller's X-Amzn-Trace-Id, "" for a new one
	// Principal, SourceARN and SourceAccount are set when a service invokes on a
	// user's behalf; the resource policy must allow it.
	principal     string
	sourceARN     string
	sourceAccount string
	// stream receives a streamed response (InvokeWithResponseStream, streaming
	// function URLs); onResolve learns the version that runs before it starts.
	stream    runtime.ResponseStream
	onResolve func(executedVersion string)
}

// outcome is what an invocation produced.
type outcome struct {
	result          *runtime.Result // nil for Event and DryRun
	executedVersion string
}

// Invoke implements invoke.Invoker for the gateway, authorizers and notifications.
// Errors are *awsproto.Error where AWS has a code (not found, access denied,
// throttled, payload too large).
func (s *Service) Invoke(ctx context.Context, req *invoke.Request) (*invoke.Response, error) {
	ref, err := s.parseFunctionRef(req.Function, "")
	if err != nil {
		return nil, err
	}
	if req.Qualifier != "" {
		if !qualifierRE.MatchString(req.Qualifier) {
			return nil, validation("Value '%s' at 'qualifier' failed to satisfy constraint: Member must satisfy regular expression pattern: (|[a-zA-Z0-9$_-]+)", req.Qualifier)
		}
		ref.Qualifier = req.Qualifier
	}
	inv := invocation{
		ref: ref, kind: typeRequestResponse, payload: req.Payload, logTail: req.LogTail,
		principal: req.Principal, sourceARN: req.SourceARN, sourceAccount: req.SourceAccount,
		requestID: awsproto.RequestID(ctx), traceID: runtime.CleanTraceID(req.TraceID),
	}
	if req.DryRun {
		inv.kind = typeDryRun
	} else if req.Async {
		inv.kind = typeEvent
		if len(inv.payload) > maxAsyncPayload {
			return nil, asyncTooLarge(len(inv.payload))
		}
	} else if len(inv.payload) > maxSyncPayload {
		return nil, syncTooLarge()
	}
	if req.ClientContext != "" {
		if inv.clientContext, err = decodeClientContext(req.ClientContext); err != nil {
			return nil, err
		}
	}
	out, err := s.invoke(ctx, inv)
	if err != nil {
		return nil, asAWS(err)
	}
	resp := &invoke.Response{ExecutedVersion: out.executedVersion}
	if out.result != nil {
		resp.Payload = out.result.Payload
		resp.FunctionError = out.result.FunctionError
		if req.LogTail {
			resp.LogResult = logResult(out.result.LogTail)
		}
	}
	return resp, nil
}

func syncTooLarge() error {
	return tooLarge("Request must be smaller than %d bytes for the InvokeFunction operation", maxSyncPayload)
}

func asyncTooLarge(n int) error {
	return tooLarge("%d byte payload is too large for the Event invocation type (limit %d bytes)", n, maxAsyncPayload)
}

// decodeClientContext decodes X-Amz-Client-Context: base64 of a JSON object.
func decodeClientContext(b64 string) (string, error) {
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || !json.Valid(raw) {
		return "", invalidParam("Client context must be a valid Base64-encoded JSON object.")
	}
	return string(raw), nil
}

func logResult(tail []byte) string {
	if len(tail) > maxLogTail {
		tail = tail[len(tail)-maxLogTail:]
	}
	return base64.StdEncoding.EncodeToString(tail)
}

// invoke resolves, authorizes and runs (or queues) one invocation.
func (s *Service) invoke(ctx context.Context, inv invocation) (outcome, error) {
	r, err := s.cache.resolve(ctx, inv.ref)
	if err != nil {
		return outcome{}, err
	}
	out := outcome{executedVersion: r.version.config.Version}
	if inv.principal != "" {
		policyARN := r.invokedARN
		if latestVersion(inv.ref.Qualifier) {
			policyARN = s.functionARN(inv.ref.Name)
		}
		r.auth = invokeRequest{Principal: inv.principal, SourceARN: inv.sourceARN,
			SourceAccount: inv.sourceAccount, Resource: policyARN}
		if !allowsInvoke(r.policies, &r.auth) {
			return outcome{}, &awsproto.Error{Status: http.StatusForbidden, Code: "AccessDeniedException",
				Message: "User: " + inv.principal + " is not authorized to perform: lambda:InvokeFunction on resource: " +
					r.invokedARN + " because no resource-based policy allows the lambda:InvokeFunction action"}
		}
	}
	if st := r.version.config.State; st != "" && st != "Active" {
		return outcome{}, notActive(r.version.config)
	}
	if inv.requestID == "" {
		inv.requestID = uuid.NewString()
	}
	switch inv.kind {
	case typeDryRun:
		return out, nil
	case typeEvent:
		if err := s.enqueue(ctx, inv); err != nil {
			return outcome{}, err
		}
		return out, nil
	}
	if inv.onResolve != nil {
		inv.onResolve(r.version.config.Version)
	}
	res, err := s.runVersion(ctx, r, inv)
	if err != nil {
		return outcome{}, err
	}
	out.result = res
	return out, nil
}

// runVersion hands one invocation to the pool.
func (s *Service) runVersion(ctx context.Context, r *resolved, inv invocation) (*runtime.Result, error) {
	spec := r.version.spec
	if spec.ReservedConcurrency != nil && *spec.ReservedConcurrency == 0 {
		// AWS: a reserved concurrency of zero throttles every invocation.
		s.observe(inv.ref.Name, "throttle", 0)
		return nil, newThrottled(true)
	}
	payload := inv.payload
	if len(payload) == 0 {
		payload = []byte("{}")
	}
	var ended func()
	if s.metrics != nil {
		ended = s.metrics.InvokeStarted(inv.ref.Name)
	}
	start := time.Now()
	res, err := s.runner.Invoke(ctx, spec, runtime.Invocation{
		RequestID:          inv.requestID,
		Payload:            payload,
		InvokedFunctionARN: r.invokedARN,
		ClientContext:      inv.clientContext,
		TraceID:            inv.traceID,
		LogTail:            inv.logTail,
		Stream:             inv.stream,
	})
	if ended != nil {
		ended()
	}
	switch {
	case err == nil:
		outcome := "ok"
		if res.FunctionError != "" {
			outcome = "error"
		}
		s.observe(inv.ref.Name, outcome, time.Since(start))
		if s.metrics != nil && res.InitDuration > 0 {
			s.metrics.ObserveColdStart(inv.ref.Name, res.InitDuration)
		}
		return res, nil
	case errors.Is(err, runtime.ErrThrottled):
		s.observe(inv.ref.Name, "throttle", 0)
		return nil, newThrottled(spec.ReservedConcurrency != nil)
	case errors.Is(err, runtime.ErrClosed):
		return nil, &awsproto.Error{Status: http.StatusServiceUnavailable, Code: "ServiceException", Type: "Service",
			Message: "The function pool is shutting down; retry the invocation."}
	case ctx.Err() != nil:
		return nil, ctx.Err()
	}
	return nil, internalError("invoke %s: %w", r.invokedARN, err)
}

// observe reports an invocation's end to the metrics, when on.
func (s *Service) observe(function, outcome string, d time.Duration) {
	if s.metrics != nil {
		s.metrics.ObserveInvoke(function, outcome, d)
	}
}

// invokeHTTP is the Invoke API: POST /2015-03-31/functions/{name}/invocations.
func (s *Service) invokeHTTP(c *call) error {
	ref, err := s.parseFunctionRef(c.function, c.query("Qualifier"))
	if err != nil {
		return err
	}
	h := c.r.Header
	inv := invocation{ref: ref, kind: h.Get("X-Amz-Invocation-Type"), requestID: awsproto.RequestID(c.r.Context())}
	switch inv.kind {
	case "":
		inv.kind = typeRequestResponse
	case typeRequestResponse, typeEvent, typeDryRun:
	default:
		return validation("Value '%s' at 'invocationType' failed to satisfy constraint: Member must satisfy enum value set: [Event, RequestResponse, DryRun]", inv.kind)
	}
	switch lt := h.Get("X-Amz-Log-Type"); lt {
	case "", "None":
	case "Tail":
		inv.logTail = true
	default:
		return validation("Value '%s' at 'logType' failed to satisfy constraint: Member must satisfy enum value set: [None, Tail]", lt)
	}
	if cc := h.Get("X-Amz-Client-Context"); cc != "" {
		if inv.clientContext, err = decodeClientContext(cc); err != nil {
			return err
		}
	}
	inv.traceID = runtime.CleanTraceID(h.Get("X-Amzn-Trace-Id"))
	limit := maxSyncPayload
	if inv.kind == typeEvent {
		limit = maxAsyncPayload
	}
	if c.r.ContentLength > int64(limit) {
		if inv.kind == typeEvent {
			return asyncTooLarge(int(c.r.ContentLength))
		}
		return syncTooLarge()
	}
	payload, err := io.ReadAll(io.LimitReader(c.r.Body, int64(limit)+1))
	if err != nil {
		return badContent("Could not read request body: %v", err)
	}
	if len(payload) > limit {
		if inv.kind == typeEvent {
			return asyncTooLarge(len(payload))
		}
		return syncTooLarge()
	}
	if len(payload) > 0 && !json.Valid(payload) {
		// AWS refuses an Invoke payload that is not JSON.
		return badContent("Could not parse request body into json: Could not parse payload into json: Unexpected character: was expecting a JSON value")
	}
	inv.payload = payload
	out, err := s.invoke(c.r.Context(), inv)
	if err != nil {
		return err
	}
	w := c.w
	switch inv.kind {
	case typeDryRun:
		w.WriteHeader(http.StatusNoContent)
		return nil
	case typeEvent:
		w.WriteHeader(http.StatusAccepted)
		return nil
	}
	res := out.result
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amz-Executed-Version", out.executedVersion)
	if res.FunctionError != "" {
		w.Header().Set("X-Amz-Function-Error", res.FunctionError)
	}
	if inv.logTail {
		w.Header().Set("X-Amz-Log-Result", logResult(res.LogTail))
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(res.Payload)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(res.Payload)
	return nil
}
