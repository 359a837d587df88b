package lambda

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sluice-dev/sluice/internal/cwlogs"
	"github.com/sluice-dev/sluice/internal/policy"
	"github.com/sluice-dev/sluice/internal/runtime"
	"github.com/sluice-dev/sluice/internal/store"
)

// functionCache is the invoke path's view of the store: every function with its
// versions, aliases, policies and prebuilt FunctionSpecs. Entries are immutable; a
// change replaces a function's whole entry. A store watch keeps it current, and the
// control plane reloads an entry right after its own writes so a client that
// updates and then invokes sees its update.
type functionCache struct {
	s *Service

	mu  sync.RWMutex // guards fns and urls
	fns map[string]*cachedFunction
	// urls finds a function URL's function by its url-id, for the URL data plane.
	urls map[string]urlTarget

	// reserved is the sum of every function's reserved concurrency; guarded by mu.
	reserved int

	// reloadMu serializes loads: a load reads the store and installs what it read
	// while holding it, so the last installed entry is the last one read.
	reloadMu sync.Mutex
}

type cachedFunction struct {
	name     string
	latest   *cachedVersion
	versions map[string]*cachedVersion
	aliases  map[string]*cachedAlias
	reserved *int
	urls     map[string]*urlRecord // by qualifier ("" unqualified)
	// eventInvoke are the event invoke configs by qualifier ("$LATEST", version, alias).
	eventInvoke map[string]*EventInvokeConfig
}

// urlTarget is what a url-id addresses.
type urlTarget struct{ name, qualifier string }

type cachedVersion struct {
	config *Configuration
	spec   *runtime.FunctionSpec
	policy *policy.Document
}

type cachedAlias struct {
	config *AliasConfiguration
	policy *policy.Document
}

// drainer is the optional part of a Runner that stops a deleted function's instances.
type drainer interface{ Drain(functionName string) }

func newFunctionCache(s *Service) *functionCache {
	return &functionCache{s: s, fns: map[string]*cachedFunction{}, urls: map[string]urlTarget{}}
}

// reservedTotal is the sum of every function's reserved concurrency.
func (c *functionCache) reservedTotal() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.reserved
}

func (c *functionCache) get(name string) *cachedFunction {
	c.mu.RLock()
	f := c.fns[name]
	c.mu.RUnlock()
	return f
}

// reload rereads one function from the store.
func (c *functionCache) reload(ctx context.Context, name string) error {
	c.reloadMu.Lock()
	defer c.reloadMu.Unlock()
	raw, err := c.s.store.Get(ctx, functionKey(name))
	if errors.Is(err, store.ErrNotFound) {
		c.mu.Lock()
		_, had := c.fns[name]
		c.setLocked(name, nil)
		c.mu.Unlock()
		// The function is gone (deleted here or, seen through the watch, on another
		// node): its warm instances must not idle on until the reaper finds them.
		if d, ok := c.s.runner.(drainer); had && ok {
			d.Drain(name)
		}
		return nil
	}
	if err != nil {
		return err
	}
	versions, err := c.s.store.List(ctx, versionsPrefix(name))
	if err != nil {
		return err
	}
	aliases, err := c.s.store.List(ctx, aliasesPrefix(name))
	if err != nil {
		return err
	}
	f, err := c.build(name, raw, versions, aliases)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.setLocked(name, f)
	c.mu.Unlock()
	return nil
}

// setLocked installs f as function name's entry (nil removes it) and keeps the
// url-id index in step. c.mu must be held.
func (c *functionCache) setLocked(name string, f *cachedFunction) {
	if old := c.fns[name]; old != nil {
		for _, u := range old.urls {
			delete(c.urls, u.ID)
		}
		if old.reserved != nil {
			c.reserved -= *old.reserved
		}
	}
	if f != nil && f.reserved != nil {
		c.reserved += *f.reserved
	}
	if f == nil {
		delete(c.fns, name)
		return
	}
	c.fns[name] = f
	for q, u := range f.urls {
		c.urls[u.ID] = urlTarget{name: name, qualifier: q}
	}
}

// functionURL finds the function URL with url-id id.
func (c *functionCache) functionURL(id string) (*cachedFunction, string, *urlRecord) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	t, ok := c.urls[id]
	if !ok {
		return nil, "", nil
	}
	f := c.fns[t.name]
	if f == nil || f.urls[t.qualifier] == nil {
		return nil, "", nil
	}
	return f, t.qualifier, f.urls[t.qualifier]
}

