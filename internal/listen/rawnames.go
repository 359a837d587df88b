package listen

import (
	"bytes"
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/net/http/httpguts"
)

// net/http canonicalizes header names ("x-api-key" arrives as "X-Api-Key"), but API
// Gateway hands a REST API's Lambda proxy event (payload 1.0) the names as the
// client spelled them. namesConn recovers the spelling where the listener reads the
// request: it watches the bytes net/http reads from an HTTP/1 connection, parses
// just enough (header blocks, Content-Length and chunked bodies) to find each
// request's header names, and queues them; the listener's first handler takes the
// next entry for each request it serves, in order (HTTP/1 serves one request of a
// connection at a time). On TLS listeners HTTP/1.1 connections are watched above
// the *tls.Conn (tlsListener); HTTP/2 ones are not: their names are lower case on
// the wire.
type namesConn struct {
	net.Conn
	tlsState *tls.ConnectionState // the handshake's, over a TLS listener; else nil

	mu      sync.Mutex
	queue   []string // raw names of parsed header blocks, "\n"-separated
	current string   // the entry of the request being served
	broken  bool     // the stream stopped making sense (or was hijacked): no more names

	// Parser state (Read is called by one goroutine at a time).
	state   int
	line    []byte
	names   []byte
	remain  int64
	chunked bool
	inBlock bool // past the request line of a block
}

const (
	stHead = iota
	stBody
	stChunkSize
	stChunkData
	stChunkEnd
	stTrailer
)

// Bounds: a line longer than any header block net/http accepts, or more parsed
// blocks than a pipelining client could have outstanding, end the watching.
const (
	maxNamesLine  = 1 << 20
	maxNamesQueue = 64
)

func (c *namesConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 {
		c.feed(b[:n])
	}
	return n, err
}

func (c *namesConn) feed(b []byte) {
	for len(b) > 0 {
		if c.broken { // written only by this goroutine (feed's), so no lock to read
			return
		}
		switch c.state {
		case stBody, stChunkData:
			k := int64(len(b))
			if k > c.remain {
				k = c.remain
			}
			b = b[k:]
			c.remain -= k
			if c.remain == 0 {
				if c.state == stBody {
					c.state = stHead
				} else {
					c.state = stChunkEnd
				}
			}
			continue
		}
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			c.line = append(c.line, b...)
			if len(c.line) > maxNamesLine {
				c.breakOff()
			}
			return
		}
		line := b[:i]
		if len(c.line) > 0 { // the line began in an earlier read
			c.line = append(c.line, line...)
			line = c.line
		}
		b = b[i+1:]
		c.onLine(bytes.TrimSuffix(line, []byte{'\r'}))
		c.line = c.line[:0]
	}
}

func (c *namesConn) onLine(line []byte) {
	switch c.state {
	case stHead:
		switch {
		case !c.inBlock:
			if len(line) > 0 { // blank lines before a request line are allowed
				c.inBlock, c.names, c.remain, c.chunked = true, c.names[:0], 0, false
			}
		case len(line) == 0:
			c.push(string(bytes.TrimSuffix(c.names, []byte{'\n'})))
			c.inBlock = false
			switch {
			case c.chunked:
				c.state = stChunkSize
			case c.remain > 0:
				c.state = stBody
			}
		case line[0] == ' ' || line[0] == '\t':
			// An obsolete folded continuation: no new name.
		default:
			name, value, ok := bytes.Cut(line, []byte{':'})
			if !ok || !validName(name) { // net/http refuses it too
				c.breakOff()
				return
			}
			c.names = append(append(c.names, name...), '\n')
			switch {
			case bytes.EqualFold(name, []byte("Content-Length")):
				n, err := strconv.ParseInt(string(bytes.TrimSpace(value)), 10, 64)
				if err != nil || n < 0 {
					c.breakOff()
					return
				}
				c.remain = n
			case bytes.EqualFold(name, []byte("Transfer-Encoding")):
				c.chunked = bytes.Contains(bytes.ToLower(value), []byte("chunked"))
			}
		}
	case stChunkSize:
		size, _, _ := bytes.Cut(line, []byte{';'})
		n, err := strconv.ParseInt(strings.TrimSpace(string(size)), 16, 64)
		if err != nil || n < 0 {
			c.breakOff()
			return
		}
		if n == 0 {
			c.state = stTrailer
		} else {
			c.state, c.remain = stChunkData, n
		}
	case stChunkEnd:
		c.state = stChunkSize
	case stTrailer:
		if len(line) == 0 {
			c.state = stHead
		}
	}
}

func (c *namesConn) push(names string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.queue) >= maxNamesQueue {
		c.broken, c.queue = true, nil
		return
	}
	c.queue = append(c.queue, names)
}

func (c *namesConn) breakOff() {
	c.mu.Lock()
	c.broken, c.queue = true, nil
	c.mu.Unlock()
	c.line = nil
}

// validName reports whether name is an RFC 9110 token, as net/http requires of a
// header field name.
func validName(name []byte) bool {
	if len(name) == 0 {
		return false
	}
	for _, b := range name {
		if !httpguts.IsTokenRune(rune(b)) {
			return false
		}
	}
	return true
}

// next makes the oldest parsed header block the current request's.
func (c *namesConn) next() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.current = ""
	if !c.broken && len(c.queue) > 0 {
		c.current = c.queue[0]
		c.queue = c.queue[1:]
	}
}

type namesKey struct{}

// namesListener wraps each accepted connection in a namesConn.
type namesListener struct{ net.Listener }

func (l namesListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &namesConn{Conn: c}, nil
}

func withNames(ctx context.Context, c net.Conn) context.Context {
	if nc, ok := c.(*namesConn); ok {
		return context.WithValue(ctx, namesKey{}, nc)
	}
	return ctx
}

// SentNames are a request's header names as the client sent them, read once
// for all of its headers.
type SentNames struct {
	names string
	h2    bool
}

// SentNamesOf returns r's header names as the client spelled them on the wire:
// as recorded over HTTP/1 where the listener watched the connection, lower case
// over HTTP/2, and unknown (Spelling answers the canonical name) otherwise.
func SentNamesOf(r *http.Request) SentNames {
	if r.ProtoMajor == 2 {
		return SentNames{h2: true}
	}
	nc, _ := r.Context().Value(namesKey{}).(*namesConn)
	if nc == nil {
		return SentNames{}
	}
	nc.mu.Lock()
	defer nc.mu.Unlock()
	return SentNames{names: nc.current}
}

// Spelling is how the client spelled canonical, a key of r.Header.
func (s SentNames) Spelling(canonical string) string {
	if s.h2 {
		return strings.ToLower(canonical)
	}
	names := s.names
	for names != "" {
		name, rest, _ := strings.Cut(names, "\n")
		if strings.EqualFold(name, canonical) {
			return name
		}
		names = rest
	}
	return canonical
}
