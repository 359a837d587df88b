package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sluice-dev/sluice/internal/apigw/access"
	"github.com/sluice-dev/sluice/internal/apigw/compile"
	"github.com/sluice-dev/sluice/internal/policy"
)

// exchange is one request in flight and everything known about it so far.
type exchange struct {
	w    http.ResponseWriter
	r    *http.Request
	kind compile.Kind

	api    *compile.API
	stage  *compile.Stage
	route  *compile.Route
	params map[string]string // decoded path parameters, nil when none

	// stagePath is the request path after the stage prefix, escaped as sent
	// ("/email/send"); fullPath is the path as addressed, with the stage prefix of
	// a named stage ("/v1/email/send").
	stagePath string
	fullPath  string

	requestID  string // x-amzn-RequestId (REST) / apigw-requestid (HTTP)
	extendedID string // x-amz-apigw-id (REST)
	traceID    string // X-Amzn-Trace-Id
	now        time.Time

	body         []byte
	domainName   string
	domainPrefix string
	sourceIP     string
	// sourceVpce is the private endpoint the request came through (aws:SourceVpce),
	// "" off one.
	sourceVpce string
	// pathAsSent reports the request path as the client sent it as the REST
	// event's path: on a custom domain the base path stays in it, as AWS shows it.
	pathAsSent bool

	// access is what the access checks know about the request; it answers the
	// condition keys of the policies evaluated for it.
	access access.Request
	// authorizer is the Lambda authorizer's decision once it allowed the request.
	authorizer *access.Result
	// jwt is what a JWT authorizer found in the token once it allowed the request.
	jwt *events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription
	// apiKey is the API key that admitted the request (REST, apiKeyRequired).
	apiKey *access.APIKey
	// caller is the IAM identity that signed an AWS_IAM request.
	caller *access.Caller

	// status is the response status once written; integration is how long the
	// integration (function or HTTP backend) took, for metrics.
	status      int
	integration time.Duration
	// failure is why the gateway answered with an error of its own, for the
	// execution log.
	failure error
}

// names are the request's API id, stage name and route key, "" where not known yet.
func (x *exchange) names() (apiID, stage, route string) {
	if x.api != nil {
		apiID = x.api.ID
	}
	if x.stage != nil {
		stage = x.stage.Name
	}
	if x.route != nil {
		route = x.route.Key
	}
	return apiID, stage, route
}

// writeHeader writes the response status, remembering it for the observer.
func (x *exchange) writeHeader(status int) {
	x.status = status
	x.w.WriteHeader(status)
}

// Observer sees every execute-api request once it is answered (metrics). It is
// called on the request's goroutine and must not block.
type Observer interface {
	ObserveRequest(apiID, stage, route string, status int, latency, integration time.Duration)
	// ObserveCompile is called after each snapshot compile with its duration.
	ObserveCompile(d time.Duration)
}

// done reports an answered request to the observer.
func (g *Gateway) done(x *exchange) {
	if g.observer == nil && g.accessLogs == nil {
		return
	}
	latency := time.Since(x.now)
	g.accessLog(x, latency)
	g.executionLog(x)
	if g.observer == nil {
		return
	}
	apiID, stage, route := x.names()
	g.observer.ObserveRequest(apiID, stage, route, x.statusOr200(), latency, x.integration)
}

// ServeHTTP serves one execute-api request from the current snapshot. The API comes
// from the Host ("{apiId}.execute-api.…") or the "/restapis/{apiId}/{stage}/_user_request_/"
// path, the stage from the first path segment (HTTP APIs: a path that names no stage
// goes to the $default stage).
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	x := &exchange{w: w, r: r, kind: compile.REST, now: time.Now()}
	defer g.done(x)
	if !g.resolve(x) {
		return
	}
	g.serve(x)
}

// Target is a request's API and stage when something other than the execute-api
// address decides them, such as a custom domain's base path mapping.
type Target struct {
	APIID string
	Stage string
	// Path is the request path the API sees (the base path removed), escaped as sent;
	// it is also the path reported as requestContext.path / rawPath unless
	// RequestPath is set.
	Path string
	// RequestPath, when set, is the path as the client sent it, reported as the
	// event's path, requestContext.path and rawPath: through a custom domain AWS
	// keeps the base path in them while routing without it.
	RequestPath string
}

// ServeTarget serves a request for an API and stage chosen by the caller. The API's
// disableExecuteApiEndpoint does not apply (it only closes the default endpoint).
func (g *Gateway) ServeTarget(w http.ResponseWriter, r *http.Request, t Target) {
	x := &exchange{w: w, r: r, kind: compile.REST, now: time.Now()}
	defer g.done(x)
	g.begin(x, t.APIID)
	if x.api == nil {
		g.fail(x, failNoAPI, nil)
		return
	}
	x.stage = x.api.Stage(t.Stage)
	x.stagePath, x.fullPath = t.Path, t.Path
	if x.stagePath == "" {
		x.stagePath, x.fullPath = "/", "/"
	}
	if t.RequestPath != "" {
		x.fullPath, x.pathAsSent = t.RequestPath, true
	}
	if x.stage == nil {
		g.fail(x, failNoAPI, nil)
		return
	}
	g.serve(x)
}

