package acm

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"time"

	"github.com/sluice-dev/sluice/internal/store"
)

// issue obtains a requested certificate in the background and records the result:
// ISSUED with the certificate, or FAILED with a FailureReason. ACM answers
// RequestCertificate at once and validates later; so does Sluice.
func (s *Service) issue(arn string, names []string) {
	s.bgMu.Lock()
	ctx := s.bgCtx
	s.issued.Add(1)
	s.bgMu.Unlock()
	go func() {
		defer s.issued.Done()
		s.obtain(ctx, arn, names)
	}()
}

func (s *Service) obtain(ctx context.Context, arn string, names []string) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	certPEM, chainPEM, keyPEM, err := s.issuer.Obtain(ctx, names)
	key, _ := s.key(arn)
	now := time.Now().UTC()
	uerr := s.store.Update(context.WithoutCancel(ctx), func(tx store.Tx) error {
		c, found, gerr := store.GetRecord[Certificate](tx, key)
		if gerr != nil || !found {
			return gerr // deleted meanwhile: nothing to record
		}
		if err != nil {
			if c.Status == StatusIssued {
				return nil // a failed renewal keeps the certificate it has
			}
			// ACM's FailureReason is an enum; the ACME error is in the log.
			c.Status, c.FailureReason = StatusFailed, "OTHER"
			return store.PutRecord(tx, key, c)
		}
		blk, _ := pem.Decode([]byte(certPEM))
		if blk == nil {
			c.Status, c.FailureReason = StatusFailed, "OTHER"
			return store.PutRecord(tx, key, c)
		}
		leaf, perr := x509.ParseCertificate(blk.Bytes)
		if perr != nil {
			c.Status, c.FailureReason = StatusFailed, "OTHER"
			return store.PutRecord(tx, key, c)
		}
		p := &parsed{leaf: leaf, certPEM: certPEM, chainPEM: chainPEM, keyPEM: keyPEM,
			names: c.SANs, keyAlg: keyAlgorithm(leaf), signature: signatureAlgorithm(leaf)}
		p.apply(c, now)
		c.IssuedAt = now
		return store.PutRecord(tx, key, c)
	})
	switch {
	case err != nil:
		s.log.Warn("acm: ACME could not issue the certificate", "arn", arn, "names", names, "err", err)
	case uerr != nil:
		s.log.Warn("acm: recording the issued certificate failed", "arn", arn, "err", uerr)
	default:
		s.log.Info("acm: certificate issued", "arn", arn, "names", names)
	}
}

// renewLoop retries pending requests left by a restart and renews issued
// certificates once two thirds of their lifetime have passed (ACM renews managed
// certificates ahead of expiry; Let's Encrypt's guidance is the last third).
func (s *Service) renewLoop(ctx context.Context) {
	if s.issuer == nil {
		return
	}
	tick := time.NewTicker(time.Hour)
	defer tick.Stop()
	for first := true; ; first = false {
		recs, err := store.ListRecords[Certificate](store.ReaderOf(ctx, s.store), Prefix)
		if err == nil {
			now := time.Now()
			for _, c := range recs {
				if c.Type != TypeIssued {
					continue
				}
				due := c.Status == StatusIssued && now.After(c.NotBefore.Add(c.NotAfter.Sub(c.NotBefore)*2/3))
				if due || (first && c.Status == StatusPending) {
					s.issue(c.ARN, c.SANs)
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
