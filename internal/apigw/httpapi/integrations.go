package httpapi

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/sluice-dev/sluice/internal/apigw/model"
	"github.com/sluice-dev/sluice/internal/store"
)

// HTTP API integration timeouts: 50 ms to 30 s, 30 s by default (AWS: "The
// default value is 30,000 milliseconds or 30 seconds for HTTP APIs").
const (
	minTimeoutMillis     = 50
	maxTimeoutMillis     = 30000
	defaultTimeoutMillis = 30000
)

// integrationInput is the body of CreateIntegration and UpdateIntegration.
type integrationInput struct {
	ConnectionID                *string                      `json:"connectionId"`
	ConnectionType              *string                      `json:"connectionType"`
	ContentHandlingStrategy     *string                      `json:"contentHandlingStrategy"`
	CredentialsArn              *string                      `json:"credentialsArn"`
	Description                 *string                      `json:"description"`
	IntegrationMethod           *string                      `json:"integrationMethod"`
	IntegrationSubtype          *string                      `json:"integrationSubtype"`
	IntegrationType             *string                      `json:"integrationType"`
	IntegrationURI              *string                      `json:"integrationUri"`
	PassthroughBehavior         *string                      `json:"passthroughBehavior"`
	PayloadFormatVersion        *string                      `json:"payloadFormatVersion"`
	RequestParameters           map[string]string            `json:"requestParameters"`
	RequestTemplates            map[string]string            `json:"requestTemplates"`
	ResponseParameters          map[string]map[string]string `json:"responseParameters"`
	TemplateSelectionExpression *string                      `json:"templateSelectionExpression"`
	TimeoutInMillis             *int                         `json:"timeoutInMillis"`
	TLSConfig                   *struct {
		ServerNameToVerify string `json:"serverNameToVerify"`
	} `json:"tlsConfig"`
}

