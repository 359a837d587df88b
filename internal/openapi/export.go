package openapi

import (
	"encoding/json"
	"sort"
	"strings"
	"time"

	"github.com/sluice-dev/sluice/internal/apigw/model"
)

// ExportOptions are GetExport's: the format and which extensions to include.
type ExportOptions struct {
	Swagger bool // exportType swagger (2.0); oas30 otherwise
	// Integrations, Authorizers and APIGateway are extensions=integrations,
	// authorizers, apigateway (apigateway implies the other two, plus validators,
	// gateway responses, binary media types, policy and the API key source).
	Integrations, Authorizers, APIGateway bool
	Host                                  string // execute-api host of the API
	Stage                                 string
	DeployedAt                            time.Time
}

// ExportRest writes the snapshot a stage serves as an OpenAPI 3.0 or Swagger 2.0
// document, in the shape API Gateway exports (ImportRestApi reads it back).
func ExportRest(snap *model.RestSnapshot, opts ExportOptions) map[string]any {
	if opts.APIGateway {
		opts.Integrations, opts.Authorizers = true, true
	}
	api := snap.API
	version := api.Version
	if version == "" {
		version = opts.DeployedAt.UTC().Format("2006-01-02T15:04:05Z")
	}
	info := map[string]any{"title": api.Name, "version": version}
	if api.Description != "" {
		info["description"] = api.Description
	}
	doc := map[string]any{"info": info}
	if opts.Swagger {
		doc["swagger"] = "2.0"
		doc["host"] = opts.Host
		doc["basePath"] = "/" + opts.Stage
		doc["schemes"] = []string{"https"}
	} else {
		doc["openapi"] = "3.0.1"
		doc["servers"] = []any{map[string]any{
			"url":       "https://" + opts.Host + "/{basePath}",
			"variables": map[string]any{"basePath": map[string]any{"default": opts.Stage}},
		}}
	}
	schemaRef := func(name string) map[string]any {
		if opts.Swagger {
			return map[string]any{"$ref": swaggerDefinitionsRef + name}
		}
		return map[string]any{"$ref": componentsSchemasRef + name}
	}
	validatorNames := map[string]string{}
	for id, v := range snap.RequestValidators {
		validatorNames[id] = v.Name
	}
	usedSchemes := map[string]map[string]any{}
	paths := map[string]any{}
	resources := append([]*model.Resource(nil), snap.Resources...)
	sort.Slice(resources, func(i, j int) bool { return resources[i].Path < resources[j].Path })
	for _, r := range resources {
		if len(r.ResourceMethods) == 0 {
			continue
		}
		item := map[string]any{}
		for verb, m := range r.ResourceMethods {
			op := exportOperation(snap, m, opts, schemaRef, validatorNames, usedSchemes)
			key := strings.ToLower(verb)
			if verb == "ANY" {
				key = extAnyMethod
			}
			item[key] = op
		}
		paths[r.Path] = item
	}
	doc["paths"] = paths

	schemas := map[string]any{}
	for name, m := range snap.Models {
		var s map[string]any
		if json.Unmarshal([]byte(m.Schema), &s) != nil {
			continue
		}
		delete(s, "$schema")
		schemas[name] = s
	}
	if opts.Swagger {
		if len(schemas) > 0 {
			doc["definitions"] = schemas
		}
		if len(usedSchemes) > 0 {
			doc["securityDefinitions"] = usedSchemes
		}
	} else {
		comp := map[string]any{}
		if len(schemas) > 0 {
			comp["schemas"] = schemas
		}
		if len(usedSchemes) > 0 {
			comp["securitySchemes"] = usedSchemes
		}
		if len(comp) > 0 {
			doc["components"] = comp
		}
	}
	if opts.APIGateway {
		if len(api.BinaryMediaTypes) > 0 {
			doc[extBinaryMediaTypes] = api.BinaryMediaTypes
		}
		if api.APIKeySource != "" && api.APIKeySource != "HEADER" {
			doc[extAPIKeySource] = api.APIKeySource
		}
		if api.Policy != "" {
			var p any
			if json.Unmarshal([]byte(api.Policy), &p) == nil {
				doc[extPolicy] = p
			}
		}
		if len(snap.RequestValidators) > 0 {
			vals := map[string]any{}
			for _, v := range snap.RequestValidators {
				vals[v.Name] = map[string]any{"validateRequestBody": v.ValidateRequestBody, "validateRequestParameters": v.ValidateRequestParameters}
			}
			doc[extRequestValidators] = vals
		}
		if len(snap.GatewayResponses) > 0 {
			grs := map[string]any{}
			for t, g := range snap.GatewayResponses {
				e := map[string]any{}
				if g.StatusCode != "" {
					e["statusCode"] = g.StatusCode
				}
				if len(g.ResponseParameters) > 0 {
					e["responseParameters"] = g.ResponseParameters
				}
				if len(g.ResponseTemplates) > 0 {
					e["responseTemplates"] = g.ResponseTemplates
				}
				grs[t] = e
			}
			doc[extGatewayResponses] = grs
		}
		if ec := api.EndpointConfiguration; ec != nil && (len(ec.VpcEndpointIDs) > 0 || api.DisableExecuteAPIEndpoint) {
			e := map[string]any{}
			if len(ec.VpcEndpointIDs) > 0 {
				e["vpcEndpointIds"] = ec.VpcEndpointIDs
			}
			if api.DisableExecuteAPIEndpoint {
				e["disableExecuteApiEndpoint"] = true
			}
			doc[extEndpointConfig] = e
		}
	}
	return doc
}

