package logtail

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/sluice-dev/sluice/internal/cwlogs"
	"github.com/sluice-dev/sluice/internal/fnlogs"
)

// logsServer serves the Logs API over a fresh log store and returns the store
// and an SDK client pointed at it.
func logsServer(t *testing.T) (*fnlogs.Store, *cloudwatchlogs.Client) {
	t.Helper()
	st, err := fnlogs.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	srv := httptest.NewServer(cwlogs.New(cwlogs.Options{Logs: st, Region: "us-east-1", AccountID: "123456789012"}))
	t.Cleanup(srv.Close)
	c := cloudwatchlogs.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", "")})
	return st, c
}

func TestTailSinceAndFilter(t *testing.T) {
	st, c := logsServer(t)
	now := time.Now()
	st.Append("fn", "s1", now.Add(-30*time.Minute), "half an hour ago")
	st.Append("fn", "s1", now.Add(-time.Second), `{"level":"ERROR","msg":"boom"}`)
	st.Append("fn", "s2", now, "now\n")

	tail := func(o Options) string {
		t.Helper()
		o.Group = "/aws/lambda/fn"
		var b strings.Builder
		if err := Tail(context.Background(), c, o, &b); err != nil {
			t.Fatalf("Tail %+v: %v", o, err)
		}
		return b.String()
	}
	if got := tail(Options{Since: now.Add(-time.Hour)}); strings.Count(got, "\n") != 3 ||
		!strings.Contains(got, " s1 half an hour ago\n") || !strings.HasSuffix(got, " s2 now\n") {
		t.Errorf("since 1h = %q", got)
	}
	if got := tail(Options{}); strings.Count(got, "\n") != 2 {
		t.Errorf("default window (10m) = %q", got)
	}
	if got := tail(Options{FilterPattern: `{ $.level = "ERROR" }`}); strings.Count(got, "\n") != 1 || !strings.Contains(got, "boom") {
		t.Errorf("JSON filter = %q", got)
	}
	line := strings.TrimSuffix(tail(Options{FilterPattern: `"now"`}), "\n")
	ts, rest, _ := strings.Cut(line, " ")
	if got, err := time.Parse(time.RFC3339Nano, ts); err != nil || got.UnixMilli() != now.UnixMilli() || rest != "s2 now" {
		t.Errorf("line = %q (%v), want <time of now> s2 now", line, err)
	}

	err := Tail(context.Background(), c, Options{Group: "/aws/lambda/ghost"}, io.Discard)
	if !errors.Is(err, ErrGroupNotFound) {
		t.Errorf("Tail(ghost) = %v, want ErrGroupNotFound", err)
	}
}

// Following prints each event once, including events of the millisecond the
// previous poll ended at, waits for a group that does not exist yet, and ends
// cleanly when cancelled.
func TestTailFollow(t *testing.T) {
	st, c := logsServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- Tail(ctx, c, Options{Group: "/aws/lambda/later", Follow: true, Poll: 10 * time.Millisecond}, pw)
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	next := func() string {
		t.Helper()
		if !sc.Scan() {
			t.Fatal("Tail ended")
		}
		_, rest, _ := strings.Cut(sc.Text(), " ")
		return rest
	}
	at := time.Now()
	st.Append("later", "s", at, "one")
	if got := next(); got != "s one" {
		t.Fatalf("first line %q", got)
	}
	st.Append("later", "s", at, "two") // same millisecond as "one"
	st.Append("later", "s", at.Add(time.Millisecond), "three")
	for _, want := range []string{"s two", "s three"} {
		if got := next(); got != want {
			t.Fatalf("line %q, want %q", got, want)
		}
	}
	cancel()
	go io.Copy(io.Discard, pr)
	if err := <-done; err != nil {
		t.Errorf("Tail after cancel = %v, want nil", err)
	}
}
