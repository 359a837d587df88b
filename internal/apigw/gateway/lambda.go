package gateway

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-dev/sluice/internal/apigw/compile"
	"github.com/sluice-dev/sluice/internal/awsproto"
	"github.com/sluice-dev/sluice/internal/invoke"
)

// principal is the service principal API Gateway invokes functions as; the function's
// resource-based policy must allow it (see "Lambda permissions for API Gateway").
const principal = "apigateway.amazonaws.com"

// eventBufHint sizes a fresh event buffer: events are a few KB, plus the body.
const eventBufHint = 2048

// invokeFunction invokes the integration's function with payload and maps every way
// of not getting a result to the API's failure: the integration timeout to 504 (REST)
// or 503 (HTTP), anything else (no permission, no such function, throttled) to 500.
func (g *Gateway) invokeFunction(ctx context.Context, x *exchange, in *compile.Integration, payload []byte) (*invoke.Response, bool) {
	if g.invoker == nil {
		g.fail(x, failInternal, errors.New("no Lambda invoker configured"))
		return nil, false
	}
	start := time.Now()
	resp, err := g.invoker.Invoke(ctx, &invoke.Request{
		Function:      in.FunctionARN,
		Payload:       payload,
		Principal:     principal,
		SourceARN:     x.route.SourceARN(x.r.Method),
		SourceAccount: g.account,
		TraceID:       x.traceID,
	})
	x.integration = time.Since(start)
	if err != nil {
		if timedOut(ctx, x) {
			g.fail(x, failTimeout, nil)
			return nil, false
		}
		var ae *awsproto.Error
		if errors.As(err, &ae) && ae.Code == "AccessDeniedException" {
			// As on AWS: "Execution failed due to configuration error: Invalid
			// permissions on Lambda function" and a 500 to the client.
			g.fail(x, failInternal, fmt.Errorf("invalid permissions on Lambda function %s: %w", in.FunctionARN, err))
			return nil, false
		}
		g.fail(x, failInternal, fmt.Errorf("invoke %s: %w", in.FunctionARN, err))
		return nil, false
	}
	if resp == nil {
		g.fail(x, failInternal, errors.New("invoker returned no response"))
		return nil, false
	}
	return resp, true
}

// lambdaProxy serves an AWS_PROXY integration.
func (g *Gateway) lambdaProxy(ctx context.Context, x *exchange, in *compile.Integration) {
	// The buffer is not pooled: the invoker may hold on to the payload after Invoke
	// returns (a queued invocation that outlives our timeout, say).
	buf := make([]byte, 0, eventBufHint+len(x.body)*4/3)
	// The events are built by value and encoded by pointer so that they stay on the
	// stack: they are a kilobyte of struct per request.
	if in.PayloadFormatVersion == "2.0" {
		ev := proxyEventV2(x, g.account)
		buf = encodeProxyEventV2(buf, &ev)
	} else {
		ev := proxyEventV1(x, g.account)
		buf = encodeProxyEventV1(buf, &ev, x.kind == compile.HTTP)
	}
	resp, ok := g.invokeFunction(ctx, x, in, buf)
	if !ok {
		return
	}
	if resp.FunctionError != "" {
		// A function error is a 502 "Internal server error" on REST APIs and a 500
		// "Internal Server Error" on HTTP APIs.
		g.fail(x, failBadResponse, fmt.Errorf("function %s returned an error (%s)", in.FunctionARN, resp.FunctionError))
		return
	}
	var out *proxyResponse
	var err error
	if in.PayloadFormatVersion == "2.0" {
		out, err = parseProxyResponseV2(resp.Payload)
	} else {
		out, err = parseProxyResponseV1(resp.Payload)
	}
	if err != nil {
		g.fail(x, failBadResponse, fmt.Errorf("malformed Lambda proxy response from %s: %w", in.FunctionARN, err))
		return
	}
	g.writeProxyResponse(x, out)
}

