package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/sluice-dev/sluice/internal/apigw/compile"
)

// Non-proxy ("custom") REST integrations: AWS (Lambda), HTTP and MOCK. Their requests
// and responses pass through mapping templates; Velocity is a later capability, so a
// request or response that would need one answers 500 saying so, and everything that
// needs none (passthrough bodies, static templates, integration responses selected by
// pattern, static and header response parameters) is served as AWS serves it.

// requestBody applies the integration's passthrough behavior (see "Integration
// passthrough behaviors"): with a template for the request's content type (default
// application/json) the template is used; without one, WHEN_NO_MATCH (the default)
// passes the body through, WHEN_NO_TEMPLATES passes it through only when the
// integration has no templates at all, and NEVER refuses with 415. It returns the
// template when one applies.
func requestBody(x *exchange, in *compile.Integration) (template string, hasTemplate, ok bool) {
	ct := mediaType(x.r.Header.Get("Content-Type"))
	if ct == "" {
		ct = "application/json"
	}
	t, found := in.RequestTemplates[ct]
	if found {
		return t, true, true
	}
	switch strings.ToUpper(in.PassthroughBehavior) {
	case "NEVER":
		return "", false, false
	case "WHEN_NO_TEMPLATES":
		return "", false, len(in.RequestTemplates) == 0
	}
	return "", false, true
}

// integrationPayload returns what a non-proxy integration is sent: the body passed
// through, or a template's output when the template needs no evaluation (empty).
func (g *Gateway) integrationPayload(x *exchange, in *compile.Integration) ([]byte, bool) {
	t, has, ok := requestBody(x, in)
	if !ok {
		g.fail(x, failUnsupportedMedia, nil)
		return nil, false
	}
	if !has {
		return x.body, true
	}
	if strings.TrimSpace(t) == "" {
		return nil, true
	}
	g.fail(x, failTemplates, errors.New("request mapping template needs Velocity"))
	return nil, false
}

// lambdaCustom serves an AWS (non-proxy) Lambda integration: the (passed-through)
// body is the event, and the function's result is the response body, its status and
// headers chosen by the integration response whose selection pattern matches the
// errorMessage of a failed invocation, else the default one.
func (g *Gateway) lambdaCustom(ctx context.Context, x *exchange, in *compile.Integration) {
	payload, ok := g.integrationPayload(x, in)
	if !ok {
		return
	}
	if len(payload) == 0 {
		// An empty passthrough body reaches the function as an empty JSON object.
		payload = []byte("{}")
	}
	resp, ok := g.invokeFunction(ctx, x, in, payload)
	if !ok {
		return
	}
	subject := ""
	if resp.FunctionError != "" {
		var fe struct {
			ErrorMessage string `json:"errorMessage"`
		}
		if json.Unmarshal(resp.Payload, &fe) == nil {
			subject = fe.ErrorMessage
		}
	}
	ir := in.SelectResponse(subject, resp.FunctionError != "")
	g.writeIntegrationResponse(x, ir, resp.Payload, nil)
}

// mock serves a MOCK integration: the status comes from the request template
// {"statusCode": 200} (200 when there is none) and selects the integration response.
func (g *Gateway) mock(x *exchange, in *compile.Integration) {
	t, has, ok := requestBody(x, in)
	if !ok {
		g.fail(x, failUnsupportedMedia, nil)
		return
	}
	status := http.StatusOK
	if has && strings.TrimSpace(t) != "" {
		var doc struct {
			StatusCode json.RawMessage `json:"statusCode"`
		}
		if strings.Contains(t, "$") || strings.Contains(t, "#") || json.Unmarshal([]byte(t), &doc) != nil {
			g.fail(x, failTemplates, errors.New("MOCK request template needs Velocity"))
			return
		}
		if doc.StatusCode != nil {
			code, err := parseStatusCode(doc.StatusCode)
			if err != nil {
				g.fail(x, failInternal, fmt.Errorf("MOCK request template: %w", err))
				return
			}
			status = code
		}
	}
	ir := in.SelectResponse(strconv.Itoa(status), true)
	g.writeIntegrationResponse(x, ir, nil, nil)
}

// writeIntegrationResponse writes a non-proxy integration's answer through the selected
// integration response: its status, its response parameters, and its response
// template (a template without $ or # is literal text; one with them needs Velocity)
// or else the backend body unchanged. No integration response at all is AWS's "No
// match for output mapping and no default output mapping configured": a 500.
func (g *Gateway) writeIntegrationResponse(x *exchange, ir *compile.IntegrationResponse, body []byte, upstream http.Header) {
	if ir == nil {
		g.fail(x, failInternal, errors.New("no match for output mapping and no default output mapping configured"))
		return
	}
	if len(ir.ResponseTemplates) > 0 {
		t := responseTemplate(x, ir.ResponseTemplates)
		if strings.ContainsAny(t, "$#") {
			g.fail(x, failTemplates, errors.New("response mapping template needs Velocity"))
			return
		}
		if strings.TrimSpace(t) != "" {
			body = []byte(t)
		}
	}
	h := x.w.Header()
	for k, v := range ir.ResponseParameters {
		name, ok := strings.CutPrefix(k, "method.response.header.")
		if !ok {
			continue
		}
		if val, ok := integrationResponseValue(x, v, body, upstream); ok {
			h[http.CanonicalHeaderKey(name)] = []string{val}
		}
	}
	if _, ok := h["Content-Type"]; !ok {
		h["Content-Type"] = []string{"application/json"}
	}
	status := ir.StatusCode
	if status < 100 || status > 599 {
		status = http.StatusOK
	}
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	x.writeHeader(status)
	if x.r.Method != http.MethodHead {
		_, _ = x.w.Write(body)
	}
}

// responseTemplate picks the response template for the client: the one for the first
// media type of its Accept header, else application/json, else the first by content
// type — always the same one for the same request, never a map-order pick.
func responseTemplate(x *exchange, ts map[string]string) string {
	accept, _, _ := strings.Cut(x.r.Header.Get("Accept"), ",")
	if t, ok := ts[mediaType(accept)]; ok {
		return t
	}
	if t, ok := ts["application/json"]; ok {
		return t
	}
	return ts[slices.Min(slices.Collect(maps.Keys(ts)))]
}

// integrationResponseValue resolves an integration response parameter value: a static
// 'value', integration.response.header.name, integration.response.body (the whole
// body), or a method request / stage variable reference.
func integrationResponseValue(x *exchange, v string, body []byte, upstream http.Header) (string, bool) {
	if name, ok := strings.CutPrefix(v, "integration.response.header."); ok {
		if upstream == nil {
			return "", false
		}
		val := upstream.Get(name)
		return val, val != ""
	}
	if v == "integration.response.body" {
		return string(body), true
	}
	return restMappingValue(x, v)
}
