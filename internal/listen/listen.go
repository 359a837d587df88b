// Package listen owns Sluice's network listeners: the addresses it binds, what each
// one is (the combined control+data listener, a public data-plane listener, or a
// private endpoint with its vpce id), TLS with the certificate chosen by SNI, the
// PROXY protocol, and the limits that keep a slow or greedy client from holding a
// listener (header, body and idle timeouts, header size, concurrent connections).
// A Set applies a list of Specs and can be given a new list at any time (SIGHUP):
// new listeners open first, removed ones close gracefully, in-flight requests finish.
package listen

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	proxyproto "github.com/pires/go-proxyproto"
)

// Kind is what a listener serves.
type Kind string

const (
	// Public is a data-plane listener on the public side: execute-api hosts and
	// custom domains; PRIVATE APIs are not reachable through it.
	Public Kind = "public"
	// Private is a private-endpoint listener (Sluice's interface VPC endpoint):
	// PRIVATE APIs by {apiId}-{vpceId} host or x-apigw-api-id header.
	Private Kind = "private"
)

// Spec is one listener as configured.
type Spec struct {
	Address string `mapstructure:"address" yaml:"address"`
	Kind    Kind   `mapstructure:"kind" yaml:"kind"`
	// VPCE is the endpoint id of a private listener ("vpce-0123456789abcdef0").
	VPCE string `mapstructure:"vpce" yaml:"vpce"`
	TLS  bool   `mapstructure:"tls" yaml:"tls"`
	// ProxyProtocol makes the listener require a PROXY protocol v1 or v2 header on
	// every connection (a load balancer in front), whose source address becomes the
	// request's client address.
	ProxyProtocol bool `mapstructure:"proxyProtocol" yaml:"proxyProtocol"`
	// Control marks the combined listener (--listen): it serves the control plane
	// as well as the data plane.
	Control bool `mapstructure:"-" yaml:"-"`
}

func (s Spec) String() string {
	var b strings.Builder
	b.WriteString(s.Address)
	b.WriteString(" ")
	b.WriteString(string(s.Kind))
	if s.VPCE != "" {
		b.WriteString("=" + s.VPCE)
	}
	if s.TLS {
		b.WriteString(" tls")
	}
	if s.ProxyProtocol {
		b.WriteString(" proxy-protocol")
	}
	if s.Control {
		b.WriteString(" control")
	}
	return b.String()
}

// Validate checks a spec before anything binds.
func (s Spec) Validate() error {
	if _, _, err := net.SplitHostPort(s.Address); err != nil {
		return fmt.Errorf("listener %q: %w", s.Address, err)
	}
	switch s.Kind {
	case Public:
		if s.VPCE != "" {
			return fmt.Errorf("listener %s: vpce is only for kind private", s.Address)
		}
	case Private:
		if !ValidVPCE(s.VPCE) {
			return fmt.Errorf("listener %s: kind private needs vpce: an endpoint id like vpce-0123456789abcdef0 (got %q)", s.Address, s.VPCE)
		}
		if s.Control {
			return fmt.Errorf("listener %s: the control-plane listener cannot be private", s.Address)
		}
	default:
		return fmt.Errorf("listener %s: kind %q: want public or private", s.Address, s.Kind)
	}
	return nil
}

// ValidVPCE reports whether id looks like an interface VPC endpoint id:
// "vpce-" and 1 to 17 lowercase hex digits or letters.
func ValidVPCE(id string) bool {
	rest, ok := strings.CutPrefix(id, "vpce-")
	if !ok || rest == "" || len(rest) > 17 {
		return false
	}
	return strings.Trim(rest, "0123456789abcdefghijklmnopqrstuvwxyz") == ""
}

// Limits bound what one client can hold on a listener. The zero value of each field
// means its default (DefaultLimits), never "unlimited".
type Limits struct {
	// ReadHeaderTimeout bounds reading a request's line and headers (and a TLS
	// handshake): a slowloris client is cut off after it.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading a whole request, body included.
	ReadTimeout time.Duration
	// WriteTimeout bounds a request from the end of its headers to the end of its
	// answer. The control listener needs room for a 15-minute synchronous Invoke.
	WriteTimeout        time.Duration
	ControlWriteTimeout time.Duration
	// IdleTimeout closes keep-alive connections that sent nothing for that long.
	IdleTimeout time.Duration
	// MaxHeaderBytes caps the request line and headers.
	MaxHeaderBytes int
	// MaxConns caps the connections open at once per listener. At the cap the
	// oldest connection that is idle or has not finished a request is closed to
	// make room; when every one is busy mid-request, the new one is closed.
	MaxConns int
	// MaxBodyBytes caps a request body, enforced while it streams (the handler's
	// read fails past it and the connection closes); ControlMaxBodyBytes is the
	// combined listener's (function zips ride the control plane).
	MaxBodyBytes        int64
	ControlMaxBodyBytes int64
}

