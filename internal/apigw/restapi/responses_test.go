package restapi

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigateway/types"
	"github.com/aws/smithy-go"

	"github.com/sluice-dev/sluice/internal/apigw/model"
)

func TestMethodAndIntegrationResponses(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	api, root := e.createAPI(t, "r")
	e.mockMethod(t, api, root, "GET")
	ids := func(code string) (*string, *string, *string, *string) {
		return aws.String(api), aws.String(root), aws.String("GET"), aws.String(code)
	}
	a, r, m, c := ids("200")

	mr, err := e.client.PutMethodResponse(ctx, &apigateway.PutMethodResponseInput{RestApiId: a, ResourceId: r, HttpMethod: m, StatusCode: c,
		ResponseParameters: map[string]bool{"method.response.header.my-header": true}, ResponseModels: map[string]string{"application/json": "Empty"}})
	mustNoErr(t, err)
	if aws.ToString(mr.StatusCode) != "200" || !mr.ResponseParameters["method.response.header.my-header"] {
		t.Errorf("method response %+v", mr)
	}
	umr, err := e.client.UpdateMethodResponse(ctx, &apigateway.UpdateMethodResponseInput{RestApiId: a, ResourceId: r, HttpMethod: m, StatusCode: c,
		PatchOperations: []types.PatchOperation{
			patch(types.OpAdd, "/responseParameters/method.response.header.x-other", "false"),
			patch(types.OpRemove, "/responseModels/application~1json", ""),
		}})
	mustNoErr(t, err)
	if _, ok := umr.ResponseParameters["method.response.header.x-other"]; !ok || len(umr.ResponseModels) != 0 {
		t.Errorf("updated method response %+v", umr)
	}
	_, err = e.client.UpdateMethodResponse(ctx, &apigateway.UpdateMethodResponseInput{RestApiId: a, ResourceId: r, HttpMethod: m, StatusCode: c,
		PatchOperations: []types.PatchOperation{patch(types.OpAdd, "/wrong/method.response.header.my-header", "true")}})
	wantAPIError(t, err, "BadRequestException", 400, "Invalid patch path /wrong/method.response.header.my-header")

	ir, err := e.client.PutIntegrationResponse(ctx, &apigateway.PutIntegrationResponseInput{RestApiId: a, ResourceId: r, HttpMethod: m, StatusCode: c,
		SelectionPattern: aws.String(""), ResponseTemplates: map[string]string{"application/json": `"created"`},
		ResponseParameters: map[string]string{"method.response.header.my-header": "'v'"}})
	mustNoErr(t, err)
	if aws.ToString(ir.StatusCode) != "200" || ir.ResponseTemplates["application/json"] != `"created"` {
		t.Errorf("integration response %+v", ir)
	}
	uir, err := e.client.UpdateIntegrationResponse(ctx, &apigateway.UpdateIntegrationResponseInput{RestApiId: a, ResourceId: r, HttpMethod: m, StatusCode: c,
		PatchOperations: []types.PatchOperation{
			patch(types.OpReplace, "/selectionPattern", "2\\d{2}"),
			patch(types.OpReplace, "/responseTemplates/application~1json", "overwrite"),
		}})
	mustNoErr(t, err)
	if aws.ToString(uir.SelectionPattern) != "2\\d{2}" || uir.ResponseTemplates["application/json"] != "overwrite" {
		t.Errorf("updated integration response %+v", uir)
	}
	meth, err := e.client.GetMethod(ctx, &apigateway.GetMethodInput{RestApiId: a, ResourceId: r, HttpMethod: m})
	mustNoErr(t, err)
	if meth.MethodResponses["200"].StatusCode == nil || meth.MethodIntegration.IntegrationResponses["200"].ResponseTemplates["application/json"] != "overwrite" {
		t.Errorf("method with responses %+v", meth)
	}

	errs := []struct {
		name   string
		call   func() error
		code   string
		status int
		msg    string
	}{
		{"bad status code", func() error {
			a, r, m, c := ids("wrong")
			_, err := e.client.GetIntegrationResponse(ctx, &apigateway.GetIntegrationResponseInput{RestApiId: a, ResourceId: r, HttpMethod: m, StatusCode: c})
			return err
		}, "ValidationException", 400, "1 validation error detected: Value 'wrong' at 'statusCode' failed to satisfy constraint: Member must satisfy regular expression pattern: [1-5]\\d\\d"},
		{"unknown integration response", func() error {
			a, r, m, c := ids("404")
			_, err := e.client.GetIntegrationResponse(ctx, &apigateway.GetIntegrationResponseInput{RestApiId: a, ResourceId: r, HttpMethod: m, StatusCode: c})
			return err
		}, "NotFoundException", 404, "Invalid Response status code specified"},
		{"unknown method response", func() error {
			a, r, m, c := ids("404")
			_, err := e.client.GetMethodResponse(ctx, &apigateway.GetMethodResponseInput{RestApiId: a, ResourceId: r, HttpMethod: m, StatusCode: c})
			return err
		}, "NotFoundException", 404, "Invalid Response status code specified"},
		{"integration response without method", func() error {
			_, err := e.client.PutIntegrationResponse(ctx, &apigateway.PutIntegrationResponseInput{RestApiId: a, ResourceId: r, HttpMethod: aws.String("POST"), StatusCode: c})
			return err
		}, "NotFoundException", 404, "Invalid Method identifier specified"},
		{"bad template content type", func() error {
			_, err := e.client.PutIntegrationResponse(ctx, &apigateway.PutIntegrationResponseInput{RestApiId: a, ResourceId: r, HttpMethod: m, StatusCode: c,
				ResponseTemplates: map[string]string{"123": "x"}})
			return err
		}, "BadRequestException", 400, "Validation Result: warnings : [], errors : [Invalid content type specified: 123]"},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) { wantAPIError(t, tt.call(), tt.code, tt.status, tt.msg) })
	}

	_, err = e.client.DeleteIntegrationResponse(ctx, &apigateway.DeleteIntegrationResponseInput{RestApiId: a, ResourceId: r, HttpMethod: m, StatusCode: c})
	mustNoErr(t, err)
	_, err = e.client.GetIntegrationResponse(ctx, &apigateway.GetIntegrationResponseInput{RestApiId: a, ResourceId: r, HttpMethod: m, StatusCode: c})
	wantAPIError(t, err, "NotFoundException", 404, "Invalid Response status code specified")
	_, err = e.client.DeleteMethodResponse(ctx, &apigateway.DeleteMethodResponseInput{RestApiId: a, ResourceId: r, HttpMethod: m, StatusCode: c})
	mustNoErr(t, err)
	_, err = e.client.GetMethodResponse(ctx, &apigateway.GetMethodResponseInput{RestApiId: a, ResourceId: r, HttpMethod: m, StatusCode: c})
	wantAPIError(t, err, "NotFoundException", 404, "Invalid Response status code specified")

	// Without an integration, integration responses are "Invalid Integration identifier".
	_, err = e.client.DeleteIntegration(ctx, &apigateway.DeleteIntegrationInput{RestApiId: a, ResourceId: r, HttpMethod: m})
	mustNoErr(t, err)
	_, err = e.client.GetIntegrationResponse(ctx, &apigateway.GetIntegrationResponseInput{RestApiId: a, ResourceId: r, HttpMethod: m, StatusCode: c})
	wantAPIError(t, err, "NotFoundException", 404, "Invalid Integration identifier specified")
}

