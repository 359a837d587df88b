package cfn

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// SAM's REST APIs: AWS::Serverless::Api and functions' Api events, translated as
// SAM's translator does (tests/translator/output/api_*.json in
// aws/serverless-application-model): a swagger body with one aws_proxy
// integration per event on an AWS::ApiGateway::RestApi, a
// {Api}Deployment{hash} whose logical id changes with the body (so a changed
// API is redeployed; StageName "Stage", as SAM writes it), a {Api}{Stage}Stage,
// {Fn}{Event}Permission{Stage} per event, {Api}{Authorizer}AuthorizerPermission
// per Lambda authorizer, and {Api}UsagePlan/ApiKey/UsagePlanKey for a PER_API
// usage plan. Events without RestApiId share the implicit ServerlessRestApi,
// whose stage is Prod.

// samAPIGlobals are the Api properties Globals may set (SAM's list).
var samAPIGlobals = []string{"Auth", "Name", "DefinitionUri", "CacheClusterEnabled", "CacheClusterSize", "MergeDefinitions", "Variables",
	"EndpointConfiguration", "MethodSettings", "BinaryMediaTypes", "MinimumCompressionSize", "Cors", "GatewayResponses",
	"AccessLogSetting", "CanarySetting", "TracingEnabled", "OpenApiVersion", "Domain", "AlwaysDeploy", "PropagateTags"}

var samAPIProps = []string{"StageName", "DefinitionBody", "Auth", "Cors", "EndpointConfiguration", "BinaryMediaTypes", "Name",
	"Description", "Variables", "MethodSettings", "TracingEnabled", "AccessLogSetting", "CacheClusterEnabled", "CacheClusterSize",
	"MinimumCompressionSize", "DisableExecuteApiEndpoint", "FailOnWarnings", "Mode", "OpenApiVersion", "ApiKeySourceType", "Tags", "Domain"}

var samAPIUnsupported = []string{"DefinitionUri", "CanarySetting", "GatewayResponses", "Models", "MergeDefinitions",
	"AlwaysDeploy", "PropagateTags"}

// samStageProps are the Api properties that go to its stage.
var samStageProps = []string{"Variables", "MethodSettings", "TracingEnabled", "AccessLogSetting", "CacheClusterEnabled", "CacheClusterSize", "Tags"}

// samRestAPI is one REST API to generate: an AWS::Serverless::Api or the implicit
// ServerlessRestApi.
type samRestAPI struct {
	id        string
	stageName any
	props     map[string]any // the Api's properties, Globals merged
	implicit  bool
	def       *resourceDef // the AWS::Serverless::Api (nil for the implicit API)
}

func samAPIError(id, format string, args ...any) string {
	return samResourceError(id, format, args...)
}

func samAPI(id string, r *resourceDef, globals map[string]any) (*samRestAPI, []string) {
	p := withGlobals(globals, r.Properties)
	var errs []string
	for _, k := range sortedKeys(p) {
		switch {
		case contains(samAPIUnsupported, k):
			errs = append(errs, samAPIError(id, "Sluice's SAM transform does not implement property '%s' yet.", k))
		case !contains(samAPIProps, k):
			errs = append(errs, samAPIError(id, "property %s not defined for resource of type AWS::Serverless::Api", k))
		}
	}
	if p["StageName"] == nil {
		errs = append(errs, samAPIError(id, "Missing required property 'StageName'."))
	}
	return &samRestAPI{id: id, stageName: p["StageName"], props: p, def: r}, errs
}

// restAPIEvent is one Api event of a function.
type restAPIEvent struct {
	fn, event, method, path string
	target                  string
	api                     string // the AWS::Serverless::Api's logical id; "" for the implicit API
	authorizer              string // "" (the API's default), "NONE", "AWS_IAM" or an authorizer's name
	apiKeyRequired          *bool
	timeout                 any
}

