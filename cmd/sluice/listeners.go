package main

import (
	"github.com/spf13/pflag"

	"github.com/sluice-dev/sluice/internal/listen"
)

// addListenerFlags declares the listener, TLS and ACME flags of serve. Their names
// are a contract (issue 15): keep them.
func addListenerFlags(f *pflag.FlagSet) {
	d := listen.DefaultLimits()
	f.StringSlice("data-listen", nil, "extra plain-HTTP data-plane listener address (repeatable), e.g. 127.0.0.2:8080")
	f.StringSlice("tls-listen", nil, "TLS data-plane listener address (repeatable); certificates chosen by SNI")
	f.StringSlice("private-listen", nil, "private-endpoint listener ADDR=vpce-ID (repeatable): PRIVATE APIs only")
	f.Bool("private-listen-tls", false, "serve the --private-listen listeners over TLS")
	f.String("tls-cert", "", "PEM certificate served for *.execute-api.<domain> and SNI no custom domain claims")
	f.String("tls-key", "", "PEM private key of --tls-cert")
	f.Bool("https-redirect", false, "redirect plain-HTTP requests for custom domains to https (default: 403 Forbidden)")
	f.StringSlice("trusted-proxies", nil, "CIDRs of load balancers whose X-Forwarded-For names the client")
	f.Duration("read-header-timeout", d.ReadHeaderTimeout, "per listener: time to read a request's headers (and TLS handshake)")
	f.Duration("read-timeout", d.ReadTimeout, "per listener: time to read a whole request, body included")
	f.Duration("write-timeout", d.WriteTimeout, "data-plane listeners: time from a request's headers to the end of its answer")
	f.Duration("conn-idle-timeout", d.IdleTimeout, "per listener: idle keep-alive connections are closed after this long")
	f.Int("max-header-bytes", d.MaxHeaderBytes, "per listener: largest request line and headers")
	f.Int("max-conns", d.MaxConns, "per listener: most open connections (at the cap the oldest idle one is closed)")
	f.StringArray("vpc-link-target", nil, "ARN=host:port: where an HTTP API private integration's target (load balancer listener, Cloud Map service) is (repeatable)")
	f.String("acme-directory", "", "ACME directory URL for acm request-certificate (off when empty)")
	f.String("acme-email", "", "ACME account email")
	f.String("acme-ca-root", "", "PEM file of the ACME server's root CA (a private CA such as pebble)")
}
