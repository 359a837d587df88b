// Package compiletest holds test fixtures for the API Gateway data plane: helpers
// that write API Gateway records the way the control planes store them (API, stage,
// deployment snapshot) into any store.Store, usually the in-memory memstore, so
// compiler and gateway tests do not depend on the control planes.
package compiletest

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/sluice-dev/sluice/internal/apigw/model"
	"github.com/sluice-dev/sluice/internal/store"
)

// Put writes v as JSON under key.
func Put(t testing.TB, st store.Store, key string, v any) {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal %s: %v", key, err)
	}
	if err := st.Update(context.Background(), func(tx store.Tx) error { return tx.Put(key, raw) }); err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
}

// Delete removes key.
func Delete(t testing.TB, st store.Store, key string) {
	t.Helper()
	if err := st.Update(context.Background(), func(tx store.Tx) error { return tx.Delete(key) }); err != nil {
		t.Fatalf("delete %s: %v", key, err)
	}
}

// RestDeploy writes a REST API, a deployment snapshot of it with the given resources,
// and the stage pointing at that deployment (the records a control plane writes for
// create-rest-api … create-deployment --stage-name).
func RestDeploy(t testing.TB, st store.Store, snap model.RestSnapshot, deploymentID string, stage model.Stage) {
	t.Helper()
	id := snap.API.ID
	Put(t, st, model.Key(model.RestAPIPrefix, id), snap.API)
	Put(t, st, model.Key(model.RestDeploymentPrefix, id, deploymentID), model.Deployment{ID: deploymentID})
	Put(t, st, model.Key(model.RestSnapshotPrefix, id, deploymentID), snap)
	stage.DeploymentID = deploymentID
	Put(t, st, model.Key(model.RestStagePrefix, id, stage.StageName), stage)
}

// HTTPDeploy writes an HTTP API, a deployment snapshot and the stage pointing at it.
func HTTPDeploy(t testing.TB, st store.Store, snap model.HTTPSnapshot, deploymentID string, stage model.Stage2) {
	t.Helper()
	id := snap.API.APIID
	Put(t, st, model.Key(model.HTTPAPIPrefix, id), snap.API)
	Put(t, st, model.Key(model.HTTPDeploymentPrefix, id, deploymentID), model.Deployment2{DeploymentID: deploymentID, DeploymentStatus: "DEPLOYED"})
	Put(t, st, model.Key(model.HTTPSnapshotPrefix, id, deploymentID), snap)
	stage.DeploymentID = deploymentID
	Put(t, st, model.Key(model.HTTPStagePrefix, id, stage.StageName), stage)
}

// Resource builds a REST resource with one method per (verb, integration) pair.
func Resource(id, path string, methods map[string]*model.Integration) *model.Resource {
	r := &model.Resource{ID: id, Path: path, ResourceMethods: map[string]*model.Method{}}
	if i := strings.LastIndex(path, "/"); i >= 0 {
		r.PathPart = path[i+1:]
	}
	for verb, in := range methods {
		r.ResourceMethods[verb] = &model.Method{HTTPMethod: verb, AuthorizationType: "NONE", MethodIntegration: in}
	}
	return r
}

// LambdaURI is the apigateway integration URI of a function ARN.
func LambdaURI(region, functionARN string) string {
	return "arn:aws:apigateway:" + region + ":lambda:path/2015-03-31/functions/" + functionARN + "/invocations"
}
