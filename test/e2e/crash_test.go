package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	agtypes "github.com/aws/aws-sdk-go-v2/service/apigateway/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// The kill -9 matrix: for each kind of write, clients stream writes at sluice, it
// is killed without warning mid-stream, restarted on the same data dir, and then
//   - every acknowledged write is there, and
//   - nothing half-written is visible: each record reads whole, its code blob is
//     complete (its bytes hash to the CodeSha256 the record names), each stage
//     points at a deployment that exists and serves, and each log line parses.
//
// A write that was in flight at the kill may or may not have landed (the client
// never heard back): the checks accept either outcome, never a third.

// killDuring runs load, waits until it has made progress (progressed reports at
// least one acknowledged write, so a slow, loaded machine cannot turn the test into
// "nothing was acknowledged"), lets it run a random while longer so the kill lands
// at a different point of a write each time, kills sluice with SIGKILL, stops the
// load and restarts sluice on the same data dir (on a new port: clients made before
// must be made again).
func killDuring(t *testing.T, s *instance, progressed func() bool, load func(ctx context.Context)) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); load(ctx) }()
	if !eventually(t, 2*time.Minute, progressed) {
		cancel()
		<-done
		t.Fatalf("no write was acknowledged within 2 minutes\n%s", tail(s.logs.String(), 4000))
	}
	time.Sleep(time.Duration(rand.Intn(600)) * time.Millisecond)
	s.kill9()
	cancel()
	<-done
	s.start()
}

// counter is a progress count shared by load goroutines.
type counter struct{ n atomic.Int64 }

func (c *counter) add()                        { c.n.Add(1) }
func (c *counter) atLeast(k int64) func() bool { return func() bool { return c.n.Load() >= k } }

// noRetry is an SDK option: a failed call must surface, not be retried into
// an acknowledgement the test cannot attribute.
func noRetryLambda(o *lambda.Options)         { o.RetryMaxAttempts = 1 }
func noRetryAPIGateway(o *apigateway.Options) { o.RetryMaxAttempts = 1 }

func nodeZip(t *testing.T, src string) []byte {
	return zipBytes(t, map[string]zipEntry{"index.js": {[]byte(src), 0o644}})
}

