package restapi

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigateway/types"
)

func TestMethodLifecycle(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	api, root := e.createAPI(t, "m")
	r := e.createResource(t, api, root, "blocks")
	in := func(verb string) *apigateway.PutMethodInput {
		return &apigateway.PutMethodInput{RestApiId: aws.String(api), ResourceId: aws.String(r), HttpMethod: aws.String(verb),
			AuthorizationType: aws.String("NONE")}
	}
	put := in("GET")
	put.ApiKeyRequired = true
	put.OperationName = aws.String("ListBlocks")
	put.RequestParameters = map[string]bool{"method.request.header.token": true, "method.request.querystring.page": false}
	put.RequestModels = map[string]string{"application/json": "Empty"}
	out, err := e.client.PutMethod(ctx, put)
	mustNoErr(t, err)
	if aws.ToString(out.HttpMethod) != "GET" || aws.ToString(out.AuthorizationType) != "NONE" || !aws.ToBool(out.ApiKeyRequired) ||
		!out.RequestParameters["method.request.header.token"] || out.RequestModels["application/json"] != "Empty" {
		t.Errorf("put method %+v", out)
	}
	_, err = e.client.PutMethod(ctx, in("GET"))
	wantAPIError(t, err, "ConflictException", 409, "Method already exists for this resource")

	got, err := e.client.GetMethod(ctx, &apigateway.GetMethodInput{RestApiId: aws.String(api), ResourceId: aws.String(r), HttpMethod: aws.String("GET")})
	mustNoErr(t, err)
	if aws.ToString(got.OperationName) != "ListBlocks" || got.MethodIntegration != nil {
		t.Errorf("get method %+v", got)
	}

	upd, err := e.client.UpdateMethod(ctx, &apigateway.UpdateMethodInput{RestApiId: aws.String(api), ResourceId: aws.String(r), HttpMethod: aws.String("GET"),
		PatchOperations: []types.PatchOperation{
			patch(types.OpReplace, "/apiKeyRequired", "false"),
			patch(types.OpAdd, "/requestParameters/method.request.header.x-id", "true"),
			patch(types.OpRemove, "/requestParameters/method.request.querystring.page", ""),
			patch(types.OpReplace, "/requestModels/application~1json", "Error"),
			patch(types.OpReplace, "/authorizationType", "AWS_IAM"),
			patch(types.OpReplace, "/operationName", "Blocks"),
		}})
	mustNoErr(t, err)
	if aws.ToBool(upd.ApiKeyRequired) || !upd.RequestParameters["method.request.header.x-id"] || len(upd.RequestParameters) != 2 ||
		upd.RequestModels["application/json"] != "Error" || aws.ToString(upd.AuthorizationType) != "AWS_IAM" || aws.ToString(upd.OperationName) != "Blocks" {
		t.Errorf("updated method %+v", upd)
	}

	_, err = e.client.DeleteMethod(ctx, &apigateway.DeleteMethodInput{RestApiId: aws.String(api), ResourceId: aws.String(r), HttpMethod: aws.String("GET")})
	mustNoErr(t, err)
	_, err = e.client.GetMethod(ctx, &apigateway.GetMethodInput{RestApiId: aws.String(api), ResourceId: aws.String(r), HttpMethod: aws.String("GET")})
	wantAPIError(t, err, "NotFoundException", 404, "Invalid Method identifier specified")
	_, err = e.client.DeleteMethod(ctx, &apigateway.DeleteMethodInput{RestApiId: aws.String(api), ResourceId: aws.String(r), HttpMethod: aws.String("GET")})
	wantAPIError(t, err, "NotFoundException", 404, "Invalid Method identifier specified")
}

