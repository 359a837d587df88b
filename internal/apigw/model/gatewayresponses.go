package model

// DefaultGatewayResponses is API Gateway's default set of gateway responses for REST
// APIs, keyed by response type, with the status each answers with ("" for DEFAULT_4XX
// and DEFAULT_5XX, which keep the status of the error they stand for). Every default
// has the template DefaultGatewayResponseTemplate for application/json.
// Source: "Gateway response types for API Gateway" in the API Gateway developer guide.
var DefaultGatewayResponses = map[string]string{
	"ACCESS_DENIED":                  "403",
	"API_CONFIGURATION_ERROR":        "500",
	"AUTHORIZER_CONFIGURATION_ERROR": "500",
	"AUTHORIZER_FAILURE":             "500",
	"BAD_REQUEST_PARAMETERS":         "400",
	"BAD_REQUEST_BODY":               "400",
	"DEFAULT_4XX":                    "",
	"DEFAULT_5XX":                    "",
	"EXPIRED_TOKEN":                  "403",
	"INTEGRATION_FAILURE":            "504",
	"INTEGRATION_TIMEOUT":            "504",
	"INVALID_API_KEY":                "403",
	"INVALID_SIGNATURE":              "403",
	"MISSING_AUTHENTICATION_TOKEN":   "403",
	"QUOTA_EXCEEDED":                 "429",
	"REQUEST_TOO_LARGE":              "413",
	"RESOURCE_NOT_FOUND":             "404",
	"THROTTLED":                      "429",
	"UNAUTHORIZED":                   "401",
	"UNSUPPORTED_MEDIA_TYPE":         "415",
	"WAF_FILTERED":                   "403",
}

// DefaultGatewayResponseTemplate is the application/json body template of every
// default gateway response.
const DefaultGatewayResponseTemplate = `{"message":$context.error.messageString}`
