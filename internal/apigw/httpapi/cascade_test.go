package httpapi

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"

	"github.com/sluice-dev/sluice/internal/apigw/model"
	"github.com/sluice-dev/sluice/internal/store"
)

// TestDeleteLargeAPI deletes an API with more records than one etcd transaction
// may delete (a long auto-deploy history is the usual way to get there).
func TestDeleteLargeAPI(t *testing.T) {
	e := newEnv(t)
	api := e.createAPI("big")
	id := *api.ApiId
	other := e.createAPI("other")
	err := e.st.Store.Update(e.ctx, func(tx store.Tx) error { // bypasses the write limit
		for i := range 120 {
			dep := string(rune('a'+i/26)) + string(rune('a'+i%26))
			if err := store.PutRecord(tx, model.Key(model.HTTPDeploymentPrefix, id, dep), &model.Deployment2{DeploymentID: dep}); err != nil {
				return err
			}
			if err := store.PutRecord(tx, model.Key(model.HTTPSnapshotPrefix, id, dep), &model.HTTPSnapshot{}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	check(e.c.DeleteApi(e.ctx, &apigatewayv2.DeleteApiInput{ApiId: aws.String(id)})).get(t)
	if left := e.st.keys(t, "/"+id); len(left) != 0 {
		t.Fatalf("DeleteApi left %d records, e.g. %s", len(left), left[0])
	}
	if left := e.st.keys(t, "/"+*other.ApiId); len(left) != 1 {
		t.Errorf("another API's records: %v, want its API record only", left)
	}
	_, err = e.c.GetApi(e.ctx, &apigatewayv2.GetApiInput{ApiId: aws.String(id)})
	wantAPIError(t, err, "NotFoundException", "Invalid API identifier specified")
}

// TestImportLargeAPI imports more routes (each with an integration) than one
// etcd transaction may write.
func TestImportLargeAPI(t *testing.T) {
	e := newEnv(t)
	var doc strings.Builder
	doc.WriteString("openapi: \"3.0.1\"\ninfo:\n  title: big\n  version: \"1\"\npaths:\n")
	const n = 120
	for i := range n {
		fmt.Fprintf(&doc, "  /r%03d:\n    get:\n      x-amazon-apigateway-integration:\n        type: http_proxy\n        uri: https://backend.example.com/%d\n        httpMethod: GET\n        payloadFormatVersion: \"1.0\"\n", i, i)
	}
	api := check(e.c.ImportApi(e.ctx, &apigatewayv2.ImportApiInput{Body: aws.String(doc.String())})).get(t)
	routes := check(e.c.GetRoutes(e.ctx, &apigatewayv2.GetRoutesInput{ApiId: api.ApiId})).get(t)
	integs := check(e.c.GetIntegrations(e.ctx, &apigatewayv2.GetIntegrationsInput{ApiId: api.ApiId})).get(t)
	if len(routes.Items) != n || len(integs.Items) != n || aws.ToString(api.Name) != "big" {
		t.Fatalf("imported %q with %d routes, %d integrations; want big, %d of each", aws.ToString(api.Name), len(routes.Items), len(integs.Items), n)
	}

	// A document that fails part-way (its last route conflicts with its first,
	// which only the write of the last batch finds) leaves nothing behind.
	before := e.st.keys(t, "/apigw/")
	route := "  %s:\n    get:\n      x-amazon-apigateway-integration:\n        type: http_proxy\n        uri: https://backend.example.com/\n        httpMethod: GET\n        payloadFormatVersion: \"1.0\"\n"
	doc.Reset()
	doc.WriteString("openapi: \"3.0.1\"\ninfo:\n  title: bad\n  version: \"1\"\npaths:\n")
	fmt.Fprintf(&doc, route, "/x/{a}")
	for i := range n {
		fmt.Fprintf(&doc, route, fmt.Sprintf("/r%03d", i))
	}
	fmt.Fprintf(&doc, route, "/x/{b}")
	_, err := e.c.ImportApi(e.ctx, &apigatewayv2.ImportApiInput{Body: aws.String(doc.String())})
	wantAPIError(t, err, "ConflictException", "conflicting variable")
	if after := e.st.keys(t, "/apigw/"); !slices.Equal(after, before) {
		t.Errorf("a failed import left %d records", len(after)-len(before))
	}
}
