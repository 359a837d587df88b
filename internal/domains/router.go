package domains

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/sluice-dev/sluice/internal/apigw/gateway"
	"github.com/sluice-dev/sluice/internal/apigw/model"
	"github.com/sluice-dev/sluice/internal/listen"
	"github.com/sluice-dev/sluice/internal/store"
)

// watchPrefix covers domain names and mappings.
const watchPrefix = "/domains/"

// Gateway is what the router needs of the data plane.
type Gateway interface {
	ServeHTTP(w http.ResponseWriter, r *http.Request)
	ServeTarget(w http.ResponseWriter, r *http.Request, t gateway.Target)
	ServePrivate(w http.ResponseWriter, r *http.Request, apiID string, ep gateway.Endpoint)
}

// Certificates hands out parsed certificates by ACM ARN (memory only: it is called
// on every handshake).
type Certificates interface {
	Certificate(arn string) *tls.Certificate
}

// Options configure a Router.
type Options struct {
	Store        store.Store
	Gateway      Gateway
	Certificates Certificates
	// DefaultCertificate is served for SNI no custom domain claims (the
	// *.execute-api certificate of --tls-cert); nil fails such handshakes.
	DefaultCertificate func() *tls.Certificate
	// HTTPSRedirect answers plain HTTP for a custom domain with a redirect to
	// https instead of 403.
	HTTPSRedirect bool
	// Challenges answers ACME challenges (HTTP-01 on plain listeners, TLS-ALPN-01
	// in the handshake); nil when ACME is off.
	Challenges Challenges
	// PrivateEndpoints serves PRIVATE APIs on private listeners. Off, private
	// listeners answer 403: a PRIVATE API is defined by its resource policy
	// (aws:SourceVpce), and a build that cannot evaluate it must not serve one.
	PrivateEndpoints bool
	Logger           *slog.Logger
}

// Challenges is the ACME side of the listeners.
type Challenges interface {
	// HandleHTTP serves r if it is an HTTP-01 challenge request.
	HandleHTTP(w http.ResponseWriter, r *http.Request) bool
	// ALPNCertificate returns the TLS-ALPN-01 challenge certificate for a
	// handshake that offers only acme-tls/1.
	ALPNCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error)
}

// Router is the data plane's front: custom domains, private endpoints, then the
// gateway's own execute-api addressing.
type Router struct {
	opts  Options
	log   *slog.Logger
	table atomic.Pointer[Table]

	reloadMu sync.Mutex // serializes reloads so tables swap in store order
}

// New returns a router with an empty table until Start.
func New(opts Options) *Router {
	rt := &Router{opts: opts, log: opts.Logger}
	if rt.log == nil {
		rt.log = slog.New(slog.DiscardHandler)
	}
	rt.table.Store(Build(nil, nil, 0))
	return rt
}

// Table returns the table currently served.
func (rt *Router) Table() *Table { return rt.table.Load() }

// Start compiles the stored domains and keeps the table current until ctx ends.
func (rt *Router) Start(ctx context.Context) error {
	err := store.Follow(ctx, rt.opts.Store, watchPrefix, rt.Reload, func(err error) {
		rt.log.Warn("domains: reload failed; keeping the previous table", "err", err)
	})
	if err != nil {
		return fmt.Errorf("domains: %w", err)
	}
	return nil
}

// Reload recompiles the table from the store.
func (rt *Router) Reload(ctx context.Context) error {
	rt.reloadMu.Lock()
	defer rt.reloadMu.Unlock()
	r := store.ReaderOf(ctx, rt.opts.Store)
	kvs, err := r.List(watchPrefix)
	if err != nil {
		return fmt.Errorf("domains: %w", err)
	}
	var rev int64
	for _, kv := range kvs {
		rev = max(rev, kv.Revision)
	}
	names, err := store.ListRecords[model.DomainName](r, model.DomainPrefix)
	if err != nil {
		return fmt.Errorf("domains: %w", err)
	}
	mappings, err := store.ListRecords[model.DomainMapping](r, model.DomainMappingPrefix)
	if err != nil {
		return fmt.Errorf("domains: %w", err)
	}
	rt.table.Store(Build(names, mappings, rev))
	rt.log.Debug("domains table swapped", "domains", len(names), "mappings", len(mappings))
	return nil
}

// InUseBy lists the custom domain names whose certificate is arn (ACM's InUseBy).
func (rt *Router) InUseBy(ctx context.Context, arn string) ([]string, error) {
	names, err := store.ListRecords[model.DomainName](store.ReaderOf(ctx, rt.opts.Store), model.DomainPrefix)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, n := range names {
		if n.CertificateArn == arn {
			out = append(out, n.Name)
		}
	}
	return out, nil
}

// IsDataPlane reports whether a request on the combined listener is for the data
// plane: a custom domain's host, an ACME challenge, or the execute-api forms.
func (rt *Router) IsDataPlane(r *http.Request) bool {
	if rt.Table().Lookup(hostWithoutPort(r.Host)) != nil {
		return true
	}
	if rt.opts.Challenges != nil && strings.HasPrefix(r.URL.Path, "/.well-known/acme-challenge/") {
		return true
	}
	return gateway.IsDataPlaneRequest(r)
}

