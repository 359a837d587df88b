package e2e

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// scrape reads one sample of a Prometheus text exposition: the value of the series
// with exactly these labels (0 when absent).
func scrape(t *testing.T, url, series string) float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			return f
		}
	}
	return 0
}

// --metrics-listen serves Prometheus metrics: API Gateway's Count by status and
// 4XX/5XX per API, stage and route (unknown routes fold into "(none)"), Lambda's
// Invocations, Errors and Duration per function; a scrape sees the counters move by
// exactly the requests sent. The data-plane listener does not serve them.
func TestPrometheusMetrics(t *testing.T) {
	metricsAddr := freeAddr(t, "127.0.0.1")
	s := startSluice(t, startOpts{args: []string{"--metrics-listen", metricsAddr}})
	fn := s.createFunction("m", "provided.al2023", "bootstrap", goFunctionZip(t))
	api := s.awsJSON("apigatewayv2", "create-api", "--name", "metrics", "--protocol-type", "HTTP")
	apiID := str(api["ApiId"])
	integ := s.awsJSON("apigatewayv2", "create-integration", "--api-id", apiID, "--integration-type", "AWS_PROXY",
		"--integration-uri", str(fn["FunctionArn"]), "--payload-format-version", "2.0")
	s.aws("apigatewayv2", "create-route", "--api-id", apiID, "--route-key", "GET /hello", "--target", "integrations/"+str(integ["IntegrationId"]))
	s.aws("apigatewayv2", "create-stage", "--api-id", apiID, "--stage-name", "$default", "--auto-deploy")
	s.allowInvoke("m", apiID)
	s.awaitStatus(t, 200, "GET", apiID, "/hello", "")

	url := "http://" + metricsAddr + "/metrics"
	labels := `{api_id="` + apiID + `",route="GET /hello",stage="$default"`
	ok200 := "sluice_apigateway_requests_total" + labels + `,status="200"}`
	none404 := `sluice_apigateway_requests_total{api_id="` + apiID + `",route="(none)",stage="$default",status="404"}`
	fourxx := `sluice_apigateway_4xx_errors_total{api_id="` + apiID + `",route="(none)",stage="$default"}`
	latency := "sluice_apigateway_latency_seconds_count" + labels + "}"
	integration := "sluice_apigateway_integration_latency_seconds_count" + labels + "}"
	invocations := `sluice_lambda_invocations_total{function="m"}`
	duration := `sluice_lambda_duration_seconds_count{function="m"}`
	errs := `sluice_lambda_errors_total{function="m"}`
	coldStarts := `sluice_lambda_cold_starts_total{function="m"}`
	initCount := `sluice_lambda_init_duration_seconds_count{function="m"}`
	series := []string{ok200, none404, fourxx, latency, integration, invocations, duration, errs, coldStarts, initCount}
	before := map[string]float64{}
	for _, k := range series {
		before[k] = scrape(t, url, k)
	}
	// The warm-up request started the function's only instance: one cold start.
	if before[coldStarts] != 1 || before[initCount] != 1 || scrape(t, url, `sluice_lambda_init_duration_seconds_sum{function="m"}`) <= 0 {
		t.Fatalf("cold starts after the first request: %v", before)
	}
	if before[ok200] < 1 || before[invocations] < 1 {
		t.Fatalf("after the warm-up request: %v", before)
	}

	for range 5 {
		if r := s.call(t, "GET", apiID, "/hello", ""); r.Status != 200 {
			t.Fatalf("GET /hello: %d %s", r.Status, r.Body)
		}
	}
	for range 3 {
		if r := s.call(t, "GET", apiID, "/nope", ""); r.Status != 404 {
			t.Fatalf("GET /nope: %d %s", r.Status, r.Body)
		}
	}
	// The gateway reports a request once it has been answered: allow the last
	// one's bookkeeping to finish.
	want := map[string]float64{ok200: 5, none404: 3, fourxx: 3, latency: 5, integration: 5, invocations: 5, duration: 5, errs: 0, coldStarts: 0, initCount: 0}
	var got map[string]float64
	eventually(t, 5*time.Second, func() bool {
		got = map[string]float64{}
		for _, k := range series {
			got[k] = scrape(t, url, k) - before[k]
		}
		for k, w := range want {
			if got[k] != w {
				return false
			}
		}
		return true
	})
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s moved by %v, want %v", k, got[k], w)
		}
	}
	// One warm instance served the sequential requests; the gateway compiled its
	// snapshot at least once per change.
	if v := scrape(t, url, `sluice_lambda_instances{function="m"}`); v != 1 {
		t.Errorf("sluice_lambda_instances = %v, want 1", v)
	}
	if v := scrape(t, url, "sluice_apigateway_snapshot_compile_seconds_count"); v < 1 {
		t.Errorf("snapshot compiles observed: %v", v)
	}
	// Creating the function and the API committed store transactions; nothing failed.
	if v := scrape(t, url, `sluice_store_operation_seconds_count{backend="bolt",op="update"}`); v < 3 {
		t.Errorf("store updates observed: %v", v)
	}
	if v := scrape(t, url, `sluice_store_operation_seconds_count{backend="bolt",op="get"}`); v < 1 {
		t.Errorf("store reads observed: %v", v)
	}
	if v := scrape(t, url, `sluice_store_errors_total{backend="bolt",op="update"}`); v != 0 {
		t.Errorf("store update errors: %v", v)
	}
	// An async invocation of a function that sleeps is queued until it ran.
	s.aws("lambda", "invoke", "--function-name", "m", "--invocation-type", "Event",
		"--payload", `{"mode":"sleep","ms":1500}`, "/dev/null")
	seen := eventually(t, 5*time.Second, func() bool { return scrape(t, url, "sluice_lambda_async_events_queued") >= 1 })
	if !seen {
		t.Error("sluice_lambda_async_events_queued never showed the queued event")
	}
	if !eventually(t, 15*time.Second, func() bool {
		return scrape(t, url, "sluice_lambda_async_events_queued") == 0 && scrape(t, url, "sluice_lambda_async_oldest_event_age_seconds") == 0
	}) {
		t.Error("async queue gauges did not return to 0")
	}
	if v := scrape(t, url, `sluice_lambda_concurrent_executions{function="m"}`); v != 0 {
		t.Errorf("concurrent executions at rest = %v", v)
	}
	// Only the metrics listener serves /metrics.
	if r := s.do(t, mustRequest(t, s, "GET", "nosuchapi", "/metrics", "")); r.Status == 200 && strings.Contains(string(r.Body), "sluice_apigateway") {
		t.Fatal("metrics served on the data plane")
	}
	resp, err := http.Get(s.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Contains(string(b), "sluice_apigateway") {
		t.Fatal("metrics served on the main listener")
	}
}
