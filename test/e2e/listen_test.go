package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	proxyproto "github.com/pires/go-proxyproto"
)

// freeAddr is a free port on the given loopback address ("127.0.0.2").
func freeAddr(t *testing.T, host string) string {
	t.Helper()
	l, err := net.Listen("tcp", host+":0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// hostCall sends a request to the listener at addr with the given Host.
func hostCall(t *testing.T, addr, host, method, path string, headers ...string) apiResponse {
	t.Helper()
	r, err := tryHostCall(addr, host, method, path, headers...)
	if err != nil {
		t.Fatalf("%s %s%s (Host %s): %v", method, addr, path, host, err)
	}
	return r
}

func tryHostCall(addr, host, method, path string, headers ...string) (apiResponse, error) {
	req, err := http.NewRequest(method, "http://"+addr+path, nil)
	if err != nil {
		return apiResponse{}, err
	}
	req.Host = host
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		return apiResponse{}, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return apiResponse{resp.StatusCode, resp.Header, b}, nil
}

// awaitHost retries hostCall until it answers want (snapshots swap within ms).
func awaitHost(t *testing.T, want int, addr, host, method, path string, headers ...string) apiResponse {
	t.Helper()
	var r apiResponse
	var err error
	eventually(t, 5*time.Second, func() bool {
		r, err = tryHostCall(addr, host, method, path, headers...)
		return err == nil && r.Status == want
	})
	if err != nil {
		t.Fatalf("%s %s%s (Host %s): %v", method, addr, path, host, err)
	}
	return r
}

// Seed scenario 4: the gateway binds the addresses the operator gives it, one
// listener serves many APIs by Host, HTTP proxy integrations reach upstreams, and
// behind a load balancer speaking the PROXY protocol the function sees the real
// client address. SIGHUP adds and removes listeners from the config file.
func TestScenario4StableAddresses(t *testing.T) {
	dataA, dataB := freeAddr(t, "127.0.0.2"), freeAddr(t, "127.0.0.3")
	proxied, later := freeAddr(t, "127.0.0.1"), freeAddr(t, "127.0.0.4")
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "sluice.yaml")
	writeFile(t, cfgFile, fmt.Sprintf("listeners:\n  - address: %q\n    kind: public\n    proxyProtocol: true\n", proxied))
	s := startSluice(t, startOpts{args: []string{"--config", cfgFile, "--data-listen", dataA, "--data-listen", dataB}})

	up := newUpstream(t)
	orders := s.awsJSON("apigatewayv2", "create-api", "--name", "orders", "--protocol-type", "HTTP", "--target", up.srv.URL)
	ordersID := str(orders["ApiId"])
	fnArn := s.nodeGW(t, "who")
	who := s.awsJSON("apigatewayv2", "create-api", "--name", "who", "--protocol-type", "HTTP", "--target", fnArn)
	whoID := str(who["ApiId"])
	s.allowInvoke("who", whoID)

	// Both data listeners serve both APIs, chosen by Host.
	for _, addr := range []string{dataA, dataB} {
		r := awaitHost(t, 201, addr, ordersID+".execute-api.localhost", "GET", "/list?x=1")
		if string(r.Body) != "upstream saw GET /?x=1" { // quick create: the URL as given, query passed on
			t.Fatalf("%s orders: %d %s", addr, r.Status, r.Body)
		}
		r = awaitHost(t, 200, addr, whoID+".execute-api.localhost", "GET", "/me")
		if ev := r.JSON(t); ev["rawPath"] != "/me" {
			t.Fatalf("%s who: %s", addr, r.Body)
		}
	}
	// A data-only listener serves no control plane and no unknown host.
	if r := hostCall(t, dataA, dataA, "GET", "/_sluice/health"); r.Status != 403 || string(r.Body) != `{"message":"Forbidden"}` {
		t.Fatalf("control plane on a data listener: %d %s", r.Status, r.Body)
	}

	// The PROXY protocol listener: the function sees the client the load balancer names.
	for _, version := range []byte{1, 2} {
		ev := proxyProtocolCall(t, proxied, version, "198.51.100.23", whoID+".execute-api.localhost", "/me")
		rc, _ := ev["requestContext"].(map[string]any)
		httpCtx, _ := rc["http"].(map[string]any)
		if httpCtx["sourceIp"] != "198.51.100.23" {
			t.Fatalf("PROXY v%d: sourceIp = %v", version, httpCtx["sourceIp"])
		}
	}
	// Without the header the connection is refused.
	if c, err := net.Dial("tcp", proxied); err == nil {
		io.WriteString(c, "GET /me HTTP/1.1\r\nHost: "+whoID+".execute-api.localhost\r\n\r\n")
		c.SetReadDeadline(time.Now().Add(20 * time.Second))
		if resp, err := http.ReadResponse(bufio.NewReader(c), nil); err == nil && resp.StatusCode == 200 {
			t.Fatal("a PROXY-protocol listener served a request without the header")
		}
		c.Close()
	}

	// SIGHUP: the proxied listener goes, another comes; the flags' listeners stay.
	writeFile(t, cfgFile, fmt.Sprintf("listeners:\n  - address: %q\n", later))
	if err := s.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	r := awaitHost(t, 201, later, ordersID+".execute-api.localhost", "GET", "/after")
	if r.Status != 201 {
		t.Fatalf("listener added by SIGHUP: %d %s", r.Status, r.Body)
	}
	if !eventually(t, 10*time.Second, func() bool {
		c, err := net.DialTimeout("tcp", proxied, time.Second)
		if err == nil {
			c.Close()
		}
		return err != nil
	}) {
		t.Fatal("listener removed by SIGHUP still accepts")
	}
	if r := hostCall(t, dataA, ordersID+".execute-api.localhost", "GET", "/still"); r.Status != 201 {
		t.Fatalf("flag listener after SIGHUP: %d", r.Status)
	}
	// A bad config is refused and the running listeners stay.
	writeFile(t, cfgFile, "listeners:\n  - address: nonsense\n")
	s.cmd.Process.Signal(syscall.SIGHUP)
	time.Sleep(500 * time.Millisecond)
	if r := hostCall(t, later, ordersID+".execute-api.localhost", "GET", "/kept"); r.Status != 201 {
		t.Fatalf("after a refused reload: %d", r.Status)
	}
	if !strings.Contains(s.logs.String(), "reload refused") {
		t.Fatal("the refused reload was not logged")
	}
	_ = os.Remove(cfgFile)
}

// proxyProtocolCall sends one request through a PROXY protocol header claiming
// client src and returns the JSON body.
func proxyProtocolCall(t *testing.T, addr string, version byte, src, host, path string) map[string]any {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	h := &proxyproto.Header{Version: version, Command: proxyproto.PROXY, TransportProtocol: proxyproto.TCPv4,
		SourceAddr:      &net.TCPAddr{IP: net.ParseIP(src), Port: 51000},
		DestinationAddr: &net.TCPAddr{IP: net.ParseIP("10.0.0.1"), Port: 443}}
	if _, err := h.WriteTo(c); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", path, host)
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("PROXY v%d: %d %s", version, resp.StatusCode, b)
	}
	return m
}
