package httpapi

import (
	"context"
	"net/http"
	"regexp"
	"strings"

	"github.com/sluice-dev/sluice/internal/apigw/model"
	"github.com/sluice-dev/sluice/internal/store"
)

// routeInput is the body of CreateRoute and UpdateRoute.
type routeInput struct {
	RouteKey                         *string                      `json:"routeKey"`
	APIKeyRequired                   *bool                        `json:"apiKeyRequired"`
	AuthorizationScopes              *[]string                    `json:"authorizationScopes"`
	AuthorizationType                *string                      `json:"authorizationType"`
	AuthorizerID                     *string                      `json:"authorizerId"`
	ModelSelectionExpression         *string                      `json:"modelSelectionExpression"`
	OperationName                    *string                      `json:"operationName"`
	RequestModels                    map[string]string            `json:"requestModels"`
	RequestParameters                map[string]parameterRequired `json:"requestParameters"`
	RouteResponseSelectionExpression *string                      `json:"routeResponseSelectionExpression"`
	Target                           *string                      `json:"target"`
}

// parameterRequired is apigatewayv2's ParameterConstraints.
type parameterRequired struct {
	Required bool `json:"required"`
}

func (s *Service) createRoute(ctx context.Context, req *request) (int, any, error) {
	var in routeInput
	if err := decode(req, &in); err != nil {
		return 0, nil, err
	}
	if in.RouteKey == nil {
		return 0, nil, badRequest("Invalid route key specified: routeKey is required")
	}
	apiID := req.params["apiId"]
	route := &model.Route{AuthorizationType: "NONE"}
	if err := applyRouteFields(route, &in); err != nil {
		return 0, nil, err
	}
	err := s.store.Update(ctx, func(tx store.Tx) error {
		if _, err := s.loadAPI(tx, apiID); err != nil {
			return err
		}
		id, err := newID(tx, apiChild(model.HTTPRoutePrefix, apiID), 7)
		if err != nil {
			return err
		}
		route.RouteID = id
		if err := checkRoute(tx, apiID, route); err != nil {
			return err
		}
		if err := putRoute(tx, apiID, "", route); err != nil {
			return err
		}
		return s.autoDeploy(tx, apiID, s.timestamp())
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, route, nil
}

func (s *Service) getRoute(ctx context.Context, req *request) (int, any, error) {
	r := s.reader(ctx)
	apiID := req.params["apiId"]
	if _, err := s.loadAPI(r, apiID); err != nil {
		return 0, nil, err
	}
	route, err := loadRoute(r, apiID, req.params["routeId"])
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, route, nil
}

func (s *Service) getRoutes(ctx context.Context, req *request) (int, any, error) {
	r := s.reader(ctx)
	apiID := req.params["apiId"]
	if _, err := s.loadAPI(r, apiID); err != nil {
		return 0, nil, err
	}
	routes, err := store.ListRecords[model.Route](r, apiChild(model.HTTPRoutePrefix, apiID))
	if err != nil {
		return 0, nil, err
	}
	p, err := paginate(req, routes, func(rt *model.Route) string { return rt.RouteID })
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, p, nil
}

func (s *Service) updateRoute(ctx context.Context, req *request) (int, any, error) {
	var in routeInput
	if err := decode(req, &in); err != nil {
		return 0, nil, err
	}
	apiID, routeID := req.params["apiId"], req.params["routeId"]
	var out *model.Route
	err := s.store.Update(ctx, func(tx store.Tx) error {
		if _, err := s.loadAPI(tx, apiID); err != nil {
			return err
		}
		route, err := loadRoute(tx, apiID, routeID)
		if err != nil {
			return err
		}
		oldKey := route.RouteKey
		if err := applyRouteFields(route, &in); err != nil {
			return err
		}
		if err := checkRoute(tx, apiID, route); err != nil {
			return err
		}
		if err := putRoute(tx, apiID, oldKey, route); err != nil {
			return err
		}
		out = route
		return s.autoDeploy(tx, apiID, s.timestamp())
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, out, nil
}

func (s *Service) deleteRoute(ctx context.Context, req *request) (int, any, error) {
	apiID, routeID := req.params["apiId"], req.params["routeId"]
	err := s.store.Update(ctx, func(tx store.Tx) error {
		if _, err := s.loadAPI(tx, apiID); err != nil {
			return err
		}
		route, err := loadRoute(tx, apiID, routeID)
		if err != nil {
			return err
		}
		if err := deleteRouteRecord(tx, apiID, route); err != nil {
			return err
		}
		return s.autoDeploy(tx, apiID, s.timestamp())
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

// deleteRouteRequestParameter is DeleteRouteRequestParameter: UpdateRoute merges
// requestParameters, so this is how one is removed.
func (s *Service) deleteRouteRequestParameter(ctx context.Context, req *request) (int, any, error) {
	apiID, routeID, key := req.params["apiId"], req.params["routeId"], req.params["key"]
	err := s.store.Update(ctx, func(tx store.Tx) error {
		if _, err := s.loadAPI(tx, apiID); err != nil {
			return err
		}
		route, err := loadRoute(tx, apiID, routeID)
		if err != nil {
			return err
		}
		if _, ok := route.RequestParameters[key]; !ok {
			return notFound("Invalid request parameter key specified %s", key)
		}
		delete(route.RequestParameters, key)
		if len(route.RequestParameters) == 0 {
			route.RequestParameters = nil
		}
		if err := store.PutRecord(tx, model.Key(model.HTTPRoutePrefix, apiID, routeID), route); err != nil {
			return err
		}
		return s.autoDeploy(tx, apiID, s.timestamp())
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

// applyRouteFields copies the fields present in in onto route, checking each on
// its own; checkRoute then checks the whole record against the API's state.
func applyRouteFields(route *model.Route, in *routeInput) error {
	if in.RouteKey != nil {
		if err := validateRouteKey(*in.RouteKey); err != nil {
			return err
		}
		route.RouteKey = *in.RouteKey
	}
	if in.APIKeyRequired != nil {
		// AWS: apiKeyRequired is "supported only for WebSocket APIs".
		if *in.APIKeyRequired {
			return badRequest("API keys are supported only for WebSocket APIs; apiKeyRequired must be false for HTTP APIs")
		}
		route.APIKeyRequired = false
	}
	if in.AuthorizationType != nil {
		switch *in.AuthorizationType {
		case "NONE", "JWT", "CUSTOM", "AWS_IAM":
			route.AuthorizationType = *in.AuthorizationType
		default:
			return badRequest("Invalid authorization type specified. Must be one of [NONE, AWS_IAM, CUSTOM, JWT]")
		}
	}
	if in.AuthorizerID != nil {
		route.AuthorizerID = *in.AuthorizerID
	}
	if in.AuthorizationScopes != nil {
		route.AuthorizationScopes = *in.AuthorizationScopes
		if len(route.AuthorizationScopes) == 0 {
			route.AuthorizationScopes = nil
		}
	}
	if in.ModelSelectionExpression != nil && *in.ModelSelectionExpression != "" {
		return badRequest("ModelSelectionExpression is supported only for WebSocket APIs")
	}
	if in.RouteResponseSelectionExpression != nil && *in.RouteResponseSelectionExpression != "" {
		return badRequest("RouteResponseSelectionExpression is supported only for WebSocket APIs")
	}
	if len(in.RequestModels) > 0 {
		return badRequest("RequestModels are supported only for WebSocket APIs")
	}
	if in.OperationName != nil {
		route.OperationName = *in.OperationName
	}
	if in.RequestParameters != nil {
		if route.RequestParameters == nil {
			route.RequestParameters = map[string]any{}
		}
		for k, v := range in.RequestParameters {
			if !routeParameterKey.MatchString(k) {
				return badRequest("Invalid request parameter key specified %s: must be route.request.header|querystring|path.{name}", k)
			}
			route.RequestParameters[k] = map[string]any{"required": v.Required}
		}
	}
	if in.Target != nil {
		route.Target = *in.Target
	}
	return nil
}

var routeParameterKey = regexp.MustCompile(`^route\.request\.(header|querystring|path)\.[A-Za-z0-9._~!$&'()*+,;=:@-]+$`)

// checkRoute checks a complete route against the API: the key is unique, the
// target names an existing integration, and the authorizer fits the type.
func checkRoute(tx store.Tx, apiID string, route *model.Route) error {
	if err := checkRouteKeyUnique(tx, apiID, route); err != nil {
		return err
	}
	if route.Target != "" {
		integrationID, ok := strings.CutPrefix(route.Target, "integrations/")
		if !ok || integrationID == "" || strings.Contains(integrationID, "/") {
			return badRequest("Invalid target specified %s: must be of the form integrations/{integrationId}", route.Target)
		}
		if _, err := loadIntegration(tx, apiID, integrationID); err != nil {
			return err
		}
	}
	switch route.AuthorizationType {
	case "JWT", "CUSTOM":
		if route.AuthorizerID == "" {
			return badRequest("An authorizerId is required when authorizationType is %s", route.AuthorizationType)
		}
		auth, ok, err := store.GetRecord[model.Authorizer2](tx, model.Key(model.HTTPAuthorizerPrefix, apiID, route.AuthorizerID))
		if err != nil {
			return err
		}
		if !ok {
			return notFound("Invalid Authorizer identifier specified %s", route.AuthorizerID)
		}
		want := "JWT"
		if route.AuthorizationType == "CUSTOM" {
			want = "REQUEST"
		}
		if auth.AuthorizerType != want {
			return badRequest("Authorizer %s is of type %s; authorizationType %s requires a %s authorizer",
				route.AuthorizerID, auth.AuthorizerType, route.AuthorizationType, want)
		}
	default:
		if route.AuthorizerID != "" {
			return badRequest("An authorizerId can be set only when authorizationType is JWT or CUSTOM")
		}
	}
	if len(route.AuthorizationScopes) > 0 && route.AuthorizationType != "JWT" {
		// HTTP APIs evaluate scopes only against JWT access tokens.
		return badRequest("AuthorizationScopes are supported only when authorizationType is JWT")
	}
	return nil
}

// errDuplicateRouteKey is AWS's 409 for a second route with the same key:
// "Route with key ANY /{proxy+} already exists for this API".
func errDuplicateRouteKey(key string) error {
	return conflict("Route with key %s already exists for this API", key)
}

// routeKeyMethods are the methods an HTTP API route key may start with.
var routeKeyMethods = map[string]bool{
	"ANY": true, "GET": true, "POST": true, "PUT": true, "PATCH": true, "DELETE": true, "HEAD": true, "OPTIONS": true,
}

var (
	pathParamSegment   = regexp.MustCompile(`^\{([A-Za-z0-9._-]+)(\+?)\}$`)
	literalPathSegment = regexp.MustCompile(`^[A-Za-z0-9._~!$&'()*+,;=:@%-]+$`)
)

// validateRouteKey checks an HTTP API route key: "$default", or "METHOD /path"
// where METHOD is GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS or ANY and the path
// starts with "/", has no empty segments, and uses whole-segment parameters
// ("{id}") with at most one greedy parameter ("{proxy+}") as its last segment.
func validateRouteKey(key string) error {
	if key == "$default" {
		return nil
	}
	bad := func(why string) error {
		return badRequest("Invalid route key specified: %s. %s", key, why)
	}
	method, path, ok := strings.Cut(key, " ")
	if !ok {
		return bad("A route key must be $default or an HTTP method followed by a space and a resource path, such as GET /pets")
	}
	if !routeKeyMethods[method] {
		return bad("The method must be one of ANY, DELETE, GET, HEAD, OPTIONS, PATCH, POST or PUT")
	}
	if !strings.HasPrefix(path, "/") {
		return bad("The resource path must start with /")
	}
	if path == "/" {
		return nil
	}
	segs := strings.Split(path[1:], "/")
	seen := map[string]bool{}
	for i, seg := range segs {
		if seg == "" {
			return bad("The resource path must not contain empty segments or end with /")
		}
		if m := pathParamSegment.FindStringSubmatch(seg); m != nil {
			if m[2] == "+" && i != len(segs)-1 {
				return bad("A greedy path variable such as {proxy+} must be the last segment of the path")
			}
			if seen[m[1]] {
				return bad("Path variable " + m[1] + " is used more than once")
			}
			seen[m[1]] = true
			continue
		}
		if strings.ContainsAny(seg, "{}") {
			return bad("A path variable must be a whole path segment, such as /{id}")
		}
		if !literalPathSegment.MatchString(seg) {
			return bad("The resource path contains characters that are not allowed")
		}
	}
	return nil
}
