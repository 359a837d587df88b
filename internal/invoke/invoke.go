// Package invoke holds the types by which one part of Sluice asks Lambda to run a
// function (the gateway, object-store notifications, authorizers) without importing
// the lambda package: callers define an Invoker interface over these types.
package invoke

import "context"

// Request is one invocation of a function by a service or a client.
type Request struct {
	// Function is a function name, partial ARN or full ARN, optionally qualified
	// (":version" or ":alias"); Qualifier, if set, overrides the ARN's qualifier.
	Function  string
	Qualifier string
	Payload   []byte

	// Principal is the service principal invoking on a user's behalf, e.g.
	// "apigateway.amazonaws.com". When set, the function's resource-based policy must
	// allow it for SourceARN/SourceAccount or the invocation is refused with an
	// *awsproto.Error whose Code is "AccessDeniedException".
	Principal     string
	SourceARN     string
	SourceAccount string

	// Async queues the event (InvocationType Event) instead of waiting for the result.
	Async bool
	// DryRun only checks that the function exists and that Principal may invoke it
	// (InvocationType DryRun); S3 does this when a notification is configured.
	DryRun        bool
	LogTail       bool   // return the last 4 KB of logs
	ClientContext string // base64 JSON, as the Invoke API's X-Amz-Client-Context
	// TraceID is the caller's X-Amzn-Trace-Id (API Gateway's, for its requests);
	// the function sees it as Lambda-Runtime-Trace-Id and _X_AMZN_TRACE_ID.
	TraceID string
}

// Response is the outcome of a synchronous invocation that reached the function.
// Handler errors, timeouts and crashes are responses with FunctionError set, not Go
// errors; Go errors are reserved for failures to invoke at all (not found, throttled,
// access denied, context cancelled), typed as *awsproto.Error where AWS has a code.
type Response struct {
	Payload         []byte
	FunctionError   string // "" or "Unhandled"
	LogResult       string // base64 tail of the logs when LogTail was asked for
	ExecutedVersion string
}

// Invoker runs functions. The lambda service implements it.
type Invoker interface {
	Invoke(ctx context.Context, req *Request) (*Response, error)
}
