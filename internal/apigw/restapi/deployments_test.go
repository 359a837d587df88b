package restapi

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigateway/types"

	"github.com/sluice-dev/sluice/internal/apigw/model"
)

func (e *testEnv) snapshot(t *testing.T, api, dep string) *model.RestSnapshot {
	t.Helper()
	b, err := e.store.Get(context.Background(), model.Key(model.RestSnapshotPrefix, api, dep))
	mustNoErr(t, err)
	var snap model.RestSnapshot
	mustNoErr(t, json.Unmarshal(b, &snap))
	return &snap
}

func TestDeploymentSnapshotIsFrozen(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	api, root := e.createAPI(t, "blocks")
	r := e.createResource(t, api, root, "blocks")
	e.mockMethod(t, api, r, "GET")

	dep, err := e.client.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: aws.String(api), StageName: aws.String("prod"),
		StageDescription: aws.String("production"), Description: aws.String("first"), Variables: map[string]string{"fn": "blocks"}})
	mustNoErr(t, err)
	if len(*dep.Id) != 6 || aws.ToString(dep.Description) != "first" || dep.CreatedDate == nil {
		t.Fatalf("deployment %+v", dep)
	}
	stage, err := e.client.GetStage(ctx, &apigateway.GetStageInput{RestApiId: aws.String(api), StageName: aws.String("prod")})
	mustNoErr(t, err)
	if aws.ToString(stage.DeploymentId) != *dep.Id || aws.ToString(stage.Description) != "production" || stage.Variables["fn"] != "blocks" ||
		aws.ToString((*string)(&stage.CacheClusterStatus)) != "NOT_AVAILABLE" || stage.MethodSettings == nil {
		t.Errorf("stage %+v", stage)
	}

	before := e.snapshot(t, api, *dep.Id)
	if before.API.ID != api || len(before.Resources) != 2 || before.Models["Empty"] == nil {
		t.Fatalf("snapshot %+v", before)
	}
	var frozen *model.Method
	for _, res := range before.Resources {
		if res.ID == r {
			frozen = res.ResourceMethods["GET"]
		}
	}
	if frozen == nil || frozen.MethodIntegration == nil || frozen.MethodIntegration.Type != "MOCK" || frozen.APIKeyRequired {
		t.Fatalf("snapshot method %+v", frozen)
	}
	beforeJSON, _ := json.Marshal(before)

	// Editing the live API changes nothing in the deployed snapshot.
	_, err = e.client.UpdateMethod(ctx, &apigateway.UpdateMethodInput{RestApiId: aws.String(api), ResourceId: aws.String(r), HttpMethod: aws.String("GET"),
		PatchOperations: []types.PatchOperation{patch(types.OpReplace, "/apiKeyRequired", "true")}})
	mustNoErr(t, err)
	_, err = e.client.UpdateIntegration(ctx, &apigateway.UpdateIntegrationInput{RestApiId: aws.String(api), ResourceId: aws.String(r), HttpMethod: aws.String("GET"),
		PatchOperations: []types.PatchOperation{patch(types.OpReplace, "/timeoutInMillis", "1000")}})
	mustNoErr(t, err)
	e.createResource(t, api, root, "later")
	_, err = e.client.UpdateRestApi(ctx, &apigateway.UpdateRestApiInput{RestApiId: aws.String(api),
		PatchOperations: []types.PatchOperation{patch(types.OpReplace, "/name", "renamed")}})
	mustNoErr(t, err)
	afterJSON, _ := json.Marshal(e.snapshot(t, api, *dep.Id))
	if string(beforeJSON) != string(afterJSON) {
		t.Errorf("snapshot changed after live edits:\nbefore %s\nafter  %s", beforeJSON, afterJSON)
	}

	// A new deployment to the same stage freezes the new state and repoints the stage.
	dep2, err := e.client.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: aws.String(api), StageName: aws.String("prod")})
	mustNoErr(t, err)
	snap2 := e.snapshot(t, api, *dep2.Id)
	if snap2.API.Name != "renamed" || len(snap2.Resources) != 3 {
		t.Errorf("second snapshot %+v", snap2)
	}
	stage, err = e.client.GetStage(ctx, &apigateway.GetStageInput{RestApiId: aws.String(api), StageName: aws.String("prod")})
	mustNoErr(t, err)
	if aws.ToString(stage.DeploymentId) != *dep2.Id || aws.ToString(stage.Description) != "production" || stage.Variables["fn"] != "blocks" {
		t.Errorf("repointed stage %+v", stage)
	}

	// The API summary describes the deployed methods, not the live ones.
	got, err := e.client.GetDeployment(ctx, &apigateway.GetDeploymentInput{RestApiId: aws.String(api), DeploymentId: dep.Id, Embed: []string{"apisummary"}})
	mustNoErr(t, err)
	if s := got.ApiSummary["/blocks"]["GET"]; aws.ToString(s.AuthorizationType) != "NONE" || s.ApiKeyRequired {
		t.Errorf("apiSummary %+v", got.ApiSummary)
	}
	list, err := e.client.GetDeployments(ctx, &apigateway.GetDeploymentsInput{RestApiId: aws.String(api)})
	mustNoErr(t, err)
	if len(list.Items) != 2 {
		t.Errorf("deployments %d", len(list.Items))
	}

	// The first deployment is no longer used by a stage: it can go, with its snapshot.
	_, err = e.client.DeleteDeployment(ctx, &apigateway.DeleteDeploymentInput{RestApiId: aws.String(api), DeploymentId: dep2.Id})
	wantAPIError(t, err, "BadRequestException", 400, "Active stages pointing to this deployment must be moved or deleted")
	_, err = e.client.DeleteDeployment(ctx, &apigateway.DeleteDeploymentInput{RestApiId: aws.String(api), DeploymentId: dep.Id})
	mustNoErr(t, err)
	if keys := e.store.keys(model.Key(model.RestSnapshotPrefix, api, *dep.Id)); len(keys) != 0 {
		t.Errorf("snapshot left behind: %v", keys)
	}
	_, err = e.client.GetDeployment(ctx, &apigateway.GetDeploymentInput{RestApiId: aws.String(api), DeploymentId: dep.Id})
	wantAPIError(t, err, "NotFoundException", 404, "Invalid Deployment identifier specified")
}

