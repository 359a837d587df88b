package openapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/sluice-dev/sluice/internal/apigw/model"
)

// RestOptions are ImportRestApi/PutRestApi's `parameters` that shape the import.
type RestOptions struct {
	// BasePath is basepath=ignore (default) | prepend | split: what becomes of the
	// document's base path (Swagger basePath, or the first server URL's path).
	BasePath string
	// IgnoreDocumentation is ignore=documentation.
	IgnoreDocumentation bool
}

// RestDefinition is what a document asks API Gateway to build for a REST API. Its
// records carry no ids: a method's AuthorizerID and RequestValidatorID hold the
// authorizer's or validator's *name* until the control plane, which assigns ids,
// resolves them.
type RestDefinition struct {
	Name, Description, Version string
	BinaryMediaTypes           []string
	APIKeySource               string // "" when the document does not say
	VpcEndpointIDs             []string
	DisableExecuteAPIEndpoint  *bool
	MinimumCompressionSize     *int
	Policy                     string // JSON, "" when absent
	Resources                  []*RestResource
	Models                     []*model.Model
	Validators                 []*model.RequestValidator
	Authorizers                []*model.Authorizer
	GatewayResponses           []*model.GatewayResponse
	// Warnings are what the document asks for that was not imported, in AWS's
	// "Parse issue: ..." wording. With failonwarnings they fail the import.
	Warnings []string
}

// RestResource is one path of the API and the methods defined on it.
type RestResource struct {
	Path    string
	Methods map[string]*model.Method
}

// ImportError is a document that cannot be imported at all, or one part of it that
// would change what the API protects if it were skipped (a security requirement
// Sluice cannot enforce). API Gateway answers it with BadRequestException.
type ImportError struct{ Problems []string }

func (e *ImportError) Error() string {
	return "Errors found during import:\n\t" + strings.Join(e.Problems, "\n\t")
}

// WarningsError is the message of an import refused under failonwarnings, in AWS's
// words: "Warnings found during import:\n\t<warning>\n\t<warning>".
func WarningsError(warnings []string) string {
	return "Warnings found during import:\n\t" + strings.Join(warnings, "\n\t")
}

// restImporter accumulates one translation.
type restImporter struct {
	doc      *Document
	opts     RestOptions
	def      *RestDefinition
	problems []string
	schemes  map[string]*openapi3.SecurityScheme
	// defaultValidator is the document-level x-amazon-apigateway-request-validator.
	defaultValidator string
	validators       map[string]bool
	authorizers      map[string]bool
}

// RestAPI translates the document into a REST API definition.
func (d *Document) RestAPI(opts RestOptions) (*RestDefinition, error) {
	im := &restImporter{doc: d, opts: opts, def: &RestDefinition{}, schemes: map[string]*openapi3.SecurityScheme{},
		validators: map[string]bool{}, authorizers: map[string]bool{}}
	im.info()
	im.rootExtensions()
	im.securitySchemes()
	im.models()
	im.paths()
	if len(im.problems) > 0 {
		return nil, &ImportError{Problems: im.problems}
	}
	return im.def, nil
}

func (im *restImporter) warn(format string, args ...any) {
	im.def.Warnings = append(im.def.Warnings, "Parse issue: "+fmt.Sprintf(format, args...))
}

func (im *restImporter) fail(format string, args ...any) {
	im.problems = append(im.problems, fmt.Sprintf(format, args...))
}

func (im *restImporter) info() {
	t := im.doc.T
	if t.Info == nil || strings.TrimSpace(t.Info.Title) == "" {
		// AWS names the API from info.title and refuses a document without one.
		im.fail("Invalid OpenAPI input: info.title is required: it becomes the API's name")
		return
	}
	im.def.Name = t.Info.Title
	im.def.Description = t.Info.Description
	im.def.Version = t.Info.Version
}