// ServeHTTP serves a data-plane request on any listener.
func (rt *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	info := listen.FromContext(r.Context())
	if r.TLS == nil && rt.opts.Challenges != nil && rt.opts.Challenges.HandleHTTP(w, r) {
		return
	}
	if info != nil && info.Kind == listen.Private {
		rt.servePrivate(w, r, info)
		return
	}
	host := hostWithoutPort(r.Host)
	if d := rt.Table().Lookup(host); d != nil {
		rt.serveDomain(w, r, d)
		return
	}
	if gateway.IsDataPlaneRequest(r) {
		rt.opts.Gateway.ServeHTTP(w, r)
		return
	}
	forbidden(w)
}

// serveDomain serves a custom domain: HTTPS only, then the longest base path.
func (rt *Router) serveDomain(w http.ResponseWriter, r *http.Request, d *Domain) {
	if r.TLS == nil {
		// API Gateway's custom domains listen on HTTPS only; plain HTTP never
		// reaches the API.
		if rt.opts.HTTPSRedirect && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			http.Redirect(w, r, "https://"+hostWithoutPort(r.Host)+r.URL.RequestURI(), http.StatusMovedPermanently)
			return
		}
		forbidden(w)
		return
	}
	escaped := r.URL.EscapedPath()
	m, rest, ok := d.Match(escaped)
	if !ok {
		forbidden(w)
		return
	}
	stage := m.Stage
	if stage == "" {
		// A REST base path mapping without a stage: the caller names it next.
		stage, rest = firstSegment(rest)
	}
	rt.opts.Gateway.ServeTarget(w, r, gateway.Target{APIID: m.APIID, Stage: stage, Path: rest, RequestPath: escaped})
}

// servePrivate serves a private endpoint: the API from x-apigw-api-id, the
// {apiId}-{vpceId} host, or the {apiId}.execute-api host (private DNS).
func (rt *Router) servePrivate(w http.ResponseWriter, r *http.Request, info *listen.Info) {
	if !rt.opts.PrivateEndpoints {
		forbidden(w)
		return
	}
	ep := gateway.Endpoint{VPCE: info.VPCE}
	apiID := strings.ToLower(r.Header.Get("X-Apigw-Api-Id"))
	if apiID == "" {
		first, rest, _ := strings.Cut(hostWithoutPort(r.Host), ".")
		if !strings.HasPrefix(strings.ToLower(rest), "execute-api.") {
			forbidden(w)
			return
		}
		first = strings.ToLower(first)
		if id, vpce, ok := strings.Cut(first, "-vpce-"); ok {
			if "vpce-"+vpce != info.VPCE {
				// Another endpoint's alias host: not this endpoint's to serve.
				forbidden(w)
				return
			}
			apiID, ep.ByAliasHost = id, true
		} else {
			apiID = first
		}
	}
	if apiID == "" {
		forbidden(w)
		return
	}
	rt.opts.Gateway.ServePrivate(w, r, apiID, ep)
}

// TLSConfig is the configuration of a TLS listener: the certificate by SNI (a
// custom domain's ACM certificate with its securityPolicy, else the default), and
// ACME's TLS-ALPN-01 challenges.
func (rt *Router) TLSConfig(listen.Spec) *tls.Config {
	base := &tls.Config{MinVersion: tls.VersionTLS12, NextProtos: []string{"h2", "http/1.1"}}
	base.GetConfigForClient = func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
		if rt.opts.Challenges != nil && len(hello.SupportedProtos) == 1 && hello.SupportedProtos[0] == "acme-tls/1" {
			cert, err := rt.opts.Challenges.ALPNCertificate(hello)
			if err != nil {
				return nil, err
			}
			return &tls.Config{Certificates: []tls.Certificate{*cert}, NextProtos: []string{"acme-tls/1"}}, nil
		}
		if d := rt.Table().Lookup(hello.ServerName); d != nil {
			cert := rt.opts.Certificates.Certificate(d.CertARN)
			if cert == nil {
				return nil, fmt.Errorf("custom domain %s: certificate %s is not issued", d.Name, d.CertARN)
			}
			return &tls.Config{MinVersion: d.MinVersion, Certificates: []tls.Certificate{*cert}, NextProtos: base.NextProtos}, // TLS 1.0/1.1 need the CBC suites; Go's defaults keep them.
				nil
		}
		if rt.opts.DefaultCertificate != nil {
			if c := rt.opts.DefaultCertificate(); c != nil {
				return &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{*c}, NextProtos: base.NextProtos}, nil
			}
		}
		return nil, fmt.Errorf("no certificate for server name %q", hello.ServerName)
	}
	return base
}

// forbidden is API Gateway's answer for a host or path that reaches no API.
func forbidden(w http.ResponseWriter) {
	h := w.Header()
	h["Content-Type"] = []string{"application/json"}
	h["X-Amzn-Errortype"] = []string{"ForbiddenException"}
	w.WriteHeader(http.StatusForbidden)
	_, _ = w.Write([]byte(`{"message":"Forbidden"}`))
}

func hostWithoutPort(h string) string {
	if host, _, err := net.SplitHostPort(h); err == nil {
		return host
	}
	return h
}

// firstSegment splits "/a/b/c" into "a" and "/b/c" ("/a" into "a" and "/").
func firstSegment(p string) (string, string) {
	p = strings.TrimPrefix(p, "/")
	first, rest, ok := strings.Cut(p, "/")
	if !ok {
		return first, "/"
	}
	return first, "/" + rest
}
