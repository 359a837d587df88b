package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"

	"github.com/sluice-dev/sluice/internal/acm"
	"github.com/sluice-dev/sluice/internal/apigw/gateway"
	"github.com/sluice-dev/sluice/internal/domains"
	"github.com/sluice-dev/sluice/internal/listen"
	"github.com/sluice-dev/sluice/internal/store"
)

// buildDomains builds ACM and the custom-domain router in front of the gateway.
func (n *node) buildDomains(ctx context.Context, cfg Config, addr string, st store.Store, gw *gateway.Gateway, logger *slog.Logger) (*acm.Service, *domains.Router, error) {
	opts := acm.Options{Store: st, Region: cfg.Region, AccountID: cfg.AccountID, Logger: logger.With("component", "acm")}
	var challenges domains.Challenges
	if cfg.Net.ACMEDirectory != "" {
		a, err := newACME(cfg, addr, st)
		if err != nil {
			return nil, nil, err
		}
		n.closers = append(n.closers, func() error { a.Close(); return nil })
		opts.Issuer, challenges = a, a
	}
	certs := acm.New(opts)
	router := domains.New(domains.Options{
		Challenges:         challenges,
		Store:              st,
		Gateway:            gw,
		Certificates:       certs,
		DefaultCertificate: func() *tls.Certificate { return n.tlsDefault.current.Load() },
		HTTPSRedirect:      cfg.Net.HTTPSRedirect,
		// PRIVATE APIs are served on private listeners: the gateway evaluates
		// their resource policies with aws:SourceVpce set to the listener's id.
		PrivateEndpoints: true,
		Logger:           logger.With("component", "domains"),
	})
	certs.SetInUse(router.InUseBy)
	bg, stop := context.WithCancel(ctx)
	n.closers = append(n.closers, func() error { stop(); certs.Wait(); return nil })
	if err := certs.Start(bg); err != nil {
		return nil, nil, fmt.Errorf("acm: %w", err)
	}
	if err := router.Start(bg); err != nil {
		return nil, nil, fmt.Errorf("domains: %w", err)
	}
	n.router = router
	return certs, router, nil
}

// newACME builds the ACME issuer of requested certificates from the --acme-* flags.
func newACME(cfg Config, addr string, st store.Store) (*acm.ACME, error) {
	var roots *x509.CertPool
	if cfg.Net.ACMECARoot != "" {
		pemBytes, err := os.ReadFile(cfg.Net.ACMECARoot)
		if err != nil {
			return nil, fmt.Errorf("--acme-ca-root: %w", err)
		}
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pemBytes) {
			return nil, fmt.Errorf("--acme-ca-root %s: no PEM certificate in it", cfg.Net.ACMECARoot)
		}
	}
	tlsAddr := ""
	if specs, err := cfg.listenerSpecs(); err == nil {
		for _, sp := range specs {
			if sp.TLS && sp.Kind == listen.Public {
				tlsAddr = sp.Address
				break
			}
		}
	}
	a, err := acm.NewACME(acm.ACMEOptions{Directory: cfg.Net.ACMEDirectory, Email: cfg.Net.ACMEEmail, Roots: roots,
		Storage: acm.NewCertStorage(st), HTTPAddr: addr, TLSAddr: tlsAddr})
	if err != nil {
		return nil, fmt.Errorf("acme: %w", err)
	}
	return a, nil
}
