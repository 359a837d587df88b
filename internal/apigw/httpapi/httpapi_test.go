package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2/types"
	"github.com/aws/smithy-go"

	"github.com/sluice-dev/sluice/internal/apigw/model"
	"github.com/sluice-dev/sluice/internal/store"
)

const (
	testAccount = "123456789012"
	testFnARN   = "arn:aws:lambda:us-east-1:123456789012:function:hello"
)

type env struct {
	t   testing.TB
	st  *testStore
	srv *httptest.Server
	c   *apigatewayv2.Client
	ctx context.Context
}

func newEnv(t testing.TB, configure ...func(*Options)) *env {
	t.Helper()
	st := newTestStore(t)
	opts := Options{
		Store: st, Region: "us-east-1", AccountID: testAccount,
		APIEndpoint: func(id string) string { return "http://" + id + ".execute-api.localhost:4566" },
		Now:         func() time.Time { return time.Date(2024, 5, 6, 7, 8, 9, 500, time.UTC) },
	}
	for _, c := range configure {
		c(&opts)
	}
	svc := New(opts)
	srv := httptest.NewServer(svc)
	t.Cleanup(srv.Close)
	c := apigatewayv2.NewFromConfig(aws.Config{
		Region:      "us-east-1",
		Credentials: aws.AnonymousCredentials{},
		HTTPClient:  srv.Client(),
		Retryer:     func() aws.Retryer { return aws.NopRetryer{} },
	}, func(o *apigatewayv2.Options) { o.BaseEndpoint = aws.String(srv.URL) })
	return &env{t: t, st: st, srv: srv, c: c, ctx: context.Background()}
}

// wantAPIError asserts err is the AWS error code with a message containing msg.
func wantAPIError(t *testing.T, err error, code, msg string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error = %v, want %s", err, code)
	}
	if ae.ErrorCode() != code || !strings.Contains(ae.ErrorMessage(), msg) {
		t.Fatalf("error = %s %q, want %s containing %q", ae.ErrorCode(), ae.ErrorMessage(), code, msg)
	}
}

// result carries an SDK call's two results so one line can assert success:
// check(c.GetApi(ctx, in)).get(t).
type result[T any] struct {
	v   T
	err error
}

func check[T any](v T, err error) result[T] { return result[T]{v, err} }

func (r result[T]) get(t testing.TB) T {
	t.Helper()
	if r.err != nil {
		t.Fatalf("unexpected error: %v", r.err)
	}
	return r.v
}

func (e *env) createAPI(name string) *apigatewayv2.CreateApiOutput {
	e.t.Helper()
	return check(e.c.CreateApi(e.ctx, &apigatewayv2.CreateApiInput{Name: aws.String(name), ProtocolType: types.ProtocolTypeHttp})).get(e.t)
}

func (e *env) createLambdaIntegration(apiID string) string {
	e.t.Helper()
	out := check(e.c.CreateIntegration(e.ctx, &apigatewayv2.CreateIntegrationInput{
		ApiId: aws.String(apiID), IntegrationType: types.IntegrationTypeAwsProxy,
		IntegrationUri: aws.String(testFnARN), PayloadFormatVersion: aws.String("2.0"),
	})).get(e.t)
	return *out.IntegrationId
}

func (e *env) createRoute(apiID, key, integrationID string) *apigatewayv2.CreateRouteOutput {
	e.t.Helper()
	in := &apigatewayv2.CreateRouteInput{ApiId: aws.String(apiID), RouteKey: aws.String(key)}
	if integrationID != "" {
		in.Target = aws.String("integrations/" + integrationID)
	}
	return check(e.c.CreateRoute(e.ctx, in)).get(e.t)
}

func (e *env) snapshot(apiID, deploymentID string) *model.HTTPSnapshot {
	e.t.Helper()
	b, err := e.st.Get(e.ctx, model.Key(model.HTTPSnapshotPrefix, apiID, deploymentID))
	if err != nil {
		e.t.Fatalf("snapshot %s/%s: %v", apiID, deploymentID, err)
	}
	var snap model.HTTPSnapshot
	if err := json.Unmarshal(b, &snap); err != nil {
		e.t.Fatal(err)
	}
	return &snap
}

func routeKeys(snap *model.HTTPSnapshot) []string {
	var keys []string
	for _, r := range snap.Routes {
		keys = append(keys, r.RouteKey)
	}
	slices.Sort(keys)
	return keys
}

func TestCreateGetUpdateDeleteAPI(t *testing.T) {
	e := newEnv(t)
	out := check(e.c.CreateApi(e.ctx, &apigatewayv2.CreateApiInput{
		Name: aws.String("pets"), ProtocolType: types.ProtocolTypeHttp, Description: aws.String("d"),
		Version: aws.String("v1"), Tags: map[string]string{"team": "a"},
		CorsConfiguration: &types.Cors{AllowOrigins: []string{"https://x.example"}, MaxAge: aws.Int32(60)},
	})).get(t)
	id := aws.ToString(out.ApiId)
	if len(id) != 10 || aws.ToString(out.ApiEndpoint) != "http://"+id+".execute-api.localhost:4566" ||
		aws.ToString(out.RouteSelectionExpression) != "$request.method $request.path" ||
		out.ProtocolType != types.ProtocolTypeHttp || out.Tags["team"] != "a" ||
		aws.ToInt32(out.CorsConfiguration.MaxAge) != 60 {
		t.Fatalf("CreateApi = %+v", out)
	}
	if got := aws.ToTime(out.CreatedDate); !got.Equal(time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)) {
		t.Fatalf("createdDate = %v, want whole seconds UTC", got)
	}

	// UpdateApi is a partial update: only the description changes.
	up := check(e.c.UpdateApi(e.ctx, &apigatewayv2.UpdateApiInput{ApiId: aws.String(id), Description: aws.String("new")})).get(t)
	if aws.ToString(up.Description) != "new" || aws.ToString(up.Name) != "pets" || aws.ToString(up.Version) != "v1" ||
		up.CorsConfiguration == nil {
		t.Fatalf("UpdateApi = %+v", up)
	}
	got := check(e.c.GetApi(e.ctx, &apigatewayv2.GetApiInput{ApiId: aws.String(id)})).get(t)
	if aws.ToString(got.Description) != "new" {
		t.Fatalf("GetApi after update = %+v", got)
	}
	check(e.c.DeleteCorsConfiguration(e.ctx, &apigatewayv2.DeleteCorsConfigurationInput{ApiId: aws.String(id)})).get(t)
	if got := check(e.c.GetApi(e.ctx, &apigatewayv2.GetApiInput{ApiId: aws.String(id)})).get(t); got.CorsConfiguration != nil {
		t.Fatalf("cors after DeleteCorsConfiguration = %+v", got.CorsConfiguration)
	}

	check(e.c.DeleteApi(e.ctx, &apigatewayv2.DeleteApiInput{ApiId: aws.String(id)})).get(t)
	_, err := e.c.GetApi(e.ctx, &apigatewayv2.GetApiInput{ApiId: aws.String(id)})
	wantAPIError(t, err, "NotFoundException", "Invalid API identifier specified "+testAccount+":"+id)
}