func samRestEvent(fn, name string, ep map[string]any, apis map[string]*samRestAPI) (restAPIEvent, string) {
	e := restAPIEvent{fn: fn, event: name}
	bad := func(format string, args ...any) (restAPIEvent, string) {
		return e, samResourceError(fn, "Event with id [%s] is invalid. ", name) + fmt.Sprintf(format, args...)
	}
	for _, k := range sortedKeys(ep) {
		val := ep[k]
		switch k {
		case "Path", "Method":
			s, ok := val.(string)
			if !ok {
				return bad("Property '%s' should be a string.", k)
			}
			if k == "Path" {
				e.path = s
			} else {
				e.method = strings.ToLower(s)
			}
		case "RestApiId":
			ref, _ := val.(map[string]any)
			id, _ := ref["Ref"].(string)
			if len(ref) != 1 || apis[id] == nil {
				return bad("RestApiId must be a valid reference to an 'AWS::Serverless::Api' resource in same template.")
			}
			e.api = id
		case "TimeoutInMillis":
			e.timeout = val
		case "Auth":
			auth, ok := val.(map[string]any)
			if !ok {
				return bad("Property 'Auth' should be a map.")
			}
			for _, ak := range sortedKeys(auth) {
				switch ak {
				case "Authorizer":
					s, ok := auth[ak].(string)
					if !ok {
						return bad("Property 'Auth.Authorizer' should be a string.")
					}
					e.authorizer = s
				case "ApiKeyRequired":
					b, ok := auth[ak].(bool)
					if !ok {
						return bad("Property 'Auth.ApiKeyRequired' should be a boolean.")
					}
					e.apiKeyRequired = &b
				default:
					return bad("Sluice's SAM transform does not implement Api event property 'Auth.%s' yet.", ak)
				}
			}
		case "RequestParameters", "RequestModel", "Stage":
			return bad("Sluice's SAM transform does not implement Api event property '%s' yet.", k)
		default:
			return bad("property %s not defined for resource of type Api", k)
		}
	}
	if e.path == "" || e.method == "" {
		return bad("Event must have both Path and Method.")
	}
	return e, ""
}

// addRestAPIs generates every REST API: the explicit ones, and the implicit
// ServerlessRestApi when an Api event names no RestApiId.
func addRestAPIs(t *template, apis map[string]*samRestAPI, events []restAPIEvent, globals map[string]any) string {
	byAPI := map[string][]restAPIEvent{}
	for _, e := range events {
		api := e.api
		if api == "" {
			api = "ServerlessRestApi"
		}
		byAPI[api] = append(byAPI[api], e)
	}
	if len(byAPI["ServerlessRestApi"]) > 0 {
		if _, taken := t.Resources["ServerlessRestApi"]; taken {
			return samAPIError("ServerlessRestApi", "The logical id ServerlessRestApi is reserved for the implicit API of Api events.")
		}
		implicit := &samRestAPI{id: "ServerlessRestApi", stageName: "Prod", props: withGlobals(globals, nil), implicit: true}
		for _, k := range sortedKeys(implicit.props) {
			if contains(samAPIUnsupported, k) {
				return "'Globals' section is invalid. " + fmt.Sprintf("Sluice's SAM transform does not implement Api property '%s' yet.", k)
			}
		}
		apis["ServerlessRestApi"] = implicit
	}
	for _, id := range sortedKeys(apis) {
		if err := addRestAPI(t, apis[id], byAPI[id]); err != "" {
			return err
		}
	}
	return ""
}

var nonAlnum = regexp.MustCompile(`[^A-Za-z0-9]`)

// samPathParam is SAM's get_path_without_trailing_slash: path parameters
// become * in permission ARNs.
var samPathParam = regexp.MustCompile(`\{([a-zA-Z0-9._-]+|[a-zA-Z0-9._-]+\+|proxy\+)\}`)

// swaggerMethods are the operation keys of a swagger path item (CORS preflights
// are added after the defaults, with their own flags).
var swaggerMethods = map[string]bool{"get": true, "put": true, "post": true, "delete": true, "head": true, "patch": true,
	"options": true, "x-amazon-apigateway-any-method": true}

var allMethods = []string{"DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"}

// samAuthorizer is one of Auth.Authorizers.
type samAuthorizer struct {
	name   string
	scheme map[string]any // the securityDefinitions entry
	fnArn  any
	perm   bool
}

