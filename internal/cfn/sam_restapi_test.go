package cfn

import (
	"encoding/json"
	"sort"
	"strings"
	"testing"
)

const samRestYAML = `
Transform: AWS::Serverless-2016-10-31
Globals:
  Api:
    BinaryMediaTypes: [image~1png]
Resources:
  Hello:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: s3://b/k
      Handler: index.handler
      Runtime: nodejs22.x
      Events:
        Implicit: {Type: Api, Properties: {Path: "/hello/{name}", Method: get}}
        Guarded: {Type: Api, Properties: {Path: /guarded, Method: any, RestApiId: !Ref MyApi}}
        Open: {Type: Api, Properties: {Path: /open, Method: post, RestApiId: !Ref MyApi, Auth: {Authorizer: NONE, ApiKeyRequired: false}}}
        Keyed: {Type: Api, Properties: {Path: /keyed, Method: get, RestApiId: !Ref MyApi, Auth: {ApiKeyRequired: true}}}
  AuthFn:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: s3://b/a, Handler: index.handler, Runtime: nodejs22.x}
  MyApi:
    Type: AWS::Serverless::Api
    Properties:
      StageName: dev
      Cors: "'*'"
      Auth:
        DefaultAuthorizer: Token
        ApiKeyRequired: true
        UsagePlan: {CreateUsagePlan: PER_API, Quota: {Limit: 10, Period: DAY}}
        Authorizers:
          Token:
            FunctionArn: !GetAtt AuthFn.Arn
            Identity: {Header: X-Token, ReauthorizeEvery: 0}
          Req:
            FunctionPayloadType: REQUEST
            FunctionArn: !GetAtt AuthFn.Arn
            Identity: {Headers: [A], QueryStrings: [q]}
`

