package cfn

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestSAMHTTPAPI(t *testing.T) {
	s := &Service{region: "us-east-1", account: "123456789012"}
	body := `
Transform: AWS::Serverless-2016-10-31
Resources:
  F:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: s3://b/k
      Events:
        Get: {Type: HttpApi, Properties: {ApiId: !Ref Api, Path: "/items/{id}", Method: GET}}
        Any: {Type: HttpApi}
  Api:
    Type: AWS::Serverless::HttpApi
    Properties:
      StageName: v-1
      CorsConfiguration: true
      DefinitionBody:
        openapi: 3.0.1
        info: {title: mine, version: "2"}
        paths: {/health: {get: {x-amazon-apigateway-integration: {type: http_proxy, httpMethod: GET, uri: "https://example.com"}}}}
`
	p, _, err := s.prepare(planInput{body: body, stackName: "st", stackID: "arn:x/st/1"})
	if err != nil {
		t.Fatal(err)
	}
	res := p.tmpl.Resources
	for id, typ := range map[string]string{"Api": "AWS::ApiGatewayV2::Api", "Apiv1Stage": "AWS::ApiGatewayV2::Stage",
		"FGetPermission": "AWS::Lambda::Permission", "ServerlessHttpApi": "AWS::ApiGatewayV2::Api",
		"ServerlessHttpApiApiGatewayDefaultStage": "AWS::ApiGatewayV2::Stage", "FAnyPermission": "AWS::Lambda::Permission"} {
		if res[id] == nil || res[id].Type != typ {
			t.Fatalf("%s: %v", id, res[id])
		}
	}
	js := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	b := res["Api"].Properties["Body"].(map[string]any)
	if got := js(b["x-amazon-apigateway-cors"]); got != `{"allowHeaders":["*"],"allowMethods":["*"],"allowOrigins":["*"]}` {
		t.Errorf("cors = %s", got)
	}
	paths := b["paths"].(map[string]any)
	if paths["/health"] == nil || paths["/items/{id}"].(map[string]any)["get"] == nil || b["info"].(map[string]any)["title"] != "mine" {
		t.Errorf("body = %s", js(b))
	}
	if got := js(res["Apiv1Stage"].Properties); got != `{"ApiId":{"Ref":"Api"},"AutoDeploy":true,"StageName":"v-1","Tags":{"httpapi:createdBy":"SAM"}}` {
		t.Errorf("stage = %s", got)
	}
	if got := js(res["FGetPermission"].Properties["SourceArn"]); !strings.Contains(got, "${Api}/*/GET/items/*") {
		t.Errorf("permission = %s", got)
	}
}

// Globals.HttpApi applies to every HttpApi, the implicit one too, under each
// API's own properties; Tags (with SAM's httpapi:createdBy) go into the body as
// root tags and onto the stage; a Globals property SAM does not take is refused
// with SAM's words.
func TestSAMHTTPAPIGlobalsAndTags(t *testing.T) {
	s := &Service{region: "us-east-1", account: "123456789012"}
	body := `
Transform: AWS::Serverless-2016-10-31
Globals:
  HttpApi:
    Tags: {team: blue, env: dev}
    StageVariables: {color: red}
Resources:
  F:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: s3://b/k
      Events:
        Get: {Type: HttpApi, Properties: {ApiId: !Ref Api, Path: /items, Method: GET}}
        Any: {Type: HttpApi}
  Api:
    Type: AWS::Serverless::HttpApi
    Properties:
      StageName: prod
      Tags: {env: prod}
`
	p, _, err := s.prepare(planInput{body: body, stackName: "st", stackID: "arn:x/st/1"})
	if err != nil {
		t.Fatal(err)
	}
	res := p.tmpl.Resources
	js := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	if got := js(res["Api"].Properties["Body"].(map[string]any)["tags"]); got != `[{"name":"env","x-amazon-apigateway-tag-value":"prod"},{"name":"httpapi:createdBy","x-amazon-apigateway-tag-value":"SAM"},{"name":"team","x-amazon-apigateway-tag-value":"blue"}]` {
		t.Errorf("body tags = %s", got)
	}
	if got := js(res["ApiprodStage"].Properties); got != `{"ApiId":{"Ref":"Api"},"AutoDeploy":true,"StageName":"prod","StageVariables":{"color":"red"},"Tags":{"env":"prod","httpapi:createdBy":"SAM","team":"blue"}}` {
		t.Errorf("stage = %s", got)
	}
	if got := js(res["ServerlessHttpApiApiGatewayDefaultStage"].Properties["StageVariables"]); got != `{"color":"red"}` {
		t.Errorf("implicit API's stage variables = %s", got)
	}
	for _, tc := range []struct{ globals, want string }{
		{"  HttpApi: {StageName: x}\n", "'Globals' section is invalid. 'StageName' is not a supported property of 'HttpApi'."},
		{"  HttpApi: {PropagateTags: true}\n", "Resource with id [ServerlessHttpApi] is invalid. Sluice's SAM transform does not implement property 'PropagateTags' yet."},
	} {
		body := "Transform: AWS::Serverless-2016-10-31\nGlobals:\n" + tc.globals + "Resources:\n  F:\n    Type: AWS::Serverless::Function\n" +
			"    Properties:\n      CodeUri: s3://b/k\n      Events: {Any: {Type: HttpApi}}\n"
		_, _, err := s.prepare(planInput{body: body, stackName: "st", stackID: "arn:x/st/1"})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Globals %q: %v, want %q", tc.globals, err, tc.want)
		}
	}
}

