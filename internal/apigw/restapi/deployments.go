package restapi

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"sort"
	"time"

	"github.com/sluice-dev/sluice/internal/apigw/model"
	"github.com/sluice-dev/sluice/internal/awsproto"
	"github.com/sluice-dev/sluice/internal/store"
)

type createDeploymentInput struct {
	StageName           string            `json:"stageName"`
	StageDescription    string            `json:"stageDescription"`
	Description         string            `json:"description"`
	CacheClusterEnabled *bool             `json:"cacheClusterEnabled"`
	CacheClusterSize    string            `json:"cacheClusterSize"`
	Variables           map[string]string `json:"variables"`
	TracingEnabled      *bool             `json:"tracingEnabled"`
	CanarySettings      json.RawMessage   `json:"canarySettings"`
}

// errCanaryUnsupported refuses canary releases rather than silently dropping them.
var errCanaryUnsupported = awsproto.Errorf(http.StatusNotImplemented, "NotImplementedException",
	"Canary settings are not implemented in Sluice yet")

// methodSummary is one entry of a deployment's apiSummary (GetDeployment with
// ?embed=apisummary): path → method → how the method is protected.
type methodSummary struct {
	AuthorizationType string `json:"authorizationType"`
	APIKeyRequired    bool   `json:"apiKeyRequired"`
}

type deploymentOutput struct {
	*model.Deployment
	APISummary map[string]map[string]methodSummary `json:"apiSummary,omitempty"`
}

// createDeployment freezes the API's live definitions: in ONE transaction it writes
// the Deployment record, the RestSnapshot the data plane will serve, and (with
// stageName) creates or repoints that stage. Later edits to the API change the live
// records only, never a snapshot.
func (s *Service) createDeployment(ctx context.Context, req *request) (int, any, error) {
	var in createDeploymentInput
	if err := req.decode(&in); err != nil {
		return 0, nil, err
	}
	if len(in.CanarySettings) > 0 && string(in.CanarySettings) != "null" {
		return 0, nil, errCanaryUnsupported
	}
	if in.StageName != "" {
		if err := validateStageName(in.StageName); err != nil {
			return 0, nil, err
		}
	}
	if err := validateVariables(in.Variables); err != nil {
		return 0, nil, err
	}
	api := req.params["restApiId"]
	now := time.Now()
	dep := &model.Deployment{ID: awsproto.NewID(6), Description: in.Description, CreatedDate: model.EpochTime(now)}
	err := s.store.Update(ctx, func(tx store.Tx) error {
		snap, err := s.buildSnapshot(tx, api)
		if err != nil {
			return err
		}
		if err := store.PutRecord(tx, deploymentKey(api, dep.ID), dep); err != nil {
			return err
		}
		if err := store.PutRecord(tx, snapshotKey(api, dep.ID), snap); err != nil {
			return err
		}
		if in.StageName == "" {
			return nil
		}
		st, found, err := store.GetRecord[model.Stage](tx, stageKey(api, in.StageName))
		if err != nil {
			return err
		}
		if !found {
			st = newStage(in.StageName, now)
			st.Description = in.StageDescription
		}
		st.DeploymentID = dep.ID
		st.LastUpdatedDate = model.EpochTime(now)
		for k, v := range in.Variables {
			if st.Variables == nil {
				st.Variables = map[string]string{}
			}
			st.Variables[k] = v
		}
		if in.CacheClusterEnabled != nil {
			st.CacheClusterEnabled = *in.CacheClusterEnabled
		}
		if in.CacheClusterSize != "" {
			st.CacheClusterSize = in.CacheClusterSize
		}
		if in.TracingEnabled != nil {
			st.TracingEnabled = *in.TracingEnabled
		}
		return store.PutRecord(tx, stageKey(api, in.StageName), st)
	})
	if err != nil {
		return 0, nil, internalErr("create deployment", err)
	}
	s.log.Info("rest api deployed", "apiId", api, "deploymentId", dep.ID, "stage", in.StageName)
	return http.StatusCreated, dep, nil
}

// buildSnapshot copies every live definition of the API, checking what AWS checks
// before deploying: at least one method, and an integration on every method.
func (s *Service) buildSnapshot(rd reader, api string) (*model.RestSnapshot, error) {
	a, err := s.loadAPI(rd, api)
	if err != nil {
		return nil, err
	}
	// A PRIVATE API is reachable only as its resource policy allows, so API
	// Gateway refuses to deploy one without a policy (the words users see in
	// Terraform's and SAM's issue trackers).
	if a.EndpointConfiguration != nil && slices.Contains(a.EndpointConfiguration.Types, "PRIVATE") && a.Policy == "" {
		return nil, badRequest("Private REST API doesn't have a resource policy attached to it")
	}
	resources, err := store.ListRecords[model.Resource](rd, resourcesPrefix(api))
	if err != nil {
		return nil, err
	}
	sort.Slice(resources, func(i, j int) bool { return resources[i].Path < resources[j].Path })
	methods := 0
	for _, r := range resources {
		for _, m := range r.ResourceMethods {
			methods++
			if m.MethodIntegration == nil {
				return nil, badRequest("No integration defined for method")
			}
			normalizeMethod(m)
		}
	}
	if methods == 0 {
		return nil, badRequest("The REST API doesn't contain any methods")
	}
	snap := &model.RestSnapshot{API: *a, Resources: resources}
	grs, err := store.ListRecords[model.GatewayResponse](rd, gatewayRespsPrefix(api))
	if err != nil {
		return nil, err
	}
	for _, g := range grs {
		if snap.GatewayResponses == nil {
			snap.GatewayResponses = map[string]*model.GatewayResponse{}
		}
		snap.GatewayResponses[g.ResponseType] = g
	}
	vals, err := store.ListRecords[model.RequestValidator](rd, validatorsPrefix(api))
	if err != nil {
		return nil, err
	}
	for _, v := range vals {
		if snap.RequestValidators == nil {
			snap.RequestValidators = map[string]*model.RequestValidator{}
		}
		snap.RequestValidators[v.ID] = v
	}
	auths, err := store.ListRecords[model.Authorizer](rd, authorizersPrefix(api))
	if err != nil {
		return nil, err
	}
	for _, au := range auths {
		if snap.Authorizers == nil {
			snap.Authorizers = map[string]*model.Authorizer{}
		}
		snap.Authorizers[au.ID] = au
	}
	models, err := store.ListRecords[model.Model](rd, modelsPrefix(api))
	if err != nil {
		return nil, err
	}
	for _, m := range models {
		if snap.Models == nil {
			snap.Models = map[string]*model.Model{}
		}
		snap.Models[m.Name] = m
	}
	return snap, nil
}

