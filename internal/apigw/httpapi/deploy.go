package httpapi

import (
	"fmt"
	"sort"
	"time"

	"github.com/sluice-dev/sluice/internal/apigw/model"
	"github.com/sluice-dev/sluice/internal/store"
)

// A deployment freezes the API as it is now: its api record (CORS lives there),
// routes, integrations and authorizers are copied into a model.HTTPSnapshot stored
// next to the Deployment2 record, in the transaction that makes the deployment.
// Stages serve their deployment's snapshot, never the live records, so edits
// reach clients only through a new deployment.
//
// Auto-deploy: AWS redeploys every stage with autoDeploy=true whenever the API
// changes. Sluice does so inside the same transaction as the change, so a stage can
// never be observed pointing at a deployment that misses a committed change.

// autoDeploy makes a fresh deployment for every auto-deploy stage of the API.
func (s *Service) autoDeploy(tx store.Tx, apiID string, now time.Time) error {
	stages, err := store.ListRecords[model.Stage2](tx, apiChild(model.HTTPStagePrefix, apiID))
	if err != nil {
		return err
	}
	for _, st := range stages {
		if !st.AutoDeploy {
			continue
		}
		if err := s.deployToStage(tx, apiID, st, now, true, ""); err != nil {
			return fmt.Errorf("auto-deploy stage %q of API %s: %w", st.StageName, apiID, err)
		}
	}
	return nil
}

// deployToStage makes a deployment of the API and points stage (written back) at it.
func (s *Service) deployToStage(tx store.Tx, apiID string, stage *model.Stage2, now time.Time, auto bool, description string) error {
	dep, err := s.newDeployment(tx, apiID, now, auto, description)
	if err != nil {
		return err
	}
	stage.DeploymentID = dep.DeploymentID
	stage.LastUpdatedDate = now
	if stage.AutoDeploy {
		// AWS reports this for auto-deploy stages only.
		stage.LastDeploymentStatusMessage = fmt.Sprintf("Successfully deployed stage with deployment ID '%s'", dep.DeploymentID)
	}
	s.log.Debug("deployed HTTP API stage", "apiId", apiID, "stage", stage.StageName, "deploymentId", dep.DeploymentID, "auto", auto)
	return store.PutRecord(tx, model.Key(model.HTTPStagePrefix, apiID, stage.StageName), stage)
}

// autoDeployDescription is the description API Gateway gives the deployments it
// makes for auto-deploy stages, as GetDeployments shows them (AWS CLI reference,
// apigatewayv2 get-deployments example).
const autoDeployDescription = "Automatic deployment triggered by changes to the Api configuration"

// newDeployment writes a Deployment2 record and its snapshot.
func (s *Service) newDeployment(tx store.Tx, apiID string, now time.Time, auto bool, description string) (*model.Deployment2, error) {
	if auto && description == "" {
		description = autoDeployDescription
	}
	snap, err := s.buildSnapshot(tx, apiID)
	if err != nil {
		return nil, err
	}
	id, err := newID(tx, apiChild(model.HTTPDeploymentPrefix, apiID), 7)
	if err != nil {
		return nil, err
	}
	dep := &model.Deployment2{
		AutoDeployed:     auto,
		CreatedDate:      now,
		DeploymentID:     id,
		DeploymentStatus: "DEPLOYED",
		Description:      description,
	}
	if err := store.PutRecord(tx, model.Key(model.HTTPSnapshotPrefix, apiID, id), snap); err != nil {
		return nil, err
	}
	if err := store.PutRecord(tx, model.Key(model.HTTPDeploymentPrefix, apiID, id), dep); err != nil {
		return nil, err
	}
	return dep, nil
}

// buildSnapshot copies the API's live definitions. Records are re-read from tx, so
// the snapshot includes the transaction's own writes.
func (s *Service) buildSnapshot(tx store.Tx, apiID string) (*model.HTTPSnapshot, error) {
	api, err := s.loadAPI(tx, apiID)
	if err != nil {
		return nil, err
	}
	api.APIEndpoint = s.endpoint(apiID)
	routes, err := store.ListRecords[model.Route](tx, apiChild(model.HTTPRoutePrefix, apiID))
	if err != nil {
		return nil, err
	}
	sort.Slice(routes, func(i, j int) bool { return routes[i].RouteKey < routes[j].RouteKey })
	integs, err := store.ListRecords[model.Integration2](tx, apiChild(model.HTTPIntegrationPrefix, apiID))
	if err != nil {
		return nil, err
	}
	auths, err := store.ListRecords[model.Authorizer2](tx, apiChild(model.HTTPAuthorizerPrefix, apiID))
	if err != nil {
		return nil, err
	}
	snap := &model.HTTPSnapshot{
		API:          *api,
		Routes:       routes,
		Integrations: make(map[string]*model.Integration2, len(integs)),
	}
	for _, in := range integs {
		snap.Integrations[in.IntegrationID] = in
	}
	if len(auths) > 0 {
		snap.Authorizers = make(map[string]*model.Authorizer2, len(auths))
		for _, a := range auths {
			snap.Authorizers[a.AuthorizerID] = a
		}
	}
	return snap, nil
}
