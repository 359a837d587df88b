package gateway

import (
	"errors"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sluice-dev/sluice/internal/apigw/access"
)

// authorizeJWT runs the route's JWT authorizer (see "Control access to HTTP APIs with
// JWT authorizers"); it answers the request itself when the answer is no:
//
//   - no token in the identity source: 401 {"message":"Unauthorized"};
//   - a token that is malformed, signed by no key of the issuer's JWKS, or whose
//     iss, aud/client_id, exp, nbf or iat do not hold: 401 {"message":"Unauthorized"}
//     with www-authenticate: Bearer scope="..." error="invalid_token"
//     error_description="..." (as API Gateway answers, e.g. "the token has expired");
//   - a valid token with none of the route's authorizationScopes (scope or scp
//     claim): 403 {"message":"Forbidden"}, error="insufficient_scope".
//
// The claims then reach the integration in requestContext.authorizer.jwt.
func (g *Gateway) authorizeJWT(x *exchange) bool {
	a := x.stage.JWTAuthorizers[x.route.AuthorizerID]
	switch {
	case a == nil:
		g.fail(x, failAuthorizerConfig, errors.New("JWT authorizer "+x.route.AuthorizerID+" is not in the deployment"))
		return false
	case a.ConfigErr != "":
		g.fail(x, failAuthorizerConfig, errors.New(a.ConfigErr))
		return false
	}
	var required []string
	if x.route.HTTPRoute != nil {
		required = x.route.HTTPRoute.AuthorizationScopes
	}
	token, ok := identityValue(x, a.Source)
	if !ok {
		g.fail(x, failUnauthorized, nil)
		return false
	}
	claims, err := g.jwks.Verify(x.r.Context(), a, token, x.now)
	if err != nil {
		var je *access.JWTError
		if !errors.As(err, &je) {
			g.log.Warn("apigw: JWT authorizer could not get the issuer's keys", "api", x.api.ID, "authorizer", a.ID,
				"issuer", a.Issuer, "err", err)
			je = &access.JWTError{Description: "the issuer's signing keys could not be fetched"}
		}
		x.w.Header()["Www-Authenticate"] = []string{bearerChallenge(required, "invalid_token", je.Description)}
		g.fail(x, failUnauthorized, nil)
		return false
	}
	var matched []string
	if len(required) > 0 {
		if matched, ok = claims.HasScope(required); !ok {
			x.w.Header()["Www-Authenticate"] = []string{bearerChallenge(required, "insufficient_scope",
				"expected scopes: ["+strings.Join(required, " ")+"]")}
			g.fail(x, failForbidden, nil)
			return false
		}
	}
	x.jwt = &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: claims.Claims, Scopes: matched}
	return true
}

// bearerChallenge is the www-authenticate value API Gateway sends with a JWT refusal:
// Bearer scope="a b" error="invalid_token" error_description="the token has expired".
func bearerChallenge(scopes []string, code, description string) string {
	return `Bearer scope="` + strings.Join(scopes, " ") + `" error="` + code + `" error_description="` +
		strings.ReplaceAll(description, `"`, `'`) + `"`
}
