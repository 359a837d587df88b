package listen

import (
	"crypto/tls"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	proxyproto "github.com/pires/go-proxyproto"
)

// guard caps the connections open at once on one listener. Rather than stop
// accepting at the cap (which would let a flood of silent connections lock every
// other client out until their header timeouts), it makes room by closing the
// connection that has waited longest without a request in progress: idle
// keep-alives and connections still sending their first request's headers (a
// slowloris is one). Only when every connection is mid-request is the newcomer
// turned away.
type guard struct {
	net.Listener
	max int

	mu     sync.Mutex // guards conns
	conns  map[*guardedConn]struct{}
	closed atomic.Bool
}

func newGuard(l net.Listener, max int) *guard {
	return &guard{Listener: l, max: max, conns: map[*guardedConn]struct{}{}}
}

// guardedConn is one accepted connection and the server's view of it.
type guardedConn struct {
	net.Conn
	g     *guard
	once  sync.Once
	state atomic.Int32 // http.ConnState
	since atomic.Int64 // UnixNano when state was entered
}

func (c *guardedConn) Close() error {
	c.once.Do(func() {
		c.g.mu.Lock()
		delete(c.g.conns, c)
		c.g.mu.Unlock()
	})
	return c.Conn.Close()
}

// evictable reports whether closing c loses no request in progress.
func (c *guardedConn) evictable() bool {
	switch http.ConnState(c.state.Load()) {
	case http.StateNew, http.StateIdle:
		return true
	}
	return false
}

func (g *guard) Accept() (net.Conn, error) {
	for {
		raw, err := g.Listener.Accept()
		if err != nil {
			return nil, err
		}
		c := &guardedConn{Conn: raw, g: g}
		c.since.Store(time.Now().UnixNano())
		var victim *guardedConn
		g.mu.Lock()
		if len(g.conns) >= g.max {
			for o := range g.conns {
				if o.evictable() && (victim == nil || o.since.Load() < victim.since.Load()) {
					victim = o
				}
			}
			if victim == nil {
				g.mu.Unlock()
				raw.Close()
				continue
			}
			delete(g.conns, victim)
		}
		g.conns[c] = struct{}{}
		g.mu.Unlock()
		if victim != nil {
			victim.Conn.Close()
		}
		return c, nil
	}
}

// Close stops accepting; open connections are the server's to drain.
func (g *guard) Close() error {
	if g.closed.Swap(true) {
		return nil
	}
	return g.Listener.Close()
}

// open is the number of connections counted against the cap.
func (g *guard) open() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.conns)
}

// track is the server's ConnState hook.
func (g *guard) track(c net.Conn, st http.ConnState) {
	gc := unwrapGuarded(c)
	if gc == nil {
		return
	}
	gc.state.Store(int32(st))
	gc.since.Store(time.Now().UnixNano())
	if st == http.StateClosed || st == http.StateHijacked {
		gc.once.Do(func() {
			g.mu.Lock()
			delete(g.conns, gc)
			g.mu.Unlock()
		})
	}
}

func unwrapGuarded(c net.Conn) *guardedConn {
	for c != nil {
		switch v := c.(type) {
		case *guardedConn:
			return v
		case *tls.Conn:
			c = v.NetConn()
		case *namesConn:
			c = v.Conn
		case *proxyproto.Conn:
			c = v.Raw()
		default:
			return nil
		}
	}
	return nil
}
