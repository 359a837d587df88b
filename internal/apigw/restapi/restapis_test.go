package restapi

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigateway/types"

	"github.com/sluice-dev/sluice/internal/apigw/model"
)

func TestCreateRestAPIDefaults(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	out, err := e.client.CreateRestApi(ctx, &apigateway.CreateRestApiInput{
		Name: aws.String("email"), Description: aws.String("mail"), Tags: map[string]string{"team": "a"},
		BinaryMediaTypes: []string{"image/png"}, MinimumCompressionSize: aws.Int32(1024),
	})
	mustNoErr(t, err)
	if len(*out.Id) != 10 || *out.RootResourceId == "" {
		t.Fatalf("ids: %q root %q", *out.Id, aws.ToString(out.RootResourceId))
	}
	// AWS defaults: EDGE endpoint over ipv4, API keys from the HEADER.
	if got := out.EndpointConfiguration.Types; !slices.Equal(got, []types.EndpointType{types.EndpointTypeEdge}) {
		t.Errorf("types %v", got)
	}
	if out.EndpointConfiguration.IpAddressType != types.IpAddressTypeIpv4 || out.ApiKeySource != types.ApiKeySourceTypeHeader {
		t.Errorf("ipAddressType %q apiKeySource %q", out.EndpointConfiguration.IpAddressType, out.ApiKeySource)
	}
	if out.CreatedDate == nil || out.CreatedDate.IsZero() || out.Tags["team"] != "a" || *out.MinimumCompressionSize != 1024 {
		t.Errorf("created %+v", out)
	}
	// The root resource "/" exists, and the default models Empty and Error.
	res, err := e.client.GetResources(ctx, &apigateway.GetResourcesInput{RestApiId: out.Id})
	mustNoErr(t, err)
	if len(res.Items) != 1 || *res.Items[0].Path != "/" || *res.Items[0].Id != *out.RootResourceId || res.Items[0].ParentId != nil {
		t.Errorf("resources %+v", res.Items)
	}
	models, err := e.client.GetModels(ctx, &apigateway.GetModelsInput{RestApiId: out.Id})
	if err == nil {
		var names []string
		for _, m := range models.Items {
			names = append(names, *m.Name)
		}
		if !slices.Equal(names, []string{"Empty", "Error"}) {
			t.Errorf("models %v", names)
		}
	}

	priv, err := e.client.CreateRestApi(ctx, &apigateway.CreateRestApiInput{Name: aws.String("p"),
		EndpointConfiguration: &types.EndpointConfiguration{Types: []types.EndpointType{types.EndpointTypePrivate}}})
	mustNoErr(t, err)
	if priv.EndpointConfiguration.IpAddressType != types.IpAddressTypeDualstack {
		t.Errorf("private ipAddressType %q", priv.EndpointConfiguration.IpAddressType)
	}
}

func TestCreateRestAPIErrors(t *testing.T) {
	e := newTestEnv(t)
	tests := []struct {
		name   string
		in     apigateway.CreateRestApiInput
		code   string
		status int
		msg    string
	}{
		{"two endpoint types", apigateway.CreateRestApiInput{Name: aws.String("a"), EndpointConfiguration: &types.EndpointConfiguration{
			Types: []types.EndpointType{"EDGE", "REGIONAL"}}}, "BadRequestException", 400, "Cannot create an api with multiple Endpoint Types."},
		{"no endpoint type", apigateway.CreateRestApiInput{Name: aws.String("a"), EndpointConfiguration: &types.EndpointConfiguration{
			Types: []types.EndpointType{}}}, "BadRequestException", 400, "REGIONAL Configuration and EDGE Configuration cannot be both DISABLED."},
		{"bad endpoint type", apigateway.CreateRestApiInput{Name: aws.String("a"), EndpointConfiguration: &types.EndpointConfiguration{
			Types: []types.EndpointType{"GLOBAL"}}}, "ValidationException", 400,
			"1 validation error detected: Value '[GLOBAL]' at 'createRestApiInput.endpointConfiguration.types' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set: [PRIVATE, EDGE, REGIONAL]]"},
		{"private ipv4", apigateway.CreateRestApiInput{Name: aws.String("a"), EndpointConfiguration: &types.EndpointConfiguration{
			Types: []types.EndpointType{"PRIVATE"}, IpAddressType: types.IpAddressTypeIpv4}}, "BadRequestException", 400, "Only dualstack ipAddressType is supported for Private APIs."},
		{"empty description", apigateway.CreateRestApiInput{Name: aws.String("a"), Description: aws.String("")}, "BadRequestException", 400, "Description cannot be an empty string"},
		{"compression size", apigateway.CreateRestApiInput{Name: aws.String("a"), MinimumCompressionSize: aws.Int32(10485761)}, "BadRequestException", 400,
			"Invalid minimum compression size, must be between 0 and 10485760"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.client.CreateRestApi(context.Background(), &tt.in)
			wantAPIError(t, err, tt.code, tt.status, tt.msg)
		})
	}
	if keys := e.store.keys(model.Prefix); len(keys) != 0 {
		t.Errorf("failed creates wrote %v", keys)
	}
}

