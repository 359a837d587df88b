package restapi

import (
	"context"
	"net/http"
	"slices"
	"sort"
	"time"

	"github.com/sluice-dev/sluice/internal/apigw/model"
	"github.com/sluice-dev/sluice/internal/awsproto"
	"github.com/sluice-dev/sluice/internal/store"
)

// Default models every new REST API has (AWS creates "Empty" and "Error").
var defaultModels = []model.Model{
	{
		Name: "Empty", ContentType: "application/json", Description: "This is a default empty schema model",
		Schema: "{\n  \"$schema\": \"http://json-schema.org/draft-04/schema#\",\n  \"title\" : \"Empty Schema\",\n  \"type\" : \"object\"\n}",
	},
	{
		Name: "Error", ContentType: "application/json", Description: "This is a default error schema model",
		Schema: "{\n  \"$schema\" : \"http://json-schema.org/draft-04/schema#\",\n  \"title\" : \"Error Schema\",\n  \"type\" : \"object\",\n  \"properties\" : {\n    \"message\" : { \"type\" : \"string\" }\n  }\n}",
	},
}

// maxCompressionSize is AWS's upper bound for minimumCompressionSize (10 MiB).
const maxCompressionSize = 10485760

type createRestAPIInput struct {
	Name                      *string                      `json:"name"`
	Description               *string                      `json:"description"`
	Version                   string                       `json:"version"`
	CloneFrom                 string                       `json:"cloneFrom"`
	BinaryMediaTypes          []string                     `json:"binaryMediaTypes"`
	MinimumCompressionSize    *int                         `json:"minimumCompressionSize"`
	APIKeySource              string                       `json:"apiKeySource"`
	EndpointConfiguration     *model.EndpointConfiguration `json:"endpointConfiguration"`
	Policy                    string                       `json:"policy"`
	Tags                      map[string]string            `json:"tags"`
	DisableExecuteAPIEndpoint bool                         `json:"disableExecuteApiEndpoint"`
}