// loadAll replaces the cache with every function in the store.
func (c *functionCache) loadAll(ctx context.Context) error {
	c.reloadMu.Lock()
	defer c.reloadMu.Unlock()
	fns, err := c.s.store.List(ctx, keyFunctions)
	if err != nil {
		return err
	}
	versions, err := c.s.store.List(ctx, keyVersions)
	if err != nil {
		return err
	}
	aliases, err := c.s.store.List(ctx, keyAliases)
	if err != nil {
		return err
	}
	group := func(kvs []store.KV, prefix string) map[string][]store.KV {
		out := map[string][]store.KV{}
		for _, kv := range kvs {
			name, _, ok := strings.Cut(strings.TrimPrefix(kv.Key, prefix), "/")
			if ok {
				out[name] = append(out[name], kv)
			}
		}
		return out
	}
	vByName, aByName := group(versions, keyVersions), group(aliases, keyAliases)
	next := make(map[string]*cachedFunction, len(fns))
	for _, kv := range fns {
		name := strings.TrimPrefix(kv.Key, keyFunctions)
		f, err := c.build(name, kv.Value, vByName[name], aByName[name])
		if err != nil {
			c.s.log.Error("lambda: skipping unreadable function record", "function", name, "err", err)
			continue
		}
		next[name] = f
	}
	c.mu.Lock()
	c.fns = map[string]*cachedFunction{}
	c.urls = map[string]urlTarget{}
	c.reserved = 0
	for name, f := range next {
		c.setLocked(name, f)
	}
	c.mu.Unlock()
	return nil
}

func (c *functionCache) build(name string, raw []byte, versions, aliases []store.KV) (*cachedFunction, error) {
	var rec functionRecord
	if err := json.Unmarshal(raw, &rec); err != nil {
		return nil, internalError("decode function %q: %w", name, err)
	}
	f := &cachedFunction{
		name:        name,
		versions:    make(map[string]*cachedVersion, len(versions)),
		aliases:     make(map[string]*cachedAlias, len(aliases)),
		reserved:    rec.ReservedConcurrency,
		urls:        rec.URLs,
		eventInvoke: rec.EventInvoke,
	}
	cfg := rec.Config
	f.latest = &cachedVersion{config: &cfg, policy: compilePolicy(rec.Policy),
		spec: c.spec(&cfg, rec.CodeHex, rec.Layers, name+":$LATEST:"+rec.SpecRevision, rec.ReservedConcurrency)}
	for _, kv := range versions {
		var v versionRecord
		if err := json.Unmarshal(kv.Value, &v); err != nil {
			return nil, internalError("decode %s: %w", kv.Key, err)
		}
		vc := v.Config
		f.versions[vc.Version] = &cachedVersion{config: &vc, policy: compilePolicy(v.Policy),
			spec: c.spec(&vc, v.CodeHex, v.Layers, name+":"+vc.Version+":"+v.ContentHash, rec.ReservedConcurrency)}
	}
	for _, kv := range aliases {
		var a aliasRecord
		if err := json.Unmarshal(kv.Value, &a); err != nil {
			return nil, internalError("decode %s: %w", kv.Key, err)
		}
		ac := a.Alias
		f.aliases[ac.Name] = &cachedAlias{config: &ac, policy: compilePolicy(a.Policy)}
	}
	return f, nil
}