func zipSHA(b []byte) string {
	sum := sha256.Sum256(b)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// fnState is what a client knows of one function: the last acknowledged and the
// in-flight configuration marker and code hash.
type fnState struct {
	ackedEnv, pendingEnv string
	ackedSHA, pendingSHA string
}

func TestKill9Matrix(t *testing.T) {
	t.Run("function create and update", testKill9Functions)
	t.Run("deployment create", testKill9Deployments)
	t.Run("async enqueue", testKill9Async)
	t.Run("log rotation", testKill9Logs)
}

func testKill9Functions(t *testing.T) {
	s := startSluice(t, startOpts{})
	var mu sync.Mutex
	fns := map[string]*fnState{}
	var writes counter
	killDuring(t, s, writes.atLeast(3), func(ctx context.Context) {
		c := lambda.NewFromConfig(s.sdkConfig(), noRetryLambda)
		var wg sync.WaitGroup
		for w := 0; w < 3; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for i := 0; ctx.Err() == nil; i++ {
					name := fmt.Sprintf("k-w%d-%d", w, i)
					code := nodeZip(t, fmt.Sprintf("exports.handler = async () => %q;\n", name))
					st := &fnState{pendingEnv: "0", pendingSHA: zipSHA(code)}
					mu.Lock()
					fns[name] = st
					mu.Unlock()
					_, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{
						FunctionName: aws.String(name), Runtime: types.RuntimeNodejs22x, Handler: aws.String("index.handler"),
						Role: aws.String(testRole), Code: &types.FunctionCode{ZipFile: code},
						Environment: &types.Environment{Variables: map[string]string{"V": "0"}},
					})
					if err != nil {
						return
					}
					mu.Lock()
					st.ackedEnv, st.ackedSHA = st.pendingEnv, st.pendingSHA
					mu.Unlock()
					writes.add()
					for u := 1; u <= 3 && ctx.Err() == nil; u++ {
						v := fmt.Sprint(u)
						mu.Lock()
						st.pendingEnv = v
						mu.Unlock()
						if _, err := c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String(name),
							Environment: &types.Environment{Variables: map[string]string{"V": v}}}); err != nil {
							return
						}
						mu.Lock()
						st.ackedEnv = v
						mu.Unlock()
						writes.add()
						newCode := nodeZip(t, fmt.Sprintf("exports.handler = async () => %q;\n", name+"-"+v))
						mu.Lock()
						st.pendingSHA = zipSHA(newCode)
						mu.Unlock()
						if _, err := c.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String(name), ZipFile: newCode}); err != nil {
							return
						}
						mu.Lock()
						st.ackedSHA = st.pendingSHA
						mu.Unlock()
						writes.add()
					}
				}
			}(w)
		}
		wg.Wait()
	})

	c := lambda.NewFromConfig(s.sdkConfig())
	ctx := context.Background()
	acked := 0
	for name, st := range fns {
		got, err := c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name)})
		if err != nil {
			if st.ackedSHA == "" {
				continue // its create was never acknowledged
			}
			t.Fatalf("acknowledged function %s lost: %v", name, err)
		}
		acked++
		cfg := got.Configuration
		env := ""
		if cfg.Environment != nil {
			env = cfg.Environment.Variables["V"]
		}
		if env != st.ackedEnv && env != st.pendingEnv {
			t.Errorf("%s: V=%q, want the acknowledged %q or the in-flight %q", name, env, st.ackedEnv, st.pendingEnv)
		}
		sha := aws.ToString(cfg.CodeSha256)
		if sha != st.ackedSHA && sha != st.pendingSHA {
			t.Errorf("%s: CodeSha256 %s, want the acknowledged %s or the in-flight %s", name, sha, st.ackedSHA, st.pendingSHA)
		}
		// The record's code is whole: its bytes are the ones it names.
		resp, err := http.Get(aws.ToString(got.Code.Location))
		if err != nil {
			t.Fatalf("%s: download code: %v", name, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || zipSHA(b) != sha {
			t.Errorf("%s: code download %d, %d bytes hashing to %s, want %s: %.300s", name, resp.StatusCode, len(b), zipSHA(b), sha, b)
		}
	}
	if acked == 0 {
		t.Fatal("no function create was acknowledged before the kill")
	}
	// Every listed function reads whole, and one still runs.
	p := lambda.NewListFunctionsPaginator(c, &lambda.ListFunctionsInput{})
	for p.HasMorePages() {
		if _, err := p.NextPage(ctx); err != nil {
			t.Fatalf("list functions after restart: %v", err)
		}
	}
	for name, st := range fns {
		if st.ackedSHA == "" {
			continue
		}
		out, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(name)})
		if err != nil || out.FunctionError != nil {
			t.Fatalf("invoke %s after restart: %v %s", name, err, out.Payload)
		}
		break
	}
	t.Logf("%d acknowledged functions intact after kill -9", acked)
}

