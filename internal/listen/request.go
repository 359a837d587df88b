package listen

import (
	"io"
	"net"
	"net/http"
	"strings"
)

// requestLimits is the first handler of every listener: it bounds the body while it
// streams and, behind trusted proxies, takes the client address from
// X-Forwarded-For.
type requestLimits struct {
	next    http.Handler
	maxBody int64
	trusted []*net.IPNet
}

func (h *requestLimits) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if nc, _ := r.Context().Value(namesKey{}).(*namesConn); nc != nil {
		nc.next()
		if r.TLS == nil {
			r.TLS = nc.tlsState // HTTP/1.1 over a TLS listener (tlsListener)
		}
	}
	if r.Body != nil && r.Body != http.NoBody {
		r.Body = &cappedBody{ReadCloser: http.MaxBytesReader(w, r.Body, h.maxBody), orig: r.Body}
	}
	if len(h.trusted) > 0 {
		if ip := ClientIP(r.RemoteAddr, r.Header.Values("X-Forwarded-For"), h.trusted); ip != "" {
			_, port, err := net.SplitHostPort(r.RemoteAddr)
			if err != nil {
				port = "0"
			}
			r.RemoteAddr = net.JoinHostPort(ip, port)
		}
	}
	h.next.ServeHTTP(w, r)
}

// cappedBody is a request body under the listener's cap, which a service that
// takes larger bodies (S3's 5 GiB objects) may replace with its own before reading.
type cappedBody struct {
	io.ReadCloser // http.MaxBytesReader over orig
	orig          io.ReadCloser
}

// SetBodyLimit bounds r's body by n bytes instead of the listener's cap. Call it
// before anything reads the body; a body past n fails its Read with
// *http.MaxBytesError as under the listener's cap.
func SetBodyLimit(w http.ResponseWriter, r *http.Request, n int64) {
	if c, ok := r.Body.(*cappedBody); ok {
		c.ReadCloser = http.MaxBytesReader(w, c.orig, n)
	}
}

// ClientIP is the client's address of a request that reached us from peer with the
// given X-Forwarded-For values: when peer is a trusted proxy, the rightmost entry
// that is not itself a trusted proxy (entries left of it could be forged by the
// client); "" when peer is not trusted or the header has no usable entry.
func ClientIP(peer string, xff []string, trusted []*net.IPNet) string {
	host, _, err := net.SplitHostPort(peer)
	if err != nil {
		host = peer
	}
	if !isTrusted(net.ParseIP(host), trusted) {
		return ""
	}
	var entries []string
	for _, v := range xff {
		for e := range strings.SplitSeq(v, ",") {
			entries = append(entries, strings.TrimSpace(e))
		}
	}
	for i := len(entries) - 1; i >= 0; i-- {
		ip := net.ParseIP(entries[i])
		if ip == nil {
			return ""
		}
		if !isTrusted(ip, trusted) {
			return ip.String()
		}
	}
	return ""
}

func isTrusted(ip net.IP, trusted []*net.IPNet) bool {
	if ip == nil {
		return false
	}
	for _, n := range trusted {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}

// ParseCIDRs parses a trusted-proxy list; a bare address is a /32 or /128.
func ParseCIDRs(list []string) ([]*net.IPNet, error) {
	var out []*net.IPNet
	for _, s := range list {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if !strings.Contains(s, "/") {
			if ip := net.ParseIP(s); ip != nil {
				bits := 32
				if ip.To4() == nil {
					bits = 128
				}
				out = append(out, &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)})
				continue
			}
		}
		_, n, err := net.ParseCIDR(s)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}
