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

	"github.com/sluice-dev/sluice/internal/apigw/access"
	"github.com/sluice-dev/sluice/internal/apigw/model"
	"github.com/sluice-dev/sluice/internal/policy"
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
	// Previous is the snapshot being replaced; APIs whose records did not change are
	// reused from it.
	Previous *Snapshot
	// VPCLinkTargets maps the load balancer / Cloud Map ARNs of HTTP API private
	// integrations (connectionType VPC_LINK) to "host:port" (--vpc-link-target).
	VPCLinkTargets map[string]string
}

// Snapshot is everything the data plane serves, frozen. It is never modified after
// Build returns, so any number of requests may read it concurrently.
type Snapshot struct {
	apis map[string]*API
	// Keys indexes the account's API keys and usage plans.
	Keys *access.KeyIndex
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
	// VPCEndpointIDs are a PRIVATE REST API's associated endpoints: the
	// {apiId}-{vpceId} host form works only through those.
	VPCEndpointIDs []string
	stages         map[string]*Stage
	fingerprint    uint64 // of the records compiled, for reuse by the next Build
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
	// ResourcePolicy (REST) is the deployment's resource policy, compiled; nil when
	// the API has none. ResourcePolicyErr is set when the stored policy does not
	// compile: the stage then refuses every request rather than serve it unguarded.
	ResourcePolicy    *policy.Document
	ResourcePolicyErr error
	// Authorizers are the deployment's Lambda authorizers by id, each with its own
	// decision cache.
	Authorizers map[string]*access.LambdaAuthorizer
	// JWTAuthorizers (HTTP) are the deployment's JWT authorizers by id.
	JWTAuthorizers map[string]*access.JWTAuthorizer
	// Throttle are the stage's throttles by "{resourcePath}/{METHOD}" (REST method
	// settings, "*/*" for the whole stage) or route key (HTTP route settings, "*" for
	// the default route settings).
	Throttle map[string]model.ThrottleSettings
	// AccessLog is the stage's access logging, nil when it is off.
	AccessLog *AccessLog
	// ExecutionLogs (REST) are the method settings that turn execution logging on
	// (loggingLevel INFO or ERROR), by "/{resourcePath}/{METHOD}", "*/*" for every
	// method; nil when none does.
	ExecutionLogs map[string]model.MethodSetting
	// APIKeySource (REST) is HEADER (x-api-key) or AUTHORIZER (the authorizer's
	// usageIdentifierKey).
	APIKeySource string
}

// Build compiles a snapshot from every record under model.Prefix. Records that cannot
// be decoded or that reference missing records are logged and skipped; one broken API
// never takes the others down.
//
// When opts.Previous is set, an API none of whose records (API, stages, deployment
// snapshots) changed revision is carried over from it as is, so a change to one API
// recompiles that API only.
func Build(kvs []store.KV, opts Options) *Snapshot {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	b := builder{opts: opts, log: log}
	snap := &Snapshot{apis: map[string]*API{}}
	// Records are grouped by API in one pass; the per-API work for an API that
	// is carried over from Previous is only this grouping and its fingerprint,
	// with no allocation per record (BenchmarkRecompileScale).
	groups := make(map[string]*apiRecords, opts.Previous.APIs())
	group := func(id string) *apiRecords {
		g := groups[id]
		if g == nil {
			g = &apiRecords{fp: fnvOffset}
			groups[id] = g
		}
		return g
	}
	var keys keyRecords
	for _, kv := range kvs {
		snap.Revision = max(snap.Revision, kv.Revision)
		if keys.add(b.log, kv) {
			continue
		}
		prefix, kind := recordPrefix(kv.Key)
		if prefix == "" {
			continue
		}
		group(apiID(prefix, kv.Key)).add(prefix, kind, kv)
	}
	snap.Keys = keys.index()
	for id, g := range groups {
		if g.kind == 0 {
			continue // stages or snapshots of a deleted API
		}
		if prev := opts.Previous.API(id); prev != nil && g.reusable && prev.fingerprint == g.fp && prev.Kind == g.kind {
			snap.apis[id] = prev
			continue
		}
		if api := b.group(id, g); api != nil {
			snap.apis[id] = api
		}
	}
	return snap
}

