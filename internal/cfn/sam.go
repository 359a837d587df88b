package cfn

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"
)

// The SAM transform (AWS::Serverless-2016-10-31), applied server-side as
// CloudFormation does: AWS::Serverless::Function becomes AWS::Lambda::Function
// plus the resources SAM generates for it ({Fn}Role when no Role is given,
// {Fn}{Event}Permission per HttpApi event, and the implicit ServerlessHttpApi with
// its $default stage ServerlessHttpApiApiGatewayDefaultStage), with Globals
// merged in first. What Sluice's transform does not implement is refused with
// SAM's error shape, naming the resource and the property.

// samError is SAM's "Invalid Serverless Application Specification document" error.
func samError(errs []string) error {
	return validationError("Transform %s failed with: Invalid Serverless Application Specification document. Number of errors found: %d. %s",
		samTransform, len(errs), strings.Join(errs, " "))
}

func samResourceError(id, format string, args ...any) string {
	return fmt.Sprintf("Resource with id [%s] is invalid. ", id) + fmt.Sprintf(format, args...)
}

var samFunctionProps = []string{"Handler", "Runtime", "CodeUri", "InlineCode", "Environment", "Timeout", "MemorySize", "Description",
	"Role", "Policies", "Events", "FunctionName", "Layers", "Architectures", "Tags", "ReservedConcurrentExecutions", "EphemeralStorage",
	"Tracing", "LoggingConfig", "PackageType", "PermissionsBoundary", "AutoPublishAlias", "VersionDescription"}

var samFunctionUnsupported = []string{"AutoPublishCodeSha256", "DeploymentPreference", "ProvisionedConcurrencyConfig",
	"VpcConfig", "DeadLetterQueue", "EventInvokeConfig", "FunctionUrlConfig", "ImageUri", "ImageConfig", "KmsKeyArn", "FileSystemConfigs",
	"CodeSigningConfigArn", "SnapStart", "RuntimeManagementConfig", "AssumeRolePolicyDocument", "RolePath"}

// samFunctionGlobals are the Function properties Globals may set.
var samFunctionGlobals = []string{"Handler", "Runtime", "CodeUri", "Environment", "Timeout", "MemorySize", "Description", "Layers",
	"Architectures", "Tags", "ReservedConcurrentExecutions", "EphemeralStorage", "Tracing", "LoggingConfig", "PermissionsBoundary",
	"AutoPublishAlias", "VpcConfig", "DeadLetterQueue", "KmsKeyArn"}

type httpAPIEvent struct {
	fn, event, method, path string
	// target is what the route invokes and the permission names: the
	// function, or its AutoPublishAlias alias.
	target  string
	payload any
	timeout any
	api     string         // the AWS::Serverless::HttpApi's logical id; "" for ServerlessHttpApi
	auth    map[string]any // the event's Auth (Authorizer, AuthorizationScopes); nil without one
}

// samAPIs are the template's AWS::Serverless::Api and ::HttpApi resources.
type samAPIs struct {
	rest map[string]*samRestAPI
	http map[string]*samHTTPAPI
}

// samEvents are a function's events, by the API they attach to.
type samEvents struct {
	http []httpAPIEvent
	rest []restAPIEvent
	s3   []s3Event
}

