package restapi

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/sluice-dev/sluice/internal/apigw/model"
	"github.com/sluice-dev/sluice/internal/awsproto"
	"github.com/sluice-dev/sluice/internal/store"
)

// Authorizers (CreateAuthorizer and friends). The data plane runs them
// (internal/apigw/access); here they are validated and stored.

var authorizerTypes = []string{"TOKEN", "REQUEST", "COGNITO_USER_POOLS"}

// defaultAuthorizerTTL is authorizerResultTtlInSeconds when CreateAuthorizer omits
// it: API Gateway caches decisions for 300 seconds by default.
const defaultAuthorizerTTL = 300

type createAuthorizerInput struct {
	Name                         *string  `json:"name"`
	Type                         *string  `json:"type"`
	ProviderARNs                 []string `json:"providerARNs"`
	AuthType                     string   `json:"authType"`
	AuthorizerURI                string   `json:"authorizerUri"`
	AuthorizerCredentials        string   `json:"authorizerCredentials"`
	IdentitySource               string   `json:"identitySource"`
	IdentityValidationExpression string   `json:"identityValidationExpression"`
	AuthorizerResultTTLInSeconds *int     `json:"authorizerResultTtlInSeconds"`
}

func (s *Service) createAuthorizer(ctx context.Context, req *request) (int, any, error) {
	var in createAuthorizerInput
	if err := req.decode(&in); err != nil {
		return 0, nil, err
	}
	if in.Name == nil {
		return 0, nil, validationError("Value null at 'createAuthorizerInput.name' failed to satisfy constraint: Member must not be null")
	}
	if in.Type == nil {
		return 0, nil, validationError("Value null at 'createAuthorizerInput.type' failed to satisfy constraint: Member must not be null")
	}
	au := &model.Authorizer{ID: awsproto.NewID(6), Name: *in.Name, Type: *in.Type, ProviderARNs: in.ProviderARNs,
		AuthType: in.AuthType, AuthorizerURI: in.AuthorizerURI, AuthorizerCredentials: in.AuthorizerCredentials,
		IdentitySource: in.IdentitySource, IdentityValidationExpression: in.IdentityValidationExpression,
		AuthorizerResultTTLInSeconds: in.AuthorizerResultTTLInSeconds}
	if au.AuthorizerResultTTLInSeconds == nil && au.Type != "COGNITO_USER_POOLS" {
		ttl := defaultAuthorizerTTL
		au.AuthorizerResultTTLInSeconds = &ttl
	}
	if err := validateAuthorizer(au, "createAuthorizerInput"); err != nil {
		return 0, nil, err
	}
	api := req.params["restApiId"]
	err := s.store.Update(ctx, func(tx store.Tx) error {
		if _, err := s.loadAPI(tx, api); err != nil {
			return err
		}
		auths, err := store.ListRecords[model.Authorizer](tx, authorizersPrefix(api))
		if err != nil {
			return err
		}
		for _, other := range auths {
			if other.Name == au.Name {
				return conflict("Authorizer name must be unique. Authorizer %s already exists in this RestApi.", au.Name)
			}
		}
		return store.PutRecord(tx, authorizerKey(api, au.ID), au)
	})
	if err != nil {
		return 0, nil, internalErr("create authorizer", err)
	}
	return http.StatusCreated, au, nil
}

