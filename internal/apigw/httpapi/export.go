package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/sluice-dev/sluice/internal/apigw/model"
	"github.com/sluice-dev/sluice/internal/store"
)

// exportAPI is ExportApi: an OpenAPI 3.0 definition of the API (the live
// definition, or with stageName the one that stage serves), in the shape API
// Gateway exports: routes as paths, ANY as x-amazon-apigateway-any-method, the
// $default route as the path "/$default", integrations and CORS as extensions.
// ImportApi reads it back.
func (s *Service) exportAPI(ctx context.Context, req *request) (int, any, error) {
	if spec := req.params["specification"]; spec != "OAS30" {
		return 0, nil, badRequest("Invalid specification specified: %s. Must be OAS30", spec)
	}
	outputType := req.query.Get("outputType")
	if outputType != "JSON" && outputType != "YAML" {
		return 0, nil, badRequest("Invalid outputType specified. Must be one of [JSON, YAML]")
	}
	if v := req.query.Get("exportVersion"); v != "" && v != "1.0" {
		return 0, nil, badRequest("Invalid exportVersion specified. Must be 1.0")
	}
	extensions := req.query.Get("includeExtensions") != "false"

	r := s.reader(ctx)
	apiID := req.params["apiId"]
	api, err := s.loadAPI(r, apiID)
	if err != nil {
		return 0, nil, err
	}
	var routes []*model.Route
	var integs map[string]*model.Integration2
	var auths map[string]*model.Authorizer2
	stageName := req.query.Get("stageName")
	if stageName != "" {
		st, err := loadStage(r, apiID, stageName)
		if err != nil {
			return 0, nil, err
		}
		if st.DeploymentID == "" {
			return 0, nil, badRequest("Stage %s has no deployment to export", stageName)
		}
		snap, ok, err := store.GetRecord[model.HTTPSnapshot](r, model.Key(model.HTTPSnapshotPrefix, apiID, st.DeploymentID))
		if err != nil {
			return 0, nil, err
		}
		if !ok {
			return 0, nil, notFound("Invalid Deployment identifier specified %s", st.DeploymentID)
		}
		api, routes, integs, auths = &snap.API, snap.Routes, snap.Integrations, snap.Authorizers
	} else {
		if routes, err = store.ListRecords[model.Route](r, apiChild(model.HTTPRoutePrefix, apiID)); err != nil {
			return 0, nil, err
		}
		list, err := store.ListRecords[model.Integration2](r, apiChild(model.HTTPIntegrationPrefix, apiID))
		if err != nil {
			return 0, nil, err
		}
		integs = map[string]*model.Integration2{}
		for _, in := range list {
			integs[in.IntegrationID] = in
		}
		alist, err := store.ListRecords[model.Authorizer2](r, apiChild(model.HTTPAuthorizerPrefix, apiID))
		if err != nil {
			return 0, nil, err
		}
		auths = map[string]*model.Authorizer2{}
		for _, a := range alist {
			auths[a.AuthorizerID] = a
		}
	}
	doc := s.openAPIDocument(api, stageName, routes, integs, extensions)
	exportSecurity(doc, routes, auths, extensions)
	return http.StatusOK, exportBody{doc: doc, yaml: outputType == "YAML"}, nil
}

// exportBody is a raw document response; ServeHTTP writes it as it is.
type exportBody struct {
	doc  map[string]any
	yaml bool
}

func (b exportBody) write(w http.ResponseWriter) error {
	var out []byte
	var err error
	if b.yaml {
		w.Header().Set("Content-Type", "application/yaml")
		out, err = yaml.Marshal(b.doc)
	} else {
		w.Header().Set("Content-Type", "application/json")
		out, err = json.MarshalIndent(b.doc, "", "  ")
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(out)
	return err
}

func (s *Service) openAPIDocument(api *model.HTTPAPI, stageName string, routes []*model.Route,
	integs map[string]*model.Integration2, extensions bool) map[string]any {
	info := map[string]any{"title": api.Name, "version": api.Version}
	if api.Version == "" {
		info["version"] = api.CreatedDate.Format("2006-01-02 15:04:05UTC")
	}
	if api.Description != "" {
		info["description"] = api.Description
	}
	server := s.endpoint(api.APIID)
	if stageName != "" && stageName != defaultStageName {
		server += "/" + stageName
	}
	doc := map[string]any{
		"openapi": "3.0.1",
		"info":    info,
		"servers": []any{map[string]any{
			"url":       server + "/{basePath}",
			"variables": map[string]any{"basePath": map[string]any{"default": ""}},
		}},
	}
	paths := map[string]any{}
	for _, rt := range routes {
		path, method := "/$default", "x-amazon-apigateway-any-method"
		if rt.RouteKey != "$default" {
			verb, p, _ := strings.Cut(rt.RouteKey, " ")
			path = p
			method = strings.ToLower(verb)
			if verb == "ANY" {
				method = "x-amazon-apigateway-any-method"
			}
		}
		item, _ := paths[path].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[path] = item
		}
		op := map[string]any{
			"responses": map[string]any{"default": map[string]any{"description": "Default response for " + rt.RouteKey}},
		}
		if rt.OperationName != "" {
			op["operationId"] = rt.OperationName
		}
		if params := pathParameters(path); len(params) > 0 {
			op["parameters"] = params
		}
		if id, ok := strings.CutPrefix(rt.Target, "integrations/"); ok && extensions {
			if in := integs[id]; in != nil {
				op["x-amazon-apigateway-integration"] = integrationExtension(in)
			}
		}
		item[method] = op
	}
	doc["paths"] = paths
	if extensions {
		doc["x-amazon-apigateway-importexport-version"] = "1.0"
		if c := api.CorsConfiguration; c != nil {
			cors := map[string]any{}
			if c.AllowCredentials {
				cors["allowCredentials"] = true
			}
			for k, v := range map[string][]string{"allowHeaders": c.AllowHeaders, "allowMethods": c.AllowMethods,
				"allowOrigins": c.AllowOrigins, "exposeHeaders": c.ExposeHeaders} {
				if len(v) > 0 {
					cors[k] = v
				}
			}
			if c.MaxAge != nil {
				cors["maxAge"] = *c.MaxAge
			}
			doc["x-amazon-apigateway-cors"] = cors
		}
		if api.DisableExecuteAPIEndpoint {
			doc["x-amazon-apigateway-disable-execute-api-endpoint"] = true
		}
	}
	return doc
}

