package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	agtypes "github.com/aws/aws-sdk-go-v2/service/apigateway/types"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	a2types "github.com/aws/aws-sdk-go-v2/service/apigatewayv2/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// TestSoak is `make soak`, never part of `make test`: SOAK_DURATION (default 1h)
// of load at SOAK_CONCURRENCY (default 32) through an HTTP API and a REST API to a
// Node, a Python and a Go function, with a control-plane change every
// SOAK_CHANGE_EVERY (default 3s). Every SOAK_SAMPLE (default 1m) it records the
// server's RSS, goroutines (from the debug listener's pprof), open fds, function
// processes, requests and errors to SOAK_CSV (default soak.csv in the test's
// working directory). It fails on any failed request or control-plane call, and
// when a resource grows without bound: the last third of the samples averaging
// more than half again the first third's (after the first sample, the warm-up),
// beyond a fixed slack.
func TestSoak(t *testing.T) {
	durationText := os.Getenv("SOAK_DURATION")
	if durationText == "" {
		t.Skip("soak runs with make soak (SOAK_DURATION set)")
	}
	duration := envDuration(t, "SOAK_DURATION", time.Hour)
	sampleEvery := envDuration(t, "SOAK_SAMPLE", time.Minute)
	changeEvery := envDuration(t, "SOAK_CHANGE_EVERY", 3*time.Second)
	concurrency := 32
	if v := os.Getenv("SOAK_CONCURRENCY"); v != "" {
		concurrency, _ = strconv.Atoi(v)
	}
	csvPath := os.Getenv("SOAK_CSV")
	if csvPath == "" {
		csvPath = "soak.csv"
	}

	debugAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	s := startSluice(t, startOpts{args: []string{"--debug-listen", debugAddr, "--log-level", "info"}})
	ctx := context.Background()
	fix := newSoakFixture(t, s)

	var requests, failures atomic.Int64
	var firstErrMu sync.Mutex
	var firstErrs []string
	fail := func(format string, args ...any) {
		failures.Add(1)
		firstErrMu.Lock()
		if len(firstErrs) < 10 {
			firstErrs = append(firstErrs, fmt.Sprintf(format, args...))
		}
		firstErrMu.Unlock()
	}

	loadCtx, stopLoad := context.WithTimeout(ctx, duration)
	defer stopLoad()
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: concurrency}}
	for w := 0; w < concurrency; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; loadCtx.Err() == nil; i++ {
				target := fix.targets[i%len(fix.targets)]
				req, _ := http.NewRequestWithContext(loadCtx, "GET", s.URL+target.path, nil)
				req.Host = target.host
				resp, err := client.Do(req)
				if loadCtx.Err() != nil {
					return
				}
				requests.Add(1)
				if err != nil {
					fail("%s: %v", target.name, err)
					continue
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || !bytes.Contains(body, []byte(target.want)) {
					fail("%s: %d %s", target.name, resp.StatusCode, tail(string(body), 200))
				}
			}
		}(w)
	}
	var changes atomic.Int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(changeEvery)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-loadCtx.Done():
				return
			case <-tick.C:
			}
			if err := fix.change(loadCtx, i); err != nil && loadCtx.Err() == nil {
				fail("control-plane change %d: %v", i, err)
			}
			changes.Add(1)
		}
	}()

	f, err := os.Create(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := csv.NewWriter(f)
	_ = out.Write([]string{"elapsed_s", "requests", "errors", "rss_mb", "goroutines", "open_fds", "function_processes", "control_changes"})
	var samples []soakSample
	start := time.Now()
	record := func() {
		smp := soakSample{
			elapsed:   time.Since(start),
			requests:  requests.Load(),
			errors:    failures.Load(),
			rssMB:     rssMB(s.cmd.Process.Pid),
			goroutine: goroutines(debugAddr),
			fds:       openFDs(s.cmd.Process.Pid),
			procs:     functionProcesses(s.DataDir),
			changes:   changes.Load(),
		}
		samples = append(samples, smp)
		_ = out.Write(smp.row())
		out.Flush()
		t.Logf("soak %s: %d requests, %d errors, RSS %.1f MB, %d goroutines, %d fds, %d function processes, %d changes",
			smp.elapsed.Round(time.Second), smp.requests, smp.errors, smp.rssMB, smp.goroutine, smp.fds, smp.procs, smp.changes)
	}
	record()
	tick := time.NewTicker(sampleEvery)
	for loadCtx.Err() == nil {
		select {
		case <-tick.C:
			record()
		case <-loadCtx.Done():
		}
	}
	tick.Stop()
	wg.Wait()
	record()
	t.Logf("soak CSV: %s", csvPath)

	if n := failures.Load(); n > 0 {
		t.Errorf("%d of %d requests or changes failed; first: %s", n, requests.Load(), strings.Join(firstErrs, "\n  "))
	}
	if requests.Load() == 0 {
		t.Fatal("no requests were made")
	}
	checkBounded(t, "RSS (MB)", samples, func(s soakSample) float64 { return s.rssMB }, 48)
	checkBounded(t, "goroutines", samples, func(s soakSample) float64 { return float64(s.goroutine) }, 64)
	checkBounded(t, "open fds", samples, func(s soakSample) float64 { return float64(s.fds) }, 64)
	checkBounded(t, "function processes", samples, func(s soakSample) float64 { return float64(s.procs) }, 16)
}