// group compiles one API from its records; nil when its API record is undecodable.
func (b *builder) group(id string, g *apiRecords) *API {
	b.records = make(map[string][]byte, len(g.snapshots))
	for _, kv := range g.snapshots {
		b.records[kv.Key] = kv.Value
	}
	var api *API
	if g.kind == REST {
		api = b.restAPI(id, g)
	} else {
		api = b.httpAPI(id, g)
	}
	if api != nil && g.reusable {
		api.fingerprint = g.fp
	}
	return api
}

// add files kv (a record recordPrefix knows) into its API's group.
func (g *apiRecords) add(prefix string, kind Kind, kv store.KV) {
	g.addToFingerprint(kv)
	switch prefix {
	case model.RestAPIPrefix, model.HTTPAPIPrefix:
		g.api, g.kind = kv, kind
	case model.RestStagePrefix, model.HTTPStagePrefix:
		g.stages = append(g.stages, kv)
	case model.RestSnapshotPrefix, model.HTTPSnapshotPrefix:
		g.snapshots = append(g.snapshots, kv)
	}
}

// apiID is the API a record belongs to, after its prefix.
func apiID(prefix, key string) string {
	id, _, _ := strings.Cut(strings.TrimPrefix(key, prefix), "/")
	return id
}

// apiRecords are the stored records one API compiles from.
type apiRecords struct {
	kind      Kind
	api       store.KV
	stages    []store.KV
	snapshots []store.KV // deployment snapshots
	fp        uint64     // FNV-1a over every record's key and revision
	// reusable is false when some record has no revision, so an unchanged
	// fingerprint would prove nothing.
	reusable bool
	seen     bool
}

func (g *apiRecords) addToFingerprint(kv store.KV) {
	if !g.seen {
		g.seen, g.reusable = true, true
	}
	if kv.Revision == 0 {
		g.reusable = false
	}
	h := g.fp
	for i := 0; i < len(kv.Key); i++ {
		h = (h ^ uint64(kv.Key[i])) * fnvPrime
	}
	for rev, i := uint64(kv.Revision), 0; i < 8; i++ {
		h = (h ^ (rev & 0xff)) * fnvPrime
		rev >>= 8
	}
	g.fp = h
}

// FNV-1a, 64-bit (hash/fnv's constants), computed inline so that fingerprinting a
// record converts and allocates nothing.
const (
	fnvOffset uint64 = 14695981039346656037
	fnvPrime  uint64 = 1099511628211
)

// recordPrefix names the prefix of a record the compiler reads, and the API kind it
// belongs to; "" for records it does not read.
func recordPrefix(key string) (string, Kind) {
	for _, p := range [...]struct {
		prefix string
		kind   Kind
	}{
		{model.RestAPIPrefix, REST}, {model.RestStagePrefix, REST}, {model.RestSnapshotPrefix, REST},
		{model.HTTPAPIPrefix, HTTP}, {model.HTTPStagePrefix, HTTP}, {model.HTTPSnapshotPrefix, HTTP},
	} {
		if strings.HasPrefix(key, p.prefix) {
			return p.prefix, p.kind
		}
	}
	return "", 0
}

// Reads reports whether key is a record Build compiles (an API, a stage, a
// deployment snapshot, an API key, a usage plan or its membership). A change to any
// other record (a route, resource or integration not yet deployed, a deployment's
// own metadata) cannot change the snapshot, so the data plane need not recompile.
func Reads(key string) bool {
	if p, _ := recordPrefix(key); p != "" {
		return true
	}
	return isKeyRecord(key)
}

// isKeyRecord reports an API key, usage plan or usage plan membership record.
func isKeyRecord(key string) bool {
	return strings.HasPrefix(key, model.APIKeyPrefix) || strings.HasPrefix(key, model.UsagePlanPrefix) ||
		strings.HasPrefix(key, model.UsagePlanKeyPrefix)
}