func (im *restImporter) rootExtensions() {
	for _, k := range sortedKeys(im.doc.T.Extensions) {
		v := im.doc.T.Extensions[k]
		switch k {
		case extAPIKeySource:
			s, _ := v.(string)
			s = strings.ToUpper(s)
			if s != "HEADER" && s != "AUTHORIZER" {
				im.warn("attribute %s has an invalid value %v: must be HEADER or AUTHORIZER", k, v)
				continue
			}
			im.def.APIKeySource = s
		case extBinaryMediaTypes:
			var types []string
			if err := decodeExt(v, &types); err != nil {
				im.warn("attribute %s is not a list of media types", k)
				continue
			}
			im.def.BinaryMediaTypes = types
		case extPolicy:
			b, err := json.Marshal(v)
			if s, ok := v.(string); ok {
				b, err = []byte(s), nil
			}
			if err != nil || !json.Valid(b) {
				im.warn("attribute %s is not a policy document", k)
				continue
			}
			im.def.Policy = string(b)
		case extEndpointConfig:
			var ec endpointConfigExt
			if err := decodeExt(v, &ec); err != nil {
				im.warn("attribute %s is invalid: %v", k, err)
				continue
			}
			im.def.VpcEndpointIDs = ec.VpcEndpointIDs
			im.def.DisableExecuteAPIEndpoint = ec.DisableExecuteAPIEndpoint
		case extMinCompression:
			var n flexInt
			if err := decodeExt(v, &n); err != nil {
				im.warn("attribute %s is not a number", k)
				continue
			}
			i := int(n)
			im.def.MinimumCompressionSize = &i
		case extRequestValidators:
			im.requestValidators(v)
		case extRequestValidator:
			s, _ := v.(string)
			im.defaultValidator = s
		case extGatewayResponses:
			im.gatewayResponses(v)
		case extDocumentation:
			if !im.opts.IgnoreDocumentation {
				im.warn("attribute %s is not supported by Sluice (documentation parts); import with parameters ignore=documentation to skip it", k)
			}
		case extImportExport, extTagValue:
		case extCORS, extDisableExecuteAPI:
			im.warn("attribute %s applies to HTTP APIs and was ignored for a REST API", k)
		default:
			if strings.HasPrefix(k, extAPIGatewayPrefix) {
				im.warn("attribute %s is not supported", k)
			}
		}
	}
}

func (im *restImporter) requestValidators(v any) {
	var vals map[string]requestValidatorExt
	if err := decodeExt(v, &vals); err != nil {
		im.warn("attribute %s is invalid: %v", extRequestValidators, err)
		return
	}
	for _, name := range sortedKeys(vals) {
		rv := vals[name]
		im.validators[name] = true
		im.def.Validators = append(im.def.Validators, &model.RequestValidator{Name: name,
			ValidateRequestBody: rv.ValidateRequestBody, ValidateRequestParameters: rv.ValidateRequestParameters})
	}
}

func (im *restImporter) gatewayResponses(v any) {
	var grs map[string]gatewayResponseExt
	if err := decodeExt(v, &grs); err != nil {
		im.warn("attribute %s is invalid: %v", extGatewayResponses, err)
		return
	}
	for _, t := range sortedKeys(grs) {
		g := grs[t]
		im.def.GatewayResponses = append(im.def.GatewayResponses, &model.GatewayResponse{ResponseType: t,
			StatusCode: string(g.StatusCode), ResponseParameters: g.ResponseParameters, ResponseTemplates: g.ResponseTemplates})
	}
}

