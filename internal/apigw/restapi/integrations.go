package restapi

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/sluice-dev/sluice/internal/apigw/model"
	"github.com/sluice-dev/sluice/internal/awsproto"
	"github.com/sluice-dev/sluice/internal/store"
)

// AWS's integration timeout bounds (the default maximum; raising it is an AWS quota
// request Sluice does not model).
const (
	minTimeoutMillis     = 50
	maxTimeoutMillis     = 29000
	defaultTimeoutMillis = 29000
)

type putIntegrationInput struct {
	Type                *string           `json:"type"`
	HTTPMethod          string            `json:"httpMethod"` // integrationHttpMethod on the SDK side
	URI                 string            `json:"uri"`
	ConnectionType      string            `json:"connectionType"`
	ConnectionID        string            `json:"connectionId"`
	Credentials         string            `json:"credentials"`
	RequestParameters   map[string]string `json:"requestParameters"`
	RequestTemplates    map[string]string `json:"requestTemplates"`
	PassthroughBehavior string            `json:"passthroughBehavior"`
	CacheNamespace      string            `json:"cacheNamespace"`
	CacheKeyParameters  []string          `json:"cacheKeyParameters"`
	ContentHandling     string            `json:"contentHandling"`
	TimeoutInMillis     *int              `json:"timeoutInMillis"`
}

func (s *Service) putIntegration(ctx context.Context, req *request) (int, any, error) {
	var in putIntegrationInput
	if err := req.decode(&in); err != nil {
		return 0, nil, err
	}
	if in.Type == nil {
		return 0, nil, validationError("Value null at 'putIntegrationInput.type' failed to satisfy constraint: Member must not be null")
	}
	switch *in.Type {
	case "HTTP", "MOCK", "AWS_PROXY", "HTTP_PROXY", "AWS":
	default:
		return 0, nil, validationError("Value '%s' at 'putIntegrationInput.type' failed to satisfy constraint: "+
			"Member must satisfy enum value set: [HTTP, MOCK, AWS_PROXY, HTTP_PROXY, AWS]", *in.Type)
	}
	api, resID, verb := req.params["restApiId"], req.params["resourceId"], req.params["httpMethod"]
	integ := &model.Integration{
		Type:                *in.Type,
		HTTPMethod:          in.HTTPMethod,
		URI:                 in.URI,
		ConnectionType:      in.ConnectionType,
		ConnectionID:        in.ConnectionID,
		Credentials:         in.Credentials,
		RequestParameters:   in.RequestParameters,
		RequestTemplates:    in.RequestTemplates,
		PassthroughBehavior: in.PassthroughBehavior,
		ContentHandling:     in.ContentHandling,
		CacheNamespace:      in.CacheNamespace,
		CacheKeyParameters:  in.CacheKeyParameters,
		TimeoutInMillis:     defaultTimeoutMillis,
	}
	if in.TimeoutInMillis != nil {
		integ.TimeoutInMillis = *in.TimeoutInMillis
	}
	if integ.PassthroughBehavior == "" {
		integ.PassthroughBehavior = "WHEN_NO_MATCH"
	}
	if (integ.Type == "HTTP" || integ.Type == "HTTP_PROXY") && integ.ConnectionType == "" {
		integ.ConnectionType = "INTERNET"
	}
	if integ.CacheNamespace == "" {
		integ.CacheNamespace = resID
	}
	if integ.CacheKeyParameters == nil {
		integ.CacheKeyParameters = []string{}
	}
	if err := validateIntegration(integ); err != nil {
		return 0, nil, err
	}
	err := s.store.Update(ctx, func(tx store.Tx) error {
		res, m, err := loadMethod(tx, api, resID, verb)
		if err != nil {
			return err
		}
		// PutIntegration replaces the whole integration, responses included.
		m.MethodIntegration = integ
		return store.PutRecord(tx, resourceKey(api, resID), res)
	})
	if err != nil {
		return 0, nil, internalErr("put integration", err)
	}
	return http.StatusCreated, integ, nil
}

