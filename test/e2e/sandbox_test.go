package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A Node.js function tries what the review did: read Sluice's state file, look at
// the data dir, leave detached children behind. As root (CI), the sandbox stops all
// of it; the children die with their instance.
func TestFunctionSandbox(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the function sandbox needs root")
	}
	s := startSluice(t, startOpts{})
	marker := strconv.Itoa(800000 + int(time.Now().UnixNano()%99999))
	src := `
const fs = require('fs');
const { spawn } = require('child_process');
exports.handler = async (event) => {
  const out = { uid: process.getuid(), home: require('os').homedir(), user: require('os').userInfo().username, homeEnv: process.env.HOME ?? '' };
  try { fs.readFileSync(event.state); out.state = 'read'; } catch (e) { out.state = e.code; }
  try { out.datadir = fs.readdirSync(event.dataDir).join(','); } catch (e) { out.datadir = e.code; }
  fs.writeFileSync('/tmp/mine', 'x');
  out.tmp = fs.readdirSync('/tmp').join(',');
  const child = spawn('/bin/sleep', [event.marker], { detached: true, stdio: 'ignore' });
  child.unref();
  out.env = Object.keys(process.env).filter(k => k.startsWith('SLUICE_')).join(',');
  return out;
};`
	zip := filepath.Join(t.TempDir(), "sbx.zip")
	os.WriteFile(zip, zipBytes(t, map[string]zipEntry{"index.js": {data: []byte(src)}}), 0o644)
	s.createFunction("sbx", "nodejs22.x", "index.handler", zip)
	hostFile := filepath.Join(os.TempDir(), "host-"+marker)
	os.WriteFile(hostFile, nil, 0o600)
	defer os.Remove(hostFile)
	payload, _ := json.Marshal(map[string]string{"state": filepath.Join(s.DataDir, "state.db"), "dataDir": s.DataDir, "marker": marker})
	_, out := s.invokeCLI("sbx", string(payload))
	var got struct {
		UID                                           int
		State, Datadir, Tmp, Env, Home, User, HomeEnv string
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("payload %s: %v", out, err)
	}
	if got.UID == 0 {
		t.Fatalf("the function runs as root: %s", out)
	}
	// As sbx_user1051 on Lambda: a passwd entry with a home that is not there, and
	// no HOME (the AWS SDK for JavaScript asks os.homedir() for ~/.aws).
	if want := "sbx_user" + strconv.Itoa(got.UID); got.User != want || got.Home != "/home/"+want || got.HomeEnv != "" {
		t.Fatalf("user %q home %q HOME=%q, want %s /home/%s and no HOME", got.User, got.Home, got.HomeEnv, want, want)
	}
	if got.State == "read" {
		t.Fatal("the function read Sluice's state.db")
	}
	if strings.Contains(got.Datadir, "state.db") || strings.Contains(got.Datadir, "blobs") {
		t.Fatalf("the function sees the data dir: %s", got.Datadir)
	}
	if !strings.Contains(got.Tmp, "mine") {
		t.Fatalf("/tmp = %q", got.Tmp)
	}
	if strings.Contains(got.Tmp, "host-"+marker) {
		t.Fatalf("the function sees the host's /tmp: %s", got.Tmp)
	}
	if got.Env != "" {
		t.Fatalf("Sluice's own environment leaked into the function: %s", got.Env)
	}
	if len(processesWithArg(marker)) == 0 {
		t.Fatal("the detached child did not start")
	}
	s.aws("lambda", "delete-function", "--function-name", "sbx")
	deadline := time.Now().Add(15 * time.Second)
	for len(processesWithArg(marker)) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("detached children survived delete-function: %v", processesWithArg(marker))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func processesWithArg(arg string) []string {
	var out []string
	files, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err == nil && strings.Contains(string(b), "\x00"+arg+"\x00") {
			out = append(out, f+": "+strings.ReplaceAll(string(b), "\x00", " "))
		}
	}
	return out
}
