package lambda

import (
	"strings"
	"testing"
)

// Handler's constraints answer in the request validator's words: a long handler
// is refused for its length (before, for a pattern it matches), a handler with a
// space for its pattern, and one failing both lists both.
func TestValidateHandlerWording(t *testing.T) {
	long := strings.Repeat("h", 129)
	tests := []struct{ handler, want string }{
		{"index.handler", ""},
		{strings.Repeat("h", 128), ""},
		{long, "1 validation error detected: Value '" + long + "' at 'handler' failed to satisfy constraint: Member must have length less than or equal to 128"},
		{"a b", `1 validation error detected: Value 'a b' at 'handler' failed to satisfy constraint: Member must satisfy regular expression pattern: [^\s]+`},
		{long + " x", "2 validation errors detected: Value '" + long + " x' at 'handler' failed to satisfy constraint: Member must have length less than or equal to 128; " +
			"Value '" + long + ` x' at 'handler' failed to satisfy constraint: Member must satisfy regular expression pattern: [^\s]+`},
	}
	for _, tt := range tests {
		got := ""
		if err := validateHandler(tt.handler); err != nil {
			got = strings.TrimPrefix(err.Error(), "ValidationException: ")
		}
		if got != tt.want {
			t.Errorf("handler %.20q:\n got %s\nwant %s", tt.handler, got, tt.want)
		}
	}
}