// validateAuthorizer checks what API Gateway checks when an authorizer is created or
// updated: the type, a Lambda URI for TOKEN and REQUEST authorizers, a header identity
// source for TOKEN authorizers, user pools for COGNITO_USER_POOLS, and the TTL range.
func validateAuthorizer(au *model.Authorizer, input string) error {
	if !slices.Contains(authorizerTypes, au.Type) {
		return validationError("Value '%s' at '%s.type' failed to satisfy constraint: Member must satisfy enum value set: [TOKEN, COGNITO_USER_POOLS, REQUEST]", au.Type, input)
	}
	if au.Type == "COGNITO_USER_POOLS" {
		// Sluice has no Cognito user pools to check tokens against; refusing the
		// authorizer keeps its methods from ever being served unchecked.
		return errCognitoUnsupported
	}
	if strings.TrimSpace(au.Name) == "" {
		return badRequest("Authorizer name must be non-empty")
	}
	if ttl := au.AuthorizerResultTTLInSeconds; ttl != nil && (*ttl < 0 || *ttl > 3600) {
		return badRequest("Invalid value for authorizerResultTtlInSeconds. Must be between 0 and 3600")
	}
	switch au.Type {
	case "TOKEN", "REQUEST":
		if au.AuthorizerURI == "" {
			return badRequest("Authorizer URI must be specified for a %s authorizer", au.Type)
		}
		if !strings.HasPrefix(au.AuthorizerURI, "arn:aws:apigateway:") || !strings.Contains(au.AuthorizerURI, ":lambda:path/") {
			return badRequest("Invalid Authorizer URI: %s. Authorizer URI should be a valid API Gateway ARN that represents a Lambda function invocation.", au.AuthorizerURI)
		}
	case "COGNITO_USER_POOLS":
		if len(au.ProviderARNs) == 0 {
			return badRequest("ProviderARNs need to be specified for a COGNITO_USER_POOLS authorizer")
		}
	}
	if au.Type == "TOKEN" {
		src := strings.TrimSpace(au.IdentitySource)
		name, ok := strings.CutPrefix(src, "method.request.header.")
		if !ok || name == "" || strings.Contains(name, ",") {
			return badRequest("Invalid identity source: %s. Identity source for a TOKEN authorizer must be a header: method.request.header.{name}", au.IdentitySource)
		}
	}
	if au.Type == "REQUEST" {
		caching := au.AuthorizerResultTTLInSeconds != nil && *au.AuthorizerResultTTLInSeconds > 0
		if caching && strings.TrimSpace(au.IdentitySource) == "" {
			return badRequest("Identity Source must be specified for REQUEST authorizers when caching is enabled")
		}
		for _, src := range strings.Split(au.IdentitySource, ",") {
			src = strings.TrimSpace(src)
			if src == "" {
				continue
			}
			if !validRequestIdentitySource(src) {
				return badRequest("Invalid identity source: %s. Must be method.request.header.{name}, method.request.querystring.{name}, stageVariables.{name} or context.{name}", src)
			}
		}
	}
	return nil
}

func validRequestIdentitySource(src string) bool {
	for _, p := range [...]string{"method.request.header.", "method.request.querystring.", "stageVariables.", "context."} {
		if name, ok := strings.CutPrefix(src, p); ok {
			return name != ""
		}
	}
	return false
}

var errCognitoUnsupported = awsproto.Errorf(http.StatusNotImplemented, "NotImplementedException",
	"COGNITO_USER_POOLS authorizers are not implemented in Sluice yet")

var errAuthorizerNotFound = notFound("Invalid Authorizer identifier specified")

func loadAuthorizer(rd reader, api, id string) (*model.Authorizer, error) {
	if !safeID(api) || !safeID(id) {
		return nil, errAuthorizerNotFound
	}
	au, ok, err := store.GetRecord[model.Authorizer](rd, authorizerKey(api, id))
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errAuthorizerNotFound
	}
	return au, nil
}

func (s *Service) getAuthorizer(ctx context.Context, req *request) (int, any, error) {
	au, err := loadAuthorizer(s.reader(ctx), req.params["restApiId"], req.params["authorizerId"])
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, au, nil
}

func (s *Service) getAuthorizers(ctx context.Context, req *request) (int, any, error) {
	rd := s.reader(ctx)
	api := req.params["restApiId"]
	if _, err := s.loadAPI(rd, api); err != nil {
		return 0, nil, err
	}
	auths, err := store.ListRecords[model.Authorizer](rd, authorizersPrefix(api))
	if err != nil {
		return 0, nil, internalErr("list authorizers", err)
	}
	sort.Slice(auths, func(i, j int) bool { return auths[i].ID < auths[j].ID })
	p, err := paginate(req, auths, func(a *model.Authorizer) string { return a.ID })
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, p, nil
}