func TestGetRestAPIsPagination(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	want := map[string]bool{}
	for i := range 30 {
		id, _ := e.createAPI(t, fmt.Sprintf("api-%d", i))
		want[id] = true
	}
	first, err := e.client.GetRestApis(ctx, &apigateway.GetRestApisInput{})
	mustNoErr(t, err)
	if len(first.Items) != 25 || first.Position == nil {
		t.Fatalf("first page: %d items, position %v", len(first.Items), first.Position)
	}
	second, err := e.client.GetRestApis(ctx, &apigateway.GetRestApisInput{Position: first.Position})
	mustNoErr(t, err)
	if len(second.Items) != 5 || second.Position != nil {
		t.Fatalf("second page: %d items, position %v", len(second.Items), second.Position)
	}
	for _, a := range append(first.Items, second.Items...) {
		if !want[*a.Id] {
			t.Errorf("unexpected or repeated api %s", *a.Id)
		}
		delete(want, *a.Id)
	}
	// The SDK paginator walks the same pages with a smaller limit.
	n := 0
	pg := apigateway.NewGetRestApisPaginator(e.client, &apigateway.GetRestApisInput{Limit: aws.Int32(7)})
	for pg.HasMorePages() {
		p, err := pg.NextPage(ctx)
		mustNoErr(t, err)
		if len(p.Items) > 7 {
			t.Fatalf("page of %d > limit", len(p.Items))
		}
		n += len(p.Items)
	}
	if n != 30 {
		t.Errorf("paginator saw %d apis, want 30", n)
	}
}

