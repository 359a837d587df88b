package model

import (
	"errors"
	"strings"
)

// RestAPI is an apigateway RestApi.
type RestAPI struct {
	ID                        string                 `json:"id"`
	Name                      string                 `json:"name"`
	Description               string                 `json:"description,omitempty"`
	CreatedDate               EpochTime              `json:"createdDate"`
	Version                   string                 `json:"version,omitempty"`
	BinaryMediaTypes          []string               `json:"binaryMediaTypes,omitempty"`
	MinimumCompressionSize    *int                   `json:"minimumCompressionSize,omitempty"`
	APIKeySource              string                 `json:"apiKeySource,omitempty"` // HEADER | AUTHORIZER
	EndpointConfiguration     *EndpointConfiguration `json:"endpointConfiguration,omitempty"`
	Policy                    string                 `json:"policy,omitempty"`
	Tags                      map[string]string      `json:"tags,omitempty"`
	DisableExecuteAPIEndpoint bool                   `json:"disableExecuteApiEndpoint"`
	RootResourceID            string                 `json:"rootResourceId,omitempty"`
}

type EndpointConfiguration struct {
	Types          []string `json:"types,omitempty"` // REGIONAL | EDGE | PRIVATE
	VpcEndpointIDs []string `json:"vpcEndpointIds,omitempty"`
	// IPAddressType is ipv4 (EDGE/REGIONAL default) or dualstack (PRIVATE, always).
	IPAddressType string `json:"ipAddressType,omitempty"`
}

// Resource is a path node; its methods (with their integrations) are stored inline.
type Resource struct {
	ID              string             `json:"id"`
	ParentID        string             `json:"parentId,omitempty"`
	PathPart        string             `json:"pathPart,omitempty"`
	Path            string             `json:"path"`
	ResourceMethods map[string]*Method `json:"resourceMethods,omitempty"` // keyed by HTTP method or "ANY"
}

type Method struct {
	HTTPMethod          string                     `json:"httpMethod"`
	AuthorizationType   string                     `json:"authorizationType"` // NONE | CUSTOM | AWS_IAM | COGNITO_USER_POOLS
	AuthorizerID        string                     `json:"authorizerId,omitempty"`
	APIKeyRequired      bool                       `json:"apiKeyRequired"`
	RequestValidatorID  string                     `json:"requestValidatorId,omitempty"`
	OperationName       string                     `json:"operationName,omitempty"`
	RequestParameters   map[string]bool            `json:"requestParameters,omitempty"`
	RequestModels       map[string]string          `json:"requestModels,omitempty"`
	AuthorizationScopes []string                   `json:"authorizationScopes,omitempty"`
	MethodResponses     map[string]*MethodResponse `json:"methodResponses,omitempty"`
	MethodIntegration   *Integration               `json:"methodIntegration,omitempty"`
}

type MethodResponse struct {
	StatusCode         string            `json:"statusCode"`
	ResponseParameters map[string]bool   `json:"responseParameters,omitempty"`
	ResponseModels     map[string]string `json:"responseModels,omitempty"`
}

type Integration struct {
	Type                 string                          `json:"type"` // AWS | AWS_PROXY | HTTP | HTTP_PROXY | MOCK
	HTTPMethod           string                          `json:"httpMethod,omitempty"`
	URI                  string                          `json:"uri,omitempty"`
	ConnectionType       string                          `json:"connectionType,omitempty"`
	ConnectionID         string                          `json:"connectionId,omitempty"`
	Credentials          string                          `json:"credentials,omitempty"`
	RequestParameters    map[string]string               `json:"requestParameters,omitempty"`
	RequestTemplates     map[string]string               `json:"requestTemplates,omitempty"`
	PassthroughBehavior  string                          `json:"passthroughBehavior,omitempty"`
	ContentHandling      string                          `json:"contentHandling,omitempty"`
	TimeoutInMillis      int                             `json:"timeoutInMillis"`
	CacheNamespace       string                          `json:"cacheNamespace,omitempty"`
	CacheKeyParameters   []string                        `json:"cacheKeyParameters"`
	IntegrationResponses map[string]*IntegrationResponse `json:"integrationResponses,omitempty"`
}

type IntegrationResponse struct {
	StatusCode         string            `json:"statusCode"`
	SelectionPattern   string            `json:"selectionPattern,omitempty"`
	ResponseParameters map[string]string `json:"responseParameters,omitempty"`
	ResponseTemplates  map[string]string `json:"responseTemplates,omitempty"`
	ContentHandling    string            `json:"contentHandling,omitempty"`
}

type Deployment struct {
	ID          string    `json:"id"`
	Description string    `json:"description,omitempty"`
	CreatedDate EpochTime `json:"createdDate"`
}

