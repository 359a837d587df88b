package e2e

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// An acknowledged control-plane write survives kill -9 of sluice at any moment:
// writers stream CreateFunction calls, sluice is killed mid-stream, and after a
// restart every function whose create was acknowledged exists with its code.
func TestDurabilityKill9(t *testing.T) {
	s := startSluice(t, startOpts{})
	for round := 0; round < 3; round++ {
		c := lambda.NewFromConfig(s.sdkConfig(), func(o *lambda.Options) { o.RetryMaxAttempts = 1 })
		var mu sync.Mutex
		acked := map[string]string{}
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for i := 0; ctx.Err() == nil; i++ {
					name := fmt.Sprintf("d%d-w%d-%d", round, w, i)
					src := fmt.Sprintf("exports.handler = async () => %q;\n", name)
					zipData := zipBytes(t, map[string]zipEntry{"index.js": {[]byte(src), 0o644}})
					out, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{
						FunctionName: aws.String(name), Runtime: types.RuntimeNodejs22x, Handler: aws.String("index.handler"),
						Role: aws.String(testRole), Code: &types.FunctionCode{ZipFile: zipData},
					})
					if err != nil {
						return // the server died mid-request: not acknowledged
					}
					mu.Lock()
					acked[name] = aws.ToString(out.CodeSha256)
					mu.Unlock()
				}
			}(w)
		}
		time.Sleep(time.Duration(300+rand.Intn(700)) * time.Millisecond)
		s.kill9()
		cancel()
		wg.Wait()
		if len(acked) == 0 {
			t.Fatalf("round %d: no write was acknowledged before the kill", round)
		}
		s.start()
		c = lambda.NewFromConfig(s.sdkConfig())
		for name, sha := range acked {
			got, err := c.GetFunction(context.Background(), &lambda.GetFunctionInput{FunctionName: aws.String(name)})
			if err != nil {
				t.Fatalf("round %d: acknowledged function %s lost: %v", round, name, err)
			}
			if aws.ToString(got.Configuration.CodeSha256) != sha {
				t.Fatalf("round %d: %s code sha %s, want %s", round, name, aws.ToString(got.Configuration.CodeSha256), sha)
			}
		}
		t.Logf("round %d: %d acknowledged creates survived kill -9", round, len(acked))
	}
}

// A second `sluice serve` on a data dir another sluice is serving exits with a
// clear error after bbolt's lock timeout, instead of hanging or sharing the file,
// and the first one keeps serving.
func TestSecondServeOnSameDataDirFails(t *testing.T) {
	s := startSluice(t, startOpts{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // a hang guard, not a timing assertion
	defer cancel()
	cmd := exec.CommandContext(ctx, sluiceBin, "serve", "--listen", fmt.Sprintf("127.0.0.1:%d", freePort(t)), "--data-dir", s.DataDir)
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("second sluice did not exit: %s", out)
	}
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("second sluice: %v, want exit status 1\n%s", err, out)
	}
	if !strings.Contains(string(out), "another process holds its lock") || !strings.Contains(string(out), "state.db") {
		t.Fatalf("unclear error from the second sluice:\n%s", out)
	}
	resp, err := http.Get(s.URL + "/_sluice/health")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("first sluice stopped answering: %v", err)
	}
	resp.Body.Close()
}
