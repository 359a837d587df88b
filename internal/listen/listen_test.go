package listen

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	proxyproto "github.com/pires/go-proxyproto"
)

func echoInfo() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info := FromContext(r.Context())
		if r.URL.Path == "/slow" {
			time.Sleep(300 * time.Millisecond)
		}
		if r.URL.Path == "/raised" {
			SetBodyLimit(w, r, 20000)
			r.URL.Path = "/body"
		}
		if r.URL.Path == "/body" {
			n, err := io.Copy(io.Discard, r.Body)
			if err != nil {
				http.Error(w, "too large", http.StatusRequestEntityTooLarge)
				return
			}
			io.WriteString(w, strings.Repeat("x", int(n%10)))
			return
		}
		io.WriteString(w, string(info.Kind)+" "+info.VPCE+" "+r.RemoteAddr)
	})
}

func get(t *testing.T, url string) string {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func addrOf(s *Set, sp Spec) string {
	for _, b := range s.Bound() {
		if b.Spec == sp {
			return b.Bound
		}
	}
	return ""
}

func TestApplyAddsAndRemovesGracefully(t *testing.T) {
	s := NewSet(Options{Handler: echoInfo()})
	defer s.Shutdown(context.Background())
	pub := Spec{Address: "127.0.0.1:0", Kind: Public}
	priv := Spec{Address: "127.0.0.1:0", Kind: Private, VPCE: "vpce-0abc"}
	// Two specs on port 0 are different addresses only once bound; use distinct hosts.
	priv.Address = "127.0.0.2:0"
	if err := s.Apply(context.Background(), []Spec{pub, priv}); err != nil {
		t.Fatal(err)
	}
	pubAddr, privAddr := addrOf(s, pub), addrOf(s, priv)
	if got := get(t, "http://"+privAddr+"/"); !strings.HasPrefix(got, "private vpce-0abc 127.0.0.1:") {
		t.Fatalf("private listener saw %q", got)
	}

	// A request in flight on a listener being removed finishes.
	slow := make(chan string, 1)
	go func() { slow <- get(t, "http://"+privAddr+"/slow") }()
	time.Sleep(100 * time.Millisecond)
	if err := s.Apply(context.Background(), []Spec{pub}); err != nil {
		t.Fatal(err)
	}
	if got := <-slow; !strings.HasPrefix(got, "private") {
		t.Fatalf("in-flight request on a removed listener: %q", got)
	}
	if _, err := net.DialTimeout("tcp", privAddr, time.Second); err == nil {
		t.Fatal("removed listener still accepts")
	}
	if addrOf(s, pub) != pubAddr {
		t.Fatal("an unchanged listener was rebound")
	}
	if got := get(t, "http://"+pubAddr+"/"); !strings.HasPrefix(got, "public") {
		t.Fatalf("public listener saw %q", got)
	}
}

func TestApplyRefusesBadSpecs(t *testing.T) {
	s := NewSet(Options{Handler: echoInfo()})
	defer s.Shutdown(context.Background())
	for _, specs := range [][]Spec{
		{{Address: "nope", Kind: Public}},
		{{Address: "127.0.0.1:0", Kind: Private}},
		{{Address: "127.0.0.1:0", Kind: Private, VPCE: "vpc-1"}},
		{{Address: "127.0.0.1:0", Kind: "other"}},
		{{Address: "127.0.0.1:0", Kind: Public, TLS: true}}, // no TLS config
	} {
		if err := s.Apply(context.Background(), specs); err == nil {
			t.Errorf("%v accepted", specs)
		}
	}
	if len(s.Bound()) != 0 {
		t.Fatal("a refused apply bound listeners")
	}
}

// At the connection cap the oldest connection without a request in progress
// makes room for the new one.
func TestGuardEvictsOldestIdle(t *testing.T) {
	s := NewSet(Options{Handler: echoInfo(), Limits: Limits{MaxConns: 3}})
	defer s.Shutdown(context.Background())
	sp := Spec{Address: "127.0.0.1:0", Kind: Public}
	if err := s.Apply(context.Background(), []Spec{sp}); err != nil {
		t.Fatal(err)
	}
	addr := addrOf(s, sp)
	var silent []net.Conn
	for range 3 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		silent = append(silent, c)
		time.Sleep(20 * time.Millisecond)
	}
	if got := get(t, "http://"+addr+"/"); !strings.HasPrefix(got, "public") {
		t.Fatalf("new client at the cap got %q", got)
	}
	// The first silent connection was closed to make room.
	silent[0].SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := silent[0].Read(make([]byte, 1)); err == nil {
		t.Fatal("oldest silent connection still open")
	}
}

