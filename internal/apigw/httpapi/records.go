package httpapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/sluice-dev/sluice/internal/apigw/model"
	"github.com/sluice-dev/sluice/internal/awsproto"
	"github.com/sluice-dev/sluice/internal/store"
)

// reader is the read half of a store.Tx; a plain store is adapted to it with
// storeReader so the same lookups serve reads inside and outside transactions.
type reader interface {
	Get(key string) ([]byte, error)
	List(prefix string) ([]store.KV, error)
}

type storeReader struct {
	ctx context.Context
	st  store.Store
}

func (r storeReader) Get(key string) ([]byte, error)         { return r.st.Get(r.ctx, key) }
func (r storeReader) List(prefix string) ([]store.KV, error) { return r.st.List(r.ctx, prefix) }

func (s *Service) reader(ctx context.Context) reader { return storeReader{ctx: ctx, st: s.store} }

// getRecord loads the JSON record at key into a new T; found is false when the
// key does not exist.
func getRecord[T any](r reader, key string) (*T, bool, error) {
	b, err := r.Get(key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read %s: %w", key, err)
	}
	v := new(T)
	if err := json.Unmarshal(b, v); err != nil {
		return nil, false, fmt.Errorf("decode %s: %w", key, err)
	}
	return v, true, nil
}

// listRecords loads every JSON record under prefix, in key order.
func listRecords[T any](r reader, prefix string) ([]*T, error) {
	kvs, err := r.List(prefix)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", prefix, err)
	}
	out := make([]*T, 0, len(kvs))
	for _, kv := range kvs {
		v := new(T)
		if err := json.Unmarshal(kv.Value, v); err != nil {
			return nil, fmt.Errorf("decode %s: %w", kv.Key, err)
		}
		out = append(out, v)
	}
	return out, nil
}

func putRecord(tx store.Tx, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", key, err)
	}
	if err := tx.Put(key, b); err != nil {
		return fmt.Errorf("write %s: %w", key, err)
	}
	return nil
}

// apiChild is the key prefix of every record of one kind belonging to an API.
func apiChild(prefix, apiID string) string { return model.Key(prefix, apiID) + "/" }

// loadAPI returns the API or AWS's NotFoundException for it.
func (s *Service) loadAPI(r reader, apiID string) (*model.HTTPAPI, error) {
	api, ok, err := getRecord[model.HTTPAPI](r, model.Key(model.HTTPAPIPrefix, apiID))
	if err != nil {
		return nil, err
	}
	if !ok {
		// API Gateway: "Invalid API identifier specified 123456789012:abc".
		return nil, notFound("Invalid API identifier specified %s:%s", s.accountID, apiID)
	}
	return api, nil
}

func loadRoute(r reader, apiID, routeID string) (*model.Route, error) {
	rt, ok, err := getRecord[model.Route](r, model.Key(model.HTTPRoutePrefix, apiID, routeID))
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, notFound("Invalid Route identifier specified %s", routeID)
	}
	return rt, nil
}

func loadIntegration(r reader, apiID, integrationID string) (*model.Integration2, error) {
	in, ok, err := getRecord[model.Integration2](r, model.Key(model.HTTPIntegrationPrefix, apiID, integrationID))
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, notFound("Invalid Integration identifier specified %s", integrationID)
	}
	return in, nil
}

func loadStage(r reader, apiID, stageName string) (*model.Stage2, error) {
	st, ok, err := getRecord[model.Stage2](r, model.Key(model.HTTPStagePrefix, apiID, stageName))
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, notFound("Invalid stage identifier specified")
	}
	return st, nil
}

func loadDeployment(r reader, apiID, deploymentID string) (*model.Deployment2, error) {
	d, ok, err := getRecord[model.Deployment2](r, model.Key(model.HTTPDeploymentPrefix, apiID, deploymentID))
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, notFound("Invalid Deployment identifier specified %s", deploymentID)
	}
	return d, nil
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