func TestCreateAPIErrors(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		name string
		in   *apigatewayv2.CreateApiInput
		code string
		msg  string
	}{
		{"bad protocol", &apigatewayv2.CreateApiInput{Name: aws.String("a"), ProtocolType: "SOAP"},
			"BadRequestException", "Invalid protocol specified. Must be one of [HTTP, WEBSOCKET]"},
		{"websocket", &apigatewayv2.CreateApiInput{Name: aws.String("a"), ProtocolType: types.ProtocolTypeWebsocket},
			"NotImplementedException", "WEBSOCKET is not implemented in Sluice yet"},
		{"bad target", &apigatewayv2.CreateApiInput{Name: aws.String("a"), ProtocolType: types.ProtocolTypeHttp, Target: aws.String("ftp://x")},
			"BadRequestException", "Invalid target specified"},
		{"route key without target", &apigatewayv2.CreateApiInput{Name: aws.String("a"), ProtocolType: types.ProtocolTypeHttp, RouteKey: aws.String("GET /")},
			"BadRequestException", "RouteKey is supported only with Target"},
		{"bad quick route key", &apigatewayv2.CreateApiInput{Name: aws.String("a"), ProtocolType: types.ProtocolTypeHttp, Target: aws.String(testFnARN), RouteKey: aws.String("FETCH /")},
			"BadRequestException", "Invalid route key specified"},
		{"cors credentials with wildcard", &apigatewayv2.CreateApiInput{Name: aws.String("a"), ProtocolType: types.ProtocolTypeHttp,
			CorsConfiguration: &types.Cors{AllowOrigins: []string{"*"}, AllowCredentials: aws.Bool(true)}},
			"BadRequestException", "allowCredentials"},
		{"cors maxAge", &apigatewayv2.CreateApiInput{Name: aws.String("a"), ProtocolType: types.ProtocolTypeHttp,
			CorsConfiguration: &types.Cors{MaxAge: aws.Int32(86401)}},
			"BadRequestException", "maxAge"},
		{"route selection expression", &apigatewayv2.CreateApiInput{Name: aws.String("a"), ProtocolType: types.ProtocolTypeHttp,
			RouteSelectionExpression: aws.String("$request.body.action")},
			"BadRequestException", "route selection expression"},
		{"reserved tag", &apigatewayv2.CreateApiInput{Name: aws.String("a"), ProtocolType: types.ProtocolTypeHttp,
			Tags: map[string]string{"aws:x": "1"}},
			"BadRequestException", "reserved"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.c.CreateApi(e.ctx, tc.in)
			wantAPIError(t, err, tc.code, tc.msg)
		})
	}
	if keys := e.st.keys(t, "/apigw/"); len(keys) != 0 {
		t.Fatalf("failed creates left records: %v", keys)
	}
}

func TestQuickCreateLambda(t *testing.T) {
	e := newEnv(t)
	out := check(e.c.CreateApi(e.ctx, &apigatewayv2.CreateApiInput{
		Name: aws.String("qc"), ProtocolType: types.ProtocolTypeHttp, Target: aws.String(testFnARN),
	})).get(t)
	id := out.ApiId
	integs := check(e.c.GetIntegrations(e.ctx, &apigatewayv2.GetIntegrationsInput{ApiId: id})).get(t)
	if len(integs.Items) != 1 {
		t.Fatalf("integrations = %+v", integs.Items)
	}
	in := integs.Items[0]
	if in.IntegrationType != types.IntegrationTypeAwsProxy || aws.ToString(in.PayloadFormatVersion) != "2.0" ||
		aws.ToString(in.IntegrationUri) != testFnARN || !aws.ToBool(in.ApiGatewayManaged) ||
		aws.ToInt32(in.TimeoutInMillis) != 30000 || aws.ToString(in.IntegrationMethod) != "POST" ||
		in.ConnectionType != types.ConnectionTypeInternet || len(aws.ToString(in.IntegrationId)) != 7 {
		t.Fatalf("quick-create integration = %+v", in)
	}
	routes := check(e.c.GetRoutes(e.ctx, &apigatewayv2.GetRoutesInput{ApiId: id})).get(t)
	if len(routes.Items) != 1 || aws.ToString(routes.Items[0].RouteKey) != "$default" ||
		aws.ToString(routes.Items[0].Target) != "integrations/"+aws.ToString(in.IntegrationId) ||
		!aws.ToBool(routes.Items[0].ApiGatewayManaged) || routes.Items[0].AuthorizationType != types.AuthorizationTypeNone {
		t.Fatalf("quick-create routes = %+v", routes.Items)
	}
	st := check(e.c.GetStage(e.ctx, &apigatewayv2.GetStageInput{ApiId: id, StageName: aws.String("$default")})).get(t)
	if !aws.ToBool(st.AutoDeploy) || !aws.ToBool(st.ApiGatewayManaged) || aws.ToString(st.DeploymentId) == "" ||
		aws.ToString(st.LastDeploymentStatusMessage) != "Successfully deployed stage with deployment ID '"+aws.ToString(st.DeploymentId)+"'" {
		t.Fatalf("quick-create stage = %+v", st)
	}
	dep := check(e.c.GetDeployment(e.ctx, &apigatewayv2.GetDeploymentInput{ApiId: id, DeploymentId: st.DeploymentId})).get(t)
	if !aws.ToBool(dep.AutoDeployed) || dep.DeploymentStatus != types.DeploymentStatusDeployed ||
		aws.ToString(dep.Description) != "Automatic deployment triggered by changes to the Api configuration" {
		t.Fatalf("quick-create deployment = %+v", dep)
	}
	snap := e.snapshot(*id, *st.DeploymentId)
	if got := routeKeys(snap); !slices.Equal(got, []string{"$default"}) || snap.Integrations[*in.IntegrationId] == nil ||
		snap.API.APIID != *id {
		t.Fatalf("snapshot = %+v", snap)
	}
}

func TestQuickCreateHTTPAndUpdate(t *testing.T) {
	e := newEnv(t)
	out := check(e.c.CreateApi(e.ctx, &apigatewayv2.CreateApiInput{
		Name: aws.String("proxy"), ProtocolType: types.ProtocolTypeHttp,
		Target: aws.String("https://backend.example/base"), RouteKey: aws.String("ANY /{proxy+}"),
	})).get(t)
	integs := check(e.c.GetIntegrations(e.ctx, &apigatewayv2.GetIntegrationsInput{ApiId: out.ApiId})).get(t)
	if in := integs.Items[0]; in.IntegrationType != types.IntegrationTypeHttpProxy || aws.ToString(in.IntegrationMethod) != "ANY" ||
		aws.ToString(in.PayloadFormatVersion) != "1.0" {
		t.Fatalf("HTTP quick-create integration = %+v", in)
	}
	// UpdateApi's target and routeKey rewrite the quick-create resources.
	check(e.c.UpdateApi(e.ctx, &apigatewayv2.UpdateApiInput{ApiId: out.ApiId, Target: aws.String(testFnARN), RouteKey: aws.String("GET /x")})).get(t)
	integs = check(e.c.GetIntegrations(e.ctx, &apigatewayv2.GetIntegrationsInput{ApiId: out.ApiId})).get(t)
	routes := check(e.c.GetRoutes(e.ctx, &apigatewayv2.GetRoutesInput{ApiId: out.ApiId})).get(t)
	if integs.Items[0].IntegrationType != types.IntegrationTypeAwsProxy || aws.ToString(routes.Items[0].RouteKey) != "GET /x" {
		t.Fatalf("after UpdateApi: %+v %+v", integs.Items[0], routes.Items[0])
	}
	// An API made without quick create has nothing to retarget.
	plain := e.createAPI("plain")
	_, err := e.c.UpdateApi(e.ctx, &apigatewayv2.UpdateApiInput{ApiId: plain.ApiId, Target: aws.String(testFnARN)})
	wantAPIError(t, err, "BadRequestException", "quick create")
}

func TestRouteKeyValidation(t *testing.T) {
	cases := []struct {
		key string
		ok  bool
	}{
		{"$default", true},
		{"GET /", true},
		{"GET /pets", true},
		{"ANY /{proxy+}", true},
		{"POST /pets/{id}/toys", true},
		{"DELETE /a/{b}/{c+}", true},
		{"HEAD /a.b-c_d~e", true},
		{"OPTIONS /x", true},
		{"PATCH /x", true},
		{"PUT /x", true},
		{"$connect", false},
		{"GET", false},
		{"get /pets", false},
		{"FETCH /pets", false},
		{"GET pets", false},
		{"GET /pets/", false},
		{"GET //pets", false},
		{"GET /{proxy+}/more", false},
		{"GET /a{b}", false},
		{"GET /{a}/{a}", false},
		{"GET /a b", false},
		{"GET /a?b", false},
		{"", false},
	}
	for _, tc := range cases {
		err := validateRouteKey(tc.key)
		if (err == nil) != tc.ok {
			t.Errorf("validateRouteKey(%q) = %v, want ok=%v", tc.key, err, tc.ok)
		}
	}
}

