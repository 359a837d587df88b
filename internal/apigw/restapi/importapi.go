package restapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/sluice-dev/sluice/internal/apigw/model"
	"github.com/sluice-dev/sluice/internal/awsproto"
	"github.com/sluice-dev/sluice/internal/openapi"
	"github.com/sluice-dev/sluice/internal/store"
)

// ImportRestApi (POST /restapis?mode=import) and PutRestApi (PUT /restapis/{id},
// mode=overwrite|merge) build a REST API from an OpenAPI 3.0 or Swagger 2.0 document
// with API Gateway's extensions (internal/openapi translates it). AWS's query
// parameters: failonwarnings=true refuses a document with warnings; the
// `parameters` map arrives as plain query parameters: endpointConfigurationTypes,
// basepath=ignore|prepend|split, ignore=documentation.
//
// The definition is checked with the same rules as the fine-grained operations
// (PutIntegration's, CreateAuthorizer's, ...) before anything is written; a
// document that breaks one fails as a whole with BadRequestException.

// restAPIWithWarnings is the RestApi answer of an import: AWS adds the warnings
// list when the import had some.
type restAPIWithWarnings struct {
	*model.RestAPI
	Warnings []string `json:"warnings,omitempty"`
}

// definitionFromRequest parses the body and applies the import's parameters.
func definitionFromRequest(req *request) (*openapi.RestDefinition, error) {
	doc, err := openapi.Parse(req.body)
	if err != nil {
		// The detail kin-openapi gives says what is wrong with the document.
		return nil, badRequest("%s", strings.Replace(err.Error(), "invalid OpenAPI input", "Invalid OpenAPI input", 1))
	}
	opts := openapi.RestOptions{BasePath: strings.ToLower(req.query.Get("basepath"))}
	switch opts.BasePath {
	case "", "ignore", "prepend", "split":
	default:
		return nil, badRequest("Invalid basepath parameter: %s, valid values are: ignore, prepend, split", req.query.Get("basepath"))
	}
	opts.IgnoreDocumentation = strings.EqualFold(req.query.Get("ignore"), "documentation")
	def, err := doc.RestAPI(opts)
	var ie *openapi.ImportError
	if errors.As(err, &ie) {
		return nil, badRequest("%s", ie.Error())
	}
	if err != nil {
		return nil, err
	}
	if req.query.Get("failonwarnings") == "true" && len(def.Warnings) > 0 {
		return nil, badRequest("%s", openapi.WarningsError(def.Warnings))
	}
	return def, nil
}

// checkDefinition applies the fine-grained operations' rules to every record.
func checkDefinition(def *openapi.RestDefinition) error {
	var problems []string
	add := func(where string, err error) {
		var ae *awsproto.Error
		if errors.As(err, &ae) {
			problems = append(problems, where+": "+ae.Message)
		} else {
			problems = append(problems, where+": "+err.Error())
		}
	}
	for _, res := range def.Resources {
		for _, part := range strings.Split(strings.Trim(res.Path, "/"), "/") {
			if part == "" {
				continue
			}
			if err := checkPathPart(part); err != nil {
				add(fmt.Sprintf("paths.'%s'", res.Path), err)
			}
		}
		for verb, m := range res.Methods {
			where := fmt.Sprintf("paths.'%s'(%s)", res.Path, strings.ToLower(verb))
			if err := validateMethodParams(m.RequestParameters); err != nil {
				add(where, err)
			}
			if in := m.MethodIntegration; in != nil {
				switch in.Type {
				case "HTTP", "MOCK", "AWS_PROXY", "HTTP_PROXY", "AWS":
					if err := validateIntegration(in); err != nil {
						add(where+".x-amazon-apigateway-integration", err)
					}
				default:
					problems = append(problems, fmt.Sprintf("%s.x-amazon-apigateway-integration: Invalid integration type %q: valid values are aws, aws_proxy, http, http_proxy, mock", where, strings.ToLower(in.Type)))
				}
			}
		}
	}
	for _, au := range def.Authorizers {
		if err := validateAuthorizer(au, "authorizer"); err != nil {
			add("Unable to create authorizer '"+au.Name+"'", err)
		}
	}
	for _, m := range def.Models {
		if !modelNameRE.MatchString(m.Name) {
			problems = append(problems, fmt.Sprintf("Unable to create model '%s': Model name must be alphanumeric: %s", m.Name, m.Name))
		}
	}
	for _, g := range def.GatewayResponses {
		if err := validateResponseType(g.ResponseType); err != nil {
			add("x-amazon-apigateway-gateway-responses."+g.ResponseType, err)
		}
	}
	if def.APIKeySource != "" && def.APIKeySource != "HEADER" && def.APIKeySource != "AUTHORIZER" {
		problems = append(problems, "x-amazon-apigateway-api-key-source: must be HEADER or AUTHORIZER")
	}
	if len(problems) > 0 {
		return badRequest("%s", (&openapi.ImportError{Problems: problems}).Error())
	}
	return nil
}

