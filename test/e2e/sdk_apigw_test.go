package e2e

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	agtypes "github.com/aws/aws-sdk-go-v2/service/apigateway/types"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/smithy-go"
)

// wantSDKError asserts err is an API error with code (and HTTP status via the
// smithy response error).
func wantSDKError(t *testing.T, err error, code string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error = %v, want %s", err, code)
	}
	if ae.ErrorCode() != code || ae.ErrorMessage() == "" {
		t.Fatalf("error code %q message %q, want %s", ae.ErrorCode(), ae.ErrorMessage(), code)
	}
}

// sdkResult holds an SDK call's output and error, so a call reads
// sdkCall(client.Op(ctx, in)).must(t).
type sdkResult[T any] struct {
	v   T
	err error
}

func sdkCall[T any](v T, err error) sdkResult[T] { return sdkResult[T]{v, err} }

func (r sdkResult[T]) must(t *testing.T) T {
	t.Helper()
	if r.err != nil {
		t.Fatal(r.err)
	}
	return r.v
}

// allowInvokeSDK grants API Gateway permission to invoke fn from any route of apiID.
func allowInvokeSDK(t *testing.T, ctx context.Context, lc *lambda.Client, fn, apiID string) {
	t.Helper()
	sdkCall(lc.AddPermission(ctx, &lambda.AddPermissionInput{FunctionName: aws.String(fn), StatementId: aws.String("sdk-" + apiID),
		Action: aws.String("lambda:InvokeFunction"), Principal: aws.String("apigateway.amazonaws.com"),
		SourceArn: aws.String("arn:aws:execute-api:us-east-1:123456789012:" + apiID + "/*")})).must(t)
}

