package runtime

import (
	"context"
	"fmt"
	"testing"
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