type soakSample struct {
	elapsed          time.Duration
	requests, errors int64
	rssMB            float64
	goroutine, fds   int
	procs            int
	changes          int64
}

func (s soakSample) row() []string {
	return []string{strconv.Itoa(int(s.elapsed.Seconds())), strconv.FormatInt(s.requests, 10), strconv.FormatInt(s.errors, 10),
		strconv.FormatFloat(s.rssMB, 'f', 1, 64), strconv.Itoa(s.goroutine), strconv.Itoa(s.fds), strconv.Itoa(s.procs),
		strconv.FormatInt(s.changes, 10)}
}

// checkBounded fails when the mean of the last third of the samples (the first,
// taken before any load, is left out) exceeds the first third's by half plus
// slack: a leak grows with time, a warm working set does not.
func checkBounded(t *testing.T, what string, samples []soakSample, v func(soakSample) float64, slack float64) {
	t.Helper()
	s := samples[1:]
	if len(s) < 3 {
		return
	}
	third := len(s) / 3
	mean := func(xs []soakSample) float64 {
		var sum float64
		for _, x := range xs {
			sum += v(x)
		}
		return sum / float64(len(xs))
	}
	first, last := mean(s[:third]), mean(s[len(s)-third:])
	if last > first*1.5+slack {
		t.Errorf("%s grows: first third averages %.1f, last third %.1f", what, first, last)
	}
}

func envDuration(t *testing.T, name string, def time.Duration) time.Duration {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		t.Fatalf("%s=%q: %v", name, v, err)
	}
	return d
}

// rssMB is the process's resident set size from /proc/<pid>/status.
func rssMB(pid int) float64 {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return -1
}

func openFDs(pid int) int {
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return -1
	}
	return len(ents)
}

// goroutines reads the count from the debug listener's goroutine profile
// ("goroutine profile: total N").
func goroutines(debugAddr string) int {
	resp, err := http.Get("http://" + debugAddr + "/debug/pprof/goroutine?debug=1")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	line, _ := bufio.NewReader(resp.Body).ReadString('\n')
	n, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "goroutine profile: total")))
	if err != nil {
		return -1
	}
	return n
}

// functionProcesses counts the processes running a function of this sluice:
// those whose LAMBDA_TASK_ROOT lies in its data dir, which also catches any that
// escaped their process group.
func functionProcesses(dataDir string) int {
	ents, _ := os.ReadDir("/proc")
	n := 0
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil {
			continue
		}
		for _, kv := range bytes.Split(env, []byte{0}) {
			if v, ok := bytes.CutPrefix(kv, []byte("LAMBDA_TASK_ROOT=")); ok && strings.HasPrefix(string(v), dataDir) {
				n++
				break
			}
		}
	}
	return n
}

