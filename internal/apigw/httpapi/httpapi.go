// Package httpapi is the control plane of API Gateway HTTP APIs (the apigatewayv2
// service): APIs, routes, integrations, stages, deployments and tags, spoken in
// apigatewayv2's REST-JSON protocol under /v2/. It validates requests the way API
// Gateway does, writes model records to the store, and turns every deployment
// (manual or automatic) into an immutable model.HTTPSnapshot that the data plane
// serves. It never serves execute-api traffic itself.
package httpapi

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sluice-dev/sluice/internal/apigw/domainnames"
	"github.com/sluice-dev/sluice/internal/awsproto"
	"github.com/sluice-dev/sluice/internal/store"
)

// Options configure a Service.
type Options struct {
	Store     store.Store
	Region    string
	AccountID string
	// APIEndpoint returns the execute-api base URL of an API, e.g.
	// "http://<id>.execute-api.localhost:4566". It is reported as apiEndpoint.
	APIEndpoint func(apiID string) string
	// Certificates checks custom domains' ACM certificates; nil refuses every
	// domain name.
	Certificates domainnames.Certificates
	Logger       *slog.Logger
	// Now is the clock; nil means time.Now. Tests may pin it.
	Now func() time.Time
}

// Service serves the apigatewayv2 control-plane operations for HTTP APIs.
type Service struct {
	store     store.Store
	region    string
	accountID string
	endpoint  func(apiID string) string
	log       *slog.Logger
	now       func() time.Time
	certs     domainnames.Certificates
	routes    []operation
}