func TestBodyLimitWhileStreaming(t *testing.T) {
	s := NewSet(Options{Handler: echoInfo(), Limits: Limits{MaxBodyBytes: 1000}})
	defer s.Shutdown(context.Background())
	sp := Spec{Address: "127.0.0.1:0", Kind: Public}
	if err := s.Apply(context.Background(), []Spec{sp}); err != nil {
		t.Fatal(err)
	}
	addr := addrOf(s, sp)
	// Chunked, so no Content-Length announces the size up front.
	pr, pw := io.Pipe()
	go func() {
		for range 100 {
			if _, err := pw.Write(make([]byte, 100)); err != nil {
				return
			}
		}
		pw.Close()
	}()
	resp, err := http.Post("http://"+addr+"/body", "application/octet-stream", pr)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d", resp.StatusCode)
	}
	// A handler may raise the cap for its request (S3's objects) before reading.
	for size, want := range map[int]int{10000: http.StatusOK, 30000: http.StatusRequestEntityTooLarge} {
		resp, err := http.Post("http://"+addr+"/raised", "application/octet-stream", strings.NewReader(strings.Repeat("x", size)))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("raised cap, %d bytes: status %d, want %d", size, resp.StatusCode, want)
		}
	}
}

func TestProxyProtocol(t *testing.T) {
	s := NewSet(Options{Handler: echoInfo()})
	defer s.Shutdown(context.Background())
	sp := Spec{Address: "127.0.0.1:0", Kind: Public, ProxyProtocol: true}
	if err := s.Apply(context.Background(), []Spec{sp}); err != nil {
		t.Fatal(err)
	}
	addr := addrOf(s, sp)
	for _, version := range []byte{1, 2} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		h := &proxyproto.Header{Version: version, Command: proxyproto.PROXY, TransportProtocol: proxyproto.TCPv4,
			SourceAddr:      &net.TCPAddr{IP: net.ParseIP("203.0.113.7"), Port: 40000},
			DestinationAddr: &net.TCPAddr{IP: net.ParseIP("10.0.0.1"), Port: 443}}
		if _, err := h.WriteTo(c); err != nil {
			t.Fatal(err)
		}
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		c.Close()
		if got := string(b); got != "public  203.0.113.7:40000" {
			t.Fatalf("v%d: handler saw %q", version, got)
		}
	}
}

func TestClientIP(t *testing.T) {
	trusted, err := ParseCIDRs([]string{"10.0.0.0/8", "192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		peer string
		xff  []string
		want string
	}{
		{"10.1.2.3:5000", []string{"203.0.113.9"}, "203.0.113.9"},
		{"10.1.2.3:5000", []string{"1.1.1.1, 203.0.113.9, 10.9.9.9"}, "203.0.113.9"},
		{"10.1.2.3:5000", []string{"1.1.1.1", "203.0.113.9"}, "203.0.113.9"},
		{"198.51.100.1:5000", []string{"203.0.113.9"}, ""}, // untrusted peer
		{"192.0.2.1:1", []string{"garbage"}, ""},
		{"10.1.2.3:5000", nil, ""},
	} {
		if got := ClientIP(tt.peer, tt.xff, trusted); got != tt.want {
			t.Errorf("ClientIP(%s, %v) = %q, want %q", tt.peer, tt.xff, got, tt.want)
		}
	}
}