const samHTTPAuthYAML = `
Transform: AWS::Serverless-2016-10-31
Resources:
  F:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: s3://b/k
      Events:
        Claims: {Type: HttpApi, Properties: {ApiId: !Ref Api, Path: /claims, Method: GET}}
        Admin: {Type: HttpApi, Properties: {ApiId: !Ref Api, Path: /admin, Method: POST, Auth: {AuthorizationScopes: [admin]}}}
        Gate: {Type: HttpApi, Properties: {ApiId: !Ref Api, Path: /gate, Method: GET, Auth: {Authorizer: Gate}}}
        Open: {Type: HttpApi, Properties: {ApiId: !Ref Api, Path: /open, Method: GET, Auth: {Authorizer: NONE}}}
        Signed: {Type: HttpApi, Properties: {ApiId: !Ref Api, Path: /signed, Method: GET, Auth: {Authorizer: AWS_IAM}}}
  GateFn:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: s3://b/g}
  Api:
    Type: AWS::Serverless::HttpApi
    Properties:
      Auth:
        EnableIamAuthorizer: true
        DefaultAuthorizer: OAuth
        Authorizers:
          OAuth:
            IdentitySource: $request.header.Authorization
            AuthorizationScopes: [read]
            JwtConfiguration: {Issuer: "https://issuer.example.com", Audience: [api]}
          Gate:
            FunctionArn: !GetAtt GateFn.Arn
            AuthorizerPayloadFormatVersion: 2.0
            EnableSimpleResponses: true
            EnableFunctionDefaultPermissions: true
            Identity: {Headers: [X-Key], ReauthorizeEvery: 0}
      DefinitionBody:
        openapi: 3.0.1
        info: {title: mine, version: "2"}
        paths: {/health: {get: {x-amazon-apigateway-integration: {type: http_proxy, httpMethod: GET, uri: "https://example.com"}}}}
`

// TestSAMHTTPAPIAuth pins the body SAM writes for HttpApi Auth: the authorizers as
// securitySchemes, each event's security, the DefaultAuthorizer (with its scopes)
// on the rest, and a permission only for EnableFunctionDefaultPermissions.
func TestSAMHTTPAPIAuth(t *testing.T) {
	s := &Service{region: "us-east-1", account: "123456789012"}
	p, _, err := s.prepare(planInput{body: samHTTPAuthYAML, stackName: "st", stackID: "arn:x/st/1"})
	if err != nil {
		t.Fatal(err)
	}
	js := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	body := p.tmpl.Resources["Api"].Properties["Body"].(map[string]any)
	paths := body["paths"].(map[string]any)
	for path, want := range map[string]string{
		"/claims get": `[{"OAuth":["read"]}]`,
		"/admin post": `[{"OAuth":["admin"]}]`,
		"/gate get":   `[{"Gate":[]}]`,
		"/open get":   `[{"NONE":[]}]`,
		"/signed get": `[{"AWS_IAM":[]}]`,
		"/health get": `[{"OAuth":["read"]}]`,
	} {
		p, m, _ := strings.Cut(path, " ")
		if got := js(paths[p].(map[string]any)[m].(map[string]any)["security"]); got != want {
			t.Errorf("%s security = %s, want %s", path, got, want)
		}
	}
	schemes := body["components"].(map[string]any)["securitySchemes"].(map[string]any)
	if got := js(schemes["OAuth"]); got != `{"type":"oauth2","x-amazon-apigateway-authorizer":{"identitySource":"$request.header.Authorization","jwtConfiguration":{"audience":["api"],"issuer":"https://issuer.example.com"},"type":"jwt"}}` {
		t.Errorf("OAuth scheme = %s", got)
	}
	if got := js(schemes["Gate"]); got != `{"in":"header","name":"Unused","type":"apiKey","x-amazon-apigateway-authorizer":{"authorizerPayloadFormatVersion":2,"authorizerResultTtlInSeconds":0,"authorizerUri":{"Fn::Sub":["arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${__FunctionArn__}/invocations",{"__FunctionArn__":{"Fn::GetAtt":["GateFn","Arn"]}}]},"enableSimpleResponses":true,"identitySource":["$request.header.X-Key"],"type":"request"}}` {
		t.Errorf("Gate scheme = %s", got)
	}
	if got := js(schemes["AWS_IAM"]); got != `{"in":"header","name":"Authorization","type":"apiKey","x-amazon-apigateway-authtype":"awsSigv4"}` {
		t.Errorf("AWS_IAM scheme = %s", got)
	}
	perm := p.tmpl.Resources["ApiGateAuthorizerPermission"]
	if perm == nil || js(perm.Properties["SourceArn"]) != `{"Fn::Sub":["arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${__ApiId__}/authorizers/*",{"__ApiId__":{"Ref":"Api"}}]}` {
		t.Errorf("authorizer permission = %+v", perm)
	}
	if p.tmpl.Resources["ApiOAuthAuthorizerPermission"] != nil {
		t.Errorf("a JWT authorizer got a permission")
	}
}

