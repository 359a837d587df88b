package fnlogs

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/internal/awsproto"
)

var t0 = time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)

func openStore(t *testing.T, opts Options) (*Store, string) {
	t.Helper()
	dir := t.TempDir()
	s, err := OpenWith(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, dir
}

func readAll(t *testing.T, s *Store, fn string, since time.Time) []Entry {
	t.Helper()
	var out []Entry
	if err := s.Read(context.Background(), fn, since, false, func(e Entry) error {
		out = append(out, e)
		return nil
	}); err != nil {
		t.Fatalf("Read(%s): %v", fn, err)
	}
	return out
}

func TestAppendRead(t *testing.T) {
	s, dir := openStore(t, Options{})
	lines := []struct {
		Time            time.Time
		Stream, Message string
	}{
		{t0, "platform", "START RequestId: 1 Version: $LATEST"},
		{t0.Add(time.Millisecond), "stdout", "2024-05-01T10:00:00.001Z\t1\tINFO\thello \"quoted\" \\ tab\there"},
		{t0.Add(2 * time.Millisecond), "stderr", "ünïcödé \x00 ctrl \x7f and bad utf8 \xff"},
		{t0.Add(3 * time.Millisecond), "platform", "END RequestId: 1"},
	}
	for _, l := range lines {
		s.Append("fn-a", l.Stream, l.Time, l.Message)
	}
	s.Append("fn-b", "stdout", t0, "other function")

	got := readAll(t, s, "fn-a", time.Time{})
	if len(got) != len(lines) {
		t.Fatalf("got %d entries, want %d: %v", len(got), len(lines), got)
	}
	for i := range lines {
		want := lines[i]
		if i == 2 {
			want.Message = "ünïcödé \x00 ctrl \x7f and bad utf8 \ufffd"
		}
		if !got[i].Time.Equal(want.Time) || got[i].Stream != want.Stream || got[i].Message != want.Message {
			t.Errorf("entry %d = %+v, want %+v", i, got[i], want)
		}
	}

	// The file format is one JSON object per line, as documented.
	s.Close()
	data, err := os.ReadFile(filepath.Join(dir, "fn-a", "2024-05-01-0000.log"))
	if err != nil {
		t.Fatal(err)
	}
	first, _, _ := strings.Cut(string(data), "\n")
	wantFirst := fmt.Sprintf(`{"t":%d,"s":"platform","m":"START RequestId: 1 Version: $LATEST"}`, t0.UnixNano())
	if first != wantFirst {
		t.Errorf("first line = %s\nwant         %s", first, wantFirst)
	}
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if !json.Valid([]byte(l)) {
			t.Errorf("invalid JSON line %q", l)
		}
	}
}

func TestReadUnknownFunction(t *testing.T) {
	s, _ := openStore(t, Options{Exists: func(fn string) bool { return fn == "known" }})
	err := s.Read(context.Background(), "nope", time.Time{}, false, func(Entry) error { return nil })
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("Read(nope) = %v, want ErrNotFound", err)
	}
	if got := readAll(t, s, "known", time.Time{}); len(got) != 0 {
		t.Errorf("Read(known) = %v, want nothing", got)
	}
}

func TestSinceFiltering(t *testing.T) {
	s, _ := openStore(t, Options{})
	// Three days, so whole segments are skipped and a boundary is filtered.
	for d := 0; d < 3; d++ {
		for m := 0; m < 3; m++ {
			ts := t0.AddDate(0, 0, d).Add(time.Duration(m) * time.Minute)
			s.Append("fn", "stdout", ts, ts.Format(time.RFC3339))
		}
	}
	tests := []struct {
		since time.Time
		want  int
		first string
	}{
		{time.Time{}, 9, "2024-05-01T10:00:00Z"},
		{t0.AddDate(0, 0, 1).Add(time.Minute), 5, "2024-05-02T10:01:00Z"},
		{t0.AddDate(0, 0, 2).Add(2 * time.Minute), 1, "2024-05-03T10:02:00Z"},
		{t0.AddDate(0, 0, 5), 0, ""},
	}
	for _, tt := range tests {
		got := readAll(t, s, "fn", tt.since)
		if len(got) != tt.want {
			t.Errorf("since %v: %d entries, want %d", tt.since, len(got), tt.want)
			continue
		}
		if tt.want > 0 && got[0].Message != tt.first {
			t.Errorf("since %v: first = %s, want %s", tt.since, got[0].Message, tt.first)
		}
	}
}

