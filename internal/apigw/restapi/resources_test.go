package restapi

import (
	"context"
	"sort"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigateway/types"
)

func resourcePaths(t *testing.T, e *testEnv, api string) []string {
	t.Helper()
	out, err := e.client.GetResources(context.Background(), &apigateway.GetResourcesInput{RestApiId: aws.String(api), Limit: aws.Int32(500)})
	mustNoErr(t, err)
	var paths []string
	for _, r := range out.Items {
		paths = append(paths, *r.Path)
	}
	sort.Strings(paths)
	return paths
}

func TestResourceTree(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	api, root := e.createAPI(t, "tree")
	email := e.createResource(t, api, root, "email")
	proxy := e.createResource(t, api, email, "{proxy+}")
	pets := e.createResource(t, api, root, "pets")
	petID := e.createResource(t, api, pets, "{petId}")
	e.createResource(t, api, petID, "toys")

	got, err := e.client.GetResource(ctx, &apigateway.GetResourceInput{RestApiId: aws.String(api), ResourceId: aws.String(proxy)})
	mustNoErr(t, err)
	if *got.Path != "/email/{proxy+}" || *got.PathPart != "{proxy+}" || *got.ParentId != email {
		t.Errorf("proxy resource %+v", got)
	}
	want := []string{"/", "/email", "/email/{proxy+}", "/pets", "/pets/{petId}", "/pets/{petId}/toys"}
	if got := resourcePaths(t, e, api); !equalStrings(got, want) {
		t.Errorf("paths %v, want %v", got, want)
	}

	errs := []struct {
		name, parent, part, code string
		status                   int
		msg                      string
	}{
		{"same name", root, "pets", "ConflictException", 409, "Another resource with the same parent already has this name: pets"},
		{"child of greedy", proxy, "x", "BadRequestException", 400, "Cannot create a child of a resource with a greedy path variable: {proxy+}"},
		{"second variable", pets, "{other}", "BadRequestException", 400, "A sibling ({petId}) of this resource already has a variable path part -- only one is allowed"},
		{"greedy beside variable", pets, "{proxy+}", "BadRequestException", 400, "A sibling ({petId}) of this resource already has a variable path part -- only one is allowed"},
		{"bad characters", root, "a b", "BadRequestException", 400, "Resource's path part only allow a-zA-Z0-9._- and curly braces at the beginning and the end and an optional plus sign before the closing brace."},
		{"missing parent", "nope", "x", "NotFoundException", 404, "Invalid Resource identifier specified"},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.client.CreateResource(ctx, &apigateway.CreateResourceInput{RestApiId: aws.String(api), ParentId: aws.String(tt.parent), PathPart: aws.String(tt.part)})
			wantAPIError(t, err, tt.code, tt.status, tt.msg)
		})
	}
	_, err = e.client.CreateResource(ctx, &apigateway.CreateResourceInput{RestApiId: aws.String("nope"), ParentId: aws.String(root), PathPart: aws.String("x")})
	wantAPIError(t, err, "NotFoundException", 404, "Invalid API identifier specified 123456789012:nope")
}

func TestResourceEmbedMethods(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	api, root := e.createAPI(t, "embed")
	r := e.createResource(t, api, root, "blocks")
	e.mockMethod(t, api, r, "GET")

	plain, err := e.client.GetResource(ctx, &apigateway.GetResourceInput{RestApiId: aws.String(api), ResourceId: aws.String(r)})
	mustNoErr(t, err)
	if m, ok := plain.ResourceMethods["GET"]; !ok || m.HttpMethod != nil || m.MethodIntegration != nil {
		t.Errorf("without embed: %+v", plain.ResourceMethods)
	}
	embedded, err := e.client.GetResource(ctx, &apigateway.GetResourceInput{RestApiId: aws.String(api), ResourceId: aws.String(r), Embed: []string{"methods"}})
	mustNoErr(t, err)
	m := embedded.ResourceMethods["GET"]
	if aws.ToString(m.HttpMethod) != "GET" || m.MethodIntegration == nil || m.MethodIntegration.Type != types.IntegrationTypeMock {
		t.Errorf("with embed: %+v", m)
	}
	list, err := e.client.GetResources(ctx, &apigateway.GetResourcesInput{RestApiId: aws.String(api), Embed: []string{"methods"}})
	mustNoErr(t, err)
	found := false
	for _, it := range list.Items {
		if *it.Id == r {
			found = it.ResourceMethods["GET"].MethodIntegration != nil
		}
	}
	if !found {
		t.Errorf("GetResources embed=methods lacks the integration")
	}
}

func TestResourcesPagination(t *testing.T) {
	e := newTestEnv(t)
	api, root := e.createAPI(t, "many")
	for i := range 40 {
		e.createResource(t, api, root, "r"+string(rune('a'+i%26))+string(rune('a'+i/26)))
	}
	n := 0
	pg := apigateway.NewGetResourcesPaginator(e.client, &apigateway.GetResourcesInput{RestApiId: aws.String(api)})
	for pg.HasMorePages() {
		p, err := pg.NextPage(context.Background())
		mustNoErr(t, err)
		if len(p.Items) > 25 {
			t.Fatalf("page of %d, default limit is 25", len(p.Items))
		}
		n += len(p.Items)
	}
	if n != 41 {
		t.Errorf("saw %d resources, want 41", n)
	}
}

