package httpapi

import (
	"context"
	"net/http"
	"strings"

	"github.com/sluice-dev/sluice/internal/apigw/model"
	"github.com/sluice-dev/sluice/internal/awsproto"
	"github.com/sluice-dev/sluice/internal/store"
)

// defaultRouteSelectionExpression is the only route selection expression HTTP
// APIs have; AWS fills it in when CreateApi omits it.
const defaultRouteSelectionExpression = "$request.method $request.path"

// apiInput is the body of CreateApi and UpdateApi. Pointers tell "absent" from
// "zero" so UpdateApi (PATCH) changes only what it is given.
type apiInput struct {
	Name                      *string           `json:"name"`
	ProtocolType              *string           `json:"protocolType"`
	Description               *string           `json:"description"`
	CorsConfiguration         *model.Cors       `json:"corsConfiguration"`
	CredentialsArn            *string           `json:"credentialsArn"`
	DisableExecuteAPIEndpoint *bool             `json:"disableExecuteApiEndpoint"`
	DisableSchemaValidation   *bool             `json:"disableSchemaValidation"`
	IPAddressType             *string           `json:"ipAddressType"`
	RouteSelectionExpression  *string           `json:"routeSelectionExpression"`
	APIKeySelectionExpression *string           `json:"apiKeySelectionExpression"`
	Version                   *string           `json:"version"`
	Tags                      map[string]string `json:"tags"`
	Target                    *string           `json:"target"`
	RouteKey                  *string           `json:"routeKey"`
}

func (s *Service) createAPI(ctx context.Context, req *request) (int, any, error) {
	var in apiInput
	if err := decode(req, &in); err != nil {
		return 0, nil, err
	}
	if in.Name == nil || strings.TrimSpace(*in.Name) == "" {
		return 0, nil, badRequest("Invalid API name specified: name is required")
	}
	if len(*in.Name) > 128 || awsproto.HasControl(*in.Name) {
		return 0, nil, badRequest("Invalid API name specified: must be at most 128 characters, without control characters")
	}
	protocol := ""
	if in.ProtocolType != nil {
		protocol = *in.ProtocolType
	}
	switch protocol {
	case "HTTP":
	case "WEBSOCKET":
		// WebSocket APIs need $connect/$disconnect routing and @connections; until the
		// data plane serves them, refusing is more honest than storing an API that
		// can never answer.
		return 0, nil, notImplemented("CreateApi with protocolType WEBSOCKET")
	default:
		// Moto and AWS: "Invalid protocol specified. Must be one of [HTTP, WEBSOCKET]".
		return 0, nil, badRequest("Invalid protocol specified. Must be one of [HTTP, WEBSOCKET]")
	}
	now := s.timestamp()
	api := &model.HTTPAPI{
		CreatedDate:               now,
		Name:                      *in.Name,
		ProtocolType:              protocol,
		RouteSelectionExpression:  defaultRouteSelectionExpression,
		APIKeySelectionExpression: "$request.header.x-api-key",
		IPAddressType:             "ipv4",
		Tags:                      in.Tags,
	}
	if err := applyAPIFields(api, &in); err != nil {
		return 0, nil, err
	}
	if err := validateTags(in.Tags); err != nil {
		return 0, nil, err
	}
	var quick *quickCreate
	if in.Target != nil {
		q, err := parseQuickCreate(*in.Target, in.RouteKey, in.CredentialsArn)
		if err != nil {
			return 0, nil, err
		}
		quick = q
	} else if in.RouteKey != nil {
		return 0, nil, badRequest("RouteKey is supported only with Target (quick create)")
	} else if in.CredentialsArn != nil {
		return 0, nil, badRequest("CredentialsArn is supported only with Target (quick create)")
	}

	err := s.store.Update(ctx, func(tx store.Tx) error {
		if err := s.insertAPI(tx, api); err != nil {
			return err
		}
		if quick != nil {
			return s.applyQuickCreate(tx, api, quick, now)
		}
		return nil
	})
	if err != nil {
		return 0, nil, err
	}
	s.log.Info("created HTTP API", "apiId", api.APIID, "name", api.Name, "quickCreate", quick != nil)
	return http.StatusCreated, s.apiView(api), nil
}