func TestSAMHTTPAPIAuthErrors(t *testing.T) {
	s := &Service{region: "us-east-1", account: "123456789012"}
	fn := "Transform: AWS::Serverless-2016-10-31\nResources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: s3://b/k\n"
	api := func(auth string) string {
		return "  A:\n    Type: AWS::Serverless::HttpApi\n    Properties: {Auth: " + auth + "}\n"
	}
	jwt := "{J: {IdentitySource: $request.header.Authorization, JwtConfiguration: {issuer: i, audience: [a]}}}"
	for _, tc := range []struct{ body, want string }{
		{fn + "      Events: {E: {Type: HttpApi, Properties: {Path: /x, Method: get, Auth: {Authorizer: J}}}}\n",
			"Resource with id [F] is invalid. Event with id [E] is invalid. Unable to set Authorizer [J] on API method [get] for path [/x] because the related API does not define any Authorizers."},
		{fn + "      Events: {E: {Type: HttpApi, Properties: {ApiId: !Ref A, Path: /x, Method: get, Auth: {Authorizer: K}}}}\n" + api("{Authorizers: "+jwt+"}"),
			"Unable to set Authorizer [K] on API method [get] for path [/x] because it wasn't defined in the API's Authorizers."},
		{fn + "      Events: {E: {Type: HttpApi, Properties: {ApiId: !Ref A, Path: /x, Method: get, Auth: {Authorizer: NONE}}}}\n" + api("{Authorizers: "+jwt+"}"),
			"Unable to set Authorizer on API method [get] for path [/x] because 'NONE' is only a valid value when a DefaultAuthorizer on the API is specified."},
		{fn + "      Events: {E: {Type: HttpApi, Properties: {ApiId: !Ref A, Path: /x, Method: get, Auth: {AuthorizationScopes: [s]}}}}\n" + api("{Authorizers: "+jwt+"}"),
			"'Auth' section requires either an explicit 'Authorizer' set or a 'DefaultAuthorizer' configured on the HttpApi."},
		{fn + api("{DefaultAuthorizer: Missing, Authorizers: "+jwt+"}"), "Resource with id [A] is invalid. Unable to set DefaultAuthorizer because 'Missing' was not defined in 'Authorizers'."},
		{fn + api("{Authorizers: {J: {JwtConfiguration: {issuer: i}}}}"), "Resource with id [A] is invalid. J OAuth2 Authorizer must define 'IdentitySource'."},
		{fn + api("{Authorizers: {L: {FunctionArn: arn}}}"), "Resource with id [A] is invalid. L Lambda Authorizer must define 'AuthorizerPayloadFormatVersion'."},
		{fn + api("{Authorizers: {L: {FunctionArn: arn, AuthorizerPayloadFormatVersion: 2.0, AuthorizationScopes: [s]}}}"),
			"Resource with id [A] is invalid. AuthorizationScopes must be defined only for OAuth2 Authorizer."},
		{fn + api("{Authorizers: {L: {FunctionArn: arn, AuthorizerPayloadFormatVersion: 2.0, Nope: 1}}}"), "Authorizer L has invalid property 'Nope'."},
		{fn + api("{Authorizers: {J: {OpenIdConnectUrl: x}}}"), "'OpenIdConnectUrl' is no longer a supported property for authorizer 'J'."},
		{fn + api("{Nope: 1}"), "Resource with id [A] is invalid. Invalid value for 'Auth' property"},
	} {
		_, _, err := s.prepare(planInput{body: tc.body, stackName: "st", stackID: "arn:x/st/1"})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("err = %v\nwant %q", err, tc.want)
		}
	}
}
