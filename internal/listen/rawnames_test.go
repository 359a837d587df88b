package listen

import (
	"net"
	"strings"
	"testing"
)

// Pipelined requests with fixed-length and chunked bodies (with trailers), fed in
// every split, yield each request's header names as sent, in order.
func TestNamesConnParsesPipelinedRequests(t *testing.T) {
	stream := "POST /a HTTP/1.1\r\nHost: x\r\ncontent-length: 5\r\nx-api-key: k\r\n\r\nhello" +
		"\r\n" + // a stray CRLF between requests is allowed
		"POST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nX-MiXeD: 1\r\n\r\n" +
		"3;ext=1\r\nabc\r\n0\r\nX-Trailer: t\r\n\r\n" +
		"GET /c HTTP/1.1\r\nhost: x\r\nfolded: a\r\n  b\r\n\r\n"
	want := []string{"Host\ncontent-length\nx-api-key", "Host\nTransfer-Encoding\nX-MiXeD", "host\nfolded"}
	for step := 1; step <= len(stream); step++ {
		c := &namesConn{}
		for i := 0; i < len(stream); i += step {
			c.feed([]byte(stream[i:min(i+step, len(stream))]))
		}
		if c.broken || strings.Join(c.queue, "|") != strings.Join(want, "|") {
			t.Fatalf("step %d: queue %q (broken %v), want %q", step, c.queue, c.broken, want)
		}
	}
}

// Garbage, an absurd line or too many queued blocks stop the watching; nothing
// is reported from then on.
func TestNamesConnGivesUp(t *testing.T) {
	for name, in := range map[string]string{
		"no colon":       "GET / HTTP/1.1\r\nnocolon\r\n\r\n",
		"bad length":     "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
		"bad chunk size": "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
		"long line":      "GET / HTTP/1.1\r\nX: " + strings.Repeat("a", maxNamesLine+1),
		"queue":          strings.Repeat("GET / HTTP/1.1\r\nA: b\r\n\r\n", maxNamesQueue+1),
	} {
		c := &namesConn{}
		c.feed([]byte(in))
		c.next()
		if !c.broken || c.current != "" {
			t.Errorf("%s: broken %v current %q", name, c.broken, c.current)
		}
	}
}

var _ net.Conn = (*namesConn)(nil)

// Any byte stream, in any split, leaves the watcher consistent: no panic, a bounded
// queue, and names only ever taken from header lines.
func FuzzNamesConn(f *testing.F) {
	f.Add([]byte("POST /a HTTP/1.1\r\nHost: x\r\ncontent-length: 5\r\n\r\nhelloGET / HTTP/1.1\r\nA: b\r\n\r\n"), uint8(3))
	f.Add([]byte("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"), uint8(1))
	f.Fuzz(func(t *testing.T, in []byte, step uint8) {
		c := &namesConn{}
		n := int(step%16) + 1
		for i := 0; i < len(in); i += n {
			c.feed(in[i:min(i+n, len(in))])
		}
		if len(c.queue) > maxNamesQueue {
			t.Fatalf("queue grew to %d", len(c.queue))
		}
		for _, e := range c.queue {
			if strings.ContainsAny(e, "\r:") {
				t.Fatalf("entry %q holds more than names", e)
			}
		}
	})
}

// The cost the watcher adds to each request read from an HTTP/1 connection.
func BenchmarkNamesConnFeed(b *testing.B) {
	req := []byte("POST /prod/items HTTP/1.1\r\nHost: abc123.execute-api.localhost:4566\r\nUser-Agent: curl/8.5.0\r\n" +
		"Accept: */*\r\ncontent-type: application/json\r\nx-api-key: 0123456789abcdef\r\ncontent-length: 17\r\n\r\n{\"hello\":\"world\"}")
	c := &namesConn{}
	b.SetBytes(int64(len(req)))
	b.ReportAllocs()
	for b.Loop() {
		c.feed(req)
		c.next()
	}
}