func TestGatewayResponses(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	api, _ := e.createAPI(t, "gr")
	a := aws.String(api)

	def, err := e.client.GetGatewayResponse(ctx, &apigateway.GetGatewayResponseInput{RestApiId: a, ResponseType: types.GatewayResponseTypeMissingAuthenticationToken})
	mustNoErr(t, err)
	if !def.DefaultResponse || aws.ToString(def.StatusCode) != "403" || def.ResponseTemplates["application/json"] != model.DefaultGatewayResponseTemplate {
		t.Errorf("default response %+v", def)
	}
	put, err := e.client.PutGatewayResponse(ctx, &apigateway.PutGatewayResponseInput{RestApiId: a, ResponseType: types.GatewayResponseTypeUnauthorized,
		StatusCode: aws.String("401"), ResponseParameters: map[string]string{"gatewayresponse.header.WWW-Authenticate": "'Bearer'"},
		ResponseTemplates: map[string]string{"application/json": `{"error":$context.error.messageString}`}})
	mustNoErr(t, err)
	if put.DefaultResponse || put.ResponseParameters["gatewayresponse.header.WWW-Authenticate"] != "'Bearer'" {
		t.Errorf("put response %+v", put)
	}
	list, err := e.client.GetGatewayResponses(ctx, &apigateway.GetGatewayResponsesInput{RestApiId: a, Limit: aws.Int32(100)})
	mustNoErr(t, err)
	if len(list.Items) != len(model.DefaultGatewayResponses) {
		t.Fatalf("listed %d responses, want %d", len(list.Items), len(model.DefaultGatewayResponses))
	}
	custom := 0
	for _, g := range list.Items {
		if !g.DefaultResponse {
			custom++
			if g.ResponseType != types.GatewayResponseTypeUnauthorized {
				t.Errorf("unexpected custom %s", g.ResponseType)
			}
		}
		if g.ResponseType == types.GatewayResponseTypeDefault4xx && g.StatusCode != nil {
			t.Errorf("DEFAULT_4XX has status %q", *g.StatusCode)
		}
	}
	if custom != 1 {
		t.Errorf("custom responses %d", custom)
	}
	upd, err := e.client.UpdateGatewayResponse(ctx, &apigateway.UpdateGatewayResponseInput{RestApiId: a, ResponseType: types.GatewayResponseTypeAccessDenied,
		PatchOperations: []types.PatchOperation{patch(types.OpReplace, "/statusCode", "404")}})
	mustNoErr(t, err)
	if upd.DefaultResponse || aws.ToString(upd.StatusCode) != "404" {
		t.Errorf("updated default %+v", upd)
	}
	_, err = e.client.UpdateGatewayResponse(ctx, &apigateway.UpdateGatewayResponseInput{RestApiId: a, ResponseType: types.GatewayResponseTypeAccessDenied,
		PatchOperations: []types.PatchOperation{patch(types.OpAdd, "/statusCode", "404")}})
	wantAPIError(t, err, "BadRequestException", 400, "Invalid patch path /statusCode")
	_, err = e.client.UpdateGatewayResponse(ctx, &apigateway.UpdateGatewayResponseInput{RestApiId: a, ResponseType: types.GatewayResponseTypeAccessDenied,
		PatchOperations: []types.PatchOperation{patch(types.OpReplace, "/wrongPath", "x")}})
	wantAPIError(t, err, "BadRequestException", 400, "Invalid patch path /wrongPath")

	_, err = e.client.DeleteGatewayResponse(ctx, &apigateway.DeleteGatewayResponseInput{RestApiId: a, ResponseType: types.GatewayResponseTypeUnauthorized})
	mustNoErr(t, err)
	back, err := e.client.GetGatewayResponse(ctx, &apigateway.GetGatewayResponseInput{RestApiId: a, ResponseType: types.GatewayResponseTypeUnauthorized})
	mustNoErr(t, err)
	if !back.DefaultResponse || aws.ToString(back.StatusCode) != "401" {
		t.Errorf("after reset %+v", back)
	}
	_, err = e.client.DeleteGatewayResponse(ctx, &apigateway.DeleteGatewayResponseInput{RestApiId: a, ResponseType: types.GatewayResponseTypeUnauthorized})
	wantAPIError(t, err, "NotFoundException", 404, "Gateway response type not defined on api")
	_, err = e.client.GetGatewayResponses(ctx, &apigateway.GetGatewayResponsesInput{RestApiId: aws.String("fake-api-id")})
	wantAPIError(t, err, "NotFoundException", 404, "Invalid API identifier specified 123456789012:fake-api-id")
	_, err = e.client.PutGatewayResponse(ctx, &apigateway.PutGatewayResponseInput{RestApiId: a, ResponseType: "NOPE"})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "ValidationException" {
		t.Errorf("unknown response type: %v", err)
	}
}

