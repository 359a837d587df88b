package console

import (
	"cmp"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	dto "github.com/prometheus/client_model/go"
)

// snapshot is one Gather of the registry, by family name. A nil *snapshot means
// metrics are off; its methods then return nothing.
type snapshot struct {
	families map[string]*dto.MetricFamily
}

func (c *Console) gather() (*snapshot, error) {
	if c.opts.Metrics == nil {
		return nil, nil
	}
	mfs, err := c.opts.Metrics.Gather()
	if err != nil && len(mfs) == 0 {
		return nil, fmt.Errorf("gather metrics: %w", err)
	}
	s := &snapshot{families: make(map[string]*dto.MetricFamily, len(mfs))}
	for _, mf := range mfs {
		s.families[mf.GetName()] = mf
	}
	return s, nil
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// value is a sample's counter, gauge or untyped value.
func value(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Untyped != nil:
		return m.Untyped.GetValue()
	}
	return 0
}

// each calls fn for every sample of family name.
func (s *snapshot) each(name string, fn func(m *dto.Metric)) {
	if s == nil {
		return
	}
	if mf := s.families[name]; mf != nil {
		for _, m := range mf.GetMetric() {
			fn(m)
		}
	}
}

// sum adds up family name's samples whose labels match want.
func (s *snapshot) sum(name string, want map[string]string) float64 {
	var total float64
	s.each(name, func(m *dto.Metric) {
		for k, v := range want {
			if label(m, k) != v {
				return
			}
		}
		total += value(m)
	})
	return total
}

// mean is a histogram family's mean observation (sum/count) in milliseconds over
// the samples matching want, and its count.
func (s *snapshot) meanMillis(name string, want map[string]string) (float64, uint64) {
	var sum float64
	var count uint64
	s.each(name, func(m *dto.Metric) {
		for k, v := range want {
			if label(m, k) != v {
				return
			}
		}
		if h := m.GetHistogram(); h != nil {
			sum += h.GetSampleSum()
			count += h.GetSampleCount()
		}
	})
	if count == 0 {
		return 0, 0
	}
	return sum / float64(count) * 1000, count
}

// functionMetrics are Lambda's CloudWatch metrics of one function, since this
// node started.
type functionMetrics struct {
	Function                                   string
	Invocations, Errors, Throttles, ColdStarts float64
	MeanDurationMs, MeanInitMs                 float64
	Concurrent, Instances                      float64
}

func (s *snapshot) function(name string) *functionMetrics {
	if s == nil {
		return nil
	}
	by := map[string]string{"function": name}
	m := &functionMetrics{Function: name,
		Invocations: s.sum("sluice_lambda_invocations_total", by),
		Errors:      s.sum("sluice_lambda_errors_total", by),
		Throttles:   s.sum("sluice_lambda_throttles_total", by),
		ColdStarts:  s.sum("sluice_lambda_cold_starts_total", by),
		Concurrent:  s.sum("sluice_lambda_concurrent_executions", by),
		Instances:   s.sum("sluice_lambda_instances", by),
	}
	m.MeanDurationMs, _ = s.meanMillis("sluice_lambda_duration_seconds", by)
	m.MeanInitMs, _ = s.meanMillis("sluice_lambda_init_duration_seconds", by)
	return m
}

// routeMetrics are API Gateway's metrics of one API, stage and route key.
type routeMetrics struct {
	APIID, Stage, Route  string
	Requests             float64
	Errors4xx, Errors5xx float64
	// Statuses is "200 ×3, 502 ×1", by status code.
	Statuses                         string
	MeanLatencyMs, MeanIntegrationMs float64
}

type processMetrics struct {
	Goroutines, ResidentBytes, HeapBytes float64
	AsyncQueued, AsyncOldestSeconds      float64
	Compiles                             uint64
	MeanCompileMs                        float64
}

