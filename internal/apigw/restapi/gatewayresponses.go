package restapi

import (
	"context"
	"net/http"
	"sort"
	"strings"

	"github.com/sluice-dev/sluice/internal/apigw/model"
	"github.com/sluice-dev/sluice/internal/store"
)

// gatewayResponseOutput is a GatewayResponse as AWS answers it: the two maps are
// always present (possibly empty).
type gatewayResponseOutput struct {
	ResponseType       string            `json:"responseType"`
	StatusCode         string            `json:"statusCode,omitempty"`
	ResponseParameters map[string]string `json:"responseParameters"`
	ResponseTemplates  map[string]string `json:"responseTemplates"`
	DefaultResponse    bool              `json:"defaultResponse"`
}

func gatewayResponseOut(g *model.GatewayResponse) gatewayResponseOutput {
	out := gatewayResponseOutput{ResponseType: g.ResponseType, StatusCode: g.StatusCode,
		ResponseParameters: g.ResponseParameters, ResponseTemplates: g.ResponseTemplates, DefaultResponse: g.DefaultResponse}
	if out.ResponseParameters == nil {
		out.ResponseParameters = map[string]string{}
	}
	if out.ResponseTemplates == nil {
		out.ResponseTemplates = map[string]string{}
	}
	return out
}

// defaultGatewayResponse is AWS's default for a response type.
func defaultGatewayResponse(t string) *model.GatewayResponse {
	return &model.GatewayResponse{
		ResponseType:      t,
		StatusCode:        model.DefaultGatewayResponses[t],
		ResponseTemplates: map[string]string{"application/json": model.DefaultGatewayResponseTemplate},
		DefaultResponse:   true,
	}
}

func validateResponseType(t string) error {
	if _, ok := model.DefaultGatewayResponses[t]; ok {
		return nil
	}
	types := make([]string, 0, len(model.DefaultGatewayResponses))
	for k := range model.DefaultGatewayResponses {
		types = append(types, k)
	}
	sort.Strings(types)
	return validationError("Value '%s' at 'responseType' failed to satisfy constraint: Member must satisfy enum value set: [%s]", t, strings.Join(types, ", "))
}

type putGatewayResponseInput struct {
	StatusCode         string            `json:"statusCode"`
	ResponseParameters map[string]string `json:"responseParameters"`
	ResponseTemplates  map[string]string `json:"responseTemplates"`
}

func (s *Service) putGatewayResponse(ctx context.Context, req *request) (int, any, error) {
	var in putGatewayResponseInput
	if err := req.decode(&in); err != nil {
		return 0, nil, err
	}
	api, t := req.params["restApiId"], req.params["responseType"]
	if err := validateResponseType(t); err != nil {
		return 0, nil, err
	}
	if in.StatusCode != "" {
		if err := validateStatusCode(in.StatusCode); err != nil {
			return 0, nil, err
		}
	}
	g := &model.GatewayResponse{ResponseType: t, StatusCode: in.StatusCode,
		ResponseParameters: in.ResponseParameters, ResponseTemplates: in.ResponseTemplates}
	if err := validateGatewayResponseParams(g.ResponseParameters); err != nil {
		return 0, nil, err
	}
	err := s.store.Update(ctx, func(tx store.Tx) error {
		if _, err := s.loadAPI(tx, api); err != nil {
			return err
		}
		return store.PutRecord(tx, gatewayRespKey(api, t), g)
	})
	if err != nil {
		return 0, nil, internalErr("put gateway response", err)
	}
	return http.StatusCreated, gatewayResponseOut(g), nil
}

// validateGatewayResponseParams checks "gatewayresponse.header.{name}" keys.
func validateGatewayResponseParams(params map[string]string) error {
	for k, v := range params {
		if name, ok := strings.CutPrefix(k, "gatewayresponse.header."); !ok || name == "" || v == "" {
			return badRequest("Invalid mapping expression specified: Validation Result: warnings : [], errors : [Invalid mapping expression specified: %s]", k)
		}
	}
	return nil
}

// gatewayResponse returns the user's response of type t, or AWS's default.
func (s *Service) gatewayResponse(rd reader, api, t string) (*model.GatewayResponse, error) {
	g, ok, err := store.GetRecord[model.GatewayResponse](rd, gatewayRespKey(api, t))
	if err != nil {
		return nil, err
	}
	if !ok {
		return defaultGatewayResponse(t), nil
	}
	return g, nil
}