func TestUpdateRestAPIPatch(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	id, _ := e.createAPI(t, "a")
	out, err := e.client.UpdateRestApi(ctx, &apigateway.UpdateRestApiInput{RestApiId: aws.String(id), PatchOperations: []types.PatchOperation{
		patch(types.OpReplace, "/name", "renamed"),
		patch(types.OpReplace, "/description", "desc"),
		patch(types.OpAdd, "/binaryMediaTypes/image~1png", ""),
		patch(types.OpAdd, "/binaryMediaTypes/image~1jpeg", ""),
		patch(types.OpAdd, "/binaryMediaTypes/application~1pdf", ""),
		patch(types.OpRemove, "/binaryMediaTypes/image~1jpeg", ""),
		patch(types.OpReplace, "/binaryMediaTypes/image~1png", "image/gif"),
		patch(types.OpReplace, "/minimumCompressionSize", "2048"),
		patch(types.OpReplace, "/apiKeySource", "AUTHORIZER"),
		patch(types.OpReplace, "/disableExecuteApiEndpoint", "true"),
		patch(types.OpReplace, "/endpointConfiguration/types/0", "REGIONAL"),
		patch(types.OpReplace, "/policy", `{"Version":"2012-10-17","Statement":[]}`),
	}})
	mustNoErr(t, err)
	// A replaced binary media type moves to the end, as on AWS.
	if *out.Name != "renamed" || *out.Description != "desc" || !slices.Equal(out.BinaryMediaTypes, []string{"application/pdf", "image/gif"}) ||
		*out.MinimumCompressionSize != 2048 || out.ApiKeySource != "AUTHORIZER" || !out.DisableExecuteApiEndpoint ||
		out.EndpointConfiguration.Types[0] != "REGIONAL" || !strings.Contains(aws.ToString(out.Policy), "2012-10-17") {
		t.Errorf("patched api %+v", out)
	}
	got, err := e.client.GetRestApi(ctx, &apigateway.GetRestApiInput{RestApiId: aws.String(id)})
	mustNoErr(t, err)
	if *got.Name != "renamed" || !slices.Equal(got.BinaryMediaTypes, out.BinaryMediaTypes) {
		t.Errorf("stored api %+v", got)
	}
	// Clearing minimumCompressionSize with an empty value.
	out, err = e.client.UpdateRestApi(ctx, &apigateway.UpdateRestApiInput{RestApiId: aws.String(id), PatchOperations: []types.PatchOperation{
		patch(types.OpReplace, "/minimumCompressionSize", "")}})
	mustNoErr(t, err)
	if out.MinimumCompressionSize != nil {
		t.Errorf("minimumCompressionSize %v", *out.MinimumCompressionSize)
	}

	errs := []struct {
		name string
		op   types.PatchOperation
		code string
		msg  string
	}{
		{"bare binaryMediaTypes", patch(types.OpAdd, "/binaryMediaTypes", "x"), "BadRequestException", "Invalid patch path /binaryMediaTypes"},
		{"compression op", patch(types.OpAdd, "/minimumCompressionSize", "1"), "BadRequestException", "Invalid patch operation specified. Must be one of: [replace]"},
		{"compression range", patch(types.OpReplace, "/minimumCompressionSize", "-1"), "BadRequestException", "Invalid minimum compression size, must be between 0 and 10485760"},
		{"endpoint type", patch(types.OpReplace, "/endpointConfiguration/types/0", "GLOBAL"), "BadRequestException", "Invalid EndpointTypes specified. Valid options are REGIONAL,EDGE,PRIVATE"},
		{"endpoint op", patch(types.OpAdd, "/endpointConfiguration/types/0", "EDGE"), "BadRequestException", "Invalid patch operation specified. Must be 'add'|'remove'|'replace'"},
		{"unknown path", patch(types.OpReplace, "/rootResourceId", "x"), "BadRequestException", "Invalid patch path /rootResourceId"},
		{"bad op", types.PatchOperation{Op: "delete", Path: aws.String("/name"), Value: aws.String("x")}, "ValidationException",
			"1 validation error detected: Value 'delete' at 'updateRestApiInput.patchOperations.1.member.op' failed to satisfy constraint: Member must satisfy enum value set: [add, remove, move, test, replace, copy]"},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.client.UpdateRestApi(ctx, &apigateway.UpdateRestApiInput{RestApiId: aws.String(id), PatchOperations: []types.PatchOperation{tt.op}})
			wantAPIError(t, err, tt.code, 400, tt.msg)
		})
	}
	// A failing patch list changes nothing, even if earlier ops were valid.
	_, err = e.client.UpdateRestApi(ctx, &apigateway.UpdateRestApiInput{RestApiId: aws.String(id), PatchOperations: []types.PatchOperation{
		patch(types.OpReplace, "/name", "partial"), patch(types.OpReplace, "/nope", "x")}})
	wantAPIError(t, err, "BadRequestException", 400, "Invalid patch path /nope")
	got, err = e.client.GetRestApi(ctx, &apigateway.GetRestApiInput{RestApiId: aws.String(id)})
	mustNoErr(t, err)
	if *got.Name != "renamed" {
		t.Errorf("failed patch applied: name %q", *got.Name)
	}
}

