// Package lambda owns Sluice's AWS Lambda API: the REST-JSON control plane that the
// AWS CLI, boto3 and the SDKs call (functions, versions, aliases, resource-based
// policies, concurrency, account settings), the Invoke API (RequestResponse, Event
// with a durable retrying queue, DryRun), and the invoke.Invoker other services use.
//
// The store is the source of truth: functions live under /lambda/functions/<name>,
// published versions under /lambda/versions/<name>/<n> (and a Lambda Managed
// Instances function's $LATEST.PUBLISHED at /lambda/versions/<name>/$LATEST.PUBLISHED,
// managed.go), aliases under
// /lambda/aliases/<name>/<alias> and queued Event invocations under /lambda/async/.
// Code zips live in a content-addressed blob store. A watch-fed in-memory cache lets
// Invoke resolve a function, its qualifier and its policy without touching the store.
package lambda

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/sluice-dev/sluice/internal/invoke"
	"github.com/sluice-dev/sluice/internal/runtime"
	"github.com/sluice-dev/sluice/internal/store"
)

// Runner runs invocations on warm function instances (the runtime pool).
type Runner interface {
	Invoke(ctx context.Context, spec *runtime.FunctionSpec, inv runtime.Invocation) (*runtime.Result, error)
}

// Blobs is the content-addressed store that holds code zips.
type Blobs interface {
	// Put stores r's bytes durably and returns their hex SHA-256 and size.
	Put(r io.Reader) (sha256Hex string, size int64, err error)
	// Path is the file holding the blob with that hex SHA-256.
	Path(sha256Hex string) string
	Exists(sha256Hex string) bool
}

// blobFetcher is a Blobs whose blobs may live elsewhere (a cluster's shared
// store): Fetch brings one into the local file Path names.
type blobFetcher interface {
	Fetch(ctx context.Context, sha256Hex string) error
}

// fetchCode makes the code blob readable at its Path on this node.
func (s *Service) fetchCode(ctx context.Context, sha string) error {
	if f, ok := s.blobs.(blobFetcher); ok {
		return f.Fetch(ctx, sha)
	}
	return nil
}

// RuntimeHost tells whether this node can run a runtime: nil when it can, else an
// error naming what is missing (an interpreter not on PATH, a runtime family Sluice
// has no runtime client for). The runtime shims implement it.
type RuntimeHost interface {
	RuntimeAvailable(runtime string) error
}

// Options configures a Service.
type Options struct {
	Store     store.Store
	Blobs     Blobs
	Runner    Runner
	Region    string // default us-east-1
	AccountID string // default 123456789012
	// Endpoint is the public base URL of Sluice's control plane (e.g.
	// "http://127.0.0.1:4566"); GetFunction's Code.Location points under it.
	Endpoint string
	// AsyncRetryDelays are the waits before the retries of a failed Event
	// invocation. AWS retries twice, after about one and then two minutes.
	AsyncRetryDelays []time.Duration
	// AsyncWorkers bounds how many Event invocations run at once (default 64).
	AsyncWorkers int
	// CodeSource reads Code.S3Bucket/S3Key packages; nil refuses them.
	CodeSource CodeSource
	// Runtimes decides whether a function's runtime can run here; a function whose
	// runtime cannot is created in State Failed (StateReasonCode InvalidRuntime), as
	// AWS does. Nil treats every runtime as available and leaves the pool to fail.
	Runtimes RuntimeHost
	// FunctionURLBase is the address of a function URL with url-id id, e.g.
	// "http://{id}.lambda-url.us-east-1.localhost:4566/" (AWS's is
	// https://{id}.lambda-url.{region}.on.aws/); default derived from Endpoint.
	FunctionURLBase func(id string) string
	// URLAuth verifies requests to AWS_IAM function URLs; nil refuses them all.
	URLAuth URLAuthenticator
	// Clock is the time runtime deprecation dates are checked against (tests);
	// default time.Now.
	Clock func() time.Time
	// CodeURLSecret signs GetFunction's Code.Location download URLs; nodes that
	// serve one API share it. Random per process when empty.
	CodeURLSecret []byte
	// Metrics, when set, sees every invocation (Prometheus).
	Metrics InvokeObserver
	Logger  *slog.Logger
	// SweepsSharedBlobs reports whether this node may sweep Blobs, when they are
	// shared with other nodes (a cluster's bucket): only the elected leader
	// does, so nodes do not race each other deleting. Each node still sweeps its
	// own extracted code. Nil means always (one node, its own blobs).
	SweepsSharedBlobs func() bool
	// GCInterval is how often unreferenced code is swept (default an hour).
	GCInterval time.Duration
	// AccountConcurrency is the account's concurrency limit (AWS's default
	// quota, 1000, when zero): reserved concurrency comes out of it
	// (PutFunctionConcurrency, GetAccountSettings).
	AccountConcurrency int
}

// InvokeObserver sees invocations as they run: InvokeStarted when one starts in an
// instance (its func when it ends), ObserveInvoke with outcome "ok", "error" (a
// function error) or "throttle" (refused for concurrency, never ran), and
// ObserveColdStart when an invocation was an instance's first, with its init time.
type InvokeObserver interface {
	InvokeStarted(function string) func()
	ObserveInvoke(function, outcome string, d time.Duration)
	ObserveColdStart(function string, init time.Duration)
}

