package gateway

import (
	"encoding/base64"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sluice-dev/sluice/internal/apigw/compile"
	"github.com/sluice-dev/sluice/internal/listen"
)

// requestTimeLayout is the form of requestContext.requestTime / time:
// "23/Nov/2026:10:00:00 +0000".
const requestTimeLayout = "02/Jan/2006:15:04:05 -0700"

// eventHeaders returns the request headers as API Gateway forwards them to an
// integration: the client's headers (Go has canonicalized their names) plus Host and
// the X-Forwarded-For/-Port/-Proto and X-Amzn-Trace-Id headers API Gateway adds.
//
// asSent keys the client's headers by their names as the client spelled them on
// the wire (REST APIs' payload 1.0 events do, "x-api-key" stays "x-api-key"); the
// headers API Gateway adds keep its own spelling.
func eventHeaders(x *exchange, asSent bool) map[string][]string {
	r := x.r
	h := make(map[string][]string, len(r.Header)+5)
	var sent listen.SentNames
	if asSent {
		sent = listen.SentNamesOf(r)
	}
	for k, vs := range r.Header {
		if asSent {
			switch k {
			case "Host", "X-Forwarded-For", "X-Forwarded-Port", "X-Forwarded-Proto", "X-Amzn-Trace-Id":
			default:
				k = sent.Spelling(k)
			}
		}
		h[k] = vs
	}
	h["Host"] = []string{r.Host}
	if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
		h["X-Forwarded-For"] = []string{xff + ", " + x.sourceIP}
	} else {
		h["X-Forwarded-For"] = []string{x.sourceIP}
	}
	proto, port := "http", "80"
	if r.TLS != nil {
		proto, port = "https", "443"
	}
	if _, p, ok := strings.Cut(hostPort(r.Host), ":"); ok && p != "" {
		port = p
	}
	h["X-Forwarded-Port"] = []string{port}
	h["X-Forwarded-Proto"] = []string{proto}
	if _, ok := h["X-Amzn-Trace-Id"]; !ok {
		h["X-Amzn-Trace-Id"] = []string{x.traceID}
	}
	return h
}

// hostPort returns the ":port" part of host, or "" when it has none.
func hostPort(host string) string {
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.Contains(host[i:], "]") {
		return host[i:]
	}
	return ""
}

// queryParams parses the raw query string; malformed pairs are dropped, as API Gateway
// drops what it cannot decode.
func queryParams(raw string) url.Values {
	if raw == "" {
		return nil
	}
	q, _ := url.ParseQuery(raw)
	if len(q) == 0 {
		return nil
	}
	return q
}

func mediaType(contentType string) string {
	if contentType == "" {
		return ""
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		mt, _, _ = strings.Cut(contentType, ";")
		mt = strings.ToLower(strings.TrimSpace(mt))
	}
	return mt
}

// matchesBinaryMediaType reports whether a content type is one of a REST API's binary
// media types; entries may be wildcards ("image/*", "*/*").
func matchesBinaryMediaType(contentType string, types []string) bool {
	if len(types) == 0 {
		return false
	}
	mt := mediaType(contentType)
	for _, t := range types {
		switch {
		case t == "*/*":
			return true
		case mt == "":
		case t == mt:
			return true
		case strings.HasSuffix(t, "/*") && strings.HasPrefix(mt, t[:len(t)-1]):
			return true
		}
	}
	return false
}

// httpAPIBodyIsText reports whether an HTTP API passes a body of this content type to
// Lambda as text. HTTP APIs have no binaryMediaTypes: every body is base64-encoded
// unless its type is text/*, application/json, application/xml or
// application/javascript (observed on AWS; a missing Content-Type and
// application/x-www-form-urlencoded are encoded too).
func httpAPIBodyIsText(contentType string) bool {
	mt := mediaType(contentType)
	switch {
	case strings.HasPrefix(mt, "text/"):
		return true
	case mt == "application/json", mt == "application/xml", mt == "application/javascript":
		return true
	}
	return false
}

