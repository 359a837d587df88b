package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/sluice-dev/sluice/internal/apigw/model"
	"github.com/sluice-dev/sluice/internal/awsproto"
	"github.com/sluice-dev/sluice/internal/store"
)

// ImportApi and ReimportApi build an HTTP API from an OpenAPI 3.0 (or Swagger 2.0)
// definition with API Gateway's extensions, as AWS documents for HTTP APIs:
//
//   - info.title, info.description, info.version → name, description, version
//   - x-amazon-apigateway-cors → corsConfiguration
//   - x-amazon-apigateway-disable-execute-api-endpoint → disableExecuteApiEndpoint
//   - the root tags with x-amazon-apigateway-tag-value → the API's tags (AWS:
//     "you can use the x-amazon-apigateway-tag-value property as part of the
//     root-level OpenAPI tag object to specify AWS tags for an HTTP API"); a
//     reimport sets the tags it names and keeps the others
//   - each operation → a route "METHOD /path" (x-amazon-apigateway-any-method →
//     ANY; the path "/$default" → the $default route), operationId → operationName
//   - an operation's x-amazon-apigateway-integration → an integration the route
//     targets (type aws_proxy|http_proxy, uri, httpMethod, payloadFormatVersion,
//     connectionType, timeoutInMillis, credentials, requestParameters,
//     responseParameters)
//
//   - security schemes with x-amazon-apigateway-authorizer → authorizers, and each
//     operation's security (or the document's) → its route's authorization (see
//     openapi_security.go)

type importInput struct {
	Body *string `json:"body"`
}

type oasDoc struct {
	OpenAPI    string               `yaml:"openapi"`
	Swagger    string               `yaml:"swagger"`
	Info       oasInfo              `yaml:"info"`
	Servers    []oasServer          `yaml:"servers"`
	BasePath   string               `yaml:"basePath"`
	Paths      map[string]yaml.Node `yaml:"paths"`
	Security   securityRequirements `yaml:"security"`
	Components struct {
		SecuritySchemes map[string]oasSecurityScheme `yaml:"securitySchemes"`
	} `yaml:"components"`
	SecurityDefinitions map[string]oasSecurityScheme `yaml:"securityDefinitions"`
	Cors                *oasCors                     `yaml:"x-amazon-apigateway-cors"`
	DisableExecuteAPI   *bool                        `yaml:"x-amazon-apigateway-disable-execute-api-endpoint"`
	Tags                []struct {
		Name  string  `yaml:"name"`
		Value *string `yaml:"x-amazon-apigateway-tag-value"`
	} `yaml:"tags"`
}

type oasInfo struct {
	Title       string `yaml:"title"`
	Description string `yaml:"description"`
	Version     string `yaml:"version"`
}

type oasServer struct {
	URL       string `yaml:"url"`
	Variables map[string]struct {
		Default string `yaml:"default"`
	} `yaml:"variables"`
}

type oasCors struct {
	AllowCredentials bool     `yaml:"allowCredentials"`
	AllowHeaders     []string `yaml:"allowHeaders"`
	AllowMethods     []string `yaml:"allowMethods"`
	AllowOrigins     []string `yaml:"allowOrigins"`
	ExposeHeaders    []string `yaml:"exposeHeaders"`
	MaxAge           *int     `yaml:"maxAge"`
}

type oasOperation struct {
	OperationID string               `yaml:"operationId"`
	Security    securityRequirements `yaml:"security"`
	Integration *oasIntegration      `yaml:"x-amazon-apigateway-integration"`
}

type oasIntegration struct {
	Type                 string                       `yaml:"type"`
	URI                  string                       `yaml:"uri"`
	HTTPMethod           string                       `yaml:"httpMethod"`
	PayloadFormatVersion string                       `yaml:"payloadFormatVersion"`
	ConnectionType       string                       `yaml:"connectionType"`
	ConnectionID         string                       `yaml:"connectionId"`
	TimeoutInMillis      *int                         `yaml:"timeoutInMillis"`
	Credentials          string                       `yaml:"credentials"`
	IntegrationSubtype   string                       `yaml:"integrationSubtype"`
	Description          string                       `yaml:"description"`
	RequestParameters    map[string]string            `yaml:"requestParameters"`
	ResponseParameters   map[string]map[string]string `yaml:"responseParameters"`
}