func TestConflictingVariables(t *testing.T) {
	cases := []struct {
		a, b string
		want bool
	}{
		{"GET /pets/{id}", "GET /pets/{petId}", true},
		{"GET /pets/{id}", "POST /pets/{petId}/toys", true},
		{"GET /pets/{id}", "GET /pets/{id}/toys", false},
		{"GET /pets/{id}", "GET /cats/{catId}", false},
		{"GET /pets/{id}", "ANY /pets/{proxy+}", false},
		{"ANY /{proxy+}", "GET /{rest+}", true},
		{"GET /a/{x}/b/{y}", "GET /a/{x}/c/{z}", false},
		{"GET /a/{x}/b/{y}", "GET /a/{x}/b/{z}", true},
		{"$default", "GET /{id}", false},
	}
	for _, tc := range cases {
		if got := conflictingVariables(tc.a, tc.b); got != tc.want {
			t.Errorf("conflictingVariables(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestRoutes(t *testing.T) {
	e := newEnv(t)
	api := e.createAPI("r")
	integ := e.createLambdaIntegration(*api.ApiId)
	r := e.createRoute(*api.ApiId, "GET /pets/{id}", integ)
	if len(aws.ToString(r.RouteId)) != 7 || r.AuthorizationType != types.AuthorizationTypeNone || aws.ToBool(r.ApiKeyRequired) {
		t.Fatalf("CreateRoute = %+v", r)
	}

	errCases := []struct {
		name string
		in   *apigatewayv2.CreateRouteInput
		code string
		msg  string
	}{
		{"duplicate key", &apigatewayv2.CreateRouteInput{RouteKey: aws.String("GET /pets/{id}")}, "ConflictException", "Route with key GET /pets/{id} already exists"},
		{"bad key", &apigatewayv2.CreateRouteInput{RouteKey: aws.String("GET pets")}, "BadRequestException", "Invalid route key specified"},
		{"conflicting variable", &apigatewayv2.CreateRouteInput{RouteKey: aws.String("DELETE /pets/{petId}/toys")}, "ConflictException",
			`The provided route key "DELETE /pets/{petId}/toys" has a conflicting variable on the same hierarchical level as "GET /pets/{id}"`},
		{"missing integration", &apigatewayv2.CreateRouteInput{RouteKey: aws.String("GET /a"), Target: aws.String("integrations/nope123")},
			"NotFoundException", "Invalid Integration identifier specified nope123"},
		{"malformed target", &apigatewayv2.CreateRouteInput{RouteKey: aws.String("GET /a"), Target: aws.String("lambda/" + integ)},
			"BadRequestException", "integrations/{integrationId}"},
		{"jwt without authorizer", &apigatewayv2.CreateRouteInput{RouteKey: aws.String("GET /a"), AuthorizationType: types.AuthorizationTypeJwt},
			"BadRequestException", "authorizerId is required"},
		{"jwt with unknown authorizer", &apigatewayv2.CreateRouteInput{RouteKey: aws.String("GET /a"), AuthorizationType: types.AuthorizationTypeJwt, AuthorizerId: aws.String("abc")},
			"NotFoundException", "Invalid Authorizer identifier specified abc"},
		{"authorizer with NONE", &apigatewayv2.CreateRouteInput{RouteKey: aws.String("GET /a"), AuthorizerId: aws.String("abc")},
			"BadRequestException", "authorizerId can be set only"},
		{"bad authorization type", &apigatewayv2.CreateRouteInput{RouteKey: aws.String("GET /a"), AuthorizationType: "BASIC"},
			"BadRequestException", "Invalid authorization type"},
		{"api key on HTTP API", &apigatewayv2.CreateRouteInput{RouteKey: aws.String("GET /a"), ApiKeyRequired: aws.Bool(true)},
			"BadRequestException", "WebSocket"},
		{"scopes without JWT", &apigatewayv2.CreateRouteInput{RouteKey: aws.String("GET /a"), AuthorizationScopes: []string{"read"}},
			"BadRequestException", "AuthorizationScopes"},
	}
	for _, tc := range errCases {
		t.Run(tc.name, func(t *testing.T) {
			tc.in.ApiId = api.ApiId
			_, err := e.c.CreateRoute(e.ctx, tc.in)
			wantAPIError(t, err, tc.code, tc.msg)
		})
	}
	_, err := e.c.CreateRoute(e.ctx, &apigatewayv2.CreateRouteInput{ApiId: aws.String("missing000"), RouteKey: aws.String("GET /")})
	wantAPIError(t, err, "NotFoundException", "Invalid API identifier specified "+testAccount+":missing000")

	// A JWT route whose authorizer exists (authorizers are written by another part).
	if err := e.st.Update(e.ctx, func(tx store.Tx) error {
		return store.PutRecord(tx, model.Key(model.HTTPAuthorizerPrefix, *api.ApiId, "auth1"), &model.Authorizer2{AuthorizerID: "auth1", AuthorizerType: "JWT", Name: "j"})
	}); err != nil {
		t.Fatal(err)
	}
	jwt := check(e.c.CreateRoute(e.ctx, &apigatewayv2.CreateRouteInput{ApiId: api.ApiId, RouteKey: aws.String("GET /me"),
		AuthorizationType: types.AuthorizationTypeJwt, AuthorizerId: aws.String("auth1"), AuthorizationScopes: []string{"read"}})).get(t)
	_, err = e.c.UpdateRoute(e.ctx, &apigatewayv2.UpdateRouteInput{ApiId: api.ApiId, RouteId: jwt.RouteId, AuthorizationType: types.AuthorizationTypeCustom})
	wantAPIError(t, err, "BadRequestException", "requires a REQUEST authorizer")

	// UpdateRoute is partial; a key change is validated against other routes.
	up := check(e.c.UpdateRoute(e.ctx, &apigatewayv2.UpdateRouteInput{ApiId: api.ApiId, RouteId: r.RouteId, RouteKey: aws.String("POST /pets/{id}")})).get(t)
	if aws.ToString(up.RouteKey) != "POST /pets/{id}" || aws.ToString(up.Target) != "integrations/"+integ {
		t.Fatalf("UpdateRoute = %+v", up)
	}
	_, err = e.c.UpdateRoute(e.ctx, &apigatewayv2.UpdateRouteInput{ApiId: api.ApiId, RouteId: r.RouteId, RouteKey: aws.String("GET /me")})
	wantAPIError(t, err, "ConflictException", "already exists")

	got := check(e.c.GetRoute(e.ctx, &apigatewayv2.GetRouteInput{ApiId: api.ApiId, RouteId: r.RouteId})).get(t)
	if aws.ToString(got.RouteKey) != "POST /pets/{id}" {
		t.Fatalf("GetRoute = %+v", got)
	}
	check(e.c.DeleteRoute(e.ctx, &apigatewayv2.DeleteRouteInput{ApiId: api.ApiId, RouteId: r.RouteId})).get(t)
	_, err = e.c.GetRoute(e.ctx, &apigatewayv2.GetRouteInput{ApiId: api.ApiId, RouteId: r.RouteId})
	wantAPIError(t, err, "NotFoundException", "Invalid Route identifier specified "+*r.RouteId)
	_, err = e.c.DeleteRoute(e.ctx, &apigatewayv2.DeleteRouteInput{ApiId: api.ApiId, RouteId: r.RouteId})
	wantAPIError(t, err, "NotFoundException", "Invalid Route identifier specified")
}

func TestIntegrations(t *testing.T) {
	e := newEnv(t)
	api := e.createAPI("i")
	id := api.ApiId
	proxy := check(e.c.CreateIntegration(e.ctx, &apigatewayv2.CreateIntegrationInput{
		ApiId: id, IntegrationType: types.IntegrationTypeHttpProxy, IntegrationUri: aws.String("https://example.com/{proxy}"),
		IntegrationMethod: aws.String("GET"), TimeoutInMillis: aws.Int32(5000), Description: aws.String("up"),
		RequestParameters: map[string]string{
			"append:header.x-from":      "$request.header.y",
			"overwrite:header.x-req":    "$context.requestId",
			"remove:header.x-secret":    "''",
			"overwrite:path":            "/v2/$request.path.id",
			"append:querystring.stage":  "$stageVariables.name",
			"overwrite:querystring.lit": "static value",
			"overwrite:header.x-both":   "${request.querystring.a}-${request.body.b}",
		},
		ResponseParameters: map[string]map[string]string{
			"404": {"overwrite:statuscode": "200", "append:header.x-resp": "$response.header.z"},
		},
	})).get(t)
	if aws.ToString(proxy.PayloadFormatVersion) != "1.0" || aws.ToInt32(proxy.TimeoutInMillis) != 5000 ||
		proxy.ConnectionType != types.ConnectionTypeInternet || len(proxy.RequestParameters) != 7 ||
		proxy.ResponseParameters["404"]["overwrite:statuscode"] != "200" {
		t.Fatalf("CreateIntegration HTTP_PROXY = %+v", proxy)
	}
	lam := check(e.c.CreateIntegration(e.ctx, &apigatewayv2.CreateIntegrationInput{
		ApiId: id, IntegrationType: types.IntegrationTypeAwsProxy, PayloadFormatVersion: aws.String("1.0"),
		IntegrationUri: aws.String("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/" + testFnARN + "/invocations"),
	})).get(t)
	if aws.ToInt32(lam.TimeoutInMillis) != 30000 || aws.ToString(lam.IntegrationMethod) != "POST" {
		t.Fatalf("CreateIntegration AWS_PROXY = %+v", lam)
	}
	// Stage variables may stand for parts of the URI; AWS resolves them per request.
	for _, in := range []apigatewayv2.CreateIntegrationInput{
		{IntegrationType: types.IntegrationTypeHttpProxy, IntegrationUri: aws.String("http://${stageVariables.host}:8080/${stageVariables.base}"),
			IntegrationMethod: aws.String("ANY")},
		{IntegrationType: types.IntegrationTypeAwsProxy, IntegrationUri: aws.String("arn:aws:lambda:us-east-1:123456789012:function:${stageVariables.fn}"),
			PayloadFormatVersion: aws.String("2.0")},
	} {
		in.ApiId = id
		check(e.c.CreateIntegration(e.ctx, &in)).get(t)
	}

	errCases := []struct {
		name string
		in   apigatewayv2.CreateIntegrationInput
		code string
		msg  string
	}{
		{"timeout low", apigatewayv2.CreateIntegrationInput{IntegrationType: types.IntegrationTypeAwsProxy, IntegrationUri: aws.String(testFnARN),
			PayloadFormatVersion: aws.String("2.0"), TimeoutInMillis: aws.Int32(49)}, "BadRequestException", "between 50 and 30000"},
		{"timeout high", apigatewayv2.CreateIntegrationInput{IntegrationType: types.IntegrationTypeAwsProxy, IntegrationUri: aws.String(testFnARN),
			PayloadFormatVersion: aws.String("2.0"), TimeoutInMillis: aws.Int32(30001)}, "BadRequestException", "between 50 and 30000"},
		{"payload missing", apigatewayv2.CreateIntegrationInput{IntegrationType: types.IntegrationTypeAwsProxy, IntegrationUri: aws.String(testFnARN)},
			"BadRequestException", "payloadFormatVersion is required"},
		{"payload bad", apigatewayv2.CreateIntegrationInput{IntegrationType: types.IntegrationTypeAwsProxy, IntegrationUri: aws.String(testFnARN),
			PayloadFormatVersion: aws.String("3.0")}, "BadRequestException", "Must be one of [1.0, 2.0]"},
		{"http proxy payload 2.0", apigatewayv2.CreateIntegrationInput{IntegrationType: types.IntegrationTypeHttpProxy, IntegrationUri: aws.String("http://a"),
			IntegrationMethod: aws.String("GET"), PayloadFormatVersion: aws.String("2.0")}, "BadRequestException", "support only 1.0"},
		{"lambda uri not arn", apigatewayv2.CreateIntegrationInput{IntegrationType: types.IntegrationTypeAwsProxy, IntegrationUri: aws.String("http://a"),
			PayloadFormatVersion: aws.String("2.0")}, "BadRequestException", "Invalid integration URI"},
		{"http proxy no method", apigatewayv2.CreateIntegrationInput{IntegrationType: types.IntegrationTypeHttpProxy, IntegrationUri: aws.String("http://a")},
			"BadRequestException", "integrationMethod is required"},
		{"http proxy bad url", apigatewayv2.CreateIntegrationInput{IntegrationType: types.IntegrationTypeHttpProxy, IntegrationUri: aws.String("backend:80"),
			IntegrationMethod: aws.String("GET")}, "BadRequestException", "fully qualified"},
		{"mock", apigatewayv2.CreateIntegrationInput{IntegrationType: types.IntegrationTypeMock}, "BadRequestException", "Currently, an API with a protocol type of HTTP may only be associated with proxy integrations (AWS_PROXY, HTTP_PROXY)"},
		{"reserved header", apigatewayv2.CreateIntegrationInput{IntegrationType: types.IntegrationTypeHttpProxy, IntegrationUri: aws.String("http://a"),
			IntegrationMethod: aws.String("GET"), RequestParameters: map[string]string{"overwrite:header.Authorization": "x"}},
			"BadRequestException", "restricted"},
		{"bad mapping key", apigatewayv2.CreateIntegrationInput{IntegrationType: types.IntegrationTypeHttpProxy, IntegrationUri: aws.String("http://a"),
			IntegrationMethod: aws.String("GET"), RequestParameters: map[string]string{"append:path": "x"}},
			"BadRequestException", "Invalid mapping key specified: append:path"},
		{"bad mapping value", apigatewayv2.CreateIntegrationInput{IntegrationType: types.IntegrationTypeHttpProxy, IntegrationUri: aws.String("http://a"),
			IntegrationMethod: aws.String("GET"), RequestParameters: map[string]string{"append:header.x": "$request.cookie.y"}},
			"BadRequestException", "Invalid mapping expression specified: $request.cookie.y"},
		{"response value in request", apigatewayv2.CreateIntegrationInput{IntegrationType: types.IntegrationTypeHttpProxy, IntegrationUri: aws.String("http://a"),
			IntegrationMethod: aws.String("GET"), RequestParameters: map[string]string{"append:header.x": "$response.header.y"}},
			"BadRequestException", "Invalid mapping expression"},
		{"bad response status", apigatewayv2.CreateIntegrationInput{IntegrationType: types.IntegrationTypeHttpProxy, IntegrationUri: aws.String("http://a"),
			IntegrationMethod: aws.String("GET"), ResponseParameters: map[string]map[string]string{"100": {"overwrite:statuscode": "200"}}},
			"BadRequestException", "Invalid status code specified: 100"},
		{"vpc link without connection id", apigatewayv2.CreateIntegrationInput{IntegrationType: types.IntegrationTypeHttpProxy, IntegrationUri: aws.String("arn:aws:elasticloadbalancing:x"),
			IntegrationMethod: aws.String("GET"), ConnectionType: types.ConnectionTypeVpcLink},
			"BadRequestException", "ConnectionId is required"},
	}
	for _, tc := range errCases {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			in.ApiId = id
			_, err := e.c.CreateIntegration(e.ctx, &in)
			wantAPIError(t, err, tc.code, tc.msg)
		})
	}

	// UpdateIntegration merges parameter maps; an empty value removes a mapping.
	up := check(e.c.UpdateIntegration(e.ctx, &apigatewayv2.UpdateIntegrationInput{ApiId: id, IntegrationId: proxy.IntegrationId,
		TimeoutInMillis: aws.Int32(29000), RequestParameters: map[string]string{"append:header.x-from": "", "overwrite:header.x-new": "v"}})).get(t)
	if aws.ToInt32(up.TimeoutInMillis) != 29000 || aws.ToString(up.Description) != "up" || len(up.RequestParameters) != 7 ||
		up.RequestParameters["overwrite:header.x-new"] != "v" || up.RequestParameters["append:header.x-from"] != "" {
		t.Fatalf("UpdateIntegration = %+v", up)
	}
	_, err := e.c.UpdateIntegration(e.ctx, &apigatewayv2.UpdateIntegrationInput{ApiId: id, IntegrationId: proxy.IntegrationId, TimeoutInMillis: aws.Int32(10)})
	wantAPIError(t, err, "BadRequestException", "between 50 and 30000")

	// An integration a route targets cannot be deleted.
	route := e.createRoute(*id, "GET /a", *lam.IntegrationId)
	_, err = e.c.DeleteIntegration(e.ctx, &apigatewayv2.DeleteIntegrationInput{ApiId: id, IntegrationId: lam.IntegrationId})
	wantAPIError(t, err, "ConflictException", "Cannot delete Integration because it is referenced by the following Routes with Ids: ["+*route.RouteId+"]")
	check(e.c.DeleteRoute(e.ctx, &apigatewayv2.DeleteRouteInput{ApiId: id, RouteId: route.RouteId})).get(t)
	check(e.c.DeleteIntegration(e.ctx, &apigatewayv2.DeleteIntegrationInput{ApiId: id, IntegrationId: lam.IntegrationId})).get(t)
	_, err = e.c.GetIntegration(e.ctx, &apigatewayv2.GetIntegrationInput{ApiId: id, IntegrationId: lam.IntegrationId})
	wantAPIError(t, err, "NotFoundException", "Invalid Integration identifier specified "+*lam.IntegrationId)
}

func TestPagination(t *testing.T) {
	e := newEnv(t)
	want := map[string]bool{}
	for i := range 7 {
		want[*e.createAPI("p" + string(rune('a'+i))).ApiId] = true
	}
	seen := map[string]bool{}
	var token *string
	pages := 0
	for {
		out := check(e.c.GetApis(e.ctx, &apigatewayv2.GetApisInput{MaxResults: aws.String("3"), NextToken: token})).get(t)
		pages++
		if len(out.Items) > 3 {
			t.Fatalf("page of %d items", len(out.Items))
		}
		for _, a := range out.Items {
			if seen[*a.ApiId] {
				t.Fatalf("api %s returned twice", *a.ApiId)
			}
			seen[*a.ApiId] = true
		}
		if out.NextToken == nil {
			break
		}
		token = out.NextToken
	}
	if pages != 3 || len(seen) != len(want) {
		t.Fatalf("pages=%d seen=%d want %d", pages, len(seen), len(want))
	}
	all := check(e.c.GetApis(e.ctx, &apigatewayv2.GetApisInput{})).get(t)
	if len(all.Items) != 7 || all.NextToken != nil {
		t.Fatalf("unpaginated GetApis = %d items, token %v", len(all.Items), all.NextToken)
	}
	_, err := e.c.GetApis(e.ctx, &apigatewayv2.GetApisInput{MaxResults: aws.String("zero")})
	wantAPIError(t, err, "BadRequestException", "maxResults")

	// The SDK paginator walks routes too.
	api := e.createAPI("routes")
	integ := e.createLambdaIntegration(*api.ApiId)
	for _, k := range []string{"GET /a", "GET /b", "GET /c", "GET /d", "GET /e"} {
		e.createRoute(*api.ApiId, k, integ)
	}
	var keys []string
	var next *string
	for {
		out := check(e.c.GetRoutes(e.ctx, &apigatewayv2.GetRoutesInput{ApiId: api.ApiId, MaxResults: aws.String("2"), NextToken: next})).get(t)
		for _, r := range out.Items {
			keys = append(keys, *r.RouteKey)
		}
		if next = out.NextToken; next == nil {
			break
		}
	}
	slices.Sort(keys)
	if !slices.Equal(keys, []string{"GET /a", "GET /b", "GET /c", "GET /d", "GET /e"}) {
		t.Fatalf("paginated routes = %v", keys)
	}
}

func TestStagesAndManualDeployments(t *testing.T) {
	e := newEnv(t)
	api := e.createAPI("s")
	id := api.ApiId
	integ := e.createLambdaIntegration(*id)

	st := check(e.c.CreateStage(e.ctx, &apigatewayv2.CreateStageInput{ApiId: id, StageName: aws.String("dev"),
		StageVariables: map[string]string{"a": "1", "b": "2"}, Description: aws.String("dev stage"),
		DefaultRouteSettings: &types.RouteSettings{ThrottlingBurstLimit: aws.Int32(10), ThrottlingRateLimit: aws.Float64(5.5)},
		Tags:                 map[string]string{"env": "dev"}})).get(t)
	if aws.ToString(st.DeploymentId) != "" || aws.ToBool(st.AutoDeploy) || st.StageVariables["a"] != "1" ||
		aws.ToInt32(st.DefaultRouteSettings.ThrottlingBurstLimit) != 10 || st.Tags["env"] != "dev" {
		t.Fatalf("CreateStage = %+v", st)
	}
	_, err := e.c.CreateStage(e.ctx, &apigatewayv2.CreateStageInput{ApiId: id, StageName: aws.String("dev")})
	wantAPIError(t, err, "ConflictException", "already exists")
	_, err = e.c.CreateStage(e.ctx, &apigatewayv2.CreateStageInput{ApiId: id, StageName: aws.String("bad name")})
	wantAPIError(t, err, "BadRequestException", "Stage name only allows")
	_, err = e.c.CreateStage(e.ctx, &apigatewayv2.CreateStageInput{ApiId: id, StageName: aws.String("x"), DeploymentId: aws.String("nope")})
	wantAPIError(t, err, "NotFoundException", "Invalid Deployment identifier specified nope")

	// No routes yet: AWS refuses to deploy.
	_, err = e.c.CreateDeployment(e.ctx, &apigatewayv2.CreateDeploymentInput{ApiId: id, StageName: aws.String("dev")})
	wantAPIError(t, err, "BadRequestException", "no routes exist")

	route := e.createRoute(*id, "GET /image/presigned-uri", integ)
	if got := check(e.c.GetStage(e.ctx, &apigatewayv2.GetStageInput{ApiId: id, StageName: aws.String("dev")})).get(t); aws.ToString(got.DeploymentId) != "" {
		t.Fatalf("stage without autoDeploy got deployment %s from a route change", *got.DeploymentId)
	}
	_, err = e.c.CreateDeployment(e.ctx, &apigatewayv2.CreateDeploymentInput{ApiId: id, StageName: aws.String("nope")})
	wantAPIError(t, err, "NotFoundException", "Invalid stage identifier specified")

	dep := check(e.c.CreateDeployment(e.ctx, &apigatewayv2.CreateDeploymentInput{ApiId: id, StageName: aws.String("dev"), Description: aws.String("first")})).get(t)
	if aws.ToBool(dep.AutoDeployed) || dep.DeploymentStatus != types.DeploymentStatusDeployed || len(*dep.DeploymentId) != 7 {
		t.Fatalf("CreateDeployment = %+v", dep)
	}
	st2 := check(e.c.GetStage(e.ctx, &apigatewayv2.GetStageInput{ApiId: id, StageName: aws.String("dev")})).get(t)
	if aws.ToString(st2.DeploymentId) != *dep.DeploymentId {
		t.Fatalf("stage deploymentId = %v, want %s", st2.DeploymentId, *dep.DeploymentId)
	}

	// Snapshot immutability: editing the live route does not change the deployment.
	check(e.c.UpdateRoute(e.ctx, &apigatewayv2.UpdateRouteInput{ApiId: id, RouteId: route.RouteId, RouteKey: aws.String("POST /changed")})).get(t)
	if got := routeKeys(e.snapshot(*id, *dep.DeploymentId)); !slices.Equal(got, []string{"GET /image/presigned-uri"}) {
		t.Fatalf("snapshot routes after live edit = %v", got)
	}
	if got := check(e.c.GetStage(e.ctx, &apigatewayv2.GetStageInput{ApiId: id, StageName: aws.String("dev")})).get(t); aws.ToString(got.DeploymentId) != *dep.DeploymentId {
		t.Fatalf("manual stage moved to %v after a route edit", got.DeploymentId)
	}

	// Deployment without a stage; then point the stage at it with UpdateStage.
	dep2 := check(e.c.CreateDeployment(e.ctx, &apigatewayv2.CreateDeploymentInput{ApiId: id})).get(t)
	if got := routeKeys(e.snapshot(*id, *dep2.DeploymentId)); !slices.Equal(got, []string{"POST /changed"}) {
		t.Fatalf("second snapshot routes = %v", got)
	}
	up := check(e.c.UpdateStage(e.ctx, &apigatewayv2.UpdateStageInput{ApiId: id, StageName: aws.String("dev"),
		DeploymentId: dep2.DeploymentId, StageVariables: map[string]string{"a": "", "c": "3"},
		RouteSettings: map[string]types.RouteSettings{"POST /changed": {ThrottlingRateLimit: aws.Float64(1)}}})).get(t)
	if aws.ToString(up.DeploymentId) != *dep2.DeploymentId || len(up.StageVariables) != 2 || up.StageVariables["b"] != "2" ||
		up.StageVariables["c"] != "3" || aws.ToString(up.Description) != "dev stage" ||
		aws.ToFloat64(up.RouteSettings["POST /changed"].ThrottlingRateLimit) != 1 {
		t.Fatalf("UpdateStage = %+v", up)
	}
	_, err = e.c.UpdateStage(e.ctx, &apigatewayv2.UpdateStageInput{ApiId: id, StageName: aws.String("dev"),
		RouteSettings: map[string]types.RouteSettings{"GET /missing": {}}})
	wantAPIError(t, err, "NotFoundException", "Unable to find Route by key GET /missing within the provided RouteSettings")
	check(e.c.DeleteRouteSettings(e.ctx, &apigatewayv2.DeleteRouteSettingsInput{ApiId: id, StageName: aws.String("dev"), RouteKey: aws.String("POST /changed")})).get(t)
	if got := check(e.c.GetStage(e.ctx, &apigatewayv2.GetStageInput{ApiId: id, StageName: aws.String("dev")})).get(t); len(got.RouteSettings) != 0 {
		t.Fatalf("route settings after DeleteRouteSettings = %+v", got.RouteSettings)
	}

	// The deployment in use cannot be deleted; the old one can.
	_, err = e.c.DeleteDeployment(e.ctx, &apigatewayv2.DeleteDeploymentInput{ApiId: id, DeploymentId: dep2.DeploymentId})
	wantAPIError(t, err, "BadRequestException", "Active stages")
	check(e.c.DeleteDeployment(e.ctx, &apigatewayv2.DeleteDeploymentInput{ApiId: id, DeploymentId: dep.DeploymentId})).get(t)
	if keys := e.st.keys(t, *dep.DeploymentId); len(keys) != 0 {
		t.Fatalf("deleted deployment left %v", keys)
	}
	deps := check(e.c.GetDeployments(e.ctx, &apigatewayv2.GetDeploymentsInput{ApiId: id})).get(t)
	if len(deps.Items) != 1 || *deps.Items[0].DeploymentId != *dep2.DeploymentId {
		t.Fatalf("GetDeployments = %+v", deps.Items)
	}
	ud := check(e.c.UpdateDeployment(e.ctx, &apigatewayv2.UpdateDeploymentInput{ApiId: id, DeploymentId: dep2.DeploymentId, Description: aws.String("d2")})).get(t)
	if aws.ToString(ud.Description) != "d2" {
		t.Fatalf("UpdateDeployment = %+v", ud)
	}

	stages := check(e.c.GetStages(e.ctx, &apigatewayv2.GetStagesInput{ApiId: id})).get(t)
	if len(stages.Items) != 1 {
		t.Fatalf("GetStages = %+v", stages.Items)
	}
	check(e.c.DeleteStage(e.ctx, &apigatewayv2.DeleteStageInput{ApiId: id, StageName: aws.String("dev")})).get(t)
	_, err = e.c.GetStage(e.ctx, &apigatewayv2.GetStageInput{ApiId: id, StageName: aws.String("dev")})
	wantAPIError(t, err, "NotFoundException", "Invalid stage identifier specified")
}

func TestAutoDeploy(t *testing.T) {
	e := newEnv(t)
	api := e.createAPI("auto")
	id := api.ApiId
	integ := e.createLambdaIntegration(*id)
	e.createRoute(*id, "GET /a", integ)

	check(e.c.CreateStage(e.ctx, &apigatewayv2.CreateStageInput{ApiId: id, StageName: aws.String("manual")})).get(t)
	def := check(e.c.CreateStage(e.ctx, &apigatewayv2.CreateStageInput{ApiId: id, StageName: aws.String("$default"), AutoDeploy: aws.Bool(true)})).get(t)
	first := aws.ToString(def.DeploymentId)
	if first == "" || !slices.Equal(routeKeys(e.snapshot(*id, first)), []string{"GET /a"}) {
		t.Fatalf("auto-deploy stage created without a deployment of the current routes: %+v", def)
	}

	stageDeployment := func(name string) string {
		t.Helper()
		return aws.ToString(check(e.c.GetStage(e.ctx, &apigatewayv2.GetStageInput{ApiId: id, StageName: aws.String(name)})).get(t).DeploymentId)
	}
	prev := first
	steps := []struct {
		name   string
		change func()
		check  func(*model.HTTPSnapshot) bool
	}{
		{"create route", func() { e.createRoute(*id, "ANY /{proxy+}", integ) },
			func(s *model.HTTPSnapshot) bool {
				return slices.Equal(routeKeys(s), []string{"ANY /{proxy+}", "GET /a"})
			}},
		{"update integration", func() {
			check(e.c.UpdateIntegration(e.ctx, &apigatewayv2.UpdateIntegrationInput{ApiId: id, IntegrationId: &integ, TimeoutInMillis: aws.Int32(1234)})).get(t)
		}, func(s *model.HTTPSnapshot) bool { return s.Integrations[integ].TimeoutInMillis == 1234 }},
		{"cors on the api", func() {
			check(e.c.UpdateApi(e.ctx, &apigatewayv2.UpdateApiInput{ApiId: id, CorsConfiguration: &types.Cors{AllowOrigins: []string{"https://app.example"}}})).get(t)
		}, func(s *model.HTTPSnapshot) bool {
			return s.API.CorsConfiguration != nil && s.API.CorsConfiguration.AllowOrigins[0] == "https://app.example"
		}},
	}
	for _, step := range steps {
		before := e.st.commits.Load()
		step.change()
		if e.st.commits.Load() != before+1 {
			t.Fatalf("%s: %d transactions, want the change and its auto-deployment in one", step.name, e.st.commits.Load()-before)
		}
		cur := stageDeployment("$default")
		if cur == prev {
			t.Fatalf("%s: $default stage still on deployment %s", step.name, cur)
		}
		if !step.check(e.snapshot(*id, cur)) {
			t.Fatalf("%s: new snapshot lacks the change: %+v", step.name, e.snapshot(*id, cur))
		}
		dep := check(e.c.GetDeployment(e.ctx, &apigatewayv2.GetDeploymentInput{ApiId: id, DeploymentId: &cur})).get(t)
		if !aws.ToBool(dep.AutoDeployed) {
			t.Fatalf("%s: deployment %s not marked autoDeployed", step.name, cur)
		}
		if stageDeployment("manual") != "" {
			t.Fatalf("%s: stage without autoDeploy was deployed", step.name)
		}
		prev = cur
	}
	// The first auto-deployment still holds what it froze.
	if got := routeKeys(e.snapshot(*id, first)); !slices.Equal(got, []string{"GET /a"}) {
		t.Fatalf("first snapshot changed: %v", got)
	}
	// Turning auto-deploy on for a stage deploys it at once.
	up := check(e.c.UpdateStage(e.ctx, &apigatewayv2.UpdateStageInput{ApiId: id, StageName: aws.String("manual"), AutoDeploy: aws.Bool(true)})).get(t)
	if aws.ToString(up.DeploymentId) == "" || !strings.HasPrefix(aws.ToString(up.LastDeploymentStatusMessage), "Successfully deployed stage") {
		t.Fatalf("UpdateStage autoDeploy=true = %+v", up)
	}
}

func TestCascadeDelete(t *testing.T) {
	e := newEnv(t)
	keep := check(e.c.CreateApi(e.ctx, &apigatewayv2.CreateApiInput{Name: aws.String("keep"), ProtocolType: types.ProtocolTypeHttp, Target: aws.String(testFnARN)})).get(t)
	gone := check(e.c.CreateApi(e.ctx, &apigatewayv2.CreateApiInput{Name: aws.String("gone"), ProtocolType: types.ProtocolTypeHttp, Target: aws.String(testFnARN)})).get(t)
	check(e.c.CreateStage(e.ctx, &apigatewayv2.CreateStageInput{ApiId: gone.ApiId, StageName: aws.String("dev")})).get(t)
	check(e.c.CreateDeployment(e.ctx, &apigatewayv2.CreateDeploymentInput{ApiId: gone.ApiId, StageName: aws.String("dev")})).get(t)
	if n := len(e.st.keys(t, *gone.ApiId)); n < 6 {
		t.Fatalf("expected routes, integrations, stages, deployments, snapshots; have %d keys", n)
	}
	keepKeys := e.st.keys(t, *keep.ApiId)
	check(e.c.DeleteApi(e.ctx, &apigatewayv2.DeleteApiInput{ApiId: gone.ApiId})).get(t)
	if left := e.st.keys(t, *gone.ApiId); len(left) != 0 {
		t.Fatalf("DeleteApi left %v", left)
	}
	if got := e.st.keys(t, *keep.ApiId); !slices.Equal(got, keepKeys) {
		t.Fatalf("DeleteApi touched another API: %v != %v", got, keepKeys)
	}
	_, err := e.c.DeleteApi(e.ctx, &apigatewayv2.DeleteApiInput{ApiId: gone.ApiId})
	wantAPIError(t, err, "NotFoundException", "Invalid API identifier specified")
}

func TestTags(t *testing.T) {
	e := newEnv(t)
	api := check(e.c.CreateApi(e.ctx, &apigatewayv2.CreateApiInput{Name: aws.String("t"), ProtocolType: types.ProtocolTypeHttp,
		Tags: map[string]string{"a": "1"}})).get(t)
	check(e.c.CreateStage(e.ctx, &apigatewayv2.CreateStageInput{ApiId: api.ApiId, StageName: aws.String("prod")})).get(t)
	apiARN := "arn:aws:apigateway:us-east-1::/apis/" + *api.ApiId
	stageARN := apiARN + "/stages/prod"

	check(e.c.TagResource(e.ctx, &apigatewayv2.TagResourceInput{ResourceArn: &apiARN, Tags: map[string]string{"b": "2"}})).get(t)
	check(e.c.TagResource(e.ctx, &apigatewayv2.TagResourceInput{ResourceArn: &stageARN, Tags: map[string]string{"s": "x"}})).get(t)
	got := check(e.c.GetTags(e.ctx, &apigatewayv2.GetTagsInput{ResourceArn: &apiARN})).get(t)
	if len(got.Tags) != 2 || got.Tags["a"] != "1" || got.Tags["b"] != "2" {
		t.Fatalf("api tags = %v", got.Tags)
	}
	check(e.c.UntagResource(e.ctx, &apigatewayv2.UntagResourceInput{ResourceArn: &apiARN, TagKeys: []string{"a", "zz"}})).get(t)
	got = check(e.c.GetTags(e.ctx, &apigatewayv2.GetTagsInput{ResourceArn: &apiARN})).get(t)
	if len(got.Tags) != 1 || got.Tags["b"] != "2" {
		t.Fatalf("api tags after untag = %v", got.Tags)
	}
	if st := check(e.c.GetStage(e.ctx, &apigatewayv2.GetStageInput{ApiId: api.ApiId, StageName: aws.String("prod")})).get(t); st.Tags["s"] != "x" {
		t.Fatalf("stage tags = %v", st.Tags)
	}
	if a := check(e.c.GetApi(e.ctx, &apigatewayv2.GetApiInput{ApiId: api.ApiId})).get(t); a.Tags["b"] != "2" || len(a.Tags) != 1 {
		t.Fatalf("GetApi tags = %v", a.Tags)
	}

	missing := "arn:aws:apigateway:us-east-1::/apis/nope000000"
	_, err := e.c.GetTags(e.ctx, &apigatewayv2.GetTagsInput{ResourceArn: &missing})
	wantAPIError(t, err, "NotFoundException", "Invalid API identifier specified")
	bad := "arn:aws:lambda:us-east-1:123456789012:function:f"
	_, err = e.c.TagResource(e.ctx, &apigatewayv2.TagResourceInput{ResourceArn: &bad, Tags: map[string]string{"a": "b"}})
	wantAPIError(t, err, "BadRequestException", "Invalid resource ARN")
	_, err = e.c.TagResource(e.ctx, &apigatewayv2.TagResourceInput{ResourceArn: &apiARN, Tags: map[string]string{"aws:x": "b"}})
	wantAPIError(t, err, "BadRequestException", "reserved")
}

// anyCertificate accepts every certificate for every domain name.
type anyCertificate struct{}

func (anyCertificate) CheckForDomain(context.Context, string, string) error { return nil }

// TestDomainNameTags: a custom domain name is taggable by its ARN
// (arn:aws:apigateway:{region}::/domainnames/{name}), and GetDomainName shows
// the tags.
func TestDomainNameTags(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.Certificates = anyCertificate{} })
	check(e.c.CreateDomainName(e.ctx, &apigatewayv2.CreateDomainNameInput{DomainName: aws.String("api.example.com"),
		DomainNameConfigurations: []types.DomainNameConfiguration{{CertificateArn: aws.String("arn:aws:acm:us-east-1:123456789012:certificate/x")}},
		Tags:                     map[string]string{"a": "1"}})).get(t)
	arn := aws.String("arn:aws:apigateway:us-east-1::/domainnames/api.example.com")
	check(e.c.TagResource(e.ctx, &apigatewayv2.TagResourceInput{ResourceArn: arn, Tags: map[string]string{"b": "2", "c": "3"}})).get(t)
	check(e.c.UntagResource(e.ctx, &apigatewayv2.UntagResourceInput{ResourceArn: arn, TagKeys: []string{"a", "c"}})).get(t)
	if got := check(e.c.GetTags(e.ctx, &apigatewayv2.GetTagsInput{ResourceArn: arn})).get(t); len(got.Tags) != 1 || got.Tags["b"] != "2" {
		t.Fatalf("domain tags = %v", got.Tags)
	}
	if d := check(e.c.GetDomainName(e.ctx, &apigatewayv2.GetDomainNameInput{DomainName: aws.String("api.example.com")})).get(t); len(d.Tags) != 1 || d.Tags["b"] != "2" {
		t.Fatalf("GetDomainName tags = %v", d.Tags)
	}
	check(e.c.UntagResource(e.ctx, &apigatewayv2.UntagResourceInput{ResourceArn: arn, TagKeys: []string{"b"}})).get(t)
	if got := check(e.c.GetTags(e.ctx, &apigatewayv2.GetTagsInput{ResourceArn: arn})).get(t); len(got.Tags) != 0 {
		t.Fatalf("domain tags after removing the last = %v", got.Tags)
	}
	missing := aws.String("arn:aws:apigateway:us-east-1::/domainnames/nope.example.com")
	_, err := e.c.TagResource(e.ctx, &apigatewayv2.TagResourceInput{ResourceArn: missing, Tags: map[string]string{"a": "b"}})
	wantAPIError(t, err, "NotFoundException", "Invalid domain name identifier specified")
}

