// Package e2e starts real sluice processes and drives them the way users do: with
// the AWS CLI, aws-sdk-go-v2 and plain HTTP clients.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// sluiceBin is the binary under test, built once by TestMain.
var sluiceBin string

// buildDir holds the binaries and zips TestMain builds.
var buildDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sluice-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	buildDir = dir
	sluiceBin = filepath.Join(dir, "sluice")
	build := exec.Command("go", "build", "-o", sluiceBin, "../../cmd/sluice")
	build.Env = append(os.Environ(), "GOFLAGS=-buildvcs=false")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build sluice:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// instance is one running sluice process.
type instance struct {
	t       *testing.T
	cmd     *exec.Cmd
	Addr    string // host:port
	URL     string // http://host:port
	DataDir string
	logs    *bytes.Buffer
	args    []string
	env     []string
}

type startOpts struct {
	dataDir string
	args    []string
	env     []string
}

// startSluice starts sluice on a free loopback port with its own data dir and waits
// until it answers. The process is stopped when the test ends.
func startSluice(t *testing.T, opts startOpts) *instance {
	t.Helper()
	if opts.dataDir == "" {
		opts.dataDir = t.TempDir()
	}
	s := &instance{t: t, DataDir: opts.dataDir, args: opts.args, env: opts.env}
	s.start()
	t.Cleanup(s.stop)
	return s
}

func (s *instance) start() {
	t := s.t
	t.Helper()
	port := freePort(t)
	s.Addr = fmt.Sprintf("127.0.0.1:%d", port)
	s.URL = "http://" + s.Addr
	args := append([]string{"serve", "--listen", s.Addr, "--data-dir", s.DataDir, "--log-level", "debug"}, s.args...)
	s.cmd = exec.Command(sluiceBin, args...)
	s.cmd.Env = append(os.Environ(), s.env...)
	s.logs = &bytes.Buffer{}
	s.cmd.Stdout = s.logs
	s.cmd.Stderr = s.logs
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start sluice: %v", err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(s.URL + "/_sluice/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("sluice did not become healthy: %v\n%s", err, s.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop terminates sluice gracefully (SIGTERM) and dumps its log if the test failed.
func (s *instance) stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
	if s.t.Failed() {
		s.t.Logf("sluice log:\n%s", tail(s.logs.String(), 8000))
	}
	s.cmd = nil
}

// kill9 kills sluice and its process group without warning.
func (s *instance) kill9() {
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	_ = s.cmd.Wait()
	s.cmd = nil
}

// restart starts sluice again on the same data dir.
func (s *instance) restart() { s.stop(); s.start() }

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// awsEnv is the environment the AWS CLI runs with: dummy credentials (open auth
// mode accepts any well-formed signature) and no user config.
func awsEnv() []string {
	return append(os.Environ(),
		"AWS_ACCESS_KEY_ID=AKIDSLUICETEST", "AWS_SECRET_ACCESS_KEY=sluice-test-secret",
		"AWS_DEFAULT_REGION=us-east-1", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null",
		"AWS_PAGER=")
}

// aws runs the AWS CLI against s and returns its stdout; it fails the test on a
// non-zero exit.
func (s *instance) aws(args ...string) []byte {
	s.t.Helper()
	out, stderr, err := s.awsRaw(args...)
	if err != nil {
		s.t.Fatalf("aws %s: %v\nstderr: %s", strings.Join(args, " "), err, stderr)
	}
	return out
}

// awsRaw runs the AWS CLI and returns stdout, stderr and the exit error.
func (s *instance) awsRaw(args ...string) ([]byte, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "aws", append([]string{"--endpoint-url", s.URL, "--output", "json"}, args...)...)
	cmd.Env = awsEnv()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.Bytes(), stderr.String(), err
}

// awsJSON runs the AWS CLI and decodes its JSON output into a map.
func (s *instance) awsJSON(args ...string) map[string]any {
	s.t.Helper()
	out := s.aws(args...)
	var m map[string]any
	if len(bytes.TrimSpace(out)) == 0 {
		return m
	}
	if err := json.Unmarshal(out, &m); err != nil {
		s.t.Fatalf("aws %s: decode %q: %v", strings.Join(args, " "), out, err)
	}
	return m
}

// sdkConfig is an aws-sdk-go-v2 configuration pointed at s.
func (s *instance) sdkConfig() aws.Config {
	return aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDSLUICETEST", "sluice-test-secret", ""),
		BaseEndpoint: aws.String(s.URL),
	}
}
