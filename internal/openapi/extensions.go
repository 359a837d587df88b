package openapi

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// API Gateway's extension names (AWS: "Working with API Gateway extensions to
// OpenAPI").
const (
	extIntegration        = "x-amazon-apigateway-integration"
	extAnyMethod          = "x-amazon-apigateway-any-method"
	extAuthorizer         = "x-amazon-apigateway-authorizer"
	extAuthType           = "x-amazon-apigateway-authtype"
	extAuth               = "x-amazon-apigateway-auth"
	extAPIKeySource       = "x-amazon-apigateway-api-key-source"
	extBinaryMediaTypes   = "x-amazon-apigateway-binary-media-types"
	extGatewayResponses   = "x-amazon-apigateway-gateway-responses"
	extPolicy             = "x-amazon-apigateway-policy"
	extRequestValidators  = "x-amazon-apigateway-request-validators"
	extRequestValidator   = "x-amazon-apigateway-request-validator"
	extEndpointConfig     = "x-amazon-apigateway-endpoint-configuration"
	extMinCompression     = "x-amazon-apigateway-minimum-compression-size"
	extDocumentation      = "x-amazon-apigateway-documentation"
	extImportExport       = "x-amazon-apigateway-importexport-version"
	extCORS               = "x-amazon-apigateway-cors"
	extDisableExecuteAPI  = "x-amazon-apigateway-disable-execute-api-endpoint"
	extTagValue           = "x-amazon-apigateway-tag-value"
	extAPIGatewayPrefix   = "x-amazon-apigateway-"
	componentsSchemasRef  = "#/components/schemas/"
	swaggerDefinitionsRef = "#/definitions/"
)

// decodeExt re-decodes an extension value (kin-openapi keeps them as decoded JSON)
// into a typed struct.
func decodeExt(v any, out any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, out)
}

// unknownKeys lists the members of an object extension that are not in known,
// sorted, so that warnings name what was not imported.
func unknownKeys(v any, known ...string) []string {
	m, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	var out []string
	for k := range m {
		found := false
		for _, kk := range known {
			if k == kk {
				found = true
				break
			}
		}
		if !found {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// flexString accepts a JSON string or number ("200" or 200: documents write status
// codes both ways).
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*f = flexString(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("expected a string or a number, got %s", b)
	}
	*f = flexString(n.String())
	return nil
}

// flexInt accepts a JSON number or a numeric string.
type flexInt int

func (f *flexInt) UnmarshalJSON(b []byte) error {
	var n int
	if err := json.Unmarshal(b, &n); err == nil {
		*f = flexInt(n)
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("expected a number, got %s", b)
	}
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("expected a number, got %q", s)
	}
	*f = flexInt(n)
	return nil
}

type integrationExt struct {
	Type                 string                            `json:"type"`
	URI                  string                            `json:"uri"`
	HTTPMethod           string                            `json:"httpMethod"`
	PassthroughBehavior  string                            `json:"passthroughBehavior"`
	RequestTemplates     map[string]string                 `json:"requestTemplates"`
	RequestParameters    map[string]string                 `json:"requestParameters"`
	Responses            map[string]integrationResponseExt `json:"responses"`
	ContentHandling      string                            `json:"contentHandling"`
	TimeoutInMillis      *flexInt                          `json:"timeoutInMillis"`
	Credentials          string                            `json:"credentials"`
	CacheNamespace       string                            `json:"cacheNamespace"`
	CacheKeyParameters   []string                          `json:"cacheKeyParameters"`
	ConnectionType       string                            `json:"connectionType"`
	ConnectionID         string                            `json:"connectionId"`
	PayloadFormatVersion string                            `json:"payloadFormatVersion"`
}

var integrationKeys = []string{"type", "uri", "httpMethod", "passthroughBehavior", "requestTemplates",
	"requestParameters", "responses", "contentHandling", "timeoutInMillis", "credentials", "cacheNamespace",
	"cacheKeyParameters", "connectionType", "connectionId"}

type integrationResponseExt struct {
	StatusCode         flexString        `json:"statusCode"`
	ResponseParameters map[string]string `json:"responseParameters"`
	ResponseTemplates  map[string]string `json:"responseTemplates"`
	ContentHandling    string            `json:"contentHandling"`
}

type authorizerExt struct {
	Type                         string   `json:"type"`
	AuthorizerURI                string   `json:"authorizerUri"`
	AuthorizerCredentials        string   `json:"authorizerCredentials"`
	IdentitySource               string   `json:"identitySource"`
	IdentityValidationExpression string   `json:"identityValidationExpression"`
	AuthorizerResultTTLInSeconds *flexInt `json:"authorizerResultTtlInSeconds"`
	ProviderARNs                 []string `json:"providerARNs"`
}

var authorizerKeys = []string{"type", "authorizerUri", "authorizerCredentials", "identitySource",
	"identityValidationExpression", "authorizerResultTtlInSeconds", "providerARNs"}

type gatewayResponseExt struct {
	StatusCode         flexString        `json:"statusCode"`
	ResponseParameters map[string]string `json:"responseParameters"`
	ResponseTemplates  map[string]string `json:"responseTemplates"`
}

type requestValidatorExt struct {
	ValidateRequestBody       bool `json:"validateRequestBody"`
	ValidateRequestParameters bool `json:"validateRequestParameters"`
}

type endpointConfigExt struct {
	VpcEndpointIDs            []string `json:"vpcEndpointIds"`
	DisableExecuteAPIEndpoint *bool    `json:"disableExecuteApiEndpoint"`
}
