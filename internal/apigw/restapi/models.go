package restapi

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"sort"

	"github.com/sluice-dev/sluice/internal/apigw/model"
	"github.com/sluice-dev/sluice/internal/awsproto"
	"github.com/sluice-dev/sluice/internal/store"
)

var modelNameRE = regexp.MustCompile(`^[a-zA-Z0-9]+$`)

type createModelInput struct {
	Name        *string `json:"name"`
	Description string  `json:"description"`
	Schema      string  `json:"schema"`
	ContentType *string `json:"contentType"`
}

// validateSchema applies AWS's check that a model schema describes something
// (AWS: "Model schema must have at least 1 property or array items defined"): it
// must be a JSON object. The default Empty model ({"type":"object"}) is accepted.
func validateSchema(schema string) error {
	var doc map[string]any
	if schema == "" || json.Unmarshal([]byte(schema), &doc) != nil || len(doc) == 0 {
		return badRequest("Model schema must have at least 1 property or array items defined")
	}
	return nil
}

func (s *Service) createModel(ctx context.Context, req *request) (int, any, error) {
	var in createModelInput
	if err := req.decode(&in); err != nil {
		return 0, nil, err
	}
	api := req.params["restApiId"]
	if in.ContentType == nil {
		return 0, nil, validationError("Value null at 'createModelInput.contentType' failed to satisfy constraint: Member must not be null")
	}
	m := &model.Model{ID: awsproto.NewID(6), Description: in.Description, Schema: in.Schema, ContentType: *in.ContentType}
	if in.Name != nil {
		m.Name = *in.Name
	}
	err := s.store.Update(ctx, func(tx store.Tx) error {
		if _, err := s.loadAPI(tx, api); err != nil {
			return err
		}
		if m.Name == "" {
			return badRequest("Model name must be non-empty")
		}
		if !modelNameRE.MatchString(m.Name) {
			return badRequest("Model name must be alphanumeric: %s", m.Name)
		}
		if _, found, err := store.GetRecord[model.Model](tx, modelKey(api, m.Name)); err != nil {
			return err
		} else if found {
			return conflict("Model name already exists for this REST API")
		}
		if err := validateSchema(m.Schema); err != nil {
			return err
		}
		return store.PutRecord(tx, modelKey(api, m.Name), m)
	})
	if err != nil {
		return 0, nil, internalErr("create model", err)
	}
	return http.StatusCreated, m, nil
}

func loadModel(rd reader, api, name string) (*model.Model, error) {
	errMissing := notFound("Invalid model name specified: %s", name)
	if !safeID(api) || !modelNameRE.MatchString(name) {
		return nil, errMissing
	}
	m, ok, err := store.GetRecord[model.Model](rd, modelKey(api, name))
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errMissing
	}
	return m, nil
}

func (s *Service) getModel(ctx context.Context, req *request) (int, any, error) {
	m, err := loadModel(s.reader(ctx), req.params["restApiId"], req.params["modelName"])
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, m, nil
}

func (s *Service) getModels(ctx context.Context, req *request) (int, any, error) {
	rd := s.reader(ctx)
	api := req.params["restApiId"]
	if _, err := s.loadAPI(rd, api); err != nil {
		return 0, nil, err
	}
	ms, err := store.ListRecords[model.Model](rd, modelsPrefix(api))
	if err != nil {
		return 0, nil, internalErr("list models", err)
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Name < ms[j].Name })
	p, err := paginate(req, ms, func(m *model.Model) string { return m.Name })
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, p, nil
}

func (s *Service) updateModel(ctx context.Context, req *request) (int, any, error) {
	ops, err := decodePatch(req, "updateModelInput")
	if err != nil {
		return 0, nil, err
	}
	api, name := req.params["restApiId"], req.params["modelName"]
	var out *model.Model
	err = s.store.Update(ctx, func(tx store.Tx) error {
		m, err := loadModel(tx, api, name)
		if err != nil {
			return err
		}
		for _, op := range ops {
			if op.Op != "replace" {
				return errUnsupportedOp(op)
			}
			switch op.path() {
			case "/description":
				m.Description = op.value()
			case "/schema":
				if err := validateSchema(op.value()); err != nil {
					return err
				}
				m.Schema = op.value()
			default:
				return errPathNotOneOf(op, "/description, /schema")
			}
		}
		out = m
		return store.PutRecord(tx, modelKey(api, name), m)
	})
	if err != nil {
		return 0, nil, internalErr("update model", err)
	}
	return http.StatusOK, out, nil
}

// deleteModel refuses to delete a model a method request uses, with AWS's
// message: "Cannot delete model 'X', is referenced in method request: /path/VERB".
func (s *Service) deleteModel(ctx context.Context, req *request) (int, any, error) {
	api, name := req.params["restApiId"], req.params["modelName"]
	err := s.store.Update(ctx, func(tx store.Tx) error {
		if _, err := loadModel(tx, api, name); err != nil {
			return err
		}
		resources, err := store.ListRecords[model.Resource](tx, resourcesPrefix(api))
		if err != nil {
			return err
		}
		sort.Slice(resources, func(i, j int) bool { return resources[i].Path < resources[j].Path })
		for _, r := range resources {
			verbs := make([]string, 0, len(r.ResourceMethods))
			for v := range r.ResourceMethods {
				verbs = append(verbs, v)
			}
			sort.Strings(verbs)
			for _, v := range verbs {
				for _, used := range r.ResourceMethods[v].RequestModels {
					if used == name {
						return conflict("Cannot delete model '%s', is referenced in method request: %s/%s", name, r.Path, v)
					}
				}
			}
		}
		return deleteRecord(tx, modelKey(api, name))
	})
	if err != nil {
		return 0, nil, internalErr("delete model", err)
	}
	return http.StatusAccepted, nil, nil
}
