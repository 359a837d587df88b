// Package gateway is API Gateway's data plane for REST (v1) and HTTP (v2) APIs: it
// picks the API and stage of an execute-api request, routes it through the stage's
// compiled route table, calls the integration (Lambda proxy with payload 1.0 or 2.0,
// non-proxy Lambda, HTTP proxy, HTTP, mock) and shapes the answer, including the
// gateway's own errors, as API Gateway does. It serves from an immutable
// compile.Snapshot held in an atomic pointer and never reads the store on the request
// path; a store watch recompiles and swaps the snapshot.
//
// One core serves both API kinds: the kind selects the payload defaults, the stage
// addressing and the error dialect (REST APIs answer through gateway responses,
// HTTP APIs with their fixed {"message":...} errors).
package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluice-dev/sluice/internal/apigw/access"
	"github.com/sluice-dev/sluice/internal/apigw/compile"
	"github.com/sluice-dev/sluice/internal/apigw/model"
	"github.com/sluice-dev/sluice/internal/invoke"
	"github.com/sluice-dev/sluice/internal/store"
)

// Options configure a Gateway.
type Options struct {
	Store   store.Store
	Invoker invoke.Invoker
	// Region and AccountID go into execute-api ARNs and payloads.
	Region    string
	AccountID string
	// HTTPClient calls HTTP and HTTP_PROXY integrations; nil means a keep-alive client
	// of the gateway's own.
	HTTPClient *http.Client
	Logger     *slog.Logger
	// Debounce is how long the watcher waits for a burst of store changes to settle
	// before recompiling; 0 means 5 ms.
	Debounce time.Duration
	// VPCLinkTargets maps private integrations' target ARNs to "host:port".
	VPCLinkTargets map[string]string
	// Counters count usage-plan quotas; nil counts in the store (exact across nodes,
	// durable), or in memory when there is no store.
	Counters access.Counters
	// AccountRateLimit and AccountBurstLimit throttle every request (shared among
	// the nodes with RateShare); zero means API Gateway's account defaults, 10,000 requests per second with a
	// burst of 5,000.
	AccountRateLimit  float64
	AccountBurstLimit int
	// RateShare, in a cluster, returns how many nodes serve: every rate limit
	// (account, stage, method, route, usage plan) is divided among them. nil: 1.
	RateShare func() int
	// IAM verifies AWS_IAM (SigV4, service execute-api) requests; nil refuses every
	// AWS_IAM method with 500 rather than serve it unchecked.
	IAM IAMAuthenticator
	// Observer, when set, sees every answered request (Prometheus metrics).
	Observer Observer
	// AccessLogs, when set, receives the access log lines of stages with
	// accessLogSettings.
	AccessLogs AccessLogSink
}

// IAMAuthenticator verifies the SigV4 signature of an execute-api request and names
// its caller with the caller's identity policies. Errors are *awsproto.Error values
// with AWS's execute-api status, code and message.
type IAMAuthenticator interface {
	AuthenticateInvoke(r *http.Request) (*access.Caller, error)
}

// Gateway serves execute-api requests. It is an http.Handler.
type Gateway struct {
	store    store.Store
	invoker  invoke.Invoker
	region   string
	account  string
	client   *http.Client
	log      *slog.Logger
	debounce time.Duration
	vpcLinks map[string]string

	iam          IAMAuthenticator
	observer     Observer
	accessLogs   AccessLogSink
	jwks         *access.KeySets // JWT authorizers' issuer keys, kept across snapshots
	counters     access.Counters
	limiters     *access.Limiters // token buckets, kept across snapshots
	accountRate  float64
	accountBurst int

	snap     atomic.Pointer[compile.Snapshot]
	reloadMu sync.Mutex // serializes Reload, so snapshots are swapped in store order
	// incr holds the compiled records between reloads and recompiles only the
	// APIs a watch event touched. Guarded by reloadMu.
	incr *compile.Incremental
}

// maxBodyBytes is API Gateway's payload limit, 10 MB (see "Amazon API Gateway quotas").
const maxBodyBytes = 10 << 20

