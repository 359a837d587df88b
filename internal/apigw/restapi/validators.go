package restapi

import (
	"context"
	"net/http"
	"sort"

	"github.com/sluice-dev/sluice/internal/apigw/model"
	"github.com/sluice-dev/sluice/internal/awsproto"
	"github.com/sluice-dev/sluice/internal/store"
)

func notFound(format string, args ...any) error {
	return awsproto.NotFound("NotFoundException", format, args...)
}

// Request validators.

type createValidatorInput struct {
	Name                      string `json:"name"`
	ValidateRequestBody       bool   `json:"validateRequestBody"`
	ValidateRequestParameters bool   `json:"validateRequestParameters"`
}

func (s *Service) createRequestValidator(ctx context.Context, req *request) (int, any, error) {
	var in createValidatorInput
	if err := req.decode(&in); err != nil {
		return 0, nil, err
	}
	api := req.params["restApiId"]
	v := &model.RequestValidator{ID: awsproto.NewID(6), Name: in.Name,
		ValidateRequestBody: in.ValidateRequestBody, ValidateRequestParameters: in.ValidateRequestParameters}
	err := s.store.Update(ctx, func(tx store.Tx) error {
		if _, err := s.loadAPI(tx, api); err != nil {
			return err
		}
		return store.PutRecord(tx, validatorKey(api, v.ID), v)
	})
	if err != nil {
		return 0, nil, internalErr("create request validator", err)
	}
	return http.StatusCreated, v, nil
}

// loadValidator reports a missing API as a missing validator, as AWS does.
func loadValidator(rd reader, api, id string) (*model.RequestValidator, error) {
	if !safeID(api) || !safeID(id) {
		return nil, errValidatorNotFound
	}
	v, ok, err := store.GetRecord[model.RequestValidator](rd, validatorKey(api, id))
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errValidatorNotFound
	}
	return v, nil
}

func (s *Service) getRequestValidator(ctx context.Context, req *request) (int, any, error) {
	v, err := loadValidator(s.reader(ctx), req.params["restApiId"], req.params["requestValidatorId"])
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, v, nil
}

func (s *Service) getRequestValidators(ctx context.Context, req *request) (int, any, error) {
	rd := s.reader(ctx)
	api := req.params["restApiId"]
	if _, err := s.loadAPI(rd, api); err != nil {
		return 0, nil, err
	}
	vs, err := store.ListRecords[model.RequestValidator](rd, validatorsPrefix(api))
	if err != nil {
		return 0, nil, internalErr("list request validators", err)
	}
	sort.Slice(vs, func(i, j int) bool { return vs[i].ID < vs[j].ID })
	p, err := paginate(req, vs, func(v *model.RequestValidator) string { return v.ID })
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, p, nil
}

func (s *Service) updateRequestValidator(ctx context.Context, req *request) (int, any, error) {
	ops, err := decodePatch(req, "updateRequestValidatorInput")
	if err != nil {
		return 0, nil, err
	}
	api, id := req.params["restApiId"], req.params["requestValidatorId"]
	var out *model.RequestValidator
	err = s.store.Update(ctx, func(tx store.Tx) error {
		v, err := loadValidator(tx, api, id)
		if err != nil {
			return err
		}
		for _, op := range ops {
			p := op.path()
			if p != "/name" && p != "/validateRequestParameters" && p != "/validateRequestBody" {
				return errPathNotOneOf(op, "/name, /validateRequestParameters, /validateRequestBody")
			}
			if op.Op != "replace" {
				return errUnsupportedOp(op)
			}
			switch p {
			case "/name":
				if op.value() == "" {
					return badRequest("Request Validator name cannot be blank")
				}
				v.Name = op.value()
			case "/validateRequestParameters":
				v.ValidateRequestParameters = parseBool(op.value())
			case "/validateRequestBody":
				v.ValidateRequestBody = parseBool(op.value())
			}
		}
		out = v
		return store.PutRecord(tx, validatorKey(api, id), v)
	})
	if err != nil {
		return 0, nil, internalErr("update request validator", err)
	}
	return http.StatusOK, out, nil
}

func (s *Service) deleteRequestValidator(ctx context.Context, req *request) (int, any, error) {
	api, id := req.params["restApiId"], req.params["requestValidatorId"]
	err := s.store.Update(ctx, func(tx store.Tx) error {
		if _, err := loadValidator(tx, api, id); err != nil {
			return err
		}
		return deleteRecord(tx, validatorKey(api, id))
	})
	if err != nil {
		return 0, nil, internalErr("delete request validator", err)
	}
	return http.StatusAccepted, nil, nil
}