func samAuthorizers(api *samRestAPI, auth map[string]any) ([]samAuthorizer, string) {
	defs, _ := auth["Authorizers"].(map[string]any)
	var out []samAuthorizer
	for _, name := range sortedKeys(defs) {
		d, ok := defs[name].(map[string]any)
		if !ok {
			return nil, samAPIError(api.id, "Authorizer %s must be a dictionary.", name)
		}
		for _, k := range sortedKeys(d) {
			switch k {
			case "FunctionArn", "FunctionPayloadType", "Identity", "FunctionInvokeRole", "DisableFunctionDefaultPermissions":
			case "UserPoolArn", "AuthorizationScopes":
				return nil, samAPIError(api.id, "Sluice's SAM transform does not implement property '%s' of authorizer %s yet.", k, name)
			default:
				return nil, samAPIError(api.id, "Authorizer %s has invalid property '%s'.", name, k)
			}
		}
		if d["FunctionArn"] == nil {
			return nil, samAPIError(api.id, "Authorizer %s must have FunctionArn.", name)
		}
		typ := "TOKEN"
		if s, ok := d["FunctionPayloadType"].(string); ok {
			typ = s
		}
		id, _ := d["Identity"].(map[string]any)
		ext := map[string]any{"authorizerUri": map[string]any{"Fn::Sub": []any{
			"arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${__FunctionArn__}/invocations",
			map[string]any{"__FunctionArn__": d["FunctionArn"]}}}}
		if role, ok := d["FunctionInvokeRole"]; ok {
			ext["authorizerCredentials"] = role
		}
		if ttl, ok := id["ReauthorizeEvery"]; ok {
			ext["authorizerResultTtlInSeconds"] = ttl
		}
		scheme := map[string]any{"type": "apiKey", "in": "header", "x-amazon-apigateway-authtype": "custom"}
		switch typ {
		case "TOKEN":
			ext["type"] = "token"
			header := "Authorization"
			for _, k := range sortedKeys(id) {
				switch k {
				case "Header":
					header, _ = id[k].(string)
				case "ValidationExpression":
					ext["identityValidationExpression"] = id[k]
				case "ReauthorizeEvery":
				default:
					return nil, samAPIError(api.id, "Authorizer %s has invalid Identity property '%s'.", name, k)
				}
			}
			scheme["name"] = header
		case "REQUEST":
			ext["type"] = "request"
			var sources []string
			for _, src := range []struct{ key, prefix string }{{"Headers", "method.request.header."},
				{"QueryStrings", "method.request.querystring."}, {"StageVariables", "stageVariables."}, {"Context", "context."}} {
				l, _ := id[src.key].([]any)
				for _, x := range l {
					s, _ := x.(string)
					sources = append(sources, src.prefix+s)
				}
			}
			for _, k := range sortedKeys(id) {
				if !contains([]string{"Headers", "QueryStrings", "StageVariables", "Context", "ReauthorizeEvery"}, k) {
					return nil, samAPIError(api.id, "Authorizer %s has invalid Identity property '%s'.", name, k)
				}
			}
			if len(sources) > 0 {
				ext["identitySource"] = strings.Join(sources, ", ")
			}
			scheme["name"] = "Unused"
		default:
			return nil, samAPIError(api.id, "Authorizer %s has invalid FunctionPayloadType '%v'; it must be TOKEN or REQUEST.", name, d["FunctionPayloadType"])
		}
		scheme["x-amazon-apigateway-authorizer"] = ext
		disable, _ := d["DisableFunctionDefaultPermissions"].(bool)
		out = append(out, samAuthorizer{name: name, scheme: scheme, fnArn: d["FunctionArn"], perm: !disable})
	}
	return out, ""
}