func TestRequestValidators(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	api, root := e.createAPI(t, "v")
	a := aws.String(api)
	v, err := e.client.CreateRequestValidator(ctx, &apigateway.CreateRequestValidatorInput{RestApiId: a, Name: aws.String("body"), ValidateRequestBody: true})
	mustNoErr(t, err)
	if len(*v.Id) != 6 || !v.ValidateRequestBody || v.ValidateRequestParameters {
		t.Errorf("validator %+v", v)
	}
	// A method can now use it.
	_, err = e.client.PutMethod(ctx, &apigateway.PutMethodInput{RestApiId: a, ResourceId: aws.String(root), HttpMethod: aws.String("POST"),
		AuthorizationType: aws.String("NONE"), RequestValidatorId: v.Id})
	mustNoErr(t, err)
	upd, err := e.client.UpdateRequestValidator(ctx, &apigateway.UpdateRequestValidatorInput{RestApiId: a, RequestValidatorId: v.Id,
		PatchOperations: []types.PatchOperation{patch(types.OpReplace, "/validateRequestParameters", "true"), patch(types.OpReplace, "/name", "all")}})
	mustNoErr(t, err)
	if !upd.ValidateRequestParameters || aws.ToString(upd.Name) != "all" {
		t.Errorf("updated validator %+v", upd)
	}
	for _, tt := range []struct {
		op  types.PatchOperation
		msg string
	}{
		{patch(types.OpAdd, "/validateRequestBody", "true"), "Invalid patch path  '/validateRequestBody' specified for op 'add'. Please choose supported operations"},
		{patch(types.OpReplace, "/invalidPath", "true"), "Invalid patch path  '/invalidPath' specified for op 'replace'. Must be one of: [/name, /validateRequestParameters, /validateRequestBody]"},
		{patch(types.OpReplace, "/name", ""), "Request Validator name cannot be blank"},
	} {
		_, err := e.client.UpdateRequestValidator(ctx, &apigateway.UpdateRequestValidatorInput{RestApiId: a, RequestValidatorId: v.Id,
			PatchOperations: []types.PatchOperation{tt.op}})
		wantAPIError(t, err, "BadRequestException", 400, tt.msg)
	}
	list, err := e.client.GetRequestValidators(ctx, &apigateway.GetRequestValidatorsInput{RestApiId: a})
	mustNoErr(t, err)
	if len(list.Items) != 1 {
		t.Errorf("validators %d", len(list.Items))
	}
	_, err = e.client.DeleteRequestValidator(ctx, &apigateway.DeleteRequestValidatorInput{RestApiId: a, RequestValidatorId: v.Id})
	mustNoErr(t, err)
	_, err = e.client.GetRequestValidator(ctx, &apigateway.GetRequestValidatorInput{RestApiId: a, RequestValidatorId: v.Id})
	wantAPIError(t, err, "NotFoundException", 404, "Invalid Request Validator identifier specified")
	_, err = e.client.GetRequestValidator(ctx, &apigateway.GetRequestValidatorInput{RestApiId: aws.String("nope"), RequestValidatorId: v.Id})
	wantAPIError(t, err, "NotFoundException", 404, "Invalid Request Validator identifier specified")
	_, err = e.client.GetRequestValidators(ctx, &apigateway.GetRequestValidatorsInput{RestApiId: aws.String("api_id")})
	wantAPIError(t, err, "NotFoundException", 404, "Invalid API identifier specified 123456789012:api_id")
}

