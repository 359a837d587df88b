package lambda

import (
	"bytes"
	"encoding/json"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/sluice-dev/sluice/internal/awsproto"
	"github.com/sluice-dev/sluice/internal/codezip"
)

// Lambda's limits (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html).
const (
	maxUnzippedCode   = 262144000   // 250 MB, code and layers, unzipped
	maxZippedCode     = 52428800    // 50 MB, zipped, direct upload
	maxTotalCode      = 80530636800 // 75 GB per region
	accountConcurrent = 1000
	// minUnreserved is the part of the account's concurrency that
	// PutFunctionConcurrency must leave to functions without a reservation (all
	// of it for an account below that: AWS answers "... below its minimum value
	// of [10]" on a new account whose quota is 10).
	minUnreserved = 100
	maxEnvBytes   = 4096
)

const rolePattern = `arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+`

var (
	roleRE    = regexp.MustCompile(`^` + rolePattern + `$`)
	handlerRE = regexp.MustCompile(`^[^\s]+$`)
	// The model's pattern is [a-zA-Z]([a-zA-Z0-9_])+; Sluice also takes one-letter
	// names, which scripts written against Sluice's e2e suite already use.
	envKeyRE = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9_]*$`)
)

// reservedEnvKeys are the variables Lambda sets itself and refuses to let a function
// override.
var reservedEnvKeys = []string{
	"_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
	"AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
	"AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
	"AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
	"AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
}

func validateRole(role string) error {
	if role == "" {
		return validation("Value null at 'role' failed to satisfy constraint: Member must not be null")
	}
	if !roleRE.MatchString(role) {
		return validation("Value '%s' at 'role' failed to satisfy constraint: Member must satisfy regular expression pattern: %s", role, rolePattern)
	}
	return nil
}

// validateHandler applies the model's Handler constraints (length at most 128,
// pattern [^\s]+), each in the request validator's own words and all that fail
// in one message, as AWS reports them ("2 validation errors detected: ...").
func validateHandler(h string) error {
	if err := awsproto.ValidationError(
		awsproto.CheckLength("handler", h, 0, 128),
		awsproto.CheckPattern("handler", h, handlerRE, `[^\s]+`),
	); err != nil {
		return err
	}
	return nil
}

func validateTimeout(t int) error {
	if t < 1 {
		return validation("Value '%d' at 'timeout' failed to satisfy constraint: Member must have value greater than or equal to 1", t)
	}
	if t > 900 {
		return validation("Value '%d' at 'timeout' failed to satisfy constraint: Member must have value less than or equal to 900", t)
	}
	return nil
}

func validateMemory(m int) error {
	if m < 128 {
		return validation("Value '%d' at 'memorySize' failed to satisfy constraint: Member must have value greater than or equal to 128", m)
	}
	if m > 10240 {
		return validation("Value '%d' at 'memorySize' failed to satisfy constraint: Member must have value less than or equal to 10240", m)
	}
	return nil
}

func validateDescription(d string) error {
	if len(d) > 256 {
		return validation("Value '%s' at 'description' failed to satisfy constraint: Member must have length less than or equal to 256", d)
	}
	return nil
}

func validateArchitectures(a []string) error {
	if len(a) == 0 {
		return nil
	}
	if len(a) > 1 {
		return validation("Value '[%s]' at 'architectures' failed to satisfy constraint: Member must have length less than or equal to 1", strings.Join(a, ", "))
	}
	if a[0] != "x86_64" && a[0] != "arm64" {
		return validation("Value '[%s]' at 'architectures' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set: [x86_64, arm64]]", a[0])
	}
	return nil
}

func validateEphemeral(e *EphemeralStorage) error {
	if e == nil {
		return nil
	}
	if e.Size < 512 || e.Size > 10240 {
		return validation("Value '%d' at 'ephemeralStorage.size' failed to satisfy constraint: Member must have value between 512 and 10240", e.Size)
	}
	return nil
}

// validateEnvironment applies Lambda's checks on environment variables: valid
// names, no reserved keys, at most 4 KB in total.
func validateEnvironment(env *Environment) error {
	if env == nil {
		return nil
	}
	var reserved, bad []string
	for k := range env.Variables {
		if slices.Contains(reservedEnvKeys, k) {
			reserved = append(reserved, k)
		} else if !envKeyRE.MatchString(k) {
			bad = append(bad, k)
		}
	}
	if len(reserved) > 0 {
		sort.Strings(reserved)
		return invalidParam("Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: %s", strings.Join(reserved, ","))
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		return validation("Value at 'environment.variables' failed to satisfy constraint: Map keys must satisfy constraint: [Member must satisfy regular expression pattern: [a-zA-Z]([a-zA-Z0-9_])+]")
	}
	if b, _ := json.Marshal(env.Variables); len(b) > maxEnvBytes {
		return invalidParam("Lambda was unable to configure your environment variables because the environment variables you have provided exceeded the 4KB limit. String measured: %s", b)
	}
	return nil
}

// unzippedSize validates a zip archive as validateZip does and returns its
// unzipped size (checked by codezip, never trusted from a header alone).
func unzippedSize(code []byte) (int64, error) {
	if len(code) > maxZippedCode {
		return 0, invalidParam("Unzipped size must be smaller than %d bytes", maxUnzippedCode)
	}
	sum, err := codezip.Check(bytes.NewReader(code), int64(len(code)), codezip.Limits{MaxUnzippedBytes: maxUnzippedCode})
	if err != nil {
		return 0, invalidParam("%s", err.Error())
	}
	return sum.UnzippedBytes, nil
}

// validateZip checks that code is a zip archive Lambda would accept: at create and
// update time, so a bad package never reaches an invoke (AWS validates on upload).
func validateZip(code []byte) error {
	if len(code) > maxZippedCode {
		return invalidParam("Unzipped size must be smaller than %d bytes", maxUnzippedCode)
	}
	if _, err := codezip.Check(bytes.NewReader(code), int64(len(code)), codezip.Limits{MaxUnzippedBytes: maxUnzippedCode}); err != nil {
		return invalidParam("%s", err.Error())
	}
	return nil
}
