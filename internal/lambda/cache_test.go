package lambda

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/sluice-dev/sluice/internal/awsproto"
	"github.com/sluice-dev/sluice/internal/blobstore"
)

// The data plane never reads the store: resolving a function that does not exist
// answers from the cache (the review found each miss to be a serialized store read).
func TestResolveMissDoesNotReadTheStore(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.create("present")
	_ = e.store.Close() // any store read now fails
	for i := 0; i < 3; i++ {
		_, err := e.svc.cache.resolve(context.Background(), functionRef{Name: "missing"})
		var ae *awsproto.Error
		if !errors.As(err, &ae) || ae.Code != "ResourceNotFoundException" {
			t.Fatalf("resolve(missing) = %v, want ResourceNotFoundException from the cache", err)
		}
	}
	if _, err := e.svc.cache.resolve(context.Background(), functionRef{Name: "present"}); err != nil {
		t.Fatalf("resolve(present) = %v", err)
	}
}

// Code blobs nothing references are swept (after the grace period); referenced
// ones stay.
func TestCollectGarbageSweepsUnreferencedCode(t *testing.T) {
	e := newEnv(t, envOpts{})
	bs, err := blobstore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	e.svc.blobs = bs
	ctx := context.Background()
	first := makeZip(t, map[string]string{"index.js": "v1"})
	second := makeZip(t, map[string]string{"index.js": "v2"})
	if _, err := e.client.CreateFunction(ctx, &awslambda.CreateFunctionInput{FunctionName: aws.String("gc"), Runtime: "nodejs22.x",
		Handler: aws.String("index.handler"), Role: aws.String(testRole), Code: &types.FunctionCode{ZipFile: first}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.UpdateFunctionCode(ctx, &awslambda.UpdateFunctionCodeInput{FunctionName: aws.String("gc"), ZipFile: second}); err != nil {
		t.Fatal(err)
	}
	// An orphan, as a Put whose transaction then failed leaves behind.
	orphan, _, _ := bs.Put(strings.NewReader("orphan"))
	sha := func(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

	if n, _, err := e.svc.collectGarbage(ctx, time.Now().Add(-time.Hour)); err != nil || n != 0 {
		t.Fatalf("young blobs swept: %d %v", n, err)
	}
	n, _, err := e.svc.collectGarbage(ctx, time.Now().Add(time.Second))
	if err != nil || n != 2 {
		t.Fatalf("collectGarbage removed %d (%v), want 2 (the old code and the orphan)", n, err)
	}
	if bs.Exists(sha(first)) || bs.Exists(orphan) || !bs.Exists(sha(second)) {
		t.Fatalf("after GC: first %v orphan %v second %v", bs.Exists(sha(first)), bs.Exists(orphan), bs.Exists(sha(second)))
	}
}