func TestSAMRestAPI(t *testing.T) {
	s := &Service{region: "us-east-1", account: "123456789012"}
	p, _, err := s.prepare(planInput{body: samRestYAML, stackName: "st", stackID: "arn:x/st/1"})
	if err != nil {
		t.Fatal(err)
	}
	res := p.tmpl.Resources
	var ids []string
	for id, r := range res {
		ids = append(ids, id+"="+strings.TrimPrefix(r.Type, "AWS::"))
	}
	sort.Strings(ids)
	got := strings.Join(ids, " ")
	for _, want := range []string{"ServerlessRestApi=ApiGateway::RestApi", "ServerlessRestApiProdStage=ApiGateway::Stage",
		"HelloImplicitPermissionProd=Lambda::Permission", "MyApi=ApiGateway::RestApi", "MyApidevStage=ApiGateway::Stage",
		"HelloGuardedPermissiondev=Lambda::Permission", "HelloOpenPermissiondev=Lambda::Permission",
		"MyApiTokenAuthorizerPermission=Lambda::Permission", "MyApiReqAuthorizerPermission=Lambda::Permission",
		"MyApiUsagePlan=ApiGateway::UsagePlan", "MyApiApiKey=ApiGateway::ApiKey", "MyApiUsagePlanKey=ApiGateway::UsagePlanKey"} {
		if !strings.Contains(" "+got+" ", " "+want+" ") {
			t.Errorf("missing %s in %s", want, got)
		}
	}
	deployments := 0
	for id, r := range res {
		if r.Type == "AWS::ApiGateway::Deployment" {
			deployments++
			if !strings.HasPrefix(id, "ServerlessRestApiDeployment") && !strings.HasPrefix(id, "MyApiDeployment") || len(id) != len(strings.SplitAfter(id, "Deployment")[0])+10 ||
				r.Properties["StageName"] != "Stage" || !strings.HasPrefix(r.Properties["Description"].(string), "RestApi deployment id: ") {
				t.Errorf("deployment %s = %v", id, r.Properties)
			}
		}
	}
	if deployments != 2 {
		t.Errorf("%d deployments", deployments)
	}
	js := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	if got := js(res["HelloImplicitPermissionProd"].Properties["SourceArn"]); got !=
		`{"Fn::Sub":["arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${__ApiId__}/${__Stage__}/GET/hello/*",{"__ApiId__":{"Ref":"ServerlessRestApi"},"__Stage__":"*"}]}` {
		t.Errorf("permission SourceArn = %s", got)
	}
	if got := js(res["ServerlessRestApi"].Properties["BinaryMediaTypes"]); got != `["image/png"]` {
		t.Errorf("implicit API BinaryMediaTypes (from Globals) = %s", got)
	}
	body := res["MyApi"].Properties["Body"].(map[string]any)
	paths := body["paths"].(map[string]any)
	guarded := paths["/guarded"].(map[string]any)
	if got := js(guarded["x-amazon-apigateway-any-method"].(map[string]any)["security"]); got != `[{"Token":[]},{"api_key":[]}]` {
		t.Errorf("guarded security = %s", got)
	}
	// An event that asks for the key itself on an API with a DefaultAuthorizer: SAM
	// writes the event's api_key first and the default authorizer after it.
	if got := js(paths["/keyed"].(map[string]any)["get"].(map[string]any)["security"]); got != `[{"api_key":[]},{"Token":[]}]` {
		t.Errorf("keyed security = %s", got)
	}
	if _, ok := paths["/open"].(map[string]any)["post"].(map[string]any)["security"]; ok {
		t.Errorf("open method has security: %v", paths["/open"])
	}
	opt := guarded["options"].(map[string]any)
	params := opt["x-amazon-apigateway-integration"].(map[string]any)["responses"].(map[string]any)["default"].(map[string]any)["responseParameters"]
	if got := js(params); got != `{"method.response.header.Access-Control-Allow-Methods":"'DELETE,GET,HEAD,OPTIONS,PATCH,POST,PUT'","method.response.header.Access-Control-Allow-Origin":"'*'"}` {
		t.Errorf("CORS preflight = %s", got)
	}
	if got := js(opt["security"]); got != `[{"Token":[]},{"api_key":[]}]` {
		t.Errorf("preflight security = %s", got)
	}
	defs := body["securityDefinitions"].(map[string]any)
	if got := js(defs["Token"]); got != `{"in":"header","name":"X-Token","type":"apiKey","x-amazon-apigateway-authorizer":{"authorizerResultTtlInSeconds":0,"authorizerUri":{"Fn::Sub":["arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${__FunctionArn__}/invocations",{"__FunctionArn__":{"Fn::GetAtt":["AuthFn","Arn"]}}]},"type":"token"},"x-amazon-apigateway-authtype":"custom"}` {
		t.Errorf("Token scheme = %s", got)
	}
	if got := js(defs["Req"].(map[string]any)["x-amazon-apigateway-authorizer"].(map[string]any)["identitySource"]); got != `"method.request.header.A, method.request.querystring.q"` {
		t.Errorf("Req identitySource = %s", got)
	}
	if got := js(res["MyApiApiKey"].Properties); got != `{"Enabled":true,"StageKeys":[{"RestApiId":{"Ref":"MyApi"},"StageName":{"Ref":"MyApidevStage"}}]}` {
		t.Errorf("ApiKey = %s", got)
	}
}

func TestSAMRestAPIErrors(t *testing.T) {
	s := &Service{region: "us-east-1", account: "123456789012"}
	fn := "Transform: AWS::Serverless-2016-10-31\nResources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: s3://b/k\n"
	for _, tc := range []struct{ body, want string }{
		{fn + "      Events: {E: {Type: Api, Properties: {Path: /x, Method: get, RestApiId: nope}}}\n",
			"Resource with id [F] is invalid. Event with id [E] is invalid. RestApiId must be a valid reference to an 'AWS::Serverless::Api' resource in same template."},
		{fn + "      Events: {E: {Type: Api, Properties: {Path: /x, Method: get, RequestModel: {Model: M}}}}\n",
			"Event with id [E] is invalid. Sluice's SAM transform does not implement Api event property 'RequestModel' yet."},
		{fn + "  A:\n    Type: AWS::Serverless::Api\n    Properties: {StageName: s, Auth: {DefaultAuthorizer: Missing}}\n",
			"Resource with id [A] is invalid. Unable to set DefaultAuthorizer because 'Missing' was not defined in 'Authorizers'."},
		{fn + "  A:\n    Type: AWS::Serverless::Api\n    Properties: {StageName: s, Auth: {Authorizers: {C: {UserPoolArn: arn}}}}\n",
			"Sluice's SAM transform does not implement property 'UserPoolArn' of authorizer C yet."},
	} {
		_, _, err := s.prepare(planInput{body: tc.body, stackName: "st", stackID: "arn:x/st/1"})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("err = %v\nwant %q", err, tc.want)
		}
	}
}