// Raw HTTP: exact status codes, headers and bodies of the error paths.
func TestWireErrors(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		method, path string
		body         string
		status       int
		errType      string
		wantBody     string
	}{
		{"POST", "/v2/apis/abc/authorizers", `{}`, 400, "BadRequestException",
			`{"message":"Name is required"}`},
		{"POST", "/v2/apis/abc/models", `{}`, 501, "NotImplementedException",
			`{"message":"CreateModel is not implemented in Sluice yet"}`},
		{"GET", "/v2/domainnames/nope.example.com", "", 404, "NotFoundException",
			`{"message":"Invalid domain name identifier specified"}`},
		{"POST", "/v2/vpclinks", `{}`, 400, "BadRequestException",
			`{"message":"Name is required"}`},
		{"GET", "/v2/nothing/here", "", 404, "NotFoundException", ""},
		{"GET", "/v2/apis/abc", "", 404, "NotFoundException",
			`{"message":"Invalid API identifier specified 123456789012:abc"}`},
		{"POST", "/v2/apis", `{"name":`, 400, "BadRequestException", ""},
	}
	for _, tc := range cases {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, e.srv.URL+tc.path, strings.NewReader(tc.body))
			resp, err := e.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status || resp.Header.Get("X-Amzn-ErrorType") != tc.errType {
				t.Fatalf("%d %s %s", resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"), b)
			}
			if tc.wantBody != "" && strings.TrimSpace(string(b)) != tc.wantBody {
				t.Fatalf("body = %s, want %s", b, tc.wantBody)
			}
			var m map[string]any
			if err := json.Unmarshal(b, &m); err != nil || m["message"] == nil {
				t.Fatalf("body is not AWS-shaped: %s", b)
			}
		})
	}
	// Successful responses use AWS's status codes.
	resp, err := e.srv.Client().Post(e.srv.URL+"/v2/apis", "application/json", strings.NewReader(`{"name":"x","protocolType":"HTTP"}`))
	if err != nil {
		t.Fatal(err)
	}
	var api map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&api)
	resp.Body.Close()
	if resp.StatusCode != 201 || api["createdDate"] != "2024-05-06T07:08:09Z" || api["disableExecuteApiEndpoint"] != false {
		t.Fatalf("CreateApi: %d %v", resp.StatusCode, api)
	}
	// A stage reports empty maps rather than omitting them, as AWS does.
	resp, err = e.srv.Client().Post(e.srv.URL+"/v2/apis/"+api["apiId"].(string)+"/stages", "application/json", strings.NewReader(`{"stageName":"s"}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`"routeSettings":{}`, `"stageVariables":{}`, `"tags":{}`, `"stageName":"s"`, `"defaultRouteSettings":{`} {
		if resp.StatusCode != 201 || !strings.Contains(string(b), want) {
			t.Fatalf("CreateStage: %d %s lacks %s", resp.StatusCode, b, want)
		}
	}
	req, _ := http.NewRequest("DELETE", e.srv.URL+"/v2/apis/"+api["apiId"].(string), nil)
	resp, err = e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 204 {
		t.Fatalf("DeleteApi status %d", resp.StatusCode)
	}
}

// CreateAuthorizer refuses what API Gateway refuses for HTTP APIs. Raw bodies: the
// SDK itself insists on identitySource, which the API does not.
func TestCreateAuthorizerValidation(t *testing.T) {
	e := newEnv(t)
	api := check(e.c.CreateApi(e.ctx, &apigatewayv2.CreateApiInput{Name: aws.String("a"), ProtocolType: types.ProtocolTypeHttp})).get(t)
	uri := `"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/` + testFnARN + `/invocations"`
	post := func(body string) (int, string) {
		resp, err := e.srv.Client().Post(e.srv.URL+"/v2/apis/"+*api.ApiId+"/authorizers", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, tc := range []struct{ body, msg string }{
		{`{"name":"x","authorizerType":"REQUEST","authorizerUri":` + uri + `,"authorizerPayloadFormatVersion":"2.0","authorizerResultTtlInSeconds":300}`,
			"Identity source must be set if authorizer caching is enabled (TTL is greater than 0)"},
		{`{"name":"x","authorizerType":"REQUEST","authorizerUri":` + uri + `,"authorizerPayloadFormatVersion":"1.0","enableSimpleResponses":true}`,
			"EnableSimpleResponses"},
		{`{"name":"x","authorizerType":"JWT","identitySource":["$request.header.Authorization"]}`, "Issuer"},
		{`{"name":"x","authorizerType":"REQUEST","authorizerUri":"https://example.com","authorizerPayloadFormatVersion":"2.0"}`,
			"Invalid Authorizer URI"},
		{`{"name":"x","authorizerType":"BASIC"}`, "Invalid authorizer type"},
	} {
		if status, body := post(tc.body); status != 400 || !strings.Contains(body, tc.msg) {
			t.Errorf("%s: %d %s, want 400 %q", tc.body, status, body, tc.msg)
		}
	}
	// Without caching, a REQUEST authorizer needs no identity source.
	status, body := post(`{"name":"open","authorizerType":"REQUEST","authorizerUri":` + uri + `,"authorizerPayloadFormatVersion":"2.0"}`)
	var a model.Authorizer2
	if status != 201 || json.Unmarshal([]byte(body), &a) != nil || a.AuthorizerID == "" {
		t.Fatalf("create: %d %s", status, body)
	}
	got := check(e.c.GetAuthorizer(e.ctx, &apigatewayv2.GetAuthorizerInput{ApiId: api.ApiId, AuthorizerId: &a.AuthorizerID})).get(t)
	if aws.ToString(got.Name) != "open" || aws.ToString(got.AuthorizerPayloadFormatVersion) != "2.0" {
		t.Fatalf("GetAuthorizer = %+v", got)
	}
	check(e.c.DeleteAuthorizer(e.ctx, &apigatewayv2.DeleteAuthorizerInput{ApiId: api.ApiId, AuthorizerId: &a.AuthorizerID})).get(t)
	_, err := e.c.GetAuthorizer(e.ctx, &apigatewayv2.GetAuthorizerInput{ApiId: api.ApiId, AuthorizerId: &a.AuthorizerID})
	wantAPIError(t, err, "NotFoundException", "Invalid Authorizer identifier specified")
}

// conflictingVariables reports whether two route keys name the variable at one
// level of the path hierarchy differently (/pets/{id} and /pets/{petId}), as the
// route index sees them (routeLevels): API Gateway refuses that whatever the
// methods, since a request path could not say which name its value belongs to.
func conflictingVariables(keyA, keyB string) bool {
	levelsA, namesA := routeLevels("api", keyA)
	levelsB, namesB := routeLevels("api", keyB)
	for i, level := range levelsA {
		if j := slices.Index(levelsB, level); j >= 0 && namesB[j] != namesA[i] {
			return true
		}
	}
	return false
}
