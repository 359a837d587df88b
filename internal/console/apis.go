package console

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/sluice-dev/sluice/internal/apigw/model"
	"github.com/sluice-dev/sluice/internal/store"
)

// apiView is one REST or HTTP API as the APIs page shows it.
type apiView struct {
	Kind        string // "REST" or "HTTP"
	ID          string
	Name        string
	Description string
	// Note says why the API has no invoke URLs here (private, or its default
	// endpoint disabled); empty otherwise.
	Note   string
	Stages []stageView
	// Recent are its last requests, newest first (empty without a Recent).
	Recent []RecentRequest
}

// stageView is a stage with the routes of the deployment it serves.
type stageView struct {
	Name         string
	DeploymentID string
	// HostURL and PathURL are the stage's base invoke URLs: by Host
	// ({apiId}.execute-api...) and by path (/restapis/{apiId}/{stage}/_user_request_/).
	HostURL, PathURL string
	Routes           []string
}

type apisPage struct {
	APIs []apiView
}

func (c *Console) serveAPIs(w http.ResponseWriter, r *http.Request) {
	rest, err := c.restAPIs(r.Context())
	if err != nil {
		c.internalError(w, "REST APIs", err)
		return
	}
	httpAPIs, err := c.httpAPIs(r.Context())
	if err != nil {
		c.internalError(w, "HTTP APIs", err)
		return
	}
	all := append(rest, httpAPIs...)
	for i := range all {
		all[i].Recent = c.opts.Recent.For(all[i].ID)
	}
	slices.SortFunc(all, func(a, b apiView) int { return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.ID, b.ID)) })
	c.render(w, http.StatusOK, "apis", page{Section: "apis", Title: "APIs", Data: apisPage{APIs: all}})
}

func (c *Console) restAPIs(ctx context.Context) ([]apiView, error) {
	var out []apiView
	err := listRecords(ctx, c.opts.APIs, model.RestAPIPrefix, func(a *model.RestAPI) error {
		v := apiView{Kind: "REST", ID: a.ID, Name: a.Name, Description: a.Description}
		private := a.EndpointConfiguration != nil && slices.Contains(a.EndpointConfiguration.Types, "PRIVATE")
		switch {
		case private:
			v.Note = "PRIVATE: served only on --private-listen endpoints, by {apiId}-{vpceId}.execute-api Host or x-apigw-api-id."
		case a.DisableExecuteAPIEndpoint:
			v.Note = "Default execute-api endpoint disabled: reach it through a custom domain."
		}
		err := listRecords(ctx, c.opts.APIs, model.Key(model.RestStagePrefix, a.ID)+"/", func(st *model.Stage) error {
			sv := stageView{Name: st.StageName, DeploymentID: st.DeploymentID}
			if v.Note == "" {
				sv.HostURL = c.hostURL(a.ID, "/"+url.PathEscape(st.StageName)+"/")
				sv.PathURL = c.pathURL(a.ID, st.StageName)
			}
			var snap model.RestSnapshot
			if ok, err := getRecord(ctx, c.opts.APIs, model.Key(model.RestSnapshotPrefix, a.ID, st.DeploymentID), &snap); err != nil {
				return err
			} else if ok {
				sv.Routes = restRoutes(snap.Resources)
			}
			v.Stages = append(v.Stages, sv)
			return nil
		})
		out = append(out, v)
		return err
	})
	return out, err
}

func restRoutes(resources []*model.Resource) []string {
	var routes []string
	for _, res := range resources {
		for _, m := range slices.Sorted(maps.Keys(res.ResourceMethods)) {
			routes = append(routes, m+" "+res.Path)
		}
	}
	slices.SortFunc(routes, func(a, b string) int {
		_, pa, _ := strings.Cut(a, " ")
		_, pb, _ := strings.Cut(b, " ")
		return cmp.Or(strings.Compare(pa, pb), strings.Compare(a, b))
	})
	return routes
}

func (c *Console) httpAPIs(ctx context.Context) ([]apiView, error) {
	var out []apiView
	err := listRecords(ctx, c.opts.APIs, model.HTTPAPIPrefix, func(a *model.HTTPAPI) error {
		v := apiView{Kind: cmp.Or(a.ProtocolType, "HTTP"), ID: a.APIID, Name: a.Name, Description: a.Description}
		if a.DisableExecuteAPIEndpoint {
			v.Note = "Default execute-api endpoint disabled: reach it through a custom domain."
		}
		err := listRecords(ctx, c.opts.APIs, model.Key(model.HTTPStagePrefix, a.APIID)+"/", func(st *model.Stage2) error {
			sv := stageView{Name: st.StageName, DeploymentID: st.DeploymentID}
			if v.Note == "" {
				// $default is served at the root; a named stage under its name.
				prefix := "/"
				if st.StageName != "$default" {
					prefix = "/" + url.PathEscape(st.StageName) + "/"
				}
				sv.HostURL = c.hostURL(a.APIID, prefix)
				sv.PathURL = c.pathURL(a.APIID, st.StageName)
			}
			if st.DeploymentID != "" {
				var snap model.HTTPSnapshot
				if ok, err := getRecord(ctx, c.opts.APIs, model.Key(model.HTTPSnapshotPrefix, a.APIID, st.DeploymentID), &snap); err != nil {
					return err
				} else if ok {
					for _, rt := range snap.Routes {
						sv.Routes = append(sv.Routes, rt.RouteKey)
					}
					slices.Sort(sv.Routes)
				}
			}
			v.Stages = append(v.Stages, sv)
			return nil
		})
		out = append(out, v)
		return err
	})
	return out, err
}

// hostURL is the Host-form invoke URL of an API: {apiId}.{ExecuteAPIDomain} on
// the endpoint's scheme and port, then the stage prefix.
func (c *Console) hostURL(apiID, stagePrefix string) string {
	u, err := url.Parse(c.opts.Endpoint)
	if err != nil || u.Host == "" || c.opts.ExecuteAPIDomain == "" {
		return ""
	}
	host := apiID + "." + c.opts.ExecuteAPIDomain
	if p := u.Port(); p != "" {
		host += ":" + p
	}
	return u.Scheme + "://" + host + stagePrefix
}

// pathURL is the path-form invoke URL, API Gateway's test-invoke address,
// which needs no DNS.
func (c *Console) pathURL(apiID, stage string) string {
	return strings.TrimSuffix(c.opts.Endpoint, "/") + "/restapis/" + url.PathEscape(apiID) + "/" + url.PathEscape(stage) + "/_user_request_/"
}

// listRecords decodes every record directly under prefix (not those of deeper
// keys) into a T and calls fn with it, in key order.
func listRecords[T any](ctx context.Context, defs Definitions, prefix string, fn func(*T) error) error {
	kvs, err := defs.List(ctx, prefix)
	if err != nil {
		return fmt.Errorf("list %s: %w", prefix, err)
	}
	for _, kv := range kvs {
		if strings.Contains(strings.TrimPrefix(kv.Key, prefix), "/") {
			continue
		}
		var rec T
		if err := json.Unmarshal(kv.Value, &rec); err != nil {
			return fmt.Errorf("decode %s: %w", kv.Key, err)
		}
		if err := fn(&rec); err != nil {
			return err
		}
	}
	return nil
}

// getRecord decodes the record at key into v; false if there is none.
func getRecord(ctx context.Context, defs Definitions, key string, v any) (bool, error) {
	b, err := defs.Get(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("get %s: %w", key, err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("decode %s: %w", key, err)
	}
	return true, nil
}