// samCors reads Cors (a quoted origin, or AllowOrigin/AllowMethods/AllowHeaders/
// MaxAge/AllowCredentials) into the OPTIONS response's header values.
func samCors(api *samRestAPI) (map[string]any, string) {
	v, ok := api.props["Cors"]
	if !ok {
		return nil, ""
	}
	if s, ok := v.(string); ok {
		return map[string]any{"AllowOrigin": s}, ""
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, samAPIError(api.id, "Type of property 'Cors' is invalid.")
	}
	for k := range m {
		if !contains([]string{"AllowOrigin", "AllowMethods", "AllowHeaders", "MaxAge", "AllowCredentials"}, k) {
			return nil, samAPIError(api.id, "Invalid value for 'Cors' property.")
		}
	}
	if m["AllowOrigin"] == nil {
		return nil, samAPIError(api.id, "Cors.AllowOrigin is required.")
	}
	return m, ""
}

// corsOptions is SAM's OPTIONS method for a path (SwaggerEditor.add_cors).
func corsOptions(cors map[string]any, ops map[string]any) map[string]any {
	params := map[string]any{"method.response.header.Access-Control-Allow-Origin": cors["AllowOrigin"]}
	headers := map[string]any{"Access-Control-Allow-Origin": map[string]any{"type": "string"}}
	methods := cors["AllowMethods"]
	if methods == nil {
		var l []string
		for m := range ops {
			if m == "x-amazon-apigateway-any-method" {
				l = append(l, allMethods...)
				continue
			}
			l = append(l, strings.ToUpper(m))
		}
		l = append(l, "OPTIONS")
		sort.Strings(l)
		methods = "'" + strings.Join(dedupe(l), ",") + "'"
	}
	params["method.response.header.Access-Control-Allow-Methods"] = methods
	headers["Access-Control-Allow-Methods"] = map[string]any{"type": "string"}
	if h, ok := cors["AllowHeaders"]; ok {
		params["method.response.header.Access-Control-Allow-Headers"] = h
		headers["Access-Control-Allow-Headers"] = map[string]any{"type": "string"}
	}
	if age, ok := cors["MaxAge"]; ok {
		params["method.response.header.Access-Control-Max-Age"] = age
		headers["Access-Control-Max-Age"] = map[string]any{"type": "integer"}
	}
	if c, ok := cors["AllowCredentials"].(bool); ok && c {
		params["method.response.header.Access-Control-Allow-Credentials"] = "'true'"
		headers["Access-Control-Allow-Credentials"] = map[string]any{"type": "string"}
	}
	return map[string]any{
		"summary":  "CORS support",
		"consumes": []any{"application/json"},
		"produces": []any{"application/json"},
		"x-amazon-apigateway-integration": map[string]any{
			"type":             "mock",
			"requestTemplates": map[string]any{"application/json": "{\n  \"statusCode\" : 200\n}\n"},
			"responses": map[string]any{"default": map[string]any{
				"statusCode": "200", "responseParameters": params,
				"responseTemplates": map[string]any{"application/json": "{}\n"},
			}},
		},
		"responses": map[string]any{"200": map[string]any{"description": "Default response for CORS method", "headers": headers}},
	}
}

func deepCopy(v any) any {
	b, _ := json.Marshal(v)
	var out any
	_ = json.Unmarshal(b, &out)
	return out
}