// proxyResponse is a Lambda proxy integration's answer, ready to write.
type proxyResponse struct {
	status  int
	headers map[string][]string
	cookies []string
	// base64 is the function's isBase64Encoded; rawBody is the body as the function
	// sent it (still encoded then: REST APIs decode only for binary media types).
	base64  bool
	rawBody string
}

// proxyResponseV1 is the format-1.0 response document. statusCode is decoded by hand
// because AWS accepts an integer or a string holding one.
type proxyResponseV1 struct {
	StatusCode        json.RawMessage     `json:"statusCode"`
	Headers           map[string]*string  `json:"headers"` // a null value is no header
	MultiValueHeaders map[string][]string `json:"multiValueHeaders"`
	Cookies           []string            `json:"cookies"`
	Body              *string             `json:"body"`
	IsBase64Encoded   bool                `json:"isBase64Encoded"`
}

func parseStatusCode(raw json.RawMessage) (int, error) {
	s := strings.TrimSpace(string(raw))
	if s == "" || s == "null" {
		return 0, errors.New("no statusCode")
	}
	if s[0] == '"' {
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, err
		}
	}
	code, err := strconv.Atoi(s)
	if err != nil || code < 100 || code > 599 {
		return 0, fmt.Errorf("invalid statusCode %s", string(raw))
	}
	return code, nil
}

// parseProxyResponseV1 reads a payload-1.0 response: a JSON object with a valid integer
// statusCode, headers and multiValueHeaders (merged; multiValueHeaders win for the
// same name, per "Output format of a Lambda function for proxy integration"), body
// and isBase64Encoded. Anything else is a malformed Lambda proxy response.
func parseProxyResponseV1(payload []byte) (*proxyResponse, error) {
	// json.Unmarshal rejects anything after the document but whitespace, so one pass
	// both validates and decodes.
	var doc proxyResponseV1
	if err := json.Unmarshal(payload, &doc); err != nil {
		return nil, err
	}
	code, err := parseStatusCode(doc.StatusCode)
	if err != nil {
		return nil, err
	}
	// cookies belongs to format 2.0; a 1.0 response that has it is answered without it.
	doc.Cookies = nil
	return buildProxyResponse(code, doc)
}

func buildProxyResponse(code int, doc proxyResponseV1) (*proxyResponse, error) {
	out := &proxyResponse{status: code, headers: map[string][]string{}, base64: doc.IsBase64Encoded, cookies: doc.Cookies}
	for k, v := range doc.Headers {
		if v == nil {
			// "Content-Type": null is how a function asks for no Content-Type at
			// all rather than the application/json default (aws/aws-sam-cli#1218
			// describes the deployed behavior); a nil value sends no header.
			out.headers[canonicalHeader(k)] = nil
			continue
		}
		out.headers[canonicalHeader(k)] = []string{*v}
	}
	for k, vs := range doc.MultiValueHeaders {
		out.headers[canonicalHeader(k)] = vs
	}
	if doc.Body != nil {
		out.rawBody = *doc.Body
	}
	return out, nil
}

// parseProxyResponseV2 reads a payload-2.0 response. A JSON object with a statusCode is
// a response document; any other valid JSON is the body of a 200 with content-type
// application/json (a JSON string is unquoted), per "Lambda function response for
// format 2.0".
func parseProxyResponseV2(payload []byte) (*proxyResponse, error) {
	trimmed := bytes.TrimSpace(payload)
	if len(trimmed) > 0 && trimmed[0] == '{' {
		// One pass in the common case: the document decodes as a response.
		var doc proxyResponseV1
		err := json.Unmarshal(trimmed, &doc)
		var typeErr *json.UnmarshalTypeError
		switch {
		case err == nil && doc.StatusCode != nil:
			code, err := parseStatusCode(doc.StatusCode)
			if err != nil {
				return nil, err
			}
			// Format 2.0 has no multiValueHeaders: API Gateway does not read them from a
			// 2.0 response (repeated values go comma-joined in headers, cookies in
			// cookies).
			doc.MultiValueHeaders = nil
			return buildProxyResponse(code, doc)
		case errors.As(err, &typeErr):
			// Valid JSON whose fields are not a response's ({"headers":5}): a
			// response document if it has a statusCode (then malformed), else a body.
			var probe struct {
				StatusCode json.RawMessage `json:"statusCode"`
			}
			if err := json.Unmarshal(trimmed, &probe); err != nil {
				return nil, err
			}
			if probe.StatusCode != nil {
				return nil, err
			}
		case err != nil:
			return nil, err
		}
	} else if !json.Valid(trimmed) {
		return nil, errors.New("response is not valid JSON")
	}
	body := trimmed
	if len(trimmed) > 0 && trimmed[0] == '"' {
		var s string
		if err := json.Unmarshal(trimmed, &s); err != nil {
			return nil, err
		}
		body = []byte(s)
	}
	return &proxyResponse{
		status:  http.StatusOK,
		headers: map[string][]string{"Content-Type": {"application/json"}},
		rawBody: string(body),
	}, nil
}