// applyAPIFields copies the mutable fields of in onto api, validating each.
func applyAPIFields(api *model.HTTPAPI, in *apiInput) error {
	if in.Name != nil {
		if strings.TrimSpace(*in.Name) == "" || len(*in.Name) > 128 || awsproto.HasControl(*in.Name) {
			return badRequest("Invalid API name specified: must be 1 to 128 characters")
		}
		api.Name = *in.Name
	}
	if in.Description != nil {
		if len(*in.Description) > 1024 {
			return badRequest("Invalid description specified: must be at most 1024 characters")
		}
		api.Description = *in.Description
	}
	if in.CorsConfiguration != nil {
		if err := validateCors(in.CorsConfiguration); err != nil {
			return err
		}
		api.CorsConfiguration = in.CorsConfiguration
	}
	if in.DisableExecuteAPIEndpoint != nil {
		api.DisableExecuteAPIEndpoint = *in.DisableExecuteAPIEndpoint
	}
	if in.DisableSchemaValidation != nil {
		// Supported only for WebSocket APIs; HTTP APIs keep it false.
		if *in.DisableSchemaValidation {
			return badRequest("DisableSchemaValidation is supported only for WebSocket APIs")
		}
	}
	if in.IPAddressType != nil {
		switch *in.IPAddressType {
		case "ipv4", "dualstack":
			api.IPAddressType = *in.IPAddressType
		default:
			return badRequest("Invalid ipAddressType specified. Must be one of [ipv4, dualstack]")
		}
	}
	if in.RouteSelectionExpression != nil {
		// HTTP APIs route on method and path only (AWS: "${request.method}
		// ${request.path}" is the one supported value).
		switch *in.RouteSelectionExpression {
		case defaultRouteSelectionExpression, "${request.method} ${request.path}":
		default:
			return badRequest("Invalid route selection expression specified: HTTP APIs support only %s", defaultRouteSelectionExpression)
		}
	}
	if in.APIKeySelectionExpression != nil {
		switch *in.APIKeySelectionExpression {
		case "$request.header.x-api-key", "$context.authorizer.usageIdentifierKey":
			api.APIKeySelectionExpression = *in.APIKeySelectionExpression
		default:
			return badRequest("Invalid API key selection expression specified: must be $request.header.x-api-key or $context.authorizer.usageIdentifierKey")
		}
	}
	if in.Version != nil {
		if len(*in.Version) > 64 {
			return badRequest("Invalid version specified: must be at most 64 characters")
		}
		api.Version = *in.Version
	}
	return nil
}

// apiView is an API as the control plane returns it: apiEndpoint is always the
// current one from Options, even if the listener address changed since creation.
func (s *Service) apiView(api *model.HTTPAPI) *model.HTTPAPI {
	v := *api
	v.APIEndpoint = s.endpoint(api.APIID)
	if v.Tags == nil {
		v.Tags = map[string]string{}
	}
	return &v
}

func (s *Service) getAPI(ctx context.Context, req *request) (int, any, error) {
	api, err := s.loadAPI(s.reader(ctx), req.params["apiId"])
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, s.apiView(api), nil
}

func (s *Service) getAPIs(ctx context.Context, req *request) (int, any, error) {
	apis, err := store.ListRecords[model.HTTPAPI](s.reader(ctx), model.HTTPAPIPrefix)
	if err != nil {
		return 0, nil, err
	}
	views := make([]*model.HTTPAPI, len(apis))
	for i, a := range apis {
		views[i] = s.apiView(a)
	}
	p, err := paginate(req, views, func(a *model.HTTPAPI) string { return a.APIID })
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, p, nil
}

