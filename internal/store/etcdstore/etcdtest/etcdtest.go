// Package etcdtest starts a real, throwaway etcd server for tests: the Debian
// etcd-server binary on two free loopback ports with a temporary data dir.
package etcdtest

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

// RequireEnv, when set to "1", turns a missing etcd binary from a skip into a
// failure (CI sets it so the etcd backend is never silently untested).
const RequireEnv = "SLUICE_REQUIRE_ETCD"

// Binary returns the etcd binary to run: $SLUICE_ETCD_BIN, /usr/bin/etcd, or
// etcd on PATH; "" if none exists.
func Binary() string {
	if p := os.Getenv("SLUICE_ETCD_BIN"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return ""
		}
		return p
	}
	if _, err := os.Stat("/usr/bin/etcd"); err == nil {
		return "/usr/bin/etcd"
	}
	if p, err := exec.LookPath("etcd"); err == nil {
		return p
	}
	return ""
}

// Start runs an etcd server for the life of t and returns its client endpoint
// (http://127.0.0.1:port). It skips t when no etcd binary is installed, unless
// SLUICE_REQUIRE_ETCD=1.
func Start(t testing.TB) string {
	t.Helper()
	endpoint, _ := StartStoppable(t)
	return endpoint
}

// StartStoppable is Start that also returns a func killing the server early (a
// test of what happens when the store goes away); it is safe to call twice.
func StartStoppable(t testing.TB) (endpoint string, stop func()) {
	t.Helper()
	bin := Binary()
	if bin == "" {
		if os.Getenv(RequireEnv) == "1" {
			t.Fatalf("etcd binary not found and %s=1", RequireEnv)
		}
		t.Skip("etcd binary not found (install etcd-server); set " + RequireEnv + "=1 to fail instead")
	}
	var lastErr error
	for range 3 { // a free port can be taken between probe and bind; retry
		endpoint, stop, err := start(t, bin)
		if err == nil {
			return endpoint, stop
		}
		lastErr = err
	}
	t.Fatalf("start etcd: %v", lastErr)
	return "", nil
}

func start(t testing.TB, bin string) (string, func(), error) {
	clientPort, err := freePort()
	if err != nil {
		return "", nil, err
	}
	peerPort, err := freePort()
	if err != nil {
		return "", nil, err
	}
	clientURL := "http://127.0.0.1:" + strconv.Itoa(clientPort)
	peerURL := "http://127.0.0.1:" + strconv.Itoa(peerPort)
	dataDir := filepath.Join(t.TempDir(), "etcd")
	var logs syncBuffer
	cmd := exec.Command(bin,
		"--name", "test",
		"--data-dir", dataDir,
		"--listen-client-urls", clientURL,
		"--advertise-client-urls", clientURL,
		"--listen-peer-urls", peerURL,
		"--initial-advertise-peer-urls", peerURL,
		"--initial-cluster", "test="+peerURL,
		"--initial-cluster-state", "new",
		"--log-level", "error",
		"--logger", "zap",
	)
	cmd.Stdout = &logs
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("run %s: %w", bin, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			_ = cmd.Process.Kill()
			<-exited
		})
	}

	deadline := time.Now().Add(20 * time.Second)
	client := &http.Client{Timeout: time.Second}
	for {
		select {
		case <-exited:
			return "", nil, fmt.Errorf("etcd exited during startup: %s", logs.String())
		default:
		}
		if resp, err := client.Get(clientURL + "/health"); err == nil {
			healthy := resp.StatusCode == http.StatusOK
			resp.Body.Close()
			if healthy {
				break
			}
		}
		if time.Now().After(deadline) {
			stop()
			return "", nil, fmt.Errorf("etcd not healthy after 20s: %s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("etcd output:\n%s", logs.String())
		}
	})
	return clientURL, stop, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
