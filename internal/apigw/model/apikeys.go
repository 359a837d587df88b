package model

// API keys and usage plans (apigateway v1). They are account-wide, not per API, and
// live under Prefix so that the data plane recompiles its key index when they change.
const (
	APIKeyPrefix       = "/apigw/v1/apikeys/"       // + keyId                 → APIKey
	UsagePlanPrefix    = "/apigw/v1/usageplans/"    // + planId                → UsagePlan
	UsagePlanKeyPrefix = "/apigw/v1/usageplankeys/" // + planId/keyId          → UsagePlanKey
	UsageCounterPrefix = "/counters/apigw/usage/"   // + planId/keyId/window   → usage count (outside Prefix: not compiled)
)

// APIKey is an apigateway ApiKey.
type APIKey struct {
	ID              string            `json:"id"`
	Value           string            `json:"value,omitempty"`
	Name            string            `json:"name,omitempty"`
	CustomerID      string            `json:"customerId,omitempty"`
	Description     string            `json:"description,omitempty"`
	Enabled         bool              `json:"enabled"`
	CreatedDate     EpochTime         `json:"createdDate"`
	LastUpdatedDate EpochTime         `json:"lastUpdatedDate"`
	StageKeys       []string          `json:"stageKeys"`
	Tags            map[string]string `json:"tags,omitempty"`
}

// ThrottleSettings are a token bucket: RateLimit requests per second, BurstLimit
// requests at once.
type ThrottleSettings struct {
	BurstLimit int     `json:"burstLimit"`
	RateLimit  float64 `json:"rateLimit"`
}

// QuotaSettings cap the requests of one key per DAY, WEEK or MONTH; Offset shifts
// the start of the period (days into a week or month).
type QuotaSettings struct {
	Limit  int    `json:"limit"`
	Offset int    `json:"offset"`
	Period string `json:"period"`
}

// UsagePlanStage is one API stage of a usage plan, with per-method throttling keyed
// "{resourcePath}/{METHOD}" ("/pets/GET", "*/*").
type UsagePlanStage struct {
	APIID    string                      `json:"apiId"`
	Stage    string                      `json:"stage"`
	Throttle map[string]ThrottleSettings `json:"throttle,omitempty"`
}

// UsagePlan is an apigateway UsagePlan.
type UsagePlan struct {
	ID          string            `json:"id"`
	Name        string            `json:"name"`
	Description string            `json:"description,omitempty"`
	APIStages   []UsagePlanStage  `json:"apiStages"`
	Throttle    *ThrottleSettings `json:"throttle,omitempty"`
	Quota       *QuotaSettings    `json:"quota,omitempty"`
	ProductCode string            `json:"productCode,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
}

// UsagePlanKey is a key's membership in a usage plan, as GetUsagePlanKey shows it.
type UsagePlanKey struct {
	ID    string `json:"id"`
	Type  string `json:"type"` // API_KEY
	Value string `json:"value,omitempty"`
	Name  string `json:"name,omitempty"`
}