// transformSAM applies the transform; params are the values SAM resolves
// parameter refs with (samParameterValues).
func transformSAM(t *template, params map[string]string) error {
	var errs []string
	g, gerrs := samGlobals(t.Globals)
	errs = append(errs, gerrs...)
	var events samEvents
	names := make([]string, 0, len(t.Resources))
	for n := range t.Resources {
		names = append(names, n)
	}
	sort.Strings(names)
	apis := samAPIs{rest: map[string]*samRestAPI{}, http: map[string]*samHTTPAPI{}}
	for _, id := range names {
		r := t.Resources[id]
		switch r.Type {
		case "AWS::Serverless::Api":
			api, aerrs := samAPI(id, r, g.api)
			errs = append(errs, aerrs...)
			apis.rest[id] = api
		case "AWS::Serverless::HttpApi":
			api, aerrs := samHTTPAPIDef(id, r.Properties, r, g.httpAPI)
			errs = append(errs, aerrs...)
			apis.http[id] = api
		}
	}
	// SAM's generators resolve Domain's parameter refs first: the domain
	// resource is named after the domain name itself.
	resolveSAMDomainParams(g.api, params)
	for _, a := range apis.rest {
		resolveSAMDomainParams(a.props, params)
	}
	for _, a := range apis.http {
		resolveSAMDomainParams(a.props, params)
	}
	for _, id := range names {
		r := t.Resources[id]
		if !strings.HasPrefix(r.Type, "AWS::Serverless::") || r.Type == "AWS::Serverless::Api" || r.Type == "AWS::Serverless::HttpApi" {
			continue
		}
		if r.Type != "AWS::Serverless::Function" {
			errs = append(errs, samResourceError(id, "Sluice's SAM transform does not implement %s yet (it implements AWS::Serverless::Function, AWS::Serverless::Api and AWS::Serverless::HttpApi).", r.Type))
			continue
		}
		ev, ferrs := samFunction(t, id, r, g.function, apis)
		errs = append(errs, ferrs...)
		events.http = append(events.http, ev.http...)
		events.rest = append(events.rest, ev.rest...)
		events.s3 = append(events.s3, ev.s3...)
	}
	if len(errs) > 0 {
		return samError(errs)
	}
	if err := addHTTPAPIs(t, apis.http, events.http, g.httpAPI); err != "" {
		return samError([]string{err})
	}
	if err := addRestAPIs(t, apis.rest, events.rest, g.api); err != "" {
		return samError([]string{err})
	}
	if errs := addS3Notifications(t, events.s3); len(errs) > 0 {
		return samError(errs)
	}
	t.Globals = nil
	t.Transform = nil
	return nil
}

// samGlobalSections are the Globals sections Sluice's transform applies.
type samGlobalSections struct {
	function, api, httpAPI map[string]any
}

func samGlobals(g map[string]any) (samGlobalSections, []string) {
	var errs []string
	var out samGlobalSections
	for k, v := range g {
		var allowed []string
		switch k {
		case "Function":
			allowed = samFunctionGlobals
		case "Api":
			allowed = samAPIGlobals
		case "HttpApi":
			allowed = samHTTPAPIGlobals
		default:
			errs = append(errs, fmt.Sprintf("'Globals' section is invalid. Sluice's SAM transform does not implement Globals.%s yet.", k))
			continue
		}
		m, ok := v.(map[string]any)
		if !ok {
			errs = append(errs, fmt.Sprintf("'Globals' section is invalid. '%s' must be a dictionary.", k))
			continue
		}
		for p := range m {
			if !contains(allowed, p) {
				errs = append(errs, fmt.Sprintf("'Globals' section is invalid. '%s' is not a supported property of '%s'.", p, k))
			}
		}
		switch k {
		case "Function":
			out.function = m
		case "Api":
			out.api = m
		default:
			out.httpAPI = m
		}
	}
	return out, errs
}

// withGlobals is a resource's properties with a Globals section merged under them.
func withGlobals(globals, own map[string]any) map[string]any {
	p := map[string]any{}
	for k, v := range globals {
		p[k] = v
	}
	for k, v := range own {
		if g, ok := p[k]; ok {
			p[k] = mergeGlobal(g, v)
		} else {
			p[k] = v
		}
	}
	return p
}

// mergeGlobal merges a Globals value under the function's own: maps merge key by
// key (the function wins), lists are concatenated, scalars are replaced.
func mergeGlobal(global, local any) any {
	gm, ok1 := global.(map[string]any)
	lm, ok2 := local.(map[string]any)
	if ok1 && ok2 {
		out := map[string]any{}
		for k, v := range gm {
			out[k] = v
		}
		for k, v := range lm {
			if g, ok := out[k]; ok {
				out[k] = mergeGlobal(g, v)
			} else {
				out[k] = v
			}
		}
		return out
	}
	gl, ok1 := global.([]any)
	ll, ok2 := local.([]any)
	if ok1 && ok2 {
		return append(append([]any{}, gl...), ll...)
	}
	return local
}

var aliasName = regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)

