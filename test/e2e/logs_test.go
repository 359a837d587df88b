package e2e

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
)

// logLine is one line of `sluice logs`: "<RFC 3339 time> <log stream> <message>".
type logLine struct {
	Time            time.Time
	Stream, Message string
}

func parseLogLines(t *testing.T, out string) []logLine {
	t.Helper()
	var lines []logLine
	for _, l := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		if l == "" {
			continue
		}
		lines = append(lines, parseLogLine(t, l))
	}
	return lines
}

// Lambda's log stream names are "YYYY/MM/DD/[$LATEST]<32 hex>".
var logStreamRE = regexp.MustCompile(`^\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}$`)

func parseLogLine(t *testing.T, l string) logLine {
	t.Helper()
	ts, rest, ok1 := strings.Cut(l, " ")
	stream, msg, ok2 := strings.Cut(rest, " ")
	tm, err := time.Parse(time.RFC3339Nano, ts)
	if !ok1 || !ok2 || err != nil || !logStreamRE.MatchString(stream) {
		t.Fatalf("log line %q is not \"<time> <stream> <message>\" (%v)", l, err)
	}
	return logLine{tm, stream, msg}
}

// sluiceLogs runs `sluice logs` against s and returns its output and exit error.
func (s *instance) sluiceLogs(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, sluiceBin, append([]string{"logs", "--endpoint-url", s.URL}, args...)...)
	cmd.Env = awsEnv() // the CLI's credentials, the root key of verify-mode tests
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// invokeForID invokes name synchronously with the SDK and returns the request id
// (Lambda's x-amzn-RequestId is the invocation's request id, the one in START/END/REPORT).
func invokeForID(t *testing.T, c *lambda.Client, name, payload string) string {
	t.Helper()
	out, err := c.Invoke(context.Background(), &lambda.InvokeInput{FunctionName: aws.String(name), Payload: []byte(payload)})
	if err != nil || out.FunctionError != nil {
		t.Fatalf("invoke %s: %v %v", name, err, out)
	}
	id, ok := awsmiddleware.GetRequestIDMetadata(out.ResultMetadata)
	if !ok || id == "" {
		t.Fatalf("invoke %s: no request id", name)
	}
	return id
}

var (
	reportFirstRE = regexp.MustCompile(`^REPORT RequestId: ([0-9a-f-]{36})\tDuration: \d+\.\d{2} ms\tBilled Duration: \d+ ms\t` +
		`Memory Size: 256 MB\tMax Memory Used: \d+ MB\tInit Duration: \d+\.\d{2} ms\t?$`)
	reportWarmRE = regexp.MustCompile(`^REPORT RequestId: ([0-9a-f-]{36})\tDuration: \d+\.\d{2} ms\tBilled Duration: \d+ ms\t` +
		`Memory Size: 256 MB\tMax Memory Used: \d+ MB\t?$`)
)

