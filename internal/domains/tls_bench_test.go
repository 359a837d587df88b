package domains

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/internal/apigw/model"
	"github.com/sluice-dev/sluice/internal/listen"
)

type oneCert struct{ c *tls.Certificate }

func (o oneCert) Certificate(string) *tls.Certificate { return o.c }

// selfSigned makes a leaf for name with key, and the pool that trusts it.
func selfSigned(tb testing.TB, name string, key crypto.Signer) (*tls.Certificate, *x509.CertPool) {
	tb.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		tb.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// BenchmarkTLSHandshake measures one TLS 1.3 handshake against the TLS listener's
// configuration (SNI lookup in the domain table, the domain's ACM certificate), over
// loopback TCP: full handshakes with ECDSA P-256 and RSA-2048 certificates,
// and resumed ones (session tickets, which the per-SNI configs inherit from the
// listener's base config). Both ends run in the benchmark, so a figure is the CPU
// of server plus client; the server's share of a full handshake is most of it.
func BenchmarkTLSHandshake(b *testing.B) {
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	rs, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	const name = "api.example.test"
	for _, k := range []struct {
		name string
		key  crypto.Signer
	}{{"ECDSA-P256", ec}, {"RSA-2048", rs}} {
		cert, pool := selfSigned(b, name, k.key)
		rt := New(Options{Certificates: oneCert{cert}})
		rt.table.Store(Build([]*model.DomainName{{Name: name, CertificateArn: "arn:c"}}, nil, 1))
		srvCfg := rt.TLSConfig(listen.Spec{})
		for _, resume := range []bool{false, true} {
			label := k.name + "/full"
			cliCfg := &tls.Config{ServerName: name, RootCAs: pool}
			if resume {
				label = k.name + "/resumed"
				cliCfg.ClientSessionCache = tls.NewLRUClientSessionCache(1)
				handshake(b, srvCfg, cliCfg) // the ticket to resume with
			}
			b.Run(label, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if got := handshake(b, srvCfg, cliCfg); got != resume {
						b.Fatalf("DidResume = %v, want %v", got, resume)
					}
				}
			})
		}
	}
}

// handshake runs one handshake over a loopback TCP connection (net.Pipe has no
// buffer, and TLS 1.3's server writes its tickets while the client writes its
// Finished) and reports whether it resumed a session. The client reads one byte so
// that the post-handshake ticket arrives.
func handshake(tb testing.TB, srvCfg, cliCfg *tls.Config) bool {
	c1, c2 := tcpPair(tb)
	srv := tls.Server(c1, srvCfg)
	done := make(chan error, 1)
	go func() {
		err := srv.Handshake()
		if err == nil {
			_, err = srv.Write([]byte{1})
		}
		done <- err
	}()
	cli := tls.Client(c2, cliCfg)
	if err := cli.Handshake(); err != nil {
		tb.Fatal(err)
	}
	if _, err := cli.Read(make([]byte, 1)); err != nil {
		tb.Fatal(err)
	}
	if err := <-done; err != nil {
		tb.Fatal(err)
	}
	resumed := cli.ConnectionState().DidResume
	_ = cli.Close()
	_ = srv.Close()
	return resumed
}

var pairLn net.Listener

// tcpPair returns both ends of a new loopback TCP connection.
func tcpPair(tb testing.TB) (server, client net.Conn) {
	if pairLn == nil {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			tb.Fatal(err)
		}
		pairLn = ln
	}
	client, err := net.Dial("tcp", pairLn.Addr().String())
	if err != nil {
		tb.Fatal(err)
	}
	if server, err = pairLn.Accept(); err != nil {
		tb.Fatal(err)
	}
	return server, client
}