func addRestAPI(t *template, api *samRestAPI, events []restAPIEvent) string {
	p := api.props
	auth := map[string]any{}
	if a, ok := p["Auth"]; ok {
		m, ok := a.(map[string]any)
		if !ok {
			return samAPIError(api.id, "Type of property 'Auth' is invalid.")
		}
		auth = m
	}
	for _, k := range sortedKeys(auth) {
		switch k {
		case "Authorizers", "DefaultAuthorizer", "ApiKeyRequired", "UsagePlan", "AddDefaultAuthorizerToCorsPreflight",
			"AddApiKeyRequiredToCorsPreflight", "ResourcePolicy":
		case "InvokeRole":
			return samAPIError(api.id, "Sluice's SAM transform does not implement property 'Auth.%s' yet.", k)
		default:
			return samAPIError(api.id, "Invalid value for 'Auth' property: '%s' is not a supported property.", k)
		}
	}
	authorizers, err := samAuthorizers(api, auth)
	if err != "" {
		return err
	}
	defaultAuth, _ := auth["DefaultAuthorizer"].(string)
	known := map[string]bool{"NONE": true, "AWS_IAM": true}
	for _, a := range authorizers {
		known[a.name] = true
	}
	if defaultAuth != "" && !known[defaultAuth] {
		return samAPIError(api.id, "Unable to set DefaultAuthorizer because '%s' was not defined in 'Authorizers'.", defaultAuth)
	}
	apiKeyDefault, _ := auth["ApiKeyRequired"].(bool)
	cors, err := samCors(api)
	if err != "" {
		return err
	}

	openapi3 := false
	var body map[string]any
	if v, ok := p["OpenApiVersion"].(string); ok && strings.HasPrefix(v, "3") {
		openapi3 = true
	}
	if def, ok := p["DefinitionBody"]; ok {
		m, ok := deepCopy(def).(map[string]any)
		if !ok {
			return samAPIError(api.id, "Type of property 'DefinitionBody' is invalid.")
		}
		body = m
		_, openapi3 = body["openapi"]
	} else {
		body = map[string]any{"info": map[string]any{"version": "1.0", "title": map[string]any{"Ref": "AWS::StackName"}}, "paths": map[string]any{}}
		if openapi3 {
			body["openapi"] = "3.0.1"
		} else {
			body["swagger"] = "2.0"
		}
	}
	paths, _ := body["paths"].(map[string]any)
	if paths == nil {
		paths = map[string]any{}
		body["paths"] = paths
	}
	schemes := map[string]any{}
	for _, a := range authorizers {
		schemes[a.name] = a.scheme
	}
	usesKey := false
	// security is the method's list in SAM's shape: the authorizer and the API key
	// as separate requirement objects ([{Auth: []}, {api_key: []}]), which API
	// Gateway's importer (and Sluice's) applies all of. keyFirst is SAM's order
	// when an event asked for the key itself and the API has a DefaultAuthorizer:
	// the event's security is written first, and set_path_default_authorizer then
	// puts the authorizer after everything else.
	security := func(authorizer string, key, keyFirst bool) []any {
		var auth, apiKey []any
		switch authorizer {
		case "", "NONE":
		case "AWS_IAM":
			schemes["AWS_IAM"] = map[string]any{"type": "apiKey", "name": "Authorization", "in": "header", "x-amazon-apigateway-authtype": "awsSigv4"}
			auth = []any{map[string]any{"AWS_IAM": []any{}}}
		default:
			auth = []any{map[string]any{authorizer: []any{}}}
		}
		if key {
			usesKey = true
			apiKey = []any{map[string]any{"api_key": []any{}}}
		}
		if keyFirst {
			return append(apiKey, auth...)
		}
		return append(auth, apiKey...)
	}

	suffix := "Prod"
	if !api.implicit {
		if s, ok := api.stageName.(string); ok {
			suffix = nonAlnum.ReplaceAllString(s, "")
		} else {
			suffix = "Stage"
		}
	}
	handled := map[string]bool{} // "path method" of the events' methods
	for _, e := range events {
		if !known[e.authorizer] && e.authorizer != "" {
			return samResourceError(e.fn, "Event with id [%s] is invalid. Unable to set Authorizer [%s] on API method [%s] for path [%s] because the related API does not define any Authorizers.",
				e.event, e.authorizer, e.method, e.path)
		}
		ops, _ := paths[e.path].(map[string]any)
		if ops == nil {
			ops = map[string]any{}
			paths[e.path] = ops
		}
		method := e.method
		if method == "any" {
			method = "x-amazon-apigateway-any-method"
		}
		fnRef := e.fn + ".Arn"
		if e.target != "" {
			fnRef = e.target
		}
		op, _ := ops[method].(map[string]any)
		if op == nil {
			op = map[string]any{"responses": map[string]any{}}
			ops[method] = op
		}
		if _, ok := op["x-amazon-apigateway-integration"]; ok {
			return samResourceError(e.fn, "Event with id [%s] is invalid. API method '%s' defined multiple times for path '%s'.", e.event, e.method, e.path)
		}
		integ := map[string]any{"type": "aws_proxy", "httpMethod": "POST",
			"uri": map[string]any{"Fn::Sub": "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${" + fnRef + "}/invocations"}}
		if e.timeout != nil {
			integ["timeoutInMillis"] = e.timeout
		}
		op["x-amazon-apigateway-integration"] = integ
		handled[e.path+" "+method] = true
		authorizer := e.authorizer
		if authorizer == "" {
			authorizer = defaultAuth
		}
		key := apiKeyDefault
		if e.apiKeyRequired != nil {
			key = *e.apiKeyRequired
		}
		keyFirst := defaultAuth != "" && e.apiKeyRequired != nil && *e.apiKeyRequired
		if sec := security(authorizer, key, keyFirst); len(sec) > 0 {
			op["security"] = sec
		}

		m := strings.ToUpper(e.method)
		if m == "ANY" {
			m = "*"
		}
		path := e.path
		if len(path) > 1 {
			path = strings.TrimSuffix(path, "/")
		}
		perm := map[string]any{
			"Action":       "lambda:InvokeFunction",
			"Principal":    "apigateway.amazonaws.com",
			"FunctionName": map[string]any{"Ref": e.fn},
			"SourceArn": map[string]any{"Fn::Sub": []any{
				"arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${__ApiId__}/${__Stage__}/" + m + samPathParam.ReplaceAllString(path, "*"),
				map[string]any{"__ApiId__": map[string]any{"Ref": api.id}, "__Stage__": "*"}}},
		}
		if e.target != "" {
			perm["FunctionName"] = map[string]any{"Ref": e.target}
		}
		t.Resources[e.fn+e.event+"Permission"+suffix] = &resourceDef{Type: "AWS::Lambda::Permission", Properties: perm}
	}
	// DefaultAuthorizer and ApiKeyRequired also cover the methods DefinitionBody
	// defines without a security of their own, as SAM's set_path_default_authorizer does.
	for _, path := range sortedKeys(paths) {
		ops, _ := paths[path].(map[string]any)
		for _, method := range sortedKeys(ops) {
			op, _ := ops[method].(map[string]any)
			if op == nil || handled[path+" "+method] || op["security"] != nil || !swaggerMethods[method] {
				continue
			}
			if sec := security(defaultAuth, apiKeyDefault, false); len(sec) > 0 {
				op["security"] = sec
			}
		}
	}
	if cors != nil {
		preflightAuth := ""
		if add, ok := auth["AddDefaultAuthorizerToCorsPreflight"].(bool); !ok || add {
			preflightAuth = defaultAuth
		}
		preflightKey := false
		if add, ok := auth["AddApiKeyRequiredToCorsPreflight"].(bool); !ok || add {
			preflightKey = apiKeyDefault
		}
		for _, path := range sortedKeys(paths) {
			ops, _ := paths[path].(map[string]any)
			if ops == nil || ops["options"] != nil {
				continue
			}
			opt := corsOptions(cors, ops)
			if sec := security(preflightAuth, preflightKey, false); len(sec) > 0 {
				opt["security"] = sec
			}
			ops["options"] = opt
		}
	}
	if usesKey {
		schemes["api_key"] = map[string]any{"type": "apiKey", "name": "x-api-key", "in": "header"}
	}
	if len(schemes) > 0 {
		if openapi3 {
			comps, _ := body["components"].(map[string]any)
			if comps == nil {
				comps = map[string]any{}
				body["components"] = comps
			}
			existing, _ := comps["securitySchemes"].(map[string]any)
			comps["securitySchemes"] = mergeSchemes(existing, schemes)
		} else {
			existing, _ := body["securityDefinitions"].(map[string]any)
			body["securityDefinitions"] = mergeSchemes(existing, schemes)
		}
	}
	if rp, ok := auth["ResourcePolicy"]; ok {
		m, _ := rp.(map[string]any)
		stmts, ok := m["CustomStatements"]
		if !ok || len(m) != 1 {
			return samAPIError(api.id, "Sluice's SAM transform implements Auth.ResourcePolicy with CustomStatements only.")
		}
		if _, isList := stmts.([]any); !isList {
			stmts = []any{stmts}
		}
		body["x-amazon-apigateway-policy"] = map[string]any{"Version": "2012-10-17", "Statement": stmts}
	}

	restProps := map[string]any{"Body": body}
	for _, k := range []string{"Name", "Description", "MinimumCompressionSize", "DisableExecuteApiEndpoint", "FailOnWarnings", "Mode", "ApiKeySourceType"} {
		if v, ok := p[k]; ok {
			restProps[k] = v
		}
	}
	if bmt, ok := p["BinaryMediaTypes"].([]any); ok {
		var l []any
		for _, x := range bmt {
			if s, ok := x.(string); ok {
				x = strings.ReplaceAll(s, "~1", "/")
			}
			l = append(l, x)
		}
		restProps["BinaryMediaTypes"] = l
	}
	if ec, ok := p["EndpointConfiguration"]; ok {
		switch x := ec.(type) {
		case string:
			restProps["EndpointConfiguration"] = map[string]any{"Types": []any{x}}
			restProps["Parameters"] = map[string]any{"endpointConfigurationTypes": x}
		case map[string]any:
			out := map[string]any{}
			for k, v := range x {
				switch k {
				case "Type":
					out["Types"] = []any{v}
					restProps["Parameters"] = map[string]any{"endpointConfigurationTypes": v}
				case "VPCEndpointIds":
					out["VpcEndpointIds"] = v
				default:
					return samAPIError(api.id, "EndpointConfiguration has invalid property '%s'.", k)
				}
			}
			restProps["EndpointConfiguration"] = out
		default:
			return samAPIError(api.id, "Type of property 'EndpointConfiguration' is invalid.")
		}
	}
	rest := &resourceDef{Type: "AWS::ApiGateway::RestApi", Properties: restProps}
	if api.def != nil {
		rest.Condition, rest.DependsOn, rest.DeletionPolicy, rest.Metadata = api.def.Condition, api.def.DependsOn, api.def.DeletionPolicy, api.def.Metadata
	}
	t.Resources[api.id] = rest

	// The deployment's logical id carries the hash of what it deploys, so a
	// changed API gets a new deployment (SAM's LogicalIdGenerator: sha1 of the
	// JSON, 10 hex digits in the id, all of them in the description).
	b, _ := json.Marshal(restProps)
	sum := sha1.Sum(b)
	hash := hex.EncodeToString(sum[:])
	deploymentID := api.id + "Deployment" + hash[:10]
	dprops := map[string]any{"RestApiId": map[string]any{"Ref": api.id}, "Description": "RestApi deployment id: " + hash}
	if !openapi3 {
		dprops["StageName"] = "Stage"
	}
	t.Resources[deploymentID] = &resourceDef{Type: "AWS::ApiGateway::Deployment", Properties: dprops, Condition: rest.Condition}

	stageID := api.id + "Stage" + hash[:10]
	if s, ok := api.stageName.(string); ok {
		stageID = api.id + nonAlnum.ReplaceAllString(s, "") + "Stage"
	}
	sprops := map[string]any{"RestApiId": map[string]any{"Ref": api.id}, "DeploymentId": map[string]any{"Ref": deploymentID}, "StageName": api.stageName}
	for _, k := range samStageProps {
		if v, ok := p[k]; ok {
			if k == "Tags" {
				tm, _ := v.(map[string]any)
				var tags []any
				for _, tk := range sortedKeys(tm) {
					tags = append(tags, map[string]any{"Key": tk, "Value": tm[tk]})
				}
				v = tags
			}
			sprops[k] = v
		}
	}
	t.Resources[stageID] = &resourceDef{Type: "AWS::ApiGateway::Stage", Properties: sprops, Condition: rest.Condition}
	if msg := addSAMDomain(t, samRestDomain, api.id, api.props, stageID, rest.Condition); msg != "" {
		return msg
	}

	for _, a := range authorizers {
		if !a.perm {
			continue
		}
		t.Resources[api.id+a.name+"AuthorizerPermission"] = &resourceDef{Type: "AWS::Lambda::Permission", Properties: map[string]any{
			"Action": "lambda:InvokeFunction", "Principal": "apigateway.amazonaws.com", "FunctionName": a.fnArn,
			"SourceArn": map[string]any{"Fn::Sub": []any{"arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${__ApiId__}/authorizers/*",
				map[string]any{"__ApiId__": map[string]any{"Ref": api.id}}}},
		}}
	}
	return addUsagePlan(t, api, auth, stageID, rest.Condition)
}