func (s *Service) getGatewayResponse(ctx context.Context, req *request) (int, any, error) {
	rd := s.reader(ctx)
	api, t := req.params["restApiId"], req.params["responseType"]
	if _, err := s.loadAPI(rd, api); err != nil {
		return 0, nil, err
	}
	if err := validateResponseType(t); err != nil {
		return 0, nil, err
	}
	g, err := s.gatewayResponse(rd, api, t)
	if err != nil {
		return 0, nil, internalErr("get gateway response", err)
	}
	return http.StatusOK, gatewayResponseOut(g), nil
}

// getGatewayResponses lists every response type: the user's where put, AWS's
// default (defaultResponse true) elsewhere.
func (s *Service) getGatewayResponses(ctx context.Context, req *request) (int, any, error) {
	rd := s.reader(ctx)
	api := req.params["restApiId"]
	if _, err := s.loadAPI(rd, api); err != nil {
		return 0, nil, err
	}
	custom, err := store.ListRecords[model.GatewayResponse](rd, gatewayRespsPrefix(api))
	if err != nil {
		return 0, nil, internalErr("list gateway responses", err)
	}
	byType := map[string]*model.GatewayResponse{}
	for _, g := range custom {
		byType[g.ResponseType] = g
	}
	all := make([]gatewayResponseOutput, 0, len(model.DefaultGatewayResponses))
	for t := range model.DefaultGatewayResponses {
		g := byType[t]
		if g == nil {
			g = defaultGatewayResponse(t)
		}
		all = append(all, gatewayResponseOut(g))
	}
	sort.Slice(all, func(i, j int) bool { return all[i].ResponseType < all[j].ResponseType })
	p, err := paginate(req, all, func(g gatewayResponseOutput) string { return g.ResponseType })
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, p, nil
}

// deleteGatewayResponse resets a type to AWS's default; a type never put answers
// NotFoundException "Gateway response type not defined on api" as AWS does.
func (s *Service) deleteGatewayResponse(ctx context.Context, req *request) (int, any, error) {
	api, t := req.params["restApiId"], req.params["responseType"]
	err := s.store.Update(ctx, func(tx store.Tx) error {
		if _, err := s.loadAPI(tx, api); err != nil {
			return err
		}
		if err := validateResponseType(t); err != nil {
			return err
		}
		if _, ok, err := store.GetRecord[model.GatewayResponse](tx, gatewayRespKey(api, t)); err != nil {
			return err
		} else if !ok {
			return notFound("Gateway response type not defined on api")
		}
		return deleteRecord(tx, gatewayRespKey(api, t))
	})
	if err != nil {
		return 0, nil, internalErr("delete gateway response", err)
	}
	return http.StatusAccepted, nil, nil
}

// updateGatewayResponse: /statusCode (replace), /responseParameters/{name},
// /responseTemplates/{contentType} (add, replace, remove). Updating a default
// response makes it the user's.
func (s *Service) updateGatewayResponse(ctx context.Context, req *request) (int, any, error) {
	ops, err := decodePatch(req, "updateGatewayResponseInput")
	if err != nil {
		return 0, nil, err
	}
	api, t := req.params["restApiId"], req.params["responseType"]
	var out *model.GatewayResponse
	err = s.store.Update(ctx, func(tx store.Tx) error {
		if _, err := s.loadAPI(tx, api); err != nil {
			return err
		}
		if err := validateResponseType(t); err != nil {
			return err
		}
		g, err := s.gatewayResponse(tx, api, t)
		if err != nil {
			return err
		}
		g.DefaultResponse = false
		for _, op := range ops {
			p := op.path()
			parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
			switch {
			case p == "/statusCode":
				if op.Op != "replace" {
					return errInvalidPatchPath(p)
				}
				if err := validateStatusCode(op.value()); err != nil {
					return err
				}
				g.StatusCode = op.value()
			case len(parts) == 2 && parts[1] != "" && parts[0] == "responseParameters":
				if err := patchStringMap(&g.ResponseParameters, unescapePointer(parts[1]), op); err != nil {
					return err
				}
			case len(parts) == 2 && parts[1] != "" && parts[0] == "responseTemplates":
				if err := patchStringMap(&g.ResponseTemplates, unescapePointer(parts[1]), op); err != nil {
					return err
				}
			default:
				return errInvalidPatchPath(p)
			}
		}
		if err := validateGatewayResponseParams(g.ResponseParameters); err != nil {
			return err
		}
		out = g
		return store.PutRecord(tx, gatewayRespKey(api, t), g)
	})
	if err != nil {
		return 0, nil, internalErr("update gateway response", err)
	}
	return http.StatusOK, gatewayResponseOut(out), nil
}