func TestLateLineGoesToOpenSegment(t *testing.T) {
	s, dir := openStore(t, Options{})
	s.Append("fn", "stdout", t0.AddDate(0, 0, 1), "day two")
	s.Append("fn", "stdout", t0, "late line from day one")
	s.Close()
	segs, _ := listSegments(filepath.Join(dir, "fn"))
	if len(segs) != 1 || segs[0].day != "2024-05-02" {
		t.Errorf("segments = %v, want only 2024-05-02", segs)
	}
}

func TestFollowReceivesNewLines(t *testing.T) {
	s, _ := openStore(t, Options{FlushInterval: time.Hour}) // readers must not depend on the flusher
	s.Append("fn", "stdout", t0, "before")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan Entry, 10)
	errc := make(chan error, 1)
	go func() {
		errc <- s.Read(ctx, "fn", time.Time{}, true, func(e Entry) error {
			got <- e
			return nil
		})
	}()
	if e := recv(t, got); e.Message != "before" {
		t.Fatalf("first = %q", e.Message)
	}
	// Appended after the reader caught up, including across a day boundary.
	s.Append("fn", "stdout", t0.Add(time.Second), "after 1")
	s.Append("fn", "stderr", t0.AddDate(0, 0, 1), "after 2, next day")
	for _, want := range []string{"after 1", "after 2, next day"} {
		if e := recv(t, got); e.Message != want {
			t.Fatalf("got %q, want %q", e.Message, want)
		}
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("Read returned %v, want context.Canceled", err)
	}
}

func TestFollowEndsOnClose(t *testing.T) {
	s, _ := openStore(t, Options{Exists: func(string) bool { return true }})
	errc := make(chan error, 1)
	started := make(chan struct{})
	go func() {
		close(started)
		errc <- s.Read(context.Background(), "fn", time.Time{}, true, func(Entry) error { return nil })
	}()
	<-started
	s.Close()
	select {
	case err := <-errc:
		if err != nil {
			t.Errorf("Read after Close = %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("follower did not stop on Close")
	}
}

func TestConcurrentAppends(t *testing.T) {
	s, _ := openStore(t, Options{SegmentBytes: 4 << 10, MaxBytes: 1 << 30, Exists: func(string) bool { return true }})
	const writers, perWriter = 16, 300
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// A follower reads everything while the writers run.
	var mu sync.Mutex
	seen := map[string]int{}
	total := 0
	all := make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		errc <- s.Read(ctx, "fn", time.Time{}, true, func(e Entry) error {
			mu.Lock()
			defer mu.Unlock()
			var w, i int
			fmt.Sscanf(e.Message, "w%d-%d", &w, &i)
			key := fmt.Sprint(w)
			if i != seen[key] {
				return fmt.Errorf("writer %d: got line %d, want %d (order or duplicate)", w, i, seen[key])
			}
			seen[key]++
			total++
			if total == writers*perWriter {
				close(all)
			}
			return nil
		})
	}()
	s.Append("other", "stdout", t0, "warm")
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perWriter; i++ {
				s.Append("fn", "stdout", t0.Add(time.Duration(i)*time.Millisecond), fmt.Sprintf("w%d-%d", w, i))
				if i%50 == 0 {
					s.Append("other", "stdout", t0, "noise")
				}
			}
		}()
	}
	wg.Wait()
	select {
	case <-all:
	case err := <-errc:
		t.Fatalf("follower stopped: %v", err)
	case <-time.After(30 * time.Second):
		mu.Lock()
		t.Fatalf("follower saw %d of %d lines", total, writers*perWriter)
	}
	if got := len(readAll(t, s, "fn", time.Time{})); got != writers*perWriter {
		t.Errorf("Read after the fact = %d entries, want %d", got, writers*perWriter)
	}
}

