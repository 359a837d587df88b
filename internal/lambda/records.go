package lambda

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"time"
)

// Store key prefixes owned by this package.
const (
	keyFunctions = "/lambda/functions/"
	keyVersions  = "/lambda/versions/"
	keyAliases   = "/lambda/aliases/"
	keyAsync     = "/lambda/async/"
)

func functionKey(name string) string       { return keyFunctions + name }
func versionsPrefix(name string) string    { return keyVersions + name + "/" }
func versionKey(name string, n int) string { return versionsPrefix(name) + strconv.Itoa(n) }
func aliasesPrefix(name string) string     { return keyAliases + name + "/" }
func aliasKey(name, alias string) string   { return aliasesPrefix(name) + alias }
func lastModified(t time.Time) string      { return t.UTC().Format("2006-01-02T15:04:05.000-0700") }
func codeSHA256Base64(hexSum string) string {
	b, _ := hex.DecodeString(hexSum)
	return base64.StdEncoding.EncodeToString(b)
}
func latestVersion(qualifier string) bool { return qualifier == "" || qualifier == "$LATEST" }
func isVersionNumber(qualifier string) bool {
	if qualifier == "" || len(qualifier) > 9 {
		return false
	}
	for _, c := range qualifier {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
func versionNumber(qualifier string) int { n, _ := strconv.Atoi(qualifier); return n }
func fmtNotFound(arn string) error       { return notFound("Function not found: %s", arn) }
func runtimeVersionARN(region, rt string) string {
	// Lambda reports the runtime build a function runs on as an ARN ending in the
	// build's hash; Sluice has one build per runtime, so the hash is the runtime's.
	sum := sha256.Sum256([]byte("sluice:" + rt))
	return "arn:aws:lambda:" + region + "::runtime:" + hex.EncodeToString(sum[:])
}

// Configuration is Lambda's FunctionConfiguration, with AWS's JSON names. It is both
// what the API returns and what the store keeps for $LATEST and each version.
type Configuration struct {
	FunctionName         string                `json:"FunctionName"`
	FunctionArn          string                `json:"FunctionArn"`
	Runtime              string                `json:"Runtime,omitempty"`
	Role                 string                `json:"Role"`
	Handler              string                `json:"Handler,omitempty"`
	CodeSize             int64                 `json:"CodeSize"`
	Description          string                `json:"Description"`
	Timeout              int                   `json:"Timeout"`
	MemorySize           int                   `json:"MemorySize"`
	LastModified         string                `json:"LastModified"`
	CodeSha256           string                `json:"CodeSha256"`
	Version              string                `json:"Version"`
	Environment          *Environment          `json:"Environment,omitempty"`
	TracingConfig        TracingConfig         `json:"TracingConfig"`
	RevisionId           string                `json:"RevisionId"`
	State                string                `json:"State"`
	StateReason          string                `json:"StateReason,omitempty"`
	StateReasonCode      string                `json:"StateReasonCode,omitempty"`
	LastUpdateStatus     string                `json:"LastUpdateStatus"`
	PackageType          string                `json:"PackageType"`
	Architectures        []string              `json:"Architectures"`
	EphemeralStorage     EphemeralStorage      `json:"EphemeralStorage"`
	SnapStart            SnapStart             `json:"SnapStart"`
	RuntimeVersionConfig *RuntimeVersionConfig `json:"RuntimeVersionConfig,omitempty"`
	LoggingConfig        LoggingConfig         `json:"LoggingConfig"`
	Layers               []LayerRef            `json:"Layers,omitempty"`
	// CapacityProviderConfig attaches the function to a capacity provider (Lambda
	// Managed Instances, capacity.go).
	CapacityProviderConfig *CapacityProviderConfig `json:"CapacityProviderConfig,omitempty"`
}

// CapacityProviderConfig is Lambda's CapacityProviderConfig.
type CapacityProviderConfig struct {
	LambdaManagedInstancesCapacityProviderConfig *LMIConfig `json:"LambdaManagedInstancesCapacityProviderConfig"`
}

// LMIConfig is LambdaManagedInstancesCapacityProviderConfig.
type LMIConfig struct {
	CapacityProviderArn                   string   `json:"CapacityProviderArn"`
	PerExecutionEnvironmentMaxConcurrency *int     `json:"PerExecutionEnvironmentMaxConcurrency,omitempty"`
	ExecutionEnvironmentMemoryGiBPerVCpu  *float64 `json:"ExecutionEnvironmentMemoryGiBPerVCpu,omitempty"`
}

// capacityProviderArn is the capacity provider the configuration runs on, "" for a
// Lambda (default) function.
func (c *Configuration) capacityProviderArn() string {
	if c.CapacityProviderConfig == nil || c.CapacityProviderConfig.LambdaManagedInstancesCapacityProviderConfig == nil {
		return ""
	}
	return c.CapacityProviderConfig.LambdaManagedInstancesCapacityProviderConfig.CapacityProviderArn
}

// Environment is a function's environment variables.
type Environment struct {
	Variables map[string]string `json:"Variables"`
}

// TracingConfig is the X-Ray tracing mode ("PassThrough" or "Active").
type TracingConfig struct {
	Mode string `json:"Mode"`
}

// EphemeralStorage is the size of /tmp in MB.
type EphemeralStorage struct {
	Size int `json:"Size"`
}

// SnapStart reports SnapStart settings; Sluice never applies them.
type SnapStart struct {
	ApplyOn            string `json:"ApplyOn"`
	OptimizationStatus string `json:"OptimizationStatus"`
}

// RuntimeVersionConfig names the runtime build a function runs on.
type RuntimeVersionConfig struct {
	RuntimeVersionArn string `json:"RuntimeVersionArn"`
}

// LoggingConfig is the function's log format and group.
type LoggingConfig struct {
	LogFormat           string `json:"LogFormat"`
	LogGroup            string `json:"LogGroup"`
	ApplicationLogLevel string `json:"ApplicationLogLevel,omitempty"`
	SystemLogLevel      string `json:"SystemLogLevel,omitempty"`
}

// functionRecord is stored at /lambda/functions/<name>.
type functionRecord struct {
	Config Configuration `json:"config"` // $LATEST, FunctionArn unqualified
	// CodeHex is the hex SHA-256 of the zip: its blob key.
	CodeHex string `json:"codeHex"`
	// SpecRevision changes only when code or configuration change (not on permission
	// changes, which also change RevisionId), so the pool keeps warm instances.
	SpecRevision string            `json:"specRevision"`
	Tags         map[string]string `json:"tags,omitempty"`
	Policy       *policyDocument   `json:"policy,omitempty"`
	// ReservedConcurrency is PutFunctionConcurrency's value; nil when unreserved.
	ReservedConcurrency *int `json:"reservedConcurrency,omitempty"`
	// LastVersion is the highest version number ever published; AWS never reuses a
	// version number, even after the version is deleted.
	LastVersion int `json:"lastVersion"`
	// URLs are the function URLs, by qualifier ("" unqualified, else an alias).
	URLs map[string]*urlRecord `json:"urls,omitempty"`
	// EventInvoke are the event invoke configs, by qualifier ("$LATEST", a version
	// or an alias).
	EventInvoke map[string]*EventInvokeConfig `json:"eventInvoke,omitempty"`
	// Layers are the function's layer versions, resolved when configured (layer
	// versions are immutable, and a function keeps the ones it named).
	Layers []functionLayer `json:"layers,omitempty"`
	// Unzipped is the code's unzipped size (0 for records written before it was kept).
	Unzipped int64 `json:"unzipped,omitempty"`
}

// versionRecord is stored at /lambda/versions/<name>/<n>, or at
// /lambda/versions/<name>/$LATEST.PUBLISHED (latestPublishedKey).
type versionRecord struct {
	Config  Configuration   `json:"config"` // Version "n", FunctionArn qualified
	CodeHex string          `json:"codeHex"`
	Policy  *policyDocument `json:"policy,omitempty"`
	Layers  []functionLayer `json:"layers,omitempty"`
	// ContentHash identifies the code and configuration the version was published
	// from, so PublishVersion can tell whether $LATEST changed since.
	ContentHash string `json:"contentHash"`
}

// AliasConfiguration is Lambda's AliasConfiguration, with AWS's JSON names.
type AliasConfiguration struct {
	AliasArn        string              `json:"AliasArn"`
	Name            string              `json:"Name"`
	FunctionVersion string              `json:"FunctionVersion"`
	Description     string              `json:"Description"`
	RoutingConfig   *AliasRoutingConfig `json:"RoutingConfig,omitempty"`
	RevisionId      string              `json:"RevisionId"`
}

// AliasRoutingConfig sends a share of an alias's invocations to other versions.
type AliasRoutingConfig struct {
	AdditionalVersionWeights map[string]float64 `json:"AdditionalVersionWeights,omitempty"`
}

// aliasRecord is stored at /lambda/aliases/<name>/<alias>.
type aliasRecord struct {
	Alias  AliasConfiguration `json:"alias"`
	Policy *policyDocument    `json:"policy,omitempty"`
}

// contentHash summarizes what a published version freezes: code and every setting
// that changes how the function runs. AWS's PublishVersion: "Lambda doesn't publish a
// version if the function's configuration and code haven't changed since the last
// version."
func contentHash(c *Configuration) string {
	h := sha256.New()
	parts := []any{c.CodeSha256, c.Runtime, c.Handler, c.Role, c.Environment, c.Timeout,
		c.MemorySize, c.Architectures, c.EphemeralStorage, c.TracingConfig, c.LoggingConfig, c.Layers}
	if c.CapacityProviderConfig != nil {
		// Appended only when set, so versions published before it existed keep
		// their hashes.
		parts = append(parts, c.CapacityProviderConfig)
	}
	_ = json.NewEncoder(h).Encode(parts)
	return hex.EncodeToString(h.Sum(nil))
}
