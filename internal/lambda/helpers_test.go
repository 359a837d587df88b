package lambda

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"maps"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/sluice-dev/sluice/internal/awsproto"
	"github.com/sluice-dev/sluice/internal/runtime"
	"github.com/sluice-dev/sluice/internal/store/memstore"
)

// dirBlobs is a content-addressed directory, like internal/blobstore.
type dirBlobs struct{ dir string }

func (b *dirBlobs) Put(r io.Reader) (string, int64, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return "", 0, err
	}
	sum := sha256.Sum256(data)
	sha := hex.EncodeToString(sum[:])
	return sha, int64(len(data)), os.WriteFile(b.Path(sha), data, 0o644)
}
func (b *dirBlobs) Path(sha string) string { return filepath.Join(b.dir, sha) }
func (b *dirBlobs) Exists(sha string) bool { _, err := os.Stat(b.Path(sha)); return err == nil }

// fakeRunner answers invocations with a function of its own.
type fakeRunner struct {
	mu      sync.Mutex
	calls   []fakeCall
	drained []string
	fn      func(spec *runtime.FunctionSpec, inv runtime.Invocation) (*runtime.Result, error)
}

func (f *fakeRunner) Drain(name string) {
	f.mu.Lock()
	f.drained = append(f.drained, name)
	f.mu.Unlock()
}

type fakeCall struct {
	Spec runtime.FunctionSpec
	Inv  runtime.Invocation
}

func (f *fakeRunner) Invoke(_ context.Context, spec *runtime.FunctionSpec, inv runtime.Invocation) (*runtime.Result, error) {
	f.mu.Lock()
	f.calls = append(f.calls, fakeCall{*spec, inv})
	fn := f.fn
	f.mu.Unlock()
	if fn != nil {
		return fn(spec, inv)
	}
	return &runtime.Result{RequestID: inv.RequestID, Payload: inv.Payload}, nil
}

func (f *fakeRunner) Calls() []fakeCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// env is one Service behind an httptest server with an SDK client.
type env struct {
	t      *testing.T
	svc    *Service
	store  *memstore.Store
	blobs  *dirBlobs
	runner *fakeRunner
	srv    *httptest.Server
	client *awslambda.Client
	cancel context.CancelFunc
}

type envOpts struct {
	store       *memstore.Store
	blobDir     string
	retryDelays []time.Duration
	noStart     bool
	runtimes    RuntimeHost
	clock       func() time.Time // default testNow
	account     int              // Options.AccountConcurrency
}

// testNow is the lambda tests' clock, so runtime deprecation dates give the same
// answers on any day.
func testNow() time.Time { return time.Date(2026, time.December, 2, 12, 0, 0, 0, time.UTC) }

func newEnv(t *testing.T, o envOpts) *env {
	t.Helper()
	e := &env{t: t, store: o.store, runner: &fakeRunner{}}
	if e.store == nil {
		e.store = memstore.New()
	}
	if o.blobDir == "" {
		o.blobDir = t.TempDir()
	}
	e.blobs = &dirBlobs{dir: o.blobDir}
	if o.clock == nil {
		o.clock = testNow
	}
	svc, err := New(Options{Store: e.store, Blobs: e.blobs, Runner: e.runner, AsyncRetryDelays: o.retryDelays,
		Runtimes: o.runtimes, Clock: o.clock, AccountConcurrency: o.account})
	if err != nil {
		t.Fatal(err)
	}
	e.svc = svc
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	if !o.noStart {
		if err := svc.Start(ctx); err != nil {
			t.Fatal(err)
		}
	}
	e.srv, e.client = serve(t, svc)
	t.Cleanup(e.close)
	return e
}

func (e *env) close() {
	e.srv.Close()
	e.cancel()
	e.svc.Wait()
}

// serve puts svc behind an httptest server and returns an SDK client for it.
func serve(tb testing.TB, svc *Service) (*httptest.Server, *awslambda.Client) {
	srv := httptest.NewServer(awsproto.RequestIDMiddleware(svc))
	client := awslambda.New(awslambda.Options{
		BaseEndpoint: aws.String(srv.URL),
		Region:       "us-east-1",
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "AKID", SecretAccessKey: "SECRET"}, nil
		}),
		RetryMaxAttempts: 1,
	})
	return srv, client
}

// makeZip builds a zip archive with the given files.
func makeZip(t testing.TB, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, name := range slices.Sorted(maps.Keys(files)) {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(files[name])); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func asError[T error](err error, target *T) bool { return errors.As(err, target) }
