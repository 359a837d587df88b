package runtime

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// collector gathers emitted lines.
type collector struct {
	mu    sync.Mutex
	lines []string
}

func (c *collector) emit(l string) { c.mu.Lock(); c.lines = append(c.lines, l); c.mu.Unlock() }
func (c *collector) get() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.lines...)
}

// TestLogPipeFlushIsSynchronous: when flush returns, every complete line written
// before it is emitted, whichever goroutine read it; an unterminated line waits for
// its newline or for EOF.
func TestLogPipeFlushIsSynchronous(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	var c collector
	lp := newLogPipe(r, c.emit)
	go lp.run()
	want := 0
	for round := range 200 {
		n := 1 + round%7
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "r%d l%d %s\n", round, i, strings.Repeat("x", round*37%5000))
		}
		if _, err := w.WriteString(b.String()); err != nil {
			t.Fatal(err)
		}
		want += n
		lp.flush()
		if got := len(c.get()); got != want {
			t.Fatalf("round %d: %d lines emitted after flush, want %d", round, got, want)
		}
	}
	if _, err := w.WriteString("partial"); err != nil {
		t.Fatal(err)
	}
	lp.flush()
	if got := len(c.get()); got != want {
		t.Fatalf("an unterminated line was emitted by flush: %q", c.get()[want:])
	}
	_ = w.Close()
	select {
	case <-lp.eof:
	case <-time.After(5 * time.Second):
		t.Fatal("reader did not see EOF")
	}
	lines := c.get()
	if len(lines) != want+1 || lines[want] != "partial" {
		t.Fatalf("after EOF: %d lines, last %q; want %d ending in \"partial\"", len(lines), lines[len(lines)-1], want+1)
	}
	lp.flush() // after EOF: a no-op, not a panic or a hang
}

// TestLinesBeforeResponseLandBeforeEND repeats invocations that print many lines on
// a warm instance: every line must precede its END in the tail.
func TestLinesBeforeResponseLandBeforeEND(t *testing.T) {
	p, _ := newTestPool(t, nil)
	spec := goSpec("ordered", fixtures.gofn)
	lines := make([]string, 300)
	for i := range lines {
		lines[i] = fmt.Sprintf(`"line %d %s"`, i, strings.Repeat("y", 200))
	}
	payload := []byte(`{"op":"log","lines":[` + strings.Join(lines, ",") + `]}`)
	for i := range 20 {
		res, err := p.Invoke(context.Background(), spec, Invocation{Payload: payload, LogTail: true})
		if err != nil || res.FunctionError != "" {
			t.Fatal(err, res)
		}
		tail := string(res.LogTail)
		end := strings.Index(tail, "END RequestId: ")
		last := strings.Index(tail, "line 299 ")
		if end < 0 || last < 0 || last > end {
			t.Fatalf("invocation %d: last line at %d, END at %d in tail:\n%s", i, last, end, tail)
		}
	}
}
