// Package compile turns API Gateway's stored definitions (REST and HTTP APIs, their
// stages and each stage's deployment snapshot) into an immutable routing Snapshot that
// the data plane serves requests from without touching the store. Everything a request
// needs that can be computed ahead (route tables, parsed integration URIs with stage
// variables substituted, execute-api source ARNs, gateway responses merged with their
// defaults, compiled selection patterns) is computed here, once per change.
package compile

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"

	"github.com/sluice-dev/sluice/internal/apigw/model"
	"github.com/sluice-dev/sluice/internal/store"
)

// Kind says which API Gateway product an API belongs to; it selects the payload
// defaults and the error dialect.
type Kind uint8

const (
	// REST is an apigateway (v1) REST API.
	REST Kind = iota + 1
	// HTTP is an apigatewayv2 HTTP API.
	HTTP
)

func (k Kind) String() string {
	switch k {
	case REST:
		return "REST"
	case HTTP:
		return "HTTP"
	}
	return "unknown"
}

// DefaultStageName is the HTTP API stage served at the root of the invoke URL.
const DefaultStageName = "$default"

// Options are the deployment-wide facts the compiler bakes into a snapshot.
type Options struct {
	Region    string
	AccountID string
	Logger    *slog.Logger
}

// Snapshot is everything the data plane serves, frozen. It is never modified after
// Build returns, so any number of requests may read it concurrently.
type Snapshot struct {
	apis map[string]*API
	// Revision is the highest store revision among the records compiled (0 when built
	// from records without revisions).
	Revision int64
}

// API returns the compiled API with the given id, or nil.
func (s *Snapshot) API(id string) *API {
	if s == nil {
		return nil
	}
	return s.apis[id]
}

// APIs returns the number of APIs in the snapshot.
func (s *Snapshot) APIs() int {
	if s == nil {
		return 0
	}
	return len(s.apis)
}

// API is one REST or HTTP API with its deployed stages. A stage that points at no
// deployment (or at a missing one) is absent: it is not reachable, as on AWS.
type API struct {
	ID                        string
	Kind                      Kind
	Name                      string
	DisableExecuteAPIEndpoint bool
	// EndpointTypes are the REST API's endpoint configuration types (PRIVATE APIs are
	// reachable only through private endpoints, a later capability).
	EndpointTypes []string
	stages        map[string]*Stage
}

// Stage returns the deployed stage with the given name, or nil.
func (a *API) Stage(name string) *Stage {
	if a == nil {
		return nil
	}
	return a.stages[name]
}

// DefaultStage returns the HTTP API's $default stage, or nil.
func (a *API) DefaultStage() *Stage { return a.Stage(DefaultStageName) }

// Stage is one deployed stage: the frozen routes of its deployment plus the stage's
// own settings.
type Stage struct {
	API          *API
	Name         string
	DeploymentID string
	// Variables are the stage variables, nil when there are none (payloads send null).
	Variables map[string]string
	// BinaryMediaTypes (REST) are the deployment's binary media types, "/" unescaped.
	BinaryMediaTypes []string
	// Cors (HTTP) is the deployment's CORS configuration, nil when CORS is off.
	Cors *Cors
	// GatewayResponses (REST) maps every response type to its effective gateway
	// response: the user's if they put one, else AWS's default.
	GatewayResponses map[string]*GatewayResponse
	Router           *Router
	// Snapshot is the raw deployment snapshot, for capabilities that slot in between
	// route match and integration (authorizers, API keys, policies). Exactly one of
	// RestSnapshot and HTTPSnapshot is set.
	RestSnapshot *model.RestSnapshot
	HTTPSnapshot *model.HTTPSnapshot
}

// Build compiles a snapshot from every record under model.Prefix. Records that cannot
// be decoded or that reference missing records are logged and skipped; one broken API
// never takes the others down.
func Build(kvs []store.KV, opts Options) *Snapshot {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	b := builder{opts: opts, log: log, records: map[string][]byte{}}
	snap := &Snapshot{apis: map[string]*API{}}
	restAPIs := map[string]*model.RestAPI{}
	httpAPIs := map[string]*model.HTTPAPI{}
	var restStages, httpStages []store.KV
	for _, kv := range kvs {
		if kv.Revision > snap.Revision {
			snap.Revision = kv.Revision
		}
		switch {
		case strings.HasPrefix(kv.Key, model.RestAPIPrefix):
			var a model.RestAPI
			if b.decode(kv, &a) {
				restAPIs[strings.TrimPrefix(kv.Key, model.RestAPIPrefix)] = &a
			}
		case strings.HasPrefix(kv.Key, model.HTTPAPIPrefix):
			var a model.HTTPAPI
			if b.decode(kv, &a) {
				httpAPIs[strings.TrimPrefix(kv.Key, model.HTTPAPIPrefix)] = &a
			}
		case strings.HasPrefix(kv.Key, model.RestStagePrefix):
			restStages = append(restStages, kv)
		case strings.HasPrefix(kv.Key, model.HTTPStagePrefix):
			httpStages = append(httpStages, kv)
		case strings.HasPrefix(kv.Key, model.RestSnapshotPrefix), strings.HasPrefix(kv.Key, model.HTTPSnapshotPrefix):
			b.records[kv.Key] = kv.Value
		}
	}
	for id, a := range restAPIs {
		snap.apis[id] = &API{ID: id, Kind: REST, Name: a.Name, DisableExecuteAPIEndpoint: a.DisableExecuteAPIEndpoint,
			EndpointTypes: endpointTypes(a), stages: map[string]*Stage{}}
	}
	for id, a := range httpAPIs {
		snap.apis[id] = &API{ID: id, Kind: HTTP, Name: a.Name, DisableExecuteAPIEndpoint: a.DisableExecuteAPIEndpoint,
			stages: map[string]*Stage{}}
	}
	for _, kv := range restStages {
		apiID, _, ok := strings.Cut(strings.TrimPrefix(kv.Key, model.RestStagePrefix), "/")
		api := snap.apis[apiID]
		if !ok || api == nil || api.Kind != REST {
			continue
		}
		var st model.Stage
		if !b.decode(kv, &st) {
			continue
		}
		if s := b.restStage(api, &st); s != nil {
			api.stages[s.Name] = s
		}
	}
	for _, kv := range httpStages {
		apiID, _, ok := strings.Cut(strings.TrimPrefix(kv.Key, model.HTTPStagePrefix), "/")
		api := snap.apis[apiID]
		if !ok || api == nil || api.Kind != HTTP {
			continue
		}
		var st model.Stage2
		if !b.decode(kv, &st) {
			continue
		}
		if s := b.httpStage(api, &st); s != nil {
			api.stages[s.Name] = s
		}
	}
	return snap
}