func exportOperation(snap *model.RestSnapshot, m *model.Method, opts ExportOptions, schemaRef func(string) map[string]any,
	validatorNames map[string]string, usedSchemes map[string]map[string]any) map[string]any {
	op := map[string]any{}
	if m.OperationName != "" {
		op["operationId"] = m.OperationName
	}
	var params []any
	for _, name := range sortedKeys(m.RequestParameters) {
		parts := strings.SplitN(strings.TrimPrefix(name, "method.request."), ".", 2)
		if len(parts) != 2 {
			continue
		}
		in := map[string]string{"path": "path", "querystring": "query", "header": "header"}[parts[0]]
		if in == "" {
			continue
		}
		p := map[string]any{"name": parts[1], "in": in, "required": m.RequestParameters[name] || in == "path"}
		if opts.Swagger {
			p["type"] = "string"
		} else {
			p["schema"] = map[string]any{"type": "string"}
		}
		params = append(params, p)
	}
	if len(m.RequestModels) > 0 {
		if opts.Swagger {
			for _, ct := range sortedKeys(m.RequestModels) {
				params = append(params, map[string]any{"in": "body", "name": m.RequestModels[ct], "required": true,
					"schema": schemaRef(m.RequestModels[ct])})
				// The body's media type, or an importer reads the model as */*.
				op["consumes"] = []string{ct}
				break // Swagger 2.0 has one body parameter
			}
		} else {
			content := map[string]any{}
			for ct, name := range m.RequestModels {
				content[ct] = map[string]any{"schema": schemaRef(name)}
			}
			op["requestBody"] = map[string]any{"content": content, "required": true}
		}
	}
	if len(params) > 0 {
		op["parameters"] = params
	}
	responses := map[string]any{}
	for code, mr := range m.MethodResponses {
		r := map[string]any{"description": code + " response"}
		if len(mr.ResponseParameters) > 0 {
			headers := map[string]any{}
			for p := range mr.ResponseParameters {
				if h, ok := strings.CutPrefix(p, "method.response.header."); ok {
					if opts.Swagger {
						headers[h] = map[string]any{"type": "string"}
					} else {
						headers[h] = map[string]any{"schema": map[string]any{"type": "string"}}
					}
				}
			}
			r["headers"] = headers
		}
		for ct, name := range mr.ResponseModels {
			if opts.Swagger {
				r["schema"] = schemaRef(name)
				break
			}
			content, _ := r["content"].(map[string]any)
			if content == nil {
				content = map[string]any{}
				r["content"] = content
			}
			content[ct] = map[string]any{"schema": schemaRef(name)}
		}
		responses[code] = r
	}
	// A method without method responses (a proxy) is exported with
	// "responses": {}, as API Gateway's exports have it, so importing the export
	// gives a method without method responses again.
	op["responses"] = responses
	var security []any
	if opts.Authorizers {
		switch m.AuthorizationType {
		case "CUSTOM", "COGNITO_USER_POOLS":
			if au := snap.Authorizers[m.AuthorizerID]; au != nil {
				scopes := m.AuthorizationScopes
				if scopes == nil {
					scopes = []string{}
				}
				security = append(security, map[string]any{au.Name: scopes})
				usedSchemes[au.Name] = authorizerScheme(au)
			}
		case "AWS_IAM":
			security = append(security, map[string]any{"sigv4": []string{}})
			usedSchemes["sigv4"] = map[string]any{"type": "apiKey", "name": "Authorization", "in": "header", extAuthType: "awsSigv4"}
		}
	}
	if m.APIKeyRequired {
		// Its own requirement object, as API Gateway exports it; the importer
		// applies every object in the list.
		security = append(security, map[string]any{"api_key": []string{}})
		usedSchemes["api_key"] = map[string]any{"type": "apiKey", "name": "x-api-key", "in": "header"}
	}
	if len(security) > 0 {
		op["security"] = security
	}
	if opts.APIGateway && m.RequestValidatorID != "" {
		if n := validatorNames[m.RequestValidatorID]; n != "" {
			op[extRequestValidator] = n
		}
	}
	if opts.Integrations && m.MethodIntegration != nil {
		op[extIntegration] = exportIntegration(m.MethodIntegration)
	}
	return op
}

