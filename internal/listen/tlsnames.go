package listen

import (
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"time"
)

// tlsListener serves TLS while keeping HTTP/1.1 header spellings: net/http serves
// HTTP/2 only on a *tls.Conn it is handed, and reads an HTTP/1 request's header
// names through that *tls.Conn where no namesConn can watch them. So the listener
// completes each handshake itself (off the accept loop, bounded by the header
// timeout, as net/http would) and then hands net/http the *tls.Conn when the client
// chose h2 (whose names are lower case on the wire anyway), and a namesConn over it
// otherwise; requestLimits puts the connection's TLS state back on r.TLS for those.
type tlsListener struct {
	net.Listener
	cfg     *tls.Config
	timeout time.Duration

	conns     chan net.Conn
	errs      chan error
	done      chan struct{}
	closeOnce sync.Once
}

func newTLSListener(ln net.Listener, cfg *tls.Config, handshakeTimeout time.Duration) *tlsListener {
	l := &tlsListener{Listener: ln, cfg: cfg, timeout: handshakeTimeout,
		conns: make(chan net.Conn), errs: make(chan error), done: make(chan struct{})}
	go l.acceptLoop()
	return l
}

func (l *tlsListener) acceptLoop() {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			select {
			case l.errs <- err:
			case <-l.done:
				return
			}
			var te interface{ Temporary() bool }
			if errors.As(err, &te) && te.Temporary() && !errors.Is(err, net.ErrClosed) {
				continue // net/http backs off and accepts again
			}
			return
		}
		go l.handshake(c)
	}
}

func (l *tlsListener) handshake(c net.Conn) {
	tc := tls.Server(c, l.cfg)
	_ = c.SetDeadline(time.Now().Add(l.timeout))
	if err := tc.Handshake(); err != nil {
		_ = c.Close()
		return
	}
	_ = c.SetDeadline(time.Time{})
	var out net.Conn = tc
	if st := tc.ConnectionState(); st.NegotiatedProtocol != "h2" {
		out = &namesConn{Conn: tc, tlsState: &st}
	}
	select {
	case l.conns <- out:
	case <-l.done:
		_ = tc.Close()
	}
}

func (l *tlsListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case err := <-l.errs:
		return nil, err
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *tlsListener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return l.Listener.Close()
}