func TestRetention(t *testing.T) {
	s, dir := openStore(t, Options{MaxBytes: 10 << 10, SegmentBytes: 2 << 10, Retention: 24 * time.Hour})
	line := strings.Repeat("x", 200)
	for i := 0; i < 200; i++ {
		s.Append("fn", "stdout", t0.Add(time.Duration(i)*time.Second), fmt.Sprintf("%04d %s", i, line))
	}
	s.flush(s.fn("fn"))
	fnDir := filepath.Join(dir, "fn")
	segs, _ := listSegments(fnDir)
	if len(segs) < 10 {
		t.Fatalf("only %d segments, want many", len(segs))
	}

	// Size: prune keeps at most MaxBytes, dropping the oldest first.
	s.pruneAll()
	var size int64
	segs, _ = listSegments(fnDir)
	for _, seg := range segs {
		st, _ := os.Stat(filepath.Join(fnDir, seg.name()))
		size += st.Size()
	}
	if size > 10<<10 {
		t.Errorf("after prune the function uses %d bytes, want <= %d", size, 10<<10)
	}
	got := readAll(t, s, "fn", time.Time{})
	if len(got) == 0 || !strings.HasPrefix(got[len(got)-1].Message, "0199 ") {
		t.Fatalf("newest line lost by prune: %d entries", len(got))
	}
	if strings.HasPrefix(got[0].Message, "0000 ") {
		t.Errorf("oldest line survived a size prune")
	}

	// Age: segments last written more than Retention ago go, the open one stays.
	old := time.Now().Add(-48 * time.Hour)
	for _, seg := range segs {
		os.Chtimes(filepath.Join(fnDir, seg.name()), old, old)
	}
	s.pruneAll()
	segs, _ = listSegments(fnDir)
	if len(segs) != 1 {
		t.Errorf("after age prune %d segments remain, want only the open one", len(segs))
	}
	s.Append("fn", "stdout", t0.Add(time.Hour), "still writable")
	got = readAll(t, s, "fn", t0.Add(time.Hour))
	if len(got) != 1 || got[0].Message != "still writable" {
		t.Errorf("after prune: %v", got)
	}
}

func TestReopenContinuesSegments(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	s.Append("fn", "stdout", t0, "one")
	s.Close()
	s.Append("fn", "stdout", t0, "dropped after close")
	s2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	s2.Append("fn", "stdout", t0.Add(time.Second), "two")
	got := readAll(t, s2, "fn", time.Time{})
	if len(got) != 2 || got[0].Message != "one" || got[1].Message != "two" {
		t.Errorf("entries = %v", got)
	}
}

func TestFunctionNamesStayInsideTheStore(t *testing.T) {
	s, dir := openStore(t, Options{})
	names := []string{"../escape", "a/b", "fn:1", ".", "..", "arn:aws:lambda:us-east-1:0:function:x"}
	for _, n := range names {
		s.Append(n, "stdout", t0, "line for "+n)
	}
	s.Append("plain-Name_1", "stdout", t0, "plain")
	for _, n := range names {
		got := readAll(t, s, n, time.Time{})
		if len(got) != 1 || got[0].Message != "line for "+n {
			t.Errorf("Read(%q) = %v", n, got)
		}
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		name, ok := functionName(e.Name())
		if !ok {
			t.Errorf("directory %q does not decode", e.Name())
		}
		if e.Name() != "plain-Name_1" && !strings.HasPrefix(e.Name(), "~") {
			t.Errorf("directory %q for %q is not encoded", e.Name(), name)
		}
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(dir), "escape")); err == nil {
		t.Error("a function name escaped the store directory")
	}
}

func TestParseSince(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in      string
		want    time.Time
		wantErr bool
	}{
		{"", now.Add(-10 * time.Minute), false},
		{"10m", now.Add(-10 * time.Minute), false},
		{"1h30m", now.Add(-90 * time.Minute), false},
		{"2024-05-01T11:00:00Z", time.Date(2024, 5, 1, 11, 0, 0, 0, time.UTC), false},
		{"2024-05-01T13:00:00.5+02:00", time.Date(2024, 5, 1, 11, 0, 0, 5e8, time.UTC), false},
		{"-5m", time.Time{}, true},
		{"yesterday", time.Time{}, true},
	}
	for _, tt := range tests {
		got, err := ParseSince(tt.in, now)
		if (err != nil) != tt.wantErr || !got.Equal(tt.want) {
			t.Errorf("ParseSince(%q) = %v, %v; want %v, err %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestHandler(t *testing.T) {
	s, _ := openStore(t, Options{})
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	now := time.Now().UTC()
	s.Append("fn", "platform", now.Add(-time.Hour), "too old for the default window")
	s.Append("fn", "stdout", now.Add(-time.Minute), "recent")

	tests := []struct {
		path       string
		wantStatus int
		wantBody   string
	}{
		{"/_sluice/logs/fn", 200, now.Add(-time.Minute).Format(time.RFC3339Nano) + " stdout recent\n"},
		{"/_sluice/logs/fn?since=2h", 200,
			now.Add(-time.Hour).Format(time.RFC3339Nano) + " platform too old for the default window\n" +
				now.Add(-time.Minute).Format(time.RFC3339Nano) + " stdout recent\n"},
		{"/_sluice/logs/nope", 404, `{"message":"No logs found for function nope."}` + "\n"},
		{"/_sluice/logs/fn?since=soon", 400, `{"message":"invalid since \"soon\": use an RFC 3339 time (2024-05-01T10:00:00Z) or a duration (10m, 2h)"}` + "\n"},
	}
	for _, tt := range tests {
		resp, err := http.Get(srv.URL + tt.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.wantStatus || string(body) != tt.wantBody {
			t.Errorf("GET %s = %d %q\nwant %d %q", tt.path, resp.StatusCode, body, tt.wantStatus, tt.wantBody)
		}
		if tt.wantStatus == 200 && resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" {
			t.Errorf("GET %s Content-Type = %q", tt.path, resp.Header.Get("Content-Type"))
		}
	}
}

func TestHandlerFollowStreams(t *testing.T) {
	s, _ := openStore(t, Options{})
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	now := time.Now()
	s.Append("fn", "stdout", now, "first")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/_sluice/logs/fn?follow=1&since=1m", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	lines := bufio.NewScanner(resp.Body)
	expect := func(suffix string) {
		t.Helper()
		if !lines.Scan() {
			t.Fatalf("stream ended: %v", lines.Err())
		}
		if !strings.HasSuffix(lines.Text(), suffix) {
			t.Fatalf("line = %q, want suffix %q", lines.Text(), suffix)
		}
	}
	expect(" stdout first")
	s.Append("fn", "stderr", now.Add(time.Millisecond), "second")
	expect(" stderr second")
	s.Append("fn", "platform", now.Add(2*time.Millisecond), "END RequestId: x")
	expect(" platform END RequestId: x")
}

func recv(t *testing.T, c <-chan Entry) Entry {
	t.Helper()
	select {
	case e := <-c:
		return e
	case <-time.After(10 * time.Second):
		t.Fatal("no entry received")
		return Entry{}
	}
}

func BenchmarkAppend(b *testing.B) {
	s, err := Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	line := "2024-05-01T10:00:00.000Z\tc0ffee00-0000-0000-0000-000000000000\tINFO\tprocessed order 12345 in 3 ms"
	now := time.Now()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			s.Append("bench", "stdout", now, line)
		}
	})
}