// soakTarget is one data-plane endpoint of the soak and the text its answer holds.
type soakTarget struct {
	name, host, path, want string
}

type soakFixture struct {
	t       *testing.T
	s       *instance
	lc      *lambda.Client
	ag      *apigateway.Client
	ag2     *apigatewayv2.Client
	restID  string
	httpID  string
	integID string
	fns     []string
	targets []soakTarget
	routeID string // the route the last change created
}

func newSoakFixture(t *testing.T, s *instance) *soakFixture {
	ctx := context.Background()
	fx := &soakFixture{t: t, s: s, lc: lambda.NewFromConfig(s.sdkConfig()), ag: apigateway.NewFromConfig(s.sdkConfig()),
		ag2: apigatewayv2.NewFromConfig(s.sdkConfig())}
	goZip, err := os.ReadFile(goFunctionZip(t))
	if err != nil {
		t.Fatal(err)
	}
	type fn struct {
		name, runtime, handler string
		zip                    []byte
		want                   string
	}
	fns := []fn{
		{"soak-node", "nodejs22.x", "index.handler", nodeZip(t, `exports.handler = async () => ({statusCode: 200, body: "node ok"});`), "node ok"},
		{"soak-py", "python3.12", "app.handler", zipBytes(t, map[string]zipEntry{"app.py": {[]byte("def handler(event, context):\n    return {'statusCode': 200, 'body': 'python ok'}\n"), 0o644}}), "python ok"},
		{"soak-go", "provided.al2023", "bootstrap", goZip, "hello from sluice"},
	}
	port := s.Addr[strings.LastIndex(s.Addr, ":")+1:]
	api := sdkCall(fx.ag.CreateRestApi(ctx, &apigateway.CreateRestApiInput{Name: aws.String("soak")})).must(t)
	fx.restID = aws.ToString(api.Id)
	res := sdkCall(fx.ag.GetResources(ctx, &apigateway.GetResourcesInput{RestApiId: api.Id})).must(t)
	h := sdkCall(fx.ag2.CreateApi(ctx, &apigatewayv2.CreateApiInput{Name: aws.String("soak"), ProtocolType: a2types.ProtocolTypeHttp})).must(t)
	fx.httpID = aws.ToString(h.ApiId)
	for _, f := range fns {
		out := sdkCall(fx.lc.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String(f.name), Runtime: types.Runtime(f.runtime),
			Handler: aws.String(f.handler), Role: aws.String(testRole), Code: &types.FunctionCode{ZipFile: f.zip}, Timeout: aws.Int32(30)})).must(t)
		arn := aws.ToString(out.FunctionArn)
		fx.fns = append(fx.fns, f.name)
		sdkCall(fx.lc.AddPermission(ctx, &lambda.AddPermissionInput{FunctionName: aws.String(f.name), StatementId: aws.String("gw"),
			Action: aws.String("lambda:InvokeFunction"), Principal: aws.String("apigateway.amazonaws.com")})).must(t)
		// REST API: /<name>/fixed, a Lambda proxy integration (the Go function answers
		// its fixed body for a path ending in /fixed).
		r1 := sdkCall(fx.ag.CreateResource(ctx, &apigateway.CreateResourceInput{RestApiId: api.Id, ParentId: res.Items[0].Id, PathPart: aws.String(f.name)})).must(t)
		r2 := sdkCall(fx.ag.CreateResource(ctx, &apigateway.CreateResourceInput{RestApiId: api.Id, ParentId: r1.Id, PathPart: aws.String("fixed")})).must(t)
		sdkCall(fx.ag.PutMethod(ctx, &apigateway.PutMethodInput{RestApiId: api.Id, ResourceId: r2.Id, HttpMethod: aws.String("GET"), AuthorizationType: aws.String("NONE")})).must(t)
		sdkCall(fx.ag.PutIntegration(ctx, &apigateway.PutIntegrationInput{RestApiId: api.Id, ResourceId: r2.Id, HttpMethod: aws.String("GET"),
			Type: agtypes.IntegrationTypeAwsProxy, IntegrationHttpMethod: aws.String("POST"), Uri: aws.String(fnURI(arn))})).must(t)
		// HTTP API: GET /<name>/fixed, payload 2.0.
		integ := sdkCall(fx.ag2.CreateIntegration(ctx, &apigatewayv2.CreateIntegrationInput{ApiId: h.ApiId, IntegrationType: a2types.IntegrationTypeAwsProxy,
			IntegrationUri: aws.String(arn), PayloadFormatVersion: aws.String("2.0")})).must(t)
		fx.integID = aws.ToString(integ.IntegrationId)
		sdkCall(fx.ag2.CreateRoute(ctx, &apigatewayv2.CreateRouteInput{ApiId: h.ApiId, RouteKey: aws.String("GET /" + f.name + "/fixed"),
			Target: aws.String("integrations/" + aws.ToString(integ.IntegrationId))})).must(t)
		fx.targets = append(fx.targets,
			soakTarget{"rest " + f.name, fx.restID + ".execute-api.localhost:" + port, "/soak/" + f.name + "/fixed", f.want},
			soakTarget{"http " + f.name, fx.httpID + ".execute-api.localhost:" + port, "/" + f.name + "/fixed", f.want})
	}
	sdkCall(fx.ag.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: api.Id, StageName: aws.String("soak")})).must(t)
	sdkCall(fx.ag2.CreateStage(ctx, &apigatewayv2.CreateStageInput{ApiId: h.ApiId, StageName: aws.String("$default"), AutoDeploy: aws.Bool(true)})).must(t)
	for _, tg := range fx.targets {
		r := s.awaitStatus(t, 200, "GET", strings.Split(tg.host, ".")[0], tg.path, "")
		if r.Status != 200 {
			t.Fatalf("%s answers %d before the soak: %s", tg.name, r.Status, r.Body)
		}
	}
	return fx
}