// bodyForEvent returns the body as the event carries it and whether it is base64.
func bodyForEvent(x *exchange) (string, bool) {
	if len(x.body) == 0 {
		return "", false
	}
	ct := x.r.Header.Get("Content-Type")
	binary := false
	if x.kind == compile.HTTP {
		binary = !httpAPIBodyIsText(ct)
	} else {
		binary = matchesBinaryMediaType(ct, x.stage.BinaryMediaTypes)
	}
	if binary {
		return base64.StdEncoding.EncodeToString(x.body), true
	}
	return string(x.body), false
}

// decodedPath is the URL-decoded form of an escaped path (the escaped form if it
// cannot be decoded).
func decodedPath(p string) string {
	if !strings.Contains(p, "%") {
		return p
	}
	if d, err := url.PathUnescape(p); err == nil {
		return d
	}
	return p
}

// proxyEventV1 builds the payload format 1.0 event (events.APIGatewayProxyRequest)
// as API Gateway fills it: REST APIs send the path without the stage and the resource
// template, HTTP APIs (payload 1.0) the path with a named stage's prefix and the route
// path. See "Input format of a Lambda function for proxy integration" and "Working
// with AWS Lambda proxy integrations for HTTP APIs".
func proxyEventV1(x *exchange, accountID string) events.APIGatewayProxyRequest {
	r, rt := x.r, x.route
	hdrs := eventHeaders(x, x.kind == compile.REST)
	single := make(map[string]string, len(hdrs))
	for k, vs := range hdrs {
		if len(vs) > 0 {
			single[k] = vs[len(vs)-1]
		}
	}
	var qs map[string]string
	var mqs map[string][]string
	if q := queryParams(r.URL.RawQuery); q != nil {
		qs = make(map[string]string, len(q))
		for k, vs := range q {
			qs[k] = vs[len(vs)-1] // last value wins, as on AWS
		}
		mqs = q
	}
	body, b64 := bodyForEvent(x)
	path := decodedPath(x.stagePath)
	if x.kind == compile.HTTP || x.pathAsSent {
		path = decodedPath(x.fullPath)
	}
	return events.APIGatewayProxyRequest{
		Resource:                        rt.Path,
		Path:                            path,
		HTTPMethod:                      r.Method,
		Headers:                         single,
		MultiValueHeaders:               hdrs,
		QueryStringParameters:           qs,
		MultiValueQueryStringParameters: mqs,
		PathParameters:                  x.params,
		StageVariables:                  x.stage.Variables,
		Body:                            body,
		IsBase64Encoded:                 b64,
		RequestContext: events.APIGatewayProxyRequestContext{
			AccountID:         accountID,
			ResourceID:        rt.ResourceID,
			OperationName:     rt.OperationName,
			Stage:             x.stage.Name,
			DomainName:        x.domainName,
			DomainPrefix:      x.domainPrefix,
			RequestID:         x.requestID,
			ExtendedRequestID: x.extendedID,
			Protocol:          r.Proto,
			Identity:          restIdentity(x),
			ResourcePath:      rt.Path,
			Path:              decodedPath(x.fullPath),
			HTTPMethod:        r.Method,
			RequestTime:       x.now.UTC().Format(requestTimeLayout),
			RequestTimeEpoch:  x.now.UnixMilli(),
			APIID:             x.api.ID,
			Authorizer:        restAuthorizerContext(x),
		},
	}
}

// restIdentity is requestContext.identity: the caller's address and user agent, the
// API key that admitted the request, and the IAM caller of an AWS_IAM method.
func restIdentity(x *exchange) events.APIGatewayRequestIdentity {
	id := events.APIGatewayRequestIdentity{SourceIP: x.sourceIP, UserAgent: x.r.UserAgent()}
	if x.apiKey != nil {
		id.APIKey, id.APIKeyID = x.apiKey.Value, x.apiKey.ID
	}
	if c := x.caller; c != nil {
		id.AccessKey, id.AccountID, id.Caller, id.User, id.UserArn = c.AccessKeyID, c.Account, c.UserID, c.UserID, c.ARN
	}
	return id
}

