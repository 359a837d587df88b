package acm

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io/fs"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/internal/store/memstore"
)

func selfSigned(t *testing.T, notAfter time.Time, names ...string) (certPEM, keyPEM []byte) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(42), Subject: pkix.Name{CommonName: names[0]}, DNSNames: names,
		NotBefore: time.Now().Add(-2 * time.Hour), NotAfter: notAfter}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})
}

func TestParseImport(t *testing.T) {
	now := time.Now()
	cert, key := selfSigned(t, now.Add(time.Hour), "api.example.com", "www.example.com")
	_, otherKey := selfSigned(t, now.Add(time.Hour), "x.example.com")
	expired, expiredKey := selfSigned(t, now.Add(-time.Hour), "old.example.com")
	p, err := parseImport(importInput{Certificate: cert, PrivateKey: key}, now)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(p.names, []string{"api.example.com", "www.example.com"}) || p.keyAlg != "EC_prime256v1" {
		t.Fatalf("parsed %v %s", p.names, p.keyAlg)
	}
	for name, in := range map[string]importInput{
		"no key":    {Certificate: cert},
		"wrong key": {Certificate: cert, PrivateKey: otherKey},
		"two certs": {Certificate: append(append([]byte{}, cert...), cert...), PrivateKey: key},
		"garbage":   {Certificate: []byte("nope"), PrivateKey: key},
		"expired":   {Certificate: expired, PrivateKey: expiredKey},
		"bad chain": {Certificate: cert, PrivateKey: key, CertificateChain: []byte("x")},
	} {
		var ae *apiError
		if _, err := parseImport(in, now); !errors.As(err, &ae) || ae.code != "ValidationException" {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestCovers(t *testing.T) {
	names := []string{"api.example.com", "*.apps.example.com"}
	for d, want := range map[string]bool{"api.example.com": true, "API.example.com": true, "a.apps.example.com": true,
		"a.b.apps.example.com": false, "apps.example.com": false, "www.example.com": false, "*.apps.example.com": true} {
		if got := Covers(names, d); got != want {
			t.Errorf("Covers(%s) = %v", d, got)
		}
	}
}

// CertStorage behaves as certmagic expects of a Storage: not-exist errors,
// directory listing and deletion, and locks that exclude a second holder.
func TestCertStorage(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	s := NewCertStorage(st)
	if _, err := s.Load(ctx, "a/b"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Load missing: %v", err)
	}
	for _, k := range []string{"certs/ca/x.crt", "certs/ca/x.key", "certs/ca/y/y.crt", "users/u.json"} {
		if err := s.Store(ctx, k, []byte(k)); err != nil {
			t.Fatal(err)
		}
	}
	if v, err := s.Load(ctx, "certs/ca/x.crt"); err != nil || string(v) != "certs/ca/x.crt" {
		t.Fatalf("Load = %q %v", v, err)
	}
	if l, _ := s.List(ctx, "certs/ca", false); strings.Join(l, ",") != "certs/ca/x.crt,certs/ca/x.key,certs/ca/y" {
		t.Fatalf("List = %v", l)
	}
	if l, _ := s.List(ctx, "certs", true); len(l) != 3 {
		t.Fatalf("List recursive = %v", l)
	}
	if ki, err := s.Stat(ctx, "certs/ca"); err != nil || ki.IsTerminal {
		t.Fatalf("Stat dir = %+v %v", ki, err)
	}
	if ki, err := s.Stat(ctx, "users/u.json"); err != nil || !ki.IsTerminal || ki.Size != 12 || ki.Modified.IsZero() {
		t.Fatalf("Stat file = %+v %v", ki, err)
	}
	if err := s.Delete(ctx, "certs"); err != nil || s.Exists(ctx, "certs/ca/x.crt") || !s.Exists(ctx, "users/u.json") {
		t.Fatalf("Delete dir: %v", err)
	}

	other := NewCertStorage(st)
	if err := s.Lock(ctx, "issue_cert_a"); err != nil {
		t.Fatal(err)
	}
	if ok, err := other.TryLock(ctx, "issue_cert_a"); ok || err != nil {
		t.Fatalf("second holder got the lock: %v %v", ok, err)
	}
	if err := other.Unlock(ctx, "issue_cert_a"); err == nil {
		t.Fatal("a non-holder unlocked")
	}
	if err := s.Unlock(ctx, "issue_cert_a"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := other.TryLock(ctx, "issue_cert_a"); !ok {
		t.Fatal("released lock not free")
	}
	// An expired lease is free for the taking.
	other.lease = -time.Second
	other.TryLock(ctx, "stale")
	if ok, _ := s.TryLock(ctx, "stale"); !ok {
		t.Fatal("expired lease not taken over")
	}
}