func TestCreateDeploymentErrors(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	api, root := e.createAPI(t, "empty")
	_, err := e.client.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: aws.String(api), StageName: aws.String("prod")})
	wantAPIError(t, err, "BadRequestException", 400, "The REST API doesn't contain any methods")
	_, err = e.client.PutMethod(ctx, &apigateway.PutMethodInput{RestApiId: aws.String(api), ResourceId: aws.String(root),
		HttpMethod: aws.String("GET"), AuthorizationType: aws.String("NONE")})
	mustNoErr(t, err)
	_, err = e.client.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: aws.String(api)})
	wantAPIError(t, err, "BadRequestException", 400, "No integration defined for method")
	// Nothing was written by the failed deployments: no deployment, no stage.
	for _, prefix := range []string{model.RestDeploymentPrefix, model.RestSnapshotPrefix, model.RestStagePrefix} {
		if keys := e.store.keys(prefix); len(keys) != 0 {
			t.Errorf("failed deployment wrote %v", keys)
		}
	}
	_, err = e.client.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: aws.String("nope")})
	wantAPIError(t, err, "NotFoundException", 404, "Invalid API identifier specified 123456789012:nope")
	// Canary releases are refused, not silently dropped.
	_, err = e.client.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: aws.String(api), StageName: aws.String("prod"),
		CanarySettings: &types.DeploymentCanarySettings{PercentTraffic: 10}})
	wantAPIError(t, err, "NotImplementedException", 501, "Canary settings are not implemented in Sluice yet")
}