// restAuthorizerContext is requestContext.authorizer of a payload 1.0 event (REST,
// or an HTTP API integration with payload 1.0): nil unless a Lambda authorizer
// allowed the request, else its context flat with principalId.
func restAuthorizerContext(x *exchange) map[string]any {
	if x.jwt != nil {
		// Payload 1.0 carries a JWT authorizer's claims and scopes flat, without the
		// "jwt" level of 2.0.
		return map[string]any{"claims": x.jwt.Claims, "scopes": x.jwt.Scopes}
	}
	if x.authorizer == nil {
		return nil
	}
	return authorizerContext(x.authorizer)
}

// encodeProxyEventV1 writes ev in AWS's exact shape: absent maps, an empty body and
// unknown identity fields are null; HTTP APIs add "version":"1.0".
func encodeProxyEventV1(b []byte, ev *events.APIGatewayProxyRequest, httpAPI bool) []byte {
	b = append(b, '{')
	if httpAPI {
		b = append(b, `"version":"1.0",`...)
	}
	b = append(b, `"resource":`...)
	b = appendString(b, ev.Resource)
	b = append(b, `,"path":`...)
	b = appendString(b, ev.Path)
	b = append(b, `,"httpMethod":`...)
	b = appendString(b, ev.HTTPMethod)
	b = append(b, `,"headers":`...)
	b = appendStringMap(b, ev.Headers)
	b = append(b, `,"multiValueHeaders":`...)
	b = appendMultiMap(b, ev.MultiValueHeaders)
	b = append(b, `,"queryStringParameters":`...)
	b = appendStringMap(b, ev.QueryStringParameters)
	b = append(b, `,"multiValueQueryStringParameters":`...)
	b = appendMultiMap(b, ev.MultiValueQueryStringParameters)
	b = append(b, `,"pathParameters":`...)
	b = appendStringMap(b, ev.PathParameters)
	b = append(b, `,"stageVariables":`...)
	b = appendStringMap(b, ev.StageVariables)

	rc := &ev.RequestContext
	b = append(b, `,"requestContext":{"resourceId":`...)
	b = appendNullableString(b, rc.ResourceID)
	b = append(b, `,"resourcePath":`...)
	b = appendString(b, rc.ResourcePath)
	if rc.OperationName != "" {
		b = append(b, `,"operationName":`...)
		b = appendString(b, rc.OperationName)
	}
	b = append(b, `,"httpMethod":`...)
	b = appendString(b, rc.HTTPMethod)
	b = append(b, `,"extendedRequestId":`...)
	b = appendString(b, rc.ExtendedRequestID)
	b = append(b, `,"requestTime":`...)
	b = appendString(b, rc.RequestTime)
	b = append(b, `,"path":`...)
	b = appendString(b, rc.Path)
	b = append(b, `,"accountId":`...)
	b = appendString(b, rc.AccountID)
	b = append(b, `,"protocol":`...)
	b = appendString(b, rc.Protocol)
	b = append(b, `,"stage":`...)
	b = appendString(b, rc.Stage)
	b = append(b, `,"domainPrefix":`...)
	b = appendString(b, rc.DomainPrefix)
	b = append(b, `,"requestTimeEpoch":`...)
	b = appendInt(b, rc.RequestTimeEpoch)
	b = append(b, `,"requestId":`...)
	b = appendString(b, rc.RequestID)
	id := &rc.Identity
	b = append(b, `,"identity":{"cognitoIdentityPoolId":`...)
	b = appendNullableString(b, id.CognitoIdentityPoolID)
	if id.APIKey != "" {
		b = append(b, `,"apiKey":`...)
		b = appendString(b, id.APIKey)
		b = append(b, `,"apiKeyId":`...)
		b = appendNullableString(b, id.APIKeyID)
	}
	b = append(b, `,"accountId":`...)
	b = appendNullableString(b, id.AccountID)
	b = append(b, `,"cognitoIdentityId":`...)
	b = appendNullableString(b, id.CognitoIdentityID)
	b = append(b, `,"caller":`...)
	b = appendNullableString(b, id.Caller)
	b = append(b, `,"sourceIp":`...)
	b = appendString(b, id.SourceIP)
	b = append(b, `,"principalOrgId":null,"accessKey":`...)
	b = appendNullableString(b, id.AccessKey)
	b = append(b, `,"cognitoAuthenticationType":`...)
	b = appendNullableString(b, id.CognitoAuthenticationType)
	b = append(b, `,"cognitoAuthenticationProvider":`...)
	b = appendNullableString(b, id.CognitoAuthenticationProvider)
	b = append(b, `,"userArn":`...)
	b = appendNullableString(b, id.UserArn)
	b = append(b, `,"userAgent":`...)
	b = appendNullableString(b, id.UserAgent)
	b = append(b, `,"user":`...)
	b = appendNullableString(b, id.User)
	b = append(b, `},"domainName":`...)
	b = appendString(b, rc.DomainName)
	if rc.Authorizer != nil {
		b = append(b, `,"authorizer":`...)
		b = appendAny(b, rc.Authorizer)
	}
	b = append(b, `,"apiId":`...)
	b = appendString(b, rc.APIID)
	b = append(b, `},"body":`...)
	b = appendNullableString(b, ev.Body)
	b = append(b, `,"isBase64Encoded":`...)
	b = appendBool(b, ev.IsBase64Encoded)
	return append(b, '}')
}

