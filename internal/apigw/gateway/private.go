package gateway

import (
	"net/http"
	"slices"
	"time"

	"github.com/sluice-dev/sluice/internal/apigw/compile"
)

// Endpoint is how a request reached a private endpoint: its id, and whether the
// API was named by the {apiId}-{vpceId} host form (which works only for the
// endpoints associated with the API, its endpointConfiguration.vpcEndpointIds).
type Endpoint struct {
	VPCE string
	// ByAliasHost is true for the {apiId}-{vpceId}.execute-api host form.
	ByAliasHost bool
}

// ServePrivate serves an execute-api request for apiID that came through a private
// endpoint (the {apiId}-{vpceId} or {apiId}.execute-api host, or the x-apigw-api-id
// header). Only PRIVATE APIs are reachable there; others, and an alias host of an
// endpoint the API is not associated with, answer 403 {"message":"Forbidden"} as
// API Gateway does. The stage is the first path segment, as on the default
// endpoint; the endpoint id is the request's aws:SourceVpce.
func (g *Gateway) ServePrivate(w http.ResponseWriter, r *http.Request, apiID string, ep Endpoint) {
	x := &exchange{w: w, r: r, kind: compile.REST, now: time.Now()}
	defer g.done(x)
	g.begin(x, apiID)
	x.sourceVpce = ep.VPCE
	if x.api == nil || !slices.Contains(x.api.EndpointTypes, "PRIVATE") ||
		(ep.ByAliasHost && !slices.Contains(x.api.VPCEndpointIDs, ep.VPCE)) {
		g.fail(x, failNoAPI, nil)
		return
	}
	escaped := r.URL.EscapedPath()
	first, rest := firstSegment(escaped)
	x.stage, x.stagePath, x.fullPath = x.api.Stage(first), rest, escaped
	if x.stage == nil {
		g.fail(x, failNoAPI, nil)
		return
	}
	g.serve(x)
}
