package e2e

import (
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// limitsFunction is one Node.js function that misbehaves on demand, the ways a
// function can try to outgrow its execution environment. Children it starts carry
// the event's marker in their argv, so the test can find them in /proc whatever
// PID namespace they run in.
const limitsFunction = `
const { spawn } = require('child_process');
const children = (n, marker) => {
  for (let i = 0; i < n; i++) {
    spawn(process.execPath, ['-e', 'setInterval(() => {}, 1e9)', marker], { detached: true, stdio: 'ignore' }).unref();
  }
};
exports.handler = async (ev) => {
  switch (ev.mode) {
  case 'flood': { // ev.mb MiB to stdout, 1 KiB lines, respecting back-pressure
    const line = 'x'.repeat(1023) + '\n';
    let left = ev.mb * 1024;
    await new Promise((done) => {
      const write = () => {
        let ok = true;
        while (left > 0 && ok) { ok = process.stdout.write(line); left--; }
        if (left > 0) process.stdout.once('drain', write); else done();
      };
      write();
    });
    return 'flooded';
  }
  case 'spawn': // children in their own sessions, left running
    children(ev.n, ev.marker);
    return 'spawned';
  case 'exit': // the runtime dies mid-invoke
    setTimeout(() => process.exit(3), 100);
    return new Promise(() => {});
  case 'hang': // no answer ever (a live timer keeps Node's loop busy: an empty
    // loop would end in Runtime.NodeJsExit instead)
    setInterval(() => {}, 1000);
    return new Promise(() => {});
  case 'hog': { // ev.mb MiB, touched, outside the V8 heap
    const held = [];
    for (let i = 0; i < ev.mb; i++) held.push(Buffer.alloc(1 << 20, 1));
    return held.length;
  }
  }
  return 'healthy';
};`

// TestFunctionResourceLimits: a function that floods stdout, forks children and
// exits, never answers, or allocates past its MemorySize leaves no process behind,
// does not grow its logs without bound, and the next invoke of the same function
// is healthy. These are the issue-8 "function resource limits"; the sandbox
// (PID namespace, memory cgroup joined before exec) is what enforces them as
// root, so without root the test is skipped (docs/security.md).
func TestFunctionResourceLimits(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("function resource limits are enforced by the sandbox, which needs root")
	}
	s := startSluice(t, startOpts{})
	ctx := context.Background()
	c := lambda.NewFromConfig(s.sdkConfig())
	create := func(name string, memoryMB, timeout int32) {
		t.Helper()
		sdkCall(c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String(name), Runtime: types.RuntimeNodejs22x,
			Handler: aws.String("index.handler"), Role: aws.String(testRole), MemorySize: aws.Int32(memoryMB), Timeout: aws.Int32(timeout),
			Code: &types.FunctionCode{ZipFile: nodeZip(t, limitsFunction)}})).must(t)
	}
	invoke := func(name string, event map[string]any) *lambda.InvokeOutput {
		t.Helper()
		payload, _ := json.Marshal(event)
		return sdkCall(c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(name), Payload: payload})).must(t)
	}
	healthy := func(name string) {
		t.Helper()
		out := invoke(name, map[string]any{"mode": "ok"})
		if out.FunctionError != nil || string(out.Payload) != `"healthy"` {
			t.Fatalf("%s: the next invoke is not healthy: %v %s", name, aws.ToString(out.FunctionError), out.Payload)
		}
	}
	noneLeft := func(marker string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for len(processesWithArg(marker)) > 0 {
			if time.Now().After(deadline) {
				t.Fatalf("children outlived their instance: %v", processesWithArg(marker))
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	newMarker := func() string { return strconv.Itoa(700000 + int(time.Now().UnixNano()%99999)) }
	errorOf := func(out *lambda.InvokeOutput) (typ, msg string) {
		var e struct{ ErrorType, ErrorMessage string }
		_ = json.Unmarshal(out.Payload, &e)
		return e.ErrorType, e.ErrorMessage
	}

	t.Run("stdout flood", func(t *testing.T) {
		create("flood", 256, 300)
		rssBefore := rssMB(s.cmd.Process.Pid)
		out := invoke("flood", map[string]any{"mode": "flood", "mb": 100})
		if out.FunctionError != nil || string(out.Payload) != `"flooded"` {
			t.Fatalf("flood: %v %s", aws.ToString(out.FunctionError), out.Payload)
		}
		rssAfter := rssMB(s.cmd.Process.Pid)
		dir := filepath.Join(s.DataDir, "logs")
		peak := dirBytes(dir)
		// 100 MiB went through Sluice; none of it may stay in its memory.
		if rssAfter > rssBefore+64 {
			t.Errorf("sluice RSS grew from %.0f MB to %.0f MB while a function printed 100 MiB", rssBefore, rssAfter)
		}
		// Retention caps each function's logs (64 MiB by default, the open
		// 8 MiB segment on top); it runs every minute, so wait for one pass.
		const limit = 64<<20 + 8<<20
		if !eventually(t, 150*time.Second, func() bool { return dirBytes(dir) <= limit }) {
			t.Errorf("function logs hold %d bytes after a 100 MiB flood, more than %d", dirBytes(dir), limit)
		}
		healthy("flood")
		t.Logf("RSS %.0f -> %.0f MB; logs %d bytes right after the flood, %d after retention", rssBefore, rssAfter, peak, dirBytes(dir))
	})

	// spawn leaves n detached children of the function's warm instance running,
	// and checks they are there, so that their absence later means something.
	spawn := func(name, marker string, n int) {
		t.Helper()
		if out := invoke(name, map[string]any{"mode": "spawn", "marker": marker, "n": n}); out.FunctionError != nil {
			t.Fatalf("spawn: %v %s", aws.ToString(out.FunctionError), out.Payload)
		}
		if !eventually(t, 20*time.Second, func() bool { return len(processesWithArg(marker)) == n }) {
			t.Fatalf("want %d children running, see %v", n, processesWithArg(marker))
		}
	}

	t.Run("fork and exit", func(t *testing.T) {
		create("forker", 128, 30)
		marker := newMarker()
		spawn("forker", marker, 3)
		out := invoke("forker", map[string]any{"mode": "exit"})
		// Lambda: the runtime exiting mid-invoke is Runtime.ExitError.
		if typ, msg := errorOf(out); aws.ToString(out.FunctionError) != "Unhandled" || typ != "Runtime.ExitError" {
			t.Fatalf("exit: %v %s %s", aws.ToString(out.FunctionError), typ, msg)
		}
		noneLeft(marker)
		healthy("forker")
	})

	t.Run("never answers", func(t *testing.T) {
		create("hanger", 128, 2)
		marker := newMarker()
		spawn("hanger", marker, 2)
		out := invoke("hanger", map[string]any{"mode": "hang"})
		// Lambda: "Task timed out after 2.00 seconds" as an Unhandled error.
		if _, msg := errorOf(out); aws.ToString(out.FunctionError) != "Unhandled" || !strings.Contains(msg, "Task timed out after 2.00 seconds") {
			t.Fatalf("hang: %v %s", aws.ToString(out.FunctionError), out.Payload)
		}
		noneLeft(marker)
		healthy("hanger")
	})

	t.Run("memory past MemorySize", func(t *testing.T) {
		if strings.Contains(s.logs.String(), "memory cgroups unavailable") {
			t.Skip("no memory cgroup on this machine: MemorySize is advisory (docs/security.md)")
		}
		create("hog", 128, 60)
		out := invoke("hog", map[string]any{"mode": "hog", "mb": 400})
		// Lambda: Runtime.OutOfMemory when the function exceeds its memory.
		if typ, msg := errorOf(out); aws.ToString(out.FunctionError) != "Unhandled" || typ != "Runtime.OutOfMemory" {
			t.Fatalf("hog: %v %s %s", aws.ToString(out.FunctionError), typ, msg)
		}
		healthy("hog")
		// Within the limit it runs.
		if out := invoke("hog", map[string]any{"mode": "hog", "mb": 16}); out.FunctionError != nil || string(out.Payload) != "16" {
			t.Fatalf("hog within the limit: %v %s", aws.ToString(out.FunctionError), out.Payload)
		}
	})

	// Nothing of any of it is left once the functions are gone.
	for _, fn := range []string{"flood", "forker", "hanger", "hog"} {
		_, _ = c.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String(fn)})
	}
	if !eventually(t, 20*time.Second, func() bool { return functionProcesses(s.DataDir) == 0 }) {
		t.Errorf("%d function processes left after every function was deleted", functionProcesses(s.DataDir))
	}
}

// dirBytes is the size of every file under dir.
func dirBytes(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}