// proxyEventV2 builds the payload format 2.0 event (events.APIGatewayV2HTTPRequest):
// lower-case header names with repeated values comma-joined, cookies split out of the
// Cookie header, query parameters comma-joined, and rawPath as addressed (a named
// stage's prefix included, none for $default). See "Working with AWS Lambda proxy
// integrations for HTTP APIs".
func proxyEventV2(x *exchange, accountID string) events.APIGatewayV2HTTPRequest {
	r, rt := x.r, x.route
	hdrs := eventHeaders(x, false)
	headers := make(map[string]string, len(hdrs))
	var cookies []string
	for k, vs := range hdrs {
		if k == "Cookie" {
			for _, v := range vs {
				for c := range strings.SplitSeq(v, ";") {
					if c = strings.TrimSpace(c); c != "" {
						cookies = append(cookies, c)
					}
				}
			}
			continue
		}
		lk := strings.ToLower(k)
		if len(vs) == 1 {
			headers[lk] = vs[0]
		} else {
			headers[lk] = strings.Join(vs, ",")
		}
	}
	var qs map[string]string
	if q := queryParams(r.URL.RawQuery); q != nil {
		qs = make(map[string]string, len(q))
		for k, vs := range q {
			qs[k] = strings.Join(vs, ",")
		}
	}
	body, b64 := bodyForEvent(x)
	routeKey := rt.Key
	return events.APIGatewayV2HTTPRequest{
		Version:               "2.0",
		RouteKey:              routeKey,
		RawPath:               x.fullPath,
		RawQueryString:        r.URL.RawQuery,
		Cookies:               cookies,
		Headers:               headers,
		QueryStringParameters: qs,
		PathParameters:        x.params,
		StageVariables:        x.stage.Variables,
		Body:                  body,
		IsBase64Encoded:       b64,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey:     routeKey,
			AccountID:    accountID,
			Stage:        x.stage.Name,
			RequestID:    x.requestID,
			APIID:        x.api.ID,
			DomainName:   x.domainName,
			DomainPrefix: x.domainPrefix,
			Time:         x.now.UTC().Format(requestTimeLayout),
			TimeEpoch:    x.now.UnixMilli(),
			Authorizer:   httpAuthorizerDescription(x),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method:    r.Method,
				Path:      decodedPath(x.fullPath),
				Protocol:  r.Proto,
				SourceIP:  x.sourceIP,
				UserAgent: r.UserAgent(),
			},
		},
	}
}