func TestPutMethodErrors(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	api, root := e.createAPI(t, "m")
	tests := []struct {
		name   string
		mutate func(*apigateway.PutMethodInput)
		code   string
		status int
		msg    string
	}{
		{"bad verb", func(in *apigateway.PutMethodInput) { in.HttpMethod = aws.String("FETCH") }, "BadRequestException", 400,
			"Invalid HttpMethod specified. Valid options are GET,PUT,POST,DELETE,PATCH,OPTIONS,HEAD,ANY"},
		{"custom without authorizer", func(in *apigateway.PutMethodInput) { in.AuthorizationType = aws.String("CUSTOM") }, "BadRequestException", 400,
			"Invalid authorizer ID specified. Setting the authorization type to CUSTOM or COGNITO_USER_POOLS requires a valid authorizer."},
		{"custom unknown authorizer", func(in *apigateway.PutMethodInput) {
			in.AuthorizationType = aws.String("CUSTOM")
			in.AuthorizerId = aws.String("abc123")
		}, "BadRequestException", 400,
			"Invalid authorizer ID specified. Setting the authorization type to CUSTOM or COGNITO_USER_POOLS requires a valid authorizer."},
		{"unknown validator", func(in *apigateway.PutMethodInput) { in.RequestValidatorId = aws.String("nope") }, "BadRequestException", 400,
			"Invalid Request Validator identifier specified"},
		{"unknown model", func(in *apigateway.PutMethodInput) {
			in.RequestModels = map[string]string{"application/json": "petModel"}
		}, "BadRequestException", 400,
			"Invalid model identifier specified: petModel"},
		{"duplicate parameter name", func(in *apigateway.PutMethodInput) {
			in.RequestParameters = map[string]bool{"method.request.header.id": true, "method.request.querystring.id": false}
		}, "BadRequestException", 400, "Parameter names must be unique across querystring, header and path"},
		{"missing resource", func(in *apigateway.PutMethodInput) { in.ResourceId = aws.String("nope") }, "NotFoundException", 404,
			"Invalid Resource identifier specified"},
		{"missing api", func(in *apigateway.PutMethodInput) { in.RestApiId = aws.String("nope") }, "NotFoundException", 404,
			"Invalid Resource identifier specified"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := &apigateway.PutMethodInput{RestApiId: aws.String(api), ResourceId: aws.String(root), HttpMethod: aws.String("POST"),
				AuthorizationType: aws.String("NONE")}
			tt.mutate(in)
			_, err := e.client.PutMethod(ctx, in)
			wantAPIError(t, err, tt.code, tt.status, tt.msg)
		})
	}
}

func TestUpdateMethodErrors(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	api, root := e.createAPI(t, "m")
	e.mockMethod(t, api, root, "ANY")
	tests := []struct {
		name   string
		verb   string
		op     types.PatchOperation
		code   string
		status int
		msg    string
	}{
		{"missing method", "GET", patch(types.OpReplace, "/apiKeyRequired", "true"), "NotFoundException", 404, "Invalid Method identifier specified"},
		{"http method path", "ANY", patch(types.OpReplace, "/httpMethod", "GET"), "BadRequestException", 400, "Invalid patch path /httpMethod"},
		{"bare requestParameters", "ANY", patch(types.OpAdd, "/requestParameters", "x"), "BadRequestException", 400, "Invalid patch path /requestParameters"},
		{"unescaped content type", "ANY", patch(types.OpAdd, "/requestModels/application/json", "Empty"), "BadRequestException", 400,
			"Invalid patch path /requestModels/application/json"},
		{"add scalar", "ANY", patch(types.OpAdd, "/apiKeyRequired", "true"), "BadRequestException", 400, "Invalid patch operation specified. Must be one of: [replace]"},
		{"unknown validator", "ANY", patch(types.OpReplace, "/requestValidatorId", "nope"), "BadRequestException", 400, "Invalid Request Validator identifier specified"},
		{"custom without authorizer", "ANY", patch(types.OpReplace, "/authorizationType", "CUSTOM"), "BadRequestException", 400,
			"Invalid authorizer ID specified. Setting the authorization type to CUSTOM or COGNITO_USER_POOLS requires a valid authorizer."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.client.UpdateMethod(ctx, &apigateway.UpdateMethodInput{RestApiId: aws.String(api), ResourceId: aws.String(root),
				HttpMethod: aws.String(tt.verb), PatchOperations: []types.PatchOperation{tt.op}})
			wantAPIError(t, err, tt.code, tt.status, tt.msg)
		})
	}
}