// Service is the Lambda API. It implements http.Handler and invoke.Invoker.
type Service struct {
	// accountLimit is the account's concurrency (Options.AccountConcurrency).
	accountLimit int
	// refs caches parsed function names (names.go).
	refs     refCache
	metrics  InvokeObserver
	store    store.Store
	blobs    Blobs
	runner   Runner
	region   string
	account  string
	endpoint string
	codeURLs *codeURLs
	log      *slog.Logger
	runtimes RuntimeHost
	urlBase  func(id string) string
	urlAuth  URLAuthenticator
	now      func() time.Time

	retryDelays  []time.Duration
	asyncWorkers int

	sweepsBlobs func() bool
	gcInterval  time.Duration

	cache      *functionCache
	codeSource CodeSource

	// async is the Event queue scheduler; nil until Start.
	asyncMu sync.Mutex // guards async
	async   *asyncQueue

	wg sync.WaitGroup // background goroutines started by Start
}

var (
	_ http.Handler   = (*Service)(nil)
	_ invoke.Invoker = (*Service)(nil)
)

// New validates opts and builds a Service. Call Start before serving invokes so the
// cache is loaded and queued Event invocations run.
func New(opts Options) (*Service, error) {
	if opts.Store == nil {
		return nil, errors.New("lambda: Options.Store is required")
	}
	if opts.Blobs == nil {
		return nil, errors.New("lambda: Options.Blobs is required")
	}
	if opts.Runner == nil {
		return nil, errors.New("lambda: Options.Runner is required")
	}
	s := &Service{
		metrics:      opts.Metrics,
		store:        opts.Store,
		blobs:        opts.Blobs,
		runner:       opts.Runner,
		region:       opts.Region,
		account:      opts.AccountID,
		endpoint:     opts.Endpoint,
		log:          opts.Logger,
		runtimes:     opts.Runtimes,
		urlBase:      opts.FunctionURLBase,
		urlAuth:      opts.URLAuth,
		now:          opts.Clock,
		retryDelays:  opts.AsyncRetryDelays,
		asyncWorkers: opts.AsyncWorkers,
		codeSource:   opts.CodeSource,
		sweepsBlobs:  opts.SweepsSharedBlobs,
		gcInterval:   opts.GCInterval,
		accountLimit: cmp.Or(opts.AccountConcurrency, accountConcurrent),
	}
	if s.sweepsBlobs == nil {
		s.sweepsBlobs = func() bool { return true }
	}
	if s.gcInterval <= 0 {
		s.gcInterval = gcInterval
	}
	if s.region == "" {
		s.region = "us-east-1"
	}
	if s.account == "" {
		s.account = "123456789012"
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.codeURLs = newCodeURLs(opts.CodeURLSecret, s.region)
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.retryDelays == nil {
		// AWS: "If the function returns an error, Lambda attempts to run it two more
		// times, with a one-minute wait between the first two attempts, and two
		// minutes between the second and third attempts."
		s.retryDelays = []time.Duration{time.Minute, 2 * time.Minute}
	}
	if s.asyncWorkers <= 0 {
		s.asyncWorkers = 64
	}
	s.cache = newFunctionCache(s)
	return s, nil
}

// Start loads every function into the invoke cache, then keeps the cache current
// from a store watch and runs the Event queue's workers, until ctx is done. It
// returns once the cache is loaded; Wait blocks until the background work stopped.
func (s *Service) Start(ctx context.Context) error {
	// Watch before loading, so no change between the load and the watch is missed.
	events, err := s.store.Watch(ctx, "/lambda/")
	if err != nil {
		return fmt.Errorf("lambda: watch store: %w", err)
	}
	if err := s.cache.loadAll(ctx); err != nil {
		return fmt.Errorf("lambda: load functions: %w", err)
	}
	q := newAsyncQueue(s)
	if err := q.load(ctx); err != nil {
		return fmt.Errorf("lambda: load queued events: %w", err)
	}
	s.asyncMu.Lock()
	s.async = q
	s.asyncMu.Unlock()
	s.wg.Add(3)
	go func() { defer s.wg.Done(); s.watch(ctx, events) }()
	go func() { defer s.wg.Done(); q.run(ctx) }()
	go func() { defer s.wg.Done(); s.collectGarbageLoop(ctx) }()
	return nil
}

func (s *Service) asyncQueue() *asyncQueue {
	s.asyncMu.Lock()
	defer s.asyncMu.Unlock()
	return s.async
}

// Drain stops starting queued async events and waits for the running ones to
// finish, until ctx ends (a node's shutdown grace). It returns how many were
// still running; those are released when the service stops and run again later
// (here after a restart, or on another node).
func (s *Service) Drain(ctx context.Context) int {
	if q := s.asyncQueue(); q != nil {
		return q.drain(ctx)
	}
	return 0
}

// Wait blocks until the goroutines started by Start have returned (after Start's
// context is done).
func (s *Service) Wait() { s.wg.Wait() }

func (s *Service) functionARN(name string) string {
	return "arn:aws:lambda:" + s.region + ":" + s.account + ":function:" + name
}

func (s *Service) qualifiedARN(name, qualifier string) string {
	if qualifier == "" {
		return s.functionARN(name)
	}
	return s.functionARN(name) + ":" + qualifier
}
