package httpapi

import (
	"encoding/base64"
	"errors"
	"strings"

	"github.com/sluice-dev/sluice/internal/apigw/model"
	"github.com/sluice-dev/sluice/internal/store"
)

// routeIndexPrefix holds, per HTTP API, an index of its routes' keys, so that
// CreateRoute and UpdateRoute check AWS's two uniqueness rules (no two routes with
// one key; no two variables with different names on one hierarchical level) with a
// few point reads instead of decoding every route of the API, which made creating N
// routes cost O(N²) store reads and held the store's writer that long. It lives
// outside model.Prefix, so the gateway's watch never sees it.
//
//	<prefix><apiId>/m                                  marker: the index is complete
//	<prefix><apiId>/k/<b64 route key>                  → route id
//	<prefix><apiId>/v/<b64 level>/<name>/<route id>    one per {variable} segment
//
// where level is the path up to the variable (method ignored, as the conflict rule
// ignores it) plus whether it is greedy. An index missing its marker (an API
// written before the index existed) is rebuilt from the routes in the first
// transaction that needs it.
const routeIndexPrefix = "/apigwidx/v2/routes/"

var b64 = base64.RawURLEncoding

func routeIndexMarker(apiID string) string { return apiChild(routeIndexPrefix, apiID) + "m" }

func routeKeyIndex(apiID, routeKey string) string {
	return apiChild(routeIndexPrefix, apiID) + "k/" + b64.EncodeToString([]byte(routeKey))
}

// routeLevels returns, for each {variable} segment of a route key, the index
// prefix of its hierarchical level and the variable's name.
func routeLevels(apiID, routeKey string) (levels, names []string) {
	_, path, ok := strings.Cut(routeKey, " ")
	if !ok {
		return nil, nil // $default has no path
	}
	segs := strings.Split(path, "/")
	for i, seg := range segs {
		m := pathParamSegment.FindStringSubmatch(seg)
		if m == nil {
			continue
		}
		level := strings.Join(segs[:i], "/") + "\x00" + m[2]
		levels = append(levels, apiChild(routeIndexPrefix, apiID)+"v/"+b64.EncodeToString([]byte(level))+"/")
		names = append(names, m[1])
	}
	return levels, names
}

// ensureRouteIndex builds the API's route index if it is not complete.
func ensureRouteIndex(tx store.Tx, apiID string) error {
	if _, err := tx.Get(routeIndexMarker(apiID)); err == nil {
		return nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if err := deleteAPIRecords(tx, apiID, routeIndexPrefix); err != nil {
		return err
	}
	routes, err := store.ListRecords[model.Route](tx, apiChild(model.HTTPRoutePrefix, apiID))
	if err != nil {
		return err
	}
	for _, r := range routes {
		if err := indexRoute(tx, apiID, r.RouteKey, r.RouteID); err != nil {
			return err
		}
	}
	return tx.Put(routeIndexMarker(apiID), []byte("1"))
}

func indexRoute(tx store.Tx, apiID, routeKey, routeID string) error {
	if err := tx.Put(routeKeyIndex(apiID, routeKey), []byte(routeID)); err != nil {
		return err
	}
	levels, names := routeLevels(apiID, routeKey)
	for i, level := range levels {
		if err := tx.Put(level+names[i]+"/"+routeID, nil); err != nil {
			return err
		}
	}
	return nil
}

func unindexRoute(tx store.Tx, apiID, routeKey, routeID string) error {
	if v, err := tx.Get(routeKeyIndex(apiID, routeKey)); err == nil && string(v) == routeID {
		if err := tx.Delete(routeKeyIndex(apiID, routeKey)); err != nil {
			return err
		}
	} else if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	levels, names := routeLevels(apiID, routeKey)
	for i, level := range levels {
		if err := tx.Delete(level + names[i] + "/" + routeID); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	return nil
}

// checkRouteKeyUnique applies AWS's uniqueness rules to route (already carrying
// its id) against the API's other routes, through the index.
func checkRouteKeyUnique(tx store.Tx, apiID string, route *model.Route) error {
	if err := ensureRouteIndex(tx, apiID); err != nil {
		return err
	}
	if v, err := tx.Get(routeKeyIndex(apiID, route.RouteKey)); err == nil && string(v) != route.RouteID {
		return errDuplicateRouteKey(route.RouteKey)
	} else if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	levels, names := routeLevels(apiID, route.RouteKey)
	for i, level := range levels {
		kvs, err := tx.List(level)
		if err != nil {
			return err
		}
		for _, kv := range kvs {
			name, otherID, _ := strings.Cut(strings.TrimPrefix(kv.Key, level), "/")
			if name == names[i] || otherID == route.RouteID {
				continue
			}
			other := "" // name the other route as AWS does; fall back to its level
			if r, ok, err := store.GetRecord[model.Route](tx, model.Key(model.HTTPRoutePrefix, apiID, otherID)); err != nil {
				return err
			} else if ok {
				other = r.RouteKey
			}
			// AWS (409): `The provided route key "GET /a/{id}" has a conflicting
			// variable on the same hierarchical level as "GET /a/{key}"`.
			return conflict("The provided route key \"%s\" has a conflicting variable on the same hierarchical level as \"%s\"",
				route.RouteKey, other)
		}
	}
	return nil
}

// putRoute writes a route record and keeps the API's route index in step;
// oldKey is the route's key before this write ("" for a new route).
func putRoute(tx store.Tx, apiID, oldKey string, route *model.Route) error {
	if err := ensureRouteIndex(tx, apiID); err != nil {
		return err
	}
	if oldKey != "" {
		if err := unindexRoute(tx, apiID, oldKey, route.RouteID); err != nil {
			return err
		}
	}
	if err := store.PutRecord(tx, model.Key(model.HTTPRoutePrefix, apiID, route.RouteID), route); err != nil {
		return err
	}
	return indexRoute(tx, apiID, route.RouteKey, route.RouteID)
}

// deleteRoute removes a route record and its index entries.
func deleteRouteRecord(tx store.Tx, apiID string, route *model.Route) error {
	if err := ensureRouteIndex(tx, apiID); err != nil {
		return err
	}
	if err := unindexRoute(tx, apiID, route.RouteKey, route.RouteID); err != nil {
		return err
	}
	return tx.Delete(model.Key(model.HTTPRoutePrefix, apiID, route.RouteID))
}
