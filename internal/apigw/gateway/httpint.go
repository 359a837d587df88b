package gateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-dev/sluice/internal/apigw/compile"
)

// hopHeaders are connection-level headers a proxy never forwards (RFC 9110 §7.6.1).
var hopHeaders = []string{"Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
	"Proxy-Connection", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

var uriPlaceholder = regexp.MustCompile(`\{([^{}]+)\}`)

// maxResponseBytes is API Gateway's response payload limit, 10 MB, like the request
// limit (see "Amazon API Gateway quotas").
const maxResponseBytes = 10 << 20

// upstreamRequest is what an HTTP integration sends, assembled step by step.
type upstreamRequest struct {
	method string
	url    *url.URL
	header http.Header
	body   []byte
}

// httpProxy serves an HTTP_PROXY integration (REST and HTTP APIs): the client's
// method, headers, query string and body go to the integration URI, {name}
// placeholders filled from path parameters (through the integration's path mappings
// on REST APIs); the upstream answer comes back as it is.
func (g *Gateway) httpProxy(ctx context.Context, x *exchange, in *compile.Integration) {
	up, err := g.buildUpstream(x, in, true)
	if err != nil {
		g.fail(x, failInternal, err)
		return
	}
	up.body = x.body
	resp, ok := g.roundTrip(ctx, x, up)
	if !ok {
		return
	}
	defer resp.Body.Close()
	if resp.ContentLength > maxResponseBytes {
		g.fail(x, failBadResponse, fmt.Errorf("upstream body of %d bytes is over the 10 MB limit", resp.ContentLength))
		return
	}
	h := x.w.Header()
	cors := x.kind == compile.HTTP && x.stage.Cors != nil
	for k, vs := range resp.Header {
		if cors && strings.HasPrefix(k, "Access-Control-") {
			continue
		}
		h[k] = vs
	}
	for _, k := range hopHeaders {
		delete(h, k)
	}
	if _, ok := h["Content-Type"]; !ok {
		h["Content-Type"] = nil
	}
	status := resp.StatusCode
	if x.kind == compile.HTTP {
		status = applyResponseMapping(x, in, resp.StatusCode)
		if cors {
			g.corsHeaders(x)
		}
	}
	x.writeHeader(status)
	if x.r.Method != http.MethodHead {
		// The body streams through; one of unknown length is cut at the limit
		// rather than held or passed on without bound.
		n, err := io.Copy(x.w, io.LimitReader(resp.Body, maxResponseBytes))
		if err != nil {
			g.log.Debug("apigw: copying upstream body", "err", err)
		} else if n == maxResponseBytes {
			g.log.Warn("apigw: upstream body reached the 10 MB response limit; the rest is dropped", "api", x.api.ID,
				"route", x.route.Key, "requestId", x.requestID)
		}
	}
}

// httpCustom serves a REST HTTP (non-proxy) integration: only mapped parameters and
// the (passed-through) body are sent; the answer goes through the integration
// response selected by the upstream status code.
func (g *Gateway) httpCustom(ctx context.Context, x *exchange, in *compile.Integration) {
	payload, ok := g.integrationPayload(x, in)
	if !ok {
		return
	}
	up, err := g.buildUpstream(x, in, false)
	if err != nil {
		g.fail(x, failInternal, err)
		return
	}
	up.body = payload
	resp, ok := g.roundTrip(ctx, x, up)
	if !ok {
		return
	}
	defer resp.Body.Close()
	if resp.ContentLength > maxResponseBytes {
		g.fail(x, failBadResponse, fmt.Errorf("upstream body of %d bytes is over the 10 MB limit", resp.ContentLength))
		return
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		if timedOut(ctx, x) {
			g.fail(x, failTimeout, nil)
			return
		}
		g.fail(x, failUpstream, fmt.Errorf("reading upstream body: %w", err))
		return
	}
	if len(body) > maxResponseBytes {
		g.fail(x, failBadResponse, errors.New("upstream body is over the 10 MB limit"))
		return
	}
	ir := in.SelectResponse(strconv.Itoa(resp.StatusCode), true)
	g.writeIntegrationResponse(x, ir, body, resp.Header)
}

// roundTrip sends the upstream request, mapping a timeout to the integration-timeout
// failure and any other transport failure to an integration failure.
func (g *Gateway) roundTrip(ctx context.Context, x *exchange, up *upstreamRequest) (*http.Response, bool) {
	var body io.Reader = http.NoBody
	if len(up.body) > 0 {
		body = bytes.NewReader(up.body)
	}
	req, err := http.NewRequestWithContext(ctx, up.method, up.url.String(), body)
	if err != nil {
		g.fail(x, failInternal, fmt.Errorf("building upstream request: %w", err))
		return nil, false
	}
	req.Header = up.header
	if h := up.header.Get("Host"); h != "" {
		req.Host = h
		req.Header.Del("Host")
	}
	start := time.Now()
	resp, err := g.client.Do(req)
	x.integration = time.Since(start)
	if err != nil {
		if timedOut(ctx, x) {
			g.fail(x, failTimeout, nil)
			return nil, false
		}
		g.fail(x, failUpstream, fmt.Errorf("calling %s: %w", up.url.Redacted(), err))
		return nil, false
	}
	return resp, true
}

// buildUpstream assembles the upstream request from the integration URI and the
// request. proxy forwards the client's headers and query string as well.
func (g *Gateway) buildUpstream(x *exchange, in *compile.Integration, proxy bool) (*upstreamRequest, error) {
	method := strings.ToUpper(in.HTTPMethod)
	if method == "" || method == "ANY" {
		method = x.r.Method
	}
	header := http.Header{}
	if proxy {
		for k, vs := range eventHeaders(x, false) {
			if k == "Host" {
				continue
			}
			header[k] = append([]string(nil), vs...)
		}
		for _, k := range hopHeaders {
			header.Del(k)
		}
		header.Del("Content-Length")
	}
	raw := in.URI
	switch {
	case !strings.Contains(raw, "{"):
		// No path placeholders: nothing to fill, no regexp pass.
	case x.kind == compile.REST:
		raw = uriPlaceholder.ReplaceAllStringFunc(in.URI, func(m string) string {
			name := m[1 : len(m)-1]
			name = strings.TrimSuffix(name, "+")
			if src, ok := in.RequestParameters["integration.request.path."+name]; ok {
				if v, ok := restMappingValue(x, src); ok {
					return escapePathValue(v)
				}
				return ""
			}
			return escapePathValue(x.params[name])
		})
	default:
		raw = uriPlaceholder.ReplaceAllStringFunc(in.URI, func(m string) string {
			name := strings.TrimSuffix(m[1:len(m)-1], "+")
			return escapePathValue(x.params[name])
		})
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("invalid integration endpoint %q", raw)
	}
	if in.PassPath {
		u.Path, u.RawPath = decodedPath(x.fullPath), x.fullPath
	}
	q := u.Query()
	if proxy {
		for k, vs := range queryParams(x.r.URL.RawQuery) {
			q[k] = append(q[k], vs...)
		}
	}
	up := &upstreamRequest{method: method, url: u, header: header}
	if x.kind == compile.REST {
		for k, src := range in.RequestParameters {
			v, ok := restMappingValue(x, src)
			if !ok {
				continue
			}
			switch {
			case strings.HasPrefix(k, "integration.request.header."):
				header.Set(strings.TrimPrefix(k, "integration.request.header."), v)
			case strings.HasPrefix(k, "integration.request.querystring."):
				q.Set(strings.TrimPrefix(k, "integration.request.querystring."), v)
			}
		}
	} else if err := applyParameterMapping(x, in.RequestParameters, up, q); err != nil {
		return nil, err
	}
	u.RawQuery = q.Encode()
	if len(q) == 0 {
		u.RawQuery = ""
	}
	return up, nil
}

// escapePathValue escapes a path parameter for a URL path, keeping the slashes of a
// greedy {proxy+} value.
func escapePathValue(v string) string {
	if v == "" {
		return ""
	}
	segs := strings.Split(v, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}

// restMappingValue resolves the source side of a REST parameter mapping (integration
// request parameters, gateway response headers): a static 'value',
// method.request.{path,querystring,header}.name, stageVariables.name or
// context.requestId.
func restMappingValue(x *exchange, src string) (string, bool) {
	if len(src) >= 2 && src[0] == '\'' && src[len(src)-1] == '\'' {
		return src[1 : len(src)-1], true
	}
	return requestValue(x, src)
}

var mappingRef = regexp.MustCompile(`\$\{?(request\.(?:header|querystring|path)(?:\.[A-Za-z0-9_.~-]+)?|context\.[A-Za-z0-9_.]+|stageVariables\.[A-Za-z0-9_]+)\}?`)

// applyParameterMapping applies HTTP API request parameter mapping (see "Transforming
// API requests and responses for HTTP APIs"): append:/overwrite:/remove: of
// header.name and querystring.name, and overwrite:path. Values may be static text or
// hold $request.header.x, $request.querystring.x, $request.path.x, $request.path,
// $context.x and $stageVariables.x references, bare or as ${...}.
func applyParameterMapping(x *exchange, params map[string]string, up *upstreamRequest, q url.Values) error {
	for k, v := range params {
		op, target, ok := strings.Cut(k, ":")
		if !ok {
			continue
		}
		val := v
		if strings.Contains(v, "$") {
			val = mappingRef.ReplaceAllStringFunc(v, func(m string) string {
				s, _ := httpMappingValue(x, mappingRefName(m))
				return s
			})
		}
		switch {
		case target == "path" && op == "overwrite":
			p := val
			if !strings.HasPrefix(p, "/") {
				p = "/" + p
			}
			up.url.Path = p
			up.url.RawPath = ""
		case strings.HasPrefix(target, "header."):
			name := strings.TrimPrefix(target, "header.")
			applyMapping(up.header, op, name, val)
		case strings.HasPrefix(target, "querystring."):
			name := strings.TrimPrefix(target, "querystring.")
			applyMapping(q, op, name, val)
		default:
			return errors.New("unsupported parameter mapping " + k)
		}
	}
	return nil
}

// mappingRefName strips a mapping reference's "$" or "${...}" ("${request.path.id}"
// → "request.path.id").
func mappingRefName(m string) string {
	return strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(m, "$"), "{"), "}")
}

