package restapi

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"

	"github.com/sluice-dev/sluice/internal/apigw/model"
	"github.com/sluice-dev/sluice/internal/store"
)

// TestDeleteLargeRestAPI deletes an API with more records than one etcd
// transaction may delete.
func TestDeleteLargeRestAPI(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	id, _ := e.createAPI(t, "big")
	other, _ := e.createAPI(t, "other")
	err := e.store.Update(ctx, func(tx store.Tx) error { // the raw store: no write limit
		for i := range 150 {
			r := fmt.Sprintf("r%03d", i)
			if err := store.PutRecord(tx, model.Key(model.RestResourcePrefix, id, r), &model.Resource{ID: r}); err != nil {
				return err
			}
		}
		return nil
	})
	mustNoErr(t, err)
	_, err = e.client.DeleteRestApi(ctx, &apigateway.DeleteRestApiInput{RestApiId: aws.String(id)})
	mustNoErr(t, err)
	for _, prefix := range append([]string{model.RestAPIPrefix}, apiScopedPrefixes...) {
		if left := e.store.keys(model.Key(prefix, id)); len(left) != 0 {
			t.Errorf("DeleteRestApi left %d records under %s", len(left), prefix)
		}
	}
	if left := e.store.keys(model.Key(model.RestResourcePrefix, other) + "/"); len(left) != 1 {
		t.Errorf("other API's resources: %v, want its root", left)
	}
	_, err = e.client.GetRestApi(ctx, &apigateway.GetRestApiInput{RestApiId: aws.String(id)})
	wantAPIError(t, err, "NotFoundException", http.StatusNotFound, "Invalid API identifier specified "+testAccount+":"+id)
}

// TestDeleteLargeResourceSubtree deletes a resource with more descendants than one
// etcd transaction may delete.
func TestDeleteLargeResourceSubtree(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	id, root := e.createAPI(t, "big")
	parent := e.createResource(t, id, root, "p")
	keep := e.createResource(t, id, root, "keep")
	child := e.createResource(t, id, parent, "c")
	e.createResource(t, id, child, "g")
	err := e.store.Update(ctx, func(tx store.Tx) error { // the raw store: no write limit
		for i := range 150 {
			r := fmt.Sprintf("r%03d", i)
			res := &model.Resource{ID: r, ParentID: parent, PathPart: r, Path: "/p/" + r}
			if err := store.PutRecord(tx, model.Key(model.RestResourcePrefix, id, r), res); err != nil {
				return err
			}
		}
		return nil
	})
	mustNoErr(t, err)
	_, err = e.client.DeleteResource(ctx, &apigateway.DeleteResourceInput{RestApiId: aws.String(id), ResourceId: aws.String(parent)})
	mustNoErr(t, err)
	got := e.store.keys(model.Key(model.RestResourcePrefix, id) + "/")
	want := []string{model.Key(model.RestResourcePrefix, id, root), model.Key(model.RestResourcePrefix, id, keep)}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("resources left: %v, want %v", got, want)
	}
}

func TestSubtreeDeepestFirst(t *testing.T) {
	all := []*model.Resource{
		{ID: "root"}, {ID: "a", ParentID: "root"}, {ID: "b", ParentID: "a"},
		{ID: "c", ParentID: "b"}, {ID: "d", ParentID: "a"}, {ID: "x", ParentID: "root"},
	}
	var got []string
	for _, r := range subtreeDeepestFirst(all, "a") {
		got = append(got, r.ID)
	}
	if want := []string{"c", "b", "d", "a"}; !slices.Equal(got, want) {
		t.Errorf("order = %v, want %v", got, want)
	}
}