func TestStageLifecycle(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	api, root := e.createAPI(t, "stages")
	e.mockMethod(t, api, root, "GET")
	dep, err := e.client.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: aws.String(api)})
	mustNoErr(t, err)
	dep2, err := e.client.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: aws.String(api)})
	mustNoErr(t, err)

	st, err := e.client.CreateStage(ctx, &apigateway.CreateStageInput{RestApiId: aws.String(api), StageName: aws.String("dev"), DeploymentId: dep.Id,
		Description: aws.String("dev stage"), Variables: map[string]string{"host": "example.com"}, Tags: map[string]string{"env": "dev"}})
	mustNoErr(t, err)
	if aws.ToString(st.StageName) != "dev" || st.Variables["host"] != "example.com" || st.Tags["env"] != "dev" || st.CacheClusterStatus != "NOT_AVAILABLE" {
		t.Errorf("created stage %+v", st)
	}
	_, err = e.client.CreateStage(ctx, &apigateway.CreateStageInput{RestApiId: aws.String(api), StageName: aws.String("dev"), DeploymentId: dep.Id})
	wantAPIError(t, err, "ConflictException", 409, "Stage already exists")
	_, err = e.client.CreateStage(ctx, &apigateway.CreateStageInput{RestApiId: aws.String(api), StageName: aws.String("qa"), DeploymentId: aws.String("nope00")})
	wantAPIError(t, err, "BadRequestException", 400, "Deployment id does not exist")
	_, err = e.client.CreateStage(ctx, &apigateway.CreateStageInput{RestApiId: aws.String(api), StageName: aws.String("bad name"), DeploymentId: dep.Id})
	wantAPIError(t, err, "BadRequestException", 400, "Stage name only allows a-zA-Z0-9_-")
	_, err = e.client.CreateStage(ctx, &apigateway.CreateStageInput{RestApiId: aws.String(api), StageName: aws.String("v1"), DeploymentId: dep2.Id})
	mustNoErr(t, err)

	upd, err := e.client.UpdateStage(ctx, &apigateway.UpdateStageInput{RestApiId: aws.String(api), StageName: aws.String("dev"),
		PatchOperations: []types.PatchOperation{
			patch(types.OpReplace, "/deploymentId", *dep2.Id),
			patch(types.OpReplace, "/description", "new"),
			patch(types.OpReplace, "/variables/fn", "blocks"),
			patch(types.OpRemove, "/variables/host", ""),
			patch(types.OpReplace, "/*/*/throttling/rateLimit", "100"),
			patch(types.OpReplace, "/*/*/throttling/burstLimit", "50"),
			patch(types.OpReplace, "/~1blocks~1{id}/GET/caching/enabled", "true"),
			patch(types.OpReplace, "/*/*/logging/loglevel", "INFO"),
			patch(types.OpReplace, "/accessLogSettings/format", "$context.requestId"),
		}})
	mustNoErr(t, err)
	all := upd.MethodSettings["*/*"]
	if aws.ToString(upd.DeploymentId) != *dep2.Id || aws.ToString(upd.Description) != "new" || upd.Variables["fn"] != "blocks" || upd.Variables["host"] != "" ||
		all.ThrottlingRateLimit != 100 || all.ThrottlingBurstLimit != 50 || aws.ToString(all.LoggingLevel) != "INFO" ||
		!upd.MethodSettings["blocks/{id}/GET"].CachingEnabled || upd.AccessLogSettings == nil || aws.ToString(upd.AccessLogSettings.Format) != "$context.requestId" {
		t.Errorf("updated stage %+v", upd)
	}
	list, err := e.client.GetStages(ctx, &apigateway.GetStagesInput{RestApiId: aws.String(api)})
	mustNoErr(t, err)
	if len(list.Item) != 2 {
		t.Errorf("stages %d", len(list.Item))
	}
	list, err = e.client.GetStages(ctx, &apigateway.GetStagesInput{RestApiId: aws.String(api), DeploymentId: dep.Id})
	mustNoErr(t, err)
	if len(list.Item) != 0 {
		t.Errorf("stages of first deployment: %d", len(list.Item))
	}

	errs := []struct {
		name string
		op   types.PatchOperation
		msg  string
	}{
		{"unknown deployment", patch(types.OpReplace, "/deploymentId", "nope00"), "Deployment id does not exist"},
		{"unknown path", patch(types.OpReplace, "/canarySettings", "x"), "Invalid method setting path: /canarySettings. Must be one of: " + stagePaths},
		{"empty access log", patch(types.OpReplace, "/accessLogSettings/destinationArn", ""), "Access Log value must not be empty"},
		{"remove absent setting", patch(types.OpRemove, "/~1nope/GET", ""), "Cannot remove method setting nope/GET because there is no method setting for this method "},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.client.UpdateStage(ctx, &apigateway.UpdateStageInput{RestApiId: aws.String(api), StageName: aws.String("dev"),
				PatchOperations: []types.PatchOperation{tt.op}})
			wantAPIError(t, err, "BadRequestException", 400, tt.msg)
		})
	}
	upd, err = e.client.UpdateStage(ctx, &apigateway.UpdateStageInput{RestApiId: aws.String(api), StageName: aws.String("dev"),
		PatchOperations: []types.PatchOperation{patch(types.OpRemove, "/*/*", "")}})
	mustNoErr(t, err)
	if _, ok := upd.MethodSettings["*/*"]; ok {
		t.Errorf("*/* not removed")
	}

	_, err = e.client.DeleteStage(ctx, &apigateway.DeleteStageInput{RestApiId: aws.String(api), StageName: aws.String("dev")})
	mustNoErr(t, err)
	_, err = e.client.GetStage(ctx, &apigateway.GetStageInput{RestApiId: aws.String(api), StageName: aws.String("dev")})
	wantAPIError(t, err, "NotFoundException", 404, "Invalid Stage identifier specified")
	_, err = e.client.DeleteStage(ctx, &apigateway.DeleteStageInput{RestApiId: aws.String(api), StageName: aws.String("dev")})
	wantAPIError(t, err, "NotFoundException", 404, "Invalid Stage identifier specified")
}
