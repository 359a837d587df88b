package httpapi

import (
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2/types"
)

const petsOpenAPI = `
openapi: "3.0.1"
info:
  title: pets
  description: the pet store
  version: "2024-01-01"
servers:
  - url: https://api.example.com/{base}
    variables:
      base:
        default: v1
x-amazon-apigateway-cors:
  allowOrigins: ["https://app.example.com"]
  allowMethods: ["GET", "POST"]
  maxAge: 300
paths:
  /pets/{id}:
    parameters:
      - name: id
        in: path
        required: true
    get:
      operationId: getPet
      x-amazon-apigateway-integration:
        type: aws_proxy
        uri: arn:aws:lambda:us-east-1:123456789012:function:hello
        httpMethod: POST
        payloadFormatVersion: 2.0
  /pets:
    post:
      x-amazon-apigateway-integration:
        type: http_proxy
        uri: https://backend.example.com/pets
        httpMethod: POST
        timeoutInMillis: 5000
        requestParameters:
          append:header.x-source: $context.requestId
  /{proxy+}:
    x-amazon-apigateway-any-method:
      x-amazon-apigateway-integration:
        type: AWS_PROXY
        uri: arn:aws:lambda:us-east-1:123456789012:function:hello
        payloadFormatVersion: "1.0"
  /$default:
    x-amazon-apigateway-any-method:
      x-amazon-apigateway-integration:
        type: aws_proxy
        uri: arn:aws:lambda:us-east-1:123456789012:function:hello
        payloadFormatVersion: "2.0"
`

func TestImportAndReimportAPI(t *testing.T) {
	e := newEnv(t)
	api := check(e.c.ImportApi(e.ctx, &apigatewayv2.ImportApiInput{Body: aws.String(petsOpenAPI)})).get(t)
	if aws.ToString(api.Name) != "pets" || aws.ToString(api.Version) != "2024-01-01" || api.ProtocolType != types.ProtocolTypeHttp ||
		api.CorsConfiguration == nil || aws.ToInt32(api.CorsConfiguration.MaxAge) != 300 {
		t.Fatalf("ImportApi = %+v", api)
	}
	routes := check(e.c.GetRoutes(e.ctx, &apigatewayv2.GetRoutesInput{ApiId: api.ApiId})).get(t)
	var keys []string
	for _, r := range routes.Items {
		keys = append(keys, *r.RouteKey)
		if *r.RouteKey == "GET /pets/{id}" && aws.ToString(r.OperationName) != "getPet" {
			t.Fatalf("operationName = %v", r.OperationName)
		}
	}
	slices.Sort(keys)
	if want := []string{"$default", "ANY /{proxy+}", "GET /pets/{id}", "POST /pets"}; !slices.Equal(keys, want) {
		t.Fatalf("imported routes = %v, want %v", keys, want)
	}
	integs := check(e.c.GetIntegrations(e.ctx, &apigatewayv2.GetIntegrationsInput{ApiId: api.ApiId})).get(t)
	if len(integs.Items) != 4 {
		t.Fatalf("imported integrations = %d", len(integs.Items))
	}
	for _, in := range integs.Items {
		if in.IntegrationType == types.IntegrationTypeHttpProxy && (aws.ToInt32(in.TimeoutInMillis) != 5000 ||
			in.RequestParameters["append:header.x-source"] != "$context.requestId" || aws.ToString(in.PayloadFormatVersion) != "1.0") {
			t.Fatalf("http_proxy integration = %+v", in)
		}
	}

	// Reimport replaces routes and integrations and auto-deploys.
	def := check(e.c.CreateStage(e.ctx, &apigatewayv2.CreateStageInput{ApiId: api.ApiId, StageName: aws.String("$default"), AutoDeploy: aws.Bool(true)})).get(t)
	small := `{"openapi":"3.0.1","info":{"title":"pets2"},"paths":{"/only":{"get":{"x-amazon-apigateway-integration":{"type":"http_proxy","uri":"http://b.example","httpMethod":"GET"}}}}}`
	re := check(e.c.ReimportApi(e.ctx, &apigatewayv2.ReimportApiInput{ApiId: api.ApiId, Body: aws.String(small)})).get(t)
	if aws.ToString(re.Name) != "pets2" || re.CorsConfiguration != nil {
		t.Fatalf("ReimportApi = %+v", re)
	}
	routes = check(e.c.GetRoutes(e.ctx, &apigatewayv2.GetRoutesInput{ApiId: api.ApiId})).get(t)
	if len(routes.Items) != 1 || *routes.Items[0].RouteKey != "GET /only" {
		t.Fatalf("routes after reimport = %+v", routes.Items)
	}
	st := check(e.c.GetStage(e.ctx, &apigatewayv2.GetStageInput{ApiId: api.ApiId, StageName: aws.String("$default")})).get(t)
	if *st.DeploymentId == *def.DeploymentId || !slices.Equal(routeKeys(e.snapshot(*api.ApiId, *st.DeploymentId)), []string{"GET /only"}) {
		t.Fatalf("reimport did not auto-deploy: %+v", st)
	}

	// basepath=prepend puts the server's base path in front of every route.
	pre := check(e.c.ImportApi(e.ctx, &apigatewayv2.ImportApiInput{Body: aws.String(petsOpenAPI), Basepath: aws.String("prepend")})).get(t)
	routes = check(e.c.GetRoutes(e.ctx, &apigatewayv2.GetRoutesInput{ApiId: pre.ApiId})).get(t)
	keys = nil
	for _, r := range routes.Items {
		keys = append(keys, *r.RouteKey)
	}
	if !slices.Contains(keys, "GET /v1/pets/{id}") || !slices.Contains(keys, "$default") {
		t.Fatalf("prepended routes = %v", keys)
	}
}

