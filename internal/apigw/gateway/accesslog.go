package gateway

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-dev/sluice/internal/apigw/compile"
)

// AccessLogSink receives a stage's access log lines (accessLogSettings), by log
// group name. The server writes them to its CloudWatch Logs store.
type AccessLogSink interface {
	AppendAccessLog(group, stream string, t time.Time, line string)
}

// countingWriter counts the response body bytes for $context.responseLength; it
// wraps the writer only on stages that log access.
type countingWriter struct {
	http.ResponseWriter
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.ResponseWriter.Write(p)
	c.n += int64(n)
	return n, err
}

func (c *countingWriter) Flush() {
	if f, ok := c.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (c *countingWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }

// accessLog writes x's access log line when its stage logs access. Variables are
// API Gateway's $context variables
// (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-variables-for-access-logging.html);
// one with no value, or that Sluice does not know, renders as "-", as AWS renders
// an empty one. The stream is named {apiId}_{stage}.
func (g *Gateway) accessLog(x *exchange, latency time.Duration) {
	if g.accessLogs == nil || x.stage == nil || x.stage.AccessLog == nil {
		return
	}
	al := x.stage.AccessLog
	var b strings.Builder
	b.Grow(256)
	for _, p := range al.Parts {
		if p.Var == "" {
			b.WriteString(p.Text)
			continue
		}
		v := x.contextVar(p.Var, latency, g.account)
		if v == "" {
			v = "-"
		}
		b.WriteString(v)
	}
	g.accessLogs.AppendAccessLog(al.Group, al.Stream, x.now, b.String())
}

// contextVar is the value of $context.{name} for the access log.
func (x *exchange) contextVar(name string, latency time.Duration, account string) string {
	switch name {
	case "requestId", "awsEndpointRequestId":
		return x.requestID
	case "extendedRequestId":
		if x.extendedID != "" {
			return x.extendedID
		}
		return x.requestID // HTTP APIs: equivalent to requestId
	case "apiId":
		return x.api.ID
	case "stage":
		return x.stage.Name
	case "accountId":
		return account
	case "requestTime":
		return x.now.UTC().Format("02/Jan/2006:15:04:05 -0700")
	case "requestTimeEpoch":
		return strconv.FormatInt(x.now.UnixMilli(), 10)
	case "httpMethod":
		return x.r.Method
	case "protocol":
		return x.r.Proto
	case "path":
		return x.fullPath
	case "resourcePath":
		if x.route != nil && x.kind == compile.REST {
			return x.route.Path
		}
	case "resourceId":
		if x.route != nil {
			return x.route.ResourceID
		}
	case "routeKey":
		if x.route != nil {
			return x.route.Key
		}
	case "status":
		return strconv.Itoa(x.statusOr200())
	case "responseLength":
		if cw, ok := x.w.(*countingWriter); ok {
			return strconv.FormatInt(cw.n, 10)
		}
	case "responseLatency":
		return strconv.FormatInt(latency.Milliseconds(), 10)
	case "integrationLatency", "integration.latency":
		if x.integration > 0 {
			return strconv.FormatInt(x.integration.Milliseconds(), 10)
		}
	case "domainName":
		return x.domainName
	case "domainPrefix":
		return x.domainPrefix
	case "xrayTraceId":
		return ""
	case "identity.sourceIp":
		return x.sourceIP
	case "identity.userAgent":
		return x.r.UserAgent()
	case "identity.vpceId":
		return x.sourceVpce
	case "identity.accountId", "identity.caller", "identity.user", "identity.userArn", "identity.accessKey":
		if x.caller == nil {
			return ""
		}
		switch name {
		case "identity.accountId":
			return x.caller.Account
		case "identity.caller", "identity.user":
			return x.caller.UserID
		case "identity.userArn":
			return x.caller.ARN
		default:
			return x.caller.AccessKeyID
		}
	case "identity.apiKey", "identity.apiKeyId":
		if x.apiKey == nil {
			return ""
		}
		if name == "identity.apiKey" {
			return x.apiKey.Value
		}
		return x.apiKey.ID
	case "authorizer.principalId":
		if x.authorizer != nil {
			return x.authorizer.PrincipalID
		}
	}
	if key, ok := strings.CutPrefix(name, "authorizer.claims."); ok && x.jwt != nil {
		if v, ok := x.jwt.Claims[key]; ok {
			return v
		}
		return ""
	}
	if key, ok := strings.CutPrefix(name, "authorizer."); ok && x.authorizer != nil {
		if v, ok := x.authorizer.Context[key]; ok {
			return fmt.Sprint(v)
		}
	}
	return ""
}

func (x *exchange) statusOr200() int {
	if x.status == 0 {
		return http.StatusOK
	}
	return x.status
}
