package e2e

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// testCA is a throwaway certificate authority for imported certificates.
type testCA struct {
	cert    *x509.Certificate
	key     *ecdsa.PrivateKey
	certPEM []byte
	pool    *x509.CertPool
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Sluice test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pool: pool}
}

// issue returns a leaf certificate and RSA 2048 key for names, in PEM, and writes
// them (and the CA as the chain) into dir.
func (ca *testCA) issue(t *testing.T, dir string, serial int64, names ...string) (certFile, keyFile, chainFile string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: names[0]}, DNSNames: names,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(12 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	base := filepath.Join(dir, names[0]+"-"+big.NewInt(serial).String())
	certFile, keyFile, chainFile = base+".crt", base+".key", filepath.Join(dir, "ca.crt")
	writeFile(t, certFile, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	writeFile(t, keyFile, string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})))
	writeFile(t, chainFile, string(ca.certPEM))
	return certFile, keyFile, chainFile
}

// tlsGet sends GET https://host:port/path to addr, trusting pool, with SNI host.
func tlsGet(t *testing.T, addr, host, path string, pool *x509.CertPool) (apiResponse, *tls.ConnectionState) {
	t.Helper()
	tr := &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: host},
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "tcp", addr)
		},
		DisableKeepAlives: true,
	}
	c := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	_, port, _ := net.SplitHostPort(addr)
	resp, err := c.Get("https://" + host + ":" + port + path)
	if err != nil {
		t.Fatalf("GET https://%s%s via %s: %v", host, path, addr, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return apiResponse{resp.StatusCode, resp.Header, b}, resp.TLS
}

// emailAPI builds seed scenario 1's REST API (/email/{proxy+} ANY → the email
// function) deployed to stage v1 and returns its id.
func emailAPI(t *testing.T, s *instance) string {
	t.Helper()
	fn := s.createFunction("email", "nodejs22.x", "index.handler", emailZip(t))
	api := newRESTAPI(t, s, "email-service")
	email := api.resource(api.root, "email")
	proxy := api.resource(email, "{proxy+}")
	api.lambdaProxy(proxy, "ANY", fnURI(str(fn["FunctionArn"])))
	s.allowInvoke("email", api.id)
	api.deploy("v1")
	return api.id
}

// Seed scenario 1 with an imported certificate: api.example.test with an ACM
// certificate, the REST API's stage v1 mapped at the root; over TLS (SNI picks the
// certificate) /email/send reaches the function with no stage in the path; plain
// HTTP for the domain is refused; TLS 1.1 is refused under TLS_1_2; a re-imported
// certificate is served at once; an HTTP API is mapped under a key.
func TestScenario1CustomDomainImportedCertificate(t *testing.T) {
	plain, tlsAddr := freeAddr(t, "127.0.0.1"), freeAddr(t, "127.0.0.1")
	s := startSluice(t, startOpts{args: []string{"--data-listen", plain, "--tls-listen", tlsAddr}})
	dir := t.TempDir()
	ca := newTestCA(t)
	certFile, keyFile, chainFile := ca.issue(t, dir, 100, "api.example.test")

	imported := s.awsJSON("acm", "import-certificate", "--certificate", "fileb://"+certFile,
		"--private-key", "fileb://"+keyFile, "--certificate-chain", "fileb://"+chainFile, "--tags", "Key=app,Value=email")
	certArn := str(imported["CertificateArn"])
	if !strings.HasPrefix(certArn, "arn:aws:acm:us-east-1:123456789012:certificate/") {
		t.Fatalf("import-certificate = %v", imported)
	}
	desc := obj(s.awsJSON("acm", "describe-certificate", "--certificate-arn", certArn)["Certificate"])
	if desc["Status"] != "ISSUED" || desc["Type"] != "IMPORTED" || desc["DomainName"] != "api.example.test" || desc["KeyAlgorithm"] != "RSA_2048" {
		t.Fatalf("describe-certificate = %v", desc)
	}
	got := s.awsJSON("acm", "get-certificate", "--certificate-arn", certArn)
	if !strings.Contains(str(got["Certificate"]), "BEGIN CERTIFICATE") || strings.Contains(string(mustJSON(got)), "PRIVATE KEY") {
		t.Fatalf("get-certificate = %v", got)
	}
	list := s.awsJSON("acm", "list-certificates", "--certificate-statuses", "ISSUED")
	if l, _ := list["CertificateSummaryList"].([]any); len(l) != 1 || obj(l[0])["CertificateArn"] != certArn {
		t.Fatalf("list-certificates = %v", list)
	}
	// A key that does not match is refused.
	_, otherKey, _ := ca.issue(t, dir, 101, "other.example.test")
	if _, stderr, err := s.awsRaw("acm", "import-certificate", "--certificate", "fileb://"+certFile, "--private-key", "fileb://"+otherKey); err == nil || !strings.Contains(stderr, "ValidationException") {
		t.Fatalf("mismatched key imported: %v %s", err, stderr)
	}

	apiID := emailAPI(t, s)
	// A certificate for another name cannot serve the domain.
	if _, stderr, err := s.awsRaw("apigateway", "create-domain-name", "--domain-name", "wrong.example.test",
		"--regional-certificate-arn", certArn, "--endpoint-configuration", "types=REGIONAL"); err == nil || !strings.Contains(stderr, "BadRequestException") {
		t.Fatalf("domain with a certificate for another name: %v %s", err, stderr)
	}
	dn := s.awsJSON("apigateway", "create-domain-name", "--domain-name", "api.example.test",
		"--regional-certificate-arn", certArn, "--endpoint-configuration", "types=REGIONAL", "--security-policy", "TLS_1_2")
	if dn["domainName"] != "api.example.test" || dn["domainNameStatus"] != "AVAILABLE" || dn["regionalCertificateArn"] != certArn {
		t.Fatalf("create-domain-name = %v", dn)
	}
	bpm := s.awsJSON("apigateway", "create-base-path-mapping", "--domain-name", "api.example.test", "--rest-api-id", apiID, "--stage", "v1")
	if bpm["basePath"] != "(none)" || bpm["stage"] != "v1" {
		t.Fatalf("create-base-path-mapping = %v", bpm)
	}
	if _, stderr, err := s.awsRaw("apigateway", "create-base-path-mapping", "--domain-name", "api.example.test", "--rest-api-id", apiID, "--stage", "v1"); err == nil || !strings.Contains(stderr, "ConflictException") {
		t.Fatalf("duplicate base path: %v %s", err, stderr)
	}

	var r apiResponse
	var state *tls.ConnectionState
	eventually(t, 5*time.Second, func() bool {
		r, state = tlsGet(t, tlsAddr, "api.example.test", "/email/send", ca.pool)
		return r.Status == 200
	})
	if r.Status != 200 {
		t.Fatalf("https://api.example.test/email/send: %d %s", r.Status, r.Body)
	}
	if m := r.JSON(t); m["path"] != "/email/send" || m["proxy"] != "send" || m["sent"] != true {
		t.Fatalf("the function saw %s", r.Body)
	}
	if state.PeerCertificates[0].SerialNumber.Int64() != 100 {
		t.Fatalf("served certificate serial %v", state.PeerCertificates[0].SerialNumber)
	}
	// curl, as the user drives it.
	_, port, _ := net.SplitHostPort(tlsAddr)
	out, err := exec.Command("curl", "-sS", "--resolve", "api.example.test:"+port+":127.0.0.1", "--cacert", chainFile,
		"https://api.example.test:"+port+"/email/ping").CombinedOutput()
	if err != nil || !strings.Contains(string(out), `"pong":true`) {
		t.Fatalf("curl: %v %s", err, out)
	}
	// Plain HTTP for the custom domain is not served, on any plain listener.
	for _, addr := range []string{plain, s.Addr} {
		if r := hostCall(t, addr, "api.example.test", "GET", "/email/send"); r.Status != 403 || string(r.Body) != `{"message":"Forbidden"}` {
			t.Fatalf("plain HTTP to the custom domain on %s: %d %s", addr, r.Status, r.Body)
		}
	}
	// TLS 1.1 is refused under securityPolicy TLS_1_2; an unknown SNI fails too.
	for _, cfg := range []*tls.Config{
		{ServerName: "api.example.test", RootCAs: ca.pool, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11},
		{ServerName: "nobody.example.test", RootCAs: ca.pool},
	} {
		if c, err := tls.Dial("tcp", tlsAddr, cfg); err == nil {
			c.Close()
			t.Fatalf("handshake %s (max version %x) succeeded", cfg.ServerName, cfg.MaxVersion)
		}
	}
	// In use: the certificate cannot be deleted.
	if _, stderr, err := s.awsRaw("acm", "delete-certificate", "--certificate-arn", certArn); err == nil || !strings.Contains(stderr, "ResourceInUseException") {
		t.Fatalf("delete-certificate in use: %v %s", err, stderr)
	}
	if d := obj(s.awsJSON("acm", "describe-certificate", "--certificate-arn", certArn)["Certificate"]); len(d["InUseBy"].([]any)) != 1 {
		t.Fatalf("InUseBy = %v", d["InUseBy"])
	}

	// Rotation: re-importing under the same ARN is served without a restart, and
	// clients hammering the domain across the rotation (new handshakes and
	// keep-alive connections alike) see no failed request.
	stop := make(chan struct{})
	var failures, served atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(keepAlive bool) {
			defer wg.Done()
			client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: !keepAlive,
				TLSClientConfig: &tls.Config{ServerName: "api.example.test", RootCAs: ca.pool},
				DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
					return (&net.Dialer{}).DialContext(ctx, network, tlsAddr)
				}}}
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := client.Get("https://api.example.test/email/ping")
				if err != nil {
					failures.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					failures.Add(1)
				}
				served.Add(1)
			}
		}(i%2 == 0)
	}
	newCert, newKey, _ := ca.issue(t, dir, 200, "api.example.test")
	s.aws("acm", "import-certificate", "--certificate-arn", certArn, "--certificate", "fileb://"+newCert, "--private-key", "fileb://"+newKey,
		"--certificate-chain", "fileb://"+chainFile)
	if !eventually(t, 5*time.Second, func() bool {
		_, st := tlsGet(t, tlsAddr, "api.example.test", "/email/send", ca.pool)
		return st.PeerCertificates[0].SerialNumber.Int64() == 200
	}) {
		t.Fatal("the re-imported certificate is not served")
	}
	close(stop)
	wg.Wait()
	if failures.Load() != 0 || served.Load() == 0 {
		t.Fatalf("across the rotation: %d requests failed, %d served", failures.Load(), served.Load())
	}
	t.Logf("across the rotation: %d requests served, none failed", served.Load())

	// An HTTP API mapped under a key of the same domain (apigatewayv2).
	whoArn := s.nodeGW(t, "who")
	who := s.awsJSON("apigatewayv2", "create-api", "--name", "who", "--protocol-type", "HTTP", "--target", whoArn)
	whoID := str(who["ApiId"])
	s.allowInvoke("who", whoID)
	v2dn := s.awsJSON("apigatewayv2", "get-domain-name", "--domain-name", "api.example.test")
	if v2dn["DomainName"] != "api.example.test" || v2dn["ApiMappingSelectionExpression"] != "$request.basepath" {
		t.Fatalf("apigatewayv2 get-domain-name = %v", v2dn)
	}
	m := s.awsJSON("apigatewayv2", "create-api-mapping", "--domain-name", "api.example.test", "--api-id", whoID,
		"--stage", "$default", "--api-mapping-key", "people")
	if m["ApiMappingKey"] != "people" || m["ApiMappingId"] == "" {
		t.Fatalf("create-api-mapping = %v", m)
	}
	eventually(t, 5*time.Second, func() bool {
		r, _ = tlsGet(t, tlsAddr, "api.example.test", "/people/me", ca.pool)
		return r.Status == 200
	})
	ev := r.JSON(t)
	rc := obj(ev["requestContext"])
	if ev["rawPath"] != "/people/me" || ev["routeKey"] != "$default" || rc["domainName"] != "api.example.test" || rc["domainPrefix"] != "api" {
		t.Fatalf("HTTP API via custom domain saw %s", r.Body)
	}
	// The root mapping still serves the REST API; the v1 view lists both mappings.
	if r, _ := tlsGet(t, tlsAddr, "api.example.test", "/email/ping", ca.pool); r.Status != 200 {
		t.Fatalf("root mapping after adding a keyed one: %d %s", r.Status, r.Body)
	}
	if l := s.awsJSON("apigateway", "get-base-path-mappings", "--domain-name", "api.example.test"); len(l["items"].([]any)) != 2 {
		t.Fatalf("get-base-path-mappings = %v", l)
	}
	// Deleting the domain takes it off the listener.
	s.aws("apigateway", "delete-domain-name", "--domain-name", "api.example.test")
	if !eventually(t, 5*time.Second, func() bool {
		c, err := tls.Dial("tcp", tlsAddr, &tls.Config{ServerName: "api.example.test", RootCAs: ca.pool})
		if err == nil {
			c.Close()
		}
		return err != nil
	}) {
		t.Fatal("a deleted domain still completes handshakes")
	}
	s.aws("acm", "delete-certificate", "--certificate-arn", certArn)
	_ = os.RemoveAll(dir)
}

func mustJSON(v any) []byte {
	var b bytes.Buffer
	_ = json.NewEncoder(&b).Encode(v)
	return b.Bytes()
}