// The root tags' x-amazon-apigateway-tag-value become the API's tags (a tag
// without one is documentation); a reimport sets those it names.
func TestImportAPITags(t *testing.T) {
	e := newEnv(t)
	doc := func(tags string) *string {
		return aws.String(`{"openapi":"3.0.1","info":{"title":"tagged"},"tags":[` + tags + `],"paths":{}}`)
	}
	api := check(e.c.ImportApi(e.ctx, &apigatewayv2.ImportApiInput{Body: doc(
		`{"name":"team","x-amazon-apigateway-tag-value":"blue"},{"name":"pets","description":"docs only"}`)})).get(t)
	if len(api.Tags) != 1 || api.Tags["team"] != "blue" {
		t.Fatalf("imported tags = %v", api.Tags)
	}
	check(e.c.ReimportApi(e.ctx, &apigatewayv2.ReimportApiInput{ApiId: api.ApiId, Body: doc(`{"name":"env","x-amazon-apigateway-tag-value":"prod"}`)})).get(t)
	got := check(e.c.GetApi(e.ctx, &apigatewayv2.GetApiInput{ApiId: api.ApiId})).get(t)
	if len(got.Tags) != 2 || got.Tags["team"] != "blue" || got.Tags["env"] != "prod" {
		t.Fatalf("tags after reimport = %v", got.Tags)
	}
	_, err := e.c.ImportApi(e.ctx, &apigatewayv2.ImportApiInput{Body: doc(`{"x-amazon-apigateway-tag-value":"x"}`)})
	wantAPIError(t, err, "BadRequestException", "has no name")
}

func TestImportAPIErrors(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		name, body, code, msg string
	}{
		{"not a document", "{{{", "BadRequestException", "Invalid OpenAPI definition"},
		{"no version", `{"info":{"title":"x"},"paths":{}}`, "BadRequestException", "version field is missing"},
		{"no title", `{"openapi":"3.0.1","info":{},"paths":{}}`, "BadRequestException", "info.title is required"},
		{"security", `{"openapi":"3.0.1","info":{"title":"x"},"paths":{"/a":{"get":{"security":[{"jwt":[]}]}}}}`,
			"BadRequestException", "security scheme jwt is not defined"},
		{"bad route", `{"openapi":"3.0.1","info":{"title":"x"},"paths":{"a":{"get":{}}}}`, "BadRequestException", "Invalid route key specified"},
		{"bad integration", `{"openapi":"3.0.1","info":{"title":"x"},"paths":{"/a":{"get":{"x-amazon-apigateway-integration":{"type":"aws_proxy","uri":"arn:aws:lambda:us-east-1:1:function:f"}}}}}`,
			"BadRequestException", "Invalid integration for route GET /a: Invalid payload format version"},
		{"conflicting variables", `{"openapi":"3.0.1","info":{"title":"x"},"paths":{"/a/{x}":{"get":{}},"/a/{y}":{"post":{}}}}`,
			"ConflictException", "conflicting variable"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.c.ImportApi(e.ctx, &apigatewayv2.ImportApiInput{Body: aws.String(tc.body)})
			wantAPIError(t, err, tc.code, tc.msg)
		})
	}
	if keys := e.st.keys(t, "/apigw/"); len(keys) != 0 {
		t.Fatalf("failed imports left records: %v", keys)
	}
	_, err := e.c.ReimportApi(e.ctx, &apigatewayv2.ReimportApiInput{ApiId: aws.String("nope000000"), Body: aws.String(petsOpenAPI)})
	wantAPIError(t, err, "NotFoundException", "Invalid API identifier specified")
}

