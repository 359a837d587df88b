package server

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"

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
		Handler:        &root{control: &dispatcher{s: n.services}, data: n.router},
		Limits:         cfg.limits(),
		TLSConfig:      n.router.TLSConfig,
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
