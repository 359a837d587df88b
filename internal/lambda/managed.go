package lambda

import (
	"errors"
	"net/http"
	goruntime "runtime"
	"strconv"
	"strings"

	"github.com/sluice-dev/sluice/internal/awsproto"
	"github.com/sluice-dev/sluice/internal/store"
)

// Functions on Lambda Managed Instances (LMI): CreateFunction's
// CapacityProviderConfig attaches a function to a capacity provider (capacity.go),
// and its execution environments then serve several invocations at once, up to
// PerExecutionEnvironmentMaxConcurrency
// (https://docs.aws.amazon.com/lambda/latest/dg/lambda-managed-instances.html,
// API_LambdaManagedInstancesCapacityProviderConfig). What Sluice does with each
// member:
//
//   - CapacityProviderArn: must name an existing capacity provider of this
//     account and region.
//   - PerExecutionEnvironmentMaxConcurrency (1..1600): honoured for provided.*
//     and nodejs* runtimes: the pool serves that many invocations at once in one
//     process (runtime.FunctionSpec.MaxConcurrency, AWS_LAMBDA_MAX_CONCURRENCY for
//     the runtime client, as aws-lambda-go and Sluice's Node.js client read it:
//     async handlers run concurrently in its one thread, others one at a time).
//     When omitted, AWS's default per vCPU for the runtime (8 for the OS-only
//     runtime, 64 for Node.js), the vCPUs being this host's. Sluice's Python
//     client polls one invocation at a time, so a Python function runs each
//     concurrent invocation in a process of its own, which is how AWS runs Python
//     on LMI. AWS's Node.js spreads invocations over worker threads as well
//     (AWS_LAMBDA_NODEJS_WORKER_COUNT); Sluice's runs them in one thread.
//   - ExecutionEnvironmentMemoryGiBPerVCpu (2, 4 or 8): validated, then refused
//     with 501: execution environments share the host's CPUs, so a memory-to-vCPU
//     ratio cannot be given to them.
//
// An LMI function runs published versions only: an unqualified invoke runs
// $LATEST.PUBLISHED (PublishVersion with PublishTo LATEST_PUBLISHED), an invoke of
// $LATEST is refused ("$LATEST.PUBLISHED version in Lambda Managed Instances").

// latestPublished is the version PublishTo LATEST_PUBLISHED (re)publishes.
const latestPublished = "$LATEST.PUBLISHED"

// capacityProviderArnPattern is the model's pattern of
// LambdaManagedInstancesCapacityProviderConfig.CapacityProviderArn.
const capacityProviderArnPattern = `arn:aws[a-zA-Z-]*:lambda:[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:\d{12}:capacity-provider:[a-zA-Z0-9-_]+`

// lmiRuntimes are the runtimes AWS runs on Lambda Managed Instances that Sluice
// has: Node.js 22 and later, Python 3.13 and later, and the OS-only runtime
// provided.al2023 ("Lambda Managed Instances runtimes"; Java 21+ and .NET 8+ are
// the others, which Sluice does not run).
func lmiRuntime(rt string) bool {
	switch {
	case rt == "provided.al2023":
		return true
	case strings.HasPrefix(rt, "nodejs") && strings.HasSuffix(rt, ".x"):
		n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(rt, "nodejs"), ".x"))
		return err == nil && n >= 22
	case strings.HasPrefix(rt, "python3."):
		n, err := strconv.Atoi(strings.TrimPrefix(rt, "python3."))
		return err == nil && n >= 13
	}
	return false
}

// checkLMIConfig applies the model's constraints on a CapacityProviderConfig, all
// failures in one message as AWS's validator reports them, then Lambda's own rules.
func checkLMIConfig(in *CapacityProviderConfig) error {
	const at = "capacityProviderConfig.lambdaManagedInstancesCapacityProviderConfig"
	lmi := in.LambdaManagedInstancesCapacityProviderConfig
	if lmi == nil {
		return awsproto.ValidationError(awsproto.CheckRequired(at, false))
	}
	vs := []*awsproto.Violation{awsproto.CheckRequired(at+".capacityProviderArn", lmi.CapacityProviderArn != "")}
	if lmi.CapacityProviderArn != "" {
		vs = append(vs, awsproto.CheckLength(at+".capacityProviderArn", lmi.CapacityProviderArn, 1, 140),
			awsproto.CheckPattern(at+".capacityProviderArn", lmi.CapacityProviderArn, capacityProviderARNRE, capacityProviderArnPattern))
	}
	if c := lmi.PerExecutionEnvironmentMaxConcurrency; c != nil {
		vs = append(vs, awsproto.CheckRange(at+".perExecutionEnvironmentMaxConcurrency", int64(*c), 1, 1600))
	}
	if r := lmi.ExecutionEnvironmentMemoryGiBPerVCpu; r != nil && (*r < 2 || *r > 8) {
		bound := "greater than or equal to 2.0"
		if *r > 8 {
			bound = "less than or equal to 8.0"
		}
		vs = append(vs, &awsproto.Violation{Value: strconv.FormatFloat(*r, 'f', -1, 64),
			Member: at + ".executionEnvironmentMemoryGiBPerVCpu", Constraint: "Member must have value " + bound})
	}
	if err := awsproto.ValidationError(vs...); err != nil {
		return err
	}
	if r := lmi.ExecutionEnvironmentMemoryGiBPerVCpu; r != nil {
		// "The supported memory-to-CPU ratios are 2GB, 4GB, or 8GB per CPU" (AWS SAM,
		// CapacityProviderConfig.ExecutionEnvironmentMemoryGiBPerVCpu).
		if *r != 2 && *r != 4 && *r != 8 {
			return invalidParam("ExecutionEnvironmentMemoryGiBPerVCpu must be 2.0, 4.0 or 8.0 (GiB of memory per vCPU); got %s.",
				strconv.FormatFloat(*r, 'f', -1, 64))
		}
		return notImplemented("ExecutionEnvironmentMemoryGiBPerVCpu is not implemented in Sluice: execution environments share the host's CPUs, so a memory-to-vCPU ratio cannot be given to them. Omit it.")
	}
	return nil
}

