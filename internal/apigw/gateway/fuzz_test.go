package gateway

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/internal/apigw/compile/compiletest"
	"github.com/sluice-dev/sluice/internal/apigw/model"
	"github.com/sluice-dev/sluice/internal/invoke"
	"github.com/sluice-dev/sluice/internal/store/memstore"
)

// FuzzParseProxyResponse: any payload a function returns parses or is refused;
// a parsed response has a status API Gateway can send.
func FuzzParseProxyResponse(f *testing.F) {
	for _, s := range []string{
		`{"statusCode":200,"body":"ok"}`,
		`{"statusCode":"404","headers":{"a":"b","Content-Type":null},"multiValueHeaders":{"x":["1","2"]}}`,
		`{"statusCode":200,"isBase64Encoded":true,"body":"aGk=","cookies":["a=b"]}`,
		`"just a string"`, `42`, `[1,2]`, `{"a":1}`, `{"statusCode":1e309}`, `{"statusCode":-1}`, ``, `{`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		for _, parse := range []func([]byte) (*proxyResponse, error){parseProxyResponseV1, parseProxyResponseV2} {
			out, err := parse(payload)
			if err != nil {
				continue
			}
			if out.status < 100 || out.status > 599 {
				t.Fatalf("status %d from %q", out.status, payload)
			}
		}
	})
}

// fuzzGateway is a gateway serving a REST API (greedy proxy resource) and an HTTP
// API (format 1.0 and 2.0 routes), whose function answers with the fuzzed payload.
type fuzzGateway struct {
	gw      *Gateway
	payload []byte
}

func newFuzzGateway(tb testing.TB) *fuzzGateway {
	fg := &fuzzGateway{}
	st := memstore.New()
	inv := &fakeInvoker{respond: func(context.Context, *invoke.Request) (*invoke.Response, error) {
		return &invoke.Response{Payload: fg.payload}, nil
	}}
	fg.gw = New(Options{Store: st, Invoker: inv, Region: testRegion, AccountID: testAccount, Debounce: time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	tb.Cleanup(cancel)
	if err := fg.gw.Start(ctx); err != nil {
		tb.Fatal(err)
	}
	compiletest.RestDeploy(tb, st, model.RestSnapshot{API: model.RestAPI{ID: "api1", Name: "a", BinaryMediaTypes: []string{"image/*"}},
		Resources: []*model.Resource{
			compiletest.Resource("r0", "/", nil),
			compiletest.Resource("r1", "/{proxy+}", map[string]*model.Integration{"ANY": proxyIntegration()}),
			compiletest.Resource("r2", "/items/{id}", map[string]*model.Integration{"GET": proxyIntegration()}),
		}}, "d1", model.Stage{StageName: "v1"})
	for i, version := range []string{"1.0", "2.0"} {
		integ := lambdaIntegration2(version)
		snap := model.HTTPSnapshot{API: model.HTTPAPI{APIID: "h" + version[:1], ProtocolType: "HTTP"},
			Integrations: map[string]*model.Integration2{integ.IntegrationID: integ}}
		for j, k := range []string{"ANY /{proxy+}", "GET /a/{b}", "$default"} {
			snap.Routes = append(snap.Routes, &model.Route{RouteID: string(rune('a' + i*3 + j)), RouteKey: k,
				Target: "integrations/" + integ.IntegrationID, AuthorizationType: "NONE"})
		}
		compiletest.HTTPDeploy(tb, st, snap, "d-"+version, model.Stage2{StageName: "$default"})
	}
	deadline := time.Now().Add(10 * time.Second)
	for fg.gw.Snapshot().APIs() < 3 {
		if time.Now().After(deadline) {
			tb.Fatal("gateway never served the fuzz APIs")
		}
		time.Sleep(5 * time.Millisecond)
	}
	return fg
}

// FuzzGatewayRequest: any request a client sends and any payload the function
// answers with gets a complete HTTP response with a valid status and sendable
// headers, never a panic.
func FuzzGatewayRequest(f *testing.F) {
	fg := newFuzzGateway(f)
	f.Add("GET", "h1", "/a/b?x=1&x=2", "Cookie", "a=b; c=d", []byte(`{"statusCode":201,"body":"x","headers":{"X-A":"b"}}`))
	f.Add("POST", "h2", "/deep/er/path/%2F..%00", "Content-Type", "image/png", []byte(`{"statusCode":200,"isBase64Encoded":true,"body":"!!"}`))
	f.Add("PUT", "api1", "/v1/items/%ZZ", "Accept", "image/png", []byte(`{"statusCode":200,"isBase64Encoded":true,"body":"aGk="}`))
	f.Add("DELETE", "api1", "/v1/x/y?=&&a=%", "X-Forwarded-For", "1.2.3.4, ::1", []byte(`"str"`))
	f.Add("GET", "h2", "/", "Header", "v", []byte(`{"statusCode":200,"headers":{"Bad\r\nName":"v","X":"a\r\nb"},"cookies":["c\r\n=1"]}`))
	f.Fuzz(func(t *testing.T, method, apiID, target, hname, hvalue string, payload []byte) {
		if !validHeaderName(method) || !strings.HasPrefix(target, "/") || strings.ContainsAny(target, " \r\n\t#") {
			return
		}
		req, err := http.NewRequest(method, "http://"+apiID+".execute-api.localhost:4566"+target, nil)
		if err != nil || req.URL.Host != apiID+".execute-api.localhost:4566" {
			return
		}
		if validHeaderName(hname) && validHeaderValue(hvalue) {
			req.Header.Add(hname, hvalue)
		}
		req.RemoteAddr = "203.0.113.9:5555"
		fg.payload = payload
		rec := httptest.NewRecorder()
		fg.gw.ServeHTTP(rec, req)
		if rec.Code < 100 || rec.Code > 599 {
			t.Fatalf("status %d", rec.Code)
		}
		for k, vs := range rec.Header() {
			if !validHeaderName(k) {
				t.Fatalf("header name %q is not sendable", k)
			}
			for _, v := range vs {
				if !validHeaderValue(v) {
					t.Fatalf("header %s value %q is not sendable", k, v)
				}
			}
		}
	})
}