func (s *Service) updateAPI(ctx context.Context, req *request) (int, any, error) {
	var in apiInput
	if err := decode(req, &in); err != nil {
		return 0, nil, err
	}
	if in.ProtocolType != nil {
		return 0, nil, badRequest("ProtocolType cannot be updated")
	}
	apiID := req.params["apiId"]
	var out *model.HTTPAPI
	err := s.store.Update(ctx, func(tx store.Tx) error {
		api, err := s.loadAPI(tx, apiID)
		if err != nil {
			return err
		}
		if err := applyAPIFields(api, &in); err != nil {
			return err
		}
		now := s.timestamp()
		if in.Target != nil || in.RouteKey != nil || in.CredentialsArn != nil {
			if err := s.updateQuickCreate(tx, api, &in); err != nil {
				return err
			}
		}
		if err := store.PutRecord(tx, model.Key(model.HTTPAPIPrefix, apiID), api); err != nil {
			return err
		}
		out = api
		return s.autoDeploy(tx, apiID, now)
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, s.apiView(out), nil
}

// deleteCors is DeleteCorsConfiguration: the API loses its CORS configuration and
// auto-deploy stages pick the change up.
func (s *Service) deleteCors(ctx context.Context, req *request) (int, any, error) {
	apiID := req.params["apiId"]
	err := s.store.Update(ctx, func(tx store.Tx) error {
		api, err := s.loadAPI(tx, apiID)
		if err != nil {
			return err
		}
		api.CorsConfiguration = nil
		if err := store.PutRecord(tx, model.Key(model.HTTPAPIPrefix, apiID), api); err != nil {
			return err
		}
		return s.autoDeploy(tx, apiID, s.timestamp())
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

// apiRecordPrefixes are the kinds of record an API owns; DeleteApi removes them all.
// Stages come first, so a cascade split over several transactions stops serving
// them before anything else.
var apiRecordPrefixes = []string{
	model.HTTPStagePrefix, model.HTTPRoutePrefix, routeIndexPrefix, model.HTTPIntegrationPrefix,
	model.HTTPDeploymentPrefix, model.HTTPSnapshotPrefix, model.HTTPAuthorizerPrefix,
}

// deleteAPIRecords deletes every record of the given kinds (prefixes) that belongs
// to the API.
func deleteAPIRecords(tx store.Tx, apiID string, prefixes ...string) error {
	for _, prefix := range prefixes {
		kvs, err := tx.List(apiChild(prefix, apiID))
		if err != nil {
			return err
		}
		for _, kv := range kvs {
			if err := tx.Delete(kv.Key); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *Service) deleteAPI(ctx context.Context, req *request) (int, any, error) {
	apiID := req.params["apiId"]
	// The API and as many of its records as fit go in one transaction, so a small
	// API disappears atomically; a large one (more records than one etcd
	// transaction may write) is gone once the first transaction commits, and the
	// rest of its records follow in batches.
	err := model.DeleteCascade(ctx, s.store, model.Key(model.HTTPAPIPrefix, apiID), apiID, apiRecordPrefixes, func(tx store.Tx) error {
		_, err := s.loadAPI(tx, apiID)
		return err
	})
	if err != nil {
		return 0, nil, err
	}
	s.log.Info("deleted HTTP API", "apiId", apiID)
	return http.StatusNoContent, nil, nil
}

// validateCors checks a CorsConfiguration the way API Gateway bounds it: maxAge in
// -1..86400, methods are HTTP methods or "*", and credentials cannot be combined
// with a wildcard origin (browsers refuse that combination too).
func validateCors(c *model.Cors) error {
	if c.MaxAge != nil && (*c.MaxAge < -1 || *c.MaxAge > 86400) {
		return badRequest("Invalid CORS configuration: maxAge must be between -1 and 86400")
	}
	for _, m := range c.AllowMethods {
		if m != "*" && !isHTTPMethod(strings.ToUpper(m)) {
			return badRequest("Invalid CORS configuration: invalid allowMethods value %s", m)
		}
	}
	for _, o := range c.AllowOrigins {
		if o == "*" && c.AllowCredentials {
			return badRequest("Invalid CORS configuration: allowCredentials cannot be true when allowOrigins contains *")
		}
		if o == "" {
			return badRequest("Invalid CORS configuration: allowOrigins values must not be empty")
		}
	}
	return nil
}

func isHTTPMethod(m string) bool {
	switch m {
	case "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS":
		return true
	}
	return false
}