// DefaultLimits are the limits of a listener told nothing else.
func DefaultLimits() Limits {
	return Limits{
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		// API Gateway's longest integration timeout is 29 s by default; leave room
		// for raised quotas and slow clients reading the answer.
		WriteTimeout:        5 * time.Minute,
		ControlWriteTimeout: 16 * time.Minute,
		IdleTimeout:         2 * time.Minute,
		// API Gateway caps the request line and headers at 10 KB; a little more
		// slack here keeps big-cookie browsers working on the control plane.
		MaxHeaderBytes: 64 << 10,
		MaxConns:       4096,
		// 10 MB is API Gateway's payload limit; one byte more lets the gateway
		// itself answer 413 in AWS's shape.
		MaxBodyBytes:        10<<20 + 1,
		ControlMaxBodyBytes: 80 << 20,
	}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	positiveOr(&l.ReadHeaderTimeout, d.ReadHeaderTimeout)
	positiveOr(&l.ReadTimeout, d.ReadTimeout)
	positiveOr(&l.WriteTimeout, d.WriteTimeout)
	positiveOr(&l.ControlWriteTimeout, d.ControlWriteTimeout)
	positiveOr(&l.IdleTimeout, d.IdleTimeout)
	positiveOr(&l.MaxHeaderBytes, d.MaxHeaderBytes)
	positiveOr(&l.MaxConns, d.MaxConns)
	positiveOr(&l.MaxBodyBytes, d.MaxBodyBytes)
	positiveOr(&l.ControlMaxBodyBytes, d.ControlMaxBodyBytes)
	return l
}

// positiveOr sets *v to d unless it is positive (zero means "the default").
func positiveOr[T ~int | ~int64](v *T, d T) {
	if *v <= 0 {
		*v = d
	}
}

// Info is what a handler learns about the listener a request came in on.
type Info struct {
	Spec
	// Bound is the address actually bound (the port filled in for ":0").
	Bound string
}

type infoKey struct{}

// FromContext returns the listener of a request's context, nil outside one.
func FromContext(ctx context.Context) *Info {
	i, _ := ctx.Value(infoKey{}).(*Info)
	return i
}

// WithInfo returns ctx carrying info (for tests and in-process callers).
func WithInfo(ctx context.Context, info *Info) context.Context {
	return context.WithValue(ctx, infoKey{}, info)
}

// Options configure a Set.
type Options struct {
	// Handler serves every listener's requests; it tells them apart with FromContext.
	Handler http.Handler
	Limits  Limits
	// TLSConfig is the TLS configuration of TLS listeners (certificates chosen by
	// SNI); nil makes a TLS spec an error.
	TLSConfig func(Spec) *tls.Config
	// TrustedProxies are the peers whose X-Forwarded-For is believed: the client
	// address becomes the rightmost entry not itself a trusted proxy.
	TrustedProxies []*net.IPNet
	Logger         *slog.Logger
	// Listen opens the socket; nil means net.Listen("tcp", addr).
	Listen func(addr string) (net.Listener, error)
}

// Set is the running listeners.
type Set struct {
	opts   Options
	limits Limits
	log    *slog.Logger
	errc   chan error

	mu      sync.Mutex // guards running and closed
	running map[Spec]*listener
	closed  bool
}

// listener is one bound address and its http.Server.
type listener struct {
	info  *Info
	srv   *http.Server
	guard *guard
	// serveOn is the listener Serve accepts from: the guard, wrapped by the PROXY
	// protocol reader and TLS as configured.
	serveOn net.Listener
	done    chan struct{} // closed when Serve returned
}

// NewSet returns a Set with no listeners.
func NewSet(opts Options) *Set {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Listen == nil {
		opts.Listen = func(addr string) (net.Listener, error) { return net.Listen("tcp", addr) }
	}
	return &Set{opts: opts, limits: opts.Limits.withDefaults(), log: opts.Logger,
		errc: make(chan error, 1), running: map[Spec]*listener{}}
}

// Errors reports a listener that stopped serving on its own (not by Apply or
// Shutdown).
func (s *Set) Errors() <-chan error { return s.errc }