// FuzzAppendJSONString checks the hand-written encoder against encoding/json:
// the output must be valid JSON decoding to what encoding/json would store.
func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "plain", "quote\" backslash\\ nl\n cr\r tab\t", "\x00\x01\x1f\x7f", "ünï ✓ 😀", "bad \xff\xfe utf8", "\u2028\u2029", "<html>&"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		enc := awsproto.AppendJSONString(nil, s)
		var got string
		if err := json.Unmarshal(enc, &got); err != nil {
			t.Fatalf("invalid JSON %q for %q: %v", enc, s, err)
		}
		ref, _ := json.Marshal(s)
		var want string
		json.Unmarshal(ref, &want)
		if got != want {
			t.Fatalf("decoded %q, want %q", got, want)
		}
	})
}

// TestAppendRecoversFromWriteError: a failed write (here: the segment file closed
// underneath) must not make every later append fail; the next append reopens the
// segment.
func TestAppendRecoversFromWriteError(t *testing.T) {
	s, _ := openStore(t, Options{})
	s.Append("fn-err", "stdout", t0, "before")
	fl := s.fn("fn-err")
	s.flush(fl)
	fl.ioMu.Lock()
	_ = fl.f.Close() // the next write to disk fails
	fl.ioMu.Unlock()
	s.Append("fn-err", "stdout", t0, "lost")
	if err := s.flush(fl); err == nil {
		t.Fatal("flush to a closed file succeeded")
	}
	s.Append("fn-err", "stdout", t0.Add(time.Second), "after")
	got := readAll(t, s, "fn-err", time.Time{})
	if len(got) == 0 || got[len(got)-1].Message != "after" {
		t.Fatalf("appends after a write error were lost: %d entries %v", len(got), got)
	}
}

// TestReadRecoversFromFlushError: a reader's flush that fails drops the broken
// segment file, so the next append is stored.
func TestReadRecoversFromFlushError(t *testing.T) {
	s, _ := openStore(t, Options{})
	s.Append("fn-rerr", "stdout", t0, "buffered")
	fl := s.fn("fn-rerr")
	s.flush(fl)
	s.Append("fn-rerr", "stdout", t0, "buffered too")
	fl.ioMu.Lock()
	_ = fl.f.Close() // the reader's flush fails
	fl.ioMu.Unlock()
	readAll(t, s, "fn-rerr", time.Time{})
	s.Append("fn-rerr", "stdout", t0.Add(time.Second), "next")
	got := readAll(t, s, "fn-rerr", time.Time{})
	if len(got) == 0 || got[len(got)-1].Message != "next" {
		t.Fatalf("the append after a failed flush was lost: %v", got)
	}
}