// change makes the i-th control-plane change, cycling through the kinds a busy
// team makes while traffic flows: new function configuration (new instances),
// a REST deployment (snapshot swap), an HTTP API route added and the previous
// one removed (auto-deploy), and a function created and the previous deleted.
func (fx *soakFixture) change(ctx context.Context, i int) error {
	switch i % 4 {
	case 0:
		fn := fx.fns[(i/4)%len(fx.fns)]
		_, err := fx.lc.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String(fn),
			Environment: &types.Environment{Variables: map[string]string{"SOAK_CHANGE": strconv.Itoa(i)}}})
		return err
	case 1:
		_, err := fx.ag.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: aws.String(fx.restID), StageName: aws.String("soak"),
			Description: aws.String(strconv.Itoa(i))})
		return err
	case 2:
		r, err := fx.ag2.CreateRoute(ctx, &apigatewayv2.CreateRouteInput{ApiId: aws.String(fx.httpID), RouteKey: aws.String(fmt.Sprintf("GET /churn/%d", i)),
			Target: aws.String("integrations/" + fx.integID)})
		if err != nil {
			return err
		}
		if fx.routeID != "" {
			if _, err := fx.ag2.DeleteRoute(ctx, &apigatewayv2.DeleteRouteInput{ApiId: aws.String(fx.httpID), RouteId: aws.String(fx.routeID)}); err != nil {
				return err
			}
		}
		fx.routeID = aws.ToString(r.RouteId)
		return nil
	default:
		name := fmt.Sprintf("soak-churn-%d", i)
		if _, err := fx.lc.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String(name), Runtime: types.RuntimeNodejs22x,
			Handler: aws.String("index.handler"), Role: aws.String(testRole),
			Code: &types.FunctionCode{ZipFile: nodeZip(fx.t, fmt.Sprintf("exports.handler = async () => %d;", i))}}); err != nil {
			return err
		}
		if _, err := fx.lc.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(name)}); err != nil {
			return err
		}
		if i >= 4 {
			prev := fmt.Sprintf("soak-churn-%d", i-4)
			if _, err := fx.lc.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String(prev)}); err != nil {
				return err
			}
		}
		return nil
	}
}
