// Package metrics exposes Sluice's counters to Prometheus (client_golang) on the
// --metrics-listen address: API Gateway's CloudWatch metrics per API, stage and
// route (Count, 4XXError, 5XXError, Latency, IntegrationLatency), Lambda's per
// function (Invocations, Errors, Throttles, Duration, ConcurrentExecutions), and
// the Go process's own. Names follow Prometheus conventions (sluice_ prefix,
// _total counters, _seconds histograms); docs/observability.md maps them to the
// CloudWatch names.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// noRoute is the route label of requests that matched no route (unknown paths
// fold into one series, so a scanner cannot grow the label set).
const noRoute = "(none)"

// latencyBuckets cover a warm invoke (sub-millisecond gateway, a few ms end to
// end) up to API Gateway's 29 s integration timeout.
var latencyBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// Metrics is the registry and its series. Its methods are safe for concurrent use
// and cheap enough for every request (a label lookup and an atomic add).
type Metrics struct {
	reg *prometheus.Registry

	apiRequests    *prometheus.CounterVec
	api4xx         *prometheus.CounterVec
	api5xx         *prometheus.CounterVec
	apiLatency     *prometheus.HistogramVec
	apiIntegration *prometheus.HistogramVec

	fnInvocations *prometheus.CounterVec
	fnErrors      *prometheus.CounterVec
	fnThrottles   *prometheus.CounterVec
	fnDuration    *prometheus.HistogramVec
	fnConcurrent  *prometheus.GaugeVec
	fnColdStarts  *prometheus.CounterVec
	fnInit        *prometheus.HistogramVec
	compile       prometheus.Histogram
}