// write is one record put (val != nil) or deleted.
type write struct {
	key string
	val any
}

// definitionWrites turns a definition into records of API api: resources (the
// root keeps rootID), models, validators, authorizers and gateway responses.
// existing holds the API's current resources by path, which merge keeps.
func definitionWrites(api, rootID string, def *openapi.RestDefinition, existing map[string]*model.Resource,
	authorizerIDs, validatorIDs map[string]string) ([]write, error) {
	var ws []write
	byPath := map[string]*model.Resource{}
	for p, r := range existing {
		byPath[p] = r
	}
	if byPath["/"] == nil {
		byPath["/"] = &model.Resource{ID: rootID, Path: "/"}
	}
	touched := map[string]bool{"/": existing["/"] == nil}
	var ensure func(path string) *model.Resource
	ensure = func(path string) *model.Resource {
		if r := byPath[path]; r != nil {
			return r
		}
		i := strings.LastIndex(path, "/")
		parentPath := path[:i]
		if parentPath == "" {
			parentPath = "/"
		}
		parent := ensure(parentPath)
		r := &model.Resource{ID: awsproto.NewID(6), ParentID: parent.ID, PathPart: path[i+1:], Path: path}
		byPath[path] = r
		touched[path] = true
		return r
	}
	for _, res := range def.Resources {
		r := ensure(res.Path)
		for verb, m := range res.Methods {
			m := *m
			if m.AuthorizerID != "" {
				m.AuthorizerID = authorizerIDs[m.AuthorizerID]
			}
			if m.RequestValidatorID != "" {
				m.RequestValidatorID = validatorIDs[m.RequestValidatorID]
			}
			if in := m.MethodIntegration; in != nil && in.CacheNamespace == "" {
				in.CacheNamespace = r.ID
			}
			if r.ResourceMethods == nil {
				r.ResourceMethods = map[string]*model.Method{}
			}
			r.ResourceMethods[verb] = &m
			touched[res.Path] = true
		}
	}
	for p, r := range byPath {
		if touched[p] {
			ws = append(ws, write{resourceKey(api, r.ID), r})
		}
	}
	return ws, nil
}

func (s *Service) importRestAPI(ctx context.Context, req *request) (int, any, error) {
	def, err := definitionFromRequest(req)
	if err != nil {
		return 0, nil, err
	}
	if err := checkDefinition(def); err != nil {
		return 0, nil, err
	}
	ec, err := importEndpointConfig(req, def)
	if err != nil {
		return 0, nil, err
	}
	if err := checkRestAPIName(def.Name); err != nil {
		return 0, nil, err
	}
	api := &model.RestAPI{
		ID:                    awsproto.NewID(10),
		Name:                  def.Name,
		Description:           def.Description,
		Version:               def.Version,
		CreatedDate:           model.EpochTime(time.Now()),
		BinaryMediaTypes:      dedupe(def.BinaryMediaTypes),
		APIKeySource:          def.APIKeySource,
		EndpointConfiguration: ec,
		Policy:                def.Policy,
		RootResourceID:        awsproto.NewID(10),
	}
	applyDefinitionSettings(api, def)
	authIDs, valIDs := map[string]string{}, map[string]string{}
	ws := componentWrites(api.ID, def, authIDs, valIDs, nil, nil)
	rws, err := definitionWrites(api.ID, api.RootResourceID, def, nil, authIDs, valIDs)
	if err != nil {
		return 0, nil, err
	}
	ws = append(ws, rws...)
	if err := s.writeNewAPI(ctx, api, ws); err != nil {
		return 0, nil, internalErr("import rest api", err)
	}
	s.log.Info("rest api imported", "apiId", api.ID, "name", api.Name, "warnings", len(def.Warnings))
	return http.StatusCreated, restAPIWithWarnings{RestAPI: api, Warnings: def.Warnings}, nil
}

func applyDefinitionSettings(api *model.RestAPI, def *openapi.RestDefinition) {
	if api.APIKeySource == "" {
		api.APIKeySource = "HEADER"
	}
	if def.MinimumCompressionSize != nil {
		api.MinimumCompressionSize = def.MinimumCompressionSize
	}
	if def.DisableExecuteAPIEndpoint != nil {
		api.DisableExecuteAPIEndpoint = *def.DisableExecuteAPIEndpoint
	}
}