// spec builds the pool's FunctionSpec. Its Key changes whenever code, configuration
// or reserved concurrency change, so the pool never serves an old configuration.
func (c *functionCache) spec(cfg *Configuration, codeHex string, layers []functionLayer, key string, reserved *int) *runtime.FunctionSpec {
	var env map[string]string
	if cfg.Environment != nil {
		env = cfg.Environment.Variables
	}
	if reserved != nil {
		key += ":rc" + strconv.Itoa(*reserved)
	}
	var ls []runtime.LayerSpec
	for _, l := range layers {
		ls = append(ls, runtime.LayerSpec{ZipPath: c.s.blobs.Path(l.CodeHex), SHA256Hex: l.CodeHex})
	}
	return &runtime.FunctionSpec{
		Layers:              ls,
		Key:                 key,
		FunctionName:        cfg.FunctionName,
		FunctionARN:         c.s.functionARN(cfg.FunctionName),
		Role:                cfg.Role,
		Version:             cfg.Version,
		Runtime:             cfg.Runtime,
		RuntimeVersionARN:   runtimeVersionARN(c.s.region, cfg.Runtime),
		Handler:             cfg.Handler,
		CodeZip:             c.s.blobs.Path(codeHex),
		CodeSHA256:          codeHex,
		Environment:         env,
		MemoryMB:            cfg.MemorySize,
		EphemeralStorageMB:  cfg.EphemeralStorage.Size,
		Timeout:             time.Duration(cfg.Timeout) * time.Second,
		ReservedConcurrency: reserved,
		MaxConcurrency:      lmiMaxConcurrency(cfg),
		LogFormat:           cfg.LoggingConfig.LogFormat,
		ApplicationLogLevel: cfg.LoggingConfig.ApplicationLogLevel,
		SystemLogLevel:      cfg.LoggingConfig.SystemLogLevel,
		// A custom LogGroup (LoggingConfig.LogGroup) is where the lines go, as on AWS.
		LogGroup: cfg.LoggingConfig.LogGroup,
		LogKey:   cwlogs.StoreKey(cmp.Or(cfg.LoggingConfig.LogGroup, cwlogs.LambdaGroupPrefix+cfg.FunctionName)),
	}
}

// resolved is a function reference resolved for an invocation.
type resolved struct {
	fn      *cachedFunction
	version *cachedVersion // the version that runs
	// policies are the resource policies that govern the reference: the function's
	// own, plus the alias's or version's when qualified.
	policies  []*policy.Document
	policyBuf [2]*policy.Document // backs policies: no allocation per invoke
	// auth is the policy request of the invocation, held here so that evaluating it
	// does not allocate.
	auth invokeRequest
	// invokedARN is the ARN as the caller named it (qualified if it was).
	invokedARN string
}

// resolve finds what an invocation of ref runs, from the cache alone. A miss is
// an answer, not a reason to read the store: the watch delivers functions created
// on other nodes, and this node's own writes reload the cache before they return.
// (Reading the store on a miss, under reloadMu, let an integration pointing at a
// missing function turn every request into a serialized store read.)
func (c *functionCache) resolve(_ context.Context, ref functionRef) (*resolved, error) {
	if ref.Foreign {
		return nil, fmtNotFound(c.s.refARN(ref))
	}
	if f := c.get(ref.Name); f != nil && f.latest.config.capacityProviderArn() != "" {
		return c.resolveManaged(f, ref)
	}
	r := c.lookup(ref)
	if r == nil {
		return nil, fmtNotFound(c.s.refARN(ref))
	}
	return r, nil
}

// resolveManaged resolves an invocation of a Lambda Managed Instances function,
// which runs published versions only: unqualified, it runs $LATEST.PUBLISHED ("When
// you invoke a Lambda Managed Instances function using an unqualified ARN, Lambda
// implicitly invokes the $LATEST.PUBLISHED version rather than the unpublished
// $LATEST version").
func (c *functionCache) resolveManaged(f *cachedFunction, ref functionRef) (*resolved, error) {
	unqualified := ref.Qualifier == ""
	if unqualified {
		if f.versions[latestPublished] == nil {
			return nil, noPublishedVersion(c.s.functionARN(ref.Name))
		}
		ref.Qualifier = latestPublished
	}
	r := c.lookup(ref)
	if r == nil {
		return nil, fmtNotFound(c.s.refARN(ref))
	}
	if r.version == f.latest {
		return nil, invalidParam("%s cannot be invoked: it is the unpublished $LATEST of a Lambda Managed Instances function. Invoke a published version, $LATEST.PUBLISHED or an alias.", c.s.refARN(ref))
	}
	if unqualified {
		r.invokedARN = c.s.functionARN(ref.Name)
		r.policyBuf[1] = nil
		r.policies = r.policyBuf[:1] // an unqualified invoke is governed by the function's policy
	}
	return r, nil
}

