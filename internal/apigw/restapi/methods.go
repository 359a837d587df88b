package restapi

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/sluice-dev/sluice/internal/apigw/model"
	"github.com/sluice-dev/sluice/internal/store"
)

var httpMethods = []string{"GET", "PUT", "POST", "DELETE", "PATCH", "OPTIONS", "HEAD", "ANY"}

var authorizationTypes = []string{"NONE", "CUSTOM", "AWS_IAM", "COGNITO_USER_POOLS"}

// normalizeMethod fills the members AWS always returns.
func normalizeMethod(m *model.Method) {
	if m.MethodIntegration != nil && m.MethodIntegration.CacheKeyParameters == nil {
		m.MethodIntegration.CacheKeyParameters = []string{}
	}
}

type putMethodInput struct {
	AuthorizationType   *string           `json:"authorizationType"`
	AuthorizerID        string            `json:"authorizerId"`
	APIKeyRequired      bool              `json:"apiKeyRequired"`
	OperationName       string            `json:"operationName"`
	RequestParameters   map[string]bool   `json:"requestParameters"`
	RequestModels       map[string]string `json:"requestModels"`
	RequestValidatorID  string            `json:"requestValidatorId"`
	AuthorizationScopes []string          `json:"authorizationScopes"`
}

func (s *Service) putMethod(ctx context.Context, req *request) (int, any, error) {
	var in putMethodInput
	if err := req.decode(&in); err != nil {
		return 0, nil, err
	}
	api, resID, verb := req.params["restApiId"], req.params["resourceId"], req.params["httpMethod"]
	if in.AuthorizationType == nil {
		return 0, nil, validationError("Value null at 'putMethodInput.authorizationType' failed to satisfy constraint: Member must not be null")
	}
	var out *model.Method
	err := s.store.Update(ctx, func(tx store.Tx) error {
		res, err := loadResource(tx, api, resID)
		if err != nil {
			return err
		}
		if !slices.Contains(httpMethods, verb) {
			return badRequest("Invalid HttpMethod specified. Valid options are GET,PUT,POST,DELETE,PATCH,OPTIONS,HEAD,ANY")
		}
		if res.ResourceMethods[verb] != nil {
			// AWS refuses to overwrite a method with PutMethod.
			return conflict("Method already exists for this resource")
		}
		m := &model.Method{
			HTTPMethod:          verb,
			AuthorizationType:   strings.ToUpper(*in.AuthorizationType),
			APIKeyRequired:      in.APIKeyRequired,
			OperationName:       in.OperationName,
			RequestParameters:   in.RequestParameters,
			RequestModels:       in.RequestModels,
			RequestValidatorID:  in.RequestValidatorID,
			AuthorizationScopes: in.AuthorizationScopes,
		}
		if err := validateMethodParams(m.RequestParameters); err != nil {
			return err
		}
		if !slices.Contains(authorizationTypes, m.AuthorizationType) {
			return badRequest("Invalid authorization type specified. Valid options are NONE,CUSTOM,AWS_IAM,COGNITO_USER_POOLS")
		}
		if m.AuthorizationType == "CUSTOM" || m.AuthorizationType == "COGNITO_USER_POOLS" {
			if err := checkAuthorizer(tx, api, in.AuthorizerID); err != nil {
				return err
			}
			m.AuthorizerID = in.AuthorizerID
		}
		if err := checkValidator(tx, api, m.RequestValidatorID); err != nil {
			return err
		}
		for _, name := range m.RequestModels {
			if err := checkModelRef(tx, api, name); err != nil {
				return err
			}
		}
		if res.ResourceMethods == nil {
			res.ResourceMethods = map[string]*model.Method{}
		}
		res.ResourceMethods[verb] = m
		out = m
		return store.PutRecord(tx, resourceKey(api, resID), res)
	})
	if err != nil {
		return 0, nil, internalErr("put method", err)
	}
	return http.StatusCreated, out, nil
}

