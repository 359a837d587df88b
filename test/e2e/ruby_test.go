package e2e

import (
	"encoding/json"
	"os/exec"
	"testing"
)

// ruby3.3 and ruby3.4 functions run on the host's ruby with Sluice's runtime client
// (internal/runtime/shims/ruby): created and invoked with the AWS CLI, the handler
// requires a sibling file by bare name (RUBYLIB), a raised error comes back as AWS's
// Ruby runtime reports it (errorType "Function<ArgumentError>", X-Amz-Function-Error
// Unhandled).
func TestRubyRuntimesCLI(t *testing.T) {
	if exec.Command("ruby", "-v").Run() != nil {
		t.Skip("ruby not installed (scripts/install-deps.sh installs it)")
	}
	s := startSluice(t, startOpts{})
	zip := dirZip(t, "ruby-hello")
	for _, rt := range []string{"ruby3.3", "ruby3.4"} {
		t.Run(rt, func(t *testing.T) {
			name := "rb-" + rt[4:5] + rt[6:]
			cfg := s.createFunction(name, rt, "app.handler", zip, "--timeout", "10")
			if cfg["State"] != "Active" || cfg["Runtime"] != rt {
				t.Fatalf("create-function = %v", cfg)
			}
			meta, out := s.invokeCLI(name, `{"name":"ruby"}`)
			var got map[string]any
			if err := json.Unmarshal(out, &got); err != nil || meta["StatusCode"] != float64(200) || meta["FunctionError"] != nil ||
				got["greeting"] != "hello ruby" || got["function"] != name || got["request"] == "" || got["env"] != "AWS_Lambda_"+rt {
				t.Fatalf("invoke = %v %s (%v)", meta, out, err)
			}
			s.aws("lambda", "update-function-configuration", "--function-name", name, "--handler", "app.boom")
			s.aws("lambda", "wait", "function-updated-v2", "--function-name", name)
			meta, out = s.invokeCLI(name, `{}`)
			var e struct {
				ErrorMessage, ErrorType string
				StackTrace              []string
			}
			if err := json.Unmarshal(out, &e); err != nil || meta["FunctionError"] != "Unhandled" ||
				e.ErrorType != "Function<ArgumentError>" || e.ErrorMessage != "bad input" || len(e.StackTrace) == 0 {
				t.Fatalf("error invoke = %v %s (%v)", meta, out, err)
			}
		})
	}
}