// Apply makes the running listeners be exactly specs. Listeners whose spec is
// unchanged keep serving untouched; new ones are bound first (an error binds none
// of the new ones and changes nothing); removed ones stop accepting and close once
// their in-flight requests finish, within ctx.
func (s *Set) Apply(ctx context.Context, specs []Spec) error {
	seen := map[Spec]bool{}
	for _, sp := range specs {
		if err := sp.Validate(); err != nil {
			return err
		}
		if sp.TLS && s.opts.TLSConfig == nil {
			return fmt.Errorf("listener %s: TLS needs certificates (none configured)", sp.Address)
		}
		if seen[sp] {
			return fmt.Errorf("listener %s listed twice", sp)
		}
		seen[sp] = true
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return errors.New("listen: set is shut down")
	}
	var opened []*listener
	var removed []*listener
	for sp := range seen {
		if s.running[sp] != nil {
			continue
		}
		// A spec that changes only its options on the same address must release
		// the port before the new one binds.
		for old, l := range s.running {
			if old.Address == sp.Address && !seen[old] {
				removed = append(removed, l)
				delete(s.running, old)
			}
		}
	}
	for _, l := range removed {
		l.guard.Close() // free the port now; connections drain below
	}
	for sp := range seen {
		if s.running[sp] != nil {
			continue
		}
		l, err := s.open(sp)
		if err != nil {
			for _, o := range opened {
				o.guard.Close()
				o.srv.Close()
			}
			s.mu.Unlock()
			s.drain(ctx, removed)
			return err
		}
		opened = append(opened, l)
	}
	for sp, l := range s.running {
		if !seen[sp] {
			removed = append(removed, l)
			delete(s.running, sp)
		}
	}
	for _, l := range opened {
		s.running[l.info.Spec] = l
		go s.serve(l)
	}
	s.mu.Unlock()
	for _, l := range opened {
		s.log.Info("listening", "listener", l.info.Spec.String(), "addr", l.info.Bound)
	}
	s.drain(ctx, removed)
	return nil
}

func (s *Set) drain(ctx context.Context, ls []*listener) {
	var wg sync.WaitGroup
	for _, l := range ls {
		wg.Go(func() {
			if err := l.srv.Shutdown(ctx); err != nil {
				l.srv.Close()
			}
			<-l.done
			s.log.Info("listener closed", "listener", l.info.Spec.String(), "addr", l.info.Bound)
		})
	}
	wg.Wait()
}

// Shutdown closes every listener gracefully within ctx.
func (s *Set) Shutdown(ctx context.Context) {
	s.mu.Lock()
	s.closed = true
	ls := make([]*listener, 0, len(s.running))
	for sp, l := range s.running {
		ls = append(ls, l)
		delete(s.running, sp)
	}
	s.mu.Unlock()
	s.drain(ctx, ls)
}

// Bound returns the running listeners, sorted by address.
func (s *Set) Bound() []Info {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Info, 0, len(s.running))
	for _, l := range s.running {
		out = append(out, *l.info)
	}
	slices.SortFunc(out, func(a, b Info) int { return strings.Compare(a.Bound, b.Bound) })
	return out
}

func (s *Set) open(sp Spec) (*listener, error) {
	raw, err := s.opts.Listen(sp.Address)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", sp.Address, err)
	}
	info := &Info{Spec: sp, Bound: raw.Addr().String()}
	g := newGuard(raw, s.limits.MaxConns)
	var ln net.Listener = g
	if sp.ProxyProtocol {
		ln = &proxyproto.Listener{
			Listener: ln,
			// The header must arrive with the connection; a peer that sends none
			// is refused (REQUIRE), as is one that dawdles.
			Policy:            func(net.Addr) (proxyproto.Policy, error) { return proxyproto.REQUIRE, nil },
			ReadHeaderTimeout: s.limits.ReadHeaderTimeout,
		}
	}
	if sp.TLS {
		ln = newTLSListener(ln, s.opts.TLSConfig(sp), s.limits.ReadHeaderTimeout)
	} else {
		ln = namesListener{ln}
	}
	write, body := s.limits.WriteTimeout, s.limits.MaxBodyBytes
	if sp.Control {
		write, body = s.limits.ControlWriteTimeout, s.limits.ControlMaxBodyBytes
	}
	var h http.Handler = &requestLimits{next: s.opts.Handler, maxBody: body, trusted: s.opts.TrustedProxies}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: s.limits.ReadHeaderTimeout,
		ReadTimeout:       s.limits.ReadTimeout,
		WriteTimeout:      write,
		IdleTimeout:       s.limits.IdleTimeout,
		MaxHeaderBytes:    s.limits.MaxHeaderBytes,
		ConnState:         g.track,
		ConnContext:       func(ctx context.Context, c net.Conn) context.Context { return withNames(WithInfo(ctx, info), c) },
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	return &listener{info: info, srv: srv, guard: g, serveOn: ln, done: make(chan struct{})}, nil
}

func (s *Set) serve(l *listener) {
	defer close(l.done)
	err := l.srv.Serve(l.serveOn)
	if err == nil || errors.Is(err, http.ErrServerClosed) || errors.Is(err, net.ErrClosed) {
		return
	}
	s.log.Error("listener failed", "listener", l.info.Spec.String(), "err", err)
	select {
	case s.errc <- fmt.Errorf("listener %s: %w", l.info.Bound, err):
	default:
	}
}
