package httpapi

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/sluice-dev/sluice/internal/apigw/model"
	"github.com/sluice-dev/sluice/internal/awsproto"
	"github.com/sluice-dev/sluice/internal/store"
)

// reader is what lookups need: a store.Tx, or the store itself outside a transaction.
type reader = store.Reader

func (s *Service) reader(ctx context.Context) reader { return store.ReaderOf(ctx, s.store) }

// apiChild is the key prefix of every record of one kind belonging to an API.
func apiChild(prefix, apiID string) string { return model.Key(prefix, apiID) + "/" }

// loadAPI returns the API or AWS's NotFoundException for it.
func (s *Service) loadAPI(r reader, apiID string) (*model.HTTPAPI, error) {
	// API Gateway: "Invalid API identifier specified 123456789012:abc".
	return loadRecord[model.HTTPAPI](r, model.Key(model.HTTPAPIPrefix, apiID),
		"Invalid API identifier specified %s:%s", s.accountID, apiID)
}

func loadRoute(r reader, apiID, routeID string) (*model.Route, error) {
	return loadRecord[model.Route](r, model.Key(model.HTTPRoutePrefix, apiID, routeID),
		"Invalid Route identifier specified %s", routeID)
}

func loadIntegration(r reader, apiID, integrationID string) (*model.Integration2, error) {
	return loadRecord[model.Integration2](r, model.Key(model.HTTPIntegrationPrefix, apiID, integrationID),
		"Invalid Integration identifier specified %s", integrationID)
}

func loadStage(r reader, apiID, stageName string) (*model.Stage2, error) {
	return loadRecord[model.Stage2](r, model.Key(model.HTTPStagePrefix, apiID, stageName),
		"Invalid stage identifier specified")
}

func loadDeployment(r reader, apiID, deploymentID string) (*model.Deployment2, error) {
	return loadRecord[model.Deployment2](r, model.Key(model.HTTPDeploymentPrefix, apiID, deploymentID),
		"Invalid Deployment identifier specified %s", deploymentID)
}

// loadRecord reads the record at key, or answers API Gateway's NotFoundException
// with the message given.
func loadRecord[T any](r reader, key string, notFoundFormat string, args ...any) (*T, error) {
	v, ok, err := store.GetRecord[T](r, key)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, notFound(notFoundFormat, args...)
	}
	return v, nil
}

// insertAPI gives a new API its id (10 characters, as API Gateway's) and
// endpoint and writes it.
func (s *Service) insertAPI(tx store.Tx, api *model.HTTPAPI) error {
	id, err := newID(tx, model.HTTPAPIPrefix, 10)
	if err != nil {
		return err
	}
	api.APIID = id
	api.APIEndpoint = s.endpoint(id)
	return store.PutRecord(tx, model.Key(model.HTTPAPIPrefix, id), api)
}

// newID returns an id of length n that is not yet used under prefix.
func newID(r reader, prefix string, n int) (string, error) {
	for range 8 {
		id := awsproto.NewID(n)
		if _, err := r.Get(prefix + id); errors.Is(err, store.ErrNotFound) {
			return id, nil
		} else if err != nil {
			return "", err
		}
	}
	return "", fmt.Errorf("could not allocate a unique id under %s", prefix)
}

// page is one page of a list operation: {"items":[...],"nextToken":"..."}.
type page[T any] struct {
	Items     []T    `json:"items"`
	NextToken string `json:"nextToken,omitempty"`
}

// paginate cuts items (sorted by id) into the page asked for by maxResults and
// nextToken. The token is opaque to clients: the id of the last item returned.
// Without maxResults every remaining item is returned, as a client that does not
// paginate would expect.
func paginate[T any](req *request, items []T, id func(T) string) (page[T], error) {
	start := 0
	if tok := req.query.Get("nextToken"); tok != "" {
		raw, err := base64.RawURLEncoding.DecodeString(tok)
		if err != nil || len(raw) == 0 {
			return page[T]{}, badRequest("Invalid pagination token specified")
		}
		after := string(raw)
		start = len(items)
		for i, it := range items {
			if id(it) > after {
				start = i
				break
			}
		}
	}
	limit := len(items) - start
	if v := req.query.Get("maxResults"); v != "" {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 1 || n > 500 {
			return page[T]{}, badRequest("Invalid maxResults specified: must be an integer between 1 and 500")
		}
		limit = min(n, limit)
	}
	p := page[T]{Items: items[start : start+limit]}
	if start+limit < len(items) && limit > 0 {
		p.NextToken = base64.RawURLEncoding.EncodeToString([]byte(id(items[start+limit-1])))
	}
	if p.Items == nil {
		p.Items = []T{}
	}
	return p, nil
}
