package compile_test

import (
	"context"
	"maps"
	"testing"

	"github.com/sluice-dev/sluice/internal/apigw/compile"
	"github.com/sluice-dev/sluice/internal/apigw/compile/compiletest"
	"github.com/sluice-dev/sluice/internal/apigw/model"
	"github.com/sluice-dev/sluice/internal/store/memstore"
)

const (
	region  = "us-east-1"
	account = "123456789012"
	fnARN   = "arn:aws:lambda:us-east-1:123456789012:function:f"
)

func build(t *testing.T, st *memstore.Store) *compile.Snapshot {
	t.Helper()
	snap, err := compile.FromStore(context.Background(), st, compile.Options{Region: region, AccountID: account})
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

func proxy() *model.Integration {
	return &model.Integration{Type: "AWS_PROXY", HTTPMethod: "POST", URI: compiletest.LambdaURI(region, fnARN)}
}

func restFixture(t *testing.T) *compile.Stage {
	st := memstore.New()
	any := map[string]*model.Integration{"ANY": proxy()}
	get := map[string]*model.Integration{"GET": proxy()}
	compiletest.RestDeploy(t, st, model.RestSnapshot{
		API: model.RestAPI{ID: "api1", Name: "a"},
		Resources: []*model.Resource{
			compiletest.Resource("root", "/", get),
			compiletest.Resource("r1", "/pets", map[string]*model.Integration{"GET": proxy(), "POST": proxy()}),
			compiletest.Resource("r2", "/pets/{id}", any),
			compiletest.Resource("r3", "/pets/dog", get),
			compiletest.Resource("r4", "/pets/{id}/toys", get),
			compiletest.Resource("r5", "/{proxy+}", any),
			compiletest.Resource("r6", "/email", nil),
			compiletest.Resource("r7", "/email/{proxy+}", any),
			compiletest.Resource("r8", "/a/b", get),
			compiletest.Resource("r9", "/{x}/c", get),
		},
	}, "d1", model.Stage{StageName: "v1", Variables: map[string]string{"alias": "live"}})
	s := build(t, st).API("api1").Stage("v1")
	if s == nil {
		t.Fatal("stage v1 not compiled")
	}
	return s
}

// REST resource selection: literal parts beat {param} beat {proxy+}, explicit methods
// beat ANY, the method is chosen after the resource.
func TestRESTRouting(t *testing.T) {
	s := restFixture(t)
	tests := []struct {
		method, path  string
		wantKey       string
		wantParams    map[string]string
		methodMissing bool
	}{
		{"GET", "/", "GET /", nil, false},
		{"GET", "/pets", "GET /pets", nil, false},
		{"GET", "/pets/", "GET /pets", nil, false},
		{"POST", "/pets", "POST /pets", nil, false},
		{"DELETE", "/pets", "", nil, true}, // resource /pets matched by path; no DELETE nor ANY
		{"GET", "/pets/dog", "GET /pets/dog", nil, false},
		{"POST", "/pets/dog", "", nil, true},
		{"GET", "/pets/cat", "ANY /pets/{id}", map[string]string{"id": "cat"}, false},
		{"GET", "/pets/caf%C3%A9", "ANY /pets/{id}", map[string]string{"id": "café"}, false},
		{"GET", "/pets/a%2Fb", "ANY /pets/{id}", map[string]string{"id": "a/b"}, false},
		{"GET", "/pets/7/toys", "GET /pets/{id}/toys", map[string]string{"id": "7"}, false},
		{"GET", "/pets/7/food", "ANY /{proxy+}", map[string]string{"proxy": "pets/7/food"}, false},
		{"PUT", "/email/send", "ANY /email/{proxy+}", map[string]string{"proxy": "send"}, false},
		{"GET", "/email/a/b/c", "ANY /email/{proxy+}", map[string]string{"proxy": "a/b/c"}, false},
		{"GET", "/email", "ANY /{proxy+}", map[string]string{"proxy": "email"}, false}, // /email has no methods
		{"GET", "/a/c", "GET /{x}/c", map[string]string{"x": "a"}, false},              // backtracks from /a
		{"GET", "/a/b", "GET /a/b", nil, false},
		{"GET", "/zzz", "ANY /{proxy+}", map[string]string{"proxy": "zzz"}, false},
	}
	for _, tt := range tests {
		m := s.Router.Match(tt.method, tt.path)
		got := ""
		if m.Route != nil {
			got = m.Route.Key
		}
		if got != tt.wantKey || m.MethodMissing != tt.methodMissing || !maps.Equal(m.PathParams, tt.wantParams) {
			t.Errorf("%s %s = %q %v missing=%v, want %q %v missing=%v", tt.method, tt.path, got, m.PathParams,
				m.MethodMissing, tt.wantKey, tt.wantParams, tt.methodMissing)
		}
	}
}

func TestRESTNoGreedyAtRoot(t *testing.T) {
	st := memstore.New()
	compiletest.RestDeploy(t, st, model.RestSnapshot{
		API:       model.RestAPI{ID: "api1"},
		Resources: []*model.Resource{compiletest.Resource("r", "/{proxy+}", map[string]*model.Integration{"ANY": proxy()})},
	}, "d1", model.Stage{StageName: "s"})
	m := build(t, st).API("api1").Stage("s").Router.Match("GET", "/")
	if m.Route != nil || m.MethodMissing {
		t.Fatalf("/{proxy+} matched the root: %+v", m)
	}
}

func TestSourceARN(t *testing.T) {
	s := restFixture(t)
	m := s.Router.Match("GET", "/email/send")
	want := "arn:aws:execute-api:us-east-1:123456789012:api1/v1/GET/email/{proxy+}"
	if got := m.Route.SourceARN("GET"); got != want {
		t.Fatalf("SourceARN = %q, want %q", got, want)
	}
	if got := m.Route.SourceARN("PROPFIND"); got != "arn:aws:execute-api:us-east-1:123456789012:api1/v1/PROPFIND/email/{proxy+}" {
		t.Fatalf("SourceARN(PROPFIND) = %q", got)
	}
	root := s.Router.Match("GET", "/")
	if got := root.Route.SourceARN("GET"); got != "arn:aws:execute-api:us-east-1:123456789012:api1/v1/GET/" {
		t.Fatalf("root SourceARN = %q", got)
	}
	if s.Router.Match("GET", "/pets").Route.Integration.FunctionARN != fnARN {
		t.Fatal("function ARN not parsed out of the integration URI")
	}
}

func httpFixture(t *testing.T) *compile.Snapshot {
	st := memstore.New()
	integ := map[string]*model.Integration2{"i1": {IntegrationID: "i1", IntegrationType: "AWS_PROXY",
		IntegrationURI: "arn:aws:lambda:us-east-1:123456789012:function:${stageVariables.fn}", PayloadFormatVersion: "2.0"}}
	routes := []*model.Route{}
	for i, k := range []string{"GET /pets/dog/1", "GET /pets/dog/{id}", "GET /pets/{proxy+}", "ANY /{proxy+}",
		"POST /pets", "ANY /pets", "$default", "GET /items/{id}", "DELETE /items/{key}"} {
		routes = append(routes, &model.Route{RouteID: string(rune('a' + i)), RouteKey: k, Target: "integrations/i1", AuthorizationType: "NONE"})
	}
	snap := model.HTTPSnapshot{API: model.HTTPAPI{APIID: "h1", ProtocolType: "HTTP"}, Routes: routes, Integrations: integ}
	compiletest.HTTPDeploy(t, st, snap, "d1", model.Stage2{StageName: "$default", StageVariables: map[string]string{"fn": "f"}})
	compiletest.HTTPDeploy(t, st, snap, "d1", model.Stage2{StageName: "dev", StageVariables: map[string]string{"fn": "g"}})
	return build(t, st)
}

// HTTP API route selection ("Working with routes for HTTP APIs"): full match, then path
// variables, then greedy, then $default; the method must fit (or be ANY).
func TestHTTPRouting(t *testing.T) {
	s := httpFixture(t).API("h1").DefaultStage()
	tests := []struct {
		method, path string
		wantKey      string
		wantParams   map[string]string
	}{
		{"GET", "/pets/dog/1", "GET /pets/dog/1", nil},
		{"GET", "/pets/dog/2", "GET /pets/dog/{id}", map[string]string{"id": "2"}},
		{"GET", "/pets/cat/2", "GET /pets/{proxy+}", map[string]string{"proxy": "cat/2"}},
		{"POST", "/pets/dog/1", "ANY /{proxy+}", map[string]string{"proxy": "pets/dog/1"}},
		{"POST", "/pets", "POST /pets", nil},
		{"PATCH", "/pets", "ANY /pets", nil},
		{"GET", "/", "$default", nil},
		{"GET", "/items/9", "GET /items/{id}", map[string]string{"id": "9"}},
		{"DELETE", "/items/9", "DELETE /items/{key}", map[string]string{"key": "9"}},
	}
	for _, tt := range tests {
		m := s.Router.Match(tt.method, tt.path)
		got := ""
		if m.Route != nil {
			got = m.Route.Key
		}
		if got != tt.wantKey || !maps.Equal(m.PathParams, tt.wantParams) {
			t.Errorf("%s %s = %q %v, want %q %v", tt.method, tt.path, got, m.PathParams, tt.wantKey, tt.wantParams)
		}
	}
	def := s.Router.Match("GET", "/")
	if got := def.Route.SourceARN("GET"); got != "arn:aws:execute-api:us-east-1:123456789012:h1/$default/$default" {
		t.Fatalf("$default route SourceARN = %q", got)
	}
	if got := def.Route.Integration.FunctionARN; got != "arn:aws:lambda:us-east-1:123456789012:function:f" {
		t.Fatalf("stage variable not substituted: %q", got)
	}
	dev := httpFixture(t).API("h1").Stage("dev")
	if got := dev.Router.Match("GET", "/x").Route.Integration.FunctionARN; got != "arn:aws:lambda:us-east-1:123456789012:function:g" {
		t.Fatalf("dev stage function = %q", got)
	}
}

func TestStageWithoutDeploymentIsAbsent(t *testing.T) {
	st := memstore.New()
	compiletest.Put(t, st, model.Key(model.RestAPIPrefix, "a"), model.RestAPI{ID: "a"})
	compiletest.Put(t, st, model.Key(model.RestStagePrefix, "a", "s"), model.Stage{StageName: "s"})
	compiletest.Put(t, st, model.Key(model.RestStagePrefix, "a", "t"), model.Stage{StageName: "t", DeploymentID: "missing"})
	compiletest.Put(t, st, model.Key(model.HTTPAPIPrefix, "b"), []byte("not json"))
	snap := build(t, st)
	if snap.API("a") == nil || snap.API("a").Stage("s") != nil || snap.API("a").Stage("t") != nil {
		t.Fatal("stage without a deployment must not be served")
	}
	if snap.API("b") != nil {
		t.Fatal("undecodable API must be skipped")
	}
}

func TestGatewayResponsesMerge(t *testing.T) {
	st := memstore.New()
	compiletest.RestDeploy(t, st, model.RestSnapshot{
		API: model.RestAPI{ID: "a"},
		GatewayResponses: map[string]*model.GatewayResponse{
			"DEFAULT_4XX": {ResponseType: "DEFAULT_4XX", ResponseParameters: map[string]string{"gatewayresponse.header.X-A": "'1'"}},
			"THROTTLED":   {ResponseType: "THROTTLED", StatusCode: "503", ResponseTemplates: map[string]string{"application/json": `{"t":1}`}},
		},
	}, "d", model.Stage{StageName: "s"})
	grs := build(t, st).API("a").Stage("s").GatewayResponses
	mat := grs["MISSING_AUTHENTICATION_TOKEN"]
	if !mat.Customized || mat.StatusCode != 403 || mat.ResponseParameters["gatewayresponse.header.X-A"] != "'1'" ||
		mat.Template != model.DefaultGatewayResponseTemplate {
		t.Fatalf("MISSING_AUTHENTICATION_TOKEN did not inherit DEFAULT_4XX: %+v", mat)
	}
	if th := grs["THROTTLED"]; th.StatusCode != 503 || th.Template != `{"t":1}` {
		t.Fatalf("THROTTLED = %+v", th)
	}
	if ie := grs["INTEGRATION_TIMEOUT"]; ie.Customized || ie.StatusCode != 504 {
		t.Fatalf("INTEGRATION_TIMEOUT = %+v", ie)
	}
}

func TestCorsAllowedOrigin(t *testing.T) {
	age := 300
	c := &model.Cors{AllowOrigins: []string{"https://app.example.com", "http://*"}, MaxAge: &age}
	st := memstore.New()
	compiletest.HTTPDeploy(t, st, model.HTTPSnapshot{API: model.HTTPAPI{APIID: "h", CorsConfiguration: c}}, "d",
		model.Stage2{StageName: "$default"})
	cors := build(t, st).API("h").DefaultStage().Cors
	for origin, want := range map[string]string{
		"https://app.example.com": "https://app.example.com",
		"https://APP.example.com": "https://APP.example.com",
		"http://localhost:3000":   "http://localhost:3000",
		"https://evil.example":    "",
		"":                        "",
	} {
		if got := cors.AllowedOrigin(origin); got != want {
			t.Errorf("AllowedOrigin(%q) = %q, want %q", origin, got, want)
		}
	}
	if cors.MaxAge != "300" {
		t.Fatalf("MaxAge = %q", cors.MaxAge)
	}
	star := &compile.Cors{Origins: []string{"*"}, AllowAnyOrigin: true}
	if star.AllowedOrigin("https://x") != "*" {
		t.Fatal(`"*" must answer "*"`)
	}
}

// A change to one API recompiles that API only; the others are carried over.
func TestIncrementalBuild(t *testing.T) {
	st := memstore.New()
	res := []*model.Resource{compiletest.Resource("r", "/x", map[string]*model.Integration{"GET": proxy()})}
	compiletest.RestDeploy(t, st, model.RestSnapshot{API: model.RestAPI{ID: "a"}, Resources: res}, "d", model.Stage{StageName: "s"})
	compiletest.RestDeploy(t, st, model.RestSnapshot{API: model.RestAPI{ID: "b"}, Resources: res}, "d", model.Stage{StageName: "s"})
	first := build(t, st)
	compiletest.Put(t, st, model.Key(model.RestStagePrefix, "b", "s"), model.Stage{StageName: "s", DeploymentID: "d",
		Variables: map[string]string{"v": "1"}})
	kvs, _ := st.List(context.Background(), model.Prefix)
	second := compile.Build(kvs, compile.Options{Region: region, AccountID: account, Previous: first})
	if second.API("a") != first.API("a") {
		t.Error("unchanged API a was recompiled")
	}
	if second.API("b") == first.API("b") || second.API("b").Stage("s").Variables["v"] != "1" {
		t.Error("changed API b was not recompiled")
	}
	compiletest.Delete(t, st, model.Key(model.RestAPIPrefix, "a"))
	kvs, _ = st.List(context.Background(), model.Prefix)
	if third := compile.Build(kvs, compile.Options{Previous: second}); third.API("a") != nil || third.API("b") != second.API("b") {
		t.Error("deleted API a still served, or b not reused")
	}
}

// A branch abandoned after capturing path variables leaves none of them behind: the
// values reported are those of the route finally chosen, even past the eight
// variables Match keeps without allocating.
func TestRoutingBacktrackDropsCaptures(t *testing.T) {
	st := memstore.New()
	any := map[string]*model.Integration{"ANY": proxy()}
	compiletest.RestDeploy(t, st, model.RestSnapshot{
		API: model.RestAPI{ID: "api1"},
		Resources: []*model.Resource{
			compiletest.Resource("r1", "/{a}/{b}/x", any),
			compiletest.Resource("r2", "/{a}/{b}/{c}/{d}/{e}/{f}/{g}/{h}/{i}/{j}", any),
			compiletest.Resource("r3", "/{p}/lit/{q}", any),
			compiletest.Resource("r4", "/{proxy+}", any),
		},
	}, "d1", model.Stage{StageName: "s"})
	s := build(t, st).API("api1").Stage("s")
	tests := []struct {
		path       string
		wantKey    string
		wantParams map[string]string
	}{
		{"/p/q/x", "ANY /{a}/{b}/x", map[string]string{"a": "p", "b": "q"}},
		{"/p/q/y", "ANY /{proxy+}", map[string]string{"proxy": "p/q/y"}},
		{"/m/lit/n", "ANY /{p}/lit/{q}", map[string]string{"p": "m", "q": "n"}},
		{"/1/2/3/4/5/6/7/8/9/10", "ANY /{a}/{b}/{c}/{d}/{e}/{f}/{g}/{h}/{i}/{j}", map[string]string{
			"a": "1", "b": "2", "c": "3", "d": "4", "e": "5", "f": "6", "g": "7", "h": "8", "i": "9", "j": "10"}},
		{"/1/2/3/4/5/6/7/8/9/10/11", "ANY /{proxy+}", map[string]string{"proxy": "1/2/3/4/5/6/7/8/9/10/11"}},
	}
	for _, tt := range tests {
		m := s.Router.Match("GET", tt.path)
		got := ""
		if m.Route != nil {
			got = m.Route.Key
		}
		if got != tt.wantKey || !maps.Equal(m.PathParams, tt.wantParams) {
			t.Errorf("GET %s = %q %v, want %q %v", tt.path, got, m.PathParams, tt.wantKey, tt.wantParams)
		}
	}
}
