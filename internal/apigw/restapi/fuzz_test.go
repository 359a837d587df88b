package restapi

import (
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/sluice-dev/sluice/internal/apigw/model"
	"github.com/sluice-dev/sluice/internal/awsproto"
	"github.com/sluice-dev/sluice/internal/awsproto/awsprototest"
	"github.com/sluice-dev/sluice/internal/store/memstore"
	"github.com/sluice-dev/sluice/internal/store/storetest"
)

// fuzzService is a fresh apigateway service holding one REST API with a resource
// /items/{id}, a GET method with a Lambda proxy integration, and a deployment to
// stage "dev", so fuzzed requests reach past "not found".
type fuzzService struct {
	svc *Service
	ids map[string]string // placeholder ("{api}") → id
}

func newFuzzService(tb testing.TB) *fuzzService {
	st := storetest.WriteLimited(memstore.New(), model.MaxWritesPerUpdate)
	fs := &fuzzService{svc: New(Options{Store: st, Region: "us-east-1", AccountID: testAccount}), ids: map[string]string{}}
	api := fs.mustCall(tb, "POST", "/restapis", `{"name":"f"}`)
	fs.ids["{api}"] = api["id"].(string)
	res := fs.mustCall(tb, "GET", "/restapis/{api}/resources", ``)
	fs.ids["{root}"] = res["item"].([]any)[0].(map[string]any)["id"].(string)
	items := fs.mustCall(tb, "POST", "/restapis/{api}/resources/{root}", `{"pathPart":"items"}`)
	id := fs.mustCall(tb, "POST", "/restapis/{api}/resources/"+items["id"].(string), `{"pathPart":"{id}"}`)
	fs.ids["{res}"] = id["id"].(string)
	fs.mustCall(tb, "PUT", "/restapis/{api}/resources/{res}/methods/GET", `{"authorizationType":"NONE","requestParameters":{"method.request.path.id":true}}`)
	fs.mustCall(tb, "PUT", "/restapis/{api}/resources/{res}/methods/GET/integration",
		`{"type":"AWS_PROXY","httpMethod":"POST","uri":"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:f/invocations"}`)
	dep := fs.mustCall(tb, "POST", "/restapis/{api}/deployments", `{"stageName":"dev"}`)
	fs.ids["{dep}"] = dep["id"].(string)
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