func TestUpdateResource(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	api, root := e.createAPI(t, "upd")
	pets := e.createResource(t, api, root, "pets")
	petID := e.createResource(t, api, pets, "{petId}")
	toys := e.createResource(t, api, petID, "toys")
	other := e.createResource(t, api, root, "other")

	upd := func(id string, ops ...types.PatchOperation) (*apigateway.UpdateResourceOutput, error) {
		return e.client.UpdateResource(ctx, &apigateway.UpdateResourceInput{RestApiId: aws.String(api), ResourceId: aws.String(id), PatchOperations: ops})
	}
	out, err := upd(pets, patch(types.OpReplace, "/pathPart", "animals"))
	mustNoErr(t, err)
	if *out.Path != "/animals" {
		t.Errorf("path %q", *out.Path)
	}
	// The subtree's paths follow.
	want := []string{"/", "/animals", "/animals/{petId}", "/animals/{petId}/toys", "/other"}
	if got := resourcePaths(t, e, api); !equalStrings(got, want) {
		t.Errorf("paths %v, want %v", got, want)
	}
	out, err = upd(petID, patch(types.OpReplace, "/parentId", other))
	mustNoErr(t, err)
	if *out.Path != "/other/{petId}" || *out.ParentId != other {
		t.Errorf("moved %+v", out)
	}
	got, err := e.client.GetResource(ctx, &apigateway.GetResourceInput{RestApiId: aws.String(api), ResourceId: aws.String(toys)})
	mustNoErr(t, err)
	if *got.Path != "/other/{petId}/toys" {
		t.Errorf("grandchild path %q", *got.Path)
	}

	errs := []struct {
		name   string
		id     string
		op     types.PatchOperation
		code   string
		status int
		msg    string
	}{
		{"cycle", other, patch(types.OpReplace, "/parentId", toys), "BadRequestException", 400, "Resources cannot be cyclical."},
		{"self parent", other, patch(types.OpReplace, "/parentId", other), "BadRequestException", 400, "Resources cannot be cyclical."},
		{"sibling name", other, patch(types.OpReplace, "/pathPart", "animals"), "ConflictException", 409, "Another resource with the same parent already has this name: animals"},
		{"unknown parent", other, patch(types.OpReplace, "/parentId", "nope"), "NotFoundException", 404, "Invalid Resource identifier specified"},
		{"bad path", other, patch(types.OpReplace, "/invalid", "x"), "BadRequestException", 400, "Invalid patch path  '/invalid' specified for op 'replace'. Must be one of: [/parentId, /pathPart]"},
		{"remove", other, patch(types.OpRemove, "/pathPart", ""), "BadRequestException", 400, "Invalid patch path  '/pathPart' specified for op 'remove'. Please choose supported operations"},
		{"root part", root, patch(types.OpReplace, "/pathPart", "x"), "BadRequestException", 400, "Root resource cannot update its pathPart."},
		{"root parent", root, patch(types.OpReplace, "/parentId", other), "BadRequestException", 400, "Root resource cannot update its parentId."},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			_, err := upd(tt.id, tt.op)
			wantAPIError(t, err, tt.code, tt.status, tt.msg)
		})
	}
}

func TestDeleteResourceSubtree(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	api, root := e.createAPI(t, "del")
	pets := e.createResource(t, api, root, "pets")
	petID := e.createResource(t, api, pets, "{petId}")
	e.createResource(t, api, petID, "toys")
	e.mockMethod(t, api, petID, "GET")
	keep := e.createResource(t, api, root, "keep")

	_, err := e.client.DeleteResource(ctx, &apigateway.DeleteResourceInput{RestApiId: aws.String(api), ResourceId: aws.String(pets)})
	mustNoErr(t, err)
	if got := resourcePaths(t, e, api); !equalStrings(got, []string{"/", "/keep"}) {
		t.Errorf("after delete: %v", got)
	}
	_, err = e.client.GetResource(ctx, &apigateway.GetResourceInput{RestApiId: aws.String(api), ResourceId: aws.String(petID)})
	wantAPIError(t, err, "NotFoundException", 404, "Invalid Resource identifier specified")
	_, err = e.client.DeleteResource(ctx, &apigateway.DeleteResourceInput{RestApiId: aws.String(api), ResourceId: aws.String(pets)})
	wantAPIError(t, err, "NotFoundException", 404, "Invalid Resource identifier specified")
	_, err = e.client.DeleteResource(ctx, &apigateway.DeleteResourceInput{RestApiId: aws.String(api), ResourceId: aws.String(root)})
	wantAPIError(t, err, "BadRequestException", 400, "Cannot delete root resource")
	_ = keep
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