func (c *functionCache) lookup(ref functionRef) *resolved {
	f := c.get(ref.Name)
	if f == nil {
		return nil
	}
	r := &resolved{fn: f, invokedARN: c.s.qualifiedARN(ref.Name, ref.Qualifier)}
	switch {
	case latestVersion(ref.Qualifier):
		r.version = f.latest
		r.policyBuf[0] = f.latest.policy
		r.policies = r.policyBuf[:1]
	case isVersionNumber(ref.Qualifier) || ref.Qualifier == latestPublished:
		v := f.versions[ref.Qualifier]
		if v == nil {
			return nil
		}
		r.version = v
		r.policyBuf = [2]*policy.Document{f.latest.policy, v.policy}
		r.policies = r.policyBuf[:]
	default:
		a := f.aliases[ref.Qualifier]
		if a == nil {
			return nil
		}
		v := f.versionOf(pickAliasVersion(a.config))
		if v == nil {
			return nil
		}
		r.version = v
		r.policyBuf = [2]*policy.Document{f.latest.policy, a.policy}
		r.policies = r.policyBuf[:]
	}
	return r
}

// timeoutOf is the longest timeout of the versions ref may run: $LATEST's, the
// version's, or an alias's version and its weighted additional versions. It is 900 s
// (AWS's maximum) when the function or the qualifier is unknown.
func (c *functionCache) timeoutOf(ref functionRef) time.Duration {
	const unknown = 900 * time.Second
	f := c.get(ref.Name)
	if f == nil {
		return unknown
	}
	var versions []string
	switch {
	case latestVersion(ref.Qualifier):
		versions = []string{"$LATEST"}
	case isVersionNumber(ref.Qualifier) || ref.Qualifier == latestPublished:
		versions = []string{ref.Qualifier}
	default:
		a := f.aliases[ref.Qualifier]
		if a == nil {
			return unknown
		}
		versions = []string{a.config.FunctionVersion}
		if rc := a.config.RoutingConfig; rc != nil {
			for v := range rc.AdditionalVersionWeights {
				versions = append(versions, v)
			}
		}
	}
	var longest time.Duration
	for _, name := range versions {
		v := f.versionOf(name)
		if v == nil {
			return unknown
		}
		longest = max(longest, time.Duration(v.config.Timeout)*time.Second)
	}
	return longest
}

func (f *cachedFunction) versionOf(version string) *cachedVersion {
	if version == "$LATEST" {
		return f.latest
	}
	return f.versions[version]
}

// pickAliasVersion applies an alias's weighted routing: each additional version
// gets its weight's share of invocations, the alias's version the rest.
func pickAliasVersion(a *AliasConfiguration) string {
	if a.RoutingConfig == nil || len(a.RoutingConfig.AdditionalVersionWeights) == 0 {
		return a.FunctionVersion
	}
	x := rand.Float64()
	for v, w := range a.RoutingConfig.AdditionalVersionWeights {
		if x < w {
			return v
		}
		x -= w
	}
	return a.FunctionVersion
}

// watch follows the store until ctx is done, reloading changed functions and
// handing queued events to the async queue. A watch that falls behind is closed by
// the store; then everything is reloaded and the watch reopened.
func (s *Service) watch(ctx context.Context, events <-chan store.Event) {
	for {
		for ev := range events {
			s.handleEvent(ctx, ev)
		}
		if ctx.Err() != nil {
			return
		}
		var err error
		for {
			events, err = s.store.Watch(ctx, "/lambda/")
			if err == nil {
				break
			}
			s.log.Warn("lambda: store watch failed; retrying", "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
		}
		if err := s.cache.loadAll(ctx); err != nil {
			s.log.Warn("lambda: reload after watch restart failed", "err", err)
		}
		if q := s.asyncQueue(); q != nil {
			if err := q.load(ctx); err != nil {
				s.log.Warn("lambda: reload of queued events failed", "err", err)
			}
		}
	}
}

func (s *Service) handleEvent(ctx context.Context, ev store.Event) {
	var name string
	switch {
	case strings.HasPrefix(ev.Key, keyAsync):
		if q := s.asyncQueue(); q != nil {
			q.observe(ev)
		}
		return
	case strings.HasPrefix(ev.Key, keyFunctions):
		name = strings.TrimPrefix(ev.Key, keyFunctions)
	case strings.HasPrefix(ev.Key, keyVersions):
		name, _, _ = strings.Cut(strings.TrimPrefix(ev.Key, keyVersions), "/")
	case strings.HasPrefix(ev.Key, keyAliases):
		name, _, _ = strings.Cut(strings.TrimPrefix(ev.Key, keyAliases), "/")
	default:
		return
	}
	if err := s.cache.reload(ctx, name); err != nil && ctx.Err() == nil {
		s.log.Warn("lambda: cache reload failed", "function", name, "err", err)
	}
}
