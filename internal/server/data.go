package server

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/sluice-dev/sluice/internal/awsproto"
	"github.com/sluice-dev/sluice/internal/listen"
)

// root is the handler of every listener: the combined listener dispatches to the
// control plane or the data plane, the others serve the data plane only.
type root struct {
	control http.Handler
	data    http.Handler
}

func (h *root) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if info := listen.FromContext(r.Context()); info == nil || info.Control {
		h.control.ServeHTTP(w, r)
		return
	}
	h.data.ServeHTTP(w, r)
}

// dataOnly serves a data-plane-only listener: execute-api requests reach the
// gateway; anything else is no API of this listener, answered as API Gateway
// answers an unknown host, 403 {"message":"Forbidden"}.
type dataOnly struct{ s *services }

func (h dataOnly) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// A private endpoint reaches PRIVATE APIs only, and none of those yet: fail closed.
	private := listen.FromContext(r.Context()).Kind == listen.Private
	if !private && h.s.isDataPlane != nil && h.s.isDataPlane(r) {
		h.s.dataPlane.ServeHTTP(w, r)
		return
	}
	w.Header()["X-Amzn-Errortype"] = []string{"ForbiddenException"}
	awsproto.WriteJSON(w, http.StatusForbidden, map[string]string{"message": "Forbidden"})
}

// defaultCert is the certificate of --tls-cert/--tls-key, re-read on reload.
type defaultCert struct {
	mu      sync.Mutex // serializes loads
	current atomic.Pointer[tls.Certificate]
}

func (d *defaultCert) load(certFile, keyFile string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if certFile == "" {
		d.current.Store(nil)
		return nil
	}
	c, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return fmt.Errorf("--tls-cert/--tls-key: %w", err)
	}
	d.current.Store(&c)
	return nil
}

// listenerSet builds the listener set of this node; ln is the already bound
// combined listener (bound first so the node knows its address).
func (n *node) listenerSet(cfg Config, ln net.Listener, logger *slog.Logger) (*listen.Set, error) {
	trusted, err := listen.ParseCIDRs(splitList(cfg.Net.TrustedProxies))
	if err != nil {
		return nil, err
	}
	if err := n.tlsDefault.load(cfg.Net.TLSCert, cfg.Net.TLSKey); err != nil {
		return nil, err
	}
	var once sync.Once
	return listen.NewSet(listen.Options{
		Handler:        &root{control: &dispatcher{s: n.services}, data: n.dataHandler()},
		Limits:         cfg.limits(),
		TLSConfig:      n.tlsConfig,
		TrustedProxies: trusted,
		Logger:         logger.With("component", "listen"),
		Listen: func(addr string) (net.Listener, error) {
			var pre net.Listener
			if addr == cfg.Listen {
				once.Do(func() { pre = ln })
			}
			if pre != nil {
				return pre, nil
			}
			return net.Listen("tcp", addr)
		},
	}), nil
}

// reconfigure applies what a reload may change besides the listeners.
func (n *node) reconfigure(cfg Config) error {
	return n.tlsDefault.load(cfg.Net.TLSCert, cfg.Net.TLSKey)
}

// tlsConfig is the TLS configuration of a TLS listener. The certificate is chosen
// by SNI: a custom domain's ACM certificate, else the default certificate; an SNI
// nothing claims fails the handshake when there is no default.
func (n *node) tlsConfig(listen.Spec) *tls.Config {
	return &tls.Config{
		// API Gateway's default endpoints accept TLS 1.2 and later; a custom
		// domain's securityPolicy TLS_1_0 lowers it for that name.
		MinVersion: tls.VersionTLS12,
		NextProtos: []string{"h2", "http/1.1"},
		GetCertificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
			if c := n.tlsDefault.current.Load(); c != nil {
				return c, nil
			}
			return nil, fmt.Errorf("no certificate for %q", hello.ServerName)
		},
	}
}

func (n *node) dataHandler() http.Handler { return dataOnly{s: &n.services} }