func TestRestAPINotFound(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	msg := "Invalid API identifier specified 123456789012:nope"
	_, err := e.client.GetRestApi(ctx, &apigateway.GetRestApiInput{RestApiId: aws.String("nope")})
	wantAPIError(t, err, "NotFoundException", 404, msg)
	_, err = e.client.UpdateRestApi(ctx, &apigateway.UpdateRestApiInput{RestApiId: aws.String("nope"),
		PatchOperations: []types.PatchOperation{patch(types.OpReplace, "/name", "x")}})
	wantAPIError(t, err, "NotFoundException", 404, msg)
	_, err = e.client.DeleteRestApi(ctx, &apigateway.DeleteRestApiInput{RestApiId: aws.String("nope")})
	wantAPIError(t, err, "NotFoundException", 404, msg)
	_, err = e.client.GetResources(ctx, &apigateway.GetResourcesInput{RestApiId: aws.String("nope")})
	wantAPIError(t, err, "NotFoundException", 404, msg)
	// An escaped slash in an id cannot reach another record.
	_, err = e.client.GetRestApi(ctx, &apigateway.GetRestApiInput{RestApiId: aws.String("a/../b")})
	wantAPIError(t, err, "NotFoundException", 404, "Invalid API identifier specified 123456789012:a/../b")
}

func TestDeleteRestAPICascades(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	id, root := e.createAPI(t, "doomed")
	keep, keepRoot := e.createAPI(t, "kept")
	for _, api := range []struct{ id, root string }{{id, root}, {keep, keepRoot}} {
		r := e.createResource(t, api.id, api.root, "pets")
		e.mockMethod(t, api.id, r, "GET")
		_, err := e.client.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: aws.String(api.id), StageName: aws.String("prod")})
		mustNoErr(t, err)
	}
	_, err := e.client.DeleteRestApi(ctx, &apigateway.DeleteRestApiInput{RestApiId: aws.String(id)})
	mustNoErr(t, err)
	for _, k := range e.store.keys(model.Prefix) {
		if strings.Contains(k, "/"+id) {
			t.Errorf("left behind %s", k)
		}
	}
	for _, prefix := range []string{model.RestAPIPrefix, model.RestResourcePrefix, model.RestDeploymentPrefix,
		model.RestSnapshotPrefix, model.RestStagePrefix, model.RestModelPrefix} {
		if len(e.store.keys(model.Key(prefix, keep))) == 0 {
			t.Errorf("other api lost its records under %s", prefix)
		}
	}
	_, err = e.client.GetRestApi(ctx, &apigateway.GetRestApiInput{RestApiId: aws.String(id)})
	wantAPIError(t, err, "NotFoundException", 404, "Invalid API identifier specified 123456789012:"+id)
}