// RestSnapshot is what a REST API deployment freezes: everything the data plane needs
// to serve a stage of it, as it was when the deployment was created.
type RestSnapshot struct {
	API               RestAPI                      `json:"api"`
	Resources         []*Resource                  `json:"resources"`
	GatewayResponses  map[string]*GatewayResponse  `json:"gatewayResponses,omitempty"` // only user-put ones; defaults are the compiler's
	RequestValidators map[string]*RequestValidator `json:"requestValidators,omitempty"`
	Authorizers       map[string]*Authorizer       `json:"authorizers,omitempty"`
	Models            map[string]*Model            `json:"models,omitempty"`
}

type Stage struct {
	DeploymentID         string                   `json:"deploymentId"`
	StageName            string                   `json:"stageName"`
	Description          string                   `json:"description,omitempty"`
	CacheClusterEnabled  bool                     `json:"cacheClusterEnabled"`
	CacheClusterSize     string                   `json:"cacheClusterSize,omitempty"`
	CacheClusterStatus   string                   `json:"cacheClusterStatus,omitempty"`
	MethodSettings       map[string]MethodSetting `json:"methodSettings"`
	Variables            map[string]string        `json:"variables,omitempty"`
	TracingEnabled       bool                     `json:"tracingEnabled"`
	Tags                 map[string]string        `json:"tags,omitempty"`
	CreatedDate          EpochTime                `json:"createdDate"`
	LastUpdatedDate      EpochTime                `json:"lastUpdatedDate"`
	AccessLogSettings    *AccessLogSettings       `json:"accessLogSettings,omitempty"`
	ClientCertificateID  string                   `json:"clientCertificateId,omitempty"`
	DocumentationVersion string                   `json:"documentationVersion,omitempty"`
}

// ValidateAccessLogFormat applies API Gateway's rule on access log formats, in its
// words ("BadRequestException: Access Log format must be single line, new line
// character is allowed only at end of the format").
func ValidateAccessLogFormat(format string) error {
	if i := strings.IndexAny(format, "\r\n"); i >= 0 && i < len(strings.TrimRight(format, "\r\n")) {
		return errors.New("Access Log format must be single line, new line character is allowed only at end of the format")
	}
	return nil
}

type AccessLogSettings struct {
	Format         string `json:"format,omitempty"`
	DestinationArn string `json:"destinationArn,omitempty"`
}

// MethodSetting is a stage's per-method setting, keyed "{resourcePath}/{httpMethod}"
// with "*/*" for all methods.
type MethodSetting struct {
	MetricsEnabled                         bool    `json:"metricsEnabled"`
	LoggingLevel                           string  `json:"loggingLevel,omitempty"`
	DataTraceEnabled                       bool    `json:"dataTraceEnabled"`
	ThrottlingBurstLimit                   int     `json:"throttlingBurstLimit"`
	ThrottlingRateLimit                    float64 `json:"throttlingRateLimit"`
	CachingEnabled                         bool    `json:"cachingEnabled"`
	CacheTTLInSeconds                      int     `json:"cacheTtlInSeconds"`
	CacheDataEncrypted                     bool    `json:"cacheDataEncrypted"`
	RequireAuthorizationForCacheControl    bool    `json:"requireAuthorizationForCacheControl"`
	UnauthorizedCacheControlHeaderStrategy string  `json:"unauthorizedCacheControlHeaderStrategy,omitempty"`
}

// GatewayResponse customises an error the gateway itself produces (DEFAULT_4XX,
// MISSING_AUTHENTICATION_TOKEN, ...).
type GatewayResponse struct {
	ResponseType       string            `json:"responseType"`
	StatusCode         string            `json:"statusCode,omitempty"`
	ResponseParameters map[string]string `json:"responseParameters,omitempty"`
	ResponseTemplates  map[string]string `json:"responseTemplates,omitempty"`
	DefaultResponse    bool              `json:"defaultResponse"`
}

type RequestValidator struct {
	ID                        string `json:"id"`
	Name                      string `json:"name,omitempty"`
	ValidateRequestBody       bool   `json:"validateRequestBody"`
	ValidateRequestParameters bool   `json:"validateRequestParameters"`
}

type Model struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Schema      string `json:"schema,omitempty"`
	ContentType string `json:"contentType,omitempty"`
}

// Authorizer is a REST API authorizer (served by the access-control capability).
type Authorizer struct {
	ID                           string   `json:"id"`
	Name                         string   `json:"name"`
	Type                         string   `json:"type"` // TOKEN | REQUEST | COGNITO_USER_POOLS
	ProviderARNs                 []string `json:"providerARNs,omitempty"`
	AuthType                     string   `json:"authType,omitempty"`
	AuthorizerURI                string   `json:"authorizerUri,omitempty"`
	AuthorizerCredentials        string   `json:"authorizerCredentials,omitempty"`
	IdentitySource               string   `json:"identitySource,omitempty"`
	IdentityValidationExpression string   `json:"identityValidationExpression,omitempty"`
	AuthorizerResultTTLInSeconds *int     `json:"authorizerResultTtlInSeconds,omitempty"`
}
