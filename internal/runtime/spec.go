package runtime

import (
	"errors"
	"time"
)

// FunctionSpec is everything the pool needs to start instances of one function
// version. The lambda service builds it from the stored configuration. Instances are
// pooled by Key: when the configuration or code changes, Key changes, and instances of
// the old Key are drained and never serve another invocation.
type FunctionSpec struct {
	Key          string // unique per (function, version, revision); e.g. name + ":" + version + ":" + revisionId
	FunctionName string
	FunctionARN  string // unqualified
	Role         string // execution role ARN: whose session the instance's credentials are
	Version      string // "$LATEST" or "1", "2", ...
	Runtime      string // provided.*, nodejs18.x..nodejs24.x, python3.9..python3.14 (lambda checks AWS's list)
	// RuntimeVersionARN is RuntimeVersionConfig.RuntimeVersionArn, named in INIT_START.
	RuntimeVersionARN string
	Handler           string // "index.handler", "app.lambda_handler"; ignored by provided.*
	CodeZip           string // path of the function's zip on disk (content-addressed)
	CodeSHA256        string // hex SHA-256 of the zip; extraction cache key
	Environment       map[string]string
	MemoryMB          int
	// EphemeralStorageMB is the size of the instance's private /tmp (512 when
	// zero), enforced when instances are sandboxed.
	EphemeralStorageMB int
	Timeout            time.Duration
	// Layers are the function's layers in the order configured; their contents are
	// presented to the process the way Lambda presents them under /opt.
	Layers []LayerSpec
	// LogFormat ("Text" when empty, or "JSON"), ApplicationLogLevel and
	// SystemLogLevel are the function's LoggingConfig (logformat.go); LogKey is the
	// log store key its lines go to (FunctionName when empty) and LogGroup the log
	// group named in AWS_LAMBDA_LOG_GROUP_NAME (/aws/lambda/FunctionName when empty).
	LogFormat           string
	ApplicationLogLevel string
	SystemLogLevel      string
	LogKey              string
	LogGroup            string
	// ReservedConcurrency caps concurrent instances of the whole function (all
	// versions share it); nil means unreserved (bounded by the node's max instances).
	ReservedConcurrency *int
	// MaxConcurrency is how many invocations one instance serves at once: the
	// function's PerExecutionEnvironmentMaxConcurrency on a Lambda Managed
	// Instances capacity provider. 0 or 1 is Lambda's classic model, one
	// invocation per instance at a time. Above 1 the process gets
	// AWS_LAMBDA_MAX_CONCURRENCY=N, its Runtime API serves up to N /next polls at
	// once, and the pool fills an instance's free slots before it starts another
	// (multi.go).
	MaxConcurrency int
}

// slots is how many invocations an instance of spec serves at once.
func (spec *FunctionSpec) slots() int {
	return max(spec.MaxConcurrency, 1)
}

// multi reports whether spec's instances serve several invocations at once.
func (spec *FunctionSpec) multi() bool { return spec.MaxConcurrency > 1 }

// LayerSpec is one layer version's zip.
type LayerSpec struct {
	ZipPath   string // content-addressed zip on disk
	SHA256Hex string // extraction cache key
}

// Invocation is one request for a function.
type Invocation struct {
	RequestID          string // Lambda request id; generated when empty
	Payload            []byte
	InvokedFunctionARN string // the ARN as the caller named it (qualified if it was)
	ClientContext      string // decoded JSON
	CognitoIdentity    string
	TraceID            string
	LogTail            bool
	// Stream, when set, receives the response as the function writes it if the
	// runtime streams it (Lambda-Runtime-Function-Response-Mode: streaming); a
	// buffered response still comes back in Result.Payload.
	Stream ResponseStream
}

// ResponseStream receives a streamed response (InvokeWithResponseStream, function
// URLs in RESPONSE_STREAM mode) while the function writes it.
type ResponseStream interface {
	// Start is called once, before the first Write, with the Content-Type the
	// runtime declared (application/octet-stream when it declared none).
	Start(contentType string)
	Write(p []byte) (int, error)
	Flush()
}

// Result is the outcome of an invocation that ran. A handler error, timeout, crash or
// init failure is a Result with FunctionError "Unhandled" and Payload the AWS error
// object ({"errorMessage":...,"errorType":...}), not a Go error.
type Result struct {
	RequestID     string
	Payload       []byte
	FunctionError string // "" | "Unhandled"
	LogTail       []byte // last 4 KB of this invocation's log lines, when asked for
	// InitDuration is the instance's init time when this invocation was its cold
	// start (REPORT's Init Duration), 0 on a warm instance.
	InitDuration time.Duration
	// Streamed is true when the response went to Invocation.Stream; Payload is then
	// empty, or the error object when the stream ended in an error.
	Streamed bool
}

// Errors Invoke returns when an invocation could not run at all.
var (
	// ErrThrottled: no instance became free in time and no new one may start
	// (reserved concurrency or --max-instances reached). Lambda maps it to 429
	// TooManyRequestsException.
	ErrThrottled = errors.New("runtime: rate exceeded")
	// ErrClosed: the pool is shutting down.
	ErrClosed = errors.New("runtime: pool closed")
	// ErrSandboxUnavailable: Sluice runs as root but cannot sandbox functions
	// (NewPool refuses rather than run them as root).
	ErrSandboxUnavailable = errors.New("runtime: function sandbox unavailable")
)
