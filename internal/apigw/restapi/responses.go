package restapi

import (
	"context"
	"net/http"
	"regexp"
	"strings"

	"github.com/sluice-dev/sluice/internal/apigw/model"
	"github.com/sluice-dev/sluice/internal/store"
)

// statusCodeRE is the model constraint on a method/integration response's status.
var statusCodeRE = regexp.MustCompile(`^[1-5]\d\d$`)

func validateStatusCode(code string) error {
	if !statusCodeRE.MatchString(code) {
		return validationError("Value '%s' at 'statusCode' failed to satisfy constraint: Member must satisfy regular expression pattern: [1-5]\\d\\d", code)
	}
	return nil
}

// Method responses.

type putMethodResponseInput struct {
	ResponseParameters map[string]bool   `json:"responseParameters"`
	ResponseModels     map[string]string `json:"responseModels"`
}

func (s *Service) putMethodResponse(ctx context.Context, req *request) (int, any, error) {
	var in putMethodResponseInput
	if err := req.decode(&in); err != nil {
		return 0, nil, err
	}
	api, resID, verb, code := req.params["restApiId"], req.params["resourceId"], req.params["httpMethod"], req.params["statusCode"]
	if err := validateStatusCode(code); err != nil {
		return 0, nil, err
	}
	mr := &model.MethodResponse{StatusCode: code, ResponseParameters: in.ResponseParameters, ResponseModels: in.ResponseModels}
	err := s.store.Update(ctx, func(tx store.Tx) error {
		res, m, err := loadMethod(tx, api, resID, verb)
		if err != nil {
			return err
		}
		if err := validateResponseParamNames(mr.ResponseParameters); err != nil {
			return err
		}
		for _, name := range mr.ResponseModels {
			if err := checkModelRef(tx, api, name); err != nil {
				return err
			}
		}
		if m.MethodResponses == nil {
			m.MethodResponses = map[string]*model.MethodResponse{}
		}
		m.MethodResponses[code] = mr
		return store.PutRecord(tx, resourceKey(api, resID), res)
	})
	if err != nil {
		return 0, nil, internalErr("put method response", err)
	}
	return http.StatusCreated, mr, nil
}

// validateResponseParamNames checks "method.response.header.{name}" keys.
func validateResponseParamNames(params map[string]bool) error {
	for k := range params {
		name, ok := strings.CutPrefix(k, "method.response.header.")
		if !ok || name == "" {
			return badRequest("Invalid mapping expression specified: Validation Result: warnings : [], errors : [Invalid mapping expression specified: %s]", k)
		}
	}
	return nil
}

func loadMethodResponse(rd reader, api, resID, verb, code string) (*model.Resource, *model.Method, *model.MethodResponse, error) {
	if err := validateStatusCode(code); err != nil {
		return nil, nil, nil, err
	}
	res, m, err := loadMethod(rd, api, resID, verb)
	if err != nil {
		return nil, nil, nil, err
	}
	mr := m.MethodResponses[code]
	if mr == nil {
		return nil, nil, nil, errStatusNotFound
	}
	return res, m, mr, nil
}

func (s *Service) getMethodResponse(ctx context.Context, req *request) (int, any, error) {
	_, _, mr, err := loadMethodResponse(s.reader(ctx), req.params["restApiId"], req.params["resourceId"], req.params["httpMethod"], req.params["statusCode"])
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, mr, nil
}

func (s *Service) deleteMethodResponse(ctx context.Context, req *request) (int, any, error) {
	api, resID, verb, code := req.params["restApiId"], req.params["resourceId"], req.params["httpMethod"], req.params["statusCode"]
	err := s.store.Update(ctx, func(tx store.Tx) error {
		res, m, _, err := loadMethodResponse(tx, api, resID, verb, code)
		if err != nil {
			return err
		}
		delete(m.MethodResponses, code)
		if len(m.MethodResponses) == 0 {
			m.MethodResponses = nil
		}
		return store.PutRecord(tx, resourceKey(api, resID), res)
	})
	if err != nil {
		return 0, nil, internalErr("delete method response", err)
	}
	return http.StatusAccepted, nil, nil
}