// securitySchemes reads components.securitySchemes: Lambda and Cognito authorizers
// (x-amazon-apigateway-authorizer), SigV4 (x-amazon-apigateway-authtype: awsSigv4)
// and the API key scheme (apiKey in header x-api-key).
func (im *restImporter) securitySchemes() {
	if im.doc.T.Components == nil {
		return
	}
	for _, name := range sortedKeys(im.doc.T.Components.SecuritySchemes) {
		ref := im.doc.T.Components.SecuritySchemes[name]
		if ref == nil || ref.Value == nil {
			continue
		}
		sc := ref.Value
		im.schemes[name] = sc
		raw, ok := sc.Extensions[extAuthorizer]
		if !ok {
			continue
		}
		var ax authorizerExt
		if err := decodeExt(raw, &ax); err != nil {
			im.fail("Unable to create authorizer '%s': %s is invalid: %v", name, extAuthorizer, err)
			continue
		}
		if extra := unknownKeys(raw, authorizerKeys...); len(extra) > 0 {
			im.warn("attribute components.securitySchemes.%s.%s has unsupported members %s", name, extAuthorizer, strings.Join(extra, ", "))
		}
		au := &model.Authorizer{Name: name, Type: strings.ToUpper(ax.Type), AuthorizerURI: ax.AuthorizerURI,
			AuthorizerCredentials: ax.AuthorizerCredentials, IdentitySource: ax.IdentitySource,
			IdentityValidationExpression: ax.IdentityValidationExpression, ProviderARNs: ax.ProviderARNs}
		if at, ok := sc.Extensions[extAuthType].(string); ok {
			au.AuthType = at
		}
		if au.Type == "" {
			au.Type = "TOKEN"
		}
		if au.Type == "TOKEN" && au.IdentitySource == "" && sc.In == "header" && sc.Name != "" {
			// The scheme's header is the token's source when the authorizer does not
			// name one (AWS's PetStore-with-authorizer examples rely on it).
			au.IdentitySource = "method.request.header." + sc.Name
		}
		if ax.AuthorizerResultTTLInSeconds != nil {
			ttl := int(*ax.AuthorizerResultTTLInSeconds)
			au.AuthorizerResultTTLInSeconds = &ttl
		} else if au.Type != "COGNITO_USER_POOLS" {
			ttl := 300
			au.AuthorizerResultTTLInSeconds = &ttl
		}
		im.authorizers[name] = true
		im.def.Authorizers = append(im.def.Authorizers, au)
	}
}

// models turns components.schemas (Swagger's definitions) into models, content
// type application/json as AWS imports them.
func (im *restImporter) models() {
	if im.doc.T.Components == nil {
		return
	}
	for _, name := range sortedKeys(im.doc.T.Components.Schemas) {
		ref := im.doc.T.Components.Schemas[name]
		if ref == nil || ref.Value == nil {
			continue
		}
		b, err := json.Marshal(ref.Value)
		if err != nil {
			im.warn("attribute components.schemas.%s could not be serialized: %v", name, err)
			continue
		}
		var schema map[string]any
		_ = json.Unmarshal(b, &schema)
		if schema == nil {
			schema = map[string]any{}
		}
		if _, ok := schema["$schema"]; !ok {
			schema["$schema"] = "http://json-schema.org/draft-04/schema#"
		}
		if _, ok := schema["title"]; !ok {
			schema["title"] = name
		}
		out, _ := json.MarshalIndent(schema, "", "  ")
		im.def.Models = append(im.def.Models, &model.Model{Name: name, ContentType: "application/json", Schema: string(out),
			Description: ref.Value.Description})
	}
}

// resourcePath applies basepath=ignore|prepend|split to a document path.
func (im *restImporter) resourcePath(p string) string {
	base := strings.TrimSuffix(im.doc.BasePath, "/")
	switch im.opts.BasePath {
	case "prepend":
		p = base + p
	case "split":
		// The first segment of the base path is taken to be the stage; the rest
		// is prepended to every resource path.
		rest := strings.TrimPrefix(base, "/")
		if i := strings.Index(rest, "/"); i >= 0 {
			p = rest[i:] + p
		}
	}
	if p == "" {
		p = "/"
	}
	return p
}

var operationMethods = []string{http.MethodDelete, http.MethodGet, http.MethodHead, http.MethodOptions,
	http.MethodPatch, http.MethodPost, http.MethodPut}