func (s *Service) loadDeployment(rd reader, api, id string) (*model.Deployment, error) {
	if _, err := s.loadAPI(rd, api); err != nil {
		return nil, err
	}
	if !safeID(id) {
		return nil, errDeploymentNotFound
	}
	d, ok, err := store.GetRecord[model.Deployment](rd, deploymentKey(api, id))
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errDeploymentNotFound
	}
	return d, nil
}

func (s *Service) getDeployment(ctx context.Context, req *request) (int, any, error) {
	rd := s.reader(ctx)
	api, id := req.params["restApiId"], req.params["deploymentId"]
	d, err := s.loadDeployment(rd, api, id)
	if err != nil {
		return 0, nil, err
	}
	out := deploymentOutput{Deployment: d}
	if embedsAPISummary(req) {
		snap, ok, err := store.GetRecord[model.RestSnapshot](rd, snapshotKey(api, id))
		if err != nil {
			return 0, nil, internalErr("get deployment", err)
		}
		if ok {
			out.APISummary = apiSummary(snap)
		}
	}
	return http.StatusOK, out, nil
}

func embedsAPISummary(req *request) bool {
	for _, e := range req.query["embed"] {
		if e == "apisummary" {
			return true
		}
	}
	return false
}

func apiSummary(snap *model.RestSnapshot) map[string]map[string]methodSummary {
	out := map[string]map[string]methodSummary{}
	for _, r := range snap.Resources {
		for verb, m := range r.ResourceMethods {
			if out[r.Path] == nil {
				out[r.Path] = map[string]methodSummary{}
			}
			out[r.Path][verb] = methodSummary{AuthorizationType: m.AuthorizationType, APIKeyRequired: m.APIKeyRequired}
		}
	}
	return out
}

func (s *Service) getDeployments(ctx context.Context, req *request) (int, any, error) {
	rd := s.reader(ctx)
	api := req.params["restApiId"]
	if _, err := s.loadAPI(rd, api); err != nil {
		return 0, nil, err
	}
	deps, err := store.ListRecords[model.Deployment](rd, deploymentsPrefix(api))
	if err != nil {
		return 0, nil, internalErr("list deployments", err)
	}
	sort.Slice(deps, func(i, j int) bool { return deps[i].ID < deps[j].ID })
	p, err := paginate(req, deps, func(d *model.Deployment) string { return d.ID })
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, p, nil
}

func (s *Service) updateDeployment(ctx context.Context, req *request) (int, any, error) {
	ops, err := decodePatch(req, "updateDeploymentInput")
	if err != nil {
		return 0, nil, err
	}
	api, id := req.params["restApiId"], req.params["deploymentId"]
	var out *model.Deployment
	err = s.store.Update(ctx, func(tx store.Tx) error {
		d, err := s.loadDeployment(tx, api, id)
		if err != nil {
			return err
		}
		for _, op := range ops {
			if op.path() != "/description" {
				return errPathNotOneOf(op, "/description")
			}
			if op.Op != "replace" {
				return errUnsupportedOp(op)
			}
			d.Description = op.value()
		}
		out = d
		return store.PutRecord(tx, deploymentKey(api, id), d)
	})
	if err != nil {
		return 0, nil, internalErr("update deployment", err)
	}
	return http.StatusOK, out, nil
}

func (s *Service) deleteDeployment(ctx context.Context, req *request) (int, any, error) {
	api, id := req.params["restApiId"], req.params["deploymentId"]
	err := s.store.Update(ctx, func(tx store.Tx) error {
		if _, err := s.loadDeployment(tx, api, id); err != nil {
			return err
		}
		stages, err := store.ListRecords[model.Stage](tx, stagesPrefix(api))
		if err != nil {
			return err
		}
		for _, st := range stages {
			if st.DeploymentID == id {
				return badRequest("Active stages pointing to this deployment must be moved or deleted")
			}
		}
		if err := deleteRecord(tx, snapshotKey(api, id)); err != nil {
			return err
		}
		return deleteRecord(tx, deploymentKey(api, id))
	})
	if err != nil {
		return 0, nil, internalErr("delete deployment", err)
	}
	return http.StatusAccepted, nil, nil
}