func TestIntegrationLifecycle(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	api, root := e.createAPI(t, "i")
	r := e.createResource(t, api, root, "{proxy+}")
	_, err := e.client.PutMethod(ctx, &apigateway.PutMethodInput{RestApiId: aws.String(api), ResourceId: aws.String(r),
		HttpMethod: aws.String("ANY"), AuthorizationType: aws.String("NONE")})
	mustNoErr(t, err)
	uri := "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:email/invocations"
	out, err := e.client.PutIntegration(ctx, &apigateway.PutIntegrationInput{RestApiId: aws.String(api), ResourceId: aws.String(r),
		HttpMethod: aws.String("ANY"), Type: types.IntegrationTypeAwsProxy, IntegrationHttpMethod: aws.String("POST"), Uri: aws.String(uri)})
	mustNoErr(t, err)
	// AWS defaults: WHEN_NO_MATCH, 29 s, cache namespace = resource id, no cache keys.
	if out.Type != types.IntegrationTypeAwsProxy || aws.ToString(out.HttpMethod) != "POST" || aws.ToString(out.Uri) != uri ||
		aws.ToString(out.PassthroughBehavior) != "WHEN_NO_MATCH" || out.TimeoutInMillis != 29000 ||
		aws.ToString(out.CacheNamespace) != r || out.CacheKeyParameters == nil || len(out.CacheKeyParameters) != 0 {
		t.Errorf("put integration %+v", out)
	}
	m, err := e.client.GetMethod(ctx, &apigateway.GetMethodInput{RestApiId: aws.String(api), ResourceId: aws.String(r), HttpMethod: aws.String("ANY")})
	mustNoErr(t, err)
	if m.MethodIntegration == nil || aws.ToString(m.MethodIntegration.Uri) != uri {
		t.Errorf("method integration %+v", m.MethodIntegration)
	}

	upd, err := e.client.UpdateIntegration(ctx, &apigateway.UpdateIntegrationInput{RestApiId: aws.String(api), ResourceId: aws.String(r),
		HttpMethod: aws.String("ANY"), PatchOperations: []types.PatchOperation{
			patch(types.OpReplace, "/timeoutInMillis", "5000"),
			patch(types.OpAdd, "/requestTemplates/application~1json", `{"a":1}`),
			patch(types.OpAdd, "/cacheKeyParameters/method.request.path.proxy", ""),
		}})
	mustNoErr(t, err)
	if upd.TimeoutInMillis != 5000 || upd.RequestTemplates["application/json"] != `{"a":1}` ||
		len(upd.CacheKeyParameters) != 1 || upd.CacheKeyParameters[0] != "method.request.path.proxy" {
		t.Errorf("updated integration %+v", upd)
	}
	_, err = e.client.UpdateIntegration(ctx, &apigateway.UpdateIntegrationInput{RestApiId: aws.String(api), ResourceId: aws.String(r),
		HttpMethod: aws.String("ANY"), PatchOperations: []types.PatchOperation{patch(types.OpReplace, "/timeoutInMillis", "30000")}})
	wantAPIError(t, err, "BadRequestException", 400, "Timeout should be between 50 ms and 29000 ms")

	got, err := e.client.GetIntegration(ctx, &apigateway.GetIntegrationInput{RestApiId: aws.String(api), ResourceId: aws.String(r), HttpMethod: aws.String("ANY")})
	mustNoErr(t, err)
	if got.TimeoutInMillis != 5000 {
		t.Errorf("failed update was applied: %+v", got)
	}
	_, err = e.client.DeleteIntegration(ctx, &apigateway.DeleteIntegrationInput{RestApiId: aws.String(api), ResourceId: aws.String(r), HttpMethod: aws.String("ANY")})
	mustNoErr(t, err)
	_, err = e.client.GetIntegration(ctx, &apigateway.GetIntegrationInput{RestApiId: aws.String(api), ResourceId: aws.String(r), HttpMethod: aws.String("ANY")})
	wantAPIError(t, err, "NotFoundException", 404, "Invalid Integration identifier specified")

	http, err := e.client.PutIntegration(ctx, &apigateway.PutIntegrationInput{RestApiId: aws.String(api), ResourceId: aws.String(r),
		HttpMethod: aws.String("ANY"), Type: types.IntegrationTypeHttpProxy, IntegrationHttpMethod: aws.String("ANY"),
		Uri: aws.String("http://${stageVariables.host}/{proxy}")})
	mustNoErr(t, err)
	if http.ConnectionType != types.ConnectionTypeInternet {
		t.Errorf("HTTP_PROXY connectionType %q", http.ConnectionType)
	}
}