// New returns a gateway serving an empty snapshot until Start compiles the store.
func New(opts Options) *Gateway {
	g := &Gateway{
		store:    opts.Store,
		invoker:  opts.Invoker,
		region:   opts.Region,
		account:  opts.AccountID,
		client:   opts.HTTPClient,
		log:      opts.Logger,
		debounce: opts.Debounce,
		vpcLinks: opts.VPCLinkTargets,
	}
	if g.log == nil {
		g.log = slog.New(slog.DiscardHandler)
	}
	g.iam = opts.IAM
	g.observer = opts.Observer
	g.accessLogs = opts.AccessLogs
	g.jwks = access.NewKeySets(nil)
	g.counters, g.limiters = opts.Counters, access.NewLimiters()
	g.limiters.Share = opts.RateShare
	if g.counters == nil {
		if g.store != nil {
			g.counters = access.StoreCounters{Store: g.store}
		} else {
			g.counters = &access.MemoryCounters{}
		}
	}
	g.accountRate, g.accountBurst = opts.AccountRateLimit, opts.AccountBurstLimit
	if g.accountRate <= 0 {
		g.accountRate = 10000
	}
	if g.accountBurst <= 0 {
		g.accountBurst = 5000
	}
	if g.client == nil {
		g.client = &http.Client{
			Transport: &http.Transport{
				Proxy:               http.ProxyFromEnvironment,
				DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
				MaxIdleConns:        512,
				MaxIdleConnsPerHost: 128,
				IdleConnTimeout:     90 * time.Second,
			},
			// Redirects are the client's business, as with API Gateway's HTTP proxy.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	if g.debounce <= 0 {
		g.debounce = 5 * time.Millisecond
	}
	g.snap.Store(compile.Build(nil, g.compileOptions()))
	return g
}

func (g *Gateway) compileOptions() compile.Options {
	return compile.Options{Region: g.region, AccountID: g.account, Logger: g.log, VPCLinkTargets: g.vpcLinks}
}

// Snapshot returns the snapshot currently served.
func (g *Gateway) Snapshot() *compile.Snapshot { return g.snap.Load() }

// Start compiles the store and starts watching it; it returns once the first snapshot
// is being served. The watch stops when ctx is done.
func (g *Gateway) Start(ctx context.Context) error {
	if g.store == nil {
		return errors.New("gateway: no store")
	}
	// Watch before listing so that no change between the two is lost.
	events, err := g.store.Watch(ctx, model.Prefix)
	if err != nil {
		return fmt.Errorf("gateway: watch %s: %w", model.Prefix, err)
	}
	if err := g.Reload(ctx); err != nil {
		return err
	}
	go g.watch(ctx, events)
	return nil
}

// Reload lists the store's API records, compiles them all and swaps the served
// snapshot. The watch then keeps it current incrementally (see apply).
func (g *Gateway) Reload(ctx context.Context) error {
	g.reloadMu.Lock()
	defer g.reloadMu.Unlock()
	start := time.Now()
	kvs, err := g.store.List(ctx, model.Prefix)
	if err != nil {
		return fmt.Errorf("gateway: compile: list %s: %w", model.Prefix, err)
	}
	g.incr = compile.NewIncremental(kvs, g.compileOptions())
	g.swap(g.incr.Snapshot(), start)
	return nil
}

// recompile swaps in a snapshot with the APIs changed since the last one
// recompiled; it is a no-op when nothing the compiler reads changed.
func (g *Gateway) recompile() {
	g.reloadMu.Lock()
	defer g.reloadMu.Unlock()
	start := time.Now()
	if snap := g.incr.Snapshot(); snap != g.snap.Load() {
		g.swap(snap, start)
	}
}

// apply takes one watch event; it reports whether a recompile is due.
func (g *Gateway) apply(ev store.Event) bool {
	g.reloadMu.Lock()
	defer g.reloadMu.Unlock()
	return g.incr != nil && g.incr.Apply(ev)
}

func (g *Gateway) swap(snap *compile.Snapshot, start time.Time) {
	if g.observer != nil {
		g.observer.ObserveCompile(time.Since(start))
	}
	g.snap.Store(snap)
	g.log.Debug("apigw snapshot swapped", "apis", snap.APIs(), "revision", snap.Revision)
}

// watch recompiles after every burst of changes. A closed channel (the watcher fell
// behind, or the store restarted) is answered by re-watching and recompiling.
func (g *Gateway) watch(ctx context.Context, events <-chan store.Event) {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	pending, relist := false, false
	for {
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case ev, ok := <-events:
			if !ok {
				// Events may have been lost: list everything again.
				if events = g.rewatch(ctx); events == nil {
					return
				}
				relist = true
			} else if !g.apply(ev) {
				// Routes, resources and integrations are compiled from the
				// deployment snapshot that a deploy writes; editing them alone
				// changes nothing served (cpbench: a fifth of the control plane's
				// CPU went to recompiling after each one).
				continue
			}
			if !pending {
				pending = true
				timer.Reset(g.debounce)
			}
		case <-timer.C:
			pending = false
			if !relist {
				g.recompile()
				continue
			}
			if err := g.Reload(ctx); err != nil && ctx.Err() == nil {
				g.log.Warn("apigw recompile failed; keeping the previous snapshot", "err", err)
				pending = true
				timer.Reset(time.Second)
				continue
			}
			relist = false
		}
	}
}

// rewatch opens a new watch, retrying every second until it succeeds; nil when ctx
// ends first.
func (g *Gateway) rewatch(ctx context.Context) <-chan store.Event {
	for ctx.Err() == nil {
		events, err := g.store.Watch(ctx, model.Prefix)
		if err == nil {
			return events
		}
		g.log.Warn("apigw watch failed; retrying", "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
	return nil
}

// IsDataPlaneRequest reports whether r is an execute-api request: Host
// "{apiId}.execute-api.{anything}" or path "/restapis/{apiId}/{stage}/_user_request_/...".
func IsDataPlaneRequest(r *http.Request) bool {
	if _, ok := apiIDFromHost(r.Host); ok {
		return true
	}
	_, _, _, ok := userRequestPath(r.URL.EscapedPath())
	return ok
}

// apiIDFromHost reads the API id out of "{apiId}.execute-api.{suffix}[:port]".
func apiIDFromHost(host string) (string, bool) {
	id, rest, ok := strings.Cut(host, ".")
	if !ok || id == "" || len(rest) < len("execute-api.") || !strings.EqualFold(rest[:len("execute-api.")], "execute-api.") {
		return "", false
	}
	return strings.ToLower(id), true
}

// userRequestPath splits "/restapis/{apiId}/{stage}/_user_request_/{path}" (the
// address form that needs no DNS) into its parts; path keeps its leading slash.
func userRequestPath(p string) (apiID, stage, path string, ok bool) {
	rest, ok := strings.CutPrefix(p, "/restapis/")
	if !ok {
		return "", "", "", false
	}
	apiID, rest, ok = strings.Cut(rest, "/")
	if !ok || apiID == "" {
		return "", "", "", false
	}
	stage, rest, ok = strings.Cut(rest, "/")
	if !ok || stage == "" {
		return "", "", "", false
	}
	if rest == "_user_request_" {
		return apiID, stage, "/", true
	}
	path, ok = strings.CutPrefix(rest, "_user_request_/")
	if !ok {
		return "", "", "", false
	}
	return apiID, stage, "/" + path, true
}