// `sluice logs FUNCTION` prints each invocation as CloudWatch Logs holds it: START,
// the function's output, END and REPORT (Init Duration on a cold start only).
func TestLogsCommand(t *testing.T) {
	s := startSluice(t, startOpts{})
	c := lambdaClient(s)
	s.createFunction("logfn", "provided.al2023", "bootstrap", goFunctionZip(t), "--memory-size", "256")
	id1 := invokeForID(t, c, "logfn", `{"mode":"log","lines":3}`)
	id2 := invokeForID(t, c, "logfn", `{"mode":"log","lines":1}`)

	out, err := s.sluiceLogs("logfn")
	if err != nil {
		t.Fatalf("sluice logs: %v\n%s", err, out)
	}
	lines := parseLogLines(t, out)
	var msgs []string
	for _, l := range lines {
		msgs = append(msgs, l.Message)
	}
	want := []string{
		"INIT_START Runtime Version: provided:al2023.v1 (arn)",
		"START RequestId: " + id1 + " Version: $LATEST",
		"log line 0", "log line 1", "log line 2",
		"END RequestId: " + id1,
		"REPORT " + id1 + " (cold)",
		"START RequestId: " + id2 + " Version: $LATEST",
		"log line 0",
		"END RequestId: " + id2,
		"REPORT " + id2 + " (warm)",
	}
	if len(msgs) != len(want) {
		t.Fatalf("sluice logs printed %d lines, want %d:\n%s", len(msgs), len(want), out)
	}
	for i, w := range want {
		got := msgs[i]
		switch {
		case strings.HasSuffix(w, " (cold)"):
			if m := reportFirstRE.FindStringSubmatch(got); m == nil || m[1] != id1 {
				t.Fatalf("line %d = %q, want a cold-start REPORT for %s", i, got, id1)
			}
		case strings.HasSuffix(w, " (arn)"):
			if !strings.HasPrefix(got, strings.TrimSuffix(w, " (arn)")+"\tRuntime Version ARN: arn:aws:lambda:us-east-1::runtime:") {
				t.Fatalf("line %d = %q, want AWS's INIT_START line", i, got)
			}
		case strings.HasSuffix(w, " (warm)"):
			if m := reportWarmRE.FindStringSubmatch(got); m == nil || m[1] != id2 {
				t.Fatalf("line %d = %q, want a warm REPORT (no Init Duration) for %s", i, got, id2)
			}
		case got != w:
			t.Fatalf("line %d = %q, want %q\n%s", i, got, w, out)
		}
	}
	// One warm instance served both: one log stream, and times never go backwards.
	for i, l := range lines {
		if l.Stream != lines[0].Stream {
			t.Fatalf("line %d stream %q, want %q", i, l.Stream, lines[0].Stream)
		}
		if i > 0 && l.Time.Before(lines[i-1].Time) {
			t.Fatalf("line %d is older than line %d:\n%s", i, i-1, out)
		}
	}
	if !strings.HasPrefix(lines[0].Stream, time.Now().UTC().Format("2006/01/02")) {
		t.Fatalf("log stream %q is not named for today", lines[0].Stream)
	}

	// --since: a duration back from now, or an RFC 3339 time.
	time.Sleep(1500 * time.Millisecond)
	cut := time.Now().UTC()
	id3 := invokeForID(t, c, "logfn", `{"mode":"log","lines":1}`)
	for _, since := range []string{"1s", cut.Format(time.RFC3339Nano)} {
		out, err := s.sluiceLogs("logfn", "--since", since)
		if err != nil {
			t.Fatalf("sluice logs --since %s: %v\n%s", since, err, out)
		}
		if strings.Contains(out, id1) || strings.Contains(out, id2) || !strings.Contains(out, "START RequestId: "+id3) ||
			!strings.Contains(out, "REPORT RequestId: "+id3) {
			t.Fatalf("sluice logs --since %s should print only %s:\n%s", since, id3, out)
		}
	}

	// --filter-pattern is FilterLogEvents' filterPattern; with no --endpoint-url
	// the server is the listen address of the config file.
	cfgFile := filepath.Join(t.TempDir(), "sluice.yaml")
	if err := os.WriteFile(cfgFile, []byte("listen: "+s.Addr+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	filtered, err := exec.Command(sluiceBin, "logs", "logfn", "--since", "1h", "--filter-pattern", `"line 2"`, "--config", cfgFile).CombinedOutput()
	if got := parseLogLines(t, string(filtered)); err != nil || len(got) != 1 || got[0].Message != "log line 2" {
		t.Fatalf("sluice logs --filter-pattern '\"line 2\"' --config: %v\n%s", err, filtered)
	}

	// Errors are clear and exit non-zero.
	errCases := []struct{ name, want string }{
		{"no-such-fn", "sluice: logs for no-such-fn: ResourceNotFoundException: Function not found: arn:aws:lambda:us-east-1:123456789012:function:no-such-fn"},
		{"logfn --since yesterday", "invalid since \"yesterday\""},
	}
	for _, ec := range errCases {
		out, err := s.sluiceLogs(strings.Fields(ec.name)...)
		if err == nil || !strings.Contains(out, ec.want) {
			t.Fatalf("sluice logs %s: err %v, output %q, want it to contain %q", ec.name, err, out, ec.want)
		}
	}
}

// `sluice logs --follow` keeps printing: invocations made after it started show
// up, even when it started before the function ever ran, and it exits cleanly on
// SIGINT.
func TestLogsFollow(t *testing.T) {
	s := startSluice(t, startOpts{})
	c := lambdaClient(s)
	s.createFunction("follow", "provided.al2023", "bootstrap", goFunctionZip(t))
	// A function that exists but has not run has no lines yet: not an error.
	if out, err := s.sluiceLogs("follow"); err != nil || out != "" {
		t.Fatalf("sluice logs before the first invoke: %v %q", err, out)
	}

	// The endpoint from AWS_ENDPOINT_URL, run outside the repository: `sluice logs`
	// needs nothing but a server (here on a port other than 4566).
	cmd := exec.Command(sluiceBin, "logs", "follow", "--follow")
	cmd.Env = append(os.Environ(), "AWS_ENDPOINT_URL="+s.URL)
	cmd.Dir = t.TempDir()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		exited <- cmd.Wait()
	}()
	defer func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
		}
	}()
	// await reads lines until one's message is want.
	await := func(want string) {
		t.Helper()
		timeout := time.After(10 * time.Second)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("sluice logs --follow ended before %q; stderr %s", want, stderr.String())
				}
				if parseLogLine(t, l).Message == want {
					return
				}
			case <-timeout:
				t.Fatalf("sluice logs --follow: no %q within 10s; stderr %s", want, stderr.String())
			}
		}
	}
	// Let the follow request reach the server before the function first runs.
	time.Sleep(300 * time.Millisecond)
	id1 := invokeForID(t, c, "follow", `{"mode":"log","lines":1}`)
	await("START RequestId: " + id1 + " Version: $LATEST")
	await("END RequestId: " + id1)

	id2 := invokeForID(t, c, "follow", `{"mode":"log","lines":2}`)
	await("START RequestId: " + id2 + " Version: $LATEST")
	await("log line 1")
	await("END RequestId: " + id2)

	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("sluice logs --follow exited with %v after SIGINT; stderr %s", err, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("sluice logs --follow did not exit on SIGINT")
	}
}
