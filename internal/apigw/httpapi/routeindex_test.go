package httpapi

import (
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"

	"github.com/sluice-dev/sluice/internal/store"
)

// TestRouteIndexKeepsUniquenessRules drives the route-key index through every
// write that changes a route's key, and through an API stored before the index
// existed, checking AWS's two rules hold at each step.
func TestRouteIndexKeepsUniquenessRules(t *testing.T) {
	e := newEnv(t)
	id := *e.createAPI("idx").ApiId
	a := e.createRoute(id, "GET /items/{id}", "")
	e.createRoute(id, "GET /items/{id}/parts/{part}", "")
	e.createRoute(id, "GET /files/{proxy+}", "")

	_, err := e.c.CreateRoute(e.ctx, &apigatewayv2.CreateRouteInput{ApiId: aws.String(id), RouteKey: aws.String("GET /items/{id}")})
	wantAPIError(t, err, "ConflictException", "Route with key GET /items/{id} already exists")
	// The conflict rule ignores the method, and names the route it conflicts with.
	_, err = e.c.CreateRoute(e.ctx, &apigatewayv2.CreateRouteInput{ApiId: aws.String(id), RouteKey: aws.String("POST /items/{key}")})
	wantAPIError(t, err, "ConflictException", `"POST /items/{key}" has a conflicting variable on the same hierarchical level as "GET /items/{id}`)
	// A greedy variable beside a plain one, and a same-named variable, are allowed.
	e.createRoute(id, "GET /items/{proxy+}", "")
	e.createRoute(id, "PUT /items/{id}", "")

	// Renaming a route frees its old key and takes the new one.
	check(e.c.UpdateRoute(e.ctx, &apigatewayv2.UpdateRouteInput{ApiId: aws.String(id), RouteId: a.RouteId, RouteKey: aws.String("GET /things/{thing}")})).get(t)
	e.createRoute(id, "DELETE /items/{id}", "") // PUT /items/{id} still holds the level's name
	_, err = e.c.CreateRoute(e.ctx, &apigatewayv2.CreateRouteInput{ApiId: aws.String(id), RouteKey: aws.String("GET /things/{other}")})
	wantAPIError(t, err, "ConflictException", "conflicting variable")

	// Deleting a route frees its key.
	check(e.c.DeleteRoute(e.ctx, &apigatewayv2.DeleteRouteInput{ApiId: aws.String(id), RouteId: a.RouteId})).get(t)
	e.createRoute(id, "GET /things/{other}", "")

	// An API whose routes were written before the index existed: the first write
	// rebuilds it from the routes, so the rules still hold.
	if err := e.st.Update(e.ctx, func(tx store.Tx) error { return deleteAPIRecords(tx, id, routeIndexPrefix) }); err != nil {
		t.Fatal(err)
	}
	if left := e.st.keys(t, routeIndexPrefix+id); len(left) != 0 {
		t.Fatalf("index not removed: %v", left)
	}
	_, err = e.c.CreateRoute(e.ctx, &apigatewayv2.CreateRouteInput{ApiId: aws.String(id), RouteKey: aws.String("GET /things/{x}")})
	wantAPIError(t, err, "ConflictException", `as "GET /things/{other}"`)
	_, err = e.c.CreateRoute(e.ctx, &apigatewayv2.CreateRouteInput{ApiId: aws.String(id), RouteKey: aws.String("GET /files/{proxy+}")})
	wantAPIError(t, err, "ConflictException", "already exists")

	// DeleteApi removes the index with the routes.
	check(e.c.DeleteApi(e.ctx, &apigatewayv2.DeleteApiInput{ApiId: aws.String(id)})).get(t)
	if left := e.st.keys(t, routeIndexPrefix+id); len(left) != 0 {
		t.Fatalf("DeleteApi left index keys: %v", left)
	}
}

// BenchmarkCreateRoute: creating the Nth route of an API costs the same for any N.
func BenchmarkCreateRoute(b *testing.B) {
	for _, n := range []int{10, 1000} {
		b.Run(fmt.Sprintf("routes=%d", n), func(b *testing.B) {
			e := newEnv(b)
			id := *e.createAPI("bench").ApiId
			for i := range n {
				e.createRoute(id, fmt.Sprintf("GET /r%d/{id}", i), "")
			}
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				if _, err := e.c.CreateRoute(e.ctx, &apigatewayv2.CreateRouteInput{ApiId: aws.String(id), RouteKey: aws.String(fmt.Sprintf("POST /n%d/{id}", i))}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
