package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
)

func TestVersion(t *testing.T) {
	out, err := exec.Command(sluiceBin, "version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "sluice ") {
		t.Fatalf("sluice version = %q, %v", out, err)
	}
}

// An unknown service or operation gets AWS's error shape and a request id, never a
// Go default page.
func TestUnknownOperation(t *testing.T) {
	s := startSluice(t, startOpts{})
	resp, err := http.Get(s.URL + "/no/such/thing")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 404 || resp.Header.Get("X-Amzn-ErrorType") != "UnknownOperationException" {
		t.Fatalf("status %d type %q body %s", resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"), body)
	}
	if resp.Header.Get("x-amzn-RequestId") == "" {
		t.Fatal("no x-amzn-RequestId")
	}
	var m map[string]string
	if err := json.Unmarshal(body, &m); err != nil || m["message"] == "" {
		t.Fatalf("body %s is not AWS-shaped: %v", body, err)
	}
}

func TestInvalidFlagsRejected(t *testing.T) {
	out, err := exec.Command(sluiceBin, "serve", "--store", "nope").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "--store") {
		t.Fatalf("want a clear error, got %q %v", out, err)
	}
}