func TestExportAPIRoundTrip(t *testing.T) {
	e := newEnv(t)
	api := check(e.c.ImportApi(e.ctx, &apigatewayv2.ImportApiInput{Body: aws.String(petsOpenAPI)})).get(t)
	for _, outputType := range []string{"YAML", "JSON"} {
		out := check(e.c.ExportApi(e.ctx, &apigatewayv2.ExportApiInput{ApiId: api.ApiId, Specification: aws.String("OAS30"),
			OutputType: aws.String(outputType)})).get(t)
		body := string(out.Body)
		for _, want := range []string{"x-amazon-apigateway-any-method", "/$default", "/pets/{id}", "aws_proxy", "getPet",
			"x-amazon-apigateway-cors", "https://app.example.com"} {
			if !strings.Contains(body, want) {
				t.Fatalf("%s export lacks %q:\n%s", outputType, want, body)
			}
		}
		// Importing the export gives the same routes.
		again := check(e.c.ImportApi(e.ctx, &apigatewayv2.ImportApiInput{Body: aws.String(body)})).get(t)
		a := check(e.c.GetRoutes(e.ctx, &apigatewayv2.GetRoutesInput{ApiId: api.ApiId})).get(t)
		b := check(e.c.GetRoutes(e.ctx, &apigatewayv2.GetRoutesInput{ApiId: again.ApiId})).get(t)
		keys := func(rs []types.Route) []string {
			var k []string
			for _, r := range rs {
				k = append(k, *r.RouteKey)
			}
			slices.Sort(k)
			return k
		}
		if !slices.Equal(keys(a.Items), keys(b.Items)) {
			t.Fatalf("%s round trip: %v != %v", outputType, keys(a.Items), keys(b.Items))
		}
	}
	// A stage exports what it serves, not the live definition.
	check(e.c.CreateStage(e.ctx, &apigatewayv2.CreateStageInput{ApiId: api.ApiId, StageName: aws.String("prod")})).get(t)
	check(e.c.CreateDeployment(e.ctx, &apigatewayv2.CreateDeploymentInput{ApiId: api.ApiId, StageName: aws.String("prod")})).get(t)
	integ := e.createLambdaIntegration(*api.ApiId)
	e.createRoute(*api.ApiId, "GET /live-only", integ)
	out := check(e.c.ExportApi(e.ctx, &apigatewayv2.ExportApiInput{ApiId: api.ApiId, Specification: aws.String("OAS30"),
		OutputType: aws.String("JSON"), StageName: aws.String("prod")})).get(t)
	if strings.Contains(string(out.Body), "/live-only") || !strings.Contains(string(out.Body), "/prod/{basePath}") {
		t.Fatalf("stage export:\n%s", out.Body)
	}
	_, err := e.c.ExportApi(e.ctx, &apigatewayv2.ExportApiInput{ApiId: api.ApiId, Specification: aws.String("SWAGGER"), OutputType: aws.String("JSON")})
	wantAPIError(t, err, "BadRequestException", "Must be OAS30")
	_, err = e.c.ExportApi(e.ctx, &apigatewayv2.ExportApiInput{ApiId: api.ApiId, Specification: aws.String("OAS30"), OutputType: aws.String("XML")})
	wantAPIError(t, err, "BadRequestException", "outputType")
}