var s3URI = regexp.MustCompile(`^s3://([^/]+)/(.+)$`)

func samFunction(t *template, id string, r *resourceDef, globals map[string]any, apis samAPIs) (samEvents, []string) {
	var none samEvents
	p := withGlobals(globals, r.Properties)
	var errs []string
	for k := range p {
		if contains(samFunctionUnsupported, k) {
			errs = append(errs, samResourceError(id, "Sluice's SAM transform does not implement property '%s' yet.", k))
		} else if !contains(samFunctionProps, k) {
			errs = append(errs, samResourceError(id, "property %s not defined for resource of type AWS::Serverless::Function", k))
		}
	}
	if len(errs) > 0 {
		return none, errs
	}
	fn := map[string]any{}
	for _, k := range []string{"Handler", "Runtime", "Environment", "Timeout", "MemorySize", "Description", "FunctionName", "Layers",
		"Architectures", "ReservedConcurrentExecutions", "EphemeralStorage", "LoggingConfig", "PackageType"} {
		if v, ok := p[k]; ok {
			fn[k] = v
		}
	}
	if tr, ok := p["Tracing"]; ok {
		fn["TracingConfig"] = map[string]any{"Mode": tr}
	}
	switch {
	case p["InlineCode"] != nil:
		if p["CodeUri"] != nil {
			return none, []string{samResourceError(id, "Specify either 'CodeUri' or 'InlineCode' for a function, not both.")}
		}
		fn["Code"] = map[string]any{"ZipFile": p["InlineCode"]}
	case p["CodeUri"] != nil:
		code, err := samCode(p["CodeUri"])
		if err != "" {
			return none, []string{samResourceError(id, "%s", err)}
		}
		fn["Code"] = code
	default:
		return none, []string{samResourceError(id, "Missing required property 'CodeUri'.")}
	}
	tags := []any{map[string]any{"Key": "lambda:createdBy", "Value": "SAM"}}
	if m, ok := p["Tags"].(map[string]any); ok {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			tags = append(tags, map[string]any{"Key": k, "Value": m[k]})
		}
	} else if p["Tags"] != nil {
		return none, []string{samResourceError(id, "Type of property 'Tags' is invalid.")}
	}
	fn["Tags"] = tags
	if role, ok := p["Role"]; ok {
		fn["Role"] = role
		if p["Policies"] != nil {
			return none, []string{samResourceError(id, "Specify either 'Role' or 'Policies' for a function, not both.")}
		}
	} else {
		role, err := samRole(id, p)
		if err != "" {
			return none, []string{err}
		}
		t.Resources[id+"Role"] = role
		fn["Role"] = map[string]any{"Fn::GetAtt": []any{id + "Role", "Arn"}}
	}
	target := ""
	if alias, ok := p["AutoPublishAlias"]; ok {
		name, ok := alias.(string)
		if !ok || name == "" || !aliasName.MatchString(name) {
			return none, []string{samResourceError(id, "'AutoPublishAlias' must be a string of letters, digits, '-' and '_'.")}
		}
		// The version's logical id carries a hash of the function's
		// properties, so new code or configuration publishes a new version
		// (the old one is retained, as SAM does) and the alias moves to it.
		b, _ := json.Marshal(fn)
		sum := sha256.Sum256(b)
		versionID := id + "Version" + hex.EncodeToString(sum[:])[:10]
		vprops := map[string]any{"FunctionName": map[string]any{"Ref": id}}
		if d, ok := p["VersionDescription"]; ok {
			vprops["Description"] = d
		}
		t.Resources[versionID] = &resourceDef{Type: "AWS::Lambda::Version", DeletionPolicy: "Retain", Properties: vprops}
		target = id + "Alias" + strings.NewReplacer("-", "", "_", "").Replace(name)
		t.Resources[target] = &resourceDef{Type: "AWS::Lambda::Alias", Properties: map[string]any{
			"Name": name, "FunctionName": map[string]any{"Ref": id},
			"FunctionVersion": map[string]any{"Fn::GetAtt": []any{versionID, "Version"}},
		}}
	} else if _, ok := p["VersionDescription"]; ok {
		return none, []string{samResourceError(id, "'VersionDescription' needs 'AutoPublishAlias'.")}
	}
	var events samEvents
	if evs, ok := p["Events"].(map[string]any); ok {
		names := make([]string, 0, len(evs))
		for n := range evs {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, en := range names {
			if err := samEvent(&events, id, en, evs[en], target, apis); err != "" {
				errs = append(errs, err)
			}
		}
	} else if p["Events"] != nil {
		errs = append(errs, samResourceError(id, "Type of property 'Events' is invalid."))
	}
	if len(errs) > 0 {
		return none, errs
	}
	t.Resources[id] = &resourceDef{Type: "AWS::Lambda::Function", Properties: fn, DependsOn: r.DependsOn, Condition: r.Condition,
		DeletionPolicy: r.DeletionPolicy, Metadata: r.Metadata}
	return events, nil
}

