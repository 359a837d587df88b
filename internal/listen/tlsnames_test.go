package listen

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net/http"
	"testing"
	"time"
)

func testCert(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "a.test"}, DNSNames: []string{"a.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// Over a TLS listener, HTTP/1.1 requests keep their header spellings and r.TLS,
// HTTP/2 requests are served as h2 (lower-case names), and a handshake that fails
// (TLS 1.1 against a 1.2 minimum) does not stop the listener.
func TestTLSListenerKeepsSpellingsAndTLS(t *testing.T) {
	cert, pool := testCert(t)
	s := NewSet(Options{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			names := SentNamesOf(r)
			tlsOn := "no-tls"
			if r.TLS != nil && r.TLS.HandshakeComplete {
				tlsOn = "tls"
			}
			io.WriteString(w, r.Proto+" "+tlsOn+" "+names.Spelling("X-Api-Key")+" "+names.Spelling("Content-Type"))
		}),
		TLSConfig: func(Spec) *tls.Config {
			return &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2", "http/1.1"}}
		},
	})
	defer s.Shutdown(context.Background())
	sp := Spec{Address: "127.0.0.1:0", Kind: Public, TLS: true}
	if err := s.Apply(context.Background(), []Spec{sp}); err != nil {
		t.Fatal(err)
	}
	url := "https://" + addrOf(s, sp) + "/"
	do := func(tr *http.Transport) string {
		t.Helper()
		req, _ := http.NewRequest("GET", url, nil)
		req.Host = "a.test"
		req.Header["x-api-key"] = []string{"k"}         // sent as spelled
		req.Header["CONTENT-type"] = []string{"text/x"} // likewise
		resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	cfg := &tls.Config{RootCAs: pool, ServerName: "a.test"}
	h1 := &http.Transport{TLSClientConfig: cfg}
	for range 2 { // the second request reuses the kept-alive connection
		if got := do(h1); got != "HTTP/1.1 tls x-api-key CONTENT-type" {
			t.Fatalf("HTTP/1.1 over TLS: %q", got)
		}
	}
	h2 := &http.Transport{TLSClientConfig: cfg, ForceAttemptHTTP2: true}
	if got := do(h2); got != "HTTP/2.0 tls x-api-key content-type" {
		t.Fatalf("HTTP/2: %q", got)
	}
	old := &tls.Config{RootCAs: pool, ServerName: "a.test", MaxVersion: tls.VersionTLS11}
	if _, err := (&http.Client{Transport: &http.Transport{TLSClientConfig: old}}).Get(url); err == nil {
		t.Fatal("a TLS 1.1 handshake was accepted")
	}
	if got := do(h1); got != "HTTP/1.1 tls x-api-key CONTENT-type" {
		t.Fatalf("after a failed handshake: %q", got)
	}
}
