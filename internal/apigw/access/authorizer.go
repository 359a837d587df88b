package access

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/sluice-dev/sluice/internal/policy"
)

// SourceKind is where an identity source's value comes from.
type SourceKind uint8

const (
	SourceHeader SourceKind = iota + 1
	SourceQuery
	SourceStageVariable
	SourceContext
)

// IdentitySource is one identity source of a Lambda authorizer: REST's
// "method.request.header.X" / "method.request.querystring.X" / "stageVariables.X" /
// "context.X", HTTP's "$request.header.X" / "$request.querystring.X" /
// "$stageVariables.X" / "$context.X".
type IdentitySource struct {
	Kind SourceKind
	Name string
}

// ParseIdentitySources reads a comma-separated identitySource (REST) or a list
// (HTTP APIs). It is false when a source is in neither form.
func ParseIdentitySources(list []string) ([]IdentitySource, bool) {
	var out []IdentitySource
	for _, s := range list {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		src, ok := parseIdentitySource(s)
		if !ok {
			return nil, false
		}
		out = append(out, src)
	}
	return out, true
}

// Origin is the source in REST's form, as execution logs name it
// ("method.request.header.token").
func (s IdentitySource) Origin() string {
	switch s.Kind {
	case SourceHeader:
		return "method.request.header." + s.Name
	case SourceQuery:
		return "method.request.querystring." + s.Name
	case SourceStageVariable:
		return "stageVariables." + s.Name
	}
	return "context." + s.Name
}

func parseIdentitySource(s string) (IdentitySource, bool) {
	for _, p := range [...]struct {
		prefix string
		kind   SourceKind
	}{
		{"method.request.header.", SourceHeader}, {"method.request.querystring.", SourceQuery},
		{"stageVariables.", SourceStageVariable}, {"context.", SourceContext},
		{"$request.header.", SourceHeader}, {"$request.querystring.", SourceQuery},
		{"$stageVariables.", SourceStageVariable}, {"$context.", SourceContext},
	} {
		if name, ok := strings.CutPrefix(s, p.prefix); ok && name != "" {
			return IdentitySource{Kind: p.kind, Name: name}, true
		}
	}
	return IdentitySource{}, false
}

// LambdaAuthorizer is a compiled Lambda authorizer: a REST TOKEN or REQUEST
// authorizer, or an HTTP API REQUEST authorizer. It carries its decision cache, which
// lives as long as the compiled stage does (a redeployment starts it afresh, as on
// AWS).
type LambdaAuthorizer struct {
	ID   string
	Name string
	// Type is TOKEN or REQUEST.
	Type string
	// FunctionARN is the function named by authorizerUri.
	FunctionARN string
	// Credentials is authorizerCredentials: a role API Gateway assumes to invoke the
	// function instead of relying on the function's resource policy.
	Credentials string
	// SourceARN is what the gateway presents when it invokes the function:
	// arn:aws:execute-api:{region}:{account}:{apiId}/authorizers/{authorizerId}.
	SourceARN string
	Sources   []IdentitySource
	// Validation (TOKEN) is identityValidationExpression, anchored: a token that does
	// not match it is refused with 401 before the function runs.
	Validation *regexp.Regexp
	// TTL is authorizerResultTtlInSeconds; 0 turns caching off.
	TTL time.Duration
	// HTTP API settings: payload format "1.0" or "2.0", and simple responses
	// ({"isAuthorized": true}) instead of an IAM policy.
	HTTP            bool
	PayloadVersion  string
	SimpleResponses bool
	// ConfigErr is set when the stored authorizer cannot run (bad URI, bad regex);
	// requests through it fail with 500 rather than pass unchecked.
	ConfigErr string

	cache *resultCache
}

// NewLambdaAuthorizer returns a with its cache set up; call it once per compiled
// authorizer.
func NewLambdaAuthorizer(a LambdaAuthorizer) *LambdaAuthorizer {
	a.cache = newResultCache(maxCachedResults)
	return &a
}

// CompileValidation anchors an identityValidationExpression: API Gateway matches the
// whole token against it.
func CompileValidation(expr string) (*regexp.Regexp, error) {
	if expr == "" {
		return nil, nil
	}
	return regexp.Compile(`^(?:` + expr + `)$`)
}

// Result is what an authorizer decided for one identity, cached under the identity's
// values for the TTL.
type Result struct {
	PrincipalID string
	// Policy is the returned policyDocument (nil for simple responses).
	Policy *policy.Document
	// Authorized is a simple response's isAuthorized.
	Authorized bool
	// Context is the returned context: string, number and boolean values only.
	Context map[string]any
	// UsageIdentifierKey is the API key the authorizer chose (apiKeySource AUTHORIZER).
	UsageIdentifierKey string
}

// Decide evaluates the result for a method: a simple response is its isAuthorized;
// a policy decides by its statements for execute-api:Invoke on methodARN, so one
// cached policy can cover many methods.
func (r *Result) Decide(methodARN string, req *Request) policy.Decision {
	if r.Policy == nil {
		if r.Authorized {
			return policy.Allow
		}
		return policy.NotApplicable
	}
	return r.Policy.Evaluate(&policy.Request{Action: InvokeAction, Resource: methodARN, Context: req})
}

