package console

import (
	"cmp"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-dev/sluice/internal/cwlogs"
	"github.com/sluice-dev/sluice/internal/fnlogs"
	"github.com/sluice-dev/sluice/internal/lambda"
)

// invocationWindow is how far back the function page looks for REPORT lines,
// and recentInvocations how many of them it shows (newest first).
const (
	invocationWindow  = time.Hour
	recentInvocations = 20
)

type functionRow struct {
	lambda.Configuration
	Metrics *functionMetrics // nil when metrics are off
}

type functionsPage struct {
	Functions  []functionRow
	MetricsOff bool
}

func (c *Console) serveFunctions(w http.ResponseWriter, r *http.Request) {
	snap, err := c.gather()
	if err != nil {
		c.internalError(w, "metrics", err)
		return
	}
	data := functionsPage{MetricsOff: snap == nil}
	for _, f := range c.opts.Functions.Functions() {
		data.Functions = append(data.Functions, functionRow{Configuration: f, Metrics: snap.function(f.FunctionName)})
	}
	c.render(w, http.StatusOK, "functions", page{Section: "functions", Title: "Functions", Data: data})
}

type functionPage struct {
	lambda.Configuration
	LogGroup    string
	Metrics     *functionMetrics
	Invocations []invocation
	// Window says how far back Invocations looked ("hour").
	Window string
}

func (c *Console) serveFunction(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	f, ok := c.opts.Functions.Function(name)
	if !ok {
		c.renderError(w, http.StatusNotFound, "Function not found: "+name+".")
		return
	}
	snap, err := c.gather()
	if err != nil {
		c.internalError(w, "metrics", err)
		return
	}
	invs, err := c.recentInvocations(r, f)
	if err != nil {
		c.internalError(w, "function logs", err)
		return
	}
	data := functionPage{Configuration: f, LogGroup: logGroup(f), Metrics: snap.function(name), Invocations: invs, Window: "hour"}
	c.render(w, http.StatusOK, "function", page{Section: "functions", Title: name, Data: data})
}

// logGroup is the log group a function writes to: its LoggingConfig's, else
// /aws/lambda/{name}, as Lambda does.
func logGroup(f lambda.Configuration) string {
	return cmp.Or(f.LoggingConfig.LogGroup, cwlogs.LambdaGroupPrefix+f.FunctionName)
}

// logKey is the log store's key of a function's log group.
func logKey(f lambda.Configuration) string { return cwlogs.StoreKey(logGroup(f)) }

// invocation is what one REPORT line says about an invocation.
type invocation struct {
	Time         time.Time
	RequestID    string
	DurationMs   float64
	BilledMs     float64
	MaxMemoryMB  float64
	InitMs       float64 // > 0 on a cold start
	Status       string  // "" when REPORT gives none (the runtime finished the invocation), else error, timeout...
	ErrorType    string
	ColdStart    bool
	HasMaxMemory bool
}

// Result is the invocation's result as REPORT states it: a function error the
// handler returned still completes the invocation, and REPORT carries no status
// for it (as on AWS).
func (i invocation) Result() string {
	if i.Status == "" || i.Status == "success" {
		return "completed"
	}
	return i.Status
}

// recentInvocations reads the REPORT lines of f's log group from the last
// invocationWindow. Log streams do not name their function, so a custom log
// group shared by several functions shows all of their REPORTs (the page says
// which group it read).
func (c *Console) recentInvocations(r *http.Request, f lambda.Configuration) ([]invocation, error) {
	var out []invocation
	err := c.opts.Logs.Read(r.Context(), logKey(f), time.Now().Add(-invocationWindow), false, func(e fnlogs.Entry) error {
		if inv, ok := parseReport(e.Message); ok {
			inv.Time = e.Time
			out = append(out, inv)
			if len(out) > 4*recentInvocations {
				out = append(out[:0], out[len(out)-recentInvocations:]...)
			}
		}
		return nil
	})
	if errors.Is(err, fnlogs.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if len(out) > recentInvocations {
		out = out[len(out)-recentInvocations:]
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}

// parseReport reads a REPORT line, in Lambda's text form
// ("REPORT RequestId: id\tDuration: 1.23 ms\tBilled Duration: 2 ms\t...") or its
// JSON form (a platform.report record, with LoggingConfig LogFormat JSON).
func parseReport(line string) (invocation, bool) {
	if strings.HasPrefix(line, "{") {
		return parseJSONReport(line)
	}
	rest, ok := strings.CutPrefix(line, "REPORT RequestId: ")
	if !ok {
		return invocation{}, false
	}
	fields := strings.Split(rest, "\t")
	inv := invocation{RequestID: strings.TrimSpace(fields[0])}
	for _, f := range fields[1:] {
		k, v, ok := strings.Cut(f, ": ")
		if !ok {
			continue
		}
		num := func() float64 {
			n, _ := strconv.ParseFloat(strings.Fields(v + " ")[0], 64)
			return n
		}
		switch k {
		case "Duration":
			inv.DurationMs = num()
		case "Billed Duration":
			inv.BilledMs = num()
		case "Max Memory Used":
			inv.MaxMemoryMB, inv.HasMaxMemory = num(), true
		case "Init Duration":
			inv.InitMs, inv.ColdStart = num(), true
		case "Status":
			inv.Status = v
		case "Error Type":
			inv.ErrorType = v
		}
	}
	return inv, inv.RequestID != ""
}

func parseJSONReport(line string) (invocation, bool) {
	var ev struct {
		Type   string `json:"type"`
		Record struct {
			RequestID string `json:"requestId"`
			Status    string `json:"status"`
			ErrorType string `json:"errorType"`
			Metrics   struct {
				DurationMs       float64  `json:"durationMs"`
				BilledDurationMs float64  `json:"billedDurationMs"`
				MaxMemoryUsedMB  *float64 `json:"maxMemoryUsedMB"`
				InitDurationMs   *float64 `json:"initDurationMs"`
			} `json:"metrics"`
		} `json:"record"`
	}
	if json.Unmarshal([]byte(line), &ev) != nil || ev.Type != "platform.report" || ev.Record.RequestID == "" {
		return invocation{}, false
	}
	m := ev.Record.Metrics
	inv := invocation{RequestID: ev.Record.RequestID, DurationMs: m.DurationMs, BilledMs: m.BilledDurationMs,
		Status: ev.Record.Status, ErrorType: ev.Record.ErrorType}
	if m.MaxMemoryUsedMB != nil {
		inv.MaxMemoryMB, inv.HasMaxMemory = *m.MaxMemoryUsedMB, true
	}
	if m.InitDurationMs != nil {
		inv.InitMs, inv.ColdStart = *m.InitDurationMs, true
	}
	return inv, true
}
