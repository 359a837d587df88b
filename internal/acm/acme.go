package acm

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"

	"github.com/caddyserver/certmagic"
	"go.uber.org/zap"
)

// ACMEOptions configure the ACME issuer of requested certificates.
type ACMEOptions struct {
	// Directory is the ACME directory URL (--acme-directory).
	Directory string
	Email     string
	// Roots are the CAs trusted for the directory's own TLS (--acme-ca-root, for
	// a private CA such as pebble); nil means the system roots.
	Roots   *x509.CertPool
	Storage *CertStorage
	// HTTPAddr and TLSAddr are one plain and one TLS listener of this node
	// ("host:port"): certmagic would otherwise bind ports 80/443 itself to answer
	// challenges; pointed at listeners Sluice already holds, it finds them busy and
	// leaves the answering to Sluice's handlers. TLSAddr "" turns TLS-ALPN-01 off.
	HTTPAddr, TLSAddr string
}

// ACME obtains certificates from an ACME CA with certmagic: HTTP-01 answered on
// Sluice's plain listeners, TLS-ALPN-01 in its TLS handshakes, challenge state in
// the store so that whichever node the CA reaches can answer.
type ACME struct {
	cache  *certmagic.Cache
	cfg    *certmagic.Config
	issuer *certmagic.ACMEIssuer
}

// NewACME builds the issuer. Close stops certmagic's cache maintenance.
func NewACME(opts ACMEOptions) (*ACME, error) {
	if opts.Directory == "" {
		return nil, errors.New("acme: no directory URL")
	}
	logger := zap.NewNop()
	a := &ACME{}
	a.cache = certmagic.NewCache(certmagic.CacheOptions{
		GetConfigForCert: func(certmagic.Certificate) (*certmagic.Config, error) { return a.cfg, nil },
		Logger:           logger,
	})
	a.cfg = certmagic.New(a.cache, certmagic.Config{Storage: opts.Storage, Logger: logger})
	tmpl := certmagic.ACMEIssuer{
		CA:     opts.Directory,
		TestCA: opts.Directory, // never fall back to a public staging CA
		Email:  opts.Email,
		Agreed: true,
		// The operator configured this directory; its terms are theirs to accept.
		TrustedRoots: opts.Roots,
		Logger:       logger,
	}
	if host, port, err := net.SplitHostPort(opts.HTTPAddr); err == nil {
		tmpl.ListenHost = host
		tmpl.AltHTTPPort, _ = strconv.Atoi(port)
	}
	if host, port, err := net.SplitHostPort(opts.TLSAddr); err == nil {
		if tmpl.ListenHost == "" {
			tmpl.ListenHost = host
		}
		tmpl.AltTLSALPNPort, _ = strconv.Atoi(port)
	} else {
		tmpl.DisableTLSALPNChallenge = true
	}
	a.issuer = certmagic.NewACMEIssuer(a.cfg, tmpl)
	a.cfg.Issuers = []certmagic.Issuer{a.issuer}
	return a, nil
}

// Close stops the issuer's background work.
func (a *ACME) Close() { a.cache.Stop() }

// Obtain gets one certificate naming every name (the first is the subject) for a
// new P-256 key, and returns the leaf, the chain and the key in PEM.
func (a *ACME) Obtain(ctx context.Context, names []string) (certPEM, chainPEM, keyPEM string, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", "", err
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: names[0]}, DNSNames: names}, key)
	if err != nil {
		return "", "", "", err
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		return "", "", "", err
	}
	issued, err := a.issuer.Issue(ctx, csr)
	if err != nil {
		return "", "", "", fmt.Errorf("acme: %w", err)
	}
	rest := issued.Certificate
	var blocks []string
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type == "CERTIFICATE" {
			blocks = append(blocks, string(pem.EncodeToMemory(b)))
		}
	}
	if len(blocks) == 0 {
		return "", "", "", errors.New("acme: the CA returned no certificate")
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return "", "", "", err
	}
	for _, b := range blocks[1:] {
		chainPEM += b
	}
	return blocks[0], chainPEM, string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})), nil
}

// HandleHTTP answers an HTTP-01 challenge request (GET
// /.well-known/acme-challenge/{token}); false when r is none.
func (a *ACME) HandleHTTP(w http.ResponseWriter, r *http.Request) bool {
	return a.issuer.HandleHTTPChallenge(w, r)
}

// ALPNCertificate answers a TLS-ALPN-01 challenge handshake.
func (a *ACME) ALPNCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	return a.cfg.GetCertificate(hello)
}
