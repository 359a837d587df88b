package e2e

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// chromiumPath is Debian's Chromium (scripts/install-deps.sh installs it); the
// console test drives it with playwright-core, which downloads no browser.
const chromiumPath = "/usr/bin/chromium"

// The web console in headless Chromium, driven by Playwright
// (testdata/console/console.mjs): in verify mode it refuses a browser without
// the root key (401 with a Basic challenge), lists a Node.js function (its
// markup-looking description shown as text) and an HTTP API with both invoke
// URLs, copies the path-form URL, invokes the function through it and sees the
// handler's log line and REPORT arrive in the live tail, then finds the
// invocation among the recent ones and in the metrics. Screenshots go to
// $SLUICE_ARTIFACTS (CI keeps them) or the test's temp dir.
func TestConsoleBrowser(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("%s is missing (scripts/install-deps.sh installs Debian's chromium): %v", chromiumPath, err)
	}
	shots := os.Getenv("SLUICE_ARTIFACTS")
	if shots == "" {
		shots = t.TempDir()
	}
	shots = filepath.Join(shots, "console")
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	const rootKey, rootSecret = "AKIDSLUICETEST", "sluice-test-secret" // awsEnv's, so s.aws signs as root
	dataAddr := freeAddr(t, "127.0.0.1")
	s := startSluice(t, startOpts{args: []string{"--auth-mode", "verify", "--metrics-listen", freeAddr(t, "127.0.0.1"), "--data-listen", dataAddr},
		env: []string{"SLUICE_ROOT_ACCESS_KEY_ID=" + rootKey, "SLUICE_ROOT_SECRET_ACCESS_KEY=" + rootSecret}})

	// The control plane without a key answers with the browser's challenge; a
	// data-only listener does not serve the console at all, even with the key.
	resp, err := http.Get(s.URL + "/_sluice/console")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") != `Basic realm="sluice", charset="UTF-8"` {
		t.Fatalf("console without credentials: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	req, _ := http.NewRequest(http.MethodGet, "http://"+dataAddr+"/_sluice/console", nil)
	req.SetBasicAuth(rootKey, rootSecret)
	data := s.do(t, req)
	if data.Status == http.StatusOK || data.Status == http.StatusUnauthorized || strings.Contains(string(data.Body), "Sluice console") {
		t.Fatalf("data listener served the console: %d %s", data.Status, data.Body)
	}

	const fn = "console-hello"
	zip := filepath.Join(t.TempDir(), "hello.zip")
	if err := os.WriteFile(zip, zipBytes(t, map[string]zipEntry{"index.mjs": {data: []byte(`export const handler = async (event) => {
  console.log("hello from", event.rawPath);
  return { statusCode: 200, body: JSON.stringify({ hello: event.rawPath }) };
};
`)}}), 0o644); err != nil {
		t.Fatal(err)
	}
	s.createFunction(fn, "nodejs22.x", "index.handler", zip, "--description", "<b>not bold</b>")
	api := s.awsJSON("apigatewayv2", "create-api", "--name", "console-api", "--protocol-type", "HTTP",
		"--target", "arn:aws:lambda:us-east-1:123456789012:function:"+fn)
	apiID := str(api["ApiId"])
	s.allowInvoke(fn, apiID)

	dir := npmPackage(t, "testdata/console")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "console.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CONSOLE_URL="+s.URL, "CONSOLE_USER="+rootKey, "CONSOLE_PASSWORD="+rootSecret,
		"FUNCTION="+fn, "API_ID="+apiID, "MARKER=m"+strings.ReplaceAll(t.Name(), "/", "-"), "SHOTS="+shots)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.HasSuffix(strings.TrimSpace(string(out)), "ok") {
		t.Fatalf("node console.mjs: %v\n%s", err, out)
	}
	for _, name := range []string{"functions.png", "apis.png", "function.png", "metrics.png"} {
		if fi, err := os.Stat(filepath.Join(shots, name)); err != nil || fi.Size() == 0 {
			t.Errorf("screenshot %s: %v", name, err)
		}
	}
	t.Logf("screenshots in %s", shots)
}
