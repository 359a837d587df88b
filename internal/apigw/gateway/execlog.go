package gateway

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/sluice-dev/sluice/internal/apigw/compile"
)

// executionLog writes a REST request's execution log when its method setting (or
// the stage's */*) has loggingLevel INFO or ERROR, to the log group
// API-Gateway-Execution-Logs_{apiId}/{stage} as API Gateway names it, each line
// prefixed "({requestId}) " as API Gateway writes them
// (https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-logging.html).
// INFO logs every request's steps (with method request path, query string, headers
// and body when dataTraceEnabled); ERROR only requests that failed (5xx or the
// gateway's own error).
func (g *Gateway) executionLog(x *exchange) {
	if g.accessLogs == nil || x.kind != compile.REST || x.stage == nil || x.stage.ExecutionLogs == nil {
		return
	}
	key := "*/*"
	if x.route != nil {
		if _, ok := x.stage.ExecutionLogs[x.route.Path+"/"+x.r.Method]; ok {
			key = x.route.Path + "/" + x.r.Method
		}
	}
	ms, ok := x.stage.ExecutionLogs[key]
	if !ok {
		return
	}
	status := x.statusOr200()
	failed := status >= 500 || (x.failure != nil && status >= 400)
	if ms.LoggingLevel == "ERROR" && !failed {
		return
	}
	group := "API-Gateway-Execution-Logs_" + x.api.ID + "/" + x.stage.Name
	stream := x.api.ID + "_" + x.stage.Name
	emit := func(format string, args ...any) {
		g.accessLogs.AppendAccessLog(group, stream, x.now, "("+x.requestID+") "+fmt.Sprintf(format, args...))
	}
	if ms.LoggingLevel == "INFO" {
		emit("Extended Request Id: %s", x.extendedID)
		emit("Starting execution for request: %s", x.requestID)
		resource := ""
		if x.route != nil {
			resource = x.route.Path
		}
		emit("HTTP Method: %s, Resource Path: %s", x.r.Method, resource)
		if ms.DataTraceEnabled {
			emit("Method request path: %s", javaMap(x.params))
			emit("Method request query string: %s", javaMapValues(x.r.URL.Query()))
			emit("Method request headers: %s", javaMapValues(url.Values(x.r.Header)))
			emit("Method request body before transformations: %s", truncate(x.body, 1024))
		}
		if x.integration > 0 {
			emit("Received response. Status: %d, Integration latency: %d ms", status, x.integration.Milliseconds())
		}
	}
	if x.failure != nil {
		emit("Execution failed: %v", x.failure)
	}
	if ms.LoggingLevel == "INFO" && !failed {
		emit("Successfully completed execution")
	}
	emit("Method completed with status: %d", status)
}

// javaMap renders a map the way API Gateway's logs do ({a=1, b=2}), keys sorted.
func javaMap(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + m[k]
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

func javaMapValues(v map[string][]string) string {
	m := make(map[string]string, len(v))
	for k, vs := range v {
		m[k] = strings.Join(vs, ",")
	}
	return javaMap(m)
}