// begin looks the API up in the current snapshot and stamps the request with its ids
// and the headers API Gateway puts on every answer.
func (g *Gateway) begin(x *exchange, apiID string) {
	x.api = g.snap.Load().API(apiID)
	if x.api != nil {
		x.kind = x.api.Kind
	}
	x.domainName = hostWithoutPort(x.r.Host)
	x.domainPrefix, _, _ = strings.Cut(x.domainName, ".")
	x.sourceIP = sourceIP(x.r)
	x.access.Reset(x.now)
	x.access.SetSourceIP(x.sourceIP)
	x.access.SetClient(x.r.UserAgent(), x.r.Referer(), x.r.TLS != nil)
	g.newIDs(x)
	g.setCommonHeaders(x)
}

// serve runs a request whose API and stage are known: body, CORS preflight, route
// match, access control, integration.
func (g *Gateway) serve(x *exchange) {
	r := x.r
	if x.stage.AccessLog != nil && g.accessLogs != nil {
		x.w = &countingWriter{ResponseWriter: x.w} // $context.responseLength
	}
	x.access.SetEndpoint(x.sourceVpce, "")
	if r.ContentLength > maxBodyBytes {
		g.fail(x, failTooLarge, nil)
		return
	}
	if r.Body != nil && r.Body != http.NoBody {
		body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
		if err != nil {
			g.fail(x, failBadRequestBody, fmt.Errorf("reading request body: %w", err))
			return
		}
		if len(body) > maxBodyBytes {
			g.fail(x, failTooLarge, nil)
			return
		}
		x.body = body
	}

	if x.kind == compile.HTTP && x.stage.Cors != nil && isPreflight(r) {
		g.preflight(x)
		return
	}
	m := x.stage.Router.Match(r.Method, x.stagePath)
	if m.Route == nil {
		g.fail(x, failNoRoute, nil)
		return
	}
	x.route, x.params = m.Route, m.PathParams
	if !g.admit(x) {
		return
	}
	g.integrate(x)
}

// resolve picks the API and stage of an execute-api request from its address and
// fails the request when either is unknown.
func (g *Gateway) resolve(x *exchange) bool {
	r := x.r
	escaped := r.URL.EscapedPath()
	apiID, ok := apiIDFromHost(r.Host)
	explicitStage := ""
	if !ok {
		var path string
		apiID, explicitStage, path, _ = userRequestPath(escaped)
		escaped = path
	}
	g.begin(x, apiID)
	// Unknown APIs, APIs whose default execute-api endpoint is disabled, and PRIVATE
	// APIs (reachable only through a private endpoint, a later capability) are not
	// there: REST APIs answer 403 {"message":"Forbidden"}, HTTP APIs 404
	// {"message":"Not Found"}.
	if x.api == nil || x.api.DisableExecuteAPIEndpoint || slices.Contains(x.api.EndpointTypes, "PRIVATE") {
		g.fail(x, failNoAPI, nil)
		return false
	}

	if explicitStage != "" {
		x.stage = x.api.Stage(explicitStage)
		x.stagePath = escaped
		switch {
		case explicitStage == compile.DefaultStageName:
			x.fullPath = escaped
		case escaped == "/":
			x.fullPath = "/" + explicitStage
		default:
			x.fullPath = "/" + explicitStage + escaped
		}
	} else {
		first, rest := firstSegment(escaped)
		if x.kind == compile.HTTP {
			// HTTP APIs: a named stage is addressed by its first path segment; any
			// other path is served by the $default stage, which has no prefix.
			if s := x.api.Stage(first); s != nil && first != compile.DefaultStageName {
				x.stage, x.stagePath = s, rest
			} else {
				x.stage, x.stagePath = x.api.DefaultStage(), escaped
			}
		} else {
			x.stage, x.stagePath = x.api.Stage(first), rest
		}
		x.fullPath = escaped
	}
	if x.stage == nil {
		g.fail(x, failNoAPI, nil)
		return false
	}
	return true
}

// firstSegment splits "/a/b/c" into "a" and "/b/c" ("/a" into "a" and "/").
func firstSegment(p string) (string, string) {
	p = strings.TrimPrefix(p, "/")
	first, rest, ok := strings.Cut(p, "/")
	if !ok {
		return first, "/"
	}
	return first, "/" + rest
}

func hostWithoutPort(h string) string {
	if host, _, err := net.SplitHostPort(h); err == nil {
		return host
	}
	return h
}