func mergeSchemes(existing, add map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range existing {
		out[k] = v
	}
	for k, v := range add {
		if _, ok := out[k]; !ok {
			out[k] = v
		}
	}
	return out
}

// addUsagePlan generates Auth.UsagePlan's resources as SAM's api_generator
// (_construct_usage_plan) does: for PER_API, {Api}UsagePlan, {Api}ApiKey and
// {Api}UsagePlanKey; for SHARED, one ServerlessUsagePlan, ServerlessApiKey and
// ServerlessUsagePlanKey that every SHARED API's stage is added to (the plan's
// properties are the last such API's). They carry the API's Condition.
func addUsagePlan(t *template, api *samRestAPI, auth map[string]any, stageID, cond string) string {
	v, ok := auth["UsagePlan"]
	if !ok {
		return ""
	}
	up, ok := v.(map[string]any)
	if !ok {
		return samAPIError(api.id, "'UsagePlan' must be a dictionary")
	}
	for k := range up {
		switch k {
		case "CreateUsagePlan", "Description", "Quota", "Throttle", "UsagePlanName", "Tags":
		default:
			return samAPIError(api.id, "Invalid property for 'UsagePlan'")
		}
	}
	mode, _ := up["CreateUsagePlan"].(string)
	planID, keyID, planKeyID := api.id+"UsagePlan", api.id+"ApiKey", api.id+"UsagePlanKey"
	switch {
	case up["CreateUsagePlan"] == nil:
		return samAPIError(api.id, "'CreateUsagePlan' is a required field for UsagePlan.")
	case mode == "NONE":
		return ""
	case mode == "PER_API":
	case mode == "SHARED":
		if cond != "" {
			// SAM ORs the SHARED APIs' conditions into a new one; not built here.
			return samAPIError(api.id, "Sluice's SAM transform does not implement a SHARED usage plan on an API with a Condition yet.")
		}
		planID, keyID, planKeyID = "ServerlessUsagePlan", "ServerlessApiKey", "ServerlessUsagePlanKey"
	default:
		return samAPIError(api.id, "'CreateUsagePlan' accepts one of ['SHARED', 'PER_API', 'NONE'].")
	}
	plan := t.Resources[planID]
	if plan == nil || mode == "PER_API" {
		plan = &resourceDef{Type: "AWS::ApiGateway::UsagePlan", Condition: cond, Properties: map[string]any{"ApiStages": []any{}}}
		t.Resources[planID] = plan
	}
	if !slices.Contains(plan.DependsOn, api.id) {
		plan.DependsOn = append(plan.DependsOn, api.id)
	}
	plan.Properties["ApiStages"] = append(plan.Properties["ApiStages"].([]any),
		map[string]any{"ApiId": map[string]any{"Ref": api.id}, "Stage": map[string]any{"Ref": stageID}})
	for _, k := range []string{"UsagePlanName", "Description", "Quota", "Tags", "Throttle"} {
		if v, ok := up[k]; ok {
			plan.Properties[k] = v
		}
	}
	key := t.Resources[keyID]
	if key == nil || mode == "PER_API" {
		key = &resourceDef{Type: "AWS::ApiGateway::ApiKey", Condition: cond, DependsOn: []string{planID},
			Properties: map[string]any{"Enabled": true, "StageKeys": []any{}}}
		t.Resources[keyID] = key
	}
	key.Properties["StageKeys"] = append(key.Properties["StageKeys"].([]any),
		map[string]any{"RestApiId": map[string]any{"Ref": api.id}, "StageName": map[string]any{"Ref": stageID}})
	t.Resources[planKeyID] = &resourceDef{Type: "AWS::ApiGateway::UsagePlanKey", Condition: cond, DependsOn: []string{keyID}, Properties: map[string]any{
		"KeyId": map[string]any{"Ref": keyID}, "KeyType": "API_KEY", "UsagePlanId": map[string]any{"Ref": planID},
	}}
	return ""
}