// httpMappingValue resolves one HTTP API mapping reference (without the leading $).
func httpMappingValue(x *exchange, ref string) (string, bool) {
	switch {
	case ref == "request.path":
		return decodedPath(x.stagePath), true
	case strings.HasPrefix(ref, "request.path."):
		v, ok := x.params[strings.TrimPrefix(ref, "request.path.")]
		return v, ok
	case strings.HasPrefix(ref, "request.header."):
		vs := x.r.Header.Values(strings.TrimPrefix(ref, "request.header."))
		return strings.Join(vs, ","), len(vs) > 0
	case strings.HasPrefix(ref, "request.querystring."):
		vs, ok := queryParams(x.r.URL.RawQuery)[strings.TrimPrefix(ref, "request.querystring.")]
		return strings.Join(vs, ","), ok
	case strings.HasPrefix(ref, "stageVariables."):
		v, ok := x.stage.Variables[strings.TrimPrefix(ref, "stageVariables.")]
		return v, ok
	case strings.HasPrefix(ref, "context."):
		return contextValue(x, strings.TrimPrefix(ref, "context."))
	}
	return "", false
}

// contextValue resolves the $context variables available to parameter mapping.
func contextValue(x *exchange, name string) (string, bool) {
	switch name {
	case "requestId":
		return x.requestID, true
	case "extendedRequestId":
		return x.extendedID, true
	case "apiId":
		return x.api.ID, true
	case "stage":
		return x.stage.Name, true
	case "domainName":
		return x.domainName, true
	case "domainPrefix":
		return x.domainPrefix, true
	case "httpMethod":
		return x.r.Method, true
	case "path":
		return decodedPath(x.fullPath), true
	case "protocol":
		return x.r.Proto, true
	case "routeKey":
		return x.route.Key, true
	case "identity.sourceIp":
		return x.sourceIP, true
	case "identity.userAgent":
		return x.r.UserAgent(), true
	case "requestTime":
		return x.now.UTC().Format(requestTimeLayout), true
	case "requestTimeEpoch":
		return strconv.FormatInt(x.now.UnixMilli(), 10), true
	}
	if key, ok := strings.CutPrefix(name, "authorizer."); ok && x.authorizer != nil {
		if key == "principalId" {
			return x.authorizer.PrincipalID, true
		}
		if v, ok := x.authorizer.Context[key]; ok {
			return contextString(v), true
		}
	}
	return "", false
}

