package httpapi

import (
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
