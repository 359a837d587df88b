package lambda

import (
	"strings"
	"time"
)

// lambdaRuntime is one runtime identifier Lambda's API knows, with the three dates of
// AWS's runtime deprecation policy
// (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html): after
// Deprecated Lambda stops patching it, from BlockCreate CreateFunction refuses it,
// from BlockUpdate UpdateFunctionCode and UpdateFunctionConfiguration refuse
// functions that use it. Existing functions keep running after all three, as on AWS.
type lambdaRuntime struct {
	id          string
	deprecated  string // YYYY-MM-DD (UTC); "" when not scheduled
	blockCreate string
	blockUpdate string
}

// lambdaRuntimes is every value of the Runtime enum in Lambda's API model (botocore
// lambda/2015-03-31, the same list the SDKs validate against), in the model's order.
// Dates are those on AWS's runtime pages as of 2026-12 (lambda-nodejs,
// lambda-python, lambda-ruby, runtimes-provided and the deprecated-runtimes table);
// runtimes retired long ago carry a past date so they are refused as on AWS.
var lambdaRuntimes = []lambdaRuntime{
	{"nodejs", "2016-10-31", "2016-10-31", "2016-10-31"},
	{"nodejs4.3", "2020-03-05", "2020-03-05", "2020-03-05"},
	{"nodejs6.10", "2019-08-12", "2019-08-12", "2019-08-12"},
	{"nodejs8.10", "2020-03-06", "2020-03-06", "2020-03-06"},
	{"nodejs10.x", "2021-07-30", "2021-07-30", "2022-02-14"},
	{"nodejs12.x", "2023-03-31", "2023-03-31", "2023-04-30"},
	{"nodejs14.x", "2023-12-04", "2024-01-09", "2024-02-08"},
	{"nodejs16.x", "2024-06-12", "2025-09-01", "2025-10-01"},
	{"java8", "2024-01-08", "2024-02-08", "2024-03-12"},
	{"java8.al2", "2026-06-30", "2026-07-31", "2026-08-31"},
	{"java11", "2026-06-30", "2026-07-31", "2026-08-31"},
	{"python2.7", "2021-07-15", "2021-07-15", "2022-05-30"},
	{"python3.6", "2022-07-18", "2022-08-29", "2022-09-12"},
	{"python3.7", "2023-12-04", "2024-01-09", "2024-02-08"},
	{"python3.8", "2024-10-14", "2025-09-01", "2025-10-01"},
	// AWS moved python3.9's block dates after its deprecation (2025-12-15).
	{"python3.9", "2025-12-15", "2027-02-01", "2027-03-03"},
	{"dotnetcore1.0", "2019-07-27", "2019-07-27", "2019-07-27"},
	{"dotnetcore2.0", "2019-05-30", "2019-05-30", "2019-05-30"},
	{"dotnetcore2.1", "2022-01-05", "2022-01-05", "2022-04-13"},
	{"dotnetcore3.1", "2023-04-03", "2023-04-03", "2023-05-03"},
	{"dotnet6", "2024-12-20", "2025-09-01", "2025-10-01"},
	{"dotnet8", "2026-11-10", "2026-12-10", "2027-01-11"},
	{"nodejs4.3-edge", "2019-04-30", "2019-04-30", "2019-04-30"},
	{"go1.x", "2024-01-08", "2024-02-08", "2024-03-12"},
	{"ruby2.5", "2021-07-30", "2021-07-30", "2022-03-31"},
	{"ruby2.7", "2023-12-07", "2024-01-09", "2024-02-08"},
	{"provided", "2024-01-08", "2024-02-08", "2024-03-12"},
	{"provided.al2", "2026-07-31", "2026-08-31", "2026-09-30"},
	{"nodejs18.x", "2025-09-01", "2026-02-03", "2026-03-09"},
	{"python3.10", "2026-10-31", "2026-11-30", "2027-01-15"},
	{"java17", "2026-06-30", "2026-07-31", "2026-08-31"},
	{"ruby3.2", "2026-03-31", "2026-06-01", "2026-07-01"},
	{"ruby3.3", "2027-03-31", "2027-04-30", "2027-05-31"},
	{"ruby3.4", "2028-03-31", "2028-04-30", "2028-05-31"},
	{"python3.11", "2027-06-30", "2027-07-31", "2027-08-31"},
	{"nodejs20.x", "2026-04-30", "2026-08-31", "2026-09-30"},
	{"provided.al2023", "2029-06-30", "2029-07-31", "2029-08-31"},
	{"python3.12", "2028-10-31", "2028-11-30", "2029-01-10"},
	{"java21", "2029-06-30", "2029-07-31", "2029-08-31"},
	{"python3.13", "2029-06-30", "2029-07-31", "2029-08-31"},
	{"nodejs22.x", "2027-04-30", "2027-06-01", "2027-07-01"},
	{"nodejs24.x", "2028-04-30", "2028-06-01", "2028-07-01"},
	{"python3.14", "2029-06-30", "2029-07-31", "2029-08-31"},
	{"java25", "2029-06-30", "2029-07-31", "2029-08-31"},
	{"dotnet10", "2028-11-14", "2028-12-14", "2029-01-15"},
	{"ruby4.0", "", "", ""},
}

