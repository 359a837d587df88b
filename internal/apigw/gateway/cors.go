package gateway

import (
	"net/http"
)

// CORS for HTTP APIs, from the deployment's corsConfiguration (see "Configuring CORS
// for an HTTP API"): API Gateway answers preflight requests itself, even without an
// OPTIONS route, and adds the configured CORS headers to integration responses,
// ignoring the integration's own. Requests must carry Origin (and, for a preflight,
// Access-Control-Request-Method) to get CORS headers; an origin that is not allowed
// gets none.

// isPreflight reports whether r is a CORS preflight request.
func isPreflight(r *http.Request) bool {
	return r.Method == http.MethodOptions && r.Header.Get("Origin") != "" &&
		r.Header.Get("Access-Control-Request-Method") != ""
}

// preflight answers a preflight request with 204 and the configured CORS headers.
func (g *Gateway) preflight(x *exchange) {
	c := x.stage.Cors
	h := x.w.Header()
	if origin := c.AllowedOrigin(x.r.Header.Get("Origin")); origin != "" {
		h["Access-Control-Allow-Origin"] = []string{origin}
		if c.AllowMethods != "" {
			h["Access-Control-Allow-Methods"] = []string{c.AllowMethods}
		}
		if c.AllowHeaders != "" {
			h["Access-Control-Allow-Headers"] = []string{c.AllowHeaders}
		}
		if c.MaxAge != "" {
			h["Access-Control-Max-Age"] = []string{c.MaxAge}
		}
		if c.AllowCredentials {
			h["Access-Control-Allow-Credentials"] = []string{"true"}
		}
	}
	x.writeHeader(http.StatusNoContent)
}

// corsHeaders adds the CORS headers of an actual (non-preflight) response.
func (g *Gateway) corsHeaders(x *exchange) {
	c := x.stage.Cors
	origin := c.AllowedOrigin(x.r.Header.Get("Origin"))
	if origin == "" {
		return
	}
	h := x.w.Header()
	h["Access-Control-Allow-Origin"] = []string{origin}
	if c.ExposeHeaders != "" {
		h["Access-Control-Expose-Headers"] = []string{c.ExposeHeaders}
	}
	if c.AllowCredentials {
		h["Access-Control-Allow-Credentials"] = []string{"true"}
	}
}
