package cfn

import "strings"

// AWS::Serverless::HttpApi Auth, as SAM's translator writes it
// (HttpApiGenerator._add_auth, ApiGatewayV2Authorizer.generate_openapi,
// OpenApiEditor.set_path_default_authorizer and add_auth_to_method): each authorizer
// becomes a components.securitySchemes entry with x-amazon-apigateway-authorizer
// (type jwt for a JwtConfiguration, type request for a Lambda FunctionArn),
// EnableIamAuthorizer adds the AWS_IAM scheme, an event's Auth writes the route's
// security, and DefaultAuthorizer covers every integrated method without one.
// HTTP API import builds the authorizers from the body (internal/apigw/httpapi).

var samHTTPAuthorizerProps = []string{"AuthorizationScopes", "JwtConfiguration", "IdentitySource", "FunctionArn", "FunctionInvokeRole",
	"Identity", "AuthorizerPayloadFormatVersion", "EnableSimpleResponses", "EnableFunctionDefaultPermissions"}

// samHTTPAuth is an HttpApi's Auth, read.
type samHTTPAuth struct {
	schemes     map[string]any // securitySchemes entries by name
	scopes      map[string]any // each JWT authorizer's AuthorizationScopes
	defaultAuth string
	permissions map[string]any // authorizer name → FunctionArn, for EnableFunctionDefaultPermissions
}

func (a *samHTTPAuth) defines(name string) bool {
	_, ok := a.schemes[name]
	return ok
}

func samHTTPAPIAuth(api *samHTTPAPI) (*samHTTPAuth, string) {
	out := &samHTTPAuth{schemes: map[string]any{}, scopes: map[string]any{}, permissions: map[string]any{}}
	v, ok := api.props["Auth"]
	if !ok {
		return out, ""
	}
	auth, ok := v.(map[string]any)
	if !ok {
		return nil, samResourceError(api.id, "Type of property 'Auth' is invalid.")
	}
	for _, k := range sortedKeys(auth) {
		if !contains([]string{"Authorizers", "DefaultAuthorizer", "EnableIamAuthorizer"}, k) {
			return nil, samResourceError(api.id, "Invalid value for 'Auth' property")
		}
	}
	if iam, _ := auth["EnableIamAuthorizer"].(bool); iam {
		out.schemes["AWS_IAM"] = map[string]any{"type": "apiKey", "name": "Authorization", "in": "header", "x-amazon-apigateway-authtype": "awsSigv4"}
	}
	defs := map[string]any{}
	if d, ok := auth["Authorizers"]; ok {
		if defs, ok = d.(map[string]any); !ok {
			return nil, samResourceError(api.id, "Property 'Auth.Authorizers' should be a map.")
		}
	}
	for _, name := range sortedKeys(defs) {
		d, ok := defs[name].(map[string]any)
		if !ok {
			return nil, samResourceError(api.id, "Property 'Auth.Authorizers.%s' should be a map.", name)
		}
		scheme, err := samHTTPAuthorizer(api.id, name, d)
		if err != "" {
			return nil, err
		}
		out.schemes[name] = scheme
		if s, ok := d["AuthorizationScopes"]; ok {
			out.scopes[name] = s
		}
		if perm, _ := d["EnableFunctionDefaultPermissions"].(bool); perm && d["FunctionArn"] != nil {
			out.permissions[name] = d["FunctionArn"]
		}
	}
	if d, ok := auth["DefaultAuthorizer"]; ok {
		s, ok := d.(string)
		if !ok {
			return nil, samResourceError(api.id, "Property 'Auth.DefaultAuthorizer' should be a string.")
		}
		if !out.defines(s) {
			return nil, samResourceError(api.id, "Unable to set DefaultAuthorizer because '%s' was not defined in 'Authorizers'.", s)
		}
		out.defaultAuth = s
	}
	return out, ""
}

