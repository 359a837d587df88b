package httpapi

import (
	"encoding/json"
	"net/url"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/internal/apigw/model"
	"github.com/sluice-dev/sluice/internal/awsproto/awsprototest"
	"github.com/sluice-dev/sluice/internal/store/memstore"
	"github.com/sluice-dev/sluice/internal/store/storetest"
)

// fuzzService is a fresh apigatewayv2 service holding one HTTP API with a route,
// an integration and a stage, so fuzzed requests reach past "not found".
type fuzzService struct{ awsprototest.Fixture }

func newFuzzService(tb testing.TB) *fuzzService {
	st := storetest.WriteLimited(memstore.New(), model.MaxWritesPerUpdate)
	fs := &fuzzService{awsprototest.Fixture{Handler: New(Options{Store: st, Region: "us-east-1", AccountID: testAccount,
		APIEndpoint: func(id string) string { return "http://" + id + ".execute-api.localhost:4566" },
		Now:         func() time.Time { return time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC) }}),
		IDs: map[string]string{}}}
	api := fs.MustCall(tb, "POST", "/v2/apis", `{"name":"f","protocolType":"HTTP"}`)
	fs.IDs["{api}"] = api["apiId"].(string)
	integ := fs.MustCall(tb, "POST", "/v2/apis/{api}/integrations",
		`{"integrationType":"AWS_PROXY","integrationUri":"arn:aws:lambda:us-east-1:123456789012:function:f","payloadFormatVersion":"2.0"}`)
	fs.IDs["{integ}"] = integ["integrationId"].(string)
	route := fs.MustCall(tb, "POST", "/v2/apis/{api}/routes", `{"routeKey":"GET /items/{id}","target":"integrations/`+fs.IDs["{integ}"]+`"}`)
	fs.IDs["{route}"] = route["routeId"].(string)
	fs.MustCall(tb, "POST", "/v2/apis/{api}/stages", `{"stageName":"dev","autoDeploy":true}`)
	return fs
}

// FuzzControlPlane: any apigatewayv2 request (method, path with the fixture's ids
// spliced in for {api}, {route}, {integ}, and body) gets an AWS answer: never a
// 500, a panic, or Go's wording. It covers the JSON decoders of every operation,
// route keys, parameter mappings, CORS, stages and OpenAPI import (PUT /v2/apis).
func FuzzControlPlane(f *testing.F) {
	seeds := []struct{ method, path, body string }{
		{"POST", "/v2/apis", `{"name":"x","protocolType":"HTTP","target":"arn:aws:lambda:us-east-1:123456789012:function:f","routeKey":"ANY /{proxy+}"}`},
		{"POST", "/v2/apis", `{"name":["x"]}`},
		{"PATCH", "/v2/apis/{api}", `{"name":"y","corsConfiguration":{"allowOrigins":["*"],"maxAge":-1}}`},
		{"POST", "/v2/apis/{api}/routes", `{"routeKey":"POST /a/{b+}/c","authorizationType":"JWT"}`},
		{"PATCH", "/v2/apis/{api}/routes/{route}", `{"routeKey":"$default","requestParameters":{"route.request.header.x":{"required":true}}}`},
		{"POST", "/v2/apis/{api}/integrations", `{"integrationType":"HTTP_PROXY","integrationUri":"http://${stageVariables.h}/x","integrationMethod":"ANY","requestParameters":{"overwrite:path":"$request.path.id","append:header.x":"v"}}`},
		{"PATCH", "/v2/apis/{api}/integrations/{integ}", `{"responseParameters":{"404":{"overwrite:statuscode":"500"}},"timeoutInMillis":1}`},
		{"POST", "/v2/apis/{api}/stages", `{"stageName":"$default","stageVariables":{"a b":"c"},"routeSettings":{"GET /x":{"throttlingBurstLimit":-5}}}`},
		{"POST", "/v2/apis/{api}/deployments", `{"stageName":"dev","description":"d"}`},
		{"PUT", "/v2/apis/{api}?basepath=prepend", `{"body":"openapi: 3.0.1\ninfo: {title: t, version: '1'}\npaths:\n  /a/{b}:\n    get:\n      x-amazon-apigateway-integration: {type: aws_proxy, uri: 'arn:aws:lambda:us-east-1:123456789012:function:f', payloadFormatVersion: '2.0'}\n"}`},
		{"PUT", "/v2/apis?failOnWarnings=true", `{"body":"{\"openapi\":\"3.0.1\",\"info\":{\"title\":\"t\",\"version\":\"1\"},\"paths\":{\"/{proxy+}\":{\"x-amazon-apigateway-any-method\":{}}}}"}`},
		{"GET", "/v2/apis/{api}/exports/OAS30?outputType=YAML", ``},
		{"GET", "/v2/apis?maxResults=0&nextToken=%ZZ", ``},
		{"DELETE", "/v2/apis/{api}/routes/{route}/requestparameters/route.request.header.x", ``},
		{"POST", "/v2/tags/arn:aws:apigateway:us-east-1::%2Fapis%2F{api}", `{"tags":{"k":"v"}}`},
	}
	for _, s := range seeds {
		f.Add(s.method, s.path, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, method, path string, body []byte) {
		newFuzzService(t).CheckRequest(t, method, path, body)
	})
}

// FuzzOpenAPIImport: any document given to ImportApi (YAML or JSON, any shape,
// alias bombs included) is imported or refused with an AWS error, promptly and
// never with a 500.
func FuzzOpenAPIImport(f *testing.F) {
	for _, doc := range []string{
		"openapi: 3.0.1\ninfo: {title: t, version: '1'}\npaths:\n  /items/{id}:\n    get:\n      x-amazon-apigateway-integration: {type: aws_proxy, uri: 'arn:aws:lambda:us-east-1:123456789012:function:f', payloadFormatVersion: '2.0'}\n",
		`{"openapi":"3.0.1","info":{"title":"t","version":"1"},"servers":[{"url":"https://x/base","variables":{"basePath":{"default":"v1"}}}],"paths":{"/{proxy+}":{"x-amazon-apigateway-any-method":{"x-amazon-apigateway-integration":{"type":"http_proxy","uri":"http://example.com/{proxy}","httpMethod":"ANY"}}}},"x-amazon-apigateway-cors":{"allowOrigins":["*"]}}`,
		"swagger: '2.0'\ninfo: {title: t}\nbasePath: /b\npaths: {/a: {post: {security: [{jwt: [read]}]}}}\n",
		"a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\nopenapi: 3.0.1\npaths: *f\n",
		"openapi: 3.0.1\npaths: {'': {get: {}}, '/a//b': {GET: {}}, '/{a}/{a}': {get: {}}, '/{x+}/y': {get: {}}}\n",
		"\t- [",
	} {
		f.Add([]byte(doc), "prepend")
	}
	f.Fuzz(func(t *testing.T, doc []byte, basepath string) {
		body, _ := json.Marshal(map[string]string{"body": string(doc)})
		fs := newFuzzService(t)
		q := url.Values{"basepath": {basepath}}.Encode()
		for _, target := range []string{"/v2/apis?" + q, "/v2/apis/{api}?" + q} {
			rec, desc := fs.Call("PUT", target, body)
			if rec == nil {
				continue
			}
			awsprototest.CheckAnswer(t, desc, rec)
		}
	})
}