// updateMethodResponse: /responseParameters/{name} (value "true"/"false") and
// /responseModels/{contentType}, each add, replace or remove.
func (s *Service) updateMethodResponse(ctx context.Context, req *request) (int, any, error) {
	ops, err := decodePatch(req, "updateMethodResponseInput")
	if err != nil {
		return 0, nil, err
	}
	api, resID, verb, code := req.params["restApiId"], req.params["resourceId"], req.params["httpMethod"], req.params["statusCode"]
	var out *model.MethodResponse
	err = s.store.Update(ctx, func(tx store.Tx) error {
		res, _, mr, err := loadMethodResponse(tx, api, resID, verb, code)
		if err != nil {
			return err
		}
		for _, op := range ops {
			parts := strings.Split(strings.TrimPrefix(op.path(), "/"), "/")
			if len(parts) != 2 || parts[1] == "" {
				return errInvalidPatchPath(op.path())
			}
			key := unescapePointer(parts[1])
			switch parts[0] {
			case "responseParameters":
				switch op.Op {
				case "add", "replace":
					if mr.ResponseParameters == nil {
						mr.ResponseParameters = map[string]bool{}
					}
					mr.ResponseParameters[key] = parseBool(op.value())
				case "remove":
					delete(mr.ResponseParameters, key)
				default:
					return errUnsupportedOp(op)
				}
			case "responseModels":
				if op.Op == "add" || op.Op == "replace" {
					if err := checkModelRef(tx, api, op.value()); err != nil {
						return err
					}
				}
				if err := patchStringMap(&mr.ResponseModels, key, op); err != nil {
					return err
				}
			default:
				return errInvalidPatchPath(op.path())
			}
		}
		if err := validateResponseParamNames(mr.ResponseParameters); err != nil {
			return err
		}
		if len(mr.ResponseParameters) == 0 {
			mr.ResponseParameters = nil
		}
		out = mr
		return store.PutRecord(tx, resourceKey(api, resID), res)
	})
	if err != nil {
		return 0, nil, internalErr("update method response", err)
	}
	return http.StatusOK, out, nil
}

// Integration responses.

type putIntegrationResponseInput struct {
	SelectionPattern   string            `json:"selectionPattern"`
	ResponseParameters map[string]string `json:"responseParameters"`
	ResponseTemplates  map[string]string `json:"responseTemplates"`
	ContentHandling    string            `json:"contentHandling"`
}

func (s *Service) putIntegrationResponse(ctx context.Context, req *request) (int, any, error) {
	var in putIntegrationResponseInput
	if err := req.decode(&in); err != nil {
		return 0, nil, err
	}
	api, resID, verb, code := req.params["restApiId"], req.params["resourceId"], req.params["httpMethod"], req.params["statusCode"]
	if err := validateStatusCode(code); err != nil {
		return 0, nil, err
	}
	ir := &model.IntegrationResponse{StatusCode: code, SelectionPattern: in.SelectionPattern,
		ResponseParameters: in.ResponseParameters, ResponseTemplates: in.ResponseTemplates, ContentHandling: in.ContentHandling}
	if err := validateIntegrationResponse(ir); err != nil {
		return 0, nil, err
	}
	err := s.store.Update(ctx, func(tx store.Tx) error {
		res, integ, err := loadIntegration(tx, api, resID, verb)
		if err != nil {
			return err
		}
		if integ.IntegrationResponses == nil {
			integ.IntegrationResponses = map[string]*model.IntegrationResponse{}
		}
		integ.IntegrationResponses[code] = ir
		return store.PutRecord(tx, resourceKey(api, resID), res)
	})
	if err != nil {
		return 0, nil, internalErr("put integration response", err)
	}
	return http.StatusCreated, ir, nil
}

func validateIntegrationResponse(ir *model.IntegrationResponse) error {
	for k, v := range ir.ResponseParameters {
		if name, ok := strings.CutPrefix(k, "method.response.header."); !ok || name == "" {
			return badRequest("Invalid mapping expression specified: Validation Result: warnings : [], errors : [Invalid mapping expression specified: %s]", k)
		}
		if !validResponseMappingValue(v) {
			return badRequest("Invalid mapping expression specified: Validation Result: warnings : [], errors : [Invalid mapping expression specified: %s]", v)
		}
	}
	if _, err := regexp.Compile(ir.SelectionPattern); err != nil {
		return badRequest("Invalid selection pattern specified: %s", ir.SelectionPattern)
	}
	for ct := range ir.ResponseTemplates {
		if !strings.Contains(ct, "/") {
			return badRequest("Validation Result: warnings : [], errors : [Invalid content type specified: %s]", ct)
		}
	}
	return validateContentHandling(ir.ContentHandling)
}