// importedRoute is one route of a parsed definition and its integration, if any.
type importedRoute struct {
	route       model.Route
	integration *model.Integration2
}

// importedAPI is a parsed, validated definition, ready to be written.
type importedAPI struct {
	fields      apiInput
	authorizers []*model.Authorizer2 // ids unset; routes name them
	routes      []importedRoute
	tags        map[string]string // the root tags' x-amazon-apigateway-tag-value
}

var oasMethods = map[string]string{
	"get": "GET", "put": "PUT", "post": "POST", "delete": "DELETE", "options": "OPTIONS",
	"head": "HEAD", "patch": "PATCH", "x-amazon-apigateway-any-method": "ANY",
}

func parseOpenAPI(req *request) (*importedAPI, error) {
	var in importInput
	if err := decode(req, &in); err != nil {
		return nil, err
	}
	if in.Body == nil || strings.TrimSpace(*in.Body) == "" {
		return nil, badRequest("Invalid OpenAPI definition: body is required")
	}
	if fw := req.query.Get("failOnWarnings"); fw != "" && fw != "true" && fw != "false" {
		return nil, badRequest("Invalid failOnWarnings specified: must be true or false")
	}
	basepath := req.query.Get("basepath")
	switch basepath {
	case "", "ignore", "prepend":
	case "split":
		return nil, notImplemented("ImportApi with basepath=split")
	default:
		return nil, badRequest("Invalid basepath specified. Must be one of [ignore, prepend, split]")
	}
	var doc oasDoc
	if err := yaml.Unmarshal([]byte(*in.Body), &doc); err != nil {
		return nil, badRequest("Invalid OpenAPI definition: %v", err)
	}
	if doc.OpenAPI == "" && doc.Swagger == "" {
		return nil, badRequest("Invalid OpenAPI definition: the openapi (or swagger) version field is missing")
	}
	if strings.TrimSpace(doc.Info.Title) == "" {
		return nil, badRequest("Invalid OpenAPI definition: info.title is required; it becomes the API name")
	}
	sec, err := docSchemes(&doc)
	if err != nil {
		return nil, err
	}
	out := &importedAPI{authorizers: sec.authorizers}
	out.fields.Name = &doc.Info.Title
	out.fields.Description = &doc.Info.Description
	out.fields.Version = &doc.Info.Version
	out.fields.DisableExecuteAPIEndpoint = doc.DisableExecuteAPI
	for _, tag := range doc.Tags {
		if tag.Value == nil {
			continue // a documentation tag
		}
		if tag.Name == "" {
			return nil, badRequest("Invalid OpenAPI definition: a tag with x-amazon-apigateway-tag-value has no name")
		}
		if out.tags == nil {
			out.tags = map[string]string{}
		}
		out.tags[tag.Name] = *tag.Value
	}
	if c := doc.Cors; c != nil {
		out.fields.CorsConfiguration = &model.Cors{AllowCredentials: c.AllowCredentials, AllowHeaders: c.AllowHeaders,
			AllowMethods: c.AllowMethods, AllowOrigins: c.AllowOrigins, ExposeHeaders: c.ExposeHeaders, MaxAge: c.MaxAge}
	}
	prefix := ""
	if basepath == "prepend" {
		prefix = strings.TrimSuffix(docBasePath(&doc), "/")
	}

	paths := make([]string, 0, len(doc.Paths))
	for p := range doc.Paths {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		node := doc.Paths[p]
		var item map[string]yaml.Node
		if err := node.Decode(&item); err != nil {
			return nil, badRequest("Invalid OpenAPI definition: path %s: %v", p, err)
		}
		for _, key := range sortedKeys(item) {
			method, ok := oasMethods[strings.ToLower(key)]
			if !ok {
				continue // parameters, summary, servers, ...
			}
			opNode := item[key]
			var op oasOperation
			if err := opNode.Decode(&op); err != nil {
				return nil, badRequest("Invalid OpenAPI definition: %s %s: %v", key, p, err)
			}
			routeKey := method + " " + prefix + p
			if p == "/$default" {
				routeKey = "$default"
			}
			ir, err := importRoute(routeKey, &op)
			if err != nil {
				return nil, err
			}
			reqs := doc.Security
			if op.Security != nil {
				reqs = op.Security
			}
			if reqs != nil {
				if err := sec.applySecurity(&ir.route, *reqs); err != nil {
					return nil, err
				}
			}
			out.routes = append(out.routes, ir)
		}
	}
	return out, nil
}

