package restapi

import (
	"testing"

	"github.com/sluice-dev/sluice/internal/apigw/model"
	"github.com/sluice-dev/sluice/internal/awsproto/awsprototest"
	"github.com/sluice-dev/sluice/internal/store/memstore"
	"github.com/sluice-dev/sluice/internal/store/storetest"
)

// fuzzService is a fresh apigateway service holding one REST API with a resource
// /items/{id}, a GET method with a Lambda proxy integration, and a deployment to
// stage "dev", so fuzzed requests reach past "not found".
type fuzzService struct{ awsprototest.Fixture }

func newFuzzService(tb testing.TB) *fuzzService {
	st := storetest.WriteLimited(memstore.New(), model.MaxWritesPerUpdate)
	fs := &fuzzService{awsprototest.Fixture{Handler: New(Options{Store: st, Region: "us-east-1", AccountID: testAccount}), IDs: map[string]string{}}}
	api := fs.MustCall(tb, "POST", "/restapis", `{"name":"f"}`)
	fs.IDs["{api}"] = api["id"].(string)
	res := fs.MustCall(tb, "GET", "/restapis/{api}/resources", ``)
	fs.IDs["{root}"] = res["item"].([]any)[0].(map[string]any)["id"].(string)
	items := fs.MustCall(tb, "POST", "/restapis/{api}/resources/{root}", `{"pathPart":"items"}`)
	id := fs.MustCall(tb, "POST", "/restapis/{api}/resources/"+items["id"].(string), `{"pathPart":"{id}"}`)
	fs.IDs["{res}"] = id["id"].(string)
	fs.MustCall(tb, "PUT", "/restapis/{api}/resources/{res}/methods/GET", `{"authorizationType":"NONE","requestParameters":{"method.request.path.id":true}}`)
	fs.MustCall(tb, "PUT", "/restapis/{api}/resources/{res}/methods/GET/integration",
		`{"type":"AWS_PROXY","httpMethod":"POST","uri":"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:f/invocations"}`)
	dep := fs.MustCall(tb, "POST", "/restapis/{api}/deployments", `{"stageName":"dev"}`)
	fs.IDs["{dep}"] = dep["id"].(string)
	return fs
}

// FuzzControlPlane: any apigateway (REST API) request, with the fixture's ids
// spliced in for {api}, {root}, {res} and {dep}, gets an AWS answer: never a 500,
// a panic or Go's wording. It covers every operation's JSON decoder, resource
// path parts, patch operations of each resource kind, mapping templates,
// gateway responses, models and stages.
func FuzzControlPlane(f *testing.F) {
	seeds := []struct{ method, path, body string }{
		{"POST", "/restapis", `{"name":"x","endpointConfiguration":{"types":["REGIONAL"]},"binaryMediaTypes":["image/*"],"minimumCompressionSize":5}`},
		{"POST", "/restapis", `{"name":5}`},
		{"POST", "/restapis/{api}/resources/{root}", `{"pathPart":"{proxy+}"}`},
		{"PATCH", "/restapis/{api}", `{"patchOperations":[{"op":"replace","path":"/name","value":"n"},{"op":"add","path":"/binaryMediaTypes/image~1png"}]}`},
		{"PATCH", "/restapis/{api}/resources/{res}", `{"patchOperations":[{"op":"replace","path":"/pathPart","value":"{other}"}]}`},
		{"PATCH", "/restapis/{api}/resources/{res}/methods/GET", `{"patchOperations":[{"op":"add","path":"/requestParameters/method.request.header.x","value":"true"}]}`},
		{"PATCH", "/restapis/{api}/resources/{res}/methods/GET/integration", `{"patchOperations":[{"op":"replace","path":"/requestTemplates/application~1json","value":"#set($x = 1)"}]}`},
		{"PUT", "/restapis/{api}/resources/{res}/methods/GET/responses/200", `{"responseParameters":{"method.response.header.X":false},"responseModels":{"application/json":"Empty"}}`},
		{"PUT", "/restapis/{api}/resources/{res}/methods/GET/integration/responses/200", `{"selectionPattern":"(","responseTemplates":{"application/json":""}}`},
		{"PATCH", "/restapis/{api}/stages/dev", `{"patchOperations":[{"op":"replace","path":"/*/*/throttling/burstLimit","value":"-1"},{"op":"replace","path":"/variables/a","value":"b"}]}`},
		{"POST", "/restapis/{api}/stages", `{"stageName":"s2","deploymentId":"{dep}","variables":{"k":"v"}}`},
		{"PATCH", "/restapis/{api}/deployments/{dep}", `{"patchOperations":[{"op":"replace","path":"/description","value":"d"}]}`},
		{"PUT", "/restapis/{api}/gatewayresponses/DEFAULT_4XX", `{"statusCode":"418","responseParameters":{"gatewayresponse.header.x":"'v'"}}`},
		{"POST", "/restapis/{api}/models", `{"name":"M","contentType":"application/json","schema":"{\"type\":\"object\"}"}`},
		{"POST", "/restapis/{api}/requestvalidators", `{"name":"v","validateRequestBody":true}`},
		{"GET", "/restapis/{api}/resources?embed=methods&limit=0&position=%ZZ", ``},
		{"DELETE", "/restapis/{api}/resources/{res}", ``},
		{"POST", "/tags/arn:aws:apigateway:us-east-1::%2Frestapis%2F{api}", `{"tags":{"k":"v"}}`},
	}
	for _, s := range seeds {
		f.Add(s.method, s.path, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, method, path string, body []byte) {
		newFuzzService(t).CheckRequest(t, method, path, body)
	})
}
