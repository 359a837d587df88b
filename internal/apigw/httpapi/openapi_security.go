package httpapi

import (
	"errors"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/sluice-dev/sluice/internal/apigw/model"
	"github.com/sluice-dev/sluice/internal/awsproto"
)

// The security part of ImportApi and ReimportApi, as AWS documents it for HTTP APIs
// ("Working with OpenAPI definitions for HTTP APIs", "x-amazon-apigateway-authorizer
// object"): each security scheme (components.securitySchemes, Swagger's
// securityDefinitions) with an x-amazon-apigateway-authorizer becomes an authorizer
// named after the scheme, type jwt → JWT (identitySource, jwtConfiguration issuer
// and audience) and type request → a Lambda REQUEST authorizer (authorizerUri,
// authorizerCredentials, authorizerPayloadFormatVersion, authorizerResultTtlInSeconds,
// enableSimpleResponses, identitySource as a list or a comma-separated string);
// x-amazon-apigateway-authtype awsSigv4 is AWS_IAM. An operation's security (or the
// document's, for operations without their own) picks the route's authorizer, its
// scopes becoming the route's authorizationScopes. The name NONE, which SAM writes
// for a route that opts out of its API's DefaultAuthorizer, means no authorization
// unless the document defines a scheme of that name.
//
// A requirement Sluice cannot enforce (an undefined scheme, an API key or OAuth
// scheme without an authorizer, two authorizers on one route) refuses the import:
// importing the route without it would serve it unprotected.

type oasSecurityScheme struct {
	Type       string         `yaml:"type"`
	Name       string         `yaml:"name"`
	In         string         `yaml:"in"`
	AuthType   string         `yaml:"x-amazon-apigateway-authtype"`
	Authorizer *oasAuthorizer `yaml:"x-amazon-apigateway-authorizer"`
}

type oasAuthorizer struct {
	Type                           string    `yaml:"type"`
	IdentitySource                 yaml.Node `yaml:"identitySource"`
	AuthorizerURI                  string    `yaml:"authorizerUri"`
	AuthorizerCredentials          string    `yaml:"authorizerCredentials"`
	AuthorizerPayloadFormatVersion string    `yaml:"authorizerPayloadFormatVersion"`
	AuthorizerResultTTLInSeconds   *int      `yaml:"authorizerResultTtlInSeconds"`
	EnableSimpleResponses          bool      `yaml:"enableSimpleResponses"`
	JwtConfiguration               *struct {
		Issuer   string    `yaml:"issuer"`
		Audience yaml.Node `yaml:"audience"`
	} `yaml:"jwtConfiguration"`
}

// securityRequirements is an OpenAPI security list; nil when the document or the
// operation does not say.
type securityRequirements = *[]map[string][]string

// importSecurity holds what a document's schemes mean for its routes.
type importSecurity struct {
	authorizers []*model.Authorizer2 // by scheme name, ids unset
	sigv4       map[string]bool      // schemes meaning AWS_IAM
	schemes     map[string]bool      // every scheme the document defines
}

// docSchemes reads the document's security schemes into authorizers.
func docSchemes(doc *oasDoc) (*importSecurity, error) {
	schemes := doc.Components.SecuritySchemes
	if len(schemes) == 0 {
		schemes = doc.SecurityDefinitions
	}
	sec := &importSecurity{sigv4: map[string]bool{}, schemes: map[string]bool{}}
	names := make([]string, 0, len(schemes))
	for n := range schemes {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		sc := schemes[name]
		sec.schemes[name] = true
		if strings.EqualFold(sc.AuthType, "awsSigv4") {
			sec.sigv4[name] = true
			continue
		}
		if sc.Authorizer == nil {
			continue // refused only if a route requires it
		}
		a, err := importAuthorizer(name, sc.Authorizer)
		if err != nil {
			return nil, err
		}
		sec.authorizers = append(sec.authorizers, a)
	}
	return sec, nil
}

