package sigv4

import (
	"bytes"
	"crypto/rand"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// A body larger than what is kept in memory is hashed while it streams to an
// unlinked spool file, verifies, and reads back intact, twice.
func TestLargeBodySpoolsAndReadsBack(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	spool := t.TempDir()
	v := NewVerifier(Options{Credentials: StaticCredentials{testAKID: testSecret}, Now: func() time.Time { return now }, SpoolDir: spool})
	body := make([]byte, 3*bodyMemBytes+17)
	rand.Read(body)
	r := httptest.NewRequest(http.MethodPost, "http://lambda.us-east-1.amazonaws.com/2015-03-31/functions", bytes.NewReader(body))
	signWithSDK(t, r, body, "lambda", now, aws.Credentials{AccessKeyID: testAKID, SecretAccessKey: testSecret})
	if _, err := v.Verify(r); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		rc, _ := r.GetBody()
		got, _ := io.ReadAll(rc)
		if !bytes.Equal(got, body) {
			t.Fatalf("read back %d bytes, want %d", len(got), len(body))
		}
	}
	if left, _ := os.ReadDir(spool); len(left) != 0 {
		t.Fatalf("spool files left on disk: %v", left)
	}
	if v.memBudget.inUse() != 0 {
		t.Fatalf("in-memory budget not returned: %d", v.memBudget.inUse())
	}
}

// Many concurrent bodies with a known key and a bogus signature never hold more
// than the node-wide budget in memory at once.
func TestUnauthenticatedBodiesStayWithinBudget(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	v := NewVerifier(Options{Credentials: StaticCredentials{testAKID: testSecret}, Now: func() time.Time { return now }, SpoolDir: t.TempDir(), MaxBodyBytes: 80 << 20})
	body := bytes.Repeat([]byte("x"), 4<<20)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var peak int64
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := httptest.NewRequest(http.MethodPost, "http://lambda.us-east-1.amazonaws.com/2015-03-31/functions", bytes.NewReader(body))
			signWithSDK(t, r, body, "lambda", now, aws.Credentials{AccessKeyID: testAKID, SecretAccessKey: "wrong"})
			mu.Lock()
			peak = max(peak, v.memBudget.inUse())
			mu.Unlock()
			if _, err := v.Verify(r); err == nil {
				t.Error("a bogus signature verified")
			}
		}()
	}
	wg.Wait()
	if peak > maxUnauthMem || v.memBudget.inUse() != 0 {
		t.Fatalf("budget: peak %d (max %d), left %d", peak, maxUnauthMem, v.memBudget.inUse())
	}
}
