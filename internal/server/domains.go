package server

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"

	"github.com/sluice-dev/sluice/internal/acm"
	"github.com/sluice-dev/sluice/internal/apigw/gateway"
	"github.com/sluice-dev/sluice/internal/domains"
	"github.com/sluice-dev/sluice/internal/store"
)

// buildDomains builds ACM and the custom-domain router in front of the gateway.
func (n *node) buildDomains(ctx context.Context, cfg Config, st store.Store, gw *gateway.Gateway, logger *slog.Logger) (*acm.Service, *domains.Router, error) {
	certs := acm.New(acm.Options{Store: st, Region: cfg.Region, AccountID: cfg.AccountID, Logger: logger.With("component", "acm")})
	router := domains.New(domains.Options{
		Store:              st,
		Gateway:            gw,
		Certificates:       certs,
		DefaultCertificate: func() *tls.Certificate { return n.tlsDefault.current.Load() },
		HTTPSRedirect:      cfg.Net.HTTPSRedirect,
		Logger:             logger.With("component", "domains"),
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