// ErrAuthorizerResponse is an authorizer output API Gateway cannot use.
var ErrAuthorizerResponse = errors.New("invalid authorizer response")

// authorizerOutput is a Lambda authorizer's JSON output (events.APIGatewayCustomAuthorizerResponse,
// plus isAuthorized for HTTP API simple responses).
type authorizerOutput struct {
	PrincipalID        *string         `json:"principalId"`
	PolicyDocument     json.RawMessage `json:"policyDocument"`
	Context            json.RawMessage `json:"context"`
	UsageIdentifierKey string          `json:"usageIdentifierKey"`
	IsAuthorized       *bool           `json:"isAuthorized"`
}

// ParseResult reads an authorizer's output. REST authorizers and HTTP API
// authorizers without simple responses must return principalId and a
// policyDocument; simple responses must return isAuthorized. Context values must be
// strings, numbers or booleans (see "Output from an API Gateway Lambda authorizer").
func (a *LambdaAuthorizer) ParseResult(payload []byte) (*Result, error) {
	var out authorizerOutput
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil {
		return nil, fmt.Errorf("%w: not a JSON object: %v", ErrAuthorizerResponse, err)
	}
	// One JSON value and nothing after it: bytes past the object are not a
	// response API Gateway can read (found by FuzzParseResult).
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: data after the JSON object", ErrAuthorizerResponse)
	}
	r := &Result{UsageIdentifierKey: out.UsageIdentifierKey}
	if out.PrincipalID != nil {
		r.PrincipalID = *out.PrincipalID
	}
	ctx, err := parseAuthorizerContext(out.Context, a.HTTP)
	if err != nil {
		return nil, err
	}
	r.Context = ctx
	if a.SimpleResponses {
		if out.IsAuthorized == nil {
			return nil, fmt.Errorf("%w: a simple response needs isAuthorized", ErrAuthorizerResponse)
		}
		r.Authorized = *out.IsAuthorized
		return r, nil
	}
	if !a.HTTP && out.PrincipalID == nil {
		return nil, fmt.Errorf("%w: no principalId", ErrAuthorizerResponse)
	}
	if len(bytes.TrimSpace(out.PolicyDocument)) == 0 || bytes.Equal(bytes.TrimSpace(out.PolicyDocument), []byte("null")) {
		return nil, fmt.Errorf("%w: no policyDocument", ErrAuthorizerResponse)
	}
	doc, err := policy.Parse(out.PolicyDocument, policy.Options{Kind: policy.Identity})
	if err != nil {
		return nil, fmt.Errorf("%w: could not parse policy: %v", ErrAuthorizerResponse, err)
	}
	r.Policy = doc
	return r, nil
}

// parseAuthorizerContext keeps the context's values. REST APIs accept only strings,
// numbers and booleans; HTTP APIs also pass objects and arrays through.
func parseAuthorizerContext(raw json.RawMessage, nested bool) (map[string]any, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%w: context is not an object", ErrAuthorizerResponse)
	}
	if !nested {
		for k, v := range m {
			switch v.(type) {
			case string, json.Number, bool:
			default:
				return nil, fmt.Errorf("%w: context value %q is not a string, number or boolean", ErrAuthorizerResponse, k)
			}
		}
	}
	return m, nil
}

// Cached returns the result cached for key, if it has not expired.
func (a *LambdaAuthorizer) Cached(key string, now time.Time) (*Result, bool) {
	if a.TTL <= 0 || a.cache == nil {
		return nil, false
	}
	return a.cache.get(key, now)
}

// Remember caches r for key for the authorizer's TTL.
func (a *LambdaAuthorizer) Remember(key string, r *Result, now time.Time) {
	if a.TTL <= 0 || a.cache == nil {
		return
	}
	a.cache.put(key, r, now.Add(a.TTL))
}

// maxCachedResults bounds each authorizer's cache, so that a flood of distinct tokens
// cannot grow memory without limit.
const maxCachedResults = 10000

// resultCache is a bounded TTL cache. When full, expired entries are dropped first,
// then the oldest insertion.
type resultCache struct {
	mu      sync.Mutex // guards the fields below
	max     int
	entries map[string]cacheEntry
	order   []string // insertion order, for eviction; may hold keys since replaced
}

type cacheEntry struct {
	result  *Result
	expires time.Time
}

func newResultCache(max int) *resultCache {
	return &resultCache{max: max, entries: map[string]cacheEntry{}}
}

func (c *resultCache) get(key string, now time.Time) (*Result, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok {
		return nil, false
	}
	if !now.Before(e.expires) {
		delete(c.entries, key)
		return nil, false
	}
	return e.result, true
}

func (c *resultCache) put(key string, r *Result, expires time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, exists := c.entries[key]; !exists {
		for len(c.entries) >= c.max && len(c.order) > 0 {
			oldest := c.order[0]
			c.order = c.order[1:]
			delete(c.entries, oldest)
		}
		c.order = append(c.order, key)
	}
	c.entries[key] = cacheEntry{result: r, expires: expires}
	if len(c.order) > 2*c.max {
		// Compact keys that were deleted on expiry.
		kept := c.order[:0]
		for _, k := range c.order {
			if _, ok := c.entries[k]; ok {
				kept = append(kept, k)
			}
		}
		c.order = kept
	}
}
