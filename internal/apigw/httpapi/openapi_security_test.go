package httpapi

import (
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2/types"
)

// securedOpenAPI is the shape SAM's HttpApi Auth writes (JSON, numbers where a
// template had them): a JWT authorizer as the document's default, a Lambda
// authorizer on one route, a route opting out with NONE and one with SigV4.
const securedOpenAPI = `{
  "openapi": "3.0.1",
  "info": {"title": "secured", "version": "1.0"},
  "security": [{"OAuth": ["read"]}],
  "paths": {
    "/claims": {"get": {
      "x-amazon-apigateway-integration": {"type": "aws_proxy", "httpMethod": "POST", "payloadFormatVersion": "2.0",
        "uri": "arn:aws:lambda:us-east-1:123456789012:function:hello"},
      "responses": {}}},
    "/admin": {"post": {
      "x-amazon-apigateway-integration": {"type": "aws_proxy", "httpMethod": "POST", "payloadFormatVersion": "2.0",
        "uri": "arn:aws:lambda:us-east-1:123456789012:function:hello"},
      "security": [{"OAuth": ["admin", "write"]}], "responses": {}}},
    "/lambda": {"get": {
      "x-amazon-apigateway-integration": {"type": "aws_proxy", "httpMethod": "POST", "payloadFormatVersion": "2.0",
        "uri": "arn:aws:lambda:us-east-1:123456789012:function:hello"},
      "security": [{"Gate": []}], "responses": {}}},
    "/open": {"get": {
      "x-amazon-apigateway-integration": {"type": "aws_proxy", "httpMethod": "POST", "payloadFormatVersion": "2.0",
        "uri": "arn:aws:lambda:us-east-1:123456789012:function:hello"},
      "security": [{"NONE": []}], "responses": {}}},
    "/signed": {"get": {
      "x-amazon-apigateway-integration": {"type": "aws_proxy", "httpMethod": "POST", "payloadFormatVersion": "2.0",
        "uri": "arn:aws:lambda:us-east-1:123456789012:function:hello"},
      "security": [{"AWS_IAM": []}], "responses": {}}}
  },
  "components": {"securitySchemes": {
    "OAuth": {"type": "oauth2", "x-amazon-apigateway-authorizer": {"type": "jwt", "identitySource": "$request.header.Authorization",
      "jwtConfiguration": {"issuer": "https://issuer.example.com", "audience": ["api"]}}},
    "Gate": {"type": "apiKey", "name": "Unused", "in": "header", "x-amazon-apigateway-authorizer": {"type": "request",
      "authorizerUri": "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:gate/invocations",
      "authorizerPayloadFormatVersion": 2, "enableSimpleResponses": true, "identitySource": ["$request.header.X-Key", "$request.querystring.k"],
      "authorizerResultTtlInSeconds": 60}},
    "AWS_IAM": {"type": "apiKey", "name": "Authorization", "in": "header", "x-amazon-apigateway-authtype": "awsSigv4"}
  }}
}`