// validResponseMappingValue reports whether v is a mapping expression an integration
// response parameter may hold: a quoted static value ('*'), an integration response
// header or body reference, a stage or context variable, or a method request value.
// AWS refuses anything else, a bare value included ("Invalid mapping expression
// specified: *" for an unquoted *).
func validResponseMappingValue(v string) bool {
	if len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'' {
		return true
	}
	if v == "integration.response.body" {
		return true
	}
	for _, prefix := range []string{"integration.response.header.", "integration.response.multivalueheader.",
		"integration.response.body.", "stageVariables.", "context.", "method.request."} {
		if rest, ok := strings.CutPrefix(v, prefix); ok && rest != "" {
			return true
		}
	}
	return false
}

func loadIntegrationResponse(rd reader, api, resID, verb, code string) (*model.Resource, *model.Integration, *model.IntegrationResponse, error) {
	if err := validateStatusCode(code); err != nil {
		return nil, nil, nil, err
	}
	res, integ, err := loadIntegration(rd, api, resID, verb)
	if err != nil {
		return nil, nil, nil, err
	}
	ir := integ.IntegrationResponses[code]
	if ir == nil {
		return nil, nil, nil, errStatusNotFound
	}
	return res, integ, ir, nil
}

func (s *Service) getIntegrationResponse(ctx context.Context, req *request) (int, any, error) {
	_, _, ir, err := loadIntegrationResponse(s.reader(ctx), req.params["restApiId"], req.params["resourceId"], req.params["httpMethod"], req.params["statusCode"])
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, ir, nil
}

func (s *Service) deleteIntegrationResponse(ctx context.Context, req *request) (int, any, error) {
	api, resID, verb, code := req.params["restApiId"], req.params["resourceId"], req.params["httpMethod"], req.params["statusCode"]
	err := s.store.Update(ctx, func(tx store.Tx) error {
		res, integ, _, err := loadIntegrationResponse(tx, api, resID, verb, code)
		if err != nil {
			return err
		}
		delete(integ.IntegrationResponses, code)
		if len(integ.IntegrationResponses) == 0 {
			integ.IntegrationResponses = nil
		}
		return store.PutRecord(tx, resourceKey(api, resID), res)
	})
	if err != nil {
		return 0, nil, internalErr("delete integration response", err)
	}
	return http.StatusAccepted, nil, nil
}

// updateIntegrationResponse: /selectionPattern, /contentHandling (replace),
// /responseTemplates/{contentType}, /responseParameters/{name} (add, replace, remove).
func (s *Service) updateIntegrationResponse(ctx context.Context, req *request) (int, any, error) {
	ops, err := decodePatch(req, "updateIntegrationResponseInput")
	if err != nil {
		return 0, nil, err
	}
	api, resID, verb, code := req.params["restApiId"], req.params["resourceId"], req.params["httpMethod"], req.params["statusCode"]
	var out *model.IntegrationResponse
	err = s.store.Update(ctx, func(tx store.Tx) error {
		res, _, ir, err := loadIntegrationResponse(tx, api, resID, verb, code)
		if err != nil {
			return err
		}
		for _, op := range ops {
			parts := strings.Split(strings.TrimPrefix(op.path(), "/"), "/")
			switch {
			case len(parts) == 1 && parts[0] == "selectionPattern":
				if op.Op != "replace" && op.Op != "remove" {
					return errUnsupportedOp(op)
				}
				ir.SelectionPattern = op.value()
			case len(parts) == 1 && parts[0] == "contentHandling":
				if op.Op != "replace" && op.Op != "remove" {
					return errUnsupportedOp(op)
				}
				ir.ContentHandling = op.value()
			case len(parts) == 2 && parts[1] != "" && parts[0] == "responseTemplates":
				if err := patchStringMap(&ir.ResponseTemplates, unescapePointer(parts[1]), op); err != nil {
					return err
				}
			case len(parts) == 2 && parts[1] != "" && parts[0] == "responseParameters":
				if err := patchStringMap(&ir.ResponseParameters, unescapePointer(parts[1]), op); err != nil {
					return err
				}
			default:
				return errInvalidPatchPath(op.path())
			}
		}
		if err := validateIntegrationResponse(ir); err != nil {
			return err
		}
		out = ir
		return store.PutRecord(tx, resourceKey(api, resID), res)
	})
	if err != nil {
		return 0, nil, internalErr("update integration response", err)
	}
	return http.StatusOK, out, nil
}