// importEndpointConfig is the endpoint configuration an import asks for: the
// endpointConfigurationTypes parameter (EDGE by default), the document's VPC
// endpoint ids.
func importEndpointConfig(req *request, def *openapi.RestDefinition) (*model.EndpointConfiguration, error) {
	var in *model.EndpointConfiguration
	if t := req.query.Get("endpointConfigurationTypes"); t != "" || len(def.VpcEndpointIDs) > 0 {
		in = &model.EndpointConfiguration{VpcEndpointIDs: def.VpcEndpointIDs}
		if t != "" {
			in.Types = []string{strings.ToUpper(t)}
		}
	}
	return endpointConfig(in)
}

// componentWrites are the records beside resources: models (AWS's two defaults
// unless the document defines its own of that name), validators, authorizers,
// gateway responses. Ids already used for a name (merge) are kept.
func componentWrites(api string, def *openapi.RestDefinition, authIDs, valIDs map[string]string,
	oldAuth map[string]*model.Authorizer, oldVal map[string]*model.RequestValidator) []write {
	var ws []write
	defined := map[string]bool{}
	for _, m := range def.Models {
		defined[m.Name] = true
		mm := *m
		mm.ID = awsproto.NewID(6)
		ws = append(ws, write{modelKey(api, mm.Name), &mm})
	}
	for _, m := range defaultModels {
		if !defined[m.Name] {
			m.ID = awsproto.NewID(6)
			ws = append(ws, write{modelKey(api, m.Name), &m})
		}
	}
	for _, v := range def.Validators {
		vv := *v
		vv.ID = awsproto.NewID(6)
		if old := oldVal[v.Name]; old != nil {
			vv.ID = old.ID
		}
		valIDs[v.Name] = vv.ID
		ws = append(ws, write{validatorKey(api, vv.ID), &vv})
	}
	for _, a := range def.Authorizers {
		aa := *a
		aa.ID = awsproto.NewID(6)
		if old := oldAuth[a.Name]; old != nil {
			aa.ID = old.ID
		}
		authIDs[a.Name] = aa.ID
		ws = append(ws, write{authorizerKey(api, aa.ID), &aa})
	}
	for _, g := range def.GatewayResponses {
		gg := *g
		if gg.StatusCode == "" {
			gg.StatusCode = model.DefaultGatewayResponses[gg.ResponseType]
		}
		ws = append(ws, write{gatewayRespKey(api, gg.ResponseType), &gg})
	}
	return ws
}

func applyWrites(tx store.Tx, ws []write) error {
	for _, w := range ws {
		if w.val == nil {
			if err := deleteRecord(tx, w.key); err != nil {
				return err
			}
			continue
		}
		if err := store.PutRecord(tx, w.key, w.val); err != nil {
			return err
		}
	}
	return nil
}

// writeNewAPI writes an imported API's records. When they fit one transaction they
// are written with the API record; a larger API's records go first, in batches,
// under an id that has no API record yet (neither the control plane nor the
// compiler sees them), and the API record comes last and makes the API exist.
func (s *Service) writeNewAPI(ctx context.Context, api *model.RestAPI, ws []write) error {
	if len(ws) < model.MaxWritesPerUpdate {
		return s.store.Update(ctx, func(tx store.Tx) error {
			if err := applyWrites(tx, ws); err != nil {
				return err
			}
			return store.PutRecord(tx, apiKey(api.ID), api)
		})
	}
	var err error
	for start := 0; start < len(ws) && err == nil; start += model.MaxWritesPerUpdate {
		chunk := ws[start:min(start+model.MaxWritesPerUpdate, len(ws))]
		err = s.store.Update(ctx, func(tx store.Tx) error { return applyWrites(tx, chunk) })
	}
	if err == nil {
		err = s.store.Update(ctx, func(tx store.Tx) error { return store.PutRecord(tx, apiKey(api.ID), api) })
	}
	if err != nil {
		unclaimed := func(tx store.Tx) error {
			if _, gerr := tx.Get(apiKey(api.ID)); !errors.Is(gerr, store.ErrNotFound) {
				return fmt.Errorf("API record of %s exists (%v)", api.ID, gerr)
			}
			return nil
		}
		if cerr := model.DeleteCascade(ctx, s.store, apiKey(api.ID), api.ID, apiScopedPrefixes, unclaimed); cerr != nil {
			s.log.Warn("import failed and its partial records were not removed", "apiId", api.ID, "err", cerr)
		}
	}
	return err
}

