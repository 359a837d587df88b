package runtime

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/sluice-dev/sluice/internal/runtime/shims"
)

// BenchmarkWarmInvoke measures one invocation round trip on a warm instance of the
// aws-lambda-go fixture: Invoke → /next → handler → /response → END/REPORT → Result.
func BenchmarkWarmInvoke(b *testing.B) {
	p, _ := newTestPool(b, nil)
	spec := goSpec("bench", fixtures.gofn)
	payload := []byte(`{"op":"echo","data":"hello"}`)
	if _, err := p.Invoke(context.Background(), spec, Invocation{Payload: payload}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		res, err := p.Invoke(context.Background(), spec, Invocation{Payload: payload})
		if err != nil || res.FunctionError != "" {
			b.Fatal(err, res)
		}
	}
}

// BenchmarkWarmInvokeParallel runs warm invocations from many goroutines.
func BenchmarkWarmInvokeParallel(b *testing.B) {
	p, _ := newTestPool(b, func(o *Options) { o.MaxInstances = 16 })
	spec := goSpec("benchpar", fixtures.gofn)
	payload := []byte(`{"op":"echo","data":"hello"}`)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			res, err := p.Invoke(context.Background(), spec, Invocation{Payload: payload})
			if err != nil || res.FunctionError != "" {
				b.Fatal(err, res)
			}
		}
	})
}

// BenchmarkWarmInvokeParallelMulti runs warm invocations from 8 × GOMAXPROCS
// goroutines on one Lambda Managed Instances process serving up to 16 at once.
func BenchmarkWarmInvokeParallelMulti(b *testing.B) {
	p, _ := newTestPool(b, func(o *Options) { o.MaxInstances = 16 })
	spec := goSpec("benchmulti", fixtures.gofn)
	spec.MaxConcurrency = 16
	payload := []byte(`{"op":"echo","data":"hello"}`)
	b.SetParallelism(8) // 8 × GOMAXPROCS callers: enough to fill the slots on 2 cores
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			res, err := p.Invoke(context.Background(), spec, Invocation{Payload: payload})
			if err != nil || res.FunctionError != "" {
				b.Fatal(err, res)
			}
		}
	})
	b.StopTimer()
	if n := p.Stats().Instances; n != 1 {
		b.Fatalf("%d instances served the benchmark, want 1", n)
	}
}

// BenchmarkColdStart measures starting a new instance (code already extracted) and
// running its first invocation. Each iteration changes the spec's Key, which retires
// the previous instance, as an UpdateFunctionCode would.
func BenchmarkColdStart(b *testing.B) {
	p, _ := newTestPool(b, nil)
	spec := goSpec("cold", fixtures.gofn)
	payload := []byte(`{"op":"echo"}`)
	if _, err := p.Invoke(context.Background(), spec, Invocation{Payload: payload}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	i := 0
	for b.Loop() {
		i++
		s := *spec
		s.Key = fmt.Sprintf("cold:$LATEST:%d", i)
		res, err := p.Invoke(context.Background(), &s, Invocation{Payload: payload})
		if err != nil || res.FunctionError != "" {
			b.Fatal(err, res)
		}
	}
}

// BenchmarkColdStartManaged measures a cold start plus first invocation of a Node.js
// and a Python handler through the embedded runtime clients.
func BenchmarkColdStartManaged(b *testing.B) {
	installed, err := shims.Install(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	p, _ := newTestPool(b, func(o *Options) { o.Shims = installed })
	var files []zipFile
	for _, name := range []string{"app.py", "index.mjs"} {
		data, err := os.ReadFile(filepath.Join("testdata", "managed", name))
		if err != nil {
			b.Fatal(err)
		}
		files = append(files, zipFile{name, data, 0o644})
	}
	zipPath := filepath.Join(b.TempDir(), "managed.zip")
	sha, err := writeZip(zipPath, files)
	if err != nil {
		b.Fatal(err)
	}
	for _, rt := range []struct{ runtime, handler, program string }{
		{"nodejs20.x", "index.handler", "node"},
		{"python3.11", "app.handler", "python3"},
	} {
		b.Run(rt.runtime, func(b *testing.B) {
			if _, err := exec.LookPath(rt.program); err != nil {
				b.Skipf("%s not installed", rt.program)
			}
			spec := goSpec("cold-"+rt.program, codeZip{zipPath, sha})
			spec.Runtime, spec.Handler = rt.runtime, rt.handler
			i := 0
			for b.Loop() {
				i++
				s := *spec
				s.Key = fmt.Sprintf("%s:%d", spec.Key, i)
				res, err := p.Invoke(context.Background(), &s, Invocation{Payload: []byte(`{"op":"x"}`)})
				if err != nil || res.FunctionError != "" {
					b.Fatal(err, res)
				}
			}
		})
	}
}

// BenchmarkSocketOwner measures the Runtime API's per-connection owner check, by
// sock_diag (what socketOwner uses) and by scanning /proc/net/tcp (its fallback),
// whose cost grows with the host's sockets.
func BenchmarkSocketOwner(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	s, err := ln.Accept()
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	remote, local := s.RemoteAddr().(*net.TCPAddr), s.LocalAddr().(*net.TCPAddr)
	for _, m := range []struct {
		name string
		fn   func(local, remote *net.TCPAddr) (int, error)
	}{{"sock_diag", socketOwnerDiag}, {"proc", socketOwnerProc}} {
		b.Run(m.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := m.fn(remote, local); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