func TestPutIntegrationErrors(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	api, root := e.createAPI(t, "i")
	_, err := e.client.PutMethod(ctx, &apigateway.PutMethodInput{RestApiId: aws.String(api), ResourceId: aws.String(root),
		HttpMethod: aws.String("GET"), AuthorizationType: aws.String("NONE")})
	mustNoErr(t, err)
	lambdaURI := "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:f/invocations"
	tests := []struct {
		name   string
		in     apigateway.PutIntegrationInput
		code   string
		status int
		msg    string
	}{
		{"bad type", apigateway.PutIntegrationInput{Type: "HTTPS_PROXY"}, "ValidationException", 400,
			"1 validation error detected: Value 'HTTPS_PROXY' at 'putIntegrationInput.type' failed to satisfy constraint: Member must satisfy enum value set: [HTTP, MOCK, AWS_PROXY, HTTP_PROXY, AWS]"},
		{"aws without method", apigateway.PutIntegrationInput{Type: "AWS_PROXY", Uri: aws.String(lambdaURI)}, "BadRequestException", 400,
			"Enumeration value for HttpMethod must be non-empty"},
		{"aws bad arn", apigateway.PutIntegrationInput{Type: "AWS", IntegrationHttpMethod: aws.String("POST"), Uri: aws.String("lambda")}, "BadRequestException", 400,
			"Invalid ARN specified in the request"},
		{"aws no path", apigateway.PutIntegrationInput{Type: "AWS", IntegrationHttpMethod: aws.String("POST"), Uri: aws.String("arn:aws:apigateway:us-east-1:s3:bucket")},
			"BadRequestException", 400, "AWS ARN for integration must contain path or action"},
		{"proxy not lambda", apigateway.PutIntegrationInput{Type: "AWS_PROXY", IntegrationHttpMethod: aws.String("POST"), Uri: aws.String("arn:aws:apigateway:us-east-1:s3:path/bucket")},
			"BadRequestException", 400, "Integrations of type 'AWS_PROXY' currently only supports Lambda function and Firehose stream invocations."},
		{"http bad url", apigateway.PutIntegrationInput{Type: "HTTP", IntegrationHttpMethod: aws.String("GET"), Uri: aws.String("ftp://x")}, "BadRequestException", 400,
			"Invalid HTTP endpoint specified for URI"},
		{"timeout low", apigateway.PutIntegrationInput{Type: "MOCK", TimeoutInMillis: aws.Int32(49)}, "BadRequestException", 400, "Timeout should be between 50 ms and 29000 ms"},
		{"timeout high", apigateway.PutIntegrationInput{Type: "MOCK", TimeoutInMillis: aws.Int32(29001)}, "BadRequestException", 400, "Timeout should be between 50 ms and 29000 ms"},
		{"missing method", apigateway.PutIntegrationInput{Type: "MOCK", HttpMethod: aws.String("POST")}, "NotFoundException", 404, "Invalid Method identifier specified"},
		{"missing resource", apigateway.PutIntegrationInput{Type: "MOCK", ResourceId: aws.String("nope")}, "NotFoundException", 404, "Invalid Resource identifier specified"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in
			in.RestApiId = aws.String(api)
			if in.ResourceId == nil {
				in.ResourceId = aws.String(root)
			}
			if in.HttpMethod == nil {
				in.HttpMethod = aws.String("GET")
			}
			_, err := e.client.PutIntegration(ctx, &in)
			wantAPIError(t, err, tt.code, tt.status, tt.msg)
		})
	}
	_, err = e.client.GetIntegration(ctx, &apigateway.GetIntegrationInput{RestApiId: aws.String(api), ResourceId: aws.String(root), HttpMethod: aws.String("GET")})
	wantAPIError(t, err, "NotFoundException", 404, "Invalid Integration identifier specified")
}