func (s *Service) createRestAPI(ctx context.Context, req *request) (int, any, error) {
	var in createRestAPIInput
	if err := req.decode(&in); err != nil {
		return 0, nil, err
	}
	if in.Name == nil {
		return 0, nil, validationError("Value null at 'createRestApiInput.name' failed to satisfy constraint: Member must not be null")
	}
	if err := checkRestAPIName(*in.Name); err != nil {
		return 0, nil, err
	}
	// Checks and messages as AWS answers them (LocalStack's AWS-recorded snapshots).
	if in.Description != nil && *in.Description == "" {
		return 0, nil, badRequest("Description cannot be an empty string")
	}
	ec, err := endpointConfig(in.EndpointConfiguration)
	if err != nil {
		return 0, nil, err
	}
	if m := in.MinimumCompressionSize; m != nil && (*m < 0 || *m > maxCompressionSize) {
		return 0, nil, badRequest("Invalid minimum compression size, must be between 0 and 10485760")
	}
	keySource := in.APIKeySource
	if keySource == "" {
		keySource = "HEADER"
	}
	if keySource != "HEADER" && keySource != "AUTHORIZER" {
		return 0, nil, validationError("Value '%s' at 'createRestApiInput.apiKeySource' failed to satisfy constraint: "+
			"Member must satisfy enum value set: [HEADER, AUTHORIZER]", keySource)
	}
	if in.CloneFrom != "" {
		return 0, nil, awsproto.Errorf(http.StatusNotImplemented, "NotImplementedException",
			"CreateRestApi with cloneFrom is not implemented in Sluice yet")
	}
	now := model.EpochTime(time.Now())
	api := &model.RestAPI{
		ID:                        awsproto.NewID(10),
		Name:                      *in.Name,
		CreatedDate:               now,
		Version:                   in.Version,
		BinaryMediaTypes:          dedupe(in.BinaryMediaTypes),
		MinimumCompressionSize:    in.MinimumCompressionSize,
		APIKeySource:              keySource,
		EndpointConfiguration:     ec,
		Policy:                    in.Policy,
		Tags:                      in.Tags,
		DisableExecuteAPIEndpoint: in.DisableExecuteAPIEndpoint,
		RootResourceID:            awsproto.NewID(10),
	}
	if in.Description != nil {
		api.Description = *in.Description
	}
	root := &model.Resource{ID: api.RootResourceID, Path: "/"}
	err = s.store.Update(ctx, func(tx store.Tx) error {
		if err := store.PutRecord(tx, apiKey(api.ID), api); err != nil {
			return err
		}
		if err := store.PutRecord(tx, resourceKey(api.ID, root.ID), root); err != nil {
			return err
		}
		for _, m := range defaultModels {
			m.ID = awsproto.NewID(6)
			if err := store.PutRecord(tx, modelKey(api.ID, m.Name), &m); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, nil, internalErr("create rest api", err)
	}
	s.log.Info("rest api created", "apiId", api.ID, "name", api.Name)
	return http.StatusCreated, api, nil
}

// endpointConfig validates and defaults an endpoint configuration: one type, EDGE
// when none is given (AWS's default); ipAddressType ipv4 for EDGE/REGIONAL and
// dualstack for PRIVATE, which supports nothing else.
func endpointConfig(in *model.EndpointConfiguration) (*model.EndpointConfiguration, error) {
	if in == nil {
		return &model.EndpointConfiguration{Types: []string{"EDGE"}, IPAddressType: "ipv4"}, nil
	}
	out := *in
	if out.Types == nil {
		out.Types = []string{"EDGE"}
	}
	switch {
	case len(out.Types) == 0:
		return nil, badRequest("REGIONAL Configuration and EDGE Configuration cannot be both DISABLED.")
	case len(out.Types) > 1:
		return nil, badRequest("Cannot create an api with multiple Endpoint Types.")
	}
	t := out.Types[0]
	if t != "EDGE" && t != "REGIONAL" && t != "PRIVATE" {
		return nil, validationError("Value '[%s]' at 'createRestApiInput.endpointConfiguration.types' failed to satisfy constraint: "+
			"Member must satisfy constraint: [Member must satisfy enum value set: [PRIVATE, EDGE, REGIONAL]]", t)
	}
	switch out.IPAddressType {
	case "":
		out.IPAddressType = "ipv4"
		if t == "PRIVATE" {
			out.IPAddressType = "dualstack"
		}
	case "ipv4", "dualstack":
	default:
		return nil, validationError("Value '%s' at 'createRestApiInput.endpointConfiguration.ipAddressType' failed to satisfy constraint: "+
			"Member must satisfy enum value set: [ipv4, dualstack]", out.IPAddressType)
	}
	if t == "PRIVATE" && out.IPAddressType == "ipv4" {
		return nil, badRequest("Only dualstack ipAddressType is supported for Private APIs.")
	}
	out.Types = []string{t}
	return &out, nil
}

func (s *Service) getRestAPI(ctx context.Context, req *request) (int, any, error) {
	api, err := s.loadAPI(s.reader(ctx), req.params["restApiId"])
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, api, nil
}

func (s *Service) getRestAPIs(ctx context.Context, req *request) (int, any, error) {
	apis, err := store.ListRecords[model.RestAPI](s.reader(ctx), model.RestAPIPrefix)
	if err != nil {
		return 0, nil, internalErr("list rest apis", err)
	}
	sort.Slice(apis, func(i, j int) bool { return apis[i].ID < apis[j].ID })
	p, err := paginate(req, apis, func(a *model.RestAPI) string { return a.ID })
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, p, nil
}

func (s *Service) updateRestAPI(ctx context.Context, req *request) (int, any, error) {
	ops, err := decodePatch(req, "updateRestApiInput")
	if err != nil {
		return 0, nil, err
	}
	id := req.params["restApiId"]
	var out *model.RestAPI
	err = s.store.Update(ctx, func(tx store.Tx) error {
		api, err := s.loadAPI(tx, id)
		if err != nil {
			return err
		}
		for _, op := range ops {
			if err := patchRestAPI(api, op); err != nil {
				return err
			}
		}
		out = api
		return store.PutRecord(tx, apiKey(id), api)
	})
	if err != nil {
		return 0, nil, internalErr("update rest api", err)
	}
	return http.StatusOK, out, nil
}

// maxRestAPIName bounds a REST API's name. AWS's model sets no length; the
// console and CloudFormation work with names far below this, and an unbounded name
// would be copied into every deployment snapshot and listing.
const maxRestAPIName = 1024

// checkRestAPIName refuses what AWS answers "Invalid REST API name specified"
// for: an empty name, and (Sluice's bounds) control characters such as NUL and
// names longer than maxRestAPIName.
func checkRestAPIName(name string) error {
	if name == "" || awsproto.HasControl(name) || len([]rune(name)) > maxRestAPIName {
		return badRequest("Invalid REST API name specified")
	}
	return nil
}

// patchRestAPI applies one patch operation as UpdateRestApi does.
func patchRestAPI(api *model.RestAPI, op patchOp) error {
	p := op.path()
	parts := splitPatchPath(p)
	if len(parts) == 0 {
		return errInvalidPatchPath(p)
	}
	v := op.value()
	switch parts[0] {
	case "name", "description", "policy", "apiKeySource", "version", "disableExecuteApiEndpoint":
		if len(parts) != 1 {
			return errInvalidPatchPath(p)
		}
		if op.Op != "replace" && !(op.Op == "remove" && parts[0] != "name") {
			return badRequest("Invalid patch operation specified. Must be one of: [replace]")
		}
		if op.Op == "remove" {
			v = ""
		}
		switch parts[0] {
		case "name":
			if v == "" {
				return badRequest("Name cannot be empty")
			}
			if err := checkRestAPIName(v); err != nil {
				return err
			}
			api.Name = v
		case "description":
			api.Description = v
		case "policy":
			api.Policy = v
		case "version":
			api.Version = v
		case "apiKeySource":
			if v != "HEADER" && v != "AUTHORIZER" {
				return badRequest("Invalid API Key Source specified. Valid options are HEADER,AUTHORIZER")
			}
			api.APIKeySource = v
		case "disableExecuteApiEndpoint":
			api.DisableExecuteAPIEndpoint = parseBool(v)
		}
	case "binaryMediaTypes":
		// The media type is the path's last token ("image~1png"); AWS answers a bare
		// /binaryMediaTypes with "Invalid patch path /binaryMediaTypes", and a
		// replace removes the old type and appends the new one at the end.
		if len(parts) != 2 || parts[1] == "" {
			return errInvalidPatchPath(p)
		}
		typ := parts[1]
		switch op.Op {
		case "add":
			if !slices.Contains(api.BinaryMediaTypes, typ) {
				api.BinaryMediaTypes = append(api.BinaryMediaTypes, typ)
			}
		case "remove":
			api.BinaryMediaTypes = slices.DeleteFunc(api.BinaryMediaTypes, func(t string) bool { return t == typ })
		case "replace":
			api.BinaryMediaTypes = slices.DeleteFunc(api.BinaryMediaTypes, func(t string) bool { return t == typ })
			if v != "" && !slices.Contains(api.BinaryMediaTypes, v) {
				api.BinaryMediaTypes = append(api.BinaryMediaTypes, v)
			}
		default:
			return badRequest("Invalid patch operation specified. Must be 'add'|'remove'|'replace'")
		}
		if len(api.BinaryMediaTypes) == 0 {
			api.BinaryMediaTypes = nil
		}
	case "minimumCompressionSize":
		if len(parts) != 1 {
			return errInvalidPatchPath(p)
		}
		if op.Op != "replace" {
			return badRequest("Invalid patch operation specified. Must be one of: [replace]")
		}
		if v == "" {
			api.MinimumCompressionSize = nil
			return nil
		}
		n, ok := atoiPatch(v)
		if !ok || n < 0 || n > maxCompressionSize {
			return badRequest("Invalid minimum compression size, must be between 0 and 10485760")
		}
		api.MinimumCompressionSize = &n
	case "endpointConfiguration":
		return patchEndpointConfig(api, op, parts[1:])
	default:
		return errInvalidPatchPath(p)
	}
	return nil
}

func patchEndpointConfig(api *model.RestAPI, op patchOp, parts []string) error {
	if api.EndpointConfiguration == nil {
		api.EndpointConfiguration = &model.EndpointConfiguration{Types: []string{"EDGE"}, IPAddressType: "ipv4"}
	}
	ec := api.EndpointConfiguration
	v := op.value()
	switch {
	case len(parts) == 2 && parts[0] == "types":
		if op.Op != "replace" {
			return badRequest("Invalid patch operation specified. Must be 'add'|'remove'|'replace'")
		}
		if v != "EDGE" && v != "REGIONAL" && v != "PRIVATE" {
			return badRequest("Invalid EndpointTypes specified. Valid options are REGIONAL,EDGE,PRIVATE")
		}
		ec.Types = []string{v}
		if v == "PRIVATE" {
			ec.IPAddressType = "dualstack"
		} else {
			ec.VpcEndpointIDs = nil
		}
	case len(parts) == 1 && parts[0] == "ipAddressType":
		if op.Op != "replace" {
			return badRequest("Invalid patch operation specified. Must be one of: [replace]")
		}
		if v != "ipv4" && v != "dualstack" {
			return badRequest("ipAddressType must be either ipv4 or dualstack.")
		}
		if slices.Contains(ec.Types, "PRIVATE") && v == "ipv4" {
			return badRequest("Only dualstack ipAddressType is supported for Private APIs.")
		}
		ec.IPAddressType = v
	case len(parts) == 1 && parts[0] == "vpcEndpointIds":
		switch op.Op {
		case "add":
			if v != "" && !slices.Contains(ec.VpcEndpointIDs, v) {
				ec.VpcEndpointIDs = append(ec.VpcEndpointIDs, v)
			}
		case "remove":
			ec.VpcEndpointIDs = slices.DeleteFunc(ec.VpcEndpointIDs, func(id string) bool { return id == v })
			if len(ec.VpcEndpointIDs) == 0 {
				ec.VpcEndpointIDs = nil
			}
		default:
			return badRequest("Invalid patch operation specified. Must be 'add'|'remove'")
		}
	default:
		return errInvalidPatchPath(op.path())
	}
	return nil
}

func (s *Service) deleteRestAPI(ctx context.Context, req *request) (int, any, error) {
	id := req.params["restApiId"]
	// The API and as many of its records as fit go in one transaction, so a small
	// API disappears atomically; a large one (more records than one etcd
	// transaction may write) is gone once the first transaction commits, and the
	// rest of its records follow in batches.
	err := model.DeleteCascade(ctx, s.store, apiKey(id), id, apiScopedPrefixes, func(tx store.Tx) error {
		_, err := s.loadAPI(tx, id)
		return err
	})
	if err != nil {
		return 0, nil, internalErr("delete rest api", err)
	}
	s.log.Info("rest api deleted", "apiId", id)
	return http.StatusAccepted, nil, nil
}

func dedupe(in []string) []string {
	var out []string
	for _, s := range in {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}