func (b *builder) restAPI(id string, g *apiRecords) *API {
	var a model.RestAPI
	if !b.decode(g.api, &a) {
		return nil
	}
	api := &API{ID: id, Kind: REST, Name: a.Name, DisableExecuteAPIEndpoint: a.DisableExecuteAPIEndpoint,
		EndpointTypes: endpointTypes(&a), stages: map[string]*Stage{}}
	if a.EndpointConfiguration != nil {
		api.VPCEndpointIDs = a.EndpointConfiguration.VpcEndpointIDs
	}
	for _, kv := range g.stages {
		var st model.Stage
		if !b.decode(kv, &st) {
			continue
		}
		if s := b.restStage(api, &st); s != nil {
			api.stages[s.Name] = s
		}
	}
	return api
}

func (b *builder) httpAPI(id string, g *apiRecords) *API {
	var a model.HTTPAPI
	if !b.decode(g.api, &a) {
		return nil
	}
	api := &API{ID: id, Kind: HTTP, Name: a.Name, DisableExecuteAPIEndpoint: a.DisableExecuteAPIEndpoint,
		stages: map[string]*Stage{}}
	for _, kv := range g.stages {
		var st model.Stage2
		if !b.decode(kv, &st) {
			continue
		}
		if s := b.httpStage(api, &st); s != nil {
			api.stages[s.Name] = s
		}
	}
	return api
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

// deployment decodes into snap the snapshot of the deployment a stage points at
// (under prefix). It is false when the stage points at no deployment, or (logged) at
// a missing or undecodable one: such a stage is not served.
func (b *builder) deployment(prefix string, api *API, stage, deploymentID string, snap any) bool {
	if deploymentID == "" {
		return false
	}
	key := model.Key(prefix, api.ID, deploymentID)
	raw, ok := b.records[key]
	if !ok {
		b.log.Warn("apigw compile: stage points at a missing deployment", "api", api.ID, "stage", stage, "deployment", deploymentID)
		return false
	}
	if err := json.Unmarshal(raw, snap); err != nil {
		b.log.Warn("apigw compile: skipping undecodable deployment", "key", key, "err", err)
		return false
	}
	return true
}

func (b *builder) restStage(api *API, st *model.Stage) *Stage {
	var snap model.RestSnapshot
	if !b.deployment(model.RestSnapshotPrefix, api, st.StageName, st.DeploymentID, &snap) {
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
	// A resource policy takes effect when the API is deployed (see "Create and attach
	// an API Gateway resource policy to an API"), so it comes from the deployment.
	if strings.TrimSpace(snap.API.Policy) != "" {
		s.ResourcePolicy, s.ResourcePolicyErr = access.ParseResourcePolicy(snap.API.Policy,
			"arn:aws:execute-api:"+b.opts.Region+":"+b.opts.AccountID+":"+api.ID)
		if s.ResourcePolicyErr != nil {
			b.log.Warn("apigw compile: resource policy does not compile; the stage refuses every request",
				"api", api.ID, "stage", st.StageName, "err", s.ResourcePolicyErr)
		}
	}
	s.Authorizers = b.restAuthorizers(api, s, snap.Authorizers)
	s.APIKeySource = snap.API.APIKeySource
	s.AccessLog = compileAccessLog(api.ID, st.StageName, st.AccessLogSettings)
	s.Throttle = restThrottles(st.MethodSettings)
	s.ExecutionLogs = executionLogs(st.MethodSettings)
	s.Router = b.restRouter(s, &snap)
	return s
}

func (b *builder) httpStage(api *API, st *model.Stage2) *Stage {
	var snap model.HTTPSnapshot
	if !b.deployment(model.HTTPSnapshotPrefix, api, st.StageName, st.DeploymentID, &snap) {
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
	s.Authorizers = b.httpAuthorizers(api, s, snap.Authorizers)
	s.Throttle = httpThrottles(st)
	s.AccessLog = compileAccessLog(api.ID, st.StageName, st.AccessLogSettings)
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