func pathParameters(path string) []any {
	var out []any
	for _, seg := range strings.Split(path, "/") {
		if m := pathParamSegment.FindStringSubmatch(seg); m != nil {
			name := m[1]
			if m[2] == "+" {
				name += "+"
			}
			out = append(out, map[string]any{"name": name, "in": "path", "required": true,
				"schema": map[string]any{"type": "string"}})
		}
	}
	return out
}

func integrationExtension(in *model.Integration2) map[string]any {
	x := map[string]any{
		"type":                 strings.ToLower(in.IntegrationType),
		"uri":                  in.IntegrationURI,
		"payloadFormatVersion": in.PayloadFormatVersion,
		"connectionType":       in.ConnectionType,
		"timeoutInMillis":      in.TimeoutInMillis,
	}
	if in.IntegrationMethod != "" {
		x["httpMethod"] = in.IntegrationMethod
	}
	if in.CredentialsArn != "" {
		x["credentials"] = in.CredentialsArn
	}
	if in.Description != "" {
		x["description"] = in.Description
	}
	if len(in.RequestParameters) > 0 {
		x["requestParameters"] = in.RequestParameters
	}
	if len(in.ResponseParameters) > 0 {
		x["responseParameters"] = in.ResponseParameters
	}
	return x
}

// exportSecurity writes the routes' authorization as ImportApi reads it back (and as
// API Gateway exports it): each route's security requirement naming its authorizer
// (with the route's scopes) or "sigv4" for AWS_IAM, and the schemes under
// components.securitySchemes, JWT authorizers as oauth2 and Lambda authorizers as
// apiKey schemes carrying x-amazon-apigateway-authorizer. Without extensions the
// schemes carry no authorizer, so importing such an export is refused rather than
// served unprotected.
func exportSecurity(doc map[string]any, routes []*model.Route, auths map[string]*model.Authorizer2, extensions bool) {
	paths, _ := doc["paths"].(map[string]any)
	schemes := map[string]any{}
	for _, rt := range routes {
		var name string
		switch rt.AuthorizationType {
		case "AWS_IAM":
			name = "sigv4"
			schemes[name] = map[string]any{"type": "apiKey", "name": "Authorization", "in": "header",
				"x-amazon-apigateway-authtype": "awsSigv4"}
		case "JWT", "CUSTOM":
			a := auths[rt.AuthorizerID]
			if a == nil {
				continue
			}
			name = a.Name
			schemes[name] = authorizerScheme(a, extensions)
		default:
			continue
		}
		path, method := routePathMethod(rt.RouteKey)
		item, _ := paths[path].(map[string]any)
		op, _ := item[method].(map[string]any)
		if op == nil {
			continue
		}
		scopes := rt.AuthorizationScopes
		if scopes == nil {
			scopes = []string{}
		}
		op["security"] = []any{map[string]any{name: scopes}}
	}
	if len(schemes) > 0 {
		doc["components"] = map[string]any{"securitySchemes": schemes}
	}
}

func authorizerScheme(a *model.Authorizer2, extensions bool) map[string]any {
	x := map[string]any{"identitySource": strings.Join(a.IdentitySource, ",")}
	scheme := map[string]any{}
	if a.AuthorizerType == "JWT" {
		scheme["type"], scheme["flows"] = "oauth2", map[string]any{}
		x["type"] = "jwt"
		if j := a.JwtConfiguration; j != nil {
			x["jwtConfiguration"] = map[string]any{"issuer": j.Issuer, "audience": j.Audience}
		}
	} else {
		scheme["type"], scheme["name"], scheme["in"] = "apiKey", "Authorization", "header"
		x["type"] = "request"
		x["authorizerUri"] = a.AuthorizerURI
		x["authorizerPayloadFormatVersion"] = a.AuthorizerPayloadFormatVersion
		if a.AuthorizerCredentialsArn != "" {
			x["authorizerCredentials"] = a.AuthorizerCredentialsArn
		}
		if a.AuthorizerResultTTLInSeconds != nil {
			x["authorizerResultTtlInSeconds"] = *a.AuthorizerResultTTLInSeconds
		}
		if a.EnableSimpleResponses {
			x["enableSimpleResponses"] = true
		}
	}
	if extensions {
		scheme["x-amazon-apigateway-authorizer"] = x
	}
	return scheme
}

// routePathMethod is where openAPIDocument puts a route: its path and operation key.
func routePathMethod(routeKey string) (path, method string) {
	if routeKey == "$default" {
		return "/$default", "x-amazon-apigateway-any-method"
	}
	verb, p, _ := strings.Cut(routeKey, " ")
	if verb == "ANY" {
		return p, "x-amazon-apigateway-any-method"
	}
	return p, strings.ToLower(verb)
}
