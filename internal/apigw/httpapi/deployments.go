package httpapi

import (
	"context"
	"net/http"
	"strings"

	"github.com/sluice-dev/sluice/internal/apigw/model"
	"github.com/sluice-dev/sluice/internal/store"
)

type deploymentInput struct {
	Description *string `json:"description"`
	StageName   *string `json:"stageName"`
}

func (s *Service) createDeployment(ctx context.Context, req *request) (int, any, error) {
	var in deploymentInput
	if err := decode(req, &in); err != nil {
		return 0, nil, err
	}
	description := ""
	if in.Description != nil {
		if len(*in.Description) > 1024 {
			return 0, nil, badRequest("Invalid description specified: must be at most 1024 characters")
		}
		description = *in.Description
	}
	apiID := req.params["apiId"]
	var dep *model.Deployment2
	err := s.store.Update(ctx, func(tx store.Tx) error {
		if _, err := s.loadAPI(tx, apiID); err != nil {
			return err
		}
		routes, err := tx.List(apiChild(model.HTTPRoutePrefix, apiID))
		if err != nil {
			return err
		}
		if len(routes) == 0 {
			// AWS refuses to deploy an API without routes.
			return badRequest("Unable to deploy API because no routes exist in this API")
		}
		var stage *model.Stage2
		if in.StageName != nil && *in.StageName != "" {
			if stage, err = loadStage(tx, apiID, *in.StageName); err != nil {
				return err
			}
		}
		now := s.timestamp()
		if dep, err = s.newDeployment(tx, apiID, now, false, description); err != nil {
			return err
		}
		if stage == nil {
			return nil
		}
		stage.DeploymentID = dep.DeploymentID
		stage.LastUpdatedDate = now
		return store.PutRecord(tx, model.Key(model.HTTPStagePrefix, apiID, stage.StageName), stage)
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, dep, nil
}

func (s *Service) getDeployment(ctx context.Context, req *request) (int, any, error) {
	r := s.reader(ctx)
	apiID := req.params["apiId"]
	if _, err := s.loadAPI(r, apiID); err != nil {
		return 0, nil, err
	}
	dep, err := loadDeployment(r, apiID, req.params["deploymentId"])
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, dep, nil
}

func (s *Service) getDeployments(ctx context.Context, req *request) (int, any, error) {
	r := s.reader(ctx)
	apiID := req.params["apiId"]
	if _, err := s.loadAPI(r, apiID); err != nil {
		return 0, nil, err
	}
	deps, err := store.ListRecords[model.Deployment2](r, apiChild(model.HTTPDeploymentPrefix, apiID))
	if err != nil {
		return 0, nil, err
	}
	p, err := paginate(req, deps, func(d *model.Deployment2) string { return d.DeploymentID })
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, p, nil
}

func (s *Service) updateDeployment(ctx context.Context, req *request) (int, any, error) {
	var in deploymentInput
	if err := decode(req, &in); err != nil {
		return 0, nil, err
	}
	apiID, depID := req.params["apiId"], req.params["deploymentId"]
	var out *model.Deployment2
	err := s.store.Update(ctx, func(tx store.Tx) error {
		if _, err := s.loadAPI(tx, apiID); err != nil {
			return err
		}
		dep, err := loadDeployment(tx, apiID, depID)
		if err != nil {
			return err
		}
		if in.Description != nil {
			if len(*in.Description) > 1024 {
				return badRequest("Invalid description specified: must be at most 1024 characters")
			}
			dep.Description = *in.Description
		}
		out = dep
		return store.PutRecord(tx, model.Key(model.HTTPDeploymentPrefix, apiID, depID), dep)
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, out, nil
}

func (s *Service) deleteDeployment(ctx context.Context, req *request) (int, any, error) {
	apiID, depID := req.params["apiId"], req.params["deploymentId"]
	err := s.store.Update(ctx, func(tx store.Tx) error {
		if _, err := s.loadAPI(tx, apiID); err != nil {
			return err
		}
		if _, err := loadDeployment(tx, apiID, depID); err != nil {
			return err
		}
		stages, err := store.ListRecords[model.Stage2](tx, apiChild(model.HTTPStagePrefix, apiID))
		if err != nil {
			return err
		}
		var using []string
		for _, st := range stages {
			if st.DeploymentID == depID {
				using = append(using, st.StageName)
			}
		}
		if len(using) > 0 {
			// A stage must never point at a deployment whose snapshot is gone;
			// API Gateway refuses this too.
			return badRequest("Active stages pointing to this deployment must be moved or deleted: %s", strings.Join(using, ", "))
		}
		if err := tx.Delete(model.Key(model.HTTPSnapshotPrefix, apiID, depID)); err != nil {
			return err
		}
		return tx.Delete(model.Key(model.HTTPDeploymentPrefix, apiID, depID))
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}