func (s *Service) createIntegration(ctx context.Context, req *request) (int, any, error) {
	var in integrationInput
	if err := decode(req, &in); err != nil {
		return 0, nil, err
	}
	if in.IntegrationType == nil {
		return 0, nil, badRequest("Invalid integration type specified: integrationType is required")
	}
	integ := &model.Integration2{ConnectionType: "INTERNET", TimeoutInMillis: defaultTimeoutMillis}
	if err := applyIntegrationFields(integ, &in, false); err != nil {
		return 0, nil, err
	}
	if err := validateIntegration(integ); err != nil {
		return 0, nil, err
	}
	apiID := req.params["apiId"]
	err := s.store.Update(ctx, func(tx store.Tx) error {
		if _, err := s.loadAPI(tx, apiID); err != nil {
			return err
		}
		id, err := newID(tx, apiChild(model.HTTPIntegrationPrefix, apiID), 7)
		if err != nil {
			return err
		}
		integ.IntegrationID = id
		if err := store.PutRecord(tx, model.Key(model.HTTPIntegrationPrefix, apiID, id), integ); err != nil {
			return err
		}
		// An integration no route targets changes nothing a client can reach, but
		// AWS redeploys auto-deploy stages on every change of the API, and so do we.
		return s.autoDeploy(tx, apiID, s.timestamp())
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, integ, nil
}

func (s *Service) getIntegration(ctx context.Context, req *request) (int, any, error) {
	r := s.reader(ctx)
	apiID := req.params["apiId"]
	if _, err := s.loadAPI(r, apiID); err != nil {
		return 0, nil, err
	}
	integ, err := loadIntegration(r, apiID, req.params["integrationId"])
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, integ, nil
}

func (s *Service) getIntegrations(ctx context.Context, req *request) (int, any, error) {
	r := s.reader(ctx)
	apiID := req.params["apiId"]
	if _, err := s.loadAPI(r, apiID); err != nil {
		return 0, nil, err
	}
	integs, err := store.ListRecords[model.Integration2](r, apiChild(model.HTTPIntegrationPrefix, apiID))
	if err != nil {
		return 0, nil, err
	}
	p, err := paginate(req, integs, func(i *model.Integration2) string { return i.IntegrationID })
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, p, nil
}

func (s *Service) updateIntegration(ctx context.Context, req *request) (int, any, error) {
	var in integrationInput
	if err := decode(req, &in); err != nil {
		return 0, nil, err
	}
	apiID, integrationID := req.params["apiId"], req.params["integrationId"]
	var out *model.Integration2
	err := s.store.Update(ctx, func(tx store.Tx) error {
		if _, err := s.loadAPI(tx, apiID); err != nil {
			return err
		}
		integ, err := loadIntegration(tx, apiID, integrationID)
		if err != nil {
			return err
		}
		if err := applyIntegrationFields(integ, &in, true); err != nil {
			return err
		}
		if err := validateIntegration(integ); err != nil {
			return err
		}
		if err := store.PutRecord(tx, model.Key(model.HTTPIntegrationPrefix, apiID, integrationID), integ); err != nil {
			return err
		}
		out = integ
		return s.autoDeploy(tx, apiID, s.timestamp())
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, out, nil
}

func (s *Service) deleteIntegration(ctx context.Context, req *request) (int, any, error) {
	apiID, integrationID := req.params["apiId"], req.params["integrationId"]
	err := s.store.Update(ctx, func(tx store.Tx) error {
		if _, err := s.loadAPI(tx, apiID); err != nil {
			return err
		}
		if _, err := loadIntegration(tx, apiID, integrationID); err != nil {
			return err
		}
		routes, err := store.ListRecords[model.Route](tx, apiChild(model.HTTPRoutePrefix, apiID))
		if err != nil {
			return err
		}
		var users []string
		for _, r := range routes {
			if r.Target == "integrations/"+integrationID {
				users = append(users, r.RouteID)
			}
		}
		if len(users) > 0 {
			// AWS (409): "Cannot delete Integration because it is referenced by the
			// following Routes with Ids: [xrfucl1]".
			return conflict("Cannot delete Integration because it is referenced by the following Routes with Ids: [%s]",
				strings.Join(users, ", "))
		}
		if err := tx.Delete(model.Key(model.HTTPIntegrationPrefix, apiID, integrationID)); err != nil {
			return err
		}
		return s.autoDeploy(tx, apiID, s.timestamp())
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

// applyIntegrationFields copies the fields present in in onto integ. Parameter
// maps merge, and an empty value removes a key: that is how UpdateIntegration
// deletes a mapping on AWS (the Terraform provider relies on it).
//
// On create, an empty value is kept: remove:... mappings carry no value.
func applyIntegrationFields(integ *model.Integration2, in *integrationInput, update bool) error {
	// WebSocket-only members.
	switch {
	case in.ContentHandlingStrategy != nil && *in.ContentHandlingStrategy != "":
		return badRequest("ContentHandlingStrategy is supported only for WebSocket APIs")
	case in.PassthroughBehavior != nil && *in.PassthroughBehavior != "":
		return badRequest("PassthroughBehavior is supported only for WebSocket APIs")
	case len(in.RequestTemplates) > 0:
		return badRequest("RequestTemplates are supported only for WebSocket APIs")
	case in.TemplateSelectionExpression != nil && *in.TemplateSelectionExpression != "":
		return badRequest("TemplateSelectionExpression is supported only for WebSocket APIs")
	case in.TLSConfig != nil && in.TLSConfig.ServerNameToVerify != "":
		return badRequest("TlsConfig is supported only for private integrations (connectionType VPC_LINK)")
	}
	setString := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	setString(&integ.ConnectionID, in.ConnectionID)
	setString(&integ.ConnectionType, in.ConnectionType)
	setString(&integ.CredentialsArn, in.CredentialsArn)
	setString(&integ.Description, in.Description)
	setString(&integ.IntegrationMethod, in.IntegrationMethod)
	setString(&integ.IntegrationSubtype, in.IntegrationSubtype)
	setString(&integ.IntegrationType, in.IntegrationType)
	setString(&integ.IntegrationURI, in.IntegrationURI)
	setString(&integ.PayloadFormatVersion, in.PayloadFormatVersion)
	if in.TimeoutInMillis != nil {
		integ.TimeoutInMillis = *in.TimeoutInMillis
	}
	if in.RequestParameters != nil {
		if integ.RequestParameters == nil {
			integ.RequestParameters = map[string]string{}
		}
		for k, v := range in.RequestParameters {
			if v == "" && update {
				delete(integ.RequestParameters, k)
				continue
			}
			integ.RequestParameters[k] = v
		}
		if len(integ.RequestParameters) == 0 {
			integ.RequestParameters = nil
		}
	}
	if in.ResponseParameters != nil {
		if integ.ResponseParameters == nil {
			integ.ResponseParameters = map[string]map[string]string{}
		}
		for code, m := range in.ResponseParameters {
			if len(m) == 0 && update {
				delete(integ.ResponseParameters, code)
				continue
			}
			integ.ResponseParameters[code] = m
		}
		if len(integ.ResponseParameters) == 0 {
			integ.ResponseParameters = nil
		}
	}
	return nil
}

// validateIntegration checks a complete HTTP API integration.
func validateIntegration(integ *model.Integration2) error {
	if len(integ.Description) > 1024 {
		return badRequest("Invalid description specified: must be at most 1024 characters")
	}
	switch integ.ConnectionType {
	case "", "INTERNET":
		integ.ConnectionType = "INTERNET"
		if integ.ConnectionID != "" {
			return badRequest("ConnectionId can be set only when connectionType is VPC_LINK")
		}
	case "VPC_LINK":
		// A private integration goes through a VPC link to a load balancer
		// listener or Cloud Map service ARN (or, for REST-style links, a URL).
		if integ.ConnectionID == "" {
			return badRequest("ConnectionId is required when connectionType is VPC_LINK")
		}
		if integ.IntegrationType != "HTTP_PROXY" {
			return badRequest("Private integrations (connectionType VPC_LINK) support only integration type HTTP_PROXY")
		}
	default:
		return badRequest("Invalid connection type specified. Must be one of [INTERNET, VPC_LINK]")
	}
	if integ.TimeoutInMillis < minTimeoutMillis || integ.TimeoutInMillis > maxTimeoutMillis {
		return badRequest("Invalid timeout specified: timeoutInMillis must be between %d and %d milliseconds for HTTP APIs",
			minTimeoutMillis, maxTimeoutMillis)
	}
	switch integ.IntegrationType {
	case "AWS_PROXY":
		if integ.IntegrationSubtype != "" {
			return notImplemented("AWS service integrations (integrationSubtype " + integ.IntegrationSubtype + ")")
		}
		if integ.IntegrationURI == "" {
			return badRequest("Invalid integration URI specified: integrationUri is required for AWS_PROXY integrations")
		}
		if !isLambdaURI(integ.IntegrationURI) {
			return badRequest("Invalid integration URI specified: %s. An AWS_PROXY integration takes a Lambda function ARN or arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{functionArn}/invocations", integ.IntegrationURI)
		}
		// AWS: payloadFormatVersion is required for HTTP API Lambda proxy
		// integrations, and is 1.0 or 2.0.
		switch integ.PayloadFormatVersion {
		case "1.0", "2.0":
		case "":
			return badRequest("Invalid payload format version specified: payloadFormatVersion is required for AWS_PROXY integrations of HTTP APIs; use 1.0 or 2.0")
		default:
			return badRequest("Invalid payload format version specified: %s. Must be one of [1.0, 2.0]", integ.PayloadFormatVersion)
		}
		// Lambda is always invoked with POST; AWS fills it in when omitted.
		if integ.IntegrationMethod == "" {
			integ.IntegrationMethod = "POST"
		}
		if integ.IntegrationMethod != "ANY" && !isHTTPMethod(integ.IntegrationMethod) {
			return badRequest("Invalid integration method specified: %s", integ.IntegrationMethod)
		}
	case "HTTP_PROXY":
		if integ.IntegrationSubtype != "" {
			return badRequest("IntegrationSubtype is supported only for AWS_PROXY integrations")
		}
		private := integ.ConnectionType == "VPC_LINK" && strings.HasPrefix(integ.IntegrationURI, "arn:")
		if !private && !validHTTPIntegrationURI(integ.IntegrationURI) {
			return badRequest("Invalid integration URI specified: %q. An HTTP_PROXY integration takes a fully qualified http or https URL", integ.IntegrationURI)
		}
		if integ.IntegrationMethod == "" {
			return badRequest("Invalid integration method specified: integrationMethod is required for HTTP_PROXY integrations")
		}
		if integ.IntegrationMethod != "ANY" && !isHTTPMethod(integ.IntegrationMethod) {
			return badRequest("Invalid integration method specified: %s", integ.IntegrationMethod)
		}
		// AWS: "For all other integrations, 1.0 is the only supported value."
		switch integ.PayloadFormatVersion {
		case "":
			integ.PayloadFormatVersion = "1.0"
		case "1.0":
		default:
			return badRequest("Invalid payload format version specified: %s. HTTP_PROXY integrations support only 1.0", integ.PayloadFormatVersion)
		}
	case "AWS", "HTTP", "MOCK":
		// AWS's own words for a non-proxy integration on an HTTP API.
		return badRequest("Currently, an API with a protocol type of HTTP may only be associated with proxy integrations (AWS_PROXY, HTTP_PROXY)")
	default:
		return badRequest("Invalid integration type specified. Must be one of [AWS, AWS_PROXY, HTTP, HTTP_PROXY, MOCK]")
	}
	if err := validateRequestParameters(integ.RequestParameters); err != nil {
		return err
	}
	return validateResponseParameters(integ.ResponseParameters)
}

// validHTTPIntegrationURI accepts a fully qualified http(s) URL. Stage variables
// may stand for any part of it after the scheme (AWS resolves
// ${stageVariables.name} when the request runs), so such URLs are checked with
// each variable replaced by a placeholder host-safe word.
func validHTTPIntegrationURI(raw string) bool {
	probe := stageVariableRef.ReplaceAllString(raw, "stagevar")
	u, err := url.Parse(probe)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

var stageVariableRef = regexp.MustCompile(`\$\{stageVariables\.[A-Za-z0-9_]+\}`)