type metricsPage struct {
	Off       bool
	Functions []*functionMetrics
	Routes    []*routeMetrics
	Process   processMetrics
	// MaxInvocations and MaxRequests scale the bars.
	MaxInvocations, MaxRequests float64
}

func (c *Console) serveMetrics(w http.ResponseWriter, r *http.Request) {
	snap, err := c.gather()
	if err != nil {
		c.internalError(w, "metrics", err)
		return
	}
	data := metricsPage{Off: snap == nil}
	if snap != nil {
		data.Functions, data.MaxInvocations = snap.functions()
		data.Routes, data.MaxRequests = snap.routes()
		data.Process = snap.process()
	}
	c.render(w, http.StatusOK, "metrics", page{Section: "metrics", Title: "Metrics", Data: data})
}

// functions lists every function with a Lambda series, by name.
func (s *snapshot) functions() ([]*functionMetrics, float64) {
	names := map[string]bool{}
	for _, fam := range []string{"sluice_lambda_invocations_total", "sluice_lambda_throttles_total", "sluice_lambda_instances"} {
		s.each(fam, func(m *dto.Metric) { names[label(m, "function")] = true })
	}
	var out []*functionMetrics
	var top float64
	for _, n := range slices.Sorted(maps.Keys(names)) {
		fm := s.function(n)
		top = max(top, fm.Invocations)
		out = append(out, fm)
	}
	return out, top
}

// routes lists every API, stage and route with requests, busiest first.
func (s *snapshot) routes() ([]*routeMetrics, float64) {
	type key struct{ api, stage, route string }
	rows := map[key]*routeMetrics{}
	statuses := map[key]map[string]float64{}
	s.each("sluice_apigateway_requests_total", func(m *dto.Metric) {
		k := key{label(m, "api_id"), label(m, "stage"), label(m, "route")}
		row := rows[k]
		if row == nil {
			row = &routeMetrics{APIID: k.api, Stage: k.stage, Route: k.route}
			rows[k], statuses[k] = row, map[string]float64{}
		}
		row.Requests += value(m)
		statuses[k][label(m, "status")] += value(m)
	})
	var out []*routeMetrics
	var top float64
	for k, row := range rows {
		by := map[string]string{"api_id": k.api, "stage": k.stage, "route": k.route}
		row.Errors4xx = s.sum("sluice_apigateway_4xx_errors_total", by)
		row.Errors5xx = s.sum("sluice_apigateway_5xx_errors_total", by)
		row.MeanLatencyMs, _ = s.meanMillis("sluice_apigateway_latency_seconds", by)
		row.MeanIntegrationMs, _ = s.meanMillis("sluice_apigateway_integration_latency_seconds", by)
		var parts []string
		for _, st := range slices.Sorted(maps.Keys(statuses[k])) {
			parts = append(parts, st+" ×"+strconv.FormatFloat(statuses[k][st], 'f', -1, 64))
		}
		row.Statuses = strings.Join(parts, ", ")
		top = max(top, row.Requests)
		out = append(out, row)
	}
	slices.SortFunc(out, func(a, b *routeMetrics) int {
		return cmp.Or(cmp.Compare(b.Requests, a.Requests), strings.Compare(a.APIID, b.APIID),
			strings.Compare(a.Stage, b.Stage), strings.Compare(a.Route, b.Route))
	})
	return out, top
}

func (s *snapshot) process() processMetrics {
	p := processMetrics{
		Goroutines:         s.sum("go_goroutines", nil),
		ResidentBytes:      s.sum("process_resident_memory_bytes", nil),
		HeapBytes:          s.sum("go_memstats_heap_alloc_bytes", nil),
		AsyncQueued:        s.sum("sluice_lambda_async_events_queued", nil),
		AsyncOldestSeconds: s.sum("sluice_lambda_async_oldest_event_age_seconds", nil),
	}
	p.MeanCompileMs, p.Compiles = s.meanMillis("sluice_apigateway_snapshot_compile_seconds", nil)
	return p
}