func testKill9Deployments(t *testing.T) {
	s := startSluice(t, startOpts{})
	ctx := context.Background()
	ag := apigateway.NewFromConfig(s.sdkConfig())
	api := sdkCall(ag.CreateRestApi(ctx, &apigateway.CreateRestApiInput{Name: aws.String("crash")})).must(t)
	res := sdkCall(ag.GetResources(ctx, &apigateway.GetResourcesInput{RestApiId: api.Id})).must(t)
	child := sdkCall(ag.CreateResource(ctx, &apigateway.CreateResourceInput{RestApiId: api.Id, ParentId: res.Items[0].Id, PathPart: aws.String("x")})).must(t)
	sdkCall(ag.PutMethod(ctx, &apigateway.PutMethodInput{RestApiId: api.Id, ResourceId: child.Id, HttpMethod: aws.String("GET"), AuthorizationType: aws.String("NONE")})).must(t)
	sdkCall(ag.PutIntegration(ctx, &apigateway.PutIntegrationInput{RestApiId: api.Id, ResourceId: child.Id, HttpMethod: aws.String("GET"),
		Type: agtypes.IntegrationTypeMock, RequestTemplates: map[string]string{"application/json": `{"statusCode": 200}`}})).must(t)
	sdkCall(ag.PutMethodResponse(ctx, &apigateway.PutMethodResponseInput{RestApiId: api.Id, ResourceId: child.Id, HttpMethod: aws.String("GET"), StatusCode: aws.String("200")})).must(t)
	sdkCall(ag.PutIntegrationResponse(ctx, &apigateway.PutIntegrationResponseInput{RestApiId: api.Id, ResourceId: child.Id, HttpMethod: aws.String("GET"),
		StatusCode: aws.String("200"), ResponseTemplates: map[string]string{"application/json": `{"ok":true}`}})).must(t)

	var mu sync.Mutex
	acked := map[string]bool{}        // deployment id → acknowledged
	stageAcked := map[string]string{} // stage → last acknowledged deployment
	var writes counter
	killDuring(t, s, writes.atLeast(3), func(ctx context.Context) {
		c := apigateway.NewFromConfig(s.sdkConfig(), noRetryAPIGateway)
		var wg sync.WaitGroup
		for w := 0; w < 3; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				stage := fmt.Sprintf("s%d", w)
				for i := 0; ctx.Err() == nil; i++ {
					d, err := c.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: api.Id, StageName: aws.String(stage),
						Description: aws.String(fmt.Sprint(i))})
					if err != nil {
						return
					}
					mu.Lock()
					acked[aws.ToString(d.Id)] = true
					stageAcked[stage] = aws.ToString(d.Id)
					mu.Unlock()
					writes.add()
				}
			}(w)
		}
		wg.Wait()
	})

	ag = apigateway.NewFromConfig(s.sdkConfig()) // the restarted sluice listens elsewhere
	deps := map[string]bool{}
	p := apigateway.NewGetDeploymentsPaginator(ag, &apigateway.GetDeploymentsInput{RestApiId: api.Id})
	for p.HasMorePages() {
		page := sdkCall(p.NextPage(ctx)).must(t)
		for _, d := range page.Items {
			deps[aws.ToString(d.Id)] = true
		}
	}
	if len(acked) == 0 {
		t.Fatal("no deployment was acknowledged before the kill")
	}
	for id := range acked {
		if !deps[id] {
			t.Fatalf("acknowledged deployment %s lost", id)
		}
	}
	for stage, last := range stageAcked {
		st := sdkCall(ag.GetStage(ctx, &apigateway.GetStageInput{RestApiId: api.Id, StageName: aws.String(stage)})).must(t)
		id := aws.ToString(st.DeploymentId)
		if !deps[id] {
			t.Fatalf("stage %s points at deployment %s, which does not exist", stage, id)
		}
		if id != last && acked[id] {
			// It may point at a later, unacknowledged deployment, never an older one:
			// deployments are created in order per stage.
			t.Logf("stage %s at %s (last acknowledged %s)", stage, id, last)
		}
		r := s.awaitStatus(t, 200, "GET", aws.ToString(api.Id), "/"+stage+"/x", "")
		if r.Status != 200 || !strings.Contains(string(r.Body), `"ok":true`) {
			t.Fatalf("stage %s after restart: %d %s", stage, r.Status, r.Body)
		}
	}
	t.Logf("%d acknowledged deployments intact after kill -9", len(acked))
}

