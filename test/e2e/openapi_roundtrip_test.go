package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
)

// Import/export round trips on real-world shapes of OpenAPI documents: API
// Gateway's PetStore example API (Swagger 2.0: HTTP integrations with parameter
// mappings, a mock root and CORS preflight, models), an S3 proxy (OpenAPI 3: AWS
// service integrations with credentials, path overrides, selection patterns,
// binary media types, SigV4) and a Lambda API (a TOKEN authorizer with an API key,
// a request validator, a gateway response, a greedy ANY proxy). Each imports with
// failonwarnings; its export, as oas30 and as swagger with the API Gateway
// extensions, imports back into an API equal to the first in every resource,
// method, integration, model, authorizer, validator and gateway response.
func TestOpenAPIImportExportRoundTrip(t *testing.T) {
	s := startSluice(t, startOpts{})
	c := apigateway.NewFromConfig(s.sdkConfig())
	ctx := context.Background()
	for _, file := range []string{"petstore-swagger.json", "s3-proxy-oas30.yaml", "lambda-authorizer-oas30.yaml"} {
		t.Run(file, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join("testdata", "openapi", file))
			if err != nil {
				t.Fatal(err)
			}
			first := sdkCall(c.ImportRestApi(ctx, &apigateway.ImportRestApiInput{Body: body, FailOnWarnings: true})).must(t)
			if len(first.Warnings) > 0 {
				t.Fatalf("warnings: %v", first.Warnings)
			}
			want := restAPIShape(t, c, aws.ToString(first.Id))
			sdkCall(c.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: first.Id, StageName: aws.String("rt")})).must(t)
			for _, exportType := range []string{"oas30", "swagger"} {
				exp := sdkCall(c.GetExport(ctx, &apigateway.GetExportInput{RestApiId: first.Id, StageName: aws.String("rt"),
					ExportType: aws.String(exportType), Accepts: aws.String("application/json"),
					Parameters: map[string]string{"extensions": "apigateway"}})).must(t)
				again := sdkCall(c.ImportRestApi(ctx, &apigateway.ImportRestApiInput{Body: exp.Body, FailOnWarnings: true})).must(t)
				got := restAPIShape(t, c, aws.ToString(again.Id))
				if got != want {
					t.Fatalf("%s export re-imported differs:\n got %s\nwant %s\nexport:\n%s", exportType, got, want, exp.Body)
				}
			}
			t.Logf("%s: %d bytes of shape, equal after both exports", file, len(want))
		})
	}
}

// restAPIShape is everything an import defines of a REST API, as JSON with the ids
// replaced by names: the API's settings, each resource's methods (request
// parameters, models, validator, authorization, method responses) with their
// integrations and integration responses, the models, authorizers, validators and
// the gateway responses set explicitly.
func restAPIShape(t *testing.T, c *apigateway.Client, id string) string {
	t.Helper()
	ctx := context.Background()
	api := sdkCall(c.GetRestApi(ctx, &apigateway.GetRestApiInput{RestApiId: aws.String(id)})).must(t)
	auths := sdkCall(c.GetAuthorizers(ctx, &apigateway.GetAuthorizersInput{RestApiId: aws.String(id)})).must(t)
	authName := map[string]string{}
	var authorizers []any
	for _, a := range auths.Items {
		authName[aws.ToString(a.Id)] = aws.ToString(a.Name)
		a.Id = nil
		authorizers = append(authorizers, a)
	}
	vals := sdkCall(c.GetRequestValidators(ctx, &apigateway.GetRequestValidatorsInput{RestApiId: aws.String(id)})).must(t)
	valName := map[string]string{}
	var validators []any
	for _, v := range vals.Items {
		valName[aws.ToString(v.Id)] = aws.ToString(v.Name)
		v.Id = nil
		validators = append(validators, v)
	}
	models := sdkCall(c.GetModels(ctx, &apigateway.GetModelsInput{RestApiId: aws.String(id)})).must(t)
	var modelNames []string
	for _, m := range models.Items {
		modelNames = append(modelNames, aws.ToString(m.Name)+" "+aws.ToString(m.ContentType))
	}
	slices.Sort(modelNames)
	res := sdkCall(c.GetResources(ctx, &apigateway.GetResourcesInput{RestApiId: aws.String(id), Embed: []string{"methods"}, Limit: aws.Int32(500)})).must(t)
	resources := map[string]any{}
	for _, r := range res.Items {
		methods := map[string]any{}
		for verb, m := range r.ResourceMethods {
			if m.AuthorizerId != nil {
				m.AuthorizerId = aws.String(authName[aws.ToString(m.AuthorizerId)])
			}
			if m.RequestValidatorId != nil {
				m.RequestValidatorId = aws.String(valName[aws.ToString(m.RequestValidatorId)])
			}
			if m.MethodIntegration != nil {
				m.MethodIntegration.CacheNamespace = nil // the resource id by default
			}
			methods[verb] = m
		}
		resources[aws.ToString(r.Path)] = methods
	}
	gws := sdkCall(c.GetGatewayResponses(ctx, &apigateway.GetGatewayResponsesInput{RestApiId: aws.String(id), Limit: aws.Int32(500)})).must(t)
	var gateway []any
	for _, g := range gws.Items {
		if !g.DefaultResponse {
			gateway = append(gateway, g)
		}
	}
	b, err := json.Marshal(map[string]any{
		"name": api.Name, "description": api.Description, "binaryMediaTypes": api.BinaryMediaTypes, "apiKeySource": api.ApiKeySource,
		"resources": resources, "models": modelNames, "authorizers": authorizers, "validators": validators, "gatewayResponses": gateway,
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), id) {
		t.Fatalf("the shape names the API's id %s: %s", id, b)
	}
	return string(b)
}