// encodeProxyEventV2 writes ev as AWS does: cookies, queryStringParameters,
// pathParameters, stageVariables and body are left out when empty; the mTLS
// authentication block only appears when a client certificate was presented.
func encodeProxyEventV2(b []byte, ev *events.APIGatewayV2HTTPRequest) []byte {
	b = append(b, `{"version":"2.0","routeKey":`...)
	b = appendString(b, ev.RouteKey)
	b = append(b, `,"rawPath":`...)
	b = appendString(b, ev.RawPath)
	b = append(b, `,"rawQueryString":`...)
	b = appendString(b, ev.RawQueryString)
	if len(ev.Cookies) > 0 {
		b = append(b, `,"cookies":[`...)
		for i, c := range ev.Cookies {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, c)
		}
		b = append(b, ']')
	}
	b = append(b, `,"headers":`...)
	b = appendStringMap(b, ev.Headers)
	if len(ev.QueryStringParameters) > 0 {
		b = append(b, `,"queryStringParameters":`...)
		b = appendStringMap(b, ev.QueryStringParameters)
	}
	rc := &ev.RequestContext
	b = append(b, `,"requestContext":{"accountId":`...)
	b = appendString(b, rc.AccountID)
	b = append(b, `,"apiId":`...)
	b = appendString(b, rc.APIID)
	if rc.Authorizer != nil {
		b = append(b, `,"authorizer":`...)
		b = appendAny(b, rc.Authorizer)
	}
	b = append(b, `,"domainName":`...)
	b = appendString(b, rc.DomainName)
	b = append(b, `,"domainPrefix":`...)
	b = appendString(b, rc.DomainPrefix)
	b = append(b, `,"http":{"method":`...)
	b = appendString(b, rc.HTTP.Method)
	b = append(b, `,"path":`...)
	b = appendString(b, rc.HTTP.Path)
	b = append(b, `,"protocol":`...)
	b = appendString(b, rc.HTTP.Protocol)
	b = append(b, `,"sourceIp":`...)
	b = appendString(b, rc.HTTP.SourceIP)
	b = append(b, `,"userAgent":`...)
	b = appendString(b, rc.HTTP.UserAgent)
	b = append(b, `},"requestId":`...)
	b = appendString(b, rc.RequestID)
	b = append(b, `,"routeKey":`...)
	b = appendString(b, rc.RouteKey)
	b = append(b, `,"stage":`...)
	b = appendString(b, rc.Stage)
	b = append(b, `,"time":`...)
	b = appendString(b, rc.Time)
	b = append(b, `,"timeEpoch":`...)
	b = appendInt(b, rc.TimeEpoch)
	b = append(b, '}')
	if len(ev.PathParameters) > 0 {
		b = append(b, `,"pathParameters":`...)
		b = appendStringMap(b, ev.PathParameters)
	}
	if len(ev.StageVariables) > 0 {
		b = append(b, `,"stageVariables":`...)
		b = appendStringMap(b, ev.StageVariables)
	}
	if ev.Body != "" {
		b = append(b, `,"body":`...)
		b = appendString(b, ev.Body)
	}
	b = append(b, `,"isBase64Encoded":`...)
	b = appendBool(b, ev.IsBase64Encoded)
	return append(b, '}')
}

// canonicalHeader canonicalizes a response header name a function returned.
func canonicalHeader(k string) string { return http.CanonicalHeaderKey(k) }
