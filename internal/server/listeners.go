package server

import (
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/sluice-dev/sluice/internal/listen"
)

// ListenerConfig is everything about the addresses Sluice serves on besides the
// combined --listen: extra data-plane listeners (plain, TLS, private endpoints),
// their certificates and limits, and ACME.
type ListenerConfig struct {
	// DataListen are extra plain-HTTP data-plane listeners (public kind).
	DataListen []string `mapstructure:"data-listen"`
	// TLSListen are TLS data-plane listeners; certificates are chosen by SNI.
	TLSListen []string `mapstructure:"tls-listen"`
	// PrivateListen are private-endpoint listeners, each "ADDR=vpce-ID".
	PrivateListen []string `mapstructure:"private-listen"`
	// PrivateListenTLS serves the private listeners over TLS.
	PrivateListenTLS bool `mapstructure:"private-listen-tls"`
	// Listeners is the config file's list form of the above.
	Listeners []listen.Spec `mapstructure:"listeners"`

	// TLSCert and TLSKey are PEM files of the default certificate, served for
	// *.execute-api.<domain> and any SNI no custom domain claims.
	TLSCert string `mapstructure:"tls-cert"`
	TLSKey  string `mapstructure:"tls-key"`
	// HTTPSRedirect answers a plain-HTTP request for a custom domain with a
	// redirect to https instead of 403.
	HTTPSRedirect bool `mapstructure:"https-redirect"`
	// TrustedProxies are CIDRs whose X-Forwarded-For names the client.
	TrustedProxies []string `mapstructure:"trusted-proxies"`

	ReadHeaderTimeout time.Duration `mapstructure:"read-header-timeout"`
	ReadTimeout       time.Duration `mapstructure:"read-timeout"`
	WriteTimeout      time.Duration `mapstructure:"write-timeout"`
	ConnIdleTimeout   time.Duration `mapstructure:"conn-idle-timeout"`
	MaxHeaderBytes    int           `mapstructure:"max-header-bytes"`
	MaxConns          int           `mapstructure:"max-conns"`

	// ACME: certificates requested with acm request-certificate.
	ACMEDirectory string `mapstructure:"acme-directory"`
	ACMEEmail     string `mapstructure:"acme-email"`
	ACMECARoot    string `mapstructure:"acme-ca-root"`

	// VPCLinkTargets are "ARN=host:port": where the targets of HTTP API private
	// integrations (VPC links) are.
	VPCLinkTargets []string `mapstructure:"vpc-link-target"`

	// Reload, when set, is called on SIGHUP for the new configuration: listeners
	// are added and removed to match it and the default certificate is re-read.
	Reload func() (Config, error) `mapstructure:"-"`
}

// listenerSpecs turns the configuration into the listener list: the combined
// listener first, then the flags' listeners, then the config file's.
func (c *Config) listenerSpecs() ([]listen.Spec, error) {
	specs := []listen.Spec{{Address: c.Listen, Kind: listen.Public, Control: true}}
	for _, a := range splitList(c.Net.DataListen) {
		specs = append(specs, listen.Spec{Address: a, Kind: listen.Public})
	}
	for _, a := range splitList(c.Net.TLSListen) {
		specs = append(specs, listen.Spec{Address: a, Kind: listen.Public, TLS: true})
	}
	for _, p := range splitList(c.Net.PrivateListen) {
		addr, vpce, ok := strings.Cut(p, "=")
		if !ok {
			return nil, fmt.Errorf("--private-listen %q: want ADDR=vpce-ID", p)
		}
		specs = append(specs, listen.Spec{Address: addr, Kind: listen.Private, VPCE: vpce, TLS: c.Net.PrivateListenTLS})
	}
	for _, sp := range c.Net.Listeners {
		if sp.Kind == "" {
			sp.Kind = listen.Public
		}
		specs = append(specs, sp)
	}
	seen := map[string]bool{}
	for _, sp := range specs {
		if err := sp.Validate(); err != nil {
			return nil, err
		}
		if seen[sp.Address] {
			return nil, fmt.Errorf("listener address %s given twice", sp.Address)
		}
		seen[sp.Address] = true
	}
	return specs, nil
}

func (c *Config) limits() listen.Limits {
	l := listen.Limits{
		ReadHeaderTimeout: c.Net.ReadHeaderTimeout,
		ReadTimeout:       c.Net.ReadTimeout,
		WriteTimeout:      c.Net.WriteTimeout,
		IdleTimeout:       c.Net.ConnIdleTimeout,
		MaxHeaderBytes:    c.Net.MaxHeaderBytes,
		MaxConns:          c.Net.MaxConns,
	}
	return l
}

// validateListeners checks the listener part of the configuration.
func (c *Config) validateListeners() error {
	if _, err := c.listenerSpecs(); err != nil {
		return err
	}
	if (c.Net.TLSCert == "") != (c.Net.TLSKey == "") {
		return fmt.Errorf("--tls-cert and --tls-key go together")
	}
	if _, err := listen.ParseCIDRs(splitList(c.Net.TrustedProxies)); err != nil {
		return fmt.Errorf("--trusted-proxies: %w", err)
	}
	if _, err := c.vpcLinkTargets(); err != nil {
		return err
	}
	if c.Net.MaxConns < 0 || c.Net.MaxHeaderBytes < 0 {
		return fmt.Errorf("--max-conns and --max-header-bytes must not be negative")
	}
	return nil
}

// splitList flattens comma-separated entries (env lists arrive as one string).
func splitList(in []string) []string {
	var out []string
	for _, s := range in {
		for p := range strings.SplitSeq(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// vpcLinkTargets parses --vpc-link-target ARN=host:port entries.
func (c *Config) vpcLinkTargets() (map[string]string, error) {
	out := map[string]string{}
	for _, e := range c.Net.VPCLinkTargets {
		arn, addr, ok := strings.Cut(e, "=")
		if !ok || !strings.HasPrefix(arn, "arn:") {
			return nil, fmt.Errorf("--vpc-link-target %q: want ARN=host:port", e)
		}
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return nil, fmt.Errorf("--vpc-link-target %q: %w", e, err)
		}
		out[arn] = addr
	}
	return out, nil
}
