package httpapi

import (
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/internal/apigw/model"
	"github.com/sluice-dev/sluice/internal/awsproto"
	"github.com/sluice-dev/sluice/internal/awsproto/awsprototest"
	"github.com/sluice-dev/sluice/internal/store/memstore"
	"github.com/sluice-dev/sluice/internal/store/storetest"
)

// fuzzService is a fresh apigatewayv2 service holding one HTTP API with a route,
// an integration and a stage, so fuzzed requests reach past "not found".
type fuzzService struct {
	svc *Service
	ids map[string]string // placeholder ("{api}") → id
}

func newFuzzService(tb testing.TB) *fuzzService {
	st := storetest.WriteLimited(memstore.New(), model.MaxWritesPerUpdate)
	fs := &fuzzService{svc: New(Options{Store: st, Region: "us-east-1", AccountID: testAccount,
		APIEndpoint: func(id string) string { return "http://" + id + ".execute-api.localhost:4566" },
		Now:         func() time.Time { return time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC) }}),
		ids: map[string]string{}}
	api := fs.mustCall(tb, "POST", "/v2/apis", `{"name":"f","protocolType":"HTTP"}`)
	fs.ids["{api}"] = api["apiId"].(string)
	integ := fs.mustCall(tb, "POST", "/v2/apis/{api}/integrations",
		`{"integrationType":"AWS_PROXY","integrationUri":"arn:aws:lambda:us-east-1:123456789012:function:f","payloadFormatVersion":"2.0"}`)
	fs.ids["{integ}"] = integ["integrationId"].(string)
	route := fs.mustCall(tb, "POST", "/v2/apis/{api}/routes", `{"routeKey":"GET /items/{id}","target":"integrations/`+fs.ids["{integ}"]+`"}`)
	fs.ids["{route}"] = route["routeId"].(string)
	fs.mustCall(tb, "POST", "/v2/apis/{api}/stages", `{"stageName":"dev","autoDeploy":true}`)
	return fs
}

func (fs *fuzzService) call(method, path string, body []byte) (*httptest.ResponseRecorder, string) {
	for k, v := range fs.ids {
		path = strings.ReplaceAll(path, k, v)
	}
	if _, err := url.ParseRequestURI(path); err != nil {
		return nil, "" // not a request line a server would read
	}
	req := httptest.NewRequest(method, "http://localhost"+path, strings.NewReader(string(body)))
	req = req.WithContext(awsproto.WithRequestID(req.Context(), "fuzz"))
	rec := httptest.NewRecorder()
	fs.svc.ServeHTTP(rec, req)
	return rec, method + " " + path
}

func (fs *fuzzService) mustCall(tb testing.TB, method, path, body string) map[string]any {
	tb.Helper()
	rec, desc := fs.call(method, path, []byte(body))
	if rec.Code >= 300 {
		tb.Fatalf("%s: %d %s", desc, rec.Code, rec.Body)
	}
	var m map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &m)
	return m
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
		if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, " \r\n\t#") || !isMethodToken(method) {
			return
		}
		fs := newFuzzService(t)
		rec, desc := fs.call(method, path, body)
		if rec == nil {
			return
		}
		awsprototest.CheckAnswer(t, desc, rec)
	})
}

func isMethodToken(m string) bool {
	if m == "" || len(m) > 16 {
		return false
	}
	for i := 0; i < len(m); i++ {
		if m[i] < 'A' || m[i] > 'Z' {
			return false
		}
	}
	return true
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
			rec, desc := fs.call("PUT", target, body)
			if rec == nil {
				continue
			}
			awsprototest.CheckAnswer(t, desc, rec)
		}
	})
}
