package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
)

// TestClusterBench measures what docs/benchmarks.md reports for clusters; it runs
// only with SLUICE_CLUSTER_BENCH=1 (never in make test), and asserts nothing about
// speed:
//
//   - throughput of 1 and of 3 nodes behind haproxy (wrk, 16 connections, 10 s, to
//     an HTTP API whose Go function echoes the event), and of the one node without
//     the balancer;
//   - config propagation: the time from CreateRoute answering on node 1 (an HTTP API
//     with an auto-deploying $default stage) until node 3 serves the route, 200 times.
func TestClusterBench(t *testing.T) {
	if os.Getenv("SLUICE_CLUSTER_BENCH") != "1" {
		t.Skip("set SLUICE_CLUSTER_BENCH=1 to measure cluster throughput and config propagation")
	}
	if _, err := exec.LookPath("wrk"); err != nil {
		t.Skip("wrk not installed")
	}
	for _, nodes := range []int{1, 3} {
		t.Run(fmt.Sprintf("throughput/nodes=%d", nodes), func(t *testing.T) {
			c := startCluster(t)
			var ns []*instance
			for range nodes {
				ns = append(ns, c.node())
			}
			apiID := deployEchoAPI(t, ns[0], "bench")
			for _, n := range ns {
				n.awaitStatus(t, 200, "GET", apiID, "/warm", "")
			}
			lb := startBalancer(t, ns)
			host := apiID + ".execute-api.localhost"
			wrk(t, lb.URL+"/warm", host, 2*time.Second) // warm every node's instances
			rps := wrk(t, lb.URL+"/bench", host, 10*time.Second)
			t.Logf("BENCH throughput nodes=%d via haproxy: %.0f requests/s", nodes, rps)
			if nodes == 1 {
				t.Logf("BENCH throughput nodes=1 direct: %.0f requests/s", wrk(t, ns[0].URL+"/bench", host, 10*time.Second))
			}
		})
	}
	t.Run("propagation", func(t *testing.T) {
		c := startCluster(t)
		n1, _, n3 := c.node(), c.node(), c.node()
		ctx := context.Background()
		lc := lambda.NewFromConfig(n1.sdkConfig())
		sdkCreateGo(t, lc, "prop", 10)
		ag := apigatewayv2.NewFromConfig(n1.sdkConfig())
		api := sdkCall(ag.CreateApi(ctx, &apigatewayv2.CreateApiInput{Name: aws.String("prop"), ProtocolType: "HTTP"})).must(t)
		fn := sdkCall(lc.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("prop")})).must(t)
		integ := sdkCall(ag.CreateIntegration(ctx, &apigatewayv2.CreateIntegrationInput{ApiId: api.ApiId, IntegrationType: "AWS_PROXY",
			IntegrationUri: fn.Configuration.FunctionArn, PayloadFormatVersion: aws.String("2.0")})).must(t)
		sdkCall(ag.CreateStage(ctx, &apigatewayv2.CreateStageInput{ApiId: api.ApiId, StageName: aws.String("$default"), AutoDeploy: aws.Bool(true)})).must(t)
		allowInvokeSDK(t, ctx, lc, "prop", *api.ApiId)
		sdkCall(ag.CreateRoute(ctx, &apigatewayv2.CreateRouteInput{ApiId: api.ApiId, RouteKey: aws.String("GET /warm"),
			Target: aws.String("integrations/" + *integ.IntegrationId)})).must(t)
		n3.awaitStatus(t, 200, "GET", *api.ApiId, "/warm", "")

		client := &http.Client{Timeout: 10 * time.Second}
		served := func(path string) bool {
			req, _ := http.NewRequest("GET", n3.URL+path, nil)
			req.Host = *api.ApiId + ".execute-api.localhost:" + n3.Addr[strings.LastIndex(n3.Addr, ":")+1:]
			resp, err := client.Do(req)
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == 200
		}
		const rounds = 200
		var fromAck, fromWrite []time.Duration
		for i := range rounds {
			path := fmt.Sprintf("/r%d", i)
			if served(path) {
				t.Fatalf("%s is served before its route exists", path)
			}
			start := time.Now()
			sdkCall(ag.CreateRoute(ctx, &apigatewayv2.CreateRouteInput{ApiId: api.ApiId, RouteKey: aws.String("GET " + path),
				Target: aws.String("integrations/" + *integ.IntegrationId)})).must(t)
			acked := time.Now()
			for !served(path) {
				if time.Since(acked) > 30*time.Second {
					t.Fatalf("node 3 does not serve %s 30 s after node 1 created it", path)
				}
			}
			fromAck, fromWrite = append(fromAck, time.Since(acked)), append(fromWrite, time.Since(start))
		}
		t.Logf("BENCH propagation from CreateRoute's answer on node 1 to node 3 serving it (%d routes): %s", rounds, percentiles(fromAck))
		t.Logf("BENCH propagation from CreateRoute's request on node 1 to node 3 serving it: %s", percentiles(fromWrite))
	})
}

// deployEchoAPI creates a Go function and an HTTP API (quick create: a $default
// route on an auto-deploying $default stage) invoking it, through s.
func deployEchoAPI(t *testing.T, s *instance, name string) (apiID string) {
	t.Helper()
	fn := s.createFunction(name, "provided.al2023", "bootstrap", goFunctionZip(t))
	api := s.awsJSON("apigatewayv2", "create-api", "--name", name, "--protocol-type", "HTTP", "--target", str(fn["FunctionArn"]))
	apiID = str(api["ApiId"])
	s.aws("lambda", "add-permission", "--function-name", name, "--statement-id", "apigw", "--action", "lambda:InvokeFunction",
		"--principal", "apigateway.amazonaws.com", "--source-arn", "arn:aws:execute-api:us-east-1:123456789012:"+apiID+"/*")
	return apiID
}

var wrkRPS = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)

// wrk runs wrk (2 threads, 16 connections) against url with the Host header host
// for d and returns its requests per second; any non-2xx answer or socket error
// fails the test.
func wrk(t *testing.T, url, host string, d time.Duration) float64 {
	t.Helper()
	out, err := exec.Command("wrk", "-t2", "-c16", "-d"+d.String(), "-H", "Host: "+host, url).CombinedOutput()
	if err != nil {
		t.Fatalf("wrk: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "Non-2xx") || strings.Contains(string(out), "Socket errors") {
		t.Fatalf("wrk saw errors:\n%s", out)
	}
	m := wrkRPS.FindStringSubmatch(string(out))
	if m == nil {
		t.Fatalf("wrk output without Requests/sec:\n%s", out)
	}
	rps, _ := strconv.ParseFloat(m[1], 64)
	return rps
}

// percentiles renders p50, p90, p99 and max of ds.
func percentiles(ds []time.Duration) string {
	s := slices.Clone(ds)
	slices.Sort(s)
	at := func(p float64) time.Duration { return s[min(len(s)-1, int(p*float64(len(s))))] }
	r := func(d time.Duration) string { return d.Round(10 * time.Microsecond).String() }
	return fmt.Sprintf("p50 %s, p90 %s, p99 %s, max %s", r(at(0.50)), r(at(0.90)), r(at(0.99)), r(s[len(s)-1]))
}