func testKill9Async(t *testing.T) {
	var mu sync.Mutex
	ran := map[string]bool{}
	marks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		ran[strings.TrimPrefix(r.URL.Path, "/")] = true
		mu.Unlock()
	}))
	defer marks.Close()

	s := startSluice(t, startOpts{args: []string{"--async-retry-delay", "200ms"}})
	ctx := context.Background()
	c := lambda.NewFromConfig(s.sdkConfig())
	// The function reports each event it runs to the test's mark server.
	src := "exports.handler = async (ev) => { const r = await fetch(process.env.MARK_URL + '/' + ev.id); return r.status; };\n"
	sdkCall(c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("marker"), Runtime: types.RuntimeNodejs22x,
		Handler: aws.String("index.handler"), Role: aws.String(testRole), Code: &types.FunctionCode{ZipFile: nodeZip(t, src)},
		Environment: &types.Environment{Variables: map[string]string{"MARK_URL": marks.URL}}})).must(t)

	var ackMu sync.Mutex
	var acked []string
	var writes counter
	killDuring(t, s, writes.atLeast(4), func(ctx context.Context) {
		c := lambda.NewFromConfig(s.sdkConfig(), noRetryLambda)
		var wg sync.WaitGroup
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for i := 0; ctx.Err() == nil; i++ {
					id := fmt.Sprintf("ev-%d-%d", w, i)
					_, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("marker"),
						InvocationType: types.InvocationTypeEvent, Payload: []byte(`{"id":"` + id + `"}`)})
					if err != nil {
						return
					}
					ackMu.Lock()
					acked = append(acked, id)
					ackMu.Unlock()
					writes.add()
				}
			}(w)
		}
		wg.Wait()
	})
	if len(acked) == 0 {
		t.Fatal("no async invoke was acknowledged before the kill")
	}
	// Every acknowledged event runs after the restart (at least once): the queue
	// is durable before Invoke answers 202.
	missing := func() []string {
		mu.Lock()
		defer mu.Unlock()
		var out []string
		for _, id := range acked {
			if !ran[id] {
				out = append(out, id)
			}
		}
		return out
	}
	if !eventually(t, 2*time.Minute, func() bool { return len(missing()) == 0 }) {
		m := missing()
		t.Fatalf("%d of %d acknowledged events never ran after kill -9, e.g. %v", len(m), len(acked), m[:min(5, len(m))])
	}
	t.Logf("%d acknowledged async events all ran after kill -9", len(acked))
}

func testKill9Logs(t *testing.T) {
	s := startSluice(t, startOpts{})
	ctx := context.Background()
	c := lambda.NewFromConfig(s.sdkConfig())
	zipData, err := os.ReadFile(goFunctionZip(t))
	if err != nil {
		t.Fatal(err)
	}
	sdkCall(c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("chatty"), Runtime: types.RuntimeProvidedal2023,
		Handler: aws.String("bootstrap"), Role: aws.String(testRole), Code: &types.FunctionCode{ZipFile: zipData}, Timeout: aws.Int32(60)})).must(t)
	// Each invocation prints ~40k lines, so segments (8 MiB by default) rotate
	// while sluice is killed.
	for round := 0; round < 2; round++ {
		var invokes counter
		killDuring(t, s, invokes.atLeast(2), func(ctx context.Context) {
			c := lambda.NewFromConfig(s.sdkConfig(), noRetryLambda)
			var wg sync.WaitGroup
			for w := 0; w < 3; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for ctx.Err() == nil {
						if _, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("chatty"), Payload: []byte(`{"mode":"log","lines":40000}`)}); err != nil {
							return
						}
						invokes.add()
					}
				}()
			}
			wg.Wait()
		})
		out, err := s.sluiceLogs("chatty")
		if err != nil {
			t.Fatalf("round %d: sluice logs after kill -9: %v\n%s", round, err, tail(out, 2000))
		}
		lines := parseLogLines(t, out) // fails on any torn or garbled line
		if len(lines) == 0 {
			t.Fatalf("round %d: no log lines survived", round)
		}
		segs, _ := filepath.Glob(filepath.Join(s.DataDir, "logs", "*", "*.log"))
		t.Logf("round %d: %d log lines in %d segments, all well formed", round, len(lines), len(segs))
	}
	// The function still runs and logs after the restarts.
	c = lambda.NewFromConfig(s.sdkConfig())
	id := invokeForID(t, c, "chatty", `{"mode":"log","lines":1}`)
	if !eventually(t, 10*time.Second, func() bool {
		out, _ := s.sluiceLogs("chatty", "--since", "1m")
		return strings.Contains(out, "END RequestId: "+id)
	}) {
		t.Fatal("no logs for an invocation after the restarts")
	}
}