// New builds a Service. It does no I/O.
func New(opts Options) *Service {
	s := &Service{
		store:     opts.Store,
		region:    opts.Region,
		accountID: opts.AccountID,
		endpoint:  opts.APIEndpoint,
		log:       opts.Logger,
		now:       opts.Now,
		certs:     opts.Certificates,
	}
	if s.region == "" {
		s.region = "us-east-1"
	}
	if s.accountID == "" {
		s.accountID = "123456789012"
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.endpoint == nil {
		s.endpoint = func(apiID string) string { return "https://" + apiID + ".execute-api." + s.region + ".amazonaws.com" }
	}
	s.routes = s.operations()
	return s
}

// request is one parsed control-plane call.
type request struct {
	params map[string]string // path labels, unescaped
	query  url.Values
	body   []byte
}

// handlerFunc answers one operation: the status on success, the body (nil for
// none), or an error (an *awsproto.Error for anything AWS-facing).
type handlerFunc func(ctx context.Context, req *request) (int, any, error)

// operation is one apigatewayv2 operation: method, path pattern ("apis/{apiId}"
// relative to /v2/) and handler. A nil handler marks an operation AWS has that
// Sluice does not build yet.
type operation struct {
	method  string
	pattern []string
	name    string
	handler handlerFunc
}

func op(method, pattern, name string, h handlerFunc) operation {
	return operation{method: method, pattern: strings.Split(pattern, "/"), name: name, handler: h}
}

func (s *Service) operations() []operation {
	return []operation{
		// APIs.
		op("POST", "apis", "CreateApi", s.createAPI),
		op("GET", "apis", "GetApis", s.getAPIs),
		op("PUT", "apis", "ImportApi", s.importAPI),
		op("GET", "apis/{apiId}", "GetApi", s.getAPI),
		op("PATCH", "apis/{apiId}", "UpdateApi", s.updateAPI),
		op("DELETE", "apis/{apiId}", "DeleteApi", s.deleteAPI),
		op("PUT", "apis/{apiId}", "ReimportApi", s.reimportAPI),
		op("DELETE", "apis/{apiId}/cors", "DeleteCorsConfiguration", s.deleteCors),
		op("GET", "apis/{apiId}/exports/{specification}", "ExportApi", s.exportAPI),

		// Routes.
		op("POST", "apis/{apiId}/routes", "CreateRoute", s.createRoute),
		op("GET", "apis/{apiId}/routes", "GetRoutes", s.getRoutes),
		op("GET", "apis/{apiId}/routes/{routeId}", "GetRoute", s.getRoute),
		op("PATCH", "apis/{apiId}/routes/{routeId}", "UpdateRoute", s.updateRoute),
		op("DELETE", "apis/{apiId}/routes/{routeId}", "DeleteRoute", s.deleteRoute),
		op("DELETE", "apis/{apiId}/routes/{routeId}/requestparameters/{key}", "DeleteRouteRequestParameter", s.deleteRouteRequestParameter),
		op("POST", "apis/{apiId}/routes/{routeId}/routeresponses", "CreateRouteResponse", nil),
		op("GET", "apis/{apiId}/routes/{routeId}/routeresponses", "GetRouteResponses", nil),
		op("GET", "apis/{apiId}/routes/{routeId}/routeresponses/{id}", "GetRouteResponse", nil),
		op("PATCH", "apis/{apiId}/routes/{routeId}/routeresponses/{id}", "UpdateRouteResponse", nil),
		op("DELETE", "apis/{apiId}/routes/{routeId}/routeresponses/{id}", "DeleteRouteResponse", nil),

		// Integrations.
		op("POST", "apis/{apiId}/integrations", "CreateIntegration", s.createIntegration),
		op("GET", "apis/{apiId}/integrations", "GetIntegrations", s.getIntegrations),
		op("GET", "apis/{apiId}/integrations/{integrationId}", "GetIntegration", s.getIntegration),
		op("PATCH", "apis/{apiId}/integrations/{integrationId}", "UpdateIntegration", s.updateIntegration),
		op("DELETE", "apis/{apiId}/integrations/{integrationId}", "DeleteIntegration", s.deleteIntegration),
		op("POST", "apis/{apiId}/integrations/{integrationId}/integrationresponses", "CreateIntegrationResponse", nil),
		op("GET", "apis/{apiId}/integrations/{integrationId}/integrationresponses", "GetIntegrationResponses", nil),
		op("GET", "apis/{apiId}/integrations/{integrationId}/integrationresponses/{id}", "GetIntegrationResponse", nil),
		op("PATCH", "apis/{apiId}/integrations/{integrationId}/integrationresponses/{id}", "UpdateIntegrationResponse", nil),
		op("DELETE", "apis/{apiId}/integrations/{integrationId}/integrationresponses/{id}", "DeleteIntegrationResponse", nil),

		// Stages.
		op("POST", "apis/{apiId}/stages", "CreateStage", s.createStage),
		op("GET", "apis/{apiId}/stages", "GetStages", s.getStages),
		op("GET", "apis/{apiId}/stages/{stageName}", "GetStage", s.getStage),
		op("PATCH", "apis/{apiId}/stages/{stageName}", "UpdateStage", s.updateStage),
		op("DELETE", "apis/{apiId}/stages/{stageName}", "DeleteStage", s.deleteStage),
		op("DELETE", "apis/{apiId}/stages/{stageName}/accesslogsettings", "DeleteAccessLogSettings", s.deleteAccessLogSettings),
		op("DELETE", "apis/{apiId}/stages/{stageName}/routesettings/{routeKey}", "DeleteRouteSettings", s.deleteRouteSettings),
		op("DELETE", "apis/{apiId}/stages/{stageName}/cache/authorizers", "ResetAuthorizersCache", nil),

		// Deployments.
		op("POST", "apis/{apiId}/deployments", "CreateDeployment", s.createDeployment),
		op("GET", "apis/{apiId}/deployments", "GetDeployments", s.getDeployments),
		op("GET", "apis/{apiId}/deployments/{deploymentId}", "GetDeployment", s.getDeployment),
		op("PATCH", "apis/{apiId}/deployments/{deploymentId}", "UpdateDeployment", s.updateDeployment),
		op("DELETE", "apis/{apiId}/deployments/{deploymentId}", "DeleteDeployment", s.deleteDeployment),

		// Authorizers; models are not built yet.
		op("POST", "apis/{apiId}/authorizers", "CreateAuthorizer", s.createAuthorizer),
		op("GET", "apis/{apiId}/authorizers", "GetAuthorizers", s.getAuthorizers),
		op("GET", "apis/{apiId}/authorizers/{id}", "GetAuthorizer", s.getAuthorizer),
		op("PATCH", "apis/{apiId}/authorizers/{id}", "UpdateAuthorizer", s.updateAuthorizer),
		op("DELETE", "apis/{apiId}/authorizers/{id}", "DeleteAuthorizer", s.deleteAuthorizer),
		op("POST", "apis/{apiId}/models", "CreateModel", nil),
		op("GET", "apis/{apiId}/models", "GetModels", nil),
		op("GET", "apis/{apiId}/models/{id}", "GetModel", nil),
		op("PATCH", "apis/{apiId}/models/{id}", "UpdateModel", nil),
		op("DELETE", "apis/{apiId}/models/{id}", "DeleteModel", nil),
		op("GET", "apis/{apiId}/models/{id}/template", "GetModelTemplate", nil),

		// Domain names, API mappings, routing rules, VPC links, portals.
		op("POST", "domainnames", "CreateDomainName", s.createDomainName),
		op("GET", "domainnames", "GetDomainNames", s.getDomainNames),
		op("GET", "domainnames/{domainName}", "GetDomainName", s.getDomainName),
		op("PATCH", "domainnames/{domainName}", "UpdateDomainName", s.updateDomainName),
		op("DELETE", "domainnames/{domainName}", "DeleteDomainName", s.deleteDomainName),
		op("POST", "domainnames/{domainName}/apimappings", "CreateApiMapping", s.createAPIMapping),
		op("GET", "domainnames/{domainName}/apimappings", "GetApiMappings", s.getAPIMappings),
		op("GET", "domainnames/{domainName}/apimappings/{id}", "GetApiMapping", s.getAPIMapping),
		op("PATCH", "domainnames/{domainName}/apimappings/{id}", "UpdateApiMapping", s.updateAPIMapping),
		op("DELETE", "domainnames/{domainName}/apimappings/{id}", "DeleteApiMapping", s.deleteAPIMapping),
		op("POST", "domainnames/{domainName}/routingrules", "CreateRoutingRule", nil),
		op("GET", "domainnames/{domainName}/routingrules", "ListRoutingRules", nil),
		op("GET", "domainnames/{domainName}/routingrules/{id}", "GetRoutingRule", nil),
		op("PUT", "domainnames/{domainName}/routingrules/{id}", "PutRoutingRule", nil),
		op("DELETE", "domainnames/{domainName}/routingrules/{id}", "DeleteRoutingRule", nil),
		op("POST", "vpclinks", "CreateVpcLink", s.createVPCLink),
		op("GET", "vpclinks", "GetVpcLinks", s.getVPCLinks),
		op("GET", "vpclinks/{id}", "GetVpcLink", s.getVPCLink),
		op("PATCH", "vpclinks/{id}", "UpdateVpcLink", s.updateVPCLink),
		op("DELETE", "vpclinks/{id}", "DeleteVpcLink", s.deleteVPCLink),
		op("POST", "portals", "CreatePortal", nil),
		op("GET", "portals", "ListPortals", nil),
		op("POST", "portalproducts", "CreatePortalProduct", nil),
		op("GET", "portalproducts", "ListPortalProducts", nil),

		// Tags: the ARN is one escaped path label.
		op("GET", "tags/{resourceArn}", "GetTags", s.getTags),
		op("POST", "tags/{resourceArn}", "TagResource", s.tagResource),
		op("DELETE", "tags/{resourceArn}", "UntagResource", s.untagResource),
	}
}

// ServeHTTP answers one apigatewayv2 request. The server has already verified
// SigV4 and set x-amzn-RequestId.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	segs, ok := splitPath(r.URL)
	if !ok {
		awsproto.WriteError(w, awsproto.StyleAPIGateway, errNoSuchPath(r))
		return
	}
	o, params, found := s.match(r.Method, segs)
	if !found {
		awsproto.WriteError(w, awsproto.StyleAPIGateway, errNoSuchPath(r))
		return
	}
	if o.handler == nil {
		awsproto.WriteError(w, awsproto.StyleAPIGateway, notImplemented(o.name))
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil {
		awsproto.WriteError(w, awsproto.StyleAPIGateway, badRequest("Could not read request body: %v", err))
		return
	}
	if len(body) > maxBodyBytes {
		awsproto.WriteError(w, awsproto.StyleAPIGateway, badRequest("Request body is too large"))
		return
	}
	status, out, err := o.handler(r.Context(), &request{params: params, query: r.URL.Query(), body: body})
	if err != nil {
		ae, public := awsproto.Public(err)
		if !public {
			// The detail is for the operator; the client gets InternalFailure.
			s.log.Error("apigatewayv2 operation failed", "op", o.name, "err", err,
				"requestId", awsproto.RequestID(r.Context()))
			ae = awsproto.InternalFailure(awsproto.StyleAPIGateway)
		}
		awsproto.WriteError(w, awsproto.StyleAPIGateway, ae)
		return
	}
	if out == nil {
		w.WriteHeader(status)
		return
	}
	if raw, ok := out.(rawBody); ok {
		if err := raw.write(w); err != nil {
			s.log.Warn("apigatewayv2 response not written", "op", o.name, "err", err)
		}
		return
	}
	awsproto.WriteJSON(w, status, out)
}

// rawBody is a response that is not a JSON structure (ExportApi's document).
type rawBody interface {
	write(w http.ResponseWriter) error
}

// maxBodyBytes bounds a control-plane request body; API definitions are small.
const maxBodyBytes = 6 << 20

// splitPath returns the escaped-then-unescaped segments of the path after /v2/.
// Labels are escaped by the SDKs (a tag ARN's "/" arrives as %2F, a route key's
// space as %20), so the path is split before unescaping.
func splitPath(u *url.URL) ([]string, bool) {
	p := u.EscapedPath()
	rest, ok := strings.CutPrefix(p, "/v2/")
	if !ok {
		return nil, false
	}
	rest = strings.TrimSuffix(rest, "/")
	raw := strings.Split(rest, "/")
	segs := make([]string, 0, len(raw))
	for i, seg := range raw {
		if len(raw) >= 2 && raw[0] == "tags" && i >= 1 {
			// A tag ARN sent with its "/" unescaped (some clients do) is still one label.
			joined, err := url.PathUnescape(strings.Join(raw[1:], "/"))
			if err != nil {
				return nil, false
			}
			return append(segs, joined), true
		}
		v, err := url.PathUnescape(seg)
		if err != nil {
			return nil, false
		}
		segs = append(segs, v)
	}
	return segs, true
}

func (s *Service) match(method string, segs []string) (operation, map[string]string, bool) {
	for _, o := range s.routes {
		if o.method != method || len(o.pattern) != len(segs) {
			continue
		}
		params := map[string]string{}
		ok := true
		for i, p := range o.pattern {
			if strings.HasPrefix(p, "{") {
				if segs[i] == "" {
					ok = false
					break
				}
				params[strings.Trim(p, "{}")] = segs[i]
				continue
			}
			if p != segs[i] {
				ok = false
				break
			}
		}
		if ok {
			return o, params, true
		}
	}
	return operation{}, nil, false
}

func errNoSuchPath(r *http.Request) *awsproto.Error {
	return awsproto.NotFound("NotFoundException", "Unable to find a matching operation for %s %s", r.Method, r.URL.Path)
}

func badRequest(format string, args ...any) *awsproto.Error {
	return awsproto.BadRequest("BadRequestException", format, args...)
}

func notFound(format string, args ...any) *awsproto.Error {
	return awsproto.NotFound("NotFoundException", format, args...)
}

// notImplemented is the answer to an AWS operation or option Sluice does not build
// yet: 501 with AWS's error shape, so clients fail loudly instead of silently.
func notImplemented(what string) *awsproto.Error {
	return &awsproto.Error{Status: http.StatusNotImplemented, Code: "NotImplementedException",
		Message: what + " is not implemented in Sluice yet"}
}

func conflict(format string, args ...any) *awsproto.Error {
	return awsproto.Conflict("ConflictException", format, args...)
}

// decode reads a JSON request body into v. An empty body is an empty object.
func decode(req *request, v any) error {
	err := awsproto.DecodeJSON(req.body, v)
	var de *awsproto.DecodeError
	if errors.As(err, &de) {
		// API Gateway's wording for a body that does not parse, with the detail
		// in JSON terms, never Go's.
		return badRequest("Could not parse request body into json: %s", de.Error())
	}
	return err
}

// timestamp is "now" as API Gateway reports it: UTC, whole seconds.
func (s *Service) timestamp() time.Time { return s.now().UTC().Truncate(time.Second) }