// FromStore lists every API Gateway record and compiles them.
func FromStore(ctx context.Context, st store.Store, opts Options) (*Snapshot, error) {
	kvs, err := st.List(ctx, model.Prefix)
	if err != nil {
		return nil, fmt.Errorf("compile: list %s: %w", model.Prefix, err)
	}
	return Build(kvs, opts), nil
}

func endpointTypes(a *model.RestAPI) []string {
	if a.EndpointConfiguration == nil {
		return nil
	}
	return a.EndpointConfiguration.Types
}

type builder struct {
	opts    Options
	log     *slog.Logger
	records map[string][]byte // deployment snapshots by key, decoded on demand
}

func (b *builder) decode(kv store.KV, v any) bool {
	if err := json.Unmarshal(kv.Value, v); err != nil {
		b.log.Warn("apigw compile: skipping undecodable record", "key", kv.Key, "err", err)
		return false
	}
	return true
}

// arnPrefix is "arn:aws:execute-api:{region}:{account}:{apiId}/{stage}/", the part of
// every execute-api ARN of a stage that does not depend on the route.
func (b *builder) arnPrefix(apiID, stage string) string {
	return "arn:aws:execute-api:" + b.opts.Region + ":" + b.opts.AccountID + ":" + apiID + "/" + stage + "/"
}

func (b *builder) restStage(api *API, st *model.Stage) *Stage {
	if st.DeploymentID == "" {
		return nil
	}
	key := model.Key(model.RestSnapshotPrefix, api.ID, st.DeploymentID)
	raw, ok := b.records[key]
	if !ok {
		b.log.Warn("apigw compile: stage points at a missing deployment", "api", api.ID, "stage", st.StageName, "deployment", st.DeploymentID)
		return nil
	}
	var snap model.RestSnapshot
	if err := json.Unmarshal(raw, &snap); err != nil {
		b.log.Warn("apigw compile: skipping undecodable deployment", "key", key, "err", err)
		return nil
	}
	s := &Stage{
		API:              api,
		Name:             st.StageName,
		DeploymentID:     st.DeploymentID,
		Variables:        nonEmpty(st.Variables),
		BinaryMediaTypes: binaryMediaTypes(snap.API.BinaryMediaTypes),
		GatewayResponses: gatewayResponses(snap.GatewayResponses),
		RestSnapshot:     &snap,
	}
	s.Router = b.restRouter(s, &snap)
	return s
}

func (b *builder) httpStage(api *API, st *model.Stage2) *Stage {
	if st.DeploymentID == "" {
		return nil
	}
	key := model.Key(model.HTTPSnapshotPrefix, api.ID, st.DeploymentID)
	raw, ok := b.records[key]
	if !ok {
		b.log.Warn("apigw compile: stage points at a missing deployment", "api", api.ID, "stage", st.StageName, "deployment", st.DeploymentID)
		return nil
	}
	var snap model.HTTPSnapshot
	if err := json.Unmarshal(raw, &snap); err != nil {
		b.log.Warn("apigw compile: skipping undecodable deployment", "key", key, "err", err)
		return nil
	}
	s := &Stage{
		API:          api,
		Name:         st.StageName,
		DeploymentID: st.DeploymentID,
		Variables:    nonEmpty(st.StageVariables),
		Cors:         compileCors(snap.API.CorsConfiguration),
		HTTPSnapshot: &snap,
	}
	s.Router = b.httpRouter(s, &snap)
	return s
}

func nonEmpty(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
}

// binaryMediaTypes unescapes the JSON-Patch form ("image~1png") the apigateway API
// uses in patch paths, in case a control plane stored it as received.
func binaryMediaTypes(in []string) []string {
	if len(in) == 0 {
		return nil
	}
	out := make([]string, 0, len(in))
	for _, t := range in {
		out = append(out, strings.ToLower(strings.ReplaceAll(t, "~1", "/")))
	}
	return out
}