func (im *restImporter) paths() {
	byPath := map[string]*RestResource{}
	for _, docPath := range im.doc.T.Paths.InMatchingOrder() {
		item := im.doc.T.Paths.Value(docPath)
		if item == nil {
			continue
		}
		path := im.resourcePath(docPath)
		res := byPath[path]
		if res == nil {
			res = &RestResource{Path: path, Methods: map[string]*model.Method{}}
			byPath[path] = res
		}
		for _, verb := range operationMethods {
			op := item.GetOperation(verb)
			if op == nil {
				continue
			}
			res.Methods[verb] = im.method(docPath, strings.ToLower(verb), verb, item, op)
		}
		if op := item.Trace; op != nil {
			im.warn("attribute paths.'%s'(trace) is not supported: API Gateway methods are GET, PUT, POST, DELETE, PATCH, OPTIONS, HEAD and ANY", docPath)
		}
		for _, k := range sortedKeys(item.Extensions) {
			if k == extAnyMethod {
				var op openapi3.Operation
				if err := decodeExt(item.Extensions[k], &op); err != nil {
					im.fail("Parse issue: attribute paths.'%s'.%s is invalid: %v", docPath, k, err)
					continue
				}
				res.Methods["ANY"] = im.method(docPath, k, "ANY", item, &op)
				continue
			}
			if strings.HasPrefix(k, extAPIGatewayPrefix) {
				im.warn("attribute paths.'%s'.%s is not supported", docPath, k)
			}
		}
	}
	paths := make([]string, 0, len(byPath))
	for p := range byPath {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		im.def.Resources = append(im.def.Resources, byPath[p])
	}
}

// method translates one operation. where is how warnings name it: paths.'/p'(get).
func (im *restImporter) method(docPath, opName, verb string, item *openapi3.PathItem, op *openapi3.Operation) *model.Method {
	where := fmt.Sprintf("paths.'%s'(%s)", docPath, opName)
	m := &model.Method{HTTPMethod: verb, AuthorizationType: "NONE", OperationName: op.OperationID}
	im.parameters(where, m, item.Parameters, op.Parameters)
	im.requestBody(where, m, op.RequestBody)
	im.responses(where, m, op.Responses)
	im.security(where, m, op)
	validator := im.defaultValidator
	for _, k := range sortedKeys(op.Extensions) {
		v := op.Extensions[k]
		switch k {
		case extIntegration:
			m.MethodIntegration = im.integration(where, v)
		case extRequestValidator:
			s, _ := v.(string)
			validator = s
		case extAuth:
			var a struct{ Type string }
			_ = decodeExt(v, &a)
			switch strings.ToUpper(a.Type) {
			case "AWS_IAM":
				m.AuthorizationType = "AWS_IAM"
			case "NONE":
			default:
				im.fail("%s.%s: unsupported authorization type %q", where, k, a.Type)
			}
		default:
			if strings.HasPrefix(k, extAPIGatewayPrefix) {
				im.warn("attribute %s.%s is not supported", where, k)
			}
		}
	}
	if validator != "" {
		if !im.validators[validator] {
			im.fail("Parse issue: attribute %s.%s: request validator '%s' is not defined in %s", where, extRequestValidator, validator, extRequestValidators)
		}
		m.RequestValidatorID = validator
	}
	return m
}

func (im *restImporter) parameters(where string, m *model.Method, lists ...openapi3.Parameters) {
	for _, list := range lists {
		for _, ref := range list {
			if ref == nil || ref.Value == nil {
				continue
			}
			p := ref.Value
			var loc string
			switch p.In {
			case "path":
				loc = "path"
			case "query":
				loc = "querystring"
			case "header":
				loc = "header"
			default:
				im.warn("attribute %s.parameters.%s: parameters in %s are not supported by API Gateway", where, p.Name, p.In)
				continue
			}
			if m.RequestParameters == nil {
				m.RequestParameters = map[string]bool{}
			}
			m.RequestParameters["method.request."+loc+"."+p.Name] = p.Required || p.In == "path"
		}
	}
}

// modelName is the model a $ref names, "" for an inline schema.
func modelName(ref string) string {
	if n, ok := strings.CutPrefix(ref, componentsSchemasRef); ok {
		return n
	}
	if n, ok := strings.CutPrefix(ref, swaggerDefinitionsRef); ok {
		return n
	}
	return ""
}