func TestImportAPISecurity(t *testing.T) {
	e := newEnv(t)
	api := check(e.c.ImportApi(e.ctx, &apigatewayv2.ImportApiInput{Body: aws.String(securedOpenAPI)})).get(t)
	auths := check(e.c.GetAuthorizers(e.ctx, &apigatewayv2.GetAuthorizersInput{ApiId: api.ApiId})).get(t)
	byName := map[string]types.Authorizer{}
	for _, a := range auths.Items {
		byName[aws.ToString(a.Name)] = a
	}
	jwt, gate := byName["OAuth"], byName["Gate"]
	if len(auths.Items) != 2 || jwt.AuthorizerType != types.AuthorizerTypeJwt || aws.ToString(jwt.JwtConfiguration.Issuer) != "https://issuer.example.com" ||
		!slices.Equal(jwt.JwtConfiguration.Audience, []string{"api"}) || !slices.Equal(jwt.IdentitySource, []string{"$request.header.Authorization"}) {
		t.Fatalf("authorizers = %+v", auths.Items)
	}
	if gate.AuthorizerType != types.AuthorizerTypeRequest || aws.ToString(gate.AuthorizerPayloadFormatVersion) != "2.0" ||
		!aws.ToBool(gate.EnableSimpleResponses) || aws.ToInt32(gate.AuthorizerResultTtlInSeconds) != 60 ||
		!slices.Equal(gate.IdentitySource, []string{"$request.header.X-Key", "$request.querystring.k"}) {
		t.Fatalf("Gate = %+v", gate)
	}

	want := map[string]struct {
		authType   types.AuthorizationType
		authorizer string
		scopes     []string
	}{
		"GET /claims": {types.AuthorizationTypeJwt, *jwt.AuthorizerId, []string{"read"}},
		"POST /admin": {types.AuthorizationTypeJwt, *jwt.AuthorizerId, []string{"admin", "write"}},
		"GET /lambda": {types.AuthorizationTypeCustom, *gate.AuthorizerId, nil},
		"GET /open":   {types.AuthorizationTypeNone, "", nil},
		"GET /signed": {types.AuthorizationTypeAwsIam, "", nil},
	}
	routes := check(e.c.GetRoutes(e.ctx, &apigatewayv2.GetRoutesInput{ApiId: api.ApiId})).get(t)
	if len(routes.Items) != len(want) {
		t.Fatalf("routes = %+v", routes.Items)
	}
	for _, r := range routes.Items {
		w := want[aws.ToString(r.RouteKey)]
		if r.AuthorizationType != w.authType || aws.ToString(r.AuthorizerId) != w.authorizer || !slices.Equal(r.AuthorizationScopes, w.scopes) {
			t.Errorf("route %s = %s %q %v, want %s %q %v", aws.ToString(r.RouteKey), r.AuthorizationType, aws.ToString(r.AuthorizerId),
				r.AuthorizationScopes, w.authType, w.authorizer, w.scopes)
		}
	}

	// A reimport redefines the authorizers in place: same ids, new settings.
	changed := `{"openapi":"3.0.1","info":{"title":"secured"},"paths":{"/claims":{"get":{"security":[{"OAuth":[]}],
    "x-amazon-apigateway-integration":{"type":"aws_proxy","payloadFormatVersion":"2.0","uri":"arn:aws:lambda:us-east-1:123456789012:function:hello"}}}},
  "components":{"securitySchemes":{"OAuth":{"type":"oauth2","x-amazon-apigateway-authorizer":{"type":"jwt",
    "jwtConfiguration":{"issuer":"https://other.example.com","audience":"api,web"}}}}}}`
	check(e.c.ReimportApi(e.ctx, &apigatewayv2.ReimportApiInput{ApiId: api.ApiId, Body: aws.String(changed)})).get(t)
	a := check(e.c.GetAuthorizer(e.ctx, &apigatewayv2.GetAuthorizerInput{ApiId: api.ApiId, AuthorizerId: jwt.AuthorizerId})).get(t)
	if aws.ToString(a.JwtConfiguration.Issuer) != "https://other.example.com" || !slices.Equal(a.JwtConfiguration.Audience, []string{"api", "web"}) {
		t.Fatalf("reimported authorizer = %+v", a)
	}
	routes = check(e.c.GetRoutes(e.ctx, &apigatewayv2.GetRoutesInput{ApiId: api.ApiId})).get(t)
	if len(routes.Items) != 1 || aws.ToString(routes.Items[0].AuthorizerId) != *jwt.AuthorizerId || routes.Items[0].AuthorizationScopes != nil {
		t.Fatalf("routes after reimport = %+v", routes.Items)
	}
}

// TestImportAPISecurityRefused: a requirement Sluice cannot enforce refuses the
// import, and nothing is written.
func TestImportAPISecurityRefused(t *testing.T) {
	e := newEnv(t)
	doc := func(security, schemes string) string {
		return `{"openapi":"3.0.1","info":{"title":"x"},"paths":{"/a":{"get":{"security":` + security + `}}},
      "components":{"securitySchemes":` + schemes + `}}`
	}
	jwt := `"J":{"type":"oauth2","x-amazon-apigateway-authorizer":{"type":"jwt","jwtConfiguration":{"issuer":"https://i.example","audience":["a"]}}}`
	jwt2 := `"K":{"type":"oauth2","x-amazon-apigateway-authorizer":{"type":"jwt","jwtConfiguration":{"issuer":"https://k.example","audience":["a"]}}}`
	cases := []struct{ name, body, msg string }{
		{"undefined", doc(`[{"jwt":[]}]`, `{}`), "security scheme jwt is not defined"},
		{"api key", doc(`[{"key":[]}]`, `{"key":{"type":"apiKey","name":"x-api-key","in":"header"}}`),
			"security scheme key has neither an x-amazon-apigateway-authorizer"},
		{"two authorizers", doc(`[{"J":[]},{"K":[]}]`, `{`+jwt+`,`+jwt2+`}`), "an HTTP API route has one authorizer"},
		{"jwt without issuer", doc(`[{"J":[]}]`, `{"J":{"type":"oauth2","x-amazon-apigateway-authorizer":{"type":"jwt","jwtConfiguration":{"audience":["a"]}}}}`),
			"Unable to create authorizer 'J': JwtConfiguration with an Issuer is required"},
		{"request without version", doc(`[{"L":[]}]`, `{"L":{"type":"apiKey","x-amazon-apigateway-authorizer":{"type":"request","authorizerUri":"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:1:function:f/invocations"}}}`),
			"AuthorizerPayloadFormatVersion is required"},
		{"token type", doc(`[{"T":[]}]`, `{"T":{"type":"apiKey","x-amazon-apigateway-authorizer":{"type":"token"}}}`), `type "token" is not supported for HTTP APIs`},
		{"scopes on a Lambda authorizer", doc(`[{"L":["s"]}]`, `{"L":{"type":"apiKey","x-amazon-apigateway-authorizer":{"type":"request","authorizerPayloadFormatVersion":"2.0","authorizerUri":"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:1:function:f/invocations"}}}`),
			"AuthorizationScopes are supported only when authorizationType is JWT"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.c.ImportApi(e.ctx, &apigatewayv2.ImportApiInput{Body: aws.String(tc.body)})
			wantAPIError(t, err, "BadRequestException", tc.msg)
		})
	}
	if keys := e.st.keys(t, "/apigw/"); len(keys) != 0 {
		t.Fatalf("failed imports left records: %v", keys)
	}
}
