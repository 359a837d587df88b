package runtime

import "testing"

// INIT_START names the runtime as AWS does: family:release.vN, then the ARN.
func TestInitStartLine(t *testing.T) {
	for rt, want := range map[string]string{
		"nodejs24.x": "nodejs:24.v1", "python3.14": "python:3.14.v1", "ruby3.4": "ruby:3.4.v1", "provided.al2023": "provided:al2023.v1",
	} {
		got := initStartLine(&FunctionSpec{Runtime: rt, RuntimeVersionARN: "arn:aws:lambda:us-east-1::runtime:ab"})
		if got != "INIT_START Runtime Version: "+want+"\tRuntime Version ARN: arn:aws:lambda:us-east-1::runtime:ab" {
			t.Errorf("%s: %q", rt, got)
		}
	}
}
