package runtime

import (
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/sluice-dev/sluice/internal/runtime/shims"
)

// ReservedEnvironmentKeys are the variables Lambda sets itself and a function's
// configuration may not override
// (https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime).
// The lambda service rejects them at CreateFunction/UpdateFunctionConfiguration;
// the pool additionally ignores them if they get through.
var ReservedEnvironmentKeys = map[string]bool{
	"_HANDLER":                        true,
	"_X_AMZN_TRACE_ID":                true,
	"AWS_DEFAULT_REGION":              true,
	"AWS_REGION":                      true,
	"AWS_EXECUTION_ENV":               true,
	"AWS_LAMBDA_FUNCTION_NAME":        true,
	"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": true,
	"AWS_LAMBDA_FUNCTION_VERSION":     true,
	"AWS_LAMBDA_INITIALIZATION_TYPE":  true,
	"AWS_LAMBDA_LOG_GROUP_NAME":       true,
	"AWS_LAMBDA_LOG_STREAM_NAME":      true,
	"AWS_ACCESS_KEY":                  true,
	"AWS_ACCESS_KEY_ID":               true,
	"AWS_SECRET_ACCESS_KEY":           true,
	"AWS_SESSION_TOKEN":               true,
	"AWS_LAMBDA_RUNTIME_API":          true,
	"LAMBDA_TASK_ROOT":                true,
	"LAMBDA_RUNTIME_DIR":              true,
}

// environment builds the process environment: Lambda's defined runtime variables, then
// the function's own variables (which may override the unreserved defaults such as
// LANG, PATH, TZ or AWS_ENDPOINT_URL, as on AWS).
func (p *Pool) environment(inst *instance, runtimeAPI, codeDir, runtimeDir string) []string {
	spec := inst.spec
	path := os.Getenv("PATH")
	if path == "" {
		path = "/usr/local/bin:/usr/bin:/bin"
	}
	vars := map[string]string{
		"AWS_LAMBDA_FUNCTION_NAME":        spec.FunctionName,
		"AWS_LAMBDA_FUNCTION_VERSION":     spec.Version,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": strconv.Itoa(memoryMB(spec)),
		"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/" + spec.FunctionName,
		"AWS_LAMBDA_LOG_STREAM_NAME":      inst.stream,
		"AWS_LAMBDA_RUNTIME_API":          runtimeAPI,
		"AWS_LAMBDA_INITIALIZATION_TYPE":  "on-demand",
		"_HANDLER":                        spec.Handler,
		"LAMBDA_TASK_ROOT":                codeDir,
		"LAMBDA_RUNTIME_DIR":              runtimeDir,
		"AWS_REGION":                      p.opts.Region,
		"AWS_DEFAULT_REGION":              p.opts.Region,
		"TZ":                              ":UTC",
		"LANG":                            "en_US.UTF-8",
		"PATH":                            path,
		// As on AWS (/var/task:/var/task/lib among others), so a bootstrap finds
		// shared libraries shipped in its zip.
		"LD_LIBRARY_PATH": codeDir + ":" + codeDir + "/lib",
	}
	if spec.multi() {
		// Lambda Managed Instances: runtime clients run this many pollers
		// (aws-lambda-go's lambdacontext.MaxConcurrency reads it).
		vars["AWS_LAMBDA_MAX_CONCURRENCY"] = strconv.Itoa(spec.slots())
	}
	if spec.LogGroup != "" {
		vars["AWS_LAMBDA_LOG_GROUP_NAME"] = spec.LogGroup
	}
	if spec.jsonLogs() {
		// What the runtimes' loggers read (LoggingConfig, logformat.go).
		vars["AWS_LAMBDA_LOG_FORMAT"] = "JSON"
		level := strings.ToUpper(spec.ApplicationLogLevel)
		if level == "" {
			level = "INFO"
		}
		vars["AWS_LAMBDA_LOG_LEVEL"] = level
	}
	if isManagedRuntime(spec.Runtime) {
		// provided.* runtimes have no AWS_EXECUTION_ENV on AWS.
		vars["AWS_EXECUTION_ENV"] = "AWS_Lambda_" + spec.Runtime
		// Runtime-specific variables (NODE_PATH for Node.js), which the function's
		// own variables may override.
		for _, kv := range shims.Env(spec.Runtime, codeDir) {
			if k, v, ok := strings.Cut(kv, "="); ok {
				vars[k] = v
			}
		}
	}
	// Layers: Lambda's layer paths (bin on PATH, lib on LD_LIBRARY_PATH, the
	// runtime's library folders), under /opt in a sandbox, else each layer's own
	// directory, later layers first as they override earlier ones.
	// https://docs.aws.amazon.com/lambda/latest/dg/packaging-layers.html#packaging-layers-paths
	if opts := inst.optDirs(p.sandboxed); len(opts) > 0 {
		vars["PATH"] += joinEach(opts, "/bin", ":")
		vars["LD_LIBRARY_PATH"] += joinEach(opts, "/lib", ":")
		switch {
		case strings.HasPrefix(spec.Runtime, "nodejs"):
			major := strings.TrimSuffix(strings.TrimPrefix(spec.Runtime, "nodejs"), ".x")
			vars["NODE_PATH"] = strings.TrimPrefix(joinEach(opts, "/nodejs/node"+major+"/node_modules", ":")+joinEach(opts, "/nodejs/node_modules", ":"), ":") +
				":" + vars["NODE_PATH"]
		case strings.HasPrefix(spec.Runtime, "python"):
			vars["PYTHONPATH"] = strings.TrimPrefix(joinEach(opts, "/python", ":")+joinEach(opts, "/python/lib/"+spec.Runtime+"/site-packages", ":"), ":")
		case strings.HasPrefix(spec.Runtime, "ruby"):
			// AWS: RUBYLIB=/var/task:/var/runtime/lib:/opt/ruby/lib, gems in /opt/ruby/gems/<version>.
			vars["RUBYLIB"] = strings.TrimPrefix(vars["RUBYLIB"]+joinEach(opts, "/ruby/lib", ":"), ":")
		}
	}
	if c := inst.creds; c.AccessKeyID != "" {
		vars["AWS_ACCESS_KEY_ID"] = c.AccessKeyID
		vars["AWS_SECRET_ACCESS_KEY"] = c.SecretAccessKey
		if c.SessionToken != "" {
			vars["AWS_SESSION_TOKEN"] = c.SessionToken
		}
	}
	if p.opts.EndpointURL != "" {
		vars["AWS_ENDPOINT_URL"] = p.opts.EndpointURL
	}
	for k, v := range spec.Environment {
		if !ReservedEnvironmentKeys[k] {
			vars[k] = v
		}
	}
	env := make([]string, 0, len(vars))
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	sort.Strings(env)
	return env
}

// optDirs are where the instance's layers are: /opt in a sandbox (merged), else
// each extracted layer, the last configured first.
func (inst *instance) optDirs(sandboxed bool) []string {
	if len(inst.layerDirs) == 0 {
		return nil
	}
	if sandboxed {
		return []string{"/opt"}
	}
	out := make([]string, 0, len(inst.layerDirs))
	for i := len(inst.layerDirs) - 1; i >= 0; i-- {
		out = append(out, inst.layerDirs[i])
	}
	return out
}

// joinEach returns sep+dir+suffix for every dir.
func joinEach(dirs []string, suffix, sep string) string {
	var b strings.Builder
	for _, d := range dirs {
		b.WriteString(sep + d + suffix)
	}
	return b.String()
}