// responseMappingRef is a reference in a response parameter mapping value: the
// integration response's headers, or context and stage variables, bare or as ${...}.
var responseMappingRef = regexp.MustCompile(`\$\{?(response\.header\.[A-Za-z0-9_.~-]+|context\.[A-Za-z0-9_.]+|stageVariables\.[A-Za-z0-9_]+)\}?`)

// applyResponseMapping applies an HTTP API integration's response parameter mapping
// for the upstream status (see "Transforming API responses"): append:/overwrite:/
// remove:header.name and overwrite:statuscode; values are static text that may hold
// $response.header.name, $context.name and $stageVariables.name references, bare or as
// ${...}. It returns the status to answer with.
func applyResponseMapping(x *exchange, in *compile.Integration, status int) int {
	m := in.ResponseParameters[strconv.Itoa(status)]
	if len(m) == 0 {
		return status
	}
	out := status
	h := x.w.Header()
	for k, v := range m {
		op, target, ok := strings.Cut(k, ":")
		if !ok {
			continue
		}
		val := v
		if strings.Contains(v, "$") {
			val = responseMappingRef.ReplaceAllStringFunc(v, func(m string) string {
				ref := mappingRefName(m)
				if name, ok := strings.CutPrefix(ref, "response.header."); ok {
					return h.Get(name)
				}
				s, _ := httpMappingValue(x, ref)
				return s
			})
		}
		switch {
		case op == "overwrite" && target == "statuscode":
			if c, err := strconv.Atoi(val); err == nil && c >= 100 && c <= 599 {
				out = c
			}
		case strings.HasPrefix(target, "header."):
			name := strings.TrimPrefix(target, "header.")
			applyMapping(h, op, name, val)
		}
	}
	return out
}

// mappedValues is what a parameter mapping edits: http.Header or url.Values.
type mappedValues interface {
	Add(key, value string)
	Set(key, value string)
	Del(key string)
}

// applyMapping applies one HTTP API parameter-mapping operation (append:,
// overwrite:, remove:) to a header or query-string name.
func applyMapping(m mappedValues, op, name, val string) {
	switch op {
	case "append":
		m.Add(name, val)
	case "overwrite":
		m.Set(name, val)
	case "remove":
		m.Del(name)
	}
}
