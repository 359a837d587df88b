package httpapi

import (
	"context"
	"net/http"
	"strings"

	"github.com/sluice-dev/sluice/internal/apigw/model"
	"github.com/sluice-dev/sluice/internal/store"
)

// HTTP API authorizers (apigatewayv2 CreateAuthorizer and friends): Lambda REQUEST
// authorizers and JWT authorizers. The data plane compiles them from the deployment
// snapshot (internal/apigw/compile) and runs them in the gateway.

// maxAuthorizerTTL is AWS's ceiling on authorizerResultTtlInSeconds: "The maximum
// value is 3600, or 1 hour".
const maxAuthorizerTTL = 3600

// authorizerInput is the body of CreateAuthorizer and UpdateAuthorizer.
type authorizerInput struct {
	AuthorizerCredentialsArn       *string   `json:"authorizerCredentialsArn"`
	AuthorizerPayloadFormatVersion *string   `json:"authorizerPayloadFormatVersion"`
	AuthorizerResultTTLInSeconds   *int      `json:"authorizerResultTtlInSeconds"`
	AuthorizerType                 *string   `json:"authorizerType"`
	AuthorizerURI                  *string   `json:"authorizerUri"`
	EnableSimpleResponses          *bool     `json:"enableSimpleResponses"`
	IdentitySource                 *[]string `json:"identitySource"`
	IdentityValidationExpression   *string   `json:"identityValidationExpression"`
	JwtConfiguration               *struct {
		Audience []string `json:"audience"`
		Issuer   *string  `json:"issuer"`
	} `json:"jwtConfiguration"`
	Name *string `json:"name"`
}

func authorizerKey(apiID, id string) string { return model.Key(model.HTTPAuthorizerPrefix, apiID, id) }

func loadAuthorizer(r reader, apiID, id string) (*model.Authorizer2, error) {
	if id == "" || strings.ContainsAny(id, "/\x00") {
		return nil, notFound("Invalid Authorizer identifier specified %s", id)
	}
	return loadRecord[model.Authorizer2](r, authorizerKey(apiID, id), "Invalid Authorizer identifier specified %s", id)
}

