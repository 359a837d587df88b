package lambda

import (
	"testing"
	"time"
)

// TestTimeoutOfCoversTheVersionThatRuns: an async event's lease must outlive the
// version it runs, which for a qualified event is not $LATEST's timeout.
func TestTimeoutOfCoversTheVersionThatRuns(t *testing.T) {
	ver := func(sec int) *cachedVersion { return &cachedVersion{config: &Configuration{Timeout: sec}} }
	c := newFunctionCache(&Service{})
	c.fns["f"] = &cachedFunction{
		name:     "f",
		latest:   ver(3),
		versions: map[string]*cachedVersion{"1": ver(60), "2": ver(600)},
		aliases: map[string]*cachedAlias{
			"prod":   {config: &AliasConfiguration{FunctionVersion: "1"}},
			"canary": {config: &AliasConfiguration{FunctionVersion: "1", RoutingConfig: &AliasRoutingConfig{AdditionalVersionWeights: map[string]float64{"2": 0.1}}}},
		},
	}
	tests := []struct {
		ref  functionRef
		want time.Duration
	}{
		{functionRef{Name: "f"}, 3 * time.Second},
		{functionRef{Name: "f", Qualifier: "$LATEST"}, 3 * time.Second},
		{functionRef{Name: "f", Qualifier: "1"}, 60 * time.Second},
		{functionRef{Name: "f", Qualifier: "prod"}, 60 * time.Second},
		{functionRef{Name: "f", Qualifier: "canary"}, 600 * time.Second},
		{functionRef{Name: "f", Qualifier: "9"}, 900 * time.Second},
		{functionRef{Name: "f", Qualifier: "nope"}, 900 * time.Second},
		{functionRef{Name: "gone"}, 900 * time.Second},
	}
	for _, tt := range tests {
		if got := c.timeoutOf(tt.ref); got != tt.want {
			t.Errorf("timeoutOf(%+v) = %v, want %v", tt.ref, got, tt.want)
		}
	}
}
