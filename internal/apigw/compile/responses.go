package compile

import (
	"slices"
	"strconv"
	"strings"

	"github.com/sluice-dev/sluice/internal/apigw/model"
)

// GatewayResponse is the effective response for one gateway response type of a REST API
// stage: what a client gets when the gateway itself refuses or fails a request.
type GatewayResponse struct {
	Type string
	// StatusCode is the status to answer with; 0 keeps the status of the error itself
	// (DEFAULT_4XX and DEFAULT_5XX have no status of their own).
	StatusCode int
	// ResponseParameters map "gatewayresponse.header.Name" to a static 'value' or a
	// request reference (method.request.header.x, ...).
	ResponseParameters map[string]string
	// Template is the application/json body template (or the only template given).
	Template string
	// Customized is set when the user put this type (or the DEFAULT_4XX/DEFAULT_5XX it
	// inherits from).
	Customized bool
}

// gatewayResponses merges the user's gateway responses over AWS's defaults. A type the
// user did not put inherits a user-put DEFAULT_4XX or DEFAULT_5XX of its class,
// keeping its own status code (see "Gateway responses in API Gateway": "...all the
// other 4XX/5XX responses inherit the customization").
func gatewayResponses(user map[string]*model.GatewayResponse) map[string]*GatewayResponse {
	out := make(map[string]*GatewayResponse, len(model.DefaultGatewayResponses))
	for typ, status := range model.DefaultGatewayResponses {
		code, _ := strconv.Atoi(status)
		gr := &GatewayResponse{Type: typ, StatusCode: code, Template: model.DefaultGatewayResponseTemplate}
		src := user[typ]
		if src == nil && code != 0 {
			if code < 500 {
				src = user["DEFAULT_4XX"]
			} else {
				src = user["DEFAULT_5XX"]
			}
			if src != nil {
				// Inherit headers and template, keep the type's own status.
				src = &model.GatewayResponse{ResponseParameters: src.ResponseParameters, ResponseTemplates: src.ResponseTemplates}
			}
		}
		if src != nil {
			gr.Customized = true
			if c, err := strconv.Atoi(src.StatusCode); err == nil && c > 0 {
				gr.StatusCode = c
			}
			gr.ResponseParameters = src.ResponseParameters
			if t, ok := pickTemplate(src.ResponseTemplates); ok {
				gr.Template = t
			}
		}
		out[typ] = gr
	}
	return out
}

// pickTemplate chooses the application/json template, else the first by content type.
func pickTemplate(ts map[string]string) (string, bool) {
	if len(ts) == 0 {
		return "", false
	}
	if t, ok := ts["application/json"]; ok {
		return t, true
	}
	keys := make([]string, 0, len(ts))
	for k := range ts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return ts[keys[0]], true
}

// Cors is an HTTP API's CORS configuration, with the header values precomputed.
type Cors struct {
	// Origins are the allowed origins, lower-cased; "*" allows any, and an entry
	// ending in "*" ("https://*") allows any origin with that prefix.
	Origins          []string
	AllowAnyOrigin   bool
	AllowMethods     string // Access-Control-Allow-Methods value
	AllowHeaders     string // Access-Control-Allow-Headers value
	ExposeHeaders    string // Access-Control-Expose-Headers value
	MaxAge           string // Access-Control-Max-Age value, "" when unset
	AllowCredentials bool
}

func compileCors(c *model.Cors) *Cors {
	if c == nil {
		return nil
	}
	out := &Cors{
		AllowMethods:     strings.Join(c.AllowMethods, ","),
		AllowHeaders:     strings.Join(c.AllowHeaders, ","),
		ExposeHeaders:    strings.Join(c.ExposeHeaders, ","),
		AllowCredentials: c.AllowCredentials,
	}
	if c.MaxAge != nil {
		out.MaxAge = strconv.Itoa(*c.MaxAge)
	}
	for _, o := range c.AllowOrigins {
		o = strings.ToLower(strings.TrimSpace(o))
		if o == "*" {
			out.AllowAnyOrigin = true
		}
		out.Origins = append(out.Origins, o)
	}
	return out
}

// AllowedOrigin returns the Access-Control-Allow-Origin value for a request's Origin
// header, or "" when the origin is not allowed (then no CORS headers are sent).
// A configured "*" answers "*"; an exact or prefix-wildcard match echoes the origin.
func (c *Cors) AllowedOrigin(origin string) string {
	if c == nil || origin == "" {
		return ""
	}
	lo := strings.ToLower(origin)
	for _, o := range c.Origins {
		if o == "*" {
			continue
		}
		if o == lo {
			return origin
		}
		if p, ok := strings.CutSuffix(o, "*"); ok && strings.HasPrefix(lo, p) {
			return origin
		}
	}
	if c.AllowAnyOrigin {
		return "*"
	}
	return ""
}