func importAuthorizer(name string, x *oasAuthorizer) (*model.Authorizer2, error) {
	a := &model.Authorizer2{Name: name}
	sources, err := stringList(&x.IdentitySource)
	if err != nil {
		return nil, badRequest("Invalid OpenAPI definition: security scheme %s: identitySource: %v", name, err)
	}
	a.IdentitySource = sources
	switch strings.ToLower(x.Type) {
	case "jwt":
		a.AuthorizerType = "JWT"
		if len(a.IdentitySource) == 0 {
			a.IdentitySource = []string{"$request.header.Authorization"}
		}
		if j := x.JwtConfiguration; j != nil {
			aud, err := stringList(&j.Audience)
			if err != nil {
				return nil, badRequest("Invalid OpenAPI definition: security scheme %s: jwtConfiguration.audience: %v", name, err)
			}
			a.JwtConfiguration = &model.JwtConfiguration{Issuer: j.Issuer, Audience: aud}
		}
	case "request":
		a.AuthorizerType = "REQUEST"
		a.AuthorizerURI = x.AuthorizerURI
		a.AuthorizerCredentialsArn = x.AuthorizerCredentials
		a.AuthorizerPayloadFormatVersion = payloadVersion(x.AuthorizerPayloadFormatVersion)
		a.EnableSimpleResponses = x.EnableSimpleResponses
		if x.AuthorizerResultTTLInSeconds != nil {
			ttl := *x.AuthorizerResultTTLInSeconds
			a.AuthorizerResultTTLInSeconds = &ttl
		}
	default:
		return nil, badRequest("Invalid OpenAPI definition: security scheme %s: x-amazon-apigateway-authorizer type %q is not supported for HTTP APIs: must be jwt or request", name, x.Type)
	}
	if err := validateAuthorizer(a); err != nil {
		msg := err.Error()
		var ae *awsproto.Error
		if errors.As(err, &ae) {
			msg = ae.Message
		}
		return nil, badRequest("Unable to create authorizer '%s': %s", name, msg)
	}
	return a, nil
}

// payloadVersion reads authorizerPayloadFormatVersion as a template's number would
// arrive too: SAM templates write AuthorizerPayloadFormatVersion: 2.0 unquoted,
// which becomes 2 once the template is JSON.
func payloadVersion(v string) string {
	if f, err := strconv.ParseFloat(v, 64); err == nil && (f == 1 || f == 2) {
		return strconv.FormatFloat(f, 'f', 1, 64)
	}
	return v
}

// stringList reads a list of strings or one comma-separated string.
func stringList(n *yaml.Node) ([]string, error) {
	switch n.Kind {
	case 0:
		return nil, nil
	case yaml.ScalarNode:
		var out []string
		for _, s := range strings.Split(n.Value, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
		return out, nil
	}
	var out []string
	if err := n.Decode(&out); err != nil {
		return nil, err
	}
	return out, nil
}

// applySecurity sets the route's authorization from its security requirements.
// The route's AuthorizerID holds the authorizer's name until the import writes the
// authorizers and learns their ids.
func (sec *importSecurity) applySecurity(route *model.Route, reqs []map[string][]string) error {
	for _, req := range reqs {
		names := make([]string, 0, len(req))
		for n := range req {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, name := range names {
			if err := sec.applyScheme(route, name, req[name]); err != nil {
				return err
			}
		}
	}
	return nil
}

func (sec *importSecurity) applyScheme(route *model.Route, name string, scopes []string) error {
	set := func(authType, authorizer string) error {
		if route.AuthorizationType != "NONE" && (route.AuthorizationType != authType || route.AuthorizerID != authorizer) {
			return badRequest("Invalid OpenAPI definition: route %s: security requires both %s and %s; an HTTP API route has one authorizer",
				route.RouteKey, routeAuthName(route), name)
		}
		route.AuthorizationType, route.AuthorizerID = authType, authorizer
		return nil
	}
	switch {
	case name == "NONE" && !sec.schemes[name]:
		return nil
	case !sec.schemes[name]:
		return badRequest("Invalid OpenAPI definition: route %s: security scheme %s is not defined in components.securitySchemes", route.RouteKey, name)
	case sec.sigv4[name]:
		return set("AWS_IAM", "")
	}
	for _, a := range sec.authorizers {
		if a.Name != name {
			continue
		}
		authType := "CUSTOM"
		if a.AuthorizerType == "JWT" {
			authType = "JWT"
		}
		if err := set(authType, name); err != nil {
			return err
		}
		if len(scopes) > 0 {
			route.AuthorizationScopes = scopes
		}
		return nil
	}
	return badRequest("Invalid OpenAPI definition: route %s: security scheme %s has neither an x-amazon-apigateway-authorizer nor x-amazon-apigateway-authtype awsSigv4; importing the route without it would leave it unprotected",
		route.RouteKey, name)
}

func routeAuthName(route *model.Route) string {
	if route.AuthorizerID != "" {
		return route.AuthorizerID
	}
	return route.AuthorizationType
}
