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
	if got := js(res["Apiv1Stage"].Properties); got != `{"ApiId":{"Ref":"Api"},"AutoDeploy":true,"StageName":"v-1"}` {
		t.Errorf("stage = %s", got)
	}
	if got := js(res["FGetPermission"].Properties["SourceArn"]); !strings.Contains(got, "${Api}/*/GET/items/*") {
		t.Errorf("permission = %s", got)
	}
	_, _, err = s.prepare(planInput{body: "Transform: AWS::Serverless-2016-10-31\nResources:\n  A:\n    Type: AWS::Serverless::HttpApi\n    Properties: {Auth: {}}\n",
		stackName: "st", stackID: "arn:x/st/1"})
	if err == nil || !strings.Contains(err.Error(), "Resource with id [A] is invalid. Sluice's SAM transform does not implement property 'Auth' yet.") {
		t.Fatalf("Auth: %v", err)
	}
}
