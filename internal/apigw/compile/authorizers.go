package compile

import (
	"strings"
	"time"

	"github.com/sluice-dev/sluice/internal/apigw/access"
	"github.com/sluice-dev/sluice/internal/apigw/model"
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
		a := access.LambdaAuthorizer{ID: id, Name: m.Name, Type: m.Type, Credentials: m.AuthorizerCredentials,
			SourceARN: b.authorizerSourceARN(api.ID, id), TTL: 300 * time.Second}
		if m.AuthorizerResultTTLInSeconds != nil {
			a.TTL = time.Duration(*m.AuthorizerResultTTLInSeconds) * time.Second
		}
		switch m.Type {
		case "TOKEN", "REQUEST":
		default:
			a.ConfigErr = "authorizer type " + m.Type + " is not supported by Sluice yet"
		}
		if fn, ok := functionARNFromURI(substituteStageVariables(m.AuthorizerURI, s.Variables)); ok {
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
		if a.ConfigErr != "" {
			b.log.Warn("apigw compile: authorizer cannot run; its methods answer 500", "api", api.ID, "authorizer", id, "err", a.ConfigErr)
		}
		out[id] = access.NewLambdaAuthorizer(a)
	}
	return out
}
