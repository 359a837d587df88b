package awsproto

import (
	"regexp"
	"strings"
	"testing"
)

func TestDecodeJSONSpeaksJSON(t *testing.T) {
	type env struct {
		Variables map[string]string `json:"Variables"`
	}
	type input struct {
		FunctionName string `json:"FunctionName"`
		Timeout      *int   `json:"Timeout"`
		Environment  *env   `json:"Environment"`
		Layers       []string
		Role         string
		Code         *struct{ ZipFile []byte }
		ZipFile      []byte
	}
	tests := []struct{ body, want string }{
		{`{"FunctionName":5}`, "Cannot deserialize value of type `string` from number value (through reference chain: FunctionName)"},
		{`{"Timeout":"x"}`, "Cannot deserialize value of type `integer` from string value (through reference chain: Timeout)"},
		{`{"Environment":{"Variables":{"A":1}}}`, "Cannot deserialize value of type `string` from number value (through reference chain: Environment.Variables)"},
		{`{"Layers":{}}`, "Cannot deserialize value of type `list` from object value (through reference chain: Layers)"},
		{`[1]`, "Cannot deserialize value of type `object` from array value (through reference chain: (root))"},
		{`{"FunctionName":x}`, "Unexpected character ('x' (code 120)) at [line: 1, column: 17]"},
		{"{\n \"a\":\n\x01}", "Unexpected character ((CTRL-CHAR, code 1)) at [line: 3, column: 1]"},
		{`{"FunctionName":`, "Unexpected end-of-input at [line: 1, column: 17]"},
		{`{} {}`, "Unexpected character ('{' (code 123)) at [line: 1, column: 4]"},
		// A binary member that is not base64 (before, this was reported as an
		// unexpected '{' at line 1, column 1).
		{`{"FunctionName":"f","ZipFile":"not base64!"}`, "Failed to decode VALUE_STRING as base64 (MIME-NO-LINEFEEDS): Illegal character ' ' (code 0x20) in base64 content"},
		{`{"Role":"arn:aws:iam::1:role/r","Code":{"ZipFile":"not base64!"}}`, "Failed to decode VALUE_STRING as base64 (MIME-NO-LINEFEEDS): Illegal character ' ' (code 0x20) in base64 content"},
		{`{"ZipFile":"UEsDBA=!"}`, "Failed to decode VALUE_STRING as base64 (MIME-NO-LINEFEEDS): Illegal character '!' (code 0x21) in base64 content"},
		{`{"ZipFile":"UEsDB"}`, "Failed to decode VALUE_STRING as base64 (MIME-NO-LINEFEEDS): Unexpected end of base64-encoded String: base64 variant 'MIME-NO-LINEFEEDS' expects padding (one or more '=' characters) at the end"},
	}
	for _, tt := range tests {
		var in input
		err := DecodeJSON([]byte(tt.body), &in)
		if err == nil || err.Error() != tt.want {
			t.Errorf("%q: got %v\nwant %s", tt.body, err, tt.want)
		}
		if err != nil && (strings.Contains(err.Error(), "Go ") || strings.Contains(err.Error(), "input.")) {
			t.Errorf("%q: Go wording in %q", tt.body, err)
		}
	}
	var in input
	if err := DecodeJSON([]byte(" \n"), &in); err != nil {
		t.Errorf("empty body: %v", err)
	}
}

func TestValidationErrorWording(t *testing.T) {
	re := regexp.MustCompile(`^[a-z]+$`)
	got := ValidationError(
		CheckLength("functionName", strings.Repeat("é", 300), 1, 64),
		CheckPattern("handler", "A B", re, "[a-z]+"),
		CheckRange("timeout", 0, 1, 900),
		CheckRequired("role", false),
		CheckLength("ok", "x", 1, 2),
	)
	want := "4 validation errors detected: Value '" + strings.Repeat("é", 128) + "...' at 'functionName' failed to satisfy constraint: Member must have length less than or equal to 64; " +
		"Value 'A B' at 'handler' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-z]+; " +
		"Value '0' at 'timeout' failed to satisfy constraint: Member must have value greater than or equal to 1; " +
		"Value null at 'role' failed to satisfy constraint: Member must not be null"
	if got == nil || got.Message != want || got.Code != "ValidationException" || got.Status != 400 {
		t.Fatalf("got %+v\nwant %s", got, want)
	}
	if ValidationError(nil, nil) != nil {
		t.Fatal("no violations must be no error")
	}
	one := ValidationError(CheckRequired("role", false))
	if one.Message != "1 validation error detected: Value null at 'role' failed to satisfy constraint: Member must not be null" {
		t.Fatal(one.Message)
	}
}

func TestErrorfBoundsEchoedValues(t *testing.T) {
	e := Errorf(400, "X", "Invalid name %s", strings.Repeat("n", 1<<20)+"\xff")
	if len(e.Message) > maxEchoed+64 || !strings.HasSuffix(e.Message, "...") {
		t.Fatalf("message of %d bytes", len(e.Message))
	}
	args := []any{"\xffok"}
	e = Errorf(400, "X", "%s", args...)
	if e.Message != "\uFFFDok" || args[0] != "\xffok" {
		t.Fatalf("got %q, args %q", e.Message, args)
	}
}

func TestHasControl(t *testing.T) {
	for s, want := range map[string]bool{"ok name": false, "a\x00b": true, "tab\t": true, "\x7f": true, "\xff": true, "ünï": false} {
		if HasControl(s) != want {
			t.Errorf("HasControl(%q) != %v", s, want)
		}
	}
}