// samCode maps CodeUri (after `aws cloudformation package` or `sluice deploy`, an
// S3 location) to Lambda's Code.
func samCode(v any) (map[string]any, string) {
	switch x := v.(type) {
	case string:
		m := s3URI.FindStringSubmatch(x)
		if m == nil {
			return nil, "'CodeUri' is not a valid S3 Uri of the form 's3://bucket/key' with optional versionId query parameter."
		}
		key, query, _ := strings.Cut(m[2], "?")
		code := map[string]any{"S3Bucket": m[1], "S3Key": key}
		if q, err := url.ParseQuery(query); err == nil && q.Get("versionId") != "" {
			code["S3ObjectVersion"] = q.Get("versionId")
		}
		return code, ""
	case map[string]any:
		if x["Bucket"] == nil || x["Key"] == nil {
			return nil, "'CodeUri' requires Bucket and Key properties to be specified."
		}
		code := map[string]any{"S3Bucket": x["Bucket"], "S3Key": x["Key"]}
		if x["Version"] != nil {
			code["S3ObjectVersion"] = x["Version"]
		}
		return code, ""
	}
	return nil, "'CodeUri' is not a valid S3 Uri of the form 's3://bucket/key' with optional versionId query parameter."
}

// samRole builds the {Fn}Role SAM generates: Lambda may assume it, it carries
// AWSLambdaBasicExecutionRole and the function's Policies.
func samRole(id string, p map[string]any) (*resourceDef, string) {
	managed := []any{"arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"}
	var inline []any
	var pols []any
	switch x := p["Policies"].(type) {
	case nil:
	case string, map[string]any:
		pols = []any{x}
	case []any:
		pols = x
	default:
		return nil, samResourceError(id, "Type of property 'Policies' is invalid.")
	}
	for i, pol := range pols {
		switch x := pol.(type) {
		case string:
			if strings.HasPrefix(x, "arn:") {
				managed = append(managed, x)
			} else {
				managed = append(managed, "arn:aws:iam::aws:policy/"+x)
			}
		case map[string]any:
			if _, ok := x["Statement"]; ok {
				inline = append(inline, map[string]any{"PolicyName": fmt.Sprintf("%sRolePolicy%d", id, i), "PolicyDocument": x})
				continue
			}
			if len(x) == 1 {
				for k := range x {
					if k == "Ref" || k == "Fn::Sub" || k == "Fn::If" || k == "Fn::ImportValue" || k == "Fn::GetAtt" {
						managed = append(managed, x)
						continue
					}
					return nil, samResourceError(id, "Sluice's SAM transform does not implement the policy template %s yet; write the policy statement instead.", k)
				}
				continue
			}
			return nil, samResourceError(id, "Type of property 'Policies' is invalid.")
		default:
			return nil, samResourceError(id, "Type of property 'Policies' is invalid.")
		}
	}
	props := map[string]any{
		"AssumeRolePolicyDocument": map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
			"Effect": "Allow", "Principal": map[string]any{"Service": []any{"lambda.amazonaws.com"}}, "Action": []any{"sts:AssumeRole"}}}},
		"ManagedPolicyArns": managed,
		"Tags":              []any{map[string]any{"Key": "lambda:createdBy", "Value": "SAM"}},
	}
	if len(inline) > 0 {
		props["Policies"] = inline
	}
	if pb, ok := p["PermissionsBoundary"]; ok {
		props["PermissionsBoundary"] = pb
	}
	return &resourceDef{Type: "AWS::IAM::Role", Properties: props}, ""
}