// validateIntegration checks an integration as PutIntegration/UpdateIntegration do,
// with AWS's messages.
func validateIntegration(in *model.Integration) error {
	switch in.Type {
	case "AWS", "AWS_PROXY":
		if in.HTTPMethod == "" {
			return badRequest("Enumeration value for HttpMethod must be non-empty")
		}
		arn, err := awsproto.ParseARN(in.URI)
		if err != nil {
			return badRequest("Invalid ARN specified in the request")
		}
		if !strings.HasPrefix(arn.Resource, "path") && !strings.HasPrefix(arn.Resource, "action") {
			return badRequest("AWS ARN for integration must contain path or action")
		}
		if in.Type == "AWS_PROXY" && (arn.AccountID != "lambda" || !strings.HasPrefix(arn.Resource, "path/2015-03-31/functions/")) {
			return badRequest("Integrations of type 'AWS_PROXY' currently only supports Lambda function and Firehose stream invocations.")
		}
	case "HTTP", "HTTP_PROXY":
		if in.HTTPMethod == "" {
			return badRequest("Enumeration value for HttpMethod must be non-empty")
		}
		if !validHTTPEndpoint(in.URI) {
			return badRequest("Invalid HTTP endpoint specified for URI")
		}
	}
	if in.HTTPMethod != "" && !slices.Contains(httpMethods, in.HTTPMethod) {
		return badRequest("Invalid HttpMethod specified. Valid options are GET,PUT,POST,DELETE,PATCH,OPTIONS,HEAD,ANY")
	}
	if in.TimeoutInMillis < minTimeoutMillis || in.TimeoutInMillis > maxTimeoutMillis {
		return badRequest("Timeout should be between 50 ms and 29000 ms")
	}
	switch in.PassthroughBehavior {
	case "WHEN_NO_MATCH", "WHEN_NO_TEMPLATES", "NEVER":
	default:
		return badRequest("Invalid passthrough behavior specified: %s, valid values are: WHEN_NO_MATCH, WHEN_NO_TEMPLATES, NEVER", in.PassthroughBehavior)
	}
	if err := validateContentHandling(in.ContentHandling); err != nil {
		return err
	}
	switch in.ConnectionType {
	case "", "INTERNET", "VPC_LINK":
	default:
		return validationError("Value '%s' at 'putIntegrationInput.connectionType' failed to satisfy constraint: "+
			"Member must satisfy enum value set: [INTERNET, VPC_LINK]", in.ConnectionType)
	}
	for k, v := range in.RequestParameters {
		if !strings.HasPrefix(k, "integration.request.") || v == "" {
			return badRequest("Invalid mapping expression specified: Validation Result: warnings : [], errors : [Invalid mapping expression specified: %s]", k)
		}
	}
	return nil
}

func validateContentHandling(ch string) error {
	switch ch {
	case "", "CONVERT_TO_BINARY", "CONVERT_TO_TEXT":
		return nil
	}
	return badRequest("Invalid content handling specified: %s, valid values are: CONVERT_TO_BINARY, CONVERT_TO_TEXT", ch)
}

// validHTTPEndpoint accepts an absolute http(s) URL. Stage variables may stand for
// any part of it ("http://${stageVariables.host}/x"), so this checks the shape, not
// that the host resolves.
func validHTTPEndpoint(uri string) bool {
	rest, ok := strings.CutPrefix(uri, "https://")
	if !ok {
		rest, ok = strings.CutPrefix(uri, "http://")
	}
	if !ok || rest == "" || strings.HasPrefix(rest, "/") {
		return false
	}
	return !strings.ContainsAny(rest, " \t\r\n")
}

func loadIntegration(rd reader, api, resID, verb string) (*model.Resource, *model.Integration, error) {
	res, m, err := loadMethod(rd, api, resID, verb)
	if err != nil {
		return nil, nil, err
	}
	if m.MethodIntegration == nil {
		return nil, nil, errIntegrationNotFound
	}
	return res, m.MethodIntegration, nil
}

func (s *Service) getIntegration(ctx context.Context, req *request) (int, any, error) {
	_, integ, err := loadIntegration(s.reader(ctx), req.params["restApiId"], req.params["resourceId"], req.params["httpMethod"])
	if err != nil {
		return 0, nil, err
	}
	if integ.CacheKeyParameters == nil {
		integ.CacheKeyParameters = []string{}
	}
	return http.StatusOK, integ, nil
}

func (s *Service) deleteIntegration(ctx context.Context, req *request) (int, any, error) {
	api, resID, verb := req.params["restApiId"], req.params["resourceId"], req.params["httpMethod"]
	err := s.store.Update(ctx, func(tx store.Tx) error {
		res, _, err := loadIntegration(tx, api, resID, verb)
		if err != nil {
			return err
		}
		res.ResourceMethods[verb].MethodIntegration = nil
		return store.PutRecord(tx, resourceKey(api, resID), res)
	})
	if err != nil {
		return 0, nil, internalErr("delete integration", err)
	}
	return http.StatusAccepted, nil, nil
}

