package compile

import (
	"encoding/json"
	"log/slog"
	"strings"
	"time"

	"github.com/sluice-dev/sluice/internal/apigw/access"
	"github.com/sluice-dev/sluice/internal/apigw/model"
	"github.com/sluice-dev/sluice/internal/store"
)

// authorizerSourceARN is the SourceArn API Gateway presents when it invokes an
// authorizer function: arn:aws:execute-api:{region}:{account}:{apiId}/authorizers/{id}
// (see "Configure a cross-account API Gateway Lambda authorizer").
func (b *builder) authorizerSourceARN(apiID, id string) string {
	return "arn:aws:execute-api:" + b.opts.Region + ":" + b.opts.AccountID + ":" + apiID + "/authorizers/" + id
}

// restAuthorizers compiles a REST deployment's TOKEN and REQUEST authorizers. One
// that cannot run keeps its ConfigErr, so that its methods fail with 500 instead of
// being served unchecked; COGNITO_USER_POOLS authorizers are not built yet and fail
// the same way.
func (b *builder) restAuthorizers(api *API, s *Stage, in map[string]*model.Authorizer) map[string]*access.LambdaAuthorizer {
	if len(in) == 0 {
		return nil
	}
	out := make(map[string]*access.LambdaAuthorizer, len(in))
	for id, m := range in {
		a := RESTAuthorizer(b.opts.Region, b.opts.AccountID, api.ID, id, m, s.Variables)
		if a.ConfigErr != "" {
			b.log.Warn("apigw compile: authorizer cannot run; its methods answer 500", "api", api.ID, "authorizer", id, "err", a.ConfigErr)
		}
		out[id] = a
	}
	return out
}

// RESTAuthorizer compiles one REST TOKEN or REQUEST authorizer with the stage
// variables it is used under (TestInvokeAuthorizer compiles the stored authorizer
// with the variables the test passes). One that cannot run has ConfigErr set.
func RESTAuthorizer(region, account, apiID, id string, m *model.Authorizer, stageVars map[string]string) *access.LambdaAuthorizer {
	a := access.LambdaAuthorizer{ID: id, Name: m.Name, Type: m.Type, Credentials: m.AuthorizerCredentials,
		SourceARN: "arn:aws:execute-api:" + region + ":" + account + ":" + apiID + "/authorizers/" + id, TTL: 300 * time.Second}
	if m.AuthorizerResultTTLInSeconds != nil {
		a.TTL = time.Duration(*m.AuthorizerResultTTLInSeconds) * time.Second
	}
	switch m.Type {
	case "TOKEN", "REQUEST":
	default:
		a.ConfigErr = "authorizer type " + m.Type + " is not supported by Sluice yet"
	}
	if fn, ok := functionARNFromURI(substituteStageVariables(m.AuthorizerURI, stageVars)); ok {
		a.FunctionARN = fn
	} else if a.ConfigErr == "" {
		a.ConfigErr = "invalid authorizer URI " + m.AuthorizerURI
	}
	srcs, ok := access.ParseIdentitySources(strings.Split(m.IdentitySource, ","))
	if !ok && a.ConfigErr == "" {
		a.ConfigErr = "invalid identity source " + m.IdentitySource
	}
	a.Sources = srcs
	if m.Type == "TOKEN" {
		if len(srcs) != 1 || srcs[0].Kind != access.SourceHeader {
			if a.ConfigErr == "" {
				a.ConfigErr = "a TOKEN authorizer needs one header identity source"
			}
		}
		re, err := access.CompileValidation(m.IdentityValidationExpression)
		if err != nil && a.ConfigErr == "" {
			a.ConfigErr = "invalid identityValidationExpression: " + err.Error()
		}
		a.Validation = re
	}
	return access.NewLambdaAuthorizer(a)
}

// httpAuthorizers compiles an HTTP API deployment's Lambda REQUEST authorizers, and
// puts its JWT authorizers in s.JWTAuthorizers. HTTP APIs cache nothing unless
// authorizerResultTtlInSeconds is set (the API's default is 0).
func (b *builder) httpAuthorizers(api *API, s *Stage, in map[string]*model.Authorizer2) map[string]*access.LambdaAuthorizer {
	if len(in) == 0 {
		return nil
	}
	out := make(map[string]*access.LambdaAuthorizer, len(in))
	for id, m := range in {
		if m == nil {
			continue
		}
		if m.AuthorizerType == "JWT" {
			if s.JWTAuthorizers == nil {
				s.JWTAuthorizers = map[string]*access.JWTAuthorizer{}
			}
			s.JWTAuthorizers[id] = b.jwtAuthorizer(api, id, m)
			continue
		}
		a := access.LambdaAuthorizer{ID: id, Name: m.Name, Type: m.AuthorizerType, Credentials: m.AuthorizerCredentialsArn,
			SourceARN: b.authorizerSourceARN(api.ID, id), HTTP: true,
			PayloadVersion: m.AuthorizerPayloadFormatVersion, SimpleResponses: m.EnableSimpleResponses}
		if m.AuthorizerResultTTLInSeconds != nil {
			a.TTL = time.Duration(*m.AuthorizerResultTTLInSeconds) * time.Second
		}
		switch m.AuthorizerType {
		case "REQUEST":
			if fn, ok := functionARNFromURI(substituteStageVariables(m.AuthorizerURI, s.Variables)); ok {
				a.FunctionARN = fn
			} else {
				a.ConfigErr = "invalid authorizer URI " + m.AuthorizerURI
			}
			if a.PayloadVersion != "1.0" && a.PayloadVersion != "2.0" && a.ConfigErr == "" {
				a.ConfigErr = "invalid authorizer payload format version " + a.PayloadVersion
			}
		default:
			a.ConfigErr = "authorizer type " + m.AuthorizerType + " is not supported by Sluice yet"
		}
		srcs, ok := access.ParseIdentitySources(m.IdentitySource)
		if !ok && a.ConfigErr == "" {
			a.ConfigErr = "invalid identity source " + strings.Join(m.IdentitySource, ",")
		}
		a.Sources = srcs
		if a.ConfigErr != "" {
			b.log.Warn("apigw compile: authorizer cannot run; its routes answer 500", "api", api.ID, "authorizer", id, "err", a.ConfigErr)
		}
		out[id] = access.NewLambdaAuthorizer(a)
	}
	return out
}