// samEvent reads one of a function's events into events; target is what the
// event invokes (the function, or its AutoPublishAlias alias).
func samEvent(events *samEvents, fn, name string, v any, target string, apis samAPIs) string {
	m, ok := v.(map[string]any)
	if !ok {
		return samResourceError(fn, "Event with id [%s] is invalid. Type of property 'Events' is invalid.", name)
	}
	typ, _ := m["Type"].(string)
	ep, _ := m["Properties"].(map[string]any)
	switch typ {
	case "HttpApi":
		e, err := samHTTPAPIEvent(fn, name, ep, apis.http)
		e.target = target
		events.http = append(events.http, e)
		return err
	case "Api":
		e, err := samRestEvent(fn, name, ep, apis.rest)
		e.target = target
		events.rest = append(events.rest, e)
		return err
	case "S3":
		e, err := samS3Event(fn, name, ep)
		e.target = target
		events.s3 = append(events.s3, e)
		return err
	}
	return samResourceError(fn, "Event with id [%s] is invalid. Sluice's SAM transform does not implement event type '%s' yet (it implements Api, HttpApi and S3).", name, typ)
}

func samHTTPAPIEvent(fn, name string, ep map[string]any, httpAPIs map[string]*samHTTPAPI) (httpAPIEvent, string) {
	e := httpAPIEvent{fn: fn, event: name, path: "$default", method: "ANY"}
	for k, val := range ep {
		switch k {
		case "Path":
			s, ok := val.(string)
			if !ok {
				return e, samResourceError(fn, "Event with id [%s] is invalid. Property 'Path' should be a string.", name)
			}
			e.path = s
		case "Method":
			s, ok := val.(string)
			if !ok {
				return e, samResourceError(fn, "Event with id [%s] is invalid. Property 'Method' should be a string.", name)
			}
			e.method = strings.ToUpper(s)
		case "PayloadFormatVersion":
			e.payload = val
		case "TimeoutInMillis":
			e.timeout = val
		case "ApiId":
			ref, _ := val.(map[string]any)
			id, _ := ref["Ref"].(string)
			if len(ref) != 1 || httpAPIs[id] == nil {
				return e, samResourceError(fn, "Event with id [%s] is invalid. ApiId must be a valid reference to an 'AWS::Serverless::HttpApi' resource in same template.", name)
			}
			e.api = id
		case "Auth":
			m, ok := val.(map[string]any)
			if !ok {
				return e, samResourceError(fn, "Event with id [%s] is invalid. Property 'Auth' should be a map.", name)
			}
			e.auth = m
		case "RouteSettings":
			return e, samResourceError(fn, "Event with id [%s] is invalid. Sluice's SAM transform does not implement HttpApi event property '%s' yet.", name, k)
		default:
			return e, samResourceError(fn, "Event with id [%s] is invalid. property %s not defined for resource of type HttpApi", name, k)
		}
	}
	if (ep["Path"] == nil) != (ep["Method"] == nil) {
		return e, samResourceError(fn, "Event with id [%s] is invalid. Event must have both Path and Method, or neither.", name)
	}
	return e, ""
}

var pathParam = regexp.MustCompile(`\{[^}]+\}`)