func (im *restImporter) requestBody(where string, m *model.Method, rb *openapi3.RequestBodyRef) {
	if rb == nil || rb.Value == nil {
		return
	}
	for _, ct := range sortedKeys(rb.Value.Content) {
		mt := rb.Value.Content[ct]
		if mt == nil || mt.Schema == nil {
			continue
		}
		name := modelName(mt.Schema.Ref)
		if name == "" {
			im.warn("attribute %s.requestBody.content.%s.schema: inline schemas are not imported as models; use a $ref to components.schemas", where, ct)
			continue
		}
		if !im.hasModel(name) {
			im.warn("attribute %s.requestBody.content.%s.schema.%s is missing", where, ct, mt.Schema.Ref)
			continue
		}
		if m.RequestModels == nil {
			m.RequestModels = map[string]string{}
		}
		m.RequestModels[ct] = name
	}
}

func (im *restImporter) hasModel(name string) bool {
	c := im.doc.T.Components
	return c != nil && c.Schemas[name] != nil
}

func (im *restImporter) responses(where string, m *model.Method, rs *openapi3.Responses) {
	if rs == nil {
		return
	}
	for _, code := range sortedKeys(rs.Map()) {
		ref := rs.Map()[code]
		if ref == nil || ref.Value == nil {
			continue
		}
		if code == "default" {
			im.warn("attribute %s.responses.default: API Gateway method responses need a status code", where)
			continue
		}
		mr := &model.MethodResponse{StatusCode: code}
		for _, h := range sortedKeys(ref.Value.Headers) {
			hr := ref.Value.Headers[h]
			if mr.ResponseParameters == nil {
				mr.ResponseParameters = map[string]bool{}
			}
			mr.ResponseParameters["method.response.header."+h] = hr != nil && hr.Value != nil && hr.Value.Required
		}
		for _, ct := range sortedKeys(ref.Value.Content) {
			mt := ref.Value.Content[ct]
			if mt == nil || mt.Schema == nil {
				continue
			}
			name := modelName(mt.Schema.Ref)
			if name == "" {
				continue // AWS keeps no model for an inline response schema
			}
			if !im.hasModel(name) {
				im.warn("attribute %s.responses.%s.content.schema.%s is missing", where, code, mt.Schema.Ref)
				continue
			}
			if mr.ResponseModels == nil {
				mr.ResponseModels = map[string]string{}
			}
			mr.ResponseModels[ct] = name
		}
		if m.MethodResponses == nil {
			m.MethodResponses = map[string]*model.MethodResponse{}
		}
		m.MethodResponses[code] = mr
	}
}

// security applies the operation's security requirements (or the document's): an
// authorizer, SigV4, an API key. API Gateway's REST import applies every
// requirement object in the list, not the first alternative as OpenAPI reads
// it: SAM writes an authorizer and the API key as two objects
// ([{Auth: []}, {api_key: []}]) and AWS then requires both. A method has one
// authorization type, so two authorizers, or an authorizer and SigV4, cannot
// both be enforced and fail the import; so does a requirement Sluice cannot
// enforce: skipping either would serve the method less protected than the
// document says.
func (im *restImporter) security(where string, m *model.Method, op *openapi3.Operation) {
	reqs := im.doc.T.Security
	if op.Security != nil {
		reqs = *op.Security
	}
	for _, req := range reqs {
		for _, name := range sortedKeys(req) {
			im.securityScheme(where, m, name, req[name])
		}
	}
}