func sourceIP(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// setCommonHeaders sets the headers API Gateway puts on every data-plane answer:
// x-amzn-RequestId, x-amz-apigw-id and X-Amzn-Trace-Id for REST APIs, and
// apigw-requestid for HTTP APIs.
func (g *Gateway) setCommonHeaders(x *exchange) {
	h := x.w.Header()
	if x.kind == compile.HTTP {
		h["Apigw-Requestid"] = []string{x.requestID}
		return
	}
	// One backing array for the three values; each header gets a full slice of its
	// own cell, so an append to one cannot write over the next.
	v := [...]string{x.requestID, x.extendedID, x.traceID}
	vs := v[:]
	h["X-Amzn-Requestid"] = vs[0:1:1]
	h["X-Amz-Apigw-Id"] = vs[1:2:2]
	h["X-Amzn-Trace-Id"] = vs[2:3:3]
}

// admit is where access control slots in, between route match and integration:
// Lambda authorizers, JWT authorizers, IAM, API keys and resource policies
// (internal/apigw/access, a later capability). Until it exists, a route that
// requires any of them is refused rather than served unprotected.
func (g *Gateway) admit(x *exchange) bool {
	rt := x.route
	if !g.throttle(x) {
		return false
	}
	authType := strings.ToUpper(rt.AuthorizationType)
	if x.kind == compile.REST && !g.resourcePolicyAllows(x, authType) {
		return false
	}
	switch authType {
	case "", "NONE":
	case "CUSTOM":
		if !g.authorizeLambda(x) {
			return false
		}
	case "AWS_IAM":
		if !g.authorizeIAM(x) {
			return false
		}
	case "JWT":
		if !g.authorizeJWT(x) {
			return false
		}
	default:
		return g.refuseUnsupported(x)
	}
	if rt.APIKeyRequired && !g.checkAPIKey(x) {
		return false
	}
	return true
}

// refuseUnsupported refuses a route whose access control this build cannot check,
// rather than serve it unprotected.
func (g *Gateway) refuseUnsupported(x *exchange) bool {
	rt := x.route
	g.log.Warn("apigw: route requires authorization, which this build cannot check yet; refusing",
		"api", x.api.ID, "stage", x.stage.Name, "route", rt.Key, "authorizationType", rt.AuthorizationType,
		"apiKeyRequired", rt.APIKeyRequired)
	g.fail(x, failInternal, errors.New("authorization not supported yet"))
	return false
}

// integrate calls the route's integration and writes its answer.
func (g *Gateway) integrate(x *exchange) {
	in := x.route.Integration
	if in == nil || in.Err != "" {
		msg := "no integration"
		if in != nil {
			msg = in.Err
		}
		g.fail(x, failInternal, errors.New("execution failed due to configuration error: "+msg))
		return
	}
	ctx, cancel := context.WithTimeout(x.r.Context(), in.Timeout)
	defer cancel()
	switch in.Type {
	case compile.TypeAWSProxy:
		g.lambdaProxy(ctx, x, in)
	case compile.TypeAWS:
		g.lambdaCustom(ctx, x, in)
	case compile.TypeHTTPProxy:
		g.httpProxy(ctx, x, in)
	case compile.TypeHTTP:
		g.httpCustom(ctx, x, in)
	case compile.TypeMock:
		g.mock(x, in)
	default:
		g.fail(x, failInternal, errors.New("unsupported integration type "+in.Type))
	}
}

// timedOut reports whether ctx ended because the integration timeout passed (rather
// than the client going away).
func timedOut(ctx context.Context, x *exchange) bool {
	return errors.Is(ctx.Err(), context.DeadlineExceeded) && x.r.Context().Err() == nil
}

// resourcePolicyAllows enforces a REST API's resource policy. With no other
// authorization on the method the caller is anonymous and the policy alone decides:
// an explicit Deny, or no Allow, is 403 ACCESS_DENIED with AWS's body
// {"Message":"User: anonymous is not authorized to perform: execute-api:Invoke on
// resource: arn:..."} (see "How API Gateway resource policies affect authorization
// workflow", the "resource policy only" table).
//
// With a Lambda authorizer the policy only refuses on an explicit Deny; the
// authorizer decides the rest ("Lambda authorizer and resource policy" table).
func (g *Gateway) resourcePolicyAllows(x *exchange, authType string) bool {
	st := x.stage
	if st.ResourcePolicy == nil && st.ResourcePolicyErr == nil {
		return true
	}
	if authType == "AWS_IAM" && st.ResourcePolicyErr == nil {
		return true // evaluated with the signed caller, in authorizeIAM
	}
	if st.ResourcePolicyErr != nil {
		g.fail(x, failInternal, fmt.Errorf("resource policy: %w", st.ResourcePolicyErr))
		return false
	}
	arn := x.route.MethodARN(x.r.Method, x.stagePath)
	d := access.ResourcePolicyDecision(st.ResourcePolicy, policy.Principal{}, arn, &x.access)
	if d == policy.Allow || (d == policy.NotApplicable && authType == "CUSTOM") {
		return true
	}
	g.denyAccess(x, access.NotAuthorizedMessage("", arn, d == policy.Deny))
	return false
}

// denyAccess answers 403 through the ACCESS_DENIED gateway response. Uncustomized,
// AWS's body for a policy refusal is {"Message":"..."}, capital M, not the default
// template's {"message":...}.
func (g *Gateway) denyAccess(x *exchange, msg string) {
	g.writeGatewayResponse(x, restError{responseType: "ACCESS_DENIED", status: http.StatusForbidden, message: msg,
		errorType: "AccessDeniedException", literal: `{"Message":` + jsonQuote(msg) + `}`})
}