// samHTTPAuthorizer is one authorizer's securitySchemes entry, with SAM's checks.
func samHTTPAuthorizer(apiID, name string, d map[string]any) (map[string]any, string) {
	for _, k := range sortedKeys(d) {
		if k == "OpenIdConnectUrl" {
			return nil, samResourceError(apiID, "'OpenIdConnectUrl' is no longer a supported property for authorizer '%s'. Please refer to the AWS SAM documentation.", name)
		}
		if !contains(samHTTPAuthorizerProps, k) {
			return nil, samResourceError(apiID, "Authorizer %s has invalid property '%s'.", name, k)
		}
	}
	jwt := d["JwtConfiguration"] != nil
	for _, only := range []struct {
		key  string
		jwt  bool
		kind string
	}{
		{"AuthorizationScopes", true, "OAuth2"}, {"IdentitySource", true, "OAuth2"},
		{"FunctionArn", false, "Lambda"}, {"FunctionInvokeRole", false, "Lambda"}, {"Identity", false, "Lambda"},
		{"AuthorizerPayloadFormatVersion", false, "Lambda"}, {"EnableSimpleResponses", false, "Lambda"},
		{"EnableFunctionDefaultPermissions", false, "Lambda"},
	} {
		if _, ok := d[only.key]; ok && only.jwt != jwt {
			return nil, samResourceError(apiID, "%s must be defined only for %s Authorizer.", only.key, only.kind)
		}
	}
	if s, ok := d["AuthorizationScopes"]; ok {
		if _, ok := s.([]any); !ok {
			return nil, samResourceError(apiID, "AuthorizationScopes must be a list.")
		}
	}
	if jwt {
		cfg, ok := d["JwtConfiguration"].(map[string]any)
		if !ok {
			return nil, samResourceError(apiID, "Property 'JwtConfiguration' should be a map.")
		}
		if d["IdentitySource"] == nil {
			return nil, samResourceError(apiID, "%s OAuth2 Authorizer must define 'IdentitySource'.", name)
		}
		// SAM lowercases the keys: the OpenAPI extension spells them issuer, audience.
		lower := map[string]any{}
		for k, v := range cfg {
			lower[strings.ToLower(k)] = v
		}
		return map[string]any{"type": "oauth2", "x-amazon-apigateway-authorizer": map[string]any{
			"jwtConfiguration": lower, "identitySource": d["IdentitySource"], "type": "jwt"}}, ""
	}
	if d["FunctionArn"] == nil {
		return nil, samResourceError(apiID, "%s Lambda Authorizer must define 'FunctionArn'.", name)
	}
	if d["AuthorizerPayloadFormatVersion"] == nil {
		return nil, samResourceError(apiID, "%s Lambda Authorizer must define 'AuthorizerPayloadFormatVersion'.", name)
	}
	ext := map[string]any{"type": "request", "authorizerUri": map[string]any{"Fn::Sub": []any{
		"arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${__FunctionArn__}/invocations",
		map[string]any{"__FunctionArn__": d["FunctionArn"]}}}}
	if role, ok := d["FunctionInvokeRole"]; ok && role != "NONE" {
		ext["authorizerCredentials"] = role
	}
	if v, ok := d["Identity"]; ok {
		id, ok := v.(map[string]any)
		if !ok {
			return nil, samResourceError(apiID, "Property 'Auth.Authorizers.%s.Identity' should be a map.", name)
		}
		var sources []any
		for _, src := range []struct{ key, prefix string }{{"Headers", "$request.header."}, {"QueryStrings", "$request.querystring."},
			{"StageVariables", "$stageVariables."}, {"Context", "$context."}} {
			l, ok := id[src.key]
			if !ok {
				continue
			}
			list, ok := l.([]any)
			if !ok {
				return nil, samResourceError(apiID, "Property 'Authorizers.%s.Identity.%s' should be a list.", name, src.key)
			}
			for _, x := range list {
				s, ok := x.(string)
				if !ok {
					return nil, samResourceError(apiID, "Property 'Authorizers.%s.Identity.%s' should be a list of strings.", name, src.key)
				}
				sources = append(sources, src.prefix+s)
			}
		}
		for _, k := range sortedKeys(id) {
			if !contains([]string{"Headers", "QueryStrings", "StageVariables", "Context", "ReauthorizeEvery"}, k) {
				return nil, samResourceError(apiID, "Authorizer %s has invalid Identity property '%s'.", name, k)
			}
		}
		if ttl, ok := id["ReauthorizeEvery"]; ok {
			ext["authorizerResultTtlInSeconds"] = ttl
		}
		if sources == nil {
			sources = []any{}
		}
		ext["identitySource"] = sources
	}
	ext["authorizerPayloadFormatVersion"] = d["AuthorizerPayloadFormatVersion"]
	if simple, _ := d["EnableSimpleResponses"].(bool); simple {
		ext["enableSimpleResponses"] = true
	}
	return map[string]any{"type": "apiKey", "name": "Unused", "in": "header", "x-amazon-apigateway-authorizer": ext}, ""
}