// securityScheme applies one scheme a security requirement names.
func (im *restImporter) securityScheme(where string, m *model.Method, name string, scopes []string) {
	sc := im.schemes[name]
	if sc == nil {
		im.fail("Parse issue: attribute %s.security.%s: security scheme '%s' is not defined in components.securitySchemes", where, name, name)
		return
	}
	at, _ := sc.Extensions[extAuthType].(string)
	switch {
	case im.authorizers[name]:
		if m.AuthorizerID == name {
			return
		}
		if m.AuthorizerID != "" {
			im.fail("%s.security: more than one authorizer (%s, %s) on one method", where, m.AuthorizerID, name)
			return
		}
		if m.AuthorizationType == "AWS_IAM" {
			im.fail("%s.security: authorizer %s and AWS_IAM on one method; a method has one authorization type", where, name)
			return
		}
		m.AuthorizerID = name
		m.AuthorizationType = "CUSTOM"
		if strings.EqualFold(at, "cognito_user_pools") || im.authorizerType(name) == "COGNITO_USER_POOLS" {
			m.AuthorizationType = "COGNITO_USER_POOLS"
			m.AuthorizationScopes = scopes
		}
	case strings.EqualFold(at, "awsSigv4"):
		if m.AuthorizerID != "" {
			im.fail("%s.security: authorizer %s and AWS_IAM on one method; a method has one authorization type", where, m.AuthorizerID)
			return
		}
		m.AuthorizationType = "AWS_IAM"
	case sc.Type == "apiKey" && sc.In == "header" && strings.EqualFold(sc.Name, "x-api-key"):
		m.APIKeyRequired = true
	default:
		im.fail("%s.security.%s: security scheme '%s' (type %s) is neither an API Gateway authorizer, AWS_IAM (x-amazon-apigateway-authtype: awsSigv4) nor an x-api-key API key; importing it would leave the method unprotected",
			where, name, name, sc.Type)
	}
}

func (im *restImporter) authorizerType(name string) string {
	for _, a := range im.def.Authorizers {
		if a.Name == name {
			return a.Type
		}
	}
	return ""
}

func (im *restImporter) integration(where string, v any) *model.Integration {
	var ix integrationExt
	if err := decodeExt(v, &ix); err != nil {
		im.fail("Parse issue: attribute %s.%s is invalid: %v", where, extIntegration, err)
		return nil
	}
	if extra := unknownKeys(v, append(integrationKeys, "payloadFormatVersion", "tlsConfig")...); len(extra) > 0 {
		im.warn("attribute %s.%s has unsupported members %s", where, extIntegration, strings.Join(extra, ", "))
	}
	if m, ok := v.(map[string]any); ok {
		if _, ok := m["tlsConfig"]; ok {
			im.warn("attribute %s.%s.tlsConfig is not supported by Sluice", where, extIntegration)
		}
	}
	in := &model.Integration{
		Type:                strings.ToUpper(ix.Type),
		HTTPMethod:          strings.ToUpper(ix.HTTPMethod),
		URI:                 ix.URI,
		ConnectionType:      strings.ToUpper(ix.ConnectionType),
		ConnectionID:        ix.ConnectionID,
		Credentials:         ix.Credentials,
		RequestParameters:   ix.RequestParameters,
		RequestTemplates:    ix.RequestTemplates,
		PassthroughBehavior: strings.ToUpper(ix.PassthroughBehavior),
		ContentHandling:     strings.ToUpper(ix.ContentHandling),
		CacheNamespace:      ix.CacheNamespace,
		CacheKeyParameters:  ix.CacheKeyParameters,
		TimeoutInMillis:     29000,
	}
	if ix.TimeoutInMillis != nil {
		in.TimeoutInMillis = int(*ix.TimeoutInMillis)
	}
	if in.PassthroughBehavior == "" {
		in.PassthroughBehavior = "WHEN_NO_MATCH"
	}
	if (in.Type == "HTTP" || in.Type == "HTTP_PROXY") && in.ConnectionType == "" {
		in.ConnectionType = "INTERNET"
	}
	if in.CacheKeyParameters == nil {
		in.CacheKeyParameters = []string{}
	}
	for _, sel := range sortedKeys(ix.Responses) {
		r := ix.Responses[sel]
		code := string(r.StatusCode)
		if code == "" {
			im.warn("attribute %s.%s.responses.%s has no statusCode", where, extIntegration, sel)
			continue
		}
		ir := &model.IntegrationResponse{StatusCode: code, ResponseParameters: r.ResponseParameters,
			ResponseTemplates: r.ResponseTemplates, ContentHandling: strings.ToUpper(r.ContentHandling)}
		if sel != "default" {
			ir.SelectionPattern = sel
		}
		if in.IntegrationResponses == nil {
			in.IntegrationResponses = map[string]*model.IntegrationResponse{}
		}
		in.IntegrationResponses[code] = ir
	}
	return in
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
