package e2e

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// healthy asks the listener at addr for /_sluice/health on a fresh connection and
// fails the test unless it answers 200 within a generous deadline: the point is
// that an attack in progress does not lock other clients out, not how fast.
func healthy(t *testing.T, addr, what string) {
	t.Helper()
	client := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Get("http://" + addr + "/_sluice/health")
	if err != nil {
		t.Fatalf("during %s: health check: %v", what, err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("during %s: health check answered %d", what, resp.StatusCode)
	}
}

// Hardening (issue 8, "Limits on every listener"): a slowloris client, a flood of
// silent connections larger than the connection cap, a thousand idle keep-alive
// connections and a 100 MB header block each leave the listener answering other
// clients.
func TestListenerLimits(t *testing.T) {
	s := startSluice(t, startOpts{args: []string{"--max-conns", "1000"}})

	t.Run("slowloris", func(t *testing.T) {
		const clients = 20
		closed := make(chan error, clients)
		for range clients {
			c, err := net.Dial("tcp", s.Addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			go func() {
				// One byte every 5 s of a request that never ends.
				req := "GET /_sluice/health HTTP/1.1\r\nHost: x\r\nX-Slow: " + strings.Repeat("a", 1000)
				for i := 0; i < len(req); i++ {
					if _, err := c.Write([]byte{req[i]}); err != nil {
						closed <- nil
						return
					}
					time.Sleep(5 * time.Second)
				}
				closed <- errors.New("the server read the whole slow request")
			}()
		}
		healthy(t, s.Addr, "slowloris")
		// The read-header timeout (10 s by default) cuts every slow client off.
		for range clients {
			select {
			case err := <-closed:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(90 * time.Second):
				t.Fatal("a slowloris connection was still open after 90 s")
			}
		}
		healthy(t, s.Addr, "after slowloris")
	})

	t.Run("flood", func(t *testing.T) {
		// Twice the connection cap, each silent: the oldest are closed to make
		// room, so a real client still gets in.
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for i := 0; i < 2000; i++ {
			c, err := net.DialTimeout("tcp", s.Addr, 10*time.Second)
			if err != nil {
				t.Fatalf("dial %d: %v", i, err)
			}
			conns = append(conns, c)
			if i%500 == 499 {
				healthy(t, s.Addr, "flood")
			}
		}
		healthy(t, s.Addr, "flood")
	})

	t.Run("idle keep-alive", func(t *testing.T) {
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		var mu sync.Mutex
		var wg sync.WaitGroup
		errs := make(chan error, 1000)
		for range 10 {
			wg.Go(func() {
				for range 100 {
					c, err := net.DialTimeout("tcp", s.Addr, 10*time.Second)
					if err != nil {
						errs <- err
						return
					}
					mu.Lock()
					conns = append(conns, c)
					mu.Unlock()
					c.SetDeadline(time.Now().Add(30 * time.Second))
					if _, err := io.WriteString(c, "GET /_sluice/health HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
						errs <- err
						return
					}
					resp, err := http.ReadResponse(bufio.NewReader(c), nil)
					if err != nil {
						errs <- err
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					c.SetDeadline(time.Time{})
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("opening idle connections: %v", err)
		}
		healthy(t, s.Addr, "1000 idle keep-alive connections")
	})

	t.Run("100 MB header", func(t *testing.T) {
		c, err := net.Dial("tcp", s.Addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(60 * time.Second))
		done := make(chan int64, 1)
		go func() {
			io.WriteString(c, "GET /_sluice/health HTTP/1.1\r\nHost: x\r\nX-Big: ")
			chunk := bytes.Repeat([]byte("a"), 1<<20)
			var sent int64
			for range 100 {
				n, err := c.Write(chunk)
				sent += int64(n)
				if err != nil {
					break
				}
			}
			done <- sent
		}()
		healthy(t, s.Addr, "a 100 MB header block")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
				t.Fatalf("100 MB header: %d, want 431", resp.StatusCode)
			}
		}
		c.Close()
		if sent := <-done; sent >= 100<<20 {
			t.Fatalf("the server read all %d header bytes", sent)
		}
	})
}
