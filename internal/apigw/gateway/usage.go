package gateway

import (
	"errors"
	"fmt"

	"github.com/sluice-dev/sluice/internal/apigw/access"
	"github.com/sluice-dev/sluice/internal/apigw/compile"
)

// throttle applies the token buckets in front of every request, in API Gateway's
// order: the account's, then the stage's method throttle (REST methodSettings: the
// method's own, else "*/*"; HTTP APIs: the route's routeSettings, else the stage's
// defaultRouteSettings). Over a limit is 429 {"message":"Too Many Requests"}
// (THROTTLED). See "Throttle requests to your REST APIs for better throughput".
func (g *Gateway) throttle(x *exchange) bool {
	if !g.limiters.Allow("account", g.accountRate, g.accountBurst, x.now) {
		g.fail(x, failThrottled, nil)
		return false
	}
	st := x.stage
	if len(st.Throttle) == 0 {
		return true
	}
	key, fallback := x.route.Path+"/"+x.r.Method, "*/*"
	bucket := ""
	if x.kind == compile.HTTP {
		// routeSettings by route key, then defaultRouteSettings; the defaults limit
		// each route on its own.
		key, fallback = x.route.Key, "*"
		bucket = x.route.Key
	}
	t, ok := st.Throttle[key]
	if !ok {
		key = fallback
		if t, ok = st.Throttle[key]; !ok {
			return true
		}
	}
	if bucket == "" {
		bucket = key
	}
	if !g.limiters.Allow("stage/"+st.API.ID+"/"+st.Name+"/"+bucket, t.RateLimit, t.BurstLimit, x.now) {
		g.fail(x, failThrottled, nil)
		return false
	}
	return true
}

// checkAPIKey admits an apiKeyRequired request by its API key: x-api-key (apiKeySource
// HEADER) or the authorizer's usageIdentifierKey (AUTHORIZER) must be an enabled key
// in a usage plan of this stage (else 403 {"message":"Forbidden"}, INVALID_API_KEY);
// then the plan's throttle (429 "Too Many Requests", THROTTLED) and quota (429
// "Limit Exceeded", QUOTA_EXCEEDED) apply. See "Usage plans and API keys".
func (g *Gateway) checkAPIKey(x *exchange) bool {
	if x.kind != compile.REST {
		return g.refuseUnsupported(x)
	}
	value := x.r.Header.Get("X-Api-Key")
	if x.stage.APIKeySource == "AUTHORIZER" {
		value = ""
		if x.authorizer != nil {
			value = x.authorizer.UsageIdentifierKey
		}
	}
	key, plan, why := g.snap.Load().Keys.Admit(value, x.api.ID, x.stage.Name)
	if why != access.KeyAdmitted {
		g.log.Debug("apigw: API key refused", "api", x.api.ID, "stage", x.stage.Name, "reason", why.String())
		g.fail(x, failForbidden, nil)
		return false
	}
	if t := plan.MethodThrottle(x.api.ID, x.stage.Name, x.route.Path, x.r.Method); t != nil {
		if !g.limiters.Allow("plan/"+plan.ID+"/"+key.ID, t.RateLimit, t.BurstLimit, x.now) {
			g.fail(x, failThrottled, nil)
			return false
		}
	}
	if q := plan.Quota; q != nil && q.Limit > 0 {
		window := access.QuotaWindow(q, x.now)
		ok, err := g.counters.Take(x.r.Context(), access.CounterName(plan.ID, key.ID, window),
			x.now.UTC().Format("2006-01-02"), int64(q.Limit))
		if err != nil {
			// Fail closed: a quota that cannot be counted is not enforced by letting
			// everything through.
			g.fail(x, failInternal, fmt.Errorf("usage plan %s quota: %w", plan.ID, errors.Join(err)))
			return false
		}
		if !ok {
			g.fail(x, failQuotaExceeded, nil)
			return false
		}
	}
	x.apiKey = key
	return true
}
