// Package acm is the subset of AWS Certificate Manager that custom domains need:
// certificates imported (PEM certificate, key and chain, validated) or requested
// (obtained by ACME, see Issuer), described, listed, fetched and deleted, over ACM's
// JSON 1.1 protocol (X-Amz-Target: CertificateManager.*). Records live in the store,
// so every node serves the same certificates; a watch keeps an in-memory table of
// parsed certificates by ARN for TLS handshakes, which never read the store.
// Private keys are stored but never returned by any operation.
package acm

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluice-dev/sluice/internal/store"
)

// Prefix is where certificate records live: Prefix + id → Certificate.
const Prefix = "/acm/certificates/"

// Certificate is one ACM certificate record.
type Certificate struct {
	ARN        string   `json:"arn"`
	DomainName string   `json:"domainName"`
	SANs       []string `json:"subjectAlternativeNames"`
	// Type is IMPORTED or AMAZON_ISSUED (requested, obtained by ACME).
	Type string `json:"type"`
	// Status is PENDING_VALIDATION, ISSUED, FAILED or EXPIRED.
	Status           string `json:"status"`
	FailureReason    string `json:"failureReason,omitempty"`
	ValidationMethod string `json:"validationMethod,omitempty"`

	CertificatePEM string `json:"certificatePem,omitempty"`
	ChainPEM       string `json:"chainPem,omitempty"`
	// KeyPEM is the private key; it never leaves the store through the API.
	KeyPEM string `json:"keyPem,omitempty"`

	Serial             string    `json:"serial,omitempty"`
	Subject            string    `json:"subject,omitempty"`
	Issuer             string    `json:"issuer,omitempty"`
	KeyAlgorithm       string    `json:"keyAlgorithm,omitempty"`
	SignatureAlgorithm string    `json:"signatureAlgorithm,omitempty"`
	NotBefore          time.Time `json:"notBefore,omitzero"`
	NotAfter           time.Time `json:"notAfter,omitzero"`
	CreatedAt          time.Time `json:"createdAt"`
	ImportedAt         time.Time `json:"importedAt,omitzero"`
	IssuedAt           time.Time `json:"issuedAt,omitzero"`

	Tags map[string]string `json:"tags,omitempty"`
}

// InUse reports which resources use a certificate (domain names); set by the
// server, which knows the domains.
type InUse func(ctx context.Context, arn string) ([]string, error)

// Options configure the service.
type Options struct {
	Store     store.Store
	Region    string
	AccountID string
	// InUseBy lists the custom domains using a certificate: DeleteCertificate is
	// refused while there are any, and DescribeCertificate reports them.
	InUseBy InUse
	// Issuer obtains requested certificates; nil makes RequestCertificate answer
	// that no ACME directory is configured.
	Issuer Issuer
	Logger *slog.Logger
}

// Issuer obtains a certificate for the names of a requested certificate. It is
// called in the background; its result is stored into the record.
type Issuer interface {
	Obtain(ctx context.Context, names []string) (certPEM, chainPEM, keyPEM string, err error)
}

// Service is the ACM control plane and the certificate table of the data plane.
type Service struct {
	store   store.Store
	region  string
	account string
	inUseBy InUse
	issuer  Issuer
	log     *slog.Logger

	certs atomic.Pointer[map[string]*tls.Certificate] // by ARN, ISSUED ones only

	bgMu   sync.Mutex // guards bgCtx and issuing
	bgCtx  context.Context
	issued sync.WaitGroup
}

// New returns the service; Start loads and watches the certificates.
func New(opts Options) *Service {
	s := &Service{store: opts.Store, region: opts.Region, account: opts.AccountID,
		inUseBy: opts.InUseBy, issuer: opts.Issuer, log: opts.Logger, bgCtx: context.Background()}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	empty := map[string]*tls.Certificate{}
	s.certs.Store(&empty)
	return s
}

// SetInUse sets the in-use lookup (the domains are built after the service).
func (s *Service) SetInUse(f InUse) { s.inUseBy = f }

// Certificate returns the parsed ISSUED certificate of arn, nil when there is none.
// It is called on every TLS handshake and reads only memory.
func (s *Service) Certificate(arn string) *tls.Certificate { return (*s.certs.Load())[arn] }

// Start loads the certificates and keeps the table current until ctx ends.
// Requested certificates still pending are (re)tried in the background.
func (s *Service) Start(ctx context.Context) error {
	s.bgMu.Lock()
	s.bgCtx = ctx
	s.bgMu.Unlock()
	err := store.Follow(ctx, s.store, Prefix, s.reload, func(err error) {
		s.log.Warn("acm: reload failed; keeping the previous certificates", "err", err)
	})
	if err != nil {
		return fmt.Errorf("acm: %w", err)
	}
	go s.renewLoop(ctx)
	return nil
}

// Wait returns when background issuance has stopped (after Start's ctx ends).
func (s *Service) Wait() { s.issued.Wait() }

func (s *Service) reload(ctx context.Context) error {
	recs, err := store.ListRecords[Certificate](store.ReaderOf(ctx, s.store), Prefix)
	if err != nil {
		return fmt.Errorf("acm: %w", err)
	}
	m := make(map[string]*tls.Certificate, len(recs))
	for _, c := range recs {
		if c.Status != StatusIssued || c.KeyPEM == "" {
			continue
		}
		kp, err := tls.X509KeyPair([]byte(c.CertificatePEM+"\n"+c.ChainPEM), []byte(c.KeyPEM))
		if err != nil {
			s.log.Warn("acm: stored certificate does not load", "arn", c.ARN, "err", err)
			continue
		}
		m[c.ARN] = &kp
	}
	s.certs.Store(&m)
	return nil
}

// Statuses and types, as ACM spells them.
const (
	StatusPending = "PENDING_VALIDATION"
	StatusIssued  = "ISSUED"
	StatusFailed  = "FAILED"
	StatusExpired = "EXPIRED"

	TypeImported = "IMPORTED"
	TypeIssued   = "AMAZON_ISSUED"
)