// validateMethodParams checks method request parameter names
// ("method.request.{path|querystring|multivaluequerystring|header|multivalueheader}.{name}")
// and that a name is used once across locations, as AWS requires.
func validateMethodParams(params map[string]bool) error {
	seen := map[string]bool{}
	for k := range params {
		loc, name, ok := strings.Cut(strings.TrimPrefix(k, "method.request."), ".")
		if !strings.HasPrefix(k, "method.request.") || !ok || name == "" {
			return badRequest("Invalid mapping expression specified: Validation Result: warnings : [], errors : [Invalid method request parameter specified: %s]", k)
		}
		switch loc {
		case "path", "querystring", "multivaluequerystring", "header", "multivalueheader":
		default:
			return badRequest("Invalid mapping expression specified: Validation Result: warnings : [], errors : [Invalid method request parameter specified: %s]", k)
		}
		if seen[name] {
			return badRequest("Parameter names must be unique across querystring, header and path")
		}
		seen[name] = true
	}
	return nil
}

func checkAuthorizer(rd reader, api, id string) error {
	errInvalid := badRequest("Invalid authorizer ID specified. Setting the authorization type to CUSTOM or COGNITO_USER_POOLS requires a valid authorizer.")
	if !safeID(id) {
		return errInvalid
	}
	_, ok, err := store.GetRecord[model.Authorizer](rd, authorizerKey(api, id))
	if err != nil {
		return err
	}
	if !ok {
		return errInvalid
	}
	return nil
}

func checkValidator(rd reader, api, id string) error {
	if id == "" {
		return nil
	}
	errInvalid := badRequest("Invalid Request Validator identifier specified")
	if !safeID(id) {
		return errInvalid
	}
	_, ok, err := store.GetRecord[model.RequestValidator](rd, validatorKey(api, id))
	if err != nil {
		return err
	}
	if !ok {
		return errInvalid
	}
	return nil
}

func checkModelRef(rd reader, api, name string) error {
	errInvalid := badRequest("Invalid model identifier specified: %s", name)
	if !safeID(name) {
		return errInvalid
	}
	_, ok, err := store.GetRecord[model.Model](rd, modelKey(api, name))
	if err != nil {
		return err
	}
	if !ok {
		return errInvalid
	}
	return nil
}

func (s *Service) getMethod(ctx context.Context, req *request) (int, any, error) {
	_, m, err := loadMethod(s.reader(ctx), req.params["restApiId"], req.params["resourceId"], req.params["httpMethod"])
	if err != nil {
		return 0, nil, err
	}
	normalizeMethod(m)
	return http.StatusOK, m, nil
}

func (s *Service) deleteMethod(ctx context.Context, req *request) (int, any, error) {
	api, resID, verb := req.params["restApiId"], req.params["resourceId"], req.params["httpMethod"]
	err := s.store.Update(ctx, func(tx store.Tx) error {
		res, _, err := loadMethod(tx, api, resID, verb)
		if err != nil {
			return err
		}
		delete(res.ResourceMethods, verb)
		if len(res.ResourceMethods) == 0 {
			res.ResourceMethods = nil
		}
		return store.PutRecord(tx, resourceKey(api, resID), res)
	})
	if err != nil {
		return 0, nil, internalErr("delete method", err)
	}
	return http.StatusAccepted, nil, nil
}

// updateMethod applies UpdateMethod's patch operations. Paths (AWS's
// "PatchOperation" reference for UpdateMethod): /authorizationType, /authorizerId,
// /apiKeyRequired, /operationName, /requestValidatorId (replace);
// /requestParameters/{name}, /requestModels/{contentType} (add, replace, remove);
// /authorizationScopes (add, remove).
func (s *Service) updateMethod(ctx context.Context, req *request) (int, any, error) {
	ops, err := decodePatch(req, "updateMethodInput")
	if err != nil {
		return 0, nil, err
	}
	api, resID, verb := req.params["restApiId"], req.params["resourceId"], req.params["httpMethod"]
	var out *model.Method
	err = s.store.Update(ctx, func(tx store.Tx) error {
		res, m, err := loadMethod(tx, api, resID, verb)
		if err != nil {
			return err
		}
		authChanged := false
		for _, op := range ops {
			changed, err := patchMethod(tx, api, m, op)
			if err != nil {
				return err
			}
			authChanged = authChanged || changed
		}
		if m.AuthorizationType == "CUSTOM" || m.AuthorizationType == "COGNITO_USER_POOLS" {
			if authChanged {
				if err := checkAuthorizer(tx, api, m.AuthorizerID); err != nil {
					return err
				}
			}
		} else {
			// AWS keeps no authorizer on a method that does not use one.
			m.AuthorizerID = ""
			m.AuthorizationScopes = nil
		}
		if len(m.RequestParameters) == 0 {
			m.RequestParameters = nil
		}
		if len(m.RequestModels) == 0 {
			m.RequestModels = nil
		}
		if err := validateMethodParams(m.RequestParameters); err != nil {
			return err
		}
		out = m
		return store.PutRecord(tx, resourceKey(api, resID), res)
	})
	if err != nil {
		return 0, nil, internalErr("update method", err)
	}
	normalizeMethod(out)
	return http.StatusOK, out, nil
}