// A REST API built, deployed, listed, patched and refused with aws-sdk-go-v2.
func TestSDKRESTAPI(t *testing.T) {
	s := startSluice(t, startOpts{})
	ctx := context.Background()
	fn := s.createFunction("sdk-echo", "provided.al2023", "bootstrap", goFunctionZip(t))
	ag := apigateway.NewFromConfig(s.sdkConfig())
	lc := lambda.NewFromConfig(s.sdkConfig())

	api := sdkCall(ag.CreateRestApi(ctx, &apigateway.CreateRestApiInput{Name: aws.String("sdk-rest"), Description: aws.String("first")})).must(t)
	apiID := aws.ToString(api.Id)
	res := sdkCall(ag.CreateResource(ctx, &apigateway.CreateResourceInput{RestApiId: api.Id, ParentId: api.RootResourceId, PathPart: aws.String("items")})).must(t)
	item := sdkCall(ag.CreateResource(ctx, &apigateway.CreateResourceInput{RestApiId: api.Id, ParentId: res.Id, PathPart: aws.String("{id}")})).must(t)
	if aws.ToString(item.Path) != "/items/{id}" {
		t.Fatalf("resource path = %q", aws.ToString(item.Path))
	}
	sdkCall(ag.PutMethod(ctx, &apigateway.PutMethodInput{RestApiId: api.Id, ResourceId: item.Id, HttpMethod: aws.String("GET"),
		AuthorizationType: aws.String("NONE")})).must(t)
	sdkCall(ag.PutIntegration(ctx, &apigateway.PutIntegrationInput{RestApiId: api.Id, ResourceId: item.Id, HttpMethod: aws.String("GET"),
		Type: agtypes.IntegrationTypeAwsProxy, IntegrationHttpMethod: aws.String("POST"), Uri: aws.String(fnURI(str(fn["FunctionArn"])))})).must(t)
	allowInvokeSDK(t, ctx, lc, "sdk-echo", apiID)
	dep := sdkCall(ag.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: api.Id, StageName: aws.String("live")})).must(t)
	if aws.ToString(dep.Id) == "" {
		t.Fatalf("deployment = %+v", dep)
	}
	r := s.awaitStatus(t, 200, "GET", apiID, "/live/items/7", "")
	if ev := decodeEvent(t, r); obj(ev["pathParameters"])["id"] != "7" || ev["resource"] != "/items/{id}" {
		t.Fatalf("event = %s", r.Body)
	}

	t.Run("pagination", func(t *testing.T) {
		for _, name := range []string{"sdk-a", "sdk-b", "sdk-c"} {
			sdkCall(ag.CreateRestApi(ctx, &apigateway.CreateRestApiInput{Name: aws.String(name)})).must(t)
		}
		seen := map[string]bool{}
		pages := 0
		p := apigateway.NewGetRestApisPaginator(ag, &apigateway.GetRestApisInput{}, func(o *apigateway.GetRestApisPaginatorOptions) { o.Limit = 1 })
		for p.HasMorePages() {
			page := sdkCall(p.NextPage(ctx)).must(t)
			pages++
			if len(page.Items) > 1 {
				t.Fatalf("page of %d items with limit 1", len(page.Items))
			}
			for _, it := range page.Items {
				if seen[aws.ToString(it.Id)] {
					t.Fatalf("API %s listed twice", aws.ToString(it.Id))
				}
				seen[aws.ToString(it.Id)] = true
			}
			if pages > 10 {
				t.Fatal("pagination does not end")
			}
		}
		if len(seen) != 4 || !seen[apiID] {
			t.Fatalf("listed %d APIs over %d pages: %v", len(seen), pages, seen)
		}
		// Resources paginate too.
		rp := apigateway.NewGetResourcesPaginator(ag, &apigateway.GetResourcesInput{RestApiId: api.Id},
			func(o *apigateway.GetResourcesPaginatorOptions) { o.Limit = 2 })
		paths := map[string]bool{}
		for rp.HasMorePages() {
			for _, it := range sdkCall(rp.NextPage(ctx)).must(t).Items {
				paths[aws.ToString(it.Path)] = true
			}
		}
		if len(paths) != 3 || !paths["/"] || !paths["/items"] || !paths["/items/{id}"] {
			t.Fatalf("resources = %v", paths)
		}
	})

	t.Run("patch operations", func(t *testing.T) {
		upd := sdkCall(ag.UpdateRestApi(ctx, &apigateway.UpdateRestApiInput{RestApiId: api.Id, PatchOperations: []agtypes.PatchOperation{
			{Op: agtypes.OpReplace, Path: aws.String("/description"), Value: aws.String("second")},
			{Op: agtypes.OpReplace, Path: aws.String("/name"), Value: aws.String("sdk-rest-renamed")},
		}})).must(t)
		if aws.ToString(upd.Description) != "second" || aws.ToString(upd.Name) != "sdk-rest-renamed" {
			t.Fatalf("updated API = %+v", upd)
		}
		got := sdkCall(ag.GetRestApi(ctx, &apigateway.GetRestApiInput{RestApiId: api.Id})).must(t)
		if aws.ToString(got.Description) != "second" {
			t.Fatalf("get after update = %+v", got)
		}
		st := sdkCall(ag.UpdateStage(ctx, &apigateway.UpdateStageInput{RestApiId: api.Id, StageName: aws.String("live"),
			PatchOperations: []agtypes.PatchOperation{{Op: agtypes.OpReplace, Path: aws.String("/variables/color"), Value: aws.String("blue")}}})).must(t)
		if st.Variables["color"] != "blue" {
			t.Fatalf("stage variables = %v", st.Variables)
		}
		// A stage update reaches the data plane without a new deployment.
		ok := eventually(t, 3*time.Second, func() bool {
			r := s.call(t, "GET", apiID, "/live/items/8", "")
			return r.Status == 200 && obj(r.JSON(t)["stageVariables"])["color"] == "blue"
		})
		if !ok {
			t.Fatal("stage variable from update-stage not in the event")
		}
		_, err := ag.UpdateRestApi(ctx, &apigateway.UpdateRestApiInput{RestApiId: api.Id, PatchOperations: []agtypes.PatchOperation{
			{Op: agtypes.OpReplace, Path: aws.String("/nonsense"), Value: aws.String("x")}}})
		wantSDKError(t, err, "BadRequestException")
	})

	t.Run("rollback and delete", func(t *testing.T) {
		// A second deployment adds /extra (MOCK); pointing the stage back at the first
		// deployment with a patch removes it again, without redeploying.
		extra := sdkCall(ag.CreateResource(ctx, &apigateway.CreateResourceInput{RestApiId: api.Id, ParentId: api.RootResourceId,
			PathPart: aws.String("extra")})).must(t)
		sdkCall(ag.PutMethod(ctx, &apigateway.PutMethodInput{RestApiId: api.Id, ResourceId: extra.Id, HttpMethod: aws.String("GET"),
			AuthorizationType: aws.String("NONE")})).must(t)
		sdkCall(ag.PutIntegration(ctx, &apigateway.PutIntegrationInput{RestApiId: api.Id, ResourceId: extra.Id, HttpMethod: aws.String("GET"),
			Type: agtypes.IntegrationTypeMock, RequestTemplates: map[string]string{"application/json": `{"statusCode": 200}`}})).must(t)
		sdkCall(ag.PutMethodResponse(ctx, &apigateway.PutMethodResponseInput{RestApiId: api.Id, ResourceId: extra.Id,
			HttpMethod: aws.String("GET"), StatusCode: aws.String("200")})).must(t)
		sdkCall(ag.PutIntegrationResponse(ctx, &apigateway.PutIntegrationResponseInput{RestApiId: api.Id, ResourceId: extra.Id,
			HttpMethod: aws.String("GET"), StatusCode: aws.String("200"),
			ResponseTemplates: map[string]string{"application/json": `{"extra":true}`}})).must(t)
		sdkCall(ag.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: api.Id, StageName: aws.String("live")})).must(t)
		if r := s.awaitStatus(t, 200, "GET", apiID, "/live/extra", ""); r.Status != 200 || string(r.Body) != `{"extra":true}` {
			t.Fatalf("second deployment: %d %s", r.Status, r.Body)
		}
		sdkCall(ag.UpdateStage(ctx, &apigateway.UpdateStageInput{RestApiId: api.Id, StageName: aws.String("live"),
			PatchOperations: []agtypes.PatchOperation{{Op: agtypes.OpReplace, Path: aws.String("/deploymentId"), Value: dep.Id}}})).must(t)
		if r := s.awaitStatus(t, 403, "GET", apiID, "/live/extra", ""); r.Status != 403 || string(r.Body) != `{"message":"Missing Authentication Token"}` {
			t.Fatalf("after rollback: %d %s", r.Status, r.Body)
		}
		if r := s.call(t, "GET", apiID, "/live/items/1", ""); r.Status != 200 {
			t.Fatalf("after rollback, first deployment's route: %d %s", r.Status, r.Body)
		}
		// A deleted stage, then a deleted API, are gone from the data plane.
		sdkCall(ag.DeleteStage(ctx, &apigateway.DeleteStageInput{RestApiId: api.Id, StageName: aws.String("live")})).must(t)
		if r := s.awaitStatus(t, 403, "GET", apiID, "/live/items/1", ""); r.Status != 403 || string(r.Body) != `{"message":"Forbidden"}` {
			t.Fatalf("deleted stage: %d %s", r.Status, r.Body)
		}
	})

	t.Run("errors", func(t *testing.T) {
		_, err := ag.GetRestApi(ctx, &apigateway.GetRestApiInput{RestApiId: aws.String("nosuchapi")})
		wantSDKError(t, err, "NotFoundException")
		_, err = ag.CreateResource(ctx, &apigateway.CreateResourceInput{RestApiId: api.Id, ParentId: api.RootResourceId, PathPart: aws.String("items")})
		wantSDKError(t, err, "ConflictException")
		_, err = ag.CreateResource(ctx, &apigateway.CreateResourceInput{RestApiId: api.Id, ParentId: api.RootResourceId, PathPart: aws.String("{bad")})
		wantSDKError(t, err, "BadRequestException")
		_, err = ag.GetMethod(ctx, &apigateway.GetMethodInput{RestApiId: api.Id, ResourceId: res.Id, HttpMethod: aws.String("GET")})
		wantSDKError(t, err, "NotFoundException")
		_, err = ag.GetStage(ctx, &apigateway.GetStageInput{RestApiId: api.Id, StageName: aws.String("nostage")})
		wantSDKError(t, err, "NotFoundException")
		sdkCall(ag.CreateStage(ctx, &apigateway.CreateStageInput{RestApiId: api.Id, StageName: aws.String("again"), DeploymentId: dep.Id})).must(t)
		_, err = ag.CreateStage(ctx, &apigateway.CreateStageInput{RestApiId: api.Id, StageName: aws.String("again"), DeploymentId: dep.Id})
		wantSDKError(t, err, "ConflictException")
		_, err = ag.CreateStage(ctx, &apigateway.CreateStageInput{RestApiId: api.Id, StageName: aws.String("other"), DeploymentId: aws.String("nodeploy")})
		// AWS: "BadRequestException: Deployment id does not exist".
		wantSDKError(t, err, "BadRequestException")
		sdkCall(ag.DeleteRestApi(ctx, &apigateway.DeleteRestApiInput{RestApiId: api.Id})).must(t)
		if r := s.awaitStatus(t, 403, "GET", apiID, "/again/items/1", ""); r.Status != 403 || string(r.Body) != `{"message":"Forbidden"}` {
			t.Fatalf("deleted API: %d %s", r.Status, r.Body)
		}
		_, err = ag.GetRestApi(ctx, &apigateway.GetRestApiInput{RestApiId: api.Id})
		wantSDKError(t, err, "NotFoundException")
	})
}

