package model

import "time"

// HTTPAPI is an apigatewayv2 Api with ProtocolType HTTP (WEBSOCKET later).
type HTTPAPI struct {
	APIEndpoint               string            `json:"apiEndpoint"`
	APIID                     string            `json:"apiId"`
	APIKeySelectionExpression string            `json:"apiKeySelectionExpression,omitempty"`
	CorsConfiguration         *Cors             `json:"corsConfiguration,omitempty"`
	CreatedDate               time.Time         `json:"createdDate"`
	Description               string            `json:"description,omitempty"`
	DisableSchemaValidation   bool              `json:"disableSchemaValidation,omitempty"`
	DisableExecuteAPIEndpoint bool              `json:"disableExecuteApiEndpoint"`
	IPAddressType             string            `json:"ipAddressType,omitempty"`
	Name                      string            `json:"name"`
	ProtocolType              string            `json:"protocolType"`
	RouteSelectionExpression  string            `json:"routeSelectionExpression"`
	Tags                      map[string]string `json:"tags,omitempty"`
	Version                   string            `json:"version,omitempty"`
}

// Cors is an HTTP API's CorsConfiguration.
type Cors struct {
	AllowCredentials bool     `json:"allowCredentials,omitempty"`
	AllowHeaders     []string `json:"allowHeaders,omitempty"`
	AllowMethods     []string `json:"allowMethods,omitempty"`
	AllowOrigins     []string `json:"allowOrigins,omitempty"`
	ExposeHeaders    []string `json:"exposeHeaders,omitempty"`
	MaxAge           *int     `json:"maxAge,omitempty"`
}

type Route struct {
	APIGatewayManaged   bool              `json:"apiGatewayManaged,omitempty"`
	APIKeyRequired      bool              `json:"apiKeyRequired"`
	AuthorizationScopes []string          `json:"authorizationScopes,omitempty"`
	AuthorizationType   string            `json:"authorizationType"` // NONE | JWT | CUSTOM | AWS_IAM
	AuthorizerID        string            `json:"authorizerId,omitempty"`
	OperationName       string            `json:"operationName,omitempty"`
	RequestParameters   map[string]any    `json:"requestParameters,omitempty"`
	RouteID             string            `json:"routeId"`
	RouteKey            string            `json:"routeKey"`         // "GET /items/{id}", "ANY /{proxy+}", "$default"
	Target              string            `json:"target,omitempty"` // "integrations/{integrationId}"
	RequestModels       map[string]string `json:"requestModels,omitempty"`
}

// Integration2 is an HTTP API integration.
type Integration2 struct {
	APIGatewayManaged    bool                         `json:"apiGatewayManaged,omitempty"`
	ConnectionID         string                       `json:"connectionId,omitempty"`
	ConnectionType       string                       `json:"connectionType,omitempty"` // INTERNET | VPC_LINK
	CredentialsArn       string                       `json:"credentialsArn,omitempty"`
	Description          string                       `json:"description,omitempty"`
	IntegrationID        string                       `json:"integrationId"`
	IntegrationMethod    string                       `json:"integrationMethod,omitempty"`
	IntegrationSubtype   string                       `json:"integrationSubtype,omitempty"`
	IntegrationType      string                       `json:"integrationType"` // AWS_PROXY | HTTP_PROXY
	IntegrationURI       string                       `json:"integrationUri,omitempty"`
	PayloadFormatVersion string                       `json:"payloadFormatVersion,omitempty"` // "1.0" | "2.0"
	RequestParameters    map[string]string            `json:"requestParameters,omitempty"`
	ResponseParameters   map[string]map[string]string `json:"responseParameters,omitempty"`
	TimeoutInMillis      int                          `json:"timeoutInMillis"`
}

type Deployment2 struct {
	AutoDeployed            bool      `json:"autoDeployed"`
	CreatedDate             time.Time `json:"createdDate"`
	DeploymentID            string    `json:"deploymentId"`
	DeploymentStatus        string    `json:"deploymentStatus"` // DEPLOYED
	DeploymentStatusMessage string    `json:"deploymentStatusMessage,omitempty"`
	Description             string    `json:"description,omitempty"`
}

// HTTPSnapshot is what an HTTP API deployment freezes.
type HTTPSnapshot struct {
	API          HTTPAPI                  `json:"api"`
	Routes       []*Route                 `json:"routes"`
	Integrations map[string]*Integration2 `json:"integrations"`
	Authorizers  map[string]*Authorizer2  `json:"authorizers,omitempty"`
}

type Stage2 struct {
	AccessLogSettings           *AccessLogSettings       `json:"accessLogSettings,omitempty"`
	APIGatewayManaged           bool                     `json:"apiGatewayManaged,omitempty"`
	AutoDeploy                  bool                     `json:"autoDeploy"`
	ClientCertificateID         string                   `json:"clientCertificateId,omitempty"`
	CreatedDate                 time.Time                `json:"createdDate"`
	DefaultRouteSettings        *RouteSettings           `json:"defaultRouteSettings,omitempty"`
	DeploymentID                string                   `json:"deploymentId,omitempty"`
	Description                 string                   `json:"description,omitempty"`
	LastDeploymentStatusMessage string                   `json:"lastDeploymentStatusMessage,omitempty"`
	LastUpdatedDate             time.Time                `json:"lastUpdatedDate"`
	RouteSettings               map[string]RouteSettings `json:"routeSettings,omitempty"`
	StageName                   string                   `json:"stageName"`
	StageVariables              map[string]string        `json:"stageVariables,omitempty"`
	Tags                        map[string]string        `json:"tags,omitempty"`
}

type RouteSettings struct {
	DataTraceEnabled       bool    `json:"dataTraceEnabled"`
	DetailedMetricsEnabled bool    `json:"detailedMetricsEnabled"`
	LoggingLevel           string  `json:"loggingLevel,omitempty"`
	ThrottlingBurstLimit   int     `json:"throttlingBurstLimit,omitempty"`
	ThrottlingRateLimit    float64 `json:"throttlingRateLimit,omitempty"`
}

// Authorizer2 is an HTTP API authorizer (JWT or REQUEST), served by access control.
type Authorizer2 struct {
	AuthorizerID                   string            `json:"authorizerId"`
	Name                           string            `json:"name"`
	AuthorizerType                 string            `json:"authorizerType"` // JWT | REQUEST
	AuthorizerCredentialsArn       string            `json:"authorizerCredentialsArn,omitempty"`
	AuthorizerURI                  string            `json:"authorizerUri,omitempty"`
	AuthorizerPayloadFormatVersion string            `json:"authorizerPayloadFormatVersion,omitempty"`
	AuthorizerResultTTLInSeconds   *int              `json:"authorizerResultTtlInSeconds,omitempty"`
	EnableSimpleResponses          bool              `json:"enableSimpleResponses,omitempty"`
	IdentitySource                 []string          `json:"identitySource,omitempty"`
	JwtConfiguration               *JwtConfiguration `json:"jwtConfiguration,omitempty"`
}

type JwtConfiguration struct {
	Audience []string `json:"audience,omitempty"`
	Issuer   string   `json:"issuer,omitempty"`
}
