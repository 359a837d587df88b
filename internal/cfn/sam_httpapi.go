package cfn

import "strings"

// AWS::Serverless::HttpApi, as SAM's translator writes it
// (tests/translator/output/http_api_*.json): an AWS::ApiGatewayV2::Api whose Body
// is DefinitionBody (or a new OpenAPI 3.0.1 document) with the events' routes and
// CorsConfiguration as x-amazon-apigateway-cors, and an auto-deployed stage
// ({Api}ApiGatewayDefaultStage for $default, {Api}{StageName}Stage otherwise).
// Auth (sam_httpapi_auth.go) goes into the body as securitySchemes and security;
// Domain (sam_domain.go) becomes a domain name and its API mappings.

var samHTTPAPIProps = []string{"StageName", "DefinitionBody", "Auth", "CorsConfiguration", "Name", "Description", "FailOnWarnings",
	"StageVariables", "DefaultRouteSettings", "RouteSettings", "AccessLogSettings", "DisableExecuteApiEndpoint", "Domain", "Tags"}

var samHTTPAPIUnsupported = []string{"DefinitionUri", "PropagateTags"}

// samHTTPAPIGlobals are the HttpApi properties Globals may set (SAM's
// plugins/globals/globals.py).
var samHTTPAPIGlobals = []string{"Auth", "AccessLogSettings", "StageVariables", "Tags", "CorsConfiguration", "DefaultRouteSettings",
	"Domain", "RouteSettings", "FailOnWarnings", "PropagateTags"}

// samHTTPAPITag is the tag SAM puts on every HttpApi and its stage
// (http_api_generator.py: default_tag_name).
const samHTTPAPITag = "httpapi:createdBy"

type samHTTPAPI struct {
	id    string
	props map[string]any
	def   *resourceDef // nil for ServerlessHttpApi
}

// samHTTPAPIDef checks an HttpApi's properties, Globals.HttpApi merged under its
// own (r is nil for ServerlessHttpApi).
func samHTTPAPIDef(id string, own map[string]any, r *resourceDef, globals map[string]any) (*samHTTPAPI, []string) {
	p := withGlobals(globals, own)
	var errs []string
	for _, k := range sortedKeys(p) {
		switch {
		case contains(samHTTPAPIUnsupported, k):
			errs = append(errs, samResourceError(id, "Sluice's SAM transform does not implement property '%s' yet.", k))
		case !contains(samHTTPAPIProps, k):
			errs = append(errs, samResourceError(id, "property %s not defined for resource of type AWS::Serverless::HttpApi", k))
		}
	}
	return &samHTTPAPI{id: id, props: p, def: r}, errs
}

// addHTTPAPITags writes Tags, and SAM's own httpapi:createdBy tag, into the body
// as root tags with x-amazon-apigateway-tag-value (how an imported HTTP API gets
// its tags), and returns them for the stage, as SAM's _add_tags and
// _construct_stage do.
func addHTTPAPITags(api *samHTTPAPI, body map[string]any) (map[string]any, string) {
	tags := map[string]any{}
	if v, ok := api.props["Tags"]; ok {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, samResourceError(api.id, "Type of property 'Tags' is invalid.")
		}
		for k, v := range m {
			tags[k] = v
		}
	}
	tags[samHTTPAPITag] = "SAM"
	list, ok := body["tags"].([]any)
	if !ok && body["tags"] != nil {
		return nil, samResourceError(api.id, "Tags in OpenApi DefinitionBody needs to be a list.")
	}
	for _, k := range sortedKeys(tags) {
		found := false
		for _, t := range list {
			if m, ok := t.(map[string]any); ok && m["name"] == k {
				m["x-amazon-apigateway-tag-value"], found = tags[k], true
			}
		}
		if !found {
			list = append(list, map[string]any{"name": k, "x-amazon-apigateway-tag-value": tags[k]})
		}
	}
	body["tags"] = list
	return tags, ""
}

// addHTTPAPIs generates every HTTP API: the explicit ones, and ServerlessHttpApi
// when an HttpApi event names no ApiId.
func addHTTPAPIs(t *template, apis map[string]*samHTTPAPI, events []httpAPIEvent, globals map[string]any) string {
	byAPI := map[string][]httpAPIEvent{}
	for _, e := range events {
		id := e.api
		if id == "" {
			id = "ServerlessHttpApi"
		}
		byAPI[id] = append(byAPI[id], e)
	}
	if len(byAPI["ServerlessHttpApi"]) > 0 {
		// SAM makes the implicit API before it applies Globals, so they cover it too.
		api, errs := samHTTPAPIDef("ServerlessHttpApi", map[string]any{}, nil, globals)
		if len(errs) > 0 {
			return errs[0]
		}
		apis["ServerlessHttpApi"] = api
	}
	for _, id := range sortedKeys(apis) {
		if err := addHTTPAPI(t, apis[id], byAPI[id]); err != "" {
			return err
		}
	}
	return ""
}

// applyHTTPAPIProps writes the properties SAM keeps in the body: Name and
// Description in info, CorsConfiguration, DisableExecuteApiEndpoint.
func applyHTTPAPIProps(api *samHTTPAPI, body map[string]any) string {
	info, _ := body["info"].(map[string]any)
	if info == nil {
		info = map[string]any{"version": "1.0"}
		body["info"] = info
	}
	if n, ok := api.props["Name"]; ok {
		info["title"] = n
	}
	if d, ok := api.props["Description"]; ok {
		info["description"] = d
	}
	if d, ok := api.props["DisableExecuteApiEndpoint"]; ok {
		body["x-amazon-apigateway-disable-execute-api-endpoint"] = d
	}
	cors, ok := api.props["CorsConfiguration"]
	if !ok {
		return ""
	}
	switch x := cors.(type) {
	case bool:
		if x {
			body["x-amazon-apigateway-cors"] = map[string]any{"allowOrigins": []any{"*"}, "allowHeaders": []any{"*"}, "allowMethods": []any{"*"}}
		}
	case map[string]any:
		out := map[string]any{}
		for k, v := range x {
			if !contains([]string{"AllowOrigins", "AllowHeaders", "AllowMethods", "AllowCredentials", "ExposeHeaders", "MaxAge"}, k) {
				return samResourceError(api.id, "Unsupported CorsConfiguration property '%s'.", k)
			}
			out[strings.ToLower(k[:1])+k[1:]] = v
		}
		body["x-amazon-apigateway-cors"] = out
	default:
		return samResourceError(api.id, "Type of property 'CorsConfiguration' is invalid.")
	}
	return ""
}
