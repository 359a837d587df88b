package lambda

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/sluice-dev/sluice/internal/blobstore"
	"github.com/sluice-dev/sluice/internal/invoke"
	"github.com/sluice-dev/sluice/internal/runtime"
	"github.com/sluice-dev/sluice/internal/store/boltstore"
	"github.com/sluice-dev/sluice/internal/store/memstore"
)

var _ Blobs = (*blobstore.Store)(nil)

// Two nodes share one store: a change made through one reaches the other's invoke
// cache through the watch.
func TestWatchUpdatesOtherNode(t *testing.T) {
	st := memstore.New()
	blobDir := t.TempDir()
	a := newEnv(t, envOpts{store: st, blobDir: blobDir})
	b := newEnv(t, envOpts{store: st, blobDir: blobDir})
	ctx := context.Background()
	a.create("shared")
	keyOnB := func() string {
		if f := b.svc.cache.get("shared"); f != nil {
			return f.latest.spec.Key
		}
		return ""
	}
	waitFor(t, "node b sees the function", func() bool { return keyOnB() != "" })
	before := keyOnB()
	if _, err := a.client.UpdateFunctionConfiguration(ctx, &awslambda.UpdateFunctionConfigurationInput{
		FunctionName: aws.String("shared"), MemorySize: aws.Int32(512)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "node b sees the update", func() bool { return keyOnB() != before })
	if _, err := b.client.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("shared")}); err != nil {
		t.Fatal(err)
	}
	if c := b.runner.Calls(); len(c) != 1 || c[0].Spec.MemoryMB != 512 {
		t.Fatalf("node b ran %+v", c)
	}
	a.client.DeleteFunction(ctx, &awslambda.DeleteFunctionInput{FunctionName: aws.String("shared")})
	waitFor(t, "node b forgets the function", func() bool { return b.svc.cache.get("shared") == nil })
}

// The real backends: bolt store and blob store, across a restart.
func TestBoltAndBlobstore(t *testing.T) {
	dir := t.TempDir()
	open := func() (*Service, *fakeRunner, context.CancelFunc, func()) {
		st, err := boltstore.Open(filepath.Join(dir, "state.db"))
		if err != nil {
			t.Fatal(err)
		}
		blobs, err := blobstore.New(filepath.Join(dir, "blobs"))
		if err != nil {
			t.Fatal(err)
		}
		runner := &fakeRunner{}
		svc, err := New(Options{Store: st, Blobs: blobs, Runner: runner})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		if err := svc.Start(ctx); err != nil {
			t.Fatal(err)
		}
		return svc, runner, cancel, func() { cancel(); svc.Wait(); st.Close() }
	}
	svc, _, _, stop := open()
	e := &env{t: t, svc: svc}
	e.srv, e.client = serve(t, svc)
	e.create("persisted", func(in *awslambda.CreateFunctionInput) {
		in.Runtime = types.RuntimePython313
		in.Handler = aws.String("app.h")
	})
	e.srv.Close()
	stop()

	svc, runner, _, stop := open()
	defer stop()
	resp, err := svc.Invoke(context.Background(), &invoke.Request{Function: "persisted", Payload: []byte(`{"x":1}`)})
	if err != nil || string(resp.Payload) != `{"x":1}` {
		t.Fatalf("invoke after restart: %v", err)
	}
	spec := runner.Calls()[0].Spec
	if spec.Runtime != "python3.13" || spec.Handler != "app.h" || spec.CodeSHA256 == "" {
		t.Fatalf("spec = %+v", spec)
	}
	var _ runtime.FunctionSpec = spec
}

func TestTags(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := context.Background()
	e.create("tagged", func(in *awslambda.CreateFunctionInput) { in.Tags = map[string]string{"a": "1"} })
	arn := "arn:aws:lambda:us-east-1:123456789012:function:tagged"
	if _, err := e.client.TagResource(ctx, &awslambda.TagResourceInput{Resource: aws.String(arn), Tags: map[string]string{"b": "2"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.UntagResource(ctx, &awslambda.UntagResourceInput{Resource: aws.String(arn), TagKeys: []string{"a"}}); err != nil {
		t.Fatal(err)
	}
	out, err := e.client.ListTags(ctx, &awslambda.ListTagsInput{Resource: aws.String(arn)})
	if err != nil || len(out.Tags) != 1 || out.Tags["b"] != "2" {
		t.Fatalf("ListTags: %v %v", err, out.Tags)
	}
	_, err = e.client.ListTags(ctx, &awslambda.ListTagsInput{Resource: aws.String(arn + "x")})
	wantAPIError(t, err, "ResourceNotFoundException", `Function not found`)
}

// BenchmarkInvokeOverhead measures what the lambda layer adds to a warm invocation
// (resolve from the cache, build the invocation) with a runner that does nothing.
func BenchmarkInvokeOverhead(b *testing.B) {
	st := memstore.New()
	svc, err := New(Options{Store: st, Blobs: &dirBlobs{dir: b.TempDir()}, Runner: &nopRunner{}})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { cancel(); svc.Wait() }()
	if err := svc.Start(ctx); err != nil {
		b.Fatal(err)
	}
	srv, client := serve(b, svc)
	defer srv.Close()
	in := &awslambda.CreateFunctionInput{FunctionName: aws.String("bench"), Runtime: types.RuntimeProvidedal2023, Handler: aws.String("bootstrap"),
		Role: aws.String(testRole), Code: &types.FunctionCode{ZipFile: makeZip(b, map[string]string{"bootstrap": "x"})}}
	if _, err := client.CreateFunction(ctx, in); err != nil {
		b.Fatal(err)
	}
	req := &invoke.Request{Function: "bench", Payload: []byte(`{}`)}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := svc.Invoke(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

type nopRunner struct{}

func (nopRunner) Invoke(_ context.Context, _ *runtime.FunctionSpec, inv runtime.Invocation) (*runtime.Result, error) {
	return &runtime.Result{Payload: inv.Payload}, nil
}