// patchMethod applies one op; authChanged reports a change to the authorization
// type or authorizer, which must then name an existing authorizer.
func patchMethod(rd reader, api string, m *model.Method, op patchOp) (authChanged bool, err error) {
	p := op.path()
	parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
	if p == "" || len(parts) > 2 {
		return false, errInvalidPatchPath(p)
	}
	v := op.value()
	replaceOnly := func() error {
		if op.Op != "replace" {
			return badRequest("Invalid patch operation specified. Must be one of: [replace]")
		}
		if len(parts) != 1 {
			return errInvalidPatchPath(p)
		}
		return nil
	}
	switch parts[0] {
	case "authorizationType":
		if err := replaceOnly(); err != nil {
			return false, err
		}
		v = strings.ToUpper(v)
		if !slices.Contains(authorizationTypes, v) {
			return false, badRequest("Invalid authorization type specified. Valid options are NONE,CUSTOM,AWS_IAM,COGNITO_USER_POOLS")
		}
		m.AuthorizationType = v
		return true, nil
	case "authorizerId":
		if err := replaceOnly(); err != nil {
			return false, err
		}
		m.AuthorizerID = v
		return true, nil
	case "apiKeyRequired":
		if err := replaceOnly(); err != nil {
			return false, err
		}
		m.APIKeyRequired = parseBool(v)
	case "operationName":
		if err := replaceOnly(); err != nil {
			return false, err
		}
		m.OperationName = v
	case "requestValidatorId":
		if err := replaceOnly(); err != nil {
			return false, err
		}
		// An empty value removes the validator (AWS accepts it).
		if err := checkValidator(rd, api, v); err != nil {
			return false, err
		}
		m.RequestValidatorID = v
	case "authorizationScopes":
		if len(parts) != 1 {
			return false, errInvalidPatchPath(p)
		}
		switch op.Op {
		case "add":
			if !slices.Contains(m.AuthorizationScopes, v) {
				m.AuthorizationScopes = append(m.AuthorizationScopes, v)
			}
		case "remove":
			m.AuthorizationScopes = slices.DeleteFunc(m.AuthorizationScopes, func(s string) bool { return s == v })
			if len(m.AuthorizationScopes) == 0 {
				m.AuthorizationScopes = nil
			}
		default:
			return false, badRequest("Invalid patch operation specified. Must be one of: [add, remove]")
		}
	case "requestParameters":
		if len(parts) != 2 || parts[1] == "" {
			return false, errInvalidPatchPath(p)
		}
		name := unescapePointer(parts[1])
		switch op.Op {
		case "add", "replace":
			if m.RequestParameters == nil {
				m.RequestParameters = map[string]bool{}
			}
			m.RequestParameters[name] = parseBool(v)
		case "remove":
			delete(m.RequestParameters, name)
		default:
			return false, badRequest("Invalid patch operation specified. Must be one of: [add, replace, remove]")
		}
	case "requestModels":
		if len(parts) != 2 || parts[1] == "" {
			return false, errInvalidPatchPath(p)
		}
		ct := unescapePointer(parts[1])
		switch op.Op {
		case "add", "replace":
			if err := checkModelRef(rd, api, v); err != nil {
				return false, err
			}
			if m.RequestModels == nil {
				m.RequestModels = map[string]string{}
			}
			m.RequestModels[ct] = v
		case "remove":
			delete(m.RequestModels, ct)
		default:
			return false, badRequest("Invalid patch operation specified. Must be one of: [add, replace, remove]")
		}
	default:
		return false, errInvalidPatchPath(p)
	}
	return false, nil
}