// updateIntegration applies UpdateIntegration's patch operations (paths from AWS's
// PatchOperation reference): /type, /httpMethod, /uri, /connectionType,
// /connectionId, /credentials, /passthroughBehavior, /contentHandling,
// /timeoutInMillis, /cacheNamespace (replace); /requestParameters/{name},
// /requestTemplates/{contentType} (add, replace, remove); /cacheKeyParameters/{name}
// (add, remove). The result is validated as a PutIntegration would be.
func (s *Service) updateIntegration(ctx context.Context, req *request) (int, any, error) {
	ops, err := decodePatch(req, "updateIntegrationInput")
	if err != nil {
		return 0, nil, err
	}
	api, resID, verb := req.params["restApiId"], req.params["resourceId"], req.params["httpMethod"]
	var out *model.Integration
	err = s.store.Update(ctx, func(tx store.Tx) error {
		res, integ, err := loadIntegration(tx, api, resID, verb)
		if err != nil {
			return err
		}
		for _, op := range ops {
			if err := patchIntegration(integ, op); err != nil {
				return err
			}
		}
		if err := validateIntegration(integ); err != nil {
			return err
		}
		out = integ
		return store.PutRecord(tx, resourceKey(api, resID), res)
	})
	if err != nil {
		return 0, nil, internalErr("update integration", err)
	}
	if out.CacheKeyParameters == nil {
		out.CacheKeyParameters = []string{}
	}
	return http.StatusOK, out, nil
}

func patchIntegration(in *model.Integration, op patchOp) error {
	p := op.path()
	parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
	if p == "" || len(parts) > 2 {
		return errInvalidPatchPath(p)
	}
	v := op.value()
	if len(parts) == 1 {
		if op.Op != "replace" && !(op.Op == "remove" && (parts[0] == "credentials" || parts[0] == "contentHandling")) {
			return badRequest("Invalid patch operation specified. Must be one of: [replace]")
		}
		if op.Op == "remove" {
			v = ""
		}
		switch parts[0] {
		case "type":
			in.Type = v
		case "httpMethod":
			in.HTTPMethod = v
		case "uri":
			in.URI = v
		case "connectionType":
			in.ConnectionType = v
		case "connectionId":
			in.ConnectionID = v
		case "credentials":
			in.Credentials = v
		case "passthroughBehavior":
			in.PassthroughBehavior = v
		case "contentHandling":
			in.ContentHandling = v
		case "cacheNamespace":
			in.CacheNamespace = v
		case "timeoutInMillis":
			n, ok := atoiPatch(v)
			if !ok {
				return badRequest("Timeout should be between 50 ms and 29000 ms")
			}
			in.TimeoutInMillis = n
		default:
			return errInvalidPatchPath(p)
		}
		return nil
	}
	name := unescapePointer(parts[1])
	if name == "" {
		return errInvalidPatchPath(p)
	}
	switch parts[0] {
	case "requestParameters":
		return patchStringMap(&in.RequestParameters, name, op)
	case "requestTemplates":
		return patchStringMap(&in.RequestTemplates, name, op)
	case "cacheKeyParameters":
		switch op.Op {
		case "add":
			if !slices.Contains(in.CacheKeyParameters, name) {
				in.CacheKeyParameters = append(in.CacheKeyParameters, name)
			}
		case "remove":
			in.CacheKeyParameters = slices.DeleteFunc(in.CacheKeyParameters, func(s string) bool { return s == name })
		default:
			return badRequest("Invalid patch operation specified. Must be one of: [add, remove]")
		}
		return nil
	}
	return errInvalidPatchPath(p)
}

// patchStringMap applies add/replace/remove of one key of a string map member.
func patchStringMap(m *map[string]string, key string, op patchOp) error {
	switch op.Op {
	case "add", "replace":
		if *m == nil {
			*m = map[string]string{}
		}
		(*m)[key] = op.value()
	case "remove":
		delete(*m, key)
		if len(*m) == 0 {
			*m = nil
		}
	default:
		return badRequest("Invalid patch operation specified. Must be one of: [add, replace, remove]")
	}
	return nil
}