func anyMap[V any](m map[string]V) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

// CreateUsagePlan SHARED: one ServerlessUsagePlan, ServerlessApiKey and
// ServerlessUsagePlanKey for every SHARED API, each API's stage added to the plan's
// ApiStages and the key's StageKeys, as SAM's api_generator makes them; a PER_API
// API beside them keeps its own.
func TestSAMRestAPISharedUsagePlan(t *testing.T) {
	s := &Service{region: "us-east-1", account: "123456789012"}
	api := func(id, mode, extra string) string {
		return "  " + id + ":\n    Type: AWS::Serverless::Api\n    Properties:\n      StageName: " + strings.ToLower(id) +
			"\n      Auth: {ApiKeyRequired: true, UsagePlan: {CreateUsagePlan: " + mode + extra + "}}\n"
	}
	body := "Transform: AWS::Serverless-2016-10-31\nResources:\n" +
		api("A", "SHARED", ", Quota: {Limit: 5, Period: DAY}") + api("B", "SHARED", ", UsagePlanName: shared") + api("C", "PER_API", "")
	p, _, err := s.prepare(planInput{body: body, stackName: "st", stackID: "arn:x/st/1"})
	if err != nil {
		t.Fatal(err)
	}
	res := p.tmpl.Resources
	js := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	plan := res["ServerlessUsagePlan"]
	if plan == nil || plan.Type != "AWS::ApiGateway::UsagePlan" || js(plan.DependsOn) != `["A","B"]` ||
		js(plan.Properties) != `{"ApiStages":[{"ApiId":{"Ref":"A"},"Stage":{"Ref":"AaStage"}},{"ApiId":{"Ref":"B"},"Stage":{"Ref":"BbStage"}}],"Quota":{"Limit":5,"Period":"DAY"},"UsagePlanName":"shared"}` {
		t.Fatalf("ServerlessUsagePlan = %+v", plan)
	}
	if key := res["ServerlessApiKey"]; key == nil || js(key.DependsOn) != `["ServerlessUsagePlan"]` ||
		js(key.Properties) != `{"Enabled":true,"StageKeys":[{"RestApiId":{"Ref":"A"},"StageName":{"Ref":"AaStage"}},{"RestApiId":{"Ref":"B"},"StageName":{"Ref":"BbStage"}}]}` {
		t.Fatalf("ServerlessApiKey = %+v", key)
	}
	if pk := res["ServerlessUsagePlanKey"]; pk == nil || js(pk.Properties) != `{"KeyId":{"Ref":"ServerlessApiKey"},"KeyType":"API_KEY","UsagePlanId":{"Ref":"ServerlessUsagePlan"}}` {
		t.Fatalf("ServerlessUsagePlanKey = %+v", pk)
	}
	for _, id := range []string{"CUsagePlan", "CApiKey", "CUsagePlanKey"} {
		if res[id] == nil {
			t.Errorf("PER_API API C has no %s", id)
		}
	}
	for _, id := range []string{"AUsagePlan", "BApiKey"} {
		if res[id] != nil {
			t.Errorf("SHARED API got its own %s", id)
		}
	}
	for _, tc := range []struct{ props, want string }{
		{"{}", "Resource with id [A] is invalid. 'CreateUsagePlan' is a required field for UsagePlan."},
		{"{CreateUsagePlan: ALL}", "Resource with id [A] is invalid. 'CreateUsagePlan' accepts one of ['SHARED', 'PER_API', 'NONE']."},
		{"{CreateUsagePlan: SHARED, Limit: 3}", "Resource with id [A] is invalid. Invalid property for 'UsagePlan'"},
		{"[]", "Resource with id [A] is invalid. 'UsagePlan' must be a dictionary"},
	} {
		body := "Transform: AWS::Serverless-2016-10-31\nResources:\n  A:\n    Type: AWS::Serverless::Api\n    Properties:\n      StageName: a\n      Auth: {UsagePlan: " + tc.props + "}\n"
		_, _, err := s.prepare(planInput{body: body, stackName: "st", stackID: "arn:x/st/1"})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("UsagePlan %s: %v, want %q", tc.props, err, tc.want)
		}
	}
}