// Exporting an API keeps its routes' authorization, so importing the export gives
// routes protected the same way (JWT with scopes, a Lambda authorizer, AWS_IAM), not
// open ones; without extensions the import of an export is refused.
func TestExportAPISecurityRoundTrip(t *testing.T) {
	e := newEnv(t)
	api := check(e.c.CreateApi(e.ctx, &apigatewayv2.CreateApiInput{Name: aws.String("sec"), ProtocolType: types.ProtocolTypeHttp})).get(t)
	integ := e.createLambdaIntegration(*api.ApiId)
	jwt := check(e.c.CreateAuthorizer(e.ctx, &apigatewayv2.CreateAuthorizerInput{ApiId: api.ApiId, Name: aws.String("jwt-auth"),
		AuthorizerType: types.AuthorizerTypeJwt, IdentitySource: []string{"$request.header.Authorization"},
		JwtConfiguration: &types.JWTConfiguration{Issuer: aws.String("https://issuer.example.com"), Audience: []string{"aud1"}}})).get(t)
	lam := check(e.c.CreateAuthorizer(e.ctx, &apigatewayv2.CreateAuthorizerInput{ApiId: api.ApiId, Name: aws.String("lambda-auth"),
		AuthorizerType: types.AuthorizerTypeRequest, IdentitySource: []string{"$request.header.X-Token"},
		AuthorizerUri:                  aws.String("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:auth/invocations"),
		AuthorizerPayloadFormatVersion: aws.String("2.0"), EnableSimpleResponses: aws.Bool(true)})).get(t)
	target := aws.String("integrations/" + integ)
	check(e.c.CreateRoute(e.ctx, &apigatewayv2.CreateRouteInput{ApiId: api.ApiId, RouteKey: aws.String("GET /jwt"), Target: target,
		AuthorizationType: types.AuthorizationTypeJwt, AuthorizerId: jwt.AuthorizerId, AuthorizationScopes: []string{"read"}})).get(t)
	check(e.c.CreateRoute(e.ctx, &apigatewayv2.CreateRouteInput{ApiId: api.ApiId, RouteKey: aws.String("GET /lambda"), Target: target,
		AuthorizationType: types.AuthorizationTypeCustom, AuthorizerId: lam.AuthorizerId})).get(t)
	check(e.c.CreateRoute(e.ctx, &apigatewayv2.CreateRouteInput{ApiId: api.ApiId, RouteKey: aws.String("GET /iam"), Target: target,
		AuthorizationType: types.AuthorizationTypeAwsIam})).get(t)
	check(e.c.CreateRoute(e.ctx, &apigatewayv2.CreateRouteInput{ApiId: api.ApiId, RouteKey: aws.String("GET /open"), Target: target})).get(t)

	out := check(e.c.ExportApi(e.ctx, &apigatewayv2.ExportApiInput{ApiId: api.ApiId, Specification: aws.String("OAS30"), OutputType: aws.String("YAML")})).get(t)
	again := check(e.c.ImportApi(e.ctx, &apigatewayv2.ImportApiInput{Body: aws.String(string(out.Body))})).get(t)
	routes := check(e.c.GetRoutes(e.ctx, &apigatewayv2.GetRoutesInput{ApiId: again.ApiId})).get(t)
	auths := check(e.c.GetAuthorizers(e.ctx, &apigatewayv2.GetAuthorizersInput{ApiId: again.ApiId})).get(t)
	byID := map[string]types.Authorizer{}
	for _, a := range auths.Items {
		byID[*a.AuthorizerId] = a
	}
	got := map[string]string{}
	for _, r := range routes.Items {
		desc := string(r.AuthorizationType)
		if r.AuthorizerId != nil {
			a := byID[*r.AuthorizerId]
			desc += " " + *a.Name + " " + string(a.AuthorizerType)
			if a.JwtConfiguration != nil {
				desc += " " + *a.JwtConfiguration.Issuer + " " + strings.Join(a.JwtConfiguration.Audience, ",")
			}
		}
		if len(r.AuthorizationScopes) > 0 {
			desc += " scopes=" + strings.Join(r.AuthorizationScopes, ",")
		}
		got[*r.RouteKey] = desc
	}
	want := map[string]string{
		"GET /jwt":    "JWT jwt-auth JWT https://issuer.example.com aud1 scopes=read",
		"GET /lambda": "CUSTOM lambda-auth REQUEST",
		"GET /iam":    "AWS_IAM",
		"GET /open":   "NONE",
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("re-imported %s: %q, want %q", k, got[k], w)
		}
	}
	// Without extensions the schemes name no authorizer: the import refuses.
	bare := check(e.c.ExportApi(e.ctx, &apigatewayv2.ExportApiInput{ApiId: api.ApiId, Specification: aws.String("OAS30"),
		OutputType: aws.String("JSON"), IncludeExtensions: aws.Bool(false)})).get(t)
	_, err := e.c.ImportApi(e.ctx, &apigatewayv2.ImportApiInput{Body: aws.String(string(bare.Body))})
	wantAPIError(t, err, "BadRequestException", "")
}