// authorizerPatch are the paths UpdateAuthorizer accepts, each with its setter.
var authorizerPatch = map[string]func(au *model.Authorizer, op patchOp) error{
	"/name":                         func(au *model.Authorizer, op patchOp) error { au.Name = op.value(); return nil },
	"/type":                         func(au *model.Authorizer, op patchOp) error { au.Type = op.value(); return nil },
	"/authType":                     func(au *model.Authorizer, op patchOp) error { au.AuthType = op.value(); return nil },
	"/authorizerUri":                func(au *model.Authorizer, op patchOp) error { au.AuthorizerURI = op.value(); return nil },
	"/authorizerCredentials":        func(au *model.Authorizer, op patchOp) error { au.AuthorizerCredentials = op.value(); return nil },
	"/identitySource":               func(au *model.Authorizer, op patchOp) error { au.IdentitySource = op.value(); return nil },
	"/identityValidationExpression": func(au *model.Authorizer, op patchOp) error { au.IdentityValidationExpression = op.value(); return nil },
	"/authorizerResultTtlInSeconds": func(au *model.Authorizer, op patchOp) error {
		n, err := strconv.Atoi(op.value())
		if err != nil {
			return badRequest("Invalid value for authorizerResultTtlInSeconds: %s", op.value())
		}
		au.AuthorizerResultTTLInSeconds = &n
		return nil
	},
	"/providerARNs": func(au *model.Authorizer, op patchOp) error {
		switch op.Op {
		case "add":
			au.ProviderARNs = append(au.ProviderARNs, op.value())
		case "remove":
			au.ProviderARNs = slices.DeleteFunc(au.ProviderARNs, func(a string) bool { return a == op.value() })
		default:
			return errUnsupportedOp(op)
		}
		return nil
	},
}

func (s *Service) updateAuthorizer(ctx context.Context, req *request) (int, any, error) {
	ops, err := decodePatch(req, "updateAuthorizerInput")
	if err != nil {
		return 0, nil, err
	}
	api, id := req.params["restApiId"], req.params["authorizerId"]
	var out *model.Authorizer
	err = s.store.Update(ctx, func(tx store.Tx) error {
		au, err := loadAuthorizer(tx, api, id)
		if err != nil {
			return err
		}
		for _, op := range ops {
			set, ok := authorizerPatch[op.path()]
			if !ok {
				return errPathNotOneOf(op, "/name, /type, /authType, /authorizerUri, /authorizerCredentials, /identitySource, /identityValidationExpression, /authorizerResultTtlInSeconds, /providerARNs")
			}
			if op.path() != "/providerARNs" && op.Op != "replace" {
				return errUnsupportedOp(op)
			}
			if err := set(au, op); err != nil {
				return err
			}
		}
		if err := validateAuthorizer(au, "updateAuthorizerInput"); err != nil {
			return err
		}
		out = au
		return store.PutRecord(tx, authorizerKey(api, id), au)
	})
	if err != nil {
		return 0, nil, internalErr("update authorizer", err)
	}
	return http.StatusOK, out, nil
}

// deleteAuthorizer refuses to delete an authorizer a method still uses, as API
// Gateway does (ConflictException).
func (s *Service) deleteAuthorizer(ctx context.Context, req *request) (int, any, error) {
	api, id := req.params["restApiId"], req.params["authorizerId"]
	err := s.store.Update(ctx, func(tx store.Tx) error {
		au, err := loadAuthorizer(tx, api, id)
		if err != nil {
			return err
		}
		resources, err := store.ListRecords[model.Resource](tx, resourcesPrefix(api))
		if err != nil {
			return err
		}
		for _, r := range resources {
			for verb, m := range r.ResourceMethods {
				if m != nil && m.AuthorizerID == id {
					return conflict("Cannot delete authorizer '%s', is referenced in method: %s%s", au.Name, verb, r.Path)
				}
			}
		}
		return deleteRecord(tx, authorizerKey(api, id))
	})
	if err != nil {
		return 0, nil, internalErr("delete authorizer", err)
	}
	return http.StatusAccepted, nil, nil
}

// flushStageAuthorizersCache drops every cached authorizer decision of a stage. The
// caches live in the compiled stage, so the stage record is written again: every
// node sharing the store recompiles the stage with empty caches, and this node does
// so before answering, so the next request invokes the authorizer again.
func (s *Service) flushStageAuthorizersCache(ctx context.Context, req *request) (int, any, error) {
	api, name := req.params["restApiId"], req.params["stageName"]
	err := s.store.Update(ctx, func(tx store.Tx) error {
		st, err := s.loadStage(tx, api, name)
		if err != nil {
			return err
		}
		return store.PutRecord(tx, stageKey(api, name), st)
	})
	if err != nil {
		return 0, nil, internalErr("flush stage authorizers cache", err)
	}
	if s.gateway != nil {
		if err := s.gateway.Reload(ctx); err != nil {
			return 0, nil, fmt.Errorf("flush stage authorizers cache: %w", err)
		}
	}
	return http.StatusAccepted, nil, nil
}