func findRuntime(id string) (lambdaRuntime, bool) {
	for _, rt := range lambdaRuntimes {
		if rt.id == id {
			return rt, true
		}
	}
	return lambdaRuntime{}, false
}

// reached reports whether the UTC date day (YYYY-MM-DD) has begun at now.
func reached(day string, now time.Time) bool {
	if day == "" {
		return false
	}
	t, err := time.Parse(time.DateOnly, day)
	return err == nil && !now.UTC().Before(t)
}

// runtimeOp is what a runtime is being checked for.
type runtimeOp int

const (
	forCreate runtimeOp = iota // CreateFunction, or moving a function to the runtime
	forUpdate                  // changing a function that already uses the runtime
)

// checkRuntime applies AWS's runtime validation at now: an identifier outside the
// model's enum is a validation error listing the runtimes one can create functions
// with; a known runtime past its block date is refused with Lambda's deprecation
// message.
func checkRuntime(id string, op runtimeOp, now time.Time) error {
	rt, ok := findRuntime(id)
	if !ok {
		// AWS: "Value nodejs10.10 at 'runtime' failed to satisfy constraint: Member
		// must satisfy enum value set: [java8, java11, nodejs10.x, ...] or be a valid
		// ARN" (InvalidParameterValueException), listing the runtimes open for
		// creation.
		return invalidParam("Value %s at 'runtime' failed to satisfy constraint: Member must satisfy enum value set: [%s] or be a valid ARN",
			id, strings.Join(creatableRuntimes(now), ", "))
	}
	block := rt.blockCreate
	if op == forUpdate {
		block = rt.blockUpdate
	}
	if reached(block, now) {
		return invalidParam("The runtime parameter of %s is no longer supported for creating or updating AWS Lambda functions. We recommend you use a supported runtime while creating or updating functions.", id)
	}
	return nil
}

// creatableRuntimes lists, in the model's order, the runtimes CreateFunction accepts
// at now.
func creatableRuntimes(now time.Time) []string {
	var out []string
	for _, rt := range lambdaRuntimes {
		if !reached(rt.blockCreate, now) {
			out = append(out, rt.id)
		}
	}
	return out
}

// setRuntimeState sets State from whether this node can run cfg's runtime. AWS
// creates a function whose runtime it cannot set up and reports it in State Failed
// with a StateReasonCode; invoking it fails until the configuration is fixed.
func (s *Service) setRuntimeState(cfg *Configuration) {
	cfg.State, cfg.StateReason, cfg.StateReasonCode = "Active", "", ""
	if s.runtimes == nil {
		return
	}
	if err := s.runtimes.RuntimeAvailable(cfg.Runtime); err != nil {
		cfg.State = "Failed"
		cfg.StateReasonCode = "InvalidRuntime"
		cfg.StateReason = "The runtime " + cfg.Runtime + " cannot run on this Sluice node: " + err.Error()
	}
}

// notActive is Invoke's answer for a function that is not Active (AWS:
// ResourceConflictException, "The operation cannot be performed at this time. The
// function is currently in the following state: Pending").
func notActive(cfg *Configuration) error {
	// The reason stays out of the message, as on AWS; GetFunction shows StateReason.
	return conflict("The operation cannot be performed at this time. The function is currently in the following state: %s", cfg.State)
}