func authorizerScheme(au *model.Authorizer) map[string]any {
	sc := map[string]any{"type": "apiKey", "in": "header"}
	name := "Unused"
	if h, ok := strings.CutPrefix(au.IdentitySource, "method.request.header."); ok && !strings.Contains(h, ",") {
		name = h
	}
	sc["name"] = name
	authType := au.AuthType
	if authType == "" {
		authType = "custom"
		if au.Type == "COGNITO_USER_POOLS" {
			authType = "cognito_user_pools"
		}
	}
	sc[extAuthType] = authType
	ext := map[string]any{"type": strings.ToLower(au.Type)}
	if au.AuthorizerURI != "" {
		ext["authorizerUri"] = au.AuthorizerURI
	}
	if au.AuthorizerCredentials != "" {
		ext["authorizerCredentials"] = au.AuthorizerCredentials
	}
	if au.IdentitySource != "" && au.Type != "TOKEN" {
		ext["identitySource"] = au.IdentitySource
	}
	if au.IdentityValidationExpression != "" {
		ext["identityValidationExpression"] = au.IdentityValidationExpression
	}
	if au.AuthorizerResultTTLInSeconds != nil {
		ext["authorizerResultTtlInSeconds"] = *au.AuthorizerResultTTLInSeconds
	}
	if len(au.ProviderARNs) > 0 {
		ext["providerARNs"] = au.ProviderARNs
	}
	sc[extAuthorizer] = ext
	return sc
}

func exportIntegration(in *model.Integration) map[string]any {
	e := map[string]any{"type": strings.ToLower(in.Type)}
	set := func(k, v string) {
		if v != "" {
			e[k] = v
		}
	}
	set("httpMethod", in.HTTPMethod)
	set("uri", in.URI)
	set("credentials", in.Credentials)
	set("connectionType", in.ConnectionType)
	set("connectionId", in.ConnectionID)
	set("contentHandling", in.ContentHandling)
	set("cacheNamespace", in.CacheNamespace)
	if in.PassthroughBehavior != "" {
		e["passthroughBehavior"] = strings.ToLower(in.PassthroughBehavior)
	}
	if in.TimeoutInMillis != 0 && in.TimeoutInMillis != 29000 {
		e["timeoutInMillis"] = in.TimeoutInMillis
	}
	if len(in.CacheKeyParameters) > 0 {
		e["cacheKeyParameters"] = in.CacheKeyParameters
	}
	if len(in.RequestParameters) > 0 {
		e["requestParameters"] = in.RequestParameters
	}
	if len(in.RequestTemplates) > 0 {
		e["requestTemplates"] = in.RequestTemplates
	}
	if len(in.IntegrationResponses) > 0 {
		rs := map[string]any{}
		for _, ir := range in.IntegrationResponses {
			r := map[string]any{"statusCode": ir.StatusCode}
			if len(ir.ResponseParameters) > 0 {
				r["responseParameters"] = ir.ResponseParameters
			}
			if len(ir.ResponseTemplates) > 0 {
				r["responseTemplates"] = ir.ResponseTemplates
			}
			if ir.ContentHandling != "" {
				r["contentHandling"] = ir.ContentHandling
			}
			sel := ir.SelectionPattern
			if sel == "" {
				sel = "default"
			}
			rs[sel] = r
		}
		e["responses"] = rs
	}
	return e
}