func TestModels(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	api, root := e.createAPI(t, "models")
	a := aws.String(api)
	schema := `{"title":"Pet","type":"object","properties":{"name":{"type":"string"}}}`
	m, err := e.client.CreateModel(ctx, &apigateway.CreateModelInput{RestApiId: a, Name: aws.String("Pet"), ContentType: aws.String("application/json"),
		Schema: aws.String(schema), Description: aws.String("a pet")})
	mustNoErr(t, err)
	if len(*m.Id) != 6 || aws.ToString(m.Schema) != schema {
		t.Errorf("model %+v", m)
	}
	errs := []struct {
		name, model, schema, code string
		status                    int
		msg                       string
	}{
		{"exists", "Pet", schema, "ConflictException", 409, "Model name already exists for this REST API"},
		{"empty name", "", schema, "BadRequestException", 400, "Model name must be non-empty"},
		{"empty schema", "Other", "", "BadRequestException", 400, "Model schema must have at least 1 property or array items defined"},
		{"not json", "Other", "<xml/>", "BadRequestException", 400, "Model schema must have at least 1 property or array items defined"},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.client.CreateModel(ctx, &apigateway.CreateModelInput{RestApiId: a, Name: aws.String(tt.model), ContentType: aws.String("application/json"),
				Schema: aws.String(tt.schema)})
			wantAPIError(t, err, tt.code, tt.status, tt.msg)
		})
	}
	_, err = e.client.CreateModel(ctx, &apigateway.CreateModelInput{RestApiId: aws.String("abcde0"), Name: aws.String("X"), ContentType: aws.String("application/json"), Schema: aws.String(schema)})
	wantAPIError(t, err, "NotFoundException", 404, "Invalid API identifier specified 123456789012:abcde0")

	upd, err := e.client.UpdateModel(ctx, &apigateway.UpdateModelInput{RestApiId: a, ModelName: aws.String("Pet"),
		PatchOperations: []types.PatchOperation{patch(types.OpReplace, "/description", "pets")}})
	mustNoErr(t, err)
	if aws.ToString(upd.Description) != "pets" {
		t.Errorf("updated model %+v", upd)
	}
	_, err = e.client.UpdateModel(ctx, &apigateway.UpdateModelInput{RestApiId: a, ModelName: aws.String("Pet"),
		PatchOperations: []types.PatchOperation{patch(types.OpReplace, "/name", "x")}})
	wantAPIError(t, err, "BadRequestException", 400, "Invalid patch path  '/name' specified for op 'replace'. Must be one of: [/description, /schema]")

	// A model used by a method request cannot be deleted.
	_, err = e.client.PutMethod(ctx, &apigateway.PutMethodInput{RestApiId: a, ResourceId: aws.String(root), HttpMethod: aws.String("ANY"),
		AuthorizationType: aws.String("NONE"), RequestModels: map[string]string{"application/json": "Pet"}})
	mustNoErr(t, err)
	_, err = e.client.DeleteModel(ctx, &apigateway.DeleteModelInput{RestApiId: a, ModelName: aws.String("Pet")})
	wantAPIError(t, err, "ConflictException", 409, "Cannot delete model 'Pet', is referenced in method request: //ANY")
	_, err = e.client.DeleteMethod(ctx, &apigateway.DeleteMethodInput{RestApiId: a, ResourceId: aws.String(root), HttpMethod: aws.String("ANY")})
	mustNoErr(t, err)
	_, err = e.client.DeleteModel(ctx, &apigateway.DeleteModelInput{RestApiId: a, ModelName: aws.String("Pet")})
	mustNoErr(t, err)
	_, err = e.client.GetModel(ctx, &apigateway.GetModelInput{RestApiId: a, ModelName: aws.String("Pet")})
	wantAPIError(t, err, "NotFoundException", 404, "Invalid model name specified: Pet")
	list, err := e.client.GetModels(ctx, &apigateway.GetModelsInput{RestApiId: a})
	mustNoErr(t, err)
	if len(list.Items) != 2 {
		t.Errorf("models left %d (want Empty, Error)", len(list.Items))
	}
}