func (s *Service) createAuthorizer(ctx context.Context, req *request) (int, any, error) {
	var in authorizerInput
	if err := decode(req, &in); err != nil {
		return 0, nil, err
	}
	if in.Name == nil || *in.Name == "" {
		return 0, nil, badRequest("Name is required")
	}
	if in.AuthorizerType == nil {
		return 0, nil, badRequest("AuthorizerType is required")
	}
	a := &model.Authorizer2{}
	if err := applyAuthorizerFields(a, &in); err != nil {
		return 0, nil, err
	}
	if err := validateAuthorizer(a); err != nil {
		return 0, nil, err
	}
	apiID := req.params["apiId"]
	err := s.store.Update(ctx, func(tx store.Tx) error {
		if _, err := s.loadAPI(tx, apiID); err != nil {
			return err
		}
		id, err := newID(tx, apiChild(model.HTTPAuthorizerPrefix, apiID), 6)
		if err != nil {
			return err
		}
		a.AuthorizerID = id
		return store.PutRecord(tx, authorizerKey(apiID, id), a)
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, a, nil
}

func (s *Service) getAuthorizer(ctx context.Context, req *request) (int, any, error) {
	r := s.reader(ctx)
	apiID := req.params["apiId"]
	if _, err := s.loadAPI(r, apiID); err != nil {
		return 0, nil, err
	}
	a, err := loadAuthorizer(r, apiID, req.params["id"])
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, a, nil
}

func (s *Service) getAuthorizers(ctx context.Context, req *request) (int, any, error) {
	r := s.reader(ctx)
	apiID := req.params["apiId"]
	if _, err := s.loadAPI(r, apiID); err != nil {
		return 0, nil, err
	}
	as, err := store.ListRecords[model.Authorizer2](r, apiChild(model.HTTPAuthorizerPrefix, apiID))
	if err != nil {
		return 0, nil, err
	}
	p, err := paginate(req, as, func(a *model.Authorizer2) string { return a.AuthorizerID })
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, p, nil
}

// updateAuthorizer changes the fields present. The change reaches the data plane
// with the next deployment (or at once on an auto-deployed stage), as on AWS.
func (s *Service) updateAuthorizer(ctx context.Context, req *request) (int, any, error) {
	var in authorizerInput
	if err := decode(req, &in); err != nil {
		return 0, nil, err
	}
	apiID := req.params["apiId"]
	var out *model.Authorizer2
	err := s.store.Update(ctx, func(tx store.Tx) error {
		if _, err := s.loadAPI(tx, apiID); err != nil {
			return err
		}
		a, err := loadAuthorizer(tx, apiID, req.params["id"])
		if err != nil {
			return err
		}
		if in.AuthorizerType != nil && *in.AuthorizerType != a.AuthorizerType {
			// Routes were checked against the type; changing it would leave them wrong.
			if err := checkAuthorizerUnused(tx, apiID, a); err != nil {
				return err
			}
		}
		if err := applyAuthorizerFields(a, &in); err != nil {
			return err
		}
		if err := validateAuthorizer(a); err != nil {
			return err
		}
		if err := store.PutRecord(tx, authorizerKey(apiID, a.AuthorizerID), a); err != nil {
			return err
		}
		out = a
		return s.autoDeploy(tx, apiID, s.timestamp())
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, out, nil
}

// deleteAuthorizer refuses while a route uses the authorizer, as API Gateway does.
func (s *Service) deleteAuthorizer(ctx context.Context, req *request) (int, any, error) {
	apiID := req.params["apiId"]
	err := s.store.Update(ctx, func(tx store.Tx) error {
		if _, err := s.loadAPI(tx, apiID); err != nil {
			return err
		}
		a, err := loadAuthorizer(tx, apiID, req.params["id"])
		if err != nil {
			return err
		}
		if err := checkAuthorizerUnused(tx, apiID, a); err != nil {
			return err
		}
		return tx.Delete(authorizerKey(apiID, a.AuthorizerID))
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

func checkAuthorizerUnused(r reader, apiID string, a *model.Authorizer2) error {
	routes, err := store.ListRecords[model.Route](r, apiChild(model.HTTPRoutePrefix, apiID))
	if err != nil {
		return err
	}
	for _, rt := range routes {
		if rt.AuthorizerID == a.AuthorizerID {
			return conflict("Cannot delete authorizer '%s', is referenced in route: %s", a.Name, rt.RouteKey)
		}
	}
	return nil
}

func applyAuthorizerFields(a *model.Authorizer2, in *authorizerInput) error {
	if in.Name != nil {
		if *in.Name == "" {
			return badRequest("Name must not be empty")
		}
		a.Name = *in.Name
	}
	if in.AuthorizerType != nil {
		a.AuthorizerType = *in.AuthorizerType
	}
	if in.AuthorizerCredentialsArn != nil {
		a.AuthorizerCredentialsArn = *in.AuthorizerCredentialsArn
	}
	if in.AuthorizerPayloadFormatVersion != nil {
		a.AuthorizerPayloadFormatVersion = *in.AuthorizerPayloadFormatVersion
	}
	if in.AuthorizerResultTTLInSeconds != nil {
		ttl := *in.AuthorizerResultTTLInSeconds
		a.AuthorizerResultTTLInSeconds = &ttl
	}
	if in.AuthorizerURI != nil {
		a.AuthorizerURI = *in.AuthorizerURI
	}
	if in.EnableSimpleResponses != nil {
		a.EnableSimpleResponses = *in.EnableSimpleResponses
	}
	if in.IdentitySource != nil {
		a.IdentitySource = *in.IdentitySource
		if len(a.IdentitySource) == 0 {
			a.IdentitySource = nil
		}
	}
	if in.IdentityValidationExpression != nil && *in.IdentityValidationExpression != "" {
		return badRequest("IdentityValidationExpression is supported only for WebSocket APIs")
	}
	if j := in.JwtConfiguration; j != nil {
		a.JwtConfiguration = &model.JwtConfiguration{Audience: j.Audience}
		if j.Issuer != nil {
			a.JwtConfiguration.Issuer = *j.Issuer
		}
	}
	return nil
}

// validateAuthorizer checks a complete authorizer the way API Gateway does for HTTP
// APIs (see "Control access to HTTP APIs with Lambda authorizers" and "... with JWT
// authorizers").
func validateAuthorizer(a *model.Authorizer2) error {
	for _, src := range a.IdentitySource {
		if !validIdentitySource(src) {
			return badRequest("Invalid identity source specified %s: must be $request.header.{name}, $request.querystring.{name}, $context.{name} or $stageVariables.{name}", src)
		}
	}
	switch a.AuthorizerType {
	case "REQUEST":
		if a.AuthorizerURI == "" {
			return badRequest("AuthorizerUri is required for authorizer type REQUEST")
		}
		if !strings.Contains(a.AuthorizerURI, ":lambda:") && !strings.Contains(a.AuthorizerURI, "/functions/") {
			return badRequest("Invalid Authorizer URI: %s. Authorizer URI should be a valid API Gateway ARN that represents a Lambda function invocation.", a.AuthorizerURI)
		}
		switch a.AuthorizerPayloadFormatVersion {
		case "1.0", "2.0":
		case "":
			return badRequest("AuthorizerPayloadFormatVersion is required for authorizer type REQUEST")
		default:
			return badRequest("Invalid AuthorizerPayloadFormatVersion specified %s: must be 1.0 or 2.0", a.AuthorizerPayloadFormatVersion)
		}
		if a.EnableSimpleResponses && a.AuthorizerPayloadFormatVersion != "2.0" {
			return badRequest("EnableSimpleResponses is supported only for payload format version 2.0")
		}
		ttl := 0
		if a.AuthorizerResultTTLInSeconds != nil {
			ttl = *a.AuthorizerResultTTLInSeconds
		}
		if ttl < 0 || ttl > maxAuthorizerTTL {
			return badRequest("AuthorizerResultTtlInSeconds must be between 0 and %d", maxAuthorizerTTL)
		}
		if ttl > 0 && len(a.IdentitySource) == 0 {
			// AWS's words (reported by Terraform users).
			return badRequest("Identity source must be set if authorizer caching is enabled (TTL is greater than 0)")
		}
		if a.JwtConfiguration != nil {
			return badRequest("JwtConfiguration is supported only for authorizer type JWT")
		}
	case "JWT":
		if a.JwtConfiguration == nil || a.JwtConfiguration.Issuer == "" {
			return badRequest("JwtConfiguration with an Issuer is required for authorizer type JWT")
		}
		if len(a.JwtConfiguration.Audience) == 0 {
			return badRequest("JwtConfiguration with an Audience is required for authorizer type JWT")
		}
		if len(a.IdentitySource) != 1 || !strings.HasPrefix(a.IdentitySource[0], "$request.") {
			return badRequest("A JWT authorizer requires exactly one identity source of the form $request.header.{name} or $request.querystring.{name}")
		}
		if a.AuthorizerURI != "" || a.AuthorizerPayloadFormatVersion != "" || a.EnableSimpleResponses ||
			a.AuthorizerCredentialsArn != "" || (a.AuthorizerResultTTLInSeconds != nil && *a.AuthorizerResultTTLInSeconds != 0) {
			return badRequest("AuthorizerUri, AuthorizerCredentialsArn, AuthorizerPayloadFormatVersion, AuthorizerResultTtlInSeconds and EnableSimpleResponses are supported only for authorizer type REQUEST")
		}
	default:
		return badRequest("Invalid authorizer type specified %s: must be JWT or REQUEST", a.AuthorizerType)
	}
	return nil
}

func validIdentitySource(s string) bool {
	for _, p := range [...]string{"$request.header.", "$request.querystring.", "$context.", "$stageVariables."} {
		if name, ok := strings.CutPrefix(s, p); ok && name != "" {
			return true
		}
	}
	return false
}