// jwtAuthorizer compiles a JWT authorizer: one identity source, the issuer and the
// audiences. One that cannot run keeps its ConfigErr, so its routes answer 500.
func (b *builder) jwtAuthorizer(api *API, id string, m *model.Authorizer2) *access.JWTAuthorizer {
	a := &access.JWTAuthorizer{ID: id, Name: m.Name}
	if j := m.JwtConfiguration; j != nil {
		a.Issuer, a.Audience = j.Issuer, j.Audience
	}
	srcs, ok := access.ParseIdentitySources(m.IdentitySource)
	switch {
	case a.Issuer == "" || len(a.Audience) == 0:
		a.ConfigErr = "a JWT authorizer needs an issuer and an audience"
	case !ok || len(srcs) != 1 || (srcs[0].Kind != access.SourceHeader && srcs[0].Kind != access.SourceQuery):
		a.ConfigErr = "a JWT authorizer needs one header or query string identity source"
	default:
		a.Source = srcs[0]
	}
	if a.ConfigErr != "" {
		b.log.Warn("apigw compile: authorizer cannot run; its routes answer 500", "api", api.ID, "authorizer", id, "err", a.ConfigErr)
	}
	return a
}

// keyRecords collects the account-wide API key, usage plan and plan key records.
type keyRecords struct {
	keys    []*model.APIKey
	plans   []*model.UsagePlan
	members map[string][]string // plan id → key ids
}

// add takes kv if it is a key, plan or plan-key record.
func (k *keyRecords) add(log *slog.Logger, kv store.KV) bool {
	switch {
	case strings.HasPrefix(kv.Key, model.APIKeyPrefix):
		var v model.APIKey
		if err := json.Unmarshal(kv.Value, &v); err != nil {
			log.Warn("apigw compile: skipping undecodable API key", "key", kv.Key, "err", err)
			return true
		}
		k.keys = append(k.keys, &v)
	case strings.HasPrefix(kv.Key, model.UsagePlanPrefix):
		var v model.UsagePlan
		if err := json.Unmarshal(kv.Value, &v); err != nil {
			log.Warn("apigw compile: skipping undecodable usage plan", "key", kv.Key, "err", err)
			return true
		}
		k.plans = append(k.plans, &v)
	case strings.HasPrefix(kv.Key, model.UsagePlanKeyPrefix):
		plan, key, ok := strings.Cut(strings.TrimPrefix(kv.Key, model.UsagePlanKeyPrefix), "/")
		if ok {
			if k.members == nil {
				k.members = map[string][]string{}
			}
			k.members[plan] = append(k.members[plan], key)
		}
	default:
		return false
	}
	return true
}

func (k *keyRecords) index() *access.KeyIndex {
	return access.BuildKeyIndex(k.keys, k.plans, k.members)
}

// restThrottles reads the throttling of a REST stage's method settings, keyed as
// the settings are ("*/*", "/pets/GET" with the path's slashes unescaped).
func restThrottles(settings map[string]model.MethodSetting) map[string]model.ThrottleSettings {
	var out map[string]model.ThrottleSettings
	for k, ms := range settings {
		if ms.ThrottlingBurstLimit <= 0 && ms.ThrottlingRateLimit <= 0 {
			continue
		}
		if out == nil {
			out = map[string]model.ThrottleSettings{}
		}
		out[strings.ReplaceAll(k, "~1", "/")] = model.ThrottleSettings{BurstLimit: ms.ThrottlingBurstLimit, RateLimit: ms.ThrottlingRateLimit}
	}
	return out
}

// httpThrottles reads an HTTP API stage's route throttling: routeSettings by route key
// ("GET /pets", "$default") and defaultRouteSettings under "*" (see "Throttle
// requests to your HTTP APIs"). A route's own setting replaces the default.
func httpThrottles(st *model.Stage2) map[string]model.ThrottleSettings {
	var out map[string]model.ThrottleSettings
	add := func(key string, rs *model.RouteSettings) {
		if rs == nil || (rs.ThrottlingBurstLimit <= 0 && rs.ThrottlingRateLimit <= 0) {
			return
		}
		if out == nil {
			out = map[string]model.ThrottleSettings{}
		}
		out[key] = model.ThrottleSettings{BurstLimit: rs.ThrottlingBurstLimit, RateLimit: rs.ThrottlingRateLimit}
	}
	add("*", st.DefaultRouteSettings)
	for k, rs := range st.RouteSettings {
		add(k, &rs)
	}
	return out
}
