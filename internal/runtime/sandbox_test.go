package runtime

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func sandboxedPool(t *testing.T) (*Pool, string) {
	t.Helper()
	if why, ok := sandboxAvailable(); !ok {
		t.Skipf("sandbox unavailable here: %s", why)
	}
	dataDir := t.TempDir() // 0700, like the server's data dir
	p, _ := newTestPool(t, func(o *Options) { o.NoSandbox = false; o.DataDir = dataDir })
	if !p.sandboxed {
		t.Fatal("pool is not sandboxed although the sandbox is available")
	}
	return p, dataDir
}

// The review found functions running as root with the whole data dir readable.
func TestSandboxIsolatesInstances(t *testing.T) {
	p, dataDir := sandboxedPool(t)
	secret := filepath.Join(dataDir, "state.db")
	if err := os.WriteFile(secret, []byte("secrets"), 0o600); err != nil {
		t.Fatal(err)
	}
	probe := func(name, marker string) map[string]string {
		res := invoke(t, p, goSpec(name, fixtures.gofn), `{"op":"probe","key":"`+secret+`","data":"`+marker+`"}`, false)
		var r fnReply
		if err := json.Unmarshal(res.Payload, &r); err != nil || res.FunctionError != "" {
			t.Fatalf("probe: %s %v", res.Payload, err)
		}
		return r.Env
	}
	a := probe("sbx-a", "a")
	if a["uid"] == "0" || a["gid"] == "0" {
		t.Fatalf("function runs as uid %s gid %s", a["uid"], a["gid"])
	}
	if !strings.Contains(a["read"], "no such file") && !strings.Contains(a["read"], "permission denied") {
		t.Fatalf("function read the data dir's state.db: %s", a["read"])
	}
	if a["tmp"] != "ok" {
		t.Fatalf("function cannot write /tmp: %s", a["tmp"])
	}
	if a["code"] == "ok" {
		t.Fatal("function wrote into its code directory (read-only on AWS)")
	}
	// Another function (another instance) has a /tmp of its own.
	b := probe("sbx-b", "b")
	if strings.Contains(b["tmpls"], "probe-a") {
		t.Fatalf("function b sees function a's /tmp: %s", b["tmpls"])
	}
	if a["uid"] == b["uid"] {
		t.Fatalf("two instances share uid %s", a["uid"])
	}
	if _, err := os.Stat("/tmp/probe-a"); err == nil {
		t.Fatal("the function's /tmp is the host's /tmp")
	}
}

// Children that start a session of their own must not outlive the instance
// (the review saw setsid'd children survive delete-function).
func TestSandboxKillsDetachedChildren(t *testing.T) {
	p, _ := sandboxedPool(t)
	marker := strconv.Itoa(900000 + int(time.Now().UnixNano()%99999))
	spec := goSpec("sbx-detach", fixtures.gofn)
	res := invoke(t, p, spec, `{"op":"detach","data":"`+marker+`"}`, false)
	if res.FunctionError != "" {
		t.Fatalf("detach: %s", res.Payload)
	}
	if len(sleepers(marker)) == 0 {
		t.Fatal("the detached child did not start")
	}
	p.Drain("sbx-detach")
	deadline := time.Now().Add(10 * time.Second)
	for len(sleepers(marker)) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("detached children outlived their instance: %v", sleepers(marker))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// sleepers lists host pids of "sleep MARKER" processes.
func sleepers(marker string) []string {
	var out []string
	dirs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, f := range dirs {
		b, err := os.ReadFile(f)
		if err == nil && string(b) == "/bin/sleep\x00"+marker+"\x00" {
			out = append(out, f)
		}
	}
	return out
}

func TestSandboxPlan(t *testing.T) {
	base := t.TempDir() // 0700
	code := filepath.Join(base, "runtime", "code", "abc")
	if err := os.MkdirAll(code, 0o755); err != nil {
		t.Fatal(err)
	}
	masks := sandboxPlan([]string{code, "/usr"})
	if masks[0] != "/tmp" {
		t.Fatalf("masks %v: /tmp first", masks)
	}
	for _, m := range masks {
		if m == "/usr" || m == "/" {
			t.Fatalf("masks %v cover a reachable directory", masks)
		}
	}
}

func TestSocketOwner(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, _ := ln.Accept()
	defer s.Close()
	uid, err := socketOwner(s.RemoteAddr().(*net.TCPAddr), s.LocalAddr().(*net.TCPAddr))
	if err != nil || uid != os.Getuid() {
		t.Fatalf("socketOwner = %d, %v; want %d", uid, err, os.Getuid())
	}
}

// Another user's connection to an instance's Runtime API is refused.
func TestOwnerListenerRefusesOtherUsers(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ol := ownerListener{Listener: ln, uid: os.Getuid() + 12345}
	defer ol.Close()
	go func() {
		if c, err := ol.Accept(); err == nil {
			c.Write([]byte("accepted"))
			c.Close()
		}
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if b, _ := io.ReadAll(c); len(b) > 0 {
		t.Fatalf("a connection from another uid was accepted: %q", b)
	}
}

// As root, a sandbox that cannot be set up stops the pool from starting (functions
// would run as root) unless NoSandbox says to run without it.
func TestRootWithoutSandboxRefused(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	saved := sandboxProbe
	sandboxProbe = func() (string, bool) { return "unshare: operation not permitted", false }
	t.Cleanup(func() { sandboxProbe = saved })
	opts := Options{DataDir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if p, err := NewPool(opts); !errors.Is(err, ErrSandboxUnavailable) || !strings.Contains(err.Error(), "--no-function-sandbox") {
		if p != nil {
			p.Close()
		}
		t.Fatalf("NewPool as root without a sandbox: %v", err)
	}
	opts.NoSandbox = true
	p, err := NewPool(opts)
	if err != nil {
		t.Fatalf("NewPool with NoSandbox: %v", err)
	}
	p.Close()
}

// socketOwner finds the owner of the connecting end, not of the accepted one: a
// connection from another uid (a process started as nobody) reports that uid, by
// sock_diag and by /proc/net/tcp alike.
func TestSocketOwnerOfOtherUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to connect as another user")
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	const nobody = 65534
	port := ln.Addr().(*net.TCPAddr).Port
	cmd := exec.Command(bash, "-c", fmt.Sprintf("exec 3<>/dev/tcp/127.0.0.1/%d; sleep 5", port))
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	remote, local := s.RemoteAddr().(*net.TCPAddr), s.LocalAddr().(*net.TCPAddr)
	if uid, err := socketOwnerDiag(remote, local); err != nil || uid != nobody {
		t.Errorf("socketOwnerDiag = %d, %v; want %d", uid, err, nobody)
	}
	if uid, err := socketOwnerProc(remote, local); err != nil || uid != nobody {
		t.Errorf("socketOwnerProc = %d, %v; want %d", uid, err, nobody)
	}
	// The accepted end is this process's.
	if uid, err := socketOwnerDiag(local, remote); err != nil || uid != os.Getuid() {
		t.Errorf("socketOwnerDiag of the accepted end = %d, %v; want %d", uid, err, os.Getuid())
	}
}