// An HTTP API built, deployed, listed, updated and refused with aws-sdk-go-v2.
func TestSDKHTTPAPI(t *testing.T) {
	s := startSluice(t, startOpts{})
	ctx := context.Background()
	fn := s.createFunction("sdk-echo2", "provided.al2023", "bootstrap", goFunctionZip(t))
	v2 := apigatewayv2.NewFromConfig(s.sdkConfig())
	lc := lambda.NewFromConfig(s.sdkConfig())

	api := sdkCall(v2.CreateApi(ctx, &apigatewayv2.CreateApiInput{Name: aws.String("sdk-http"), ProtocolType: "HTTP"})).must(t)
	apiID := aws.ToString(api.ApiId)
	integ := sdkCall(v2.CreateIntegration(ctx, &apigatewayv2.CreateIntegrationInput{ApiId: api.ApiId, IntegrationType: "AWS_PROXY",
		IntegrationUri: aws.String(str(fn["FunctionArn"])), PayloadFormatVersion: aws.String("2.0")})).must(t)
	target := aws.String("integrations/" + aws.ToString(integ.IntegrationId))
	keys := []string{"GET /a", "GET /b", "POST /c", "GET /d/{id}"}
	routeIDs := map[string]string{}
	for _, k := range keys {
		rt := sdkCall(v2.CreateRoute(ctx, &apigatewayv2.CreateRouteInput{ApiId: api.ApiId, RouteKey: aws.String(k), Target: target})).must(t)
		routeIDs[k] = aws.ToString(rt.RouteId)
	}
	sdkCall(v2.CreateStage(ctx, &apigatewayv2.CreateStageInput{ApiId: api.ApiId, StageName: aws.String("$default"), AutoDeploy: aws.Bool(true)})).must(t)
	allowInvokeSDK(t, ctx, lc, "sdk-echo2", apiID)
	r := s.awaitStatus(t, 200, "GET", apiID, "/d/5", "")
	if ev := decodeEvent(t, r); ev["routeKey"] != "GET /d/{id}" || obj(ev["pathParameters"])["id"] != "5" {
		t.Fatalf("event = %s", r.Body)
	}

	t.Run("pagination", func(t *testing.T) {
		seen := map[string]bool{}
		var next *string
		for pages := 0; ; pages++ {
			if pages > 10 {
				t.Fatal("pagination does not end")
			}
			page := sdkCall(v2.GetRoutes(ctx, &apigatewayv2.GetRoutesInput{ApiId: api.ApiId, MaxResults: aws.String("3"), NextToken: next})).must(t)
			if len(page.Items) > 3 {
				t.Fatalf("page of %d routes with MaxResults 3", len(page.Items))
			}
			for _, it := range page.Items {
				seen[aws.ToString(it.RouteKey)] = true
			}
			if next = page.NextToken; next == nil {
				break
			}
		}
		if len(seen) != len(keys) {
			t.Fatalf("routes listed = %v", seen)
		}
	})

	t.Run("update", func(t *testing.T) {
		upd := sdkCall(v2.UpdateRoute(ctx, &apigatewayv2.UpdateRouteInput{ApiId: api.ApiId, RouteId: aws.String(routeIDs["GET /a"]),
			RouteKey: aws.String("GET /renamed")})).must(t)
		if aws.ToString(upd.RouteKey) != "GET /renamed" {
			t.Fatalf("updated route = %+v", upd)
		}
		// AutoDeploy: the renamed route is served, the old key no longer is.
		r := s.awaitStatus(t, 200, "GET", apiID, "/renamed", "")
		if ev := decodeEvent(t, r); ev["routeKey"] != "GET /renamed" {
			t.Fatalf("renamed route event = %s", r.Body)
		}
		if r := s.awaitStatus(t, 404, "GET", apiID, "/a", ""); r.Status != 404 || string(r.Body) != `{"message":"Not Found"}` {
			t.Fatalf("old route key: %d %s", r.Status, r.Body)
		}
		ua := sdkCall(v2.UpdateApi(ctx, &apigatewayv2.UpdateApiInput{ApiId: api.ApiId, Description: aws.String("described")})).must(t)
		if aws.ToString(ua.Description) != "described" || aws.ToString(ua.Name) != "sdk-http" {
			t.Fatalf("updated API = %+v", ua)
		}
	})

	t.Run("errors", func(t *testing.T) {
		_, err := v2.GetApi(ctx, &apigatewayv2.GetApiInput{ApiId: aws.String("nosuchapi")})
		wantSDKError(t, err, "NotFoundException")
		_, err = v2.CreateRoute(ctx, &apigatewayv2.CreateRouteInput{ApiId: api.ApiId, RouteKey: aws.String("GET /b"), Target: target})
		wantSDKError(t, err, "ConflictException")
		_, err = v2.CreateRoute(ctx, &apigatewayv2.CreateRouteInput{ApiId: api.ApiId, RouteKey: aws.String("FETCH"), Target: target})
		wantSDKError(t, err, "BadRequestException")
		_, err = v2.CreateStage(ctx, &apigatewayv2.CreateStageInput{ApiId: api.ApiId, StageName: aws.String("$default")})
		wantSDKError(t, err, "ConflictException")
		_, err = v2.GetIntegration(ctx, &apigatewayv2.GetIntegrationInput{ApiId: api.ApiId, IntegrationId: aws.String("nope123")})
		wantSDKError(t, err, "NotFoundException")
		_, err = v2.CreateIntegration(ctx, &apigatewayv2.CreateIntegrationInput{ApiId: api.ApiId, IntegrationType: "AWS_PROXY"})
		wantSDKError(t, err, "BadRequestException")
		// Deleting the only stage takes the API off the data plane.
		sdkCall(v2.DeleteStage(ctx, &apigatewayv2.DeleteStageInput{ApiId: api.ApiId, StageName: aws.String("$default")})).must(t)
		if r := s.awaitStatus(t, 404, "GET", apiID, "/b", ""); r.Status != 404 || string(r.Body) != `{"message":"Not Found"}` {
			t.Fatalf("deleted stage: %d %s", r.Status, r.Body)
		}
	})
}
