package restapi

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/sluice-dev/sluice/internal/apigw/model"
	"github.com/sluice-dev/sluice/internal/awsproto"
	"github.com/sluice-dev/sluice/internal/store"
)

// reader is what lookups need: a store.Tx, or the store itself outside a transaction.
type reader = store.Reader

func (s *Service) reader(ctx context.Context) reader { return store.ReaderOf(ctx, s.store) }

func deleteRecord(tx store.Tx, key string) error {
	if err := tx.Delete(key); err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	return nil
}

// deletePrefix deletes every key under prefix.
func deletePrefix(tx store.Tx, prefix string) error {
	kvs, err := tx.List(prefix)
	if err != nil {
		return fmt.Errorf("list %s: %w", prefix, err)
	}
	for _, kv := range kvs {
		if err := deleteRecord(tx, kv.Key); err != nil {
			return err
		}
	}
	return nil
}

// safeID reports whether an identifier taken from the URL can be used in a store key:
// a slash (sent as %2F) would let one API's id address another record.
func safeID(id string) bool {
	return id != "" && !strings.ContainsAny(id, "/\x00") && len(id) <= 1024
}

// Store keys of one API's records.
func apiKey(api string) string             { return model.Key(model.RestAPIPrefix, api) }
func resourceKey(api, id string) string    { return model.Key(model.RestResourcePrefix, api, id) }
func resourcesPrefix(api string) string    { return model.Key(model.RestResourcePrefix, api) + "/" }
func deploymentKey(api, id string) string  { return model.Key(model.RestDeploymentPrefix, api, id) }
func deploymentsPrefix(api string) string  { return model.Key(model.RestDeploymentPrefix, api) + "/" }
func snapshotKey(api, id string) string    { return model.Key(model.RestSnapshotPrefix, api, id) }
func stageKey(api, name string) string     { return model.Key(model.RestStagePrefix, api, name) }
func stagesPrefix(api string) string       { return model.Key(model.RestStagePrefix, api) + "/" }
func gatewayRespKey(api, t string) string  { return model.Key(model.RestGatewayRespPrefix, api, t) }
func gatewayRespsPrefix(api string) string { return model.Key(model.RestGatewayRespPrefix, api) + "/" }
func validatorKey(api, id string) string   { return model.Key(model.RestValidatorPrefix, api, id) }
func validatorsPrefix(api string) string   { return model.Key(model.RestValidatorPrefix, api) + "/" }
func modelKey(api, name string) string     { return model.Key(model.RestModelPrefix, api, name) }
func modelsPrefix(api string) string       { return model.Key(model.RestModelPrefix, api) + "/" }
func authorizerKey(api, id string) string  { return model.Key(model.RestAuthorizerPrefix, api, id) }
func authorizersPrefix(api string) string  { return model.Key(model.RestAuthorizerPrefix, api) + "/" }

// apiScopedPrefixes are the prefixes under which an API's records live, keyed
// "{prefix}{apiId}/...". Deleting an API deletes everything under each of them.
// Stages come first, so a cascade split over several transactions stops serving
// them before anything else.
var apiScopedPrefixes = []string{
	model.RestStagePrefix, model.RestResourcePrefix, model.RestDeploymentPrefix,
	model.RestSnapshotPrefix, model.RestGatewayRespPrefix, model.RestValidatorPrefix,
	model.RestModelPrefix, model.RestAuthorizerPrefix,
}

// AWS's NotFoundException messages (recorded against AWS in LocalStack's
// tests/aws/services/apigateway/test_apigateway_api.snapshot.json).
func (s *Service) errAPINotFound(api string) error {
	return awsproto.NotFound("NotFoundException", "Invalid API identifier specified %s:%s", s.account, api)
}

var (
	errResourceNotFound    = awsproto.NotFound("NotFoundException", "Invalid Resource identifier specified")
	errMethodNotFound      = awsproto.NotFound("NotFoundException", "Invalid Method identifier specified")
	errIntegrationNotFound = awsproto.NotFound("NotFoundException", "Invalid Integration identifier specified")
	errStatusNotFound      = awsproto.NotFound("NotFoundException", "Invalid Response status code specified")
	errStageNotFound       = awsproto.NotFound("NotFoundException", "Invalid Stage identifier specified")
	errDeploymentNotFound  = awsproto.NotFound("NotFoundException", "Invalid Deployment identifier specified")
	errValidatorNotFound   = awsproto.NotFound("NotFoundException", "Invalid Request Validator identifier specified")
)

// loadAPI returns the API or AWS's "Invalid API identifier" error.
func (s *Service) loadAPI(rd reader, api string) (*model.RestAPI, error) {
	if !safeID(api) {
		return nil, s.errAPINotFound(api)
	}
	a, ok, err := store.GetRecord[model.RestAPI](rd, apiKey(api))
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, s.errAPINotFound(api)
	}
	return a, nil
}

// loadResource returns a resource. As AWS does for operations nested under a
// resource, a missing API is reported as a missing resource.
func loadResource(rd reader, api, id string) (*model.Resource, error) {
	if !safeID(api) || !safeID(id) {
		return nil, errResourceNotFound
	}
	r, ok, err := store.GetRecord[model.Resource](rd, resourceKey(api, id))
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errResourceNotFound
	}
	return r, nil
}

// loadMethod returns a resource and one of its methods.
func loadMethod(rd reader, api, resID, httpMethod string) (*model.Resource, *model.Method, error) {
	res, err := loadResource(rd, api, resID)
	if err != nil {
		return nil, nil, err
	}
	m := res.ResourceMethods[httpMethod]
	if m == nil {
		return nil, nil, errMethodNotFound
	}
	return res, m, nil
}

// page is one page of a paginated list: AWS's {"item":[...],"position":"..."}.
type page[T any] struct {
	Item     []T    `json:"item"`
	Position string `json:"position,omitempty"`
}

// paginate cuts items (already sorted by sortKey) after the request's position and
// to its limit. AWS: limit defaults to 25 and is at most 500; position is opaque.
func paginate[T any](req *request, items []T, sortKey func(T) string) (page[T], error) {
	limit := 25
	if l := req.query.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil {
			return page[T]{}, awsproto.BadRequest("BadRequestException", "Invalid limit specified: %s", l)
		}
		if n > 500 {
			n = 500
		}
		if n > 0 {
			limit = n
		}
	}
	start := 0
	if pos := req.query.Get("position"); pos != "" {
		after, err := base64.RawURLEncoding.DecodeString(pos)
		if err != nil {
			return page[T]{}, awsproto.BadRequest("BadRequestException", "Invalid position specified: %s", pos)
		}
		start = sort.Search(len(items), func(i int) bool { return sortKey(items[i]) > string(after) })
	}
	end := min(start+limit, len(items))
	p := page[T]{Item: items[start:end]}
	if p.Item == nil {
		p.Item = []T{}
	}
	if end < len(items) {
		p.Position = base64.RawURLEncoding.EncodeToString([]byte(sortKey(items[end-1])))
	}
	return p, nil
}

// validationError is the coral front end's 400 ValidationException for a member
// that breaks its model constraint.
func validationError(format string, args ...any) error {
	return awsproto.Errorf(http.StatusBadRequest, "ValidationException", "1 validation error detected: "+format, args...)
}

func badRequest(format string, args ...any) error {
	return awsproto.BadRequest("BadRequestException", format, args...)
}

func conflict(format string, args ...any) error {
	return awsproto.Conflict("ConflictException", format, args...)
}