// docBasePath is the base path a definition declares: Swagger's basePath or the
// path of OpenAPI 3's first server URL, with {variables} at their defaults.
func docBasePath(doc *oasDoc) string {
	if doc.BasePath != "" {
		return doc.BasePath
	}
	if len(doc.Servers) == 0 {
		return ""
	}
	raw := doc.Servers[0].URL
	for name, v := range doc.Servers[0].Variables {
		raw = strings.ReplaceAll(raw, "{"+name+"}", v.Default)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Path
}

func importRoute(routeKey string, op *oasOperation) (importedRoute, error) {
	in := routeInput{RouteKey: &routeKey}
	if op.OperationID != "" {
		in.OperationName = &op.OperationID
	}
	ir := importedRoute{route: model.Route{AuthorizationType: "NONE"}}
	if err := applyRouteFields(&ir.route, &in); err != nil {
		return ir, err
	}
	x := op.Integration
	if x == nil {
		return ir, nil
	}
	integ := &model.Integration2{
		ConnectionType:       strings.ToUpper(x.ConnectionType),
		ConnectionID:         x.ConnectionID,
		CredentialsArn:       x.Credentials,
		Description:          x.Description,
		IntegrationMethod:    strings.ToUpper(x.HTTPMethod),
		IntegrationSubtype:   x.IntegrationSubtype,
		IntegrationType:      strings.ToUpper(x.Type),
		IntegrationURI:       x.URI,
		PayloadFormatVersion: x.PayloadFormatVersion,
		RequestParameters:    x.RequestParameters,
		ResponseParameters:   x.ResponseParameters,
		TimeoutInMillis:      defaultTimeoutMillis,
	}
	if x.TimeoutInMillis != nil {
		integ.TimeoutInMillis = *x.TimeoutInMillis
	}
	if err := validateIntegration(integ); err != nil {
		var ae *awsproto.Error
		if errors.As(err, &ae) {
			// Name the route whose integration is wrong; keep AWS's code and status.
			cp := *ae
			cp.Message = fmt.Sprintf("Invalid integration for route %s: %s", routeKey, ae.Message)
			return ir, &cp
		}
		return ir, err
	}
	ir.integration = integ
	return ir, nil
}

func (s *Service) importAPI(ctx context.Context, req *request) (int, any, error) {
	imp, err := parseOpenAPI(req)
	if err != nil {
		return 0, nil, err
	}
	now := s.timestamp()
	api := &model.HTTPAPI{
		CreatedDate:               now,
		ProtocolType:              "HTTP",
		RouteSelectionExpression:  defaultRouteSelectionExpression,
		APIKeySelectionExpression: "$request.header.x-api-key",
		IPAddressType:             "ipv4",
	}
	if err := applyAPIFields(api, &imp.fields); err != nil {
		return 0, nil, err
	}
	api.Tags = imp.tags
	if importWrites(imp) < model.MaxWritesPerUpdate {
		err = s.store.Update(ctx, func(tx store.Tx) error {
			if err := s.insertAPI(tx, api); err != nil {
				return err
			}
			ids, err := writeImportedAuthorizers(tx, api.APIID, imp.authorizers)
			if err != nil {
				return err
			}
			return s.writeImportedRoutes(tx, api.APIID, imp.routes, ids)
		})
	} else {
		err = s.importLargeAPI(ctx, api, imp)
	}
	if err != nil {
		return 0, nil, err
	}
	s.log.Info("imported HTTP API", "apiId", api.APIID, "name", api.Name, "routes", len(imp.routes))
	return http.StatusCreated, s.apiView(api), nil
}

// reimportAPI replaces an API's definition: routes and integrations are replaced by
// the document's, the API's fields are overwritten, stages and deployments stay,
// and auto-deploy stages pick the new definition up in the same transaction.
func (s *Service) reimportAPI(ctx context.Context, req *request) (int, any, error) {
	imp, err := parseOpenAPI(req)
	if err != nil {
		return 0, nil, err
	}
	apiID := req.params["apiId"]
	var out *model.HTTPAPI
	err = s.store.Update(ctx, func(tx store.Tx) error {
		api, err := s.loadAPI(tx, apiID)
		if err != nil {
			return err
		}
		api.CorsConfiguration = nil
		api.DisableExecuteAPIEndpoint = false
		if err := applyAPIFields(api, &imp.fields); err != nil {
			return err
		}
		for k, v := range imp.tags {
			if api.Tags == nil {
				api.Tags = map[string]string{}
			}
			api.Tags[k] = v
		}
		if err := store.PutRecord(tx, model.Key(model.HTTPAPIPrefix, apiID), api); err != nil {
			return err
		}
		if err := deleteAPIRecords(tx, apiID, model.HTTPRoutePrefix, routeIndexPrefix, model.HTTPIntegrationPrefix); err != nil {
			return err
		}
		ids, err := writeImportedAuthorizers(tx, apiID, imp.authorizers)
		if err != nil {
			return err
		}
		if err := s.writeImportedRoutes(tx, apiID, imp.routes, ids); err != nil {
			return err
		}
		out = api
		return s.autoDeploy(tx, apiID, s.timestamp())
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, s.apiView(out), nil
}

// importWrites is how many records writing the authorizers and routes takes.
func importWrites(imp *importedAPI) int {
	n := len(imp.authorizers) + 1 // + the route index's marker
	for _, ir := range imp.routes {
		n += routeWrites(&ir)
	}
	return n
}

// routeWrites is how many keys importing one route writes: its record, its
// integration, and its route index entries.
func routeWrites(ir *importedRoute) int {
	levels, _ := routeLevels("", ir.route.RouteKey)
	n := 2 + len(levels)
	if ir.integration != nil {
		n++
	}
	return n
}

// importLargeAPI imports a definition with more records than one etcd transaction
// may write. Routes and integrations go first, in batches, under an API id that
// has no API record yet, so neither the control plane nor the compiler sees them;
// the API record comes last and makes the API exist. On failure the records
// already written are removed.
func (s *Service) importLargeAPI(ctx context.Context, api *model.HTTPAPI, imp *importedAPI) error {
	id, err := newID(s.reader(ctx), model.HTTPAPIPrefix, 10)
	if err != nil {
		return err
	}
	api.APIID = id
	api.APIEndpoint = s.endpoint(id)
	apiKey := model.Key(model.HTTPAPIPrefix, id)
	var ids map[string]string
	err = s.store.Update(ctx, func(tx store.Tx) error {
		ids, err = writeImportedAuthorizers(tx, id, imp.authorizers)
		return err
	})
	if err == nil {
		err = s.writeImportedRoutesInBatches(ctx, id, imp.routes, ids)
	}
	if err == nil {
		err = s.store.Update(ctx, func(tx store.Tx) error {
			switch _, err := tx.Get(apiKey); {
			case err == nil:
				return fmt.Errorf("import: API id %s was taken during the import", id)
			case !errors.Is(err, store.ErrNotFound):
				return err
			}
			return store.PutRecord(tx, apiKey, api)
		})
	}
	if err != nil {
		// Never remove an API record that exists: that would be another API's.
		unclaimed := func(tx store.Tx) error {
			if _, err := tx.Get(apiKey); !errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("API record %s exists (%v)", apiKey, err)
			}
			return nil
		}
		if cerr := model.DeleteCascade(ctx, s.store, apiKey, id, apiRecordPrefixes, unclaimed); cerr != nil {
			s.log.Warn("import failed and its partial records were not removed", "apiId", id, "err", cerr)
		}
		return err
	}
	return nil
}

// writeImportedRoutesInBatches writes routes in transactions of at most
// model.MaxWritesPerUpdate records each (routeWrites each, and the index marker).
func (s *Service) writeImportedRoutesInBatches(ctx context.Context, apiID string, routes []importedRoute, authorizerIDs map[string]string) error {
	for start, end := 0, 0; start < len(routes); start = end {
		writes := 1
		for end = start; end < len(routes) && (end == start || writes+routeWrites(&routes[end]) <= model.MaxWritesPerUpdate); end++ {
			writes += routeWrites(&routes[end])
		}
		chunk := routes[start:end]
		if err := s.store.Update(ctx, func(tx store.Tx) error { return s.writeImportedRoutes(tx, apiID, chunk, authorizerIDs) }); err != nil {
			return err
		}
	}
	return nil
}

// writeImportedAuthorizers writes a document's authorizers and returns their ids by
// name. An authorizer of the same name the API already has is overwritten in place,
// keeping its id, so a reimport keeps the authorizers it redefines; ones the
// document does not name are kept (a template may manage them as their own
// resources).
func writeImportedAuthorizers(tx store.Tx, apiID string, auths []*model.Authorizer2) (map[string]string, error) {
	ids := map[string]string{}
	if len(auths) == 0 {
		return ids, nil
	}
	existing, err := store.ListRecords[model.Authorizer2](tx, apiChild(model.HTTPAuthorizerPrefix, apiID))
	if err != nil {
		return nil, err
	}
	for _, a := range existing {
		ids[a.Name] = a.AuthorizerID
	}
	for _, a := range auths {
		rec := *a
		rec.AuthorizerID = ids[a.Name]
		if rec.AuthorizerID == "" {
			id, err := newID(tx, apiChild(model.HTTPAuthorizerPrefix, apiID), 6)
			if err != nil {
				return nil, err
			}
			rec.AuthorizerID = id
			ids[a.Name] = id
		}
		if err := store.PutRecord(tx, authorizerKey(apiID, rec.AuthorizerID), &rec); err != nil {
			return nil, err
		}
	}
	return ids, nil
}

// writeImportedRoutes writes routes and their integrations; a route's AuthorizerID
// names an authorizer of authorizerIDs until here.
func (s *Service) writeImportedRoutes(tx store.Tx, apiID string, routes []importedRoute, authorizerIDs map[string]string) error {
	for _, ir := range routes {
		route := ir.route
		if route.AuthorizerID != "" {
			route.AuthorizerID = authorizerIDs[route.AuthorizerID]
		}
		if ir.integration != nil {
			integ := *ir.integration
			id, err := newID(tx, apiChild(model.HTTPIntegrationPrefix, apiID), 7)
			if err != nil {
				return err
			}
			integ.IntegrationID = id
			if err := store.PutRecord(tx, model.Key(model.HTTPIntegrationPrefix, apiID, id), &integ); err != nil {
				return err
			}
			route.Target = "integrations/" + id
		}
		id, err := newID(tx, apiChild(model.HTTPRoutePrefix, apiID), 7)
		if err != nil {
			return err
		}
		route.RouteID = id
		if err := checkRoute(tx, apiID, &route); err != nil {
			return err
		}
		if err := putRoute(tx, apiID, "", &route); err != nil {
			return err
		}
	}
	return nil
}
