package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// pebbleCA is a running Debian pebble (ACME test CA) with pebble-challtestsrv
// answering its DNS queries with 127.0.0.1, so names like api.example.test
// validate against the local sluice.
type pebbleCA struct {
	Directory string
	RootFile  string // the CA of pebble's own TLS (for --acme-ca-root)
	mgmt      string
	ca        *testCA
}

// startPebble starts pebble validating HTTP-01 on httpPort and TLS-ALPN-01 on
// tlsPort; tests without pebble installed are skipped (scripts/install-deps.sh
// installs it).
func startPebble(t *testing.T, httpPort, tlsPort string) *pebbleCA {
	t.Helper()
	if _, err := exec.LookPath("pebble"); err != nil {
		t.Skip("pebble is not installed (scripts/install-deps.sh installs it)")
	}
	dir := t.TempDir()
	ca := newTestCA(t)
	// pebble's own TLS certificate, for 127.0.0.1 and localhost.
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "localhost"},
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	certFile := writeFile(t, filepath.Join(dir, "pebble.crt"), string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	keyFile := writeFile(t, filepath.Join(dir, "pebble.key"), string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})))
	rootFile := writeFile(t, filepath.Join(dir, "root.crt"), string(ca.certPEM))

	dns := freeAddr(t, "127.0.0.1")
	acmeAddr, mgmtAddr := freeAddr(t, "127.0.0.1"), freeAddr(t, "127.0.0.1")
	cfg := writeFile(t, filepath.Join(dir, "pebble.json"), fmt.Sprintf(`{"pebble": {
  "listenAddress": %q, "managementListenAddress": %q,
  "certificate": %q, "privateKey": %q,
  "httpPort": %s, "tlsPort": %s, "ocspResponderURL": "", "externalAccountBindingRequired": false
}}`, acmeAddr, mgmtAddr, certFile, keyFile, httpPort, tlsPort))

	start := func(name string, env []string, args ...string) {
		cmd := exec.Command(name, args...)
		cmd.Env = append(cmd.Environ(), env...)
		logs := &strings.Builder{}
		cmd.Stdout, cmd.Stderr = logs, logs
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Fatalf("start %s: %v", name, err)
		}
		t.Cleanup(func() {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			_ = cmd.Wait()
			if t.Failed() {
				t.Logf("%s log:\n%s", name, tail(logs.String(), 6000))
			}
		})
	}
	start("pebble-challtestsrv", nil, "-defaultIPv4", "127.0.0.1", "-defaultIPv6", "", "-dns01", dns,
		"-http01", "", "-https01", "", "-tlsalpn01", "", "-management", freeAddr(t, "127.0.0.1"))
	// No sleeping between validation attempts, and no random nonce rejections:
	// the test checks issuance, not the client's retry of bad nonces.
	start("pebble", []string{"PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0"}, "-config", cfg, "-dnsserver", dns)

	p := &pebbleCA{Directory: "https://" + acmeAddr + "/dir", RootFile: rootFile, mgmt: mgmtAddr, ca: ca}
	client := p.client()
	if !eventually(t, 20*time.Second, func() bool {
		resp, err := client.Get(p.Directory)
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == 200
	}) {
		t.Fatal("pebble did not start")
	}
	return p
}

func (p *pebbleCA) client() *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: p.ca.pool}}}
}

// issuingRoots is the pool of pebble's issuing roots (generated at its start).
func (p *pebbleCA) issuingRoots(t *testing.T) (*x509.CertPool, string) {
	t.Helper()
	resp, err := p.client().Get("https://" + p.mgmt + "/roots/0")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		t.Fatalf("pebble roots: %s", b)
	}
	return pool, string(b)
}

// Seed scenario 1 with a certificate obtained automatically: request-certificate
// for api.example.test is validated by pebble against Sluice's own listeners and
// becomes ISSUED; the domain serves the REST API with it.
func TestScenario1CustomDomainACMECertificate(t *testing.T) {
	plain, tlsAddr := freeAddr(t, "127.0.0.1"), freeAddr(t, "127.0.0.1")
	_, httpPort, _ := net.SplitHostPort(plain)
	_, tlsPort, _ := net.SplitHostPort(tlsAddr)
	p := startPebble(t, httpPort, tlsPort)
	s := startSluice(t, startOpts{args: []string{"--data-listen", plain, "--tls-listen", tlsAddr,
		"--acme-directory", p.Directory, "--acme-ca-root", p.RootFile, "--acme-email", "ops@example.test"}})

	req := s.awsJSON("acm", "request-certificate", "--domain-name", "api.example.test", "--validation-method", "DNS")
	arn := str(req["CertificateArn"])
	if arn == "" {
		t.Fatalf("request-certificate = %v", req)
	}
	var desc map[string]any
	if !eventually(t, 90*time.Second, func() bool {
		desc = obj(s.awsJSON("acm", "describe-certificate", "--certificate-arn", arn)["Certificate"])
		return desc["Status"] == "ISSUED" || desc["Status"] == "FAILED"
	}) || desc["Status"] != "ISSUED" {
		t.Fatalf("requested certificate: %v", desc)
	}
	if desc["Type"] != "AMAZON_ISSUED" || !strings.Contains(str(desc["Issuer"]), "Pebble") {
		t.Fatalf("describe-certificate = %v", desc)
	}
	// A wildcard cannot be validated by HTTP-01/TLS-ALPN-01: refused up front.
	if _, stderr, err := s.awsRaw("acm", "request-certificate", "--domain-name", "*.example.test"); err == nil || !strings.Contains(stderr, "ValidationException") {
		t.Fatalf("wildcard request: %v %s", err, stderr)
	}

	apiID := emailAPI(t, s)
	s.aws("apigateway", "create-domain-name", "--domain-name", "api.example.test",
		"--regional-certificate-arn", arn, "--endpoint-configuration", "types=REGIONAL")
	s.aws("apigateway", "create-base-path-mapping", "--domain-name", "api.example.test", "--rest-api-id", apiID, "--stage", "v1")

	roots, rootPEM := p.issuingRoots(t)
	var r apiResponse
	eventually(t, 5*time.Second, func() bool {
		r, _ = tlsGet(t, tlsAddr, "api.example.test", "/email/send", roots)
		return r.Status == 200
	})
	if m := r.JSON(t); r.Status != 200 || m["path"] != "/email/send" || m["sent"] != true {
		t.Fatalf("https://api.example.test/email/send: %d %s", r.Status, r.Body)
	}
	// curl trusting pebble's root, as the scenario's user does.
	rootFile := writeFile(t, filepath.Join(t.TempDir(), "pebble-root.pem"), rootPEM)
	out, err := exec.Command("curl", "-sS", "--resolve", "api.example.test:"+tlsPort+":127.0.0.1", "--cacert", rootFile,
		"https://api.example.test:"+tlsPort+"/email/send").CombinedOutput()
	if err != nil || !strings.Contains(string(out), `"sent":true`) {
		t.Fatalf("curl: %v %s", err, out)
	}
	if r := hostCall(t, plain, "api.example.test", "GET", "/email/send"); r.Status != 403 {
		t.Fatalf("plain HTTP to the custom domain: %d %s", r.Status, r.Body)
	}
}