func TestUnknownAndUnimplementedOperations(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	_, err := e.client.GetSdkTypes(ctx, &apigateway.GetSdkTypesInput{})
	wantAPIError(t, err, "NotImplementedException", 501, "GetSdkTypes is not implemented in Sluice yet")

	resp, err := http.Get(e.url + "/restapis/x/nonsense")
	mustNoErr(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 404 || resp.Header.Get("X-Amzn-ErrorType") != "UnknownOperationException" ||
		!strings.HasPrefix(string(body), `{"message":`) {
		t.Errorf("unknown path: %d %s %s", resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"), body)
	}
	// Malformed JSON is a 400, never a panic or a 500.
	req, _ := http.NewRequest("POST", e.url+"/restapis", strings.NewReader(`{"name": 5`))
	resp, err = http.DefaultClient.Do(req)
	mustNoErr(t, err)
	resp.Body.Close()
	if resp.StatusCode != 400 || resp.Header.Get("X-Amzn-ErrorType") != "SerializationException" {
		t.Errorf("bad json: %d %s", resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"))
	}
}

func TestTags(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	api, root := e.createAPI(t, "tagged")
	e.mockMethod(t, api, root, "GET")
	_, err := e.client.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: aws.String(api), StageName: aws.String("prod")})
	mustNoErr(t, err)
	for _, arn := range []string{
		"arn:aws:apigateway:us-east-1::/restapis/" + api,
		"arn:aws:apigateway:us-east-1::/restapis/" + api + "/stages/prod",
	} {
		_, err := e.client.TagResource(ctx, &apigateway.TagResourceInput{ResourceArn: aws.String(arn), Tags: map[string]string{"a": "1", "b": "2"}})
		mustNoErr(t, err)
		_, err = e.client.UntagResource(ctx, &apigateway.UntagResourceInput{ResourceArn: aws.String(arn), TagKeys: []string{"a"}})
		mustNoErr(t, err)
		got, err := e.client.GetTags(ctx, &apigateway.GetTagsInput{ResourceArn: aws.String(arn)})
		mustNoErr(t, err)
		if len(got.Tags) != 1 || got.Tags["b"] != "2" {
			t.Errorf("%s tags %v", arn, got.Tags)
		}
	}
	st, err := e.client.GetStage(ctx, &apigateway.GetStageInput{RestApiId: aws.String(api), StageName: aws.String("prod")})
	mustNoErr(t, err)
	if st.Tags["b"] != "2" {
		t.Errorf("stage tags %v", st.Tags)
	}
	_, err = e.client.GetTags(ctx, &apigateway.GetTagsInput{ResourceArn: aws.String("arn:aws:apigateway:us-east-1::/restapis/nope")})
	wantAPIError(t, err, "NotFoundException", 404, "Invalid API identifier specified 123456789012:nope")
	_, err = e.client.GetTags(ctx, &apigateway.GetTagsInput{ResourceArn: aws.String("not-an-arn")})
	wantAPIError(t, err, "BadRequestException", 400, "Invalid ARN specified in the request")
}

// anyCertificate accepts every certificate for every domain name.
type anyCertificate struct{}

func (anyCertificate) CheckForDomain(context.Context, string, string) error { return nil }

// TestDomainNameTags: a custom domain name is taggable by its ARN
// (arn:aws:apigateway:{region}::/domainnames/{name}), and GetDomainName shows
// the tags.
func TestDomainNameTags(t *testing.T) {
	e := newTestEnv(t, func(o *Options) { o.Certificates = anyCertificate{} })
	ctx := context.Background()
	_, err := e.client.CreateDomainName(ctx, &apigateway.CreateDomainNameInput{DomainName: aws.String("api.example.com"),
		RegionalCertificateArn: aws.String("arn:aws:acm:us-east-1:123456789012:certificate/x"),
		EndpointConfiguration:  &types.EndpointConfiguration{Types: []types.EndpointType{types.EndpointTypeRegional}},
		Tags:                   map[string]string{"a": "1"}})
	mustNoErr(t, err)
	arn := aws.String("arn:aws:apigateway:us-east-1::/domainnames/api.example.com")
	_, err = e.client.TagResource(ctx, &apigateway.TagResourceInput{ResourceArn: arn, Tags: map[string]string{"b": "2", "c": "3"}})
	mustNoErr(t, err)
	_, err = e.client.UntagResource(ctx, &apigateway.UntagResourceInput{ResourceArn: arn, TagKeys: []string{"a", "c"}})
	mustNoErr(t, err)
	got, err := e.client.GetTags(ctx, &apigateway.GetTagsInput{ResourceArn: arn})
	mustNoErr(t, err)
	if len(got.Tags) != 1 || got.Tags["b"] != "2" {
		t.Errorf("domain tags %v", got.Tags)
	}
	d, err := e.client.GetDomainName(ctx, &apigateway.GetDomainNameInput{DomainName: aws.String("api.example.com")})
	mustNoErr(t, err)
	if len(d.Tags) != 1 || d.Tags["b"] != "2" {
		t.Errorf("GetDomainName tags %v", d.Tags)
	}
	_, err = e.client.TagResource(ctx, &apigateway.TagResourceInput{ResourceArn: aws.String("arn:aws:apigateway:us-east-1::/domainnames/nope.example.com"),
		Tags: map[string]string{"a": "1"}})
	wantAPIError(t, err, "NotFoundException", 404, "Invalid domain name identifier specified")
}