// checkLMIFunction checks what an LMI function needs beyond its own settings: a
// runtime that runs on LMI, and the capacity provider, read in r.
func (s *Service) checkLMIFunction(r store.Reader, cfg *Configuration) error {
	arn := cfg.capacityProviderArn()
	if arn == "" {
		return nil
	}
	if !lmiRuntime(cfg.Runtime) {
		return invalidParam("Runtime %s is not supported for Lambda Managed Instances. Use nodejs22.x or later, python3.13 or later, or provided.al2023.", cfg.Runtime)
	}
	name, err := s.capacityProviderName(arn)
	if err != nil {
		return err
	}
	if arn != s.capacityProviderARN(name) { // another account's or region's
		return capacityProviderNotFound(arn)
	}
	if _, err := r.Get(capacityProviderKey(name)); errors.Is(err, store.ErrNotFound) {
		return capacityProviderNotFound(arn)
	} else if err != nil {
		return err
	}
	return nil
}

// lmiDefaultPerVCPU is AWS's default PerExecutionEnvironmentMaxConcurrency per
// vCPU for the OS-only runtime ("Rust support for Lambda Managed Instances":
// "the default value for Rust is 8 concurrent requests per vCPU").
const lmiDefaultPerVCPU = 8

// lmiNodeDefaultPerVCPU is that default for Node.js ("Node.js runtime for Lambda
// Managed Instances": "For Node.js runtimes, the default is 64 concurrent
// requests per vCPU").
const lmiNodeDefaultPerVCPU = 64

// lmiMaxConcurrency is how many invocations one instance of cfg serves at once: 0
// (one at a time) for a Lambda (default) function and for runtimes whose Sluice
// client polls one invocation at a time (Python).
func lmiMaxConcurrency(cfg *Configuration) int {
	if cfg.capacityProviderArn() == "" {
		return 0
	}
	perVCPU := 0
	switch {
	case strings.HasPrefix(cfg.Runtime, "provided"):
		perVCPU = lmiDefaultPerVCPU
	case strings.HasPrefix(cfg.Runtime, "nodejs"):
		perVCPU = lmiNodeDefaultPerVCPU
	default:
		return 0
	}
	if c := cfg.CapacityProviderConfig.LambdaManagedInstancesCapacityProviderConfig.PerExecutionEnvironmentMaxConcurrency; c != nil {
		return *c
	}
	return perVCPU * goruntime.GOMAXPROCS(0)
}

// noPublishedVersion is Invoke's NoPublishedVersionException (400): an unqualified
// invoke of an LMI function runs $LATEST.PUBLISHED, and there is none.
func noPublishedVersion(arn string) error {
	return awsproto.Errorf(http.StatusBadRequest, "NoPublishedVersionException",
		"The function %s has no published version to invoke. Lambda Managed Instances functions run published versions: publish one with PublishVersion (PublishTo LATEST_PUBLISHED for $LATEST.PUBLISHED) and invoke it, or a numbered version or alias.", arn)
}

// functionScalingConfig answers Get/PutFunctionScalingConfig (the minimum and
// maximum execution environments of an LMI function version) for a function that
// exists: 501, since Sluice neither keeps environments warm ahead of invocations
// nor caps them per version (they start on demand, up to --max-instances).
func (s *Service) functionScalingConfig(c *call) error {
	ref, err := s.parseFunctionRef(c.function, "")
	if err != nil {
		return err
	}
	if _, err := s.readFunction(c.r.Context(), functionRef{Name: ref.Name, Foreign: ref.Foreign}); err != nil {
		return err
	}
	op := "GetFunctionScalingConfig"
	if c.r.Method == http.MethodPut {
		op = "PutFunctionScalingConfig"
	}
	return notImplemented("%s (FunctionScalingConfig: MinExecutionEnvironments, MaxExecutionEnvironments) is not implemented in Sluice: execution environments start on demand, up to the node's --max-instances, and none is kept warm ahead of invocations.", op)
}