// writeProxyResponse writes a function's response. isBase64Encoded bodies are decoded
// on HTTP APIs always; on REST APIs only when the request's Accept or the response's
// Content-Type is one of the API's binary media types, otherwise the base64 text is
// returned as is (see "Return binary media from a Lambda proxy integration").
func (g *Gateway) writeProxyResponse(x *exchange, out *proxyResponse) {
	body := []byte(out.rawBody)
	if out.base64 {
		decode := x.kind == compile.HTTP
		if !decode {
			accept, _, _ := strings.Cut(x.r.Header.Get("Accept"), ",")
			ct := ""
			if v := out.headers["Content-Type"]; len(v) > 0 {
				ct = v[0]
			}
			decode = matchesBinaryMediaType(accept, x.stage.BinaryMediaTypes) ||
				matchesBinaryMediaType(ct, x.stage.BinaryMediaTypes)
		}
		if decode {
			d, err := base64.StdEncoding.DecodeString(out.rawBody)
			if err != nil {
				g.fail(x, failBadResponse, fmt.Errorf("isBase64Encoded body is not base64: %w", err))
				return
			}
			body = d
		}
	}
	h := x.w.Header()
	cors := x.kind == compile.HTTP && x.stage.Cors != nil
	for k, vs := range out.headers {
		if cors && strings.HasPrefix(k, "Access-Control-") {
			// With CORS configured, API Gateway ignores the integration's CORS headers.
			continue
		}
		if !validHeaderName(k) {
			// A function cannot make the gateway send a header that is not one
			// (a name with CR/LF or separators); net/http would drop it silently
			// too, but not every writer this response may reach does.
			continue
		}
		h[k] = sendableValues(vs)
	}
	for _, c := range out.cookies {
		if validHeaderValue(c) {
			h["Set-Cookie"] = append(h["Set-Cookie"], c)
		}
	}
	if _, ok := h["Content-Type"]; !ok {
		if x.kind == compile.REST {
			// REST APIs answer application/json when the function sets no type.
			h["Content-Type"] = []string{"application/json"}
		} else {
			h["Content-Type"] = nil // no sniffing: send no Content-Type
		}
	}
	if cors {
		g.corsHeaders(x)
	}
	delete(h, "Transfer-Encoding")
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	x.writeHeader(out.status)
	if x.r.Method != http.MethodHead {
		_, _ = x.w.Write(body)
	}
}

// validHeaderName is RFC 9110's token rule for a field name.
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("\"(),/:;<=>?@[\\]{}", c) >= 0 {
			return false
		}
	}
	return true
}

// validHeaderValue is RFC 9110's field-value rule: no control bytes but tab.
func validHeaderValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// sendableValues drops the values a header line cannot carry (CR, LF, NUL, ...),
// which would otherwise split or corrupt the response. vs is returned as is in the
// common case. A nil vs (a null header value: send no header) stays nil.
func sendableValues(vs []string) []string {
	for i, v := range vs {
		if !validHeaderValue(v) {
			out := append([]string(nil), vs[:i]...)
			for _, v := range vs[i+1:] {
				if validHeaderValue(v) {
					out = append(out, v)
				}
			}
			return out
		}
	}
	return vs
}