// addHTTPAPI generates one HTTP API: its OpenAPI body (DefinitionBody, or a new
// one) with one aws_proxy integration per event, its stage (the auto-deployed
// $default unless StageName says otherwise) and one permission per event.
func addHTTPAPI(t *template, api *samHTTPAPI, events []httpAPIEvent) string {
	body := map[string]any{
		"openapi": "3.0.1",
		"info":    map[string]any{"title": map[string]any{"Ref": "AWS::StackName"}, "version": "1.0"},
		"paths":   map[string]any{},
	}
	if def, ok := api.props["DefinitionBody"]; ok {
		m, ok := deepCopy(def).(map[string]any)
		if !ok {
			return samResourceError(api.id, "Type of property 'DefinitionBody' is invalid.")
		}
		body = m
	}
	paths, _ := body["paths"].(map[string]any)
	if paths == nil {
		paths = map[string]any{}
		body["paths"] = paths
	}
	auth, err := samHTTPAPIAuth(api)
	if err != "" {
		return err
	}
	for _, e := range events {
		fnRef, permTarget := e.fn+".Arn", e.fn
		if e.target != "" {
			fnRef, permTarget = e.target, e.target
		}
		integ := map[string]any{
			"type":                 "aws_proxy",
			"httpMethod":           "POST",
			"uri":                  map[string]any{"Fn::Sub": "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${" + fnRef + "}/invocations"},
			"payloadFormatVersion": "2.0",
		}
		if e.payload != nil {
			integ["payloadFormatVersion"] = e.payload
		}
		if e.timeout != nil {
			integ["timeoutInMillis"] = e.timeout
		}
		method := strings.ToLower(e.method)
		if e.method == "ANY" {
			method = "x-amazon-apigateway-any-method"
		}
		path := e.path
		if path == "$default" {
			path = "/$default"
		}
		ops, _ := paths[path].(map[string]any)
		if ops == nil {
			ops = map[string]any{}
			paths[path] = ops
		}
		if op, ok := ops[method].(map[string]any); ok && op["x-amazon-apigateway-integration"] != nil {
			return samResourceError(e.fn, "Event with id [%s] is invalid. API method '%s' defined multiple times for path '%s'.", e.event, method, path)
		}
		op := map[string]any{"responses": map[string]any{}, "x-amazon-apigateway-integration": integ}
		security, err := auth.eventSecurity(e)
		if err != "" {
			return err
		}
		if security != nil {
			op["security"] = security
		}
		ops[method] = op

		src := "${" + api.id + "}/*"
		if e.path != "$default" {
			m := e.method
			if m == "ANY" {
				m = "*"
			}
			src = "${" + api.id + "}/*/" + m + pathParam.ReplaceAllString(e.path, "*")
		}
		t.Resources[e.fn+e.event+"Permission"] = &resourceDef{Type: "AWS::Lambda::Permission", Properties: map[string]any{
			"Action":       "lambda:InvokeFunction",
			"FunctionName": map[string]any{"Ref": permTarget},
			"Principal":    "apigateway.amazonaws.com",
			"SourceArn":    map[string]any{"Fn::Sub": "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:" + src},
		}}
	}
	auth.applyDefaultAuthorizer(paths)
	auth.addSecuritySchemes(body)
	if err := applyHTTPAPIProps(api, body); err != "" {
		return err
	}
	tags, err := addHTTPAPITags(api, body)
	if err != "" {
		return err
	}
	apiProps := map[string]any{"Body": body}
	if fw, ok := api.props["FailOnWarnings"]; ok {
		apiProps["FailOnWarnings"] = fw
	}
	res := &resourceDef{Type: "AWS::ApiGatewayV2::Api", Properties: apiProps}
	if api.def != nil {
		res.Condition, res.DependsOn, res.DeletionPolicy, res.Metadata = api.def.Condition, api.def.DependsOn, api.def.DeletionPolicy, api.def.Metadata
	}
	t.Resources[api.id] = res
	auth.addPermissions(t, api, res.Condition)
	stageID, stageName := api.id+"ApiGatewayDefaultStage", any("$default")
	if n, ok := api.props["StageName"]; ok {
		stageName = n
		s, _ := n.(string)
		stageID = api.id + nonAlnum.ReplaceAllString(s, "") + "Stage"
	}
	stage := map[string]any{"ApiId": map[string]any{"Ref": api.id}, "StageName": stageName, "AutoDeploy": true, "Tags": tags}
	for _, k := range []string{"StageVariables", "DefaultRouteSettings", "RouteSettings", "AccessLogSettings"} {
		if v, ok := api.props[k]; ok {
			stage[k] = v
		}
	}
	t.Resources[stageID] = &resourceDef{Type: "AWS::ApiGatewayV2::Stage", Properties: stage, Condition: res.Condition}
	return addSAMDomain(t, samHTTPDomain, api.id, api.props, stageID, res.Condition)
}