// putRestAPI is PutRestApi: mode=overwrite (AWS's default is merge) replaces the
// API's resources, models, validators, authorizers and gateway responses with the
// document's; mode=merge adds the document's to what exists, a method the document
// defines replacing the same method. Stages and deployments are kept: the change
// reaches a stage with the next deployment, as on AWS.
func (s *Service) putRestAPI(ctx context.Context, req *request) (int, any, error) {
	mode := req.query.Get("mode")
	if mode == "" {
		mode = "merge"
	}
	if mode != "merge" && mode != "overwrite" {
		return 0, nil, validationError("Value '%s' at 'putRestApiInput.mode' failed to satisfy constraint: Member must satisfy enum value set: [merge, overwrite]", mode)
	}
	def, err := definitionFromRequest(req)
	if err != nil {
		return 0, nil, err
	}
	if err := checkDefinition(def); err != nil {
		return 0, nil, err
	}
	id := req.params["restApiId"]
	var out *model.RestAPI
	err = s.store.Update(ctx, func(tx store.Tx) error {
		api, err := s.loadAPI(tx, id)
		if err != nil {
			return err
		}
		resources, err := store.ListRecords[model.Resource](tx, resourcesPrefix(id))
		if err != nil {
			return err
		}
		auths, err := store.ListRecords[model.Authorizer](tx, authorizersPrefix(id))
		if err != nil {
			return err
		}
		vals, err := store.ListRecords[model.RequestValidator](tx, validatorsPrefix(id))
		if err != nil {
			return err
		}
		var ws []write
		existing := map[string]*model.Resource{}
		oldAuth, oldVal := map[string]*model.Authorizer{}, map[string]*model.RequestValidator{}
		if mode == "overwrite" {
			for _, p := range []string{resourcesPrefix(id), modelsPrefix(id), validatorsPrefix(id), authorizersPrefix(id), gatewayRespsPrefix(id)} {
				kvs, err := tx.List(p)
				if err != nil {
					return err
				}
				for _, kv := range kvs {
					ws = append(ws, write{key: kv.Key})
				}
			}
			api.Name, api.Description, api.Version = def.Name, def.Description, def.Version
			api.BinaryMediaTypes = dedupe(def.BinaryMediaTypes)
			api.Policy = def.Policy
			if def.APIKeySource != "" {
				api.APIKeySource = def.APIKeySource
			}
		} else {
			for _, r := range resources {
				existing[r.Path] = r
			}
			for _, a := range auths {
				oldAuth[a.Name] = a
			}
			for _, v := range vals {
				oldVal[v.Name] = v
			}
			api.BinaryMediaTypes = dedupe(append(api.BinaryMediaTypes, def.BinaryMediaTypes...))
			if def.Policy != "" {
				api.Policy = def.Policy
			}
			if def.APIKeySource != "" {
				api.APIKeySource = def.APIKeySource
			}
		}
		applyDefinitionSettings(api, def)
		authIDs, valIDs := map[string]string{}, map[string]string{}
		cws := componentWrites(id, def, authIDs, valIDs, oldAuth, oldVal)
		if mode == "merge" {
			// Merge keeps existing models; only the document's are written.
			cws = withoutDefaultModels(id, cws, def)
		}
		ws = append(ws, cws...)
		for name, a := range oldAuth {
			if _, ok := authIDs[name]; !ok {
				authIDs[name] = a.ID
			}
		}
		for name, v := range oldVal {
			if _, ok := valIDs[name]; !ok {
				valIDs[name] = v.ID
			}
		}
		rws, err := definitionWrites(id, api.RootResourceID, def, existing, authIDs, valIDs)
		if err != nil {
			return err
		}
		ws = append(ws, rws...)
		ws = coalesce(ws)
		if len(ws) >= model.MaxWritesPerUpdate {
			return awsproto.Errorf(http.StatusBadRequest, "LimitExceededException",
				"Sluice applies PutRestApi in one transaction of at most %d records and this definition needs %d; import it as a new API with import-rest-api instead",
				model.MaxWritesPerUpdate-1, len(ws))
		}
		out = api
		if err := applyWrites(tx, ws); err != nil {
			return err
		}
		return store.PutRecord(tx, apiKey(id), api)
	})
	if err != nil {
		return 0, nil, internalErr("put rest api", err)
	}
	s.log.Info("rest api put", "apiId", id, "mode", mode, "warnings", len(def.Warnings))
	return http.StatusOK, restAPIWithWarnings{RestAPI: out, Warnings: def.Warnings}, nil
}

// withoutDefaultModels drops the default models componentWrites adds, for a merge.
func withoutDefaultModels(api string, ws []write, def *openapi.RestDefinition) []write {
	defined := map[string]bool{}
	for _, m := range def.Models {
		defined[m.Name] = true
	}
	out := ws[:0]
	for _, w := range ws {
		drop := false
		for _, m := range defaultModels {
			if w.key == modelKey(api, m.Name) && !defined[m.Name] {
				drop = true
			}
		}
		if !drop {
			out = append(out, w)
		}
	}
	return out
}

// coalesce keeps the last write of each key (an overwrite deletes a record and
// may write it again), in first-seen order.
func coalesce(ws []write) []write {
	last := map[string]int{}
	for i, w := range ws {
		last[w.key] = i
	}
	out := make([]write, 0, len(last))
	for i, w := range ws {
		if last[w.key] == i {
			out = append(out, w)
		}
	}
	return out
}