// New registers every series, with Go's runtime and process collectors.
func New() *Metrics {
	apiLabels := []string{"api_id", "stage", "route"}
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		apiRequests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_apigateway_requests_total",
			Help: "API Gateway Count: requests served, by API, stage, route key and response status."},
			append(apiLabels, "status")),
		api4xx: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_apigateway_4xx_errors_total",
			Help: "API Gateway 4XXError: client-side errors."}, apiLabels),
		api5xx: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_apigateway_5xx_errors_total",
			Help: "API Gateway 5XXError: server-side errors."}, apiLabels),
		apiLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "sluice_apigateway_latency_seconds",
			Help: "API Gateway Latency: from receiving the request to the response.", Buckets: latencyBuckets}, apiLabels),
		apiIntegration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "sluice_apigateway_integration_latency_seconds",
			Help: "API Gateway IntegrationLatency: from relaying the request to the backend to its response.", Buckets: latencyBuckets}, apiLabels),
		fnInvocations: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_lambda_invocations_total",
			Help: "Lambda Invocations: invocations that ran (successfully or with a function error)."}, []string{"function"}),
		fnErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_lambda_errors_total",
			Help: "Lambda Errors: invocations that ended in a function error."}, []string{"function"}),
		fnThrottles: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_lambda_throttles_total",
			Help: "Lambda Throttles: invocation requests refused for concurrency (TooManyRequestsException)."}, []string{"function"}),
		fnDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "sluice_lambda_duration_seconds",
			Help: "Lambda Duration: time of an invocation in its instance, including init on a cold start.", Buckets: latencyBuckets},
			[]string{"function"}),
		fnConcurrent: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "sluice_lambda_concurrent_executions",
			Help: "Lambda ConcurrentExecutions: invocations running now."}, []string{"function"}),
	}
	m.fnColdStarts = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_lambda_cold_starts_total",
		Help: "Invocations that started a new execution environment (REPORT shows an Init Duration)."}, []string{"function"})
	m.fnInit = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "sluice_lambda_init_duration_seconds",
		Help:    "Lambda Init Duration: an execution environment's init phase, from process start to its first /next.",
		Buckets: latencyBuckets}, []string{"function"})
	m.compile = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "sluice_apigateway_snapshot_compile_seconds",
		Help: "Time to compile the gateway's snapshot of every API after a change.", Buckets: latencyBuckets})
	m.reg.MustRegister(m.compile, m.apiRequests, m.api4xx, m.api5xx, m.apiLatency, m.apiIntegration,
		m.fnInvocations, m.fnErrors, m.fnThrottles, m.fnDuration, m.fnConcurrent, m.fnColdStarts, m.fnInit,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the registry in Prometheus's exposition formats.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Gatherer is the registry, for readers in the same process (the web console's
// metrics page) that want the families without scraping /metrics.
func (m *Metrics) Gatherer() prometheus.Gatherer { return m.reg }

// ObserveRequest records one execute-api request (the gateway's Observer). route
// is the matched route key ("" when none matched); integration is zero when the
// request never reached its integration.
func (m *Metrics) ObserveRequest(apiID, stage, route string, status int, latency, integration time.Duration) {
	if route == "" {
		route = noRoute
	}
	m.apiRequests.WithLabelValues(apiID, stage, route, strconv.Itoa(status)).Inc()
	switch {
	case status >= 500:
		m.api5xx.WithLabelValues(apiID, stage, route).Inc()
	case status >= 400:
		m.api4xx.WithLabelValues(apiID, stage, route).Inc()
	}
	m.apiLatency.WithLabelValues(apiID, stage, route).Observe(latency.Seconds())
	if integration > 0 {
		m.apiIntegration.WithLabelValues(apiID, stage, route).Observe(integration.Seconds())
	}
}

// Invocation outcomes for ObserveInvoke.
const (
	InvokeOK        = "ok"
	InvokeError     = "error"    // the function returned or threw an error
	InvokeThrottled = "throttle" // refused for concurrency, never ran
)

// InvokeStarted counts an invocation running in function; call the returned
// func when it ends.
func (m *Metrics) InvokeStarted(function string) func() {
	g := m.fnConcurrent.WithLabelValues(function)
	g.Inc()
	return g.Dec
}

// ObserveInvoke records one invocation's end.
func (m *Metrics) ObserveInvoke(function, outcome string, d time.Duration) {
	if outcome == InvokeThrottled {
		m.fnThrottles.WithLabelValues(function).Inc()
		return
	}
	m.fnInvocations.WithLabelValues(function).Inc()
	if outcome == InvokeError {
		m.fnErrors.WithLabelValues(function).Inc()
	}
	m.fnDuration.WithLabelValues(function).Observe(d.Seconds())
}

// ObserveColdStart counts an invocation that was an instance's first and records
// its init time.
func (m *Metrics) ObserveColdStart(function string, init time.Duration) {
	m.fnColdStarts.WithLabelValues(function).Inc()
	m.fnInit.WithLabelValues(function).Observe(init.Seconds())
}

// WatchAsyncQueue exports the Lambda async queue, read at scrape time:
// sluice_lambda_async_events_queued and sluice_lambda_async_oldest_event_age_seconds
// (CloudWatch's AsyncEventsReceived backlog and AsyncEventAge).
func (m *Metrics) WatchAsyncQueue(stats func() (depth int, oldest time.Time)) {
	m.reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "sluice_lambda_async_events_queued",
			Help: "Async (Event) invocations queued: waiting, being retried or running."},
			func() float64 { d, _ := stats(); return float64(d) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "sluice_lambda_async_oldest_event_age_seconds",
			Help: "Age of the oldest queued async event (0 when the queue is empty)."},
			func() float64 {
				_, oldest := stats()
				if oldest.IsZero() {
					return 0
				}
				return time.Since(oldest).Seconds()
			}))
}

// ObserveCompile records how long the gateway took to compile a snapshot of every
// API after a change.
func (m *Metrics) ObserveCompile(d time.Duration) { m.compile.Observe(d.Seconds()) }

// WatchInstances exports live function instances per function, read at scrape
// time: sluice_lambda_instances{function}.
func (m *Metrics) WatchInstances(counts func() map[string]int) {
	m.reg.MustRegister(&instancesCollector{counts: counts, desc: prometheus.NewDesc("sluice_lambda_instances",
		"Live execution environments (busy, idle or starting) per function.", []string{"function"}, nil)})
}

type instancesCollector struct {
	counts func() map[string]int
	desc   *prometheus.Desc
}

func (c *instancesCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *instancesCollector) Collect(ch chan<- prometheus.Metric) {
	for fn, n := range c.counts() {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n), fn)
	}
}
