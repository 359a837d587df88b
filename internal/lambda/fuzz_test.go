package lambda

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/sluice-dev/sluice/internal/awsproto"
	"github.com/sluice-dev/sluice/internal/awsproto/awsprototest"
	"github.com/sluice-dev/sluice/internal/store/memstore"
)

// fuzzLambda is one started Lambda service with a function "f" (version 1, alias
// "live"), so fuzzed requests reach past "not found".
type fuzzLambda struct {
	svc *Service
	zip string // base64 of a valid zip, spliced in for {zip}
}

func newFuzzLambda(tb testing.TB) *fuzzLambda {
	svc, err := New(Options{Store: memstore.New(), Blobs: &dirBlobs{dir: tb.TempDir()}, Runner: &fakeRunner{}})
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	tb.Cleanup(func() { cancel(); svc.Wait() })
	if err := svc.Start(ctx); err != nil {
		tb.Fatal(err)
	}
	fl := &fuzzLambda{svc: svc, zip: base64.StdEncoding.EncodeToString(makeZip(tb, map[string]string{"index.js": "exports.handler=async()=>1"}))}
	fl.ensureFunction(tb)
	return fl
}

// ensureFunction (re)creates f, version 1 and alias live when a fuzzed request
// deleted them.
func (fl *fuzzLambda) ensureFunction(tb testing.TB) {
	if rec, _ := fl.call("GET", "/2015-03-31/functions/f", nil); rec.Code == 200 {
		return
	}
	for _, c := range []struct{ method, path, body string }{
		{"POST", "/2015-03-31/functions", `{"FunctionName":"f","Runtime":"nodejs22.x","Handler":"index.handler","Role":"arn:aws:iam::123456789012:role/r","Code":{"ZipFile":"{zip}"}}`},
		{"POST", "/2015-03-31/functions/f/versions", `{}`},
		{"POST", "/2015-03-31/functions/f/aliases", `{"Name":"live","FunctionVersion":"1"}`},
	} {
		if rec, desc := fl.call(c.method, c.path, []byte(c.body)); rec.Code >= 300 {
			tb.Fatalf("%s: %d %s", desc, rec.Code, rec.Body)
		}
	}
}

func (fl *fuzzLambda) call(method, path string, body []byte) (*httptest.ResponseRecorder, string) {
	if _, err := url.ParseRequestURI(path); err != nil {
		return nil, ""
	}
	body = []byte(strings.ReplaceAll(string(body), "{zip}", fl.zip))
	req := httptest.NewRequest(method, "http://localhost"+path, strings.NewReader(string(body)))
	req = req.WithContext(awsproto.WithRequestID(req.Context(), "fuzz"))
	rec := httptest.NewRecorder()
	fl.svc.ServeHTTP(rec, req)
	return rec, method + " " + path
}

// FuzzControlPlane: any Lambda API request (method, path, body; {zip} in the body
// is a valid zip) gets an AWS answer: never a 500, a panic or Go's wording. It
// covers every operation's decoder and validation: functions, code, config,
// versions, aliases, permissions and policies, concurrency, tags and Invoke's
// headers.
func FuzzControlPlane(f *testing.F) {
	seeds := []struct{ method, path, body string }{
		{"POST", "/2015-03-31/functions", `{"FunctionName":"g","Runtime":"python3.12","Handler":"a.b","Role":"arn:aws:iam::123456789012:role/r","Code":{"ZipFile":"{zip}"},"Environment":{"Variables":{"A":"b"}},"MemorySize":129,"Timeout":900,"Architectures":["arm64"],"EphemeralStorage":{"Size":512},"Tags":{"k":"v"}}`},
		{"POST", "/2015-03-31/functions", `{"FunctionName":5}`},
		{"POST", "/2015-03-31/functions", `{"FunctionName":"g","Code":{"ZipFile":"bm90IGEgemlw"}}`},
		{"PUT", "/2015-03-31/functions/f/code", `{"ZipFile":"{zip}","Publish":true,"RevisionId":"x"}`},
		{"PUT", "/2015-03-31/functions/f/configuration", `{"Environment":{"Variables":{"AWS_REGION":"x","1bad":"y"}},"Handler":" ","Layers":["arn:aws:lambda:us-east-1:123456789012:layer:l:1"]}`},
		{"POST", "/2015-03-31/functions/f/invocations", `{"k":"v"}`},
		{"POST", "/2015-03-31/functions/f:live/invocations?Qualifier=1", `[`},
		{"POST", "/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:f/policy", `{"StatementId":"s","Action":"lambda:InvokeFunction","Principal":"apigateway.amazonaws.com","SourceArn":"arn:aws:execute-api:us-east-1:123456789012:abc/*/GET/x"}`},
		{"GET", "/2015-03-31/functions/f/policy?Qualifier=live", ``},
		{"DELETE", "/2015-03-31/functions/f/policy/s", ``},
		{"POST", "/2015-03-31/functions/f/aliases", `{"Name":"a","FunctionVersion":"$LATEST","RoutingConfig":{"AdditionalVersionWeights":{"1":0.5}}}`},
		{"PUT", "/2015-03-31/functions/f/aliases/live", `{"FunctionVersion":"99"}`},
		{"PUT", "/2017-10-31/functions/f/concurrency", `{"ReservedConcurrentExecutions":-1}`},
		{"POST", "/2017-03-31/tags/arn:aws:lambda:us-east-1:123456789012:function:f", `{"Tags":{"":"v"}}`},
		{"GET", "/2015-03-31/functions/?MaxItems=0&Marker=%ZZ&FunctionVersion=ALL", ``},
		{"DELETE", "/2015-03-31/functions/f?Qualifier=1", ``},
		{"GET", "/2015-03-31/functions/" + strings.Repeat("x", 200) + "/configuration", ``},
	}
	for _, s := range seeds {
		f.Add(s.method, s.path, []byte(s.body))
	}
	fl := newFuzzLambda(f)
	f.Fuzz(func(t *testing.T, method, path string, body []byte) {
		if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, " \r\n\t#") || !awsprototest.IsMethodToken(method) {
			return
		}
		fl.ensureFunction(t)
		rec, desc := fl.call(method, path, body)
		if rec == nil {
			return
		}
		awsprototest.CheckAnswer(t, desc, rec)
		if rec.Code >= 400 {
			var m map[string]any
			_ = json.Unmarshal(rec.Body.Bytes(), &m)
			if m["Type"] == nil && rec.Header().Get("X-Amzn-ErrorType") != "TooManyRequestsException" {
				t.Fatalf("%s: Lambda error without Type: %s", desc, rec.Body)
			}
		}
	})
}