// eventSecurity is the security an HttpApi event's Auth writes on its route, nil
// when the event has no Auth (the DefaultAuthorizer then applies).
func (a *samHTTPAuth) eventSecurity(e httpAPIEvent) ([]any, string) {
	if e.auth == nil {
		return nil, ""
	}
	for _, k := range sortedKeys(e.auth) {
		if k != "Authorizer" && k != "AuthorizationScopes" {
			return nil, samResourceError(e.fn, "Event with id [%s] is invalid. property %s not defined for resource of type HttpApiFunctionAuth", e.event, k)
		}
	}
	authorizer, _ := e.auth["Authorizer"].(string)
	if e.auth["Authorizer"] != nil && authorizer == "" {
		return nil, samResourceError(e.fn, "Event with id [%s] is invalid. Unable to set Authorizer [%v] on API method [%s] for path [%s]. The method authorizer must be a string with a corresponding dict entry in the api authorizer.",
			e.event, e.auth["Authorizer"], strings.ToLower(e.method), e.path)
	}
	if authorizer == "" {
		if a.defaultAuth == "" {
			return nil, samResourceError(e.fn, "Event with id [%s] is invalid. 'Auth' section requires either an explicit 'Authorizer' set or a 'DefaultAuthorizer' configured on the HttpApi.", e.event)
		}
		authorizer = a.defaultAuth
	}
	method := strings.ToLower(e.method)
	switch {
	case authorizer == "NONE":
		if a.defaultAuth == "" {
			return nil, samResourceError(e.fn, "Event with id [%s] is invalid. Unable to set Authorizer on API method [%s] for path [%s] because 'NONE' is only a valid value when a DefaultAuthorizer on the API is specified.",
				e.event, method, e.path)
		}
	case len(a.schemes) == 0:
		return nil, samResourceError(e.fn, "Event with id [%s] is invalid. Unable to set Authorizer [%s] on API method [%s] for path [%s] because the related API does not define any Authorizers.",
			e.event, authorizer, method, e.path)
	case !a.defines(authorizer):
		return nil, samResourceError(e.fn, "Event with id [%s] is invalid. Unable to set Authorizer [%s] on API method [%s] for path [%s] because it wasn't defined in the API's Authorizers.",
			e.event, authorizer, method, e.path)
	}
	scopes := any([]any{})
	if authorizer != "NONE" && authorizer != "AWS_IAM" {
		if s, ok := a.scopes[authorizer]; ok {
			scopes = s
		}
	}
	if s, ok := e.auth["AuthorizationScopes"]; ok {
		l, ok := s.([]any)
		if !ok {
			return nil, samResourceError(e.fn, "Event with id [%s] is invalid. Unable to set Authorizer on API method [%s] for path [%s] because 'AuthorizationScopes' must be a list of strings.",
				e.event, method, e.path)
		}
		if len(l) > 0 && authorizer != "NONE" && authorizer != "AWS_IAM" {
			scopes = l
		}
	}
	// NONE stays in the body as SAM writes it; the HTTP API import reads it as no
	// authorization.
	return []any{map[string]any{authorizer: scopes}}, ""
}

// applyDefaultAuthorizer gives every integrated method without a security of its
// own the DefaultAuthorizer, with that authorizer's AuthorizationScopes.
func (a *samHTTPAuth) applyDefaultAuthorizer(paths map[string]any) {
	if a.defaultAuth == "" {
		return
	}
	scopes := any([]any{})
	if s, ok := a.scopes[a.defaultAuth]; ok {
		scopes = s
	}
	for _, path := range sortedKeys(paths) {
		ops, _ := paths[path].(map[string]any)
		for _, method := range sortedKeys(ops) {
			op, _ := ops[method].(map[string]any)
			if method == "options" || op == nil || op["x-amazon-apigateway-integration"] == nil {
				continue
			}
			if sec, ok := op["security"].([]any); ok && len(sec) > 0 {
				continue
			}
			op["security"] = []any{map[string]any{a.defaultAuth: scopes}}
		}
	}
}

// addSecuritySchemes merges the authorizers into the body's components.securitySchemes.
func (a *samHTTPAuth) addSecuritySchemes(body map[string]any) {
	if len(a.schemes) == 0 {
		return
	}
	comps, _ := body["components"].(map[string]any)
	if comps == nil {
		comps = map[string]any{}
		body["components"] = comps
	}
	existing, _ := comps["securitySchemes"].(map[string]any)
	comps["securitySchemes"] = mergeSchemes(existing, a.schemes)
}

// addPermissions writes {Api}{Name}AuthorizerPermission for each Lambda authorizer
// with EnableFunctionDefaultPermissions: true (SAM creates none by default for HTTP
// APIs).
func (a *samHTTPAuth) addPermissions(t *template, api *samHTTPAPI, condition string) {
	for _, name := range sortedKeys(a.permissions) {
		t.Resources[api.id+name+"AuthorizerPermission"] = &resourceDef{Type: "AWS::Lambda::Permission", Condition: condition, Properties: map[string]any{
			"Action": "lambda:InvokeFunction", "Principal": "apigateway.amazonaws.com", "FunctionName": a.permissions[name],
			"SourceArn": map[string]any{"Fn::Sub": []any{"arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${__ApiId__}/authorizers/*",
				map[string]any{"__ApiId__": map[string]any{"Ref": api.id}}}},
		}}
	}
}
