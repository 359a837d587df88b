package awsproto

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"strings"
	"unicode/utf8"
)

// This file holds the request checks every service shares: decoding a JSON body
// into its input type without letting Go's wording (struct and type names) reach
// the client, and the length and pattern constraints of AWS's API models with the
// message AWS's request validator writes for them:
//
//	1 validation error detected: Value 'x' at 'functionName' failed to satisfy
//	constraint: Member must have length less than or equal to 64
//
// Services word a decode failure in their own dialect (Lambda's
// InvalidRequestContentException, API Gateway's SerializationException); the
// constraint messages are the same across AWS.

// DecodeError is a JSON body that does not fit its input type, described in JSON
// terms only.
type DecodeError struct {
	// Syntax is set when the body is not JSON at all; Line and Column (1-based)
	// locate the offending byte, Char is it (0 at end of input).
	Syntax       bool
	Line, Column int
	Char         rune
	// Field is the dotted path of a value of the wrong type ("Environment.Variables"),
	// Got its JSON kind ("number") and Want the kind the field takes ("string").
	Field, Got, Want string
	// Base64 is set when a binary member's string is not base64; Char is the
	// first character that is not (0 when the string is cut short).
	Base64 bool
}

func (e *DecodeError) Error() string {
	if e.Base64 {
		if e.Char == 0 {
			return "Failed to decode VALUE_STRING as base64 (MIME-NO-LINEFEEDS): Unexpected end of base64-encoded String: base64 variant 'MIME-NO-LINEFEEDS' expects padding (one or more '=' characters) at the end"
		}
		return fmt.Sprintf("Failed to decode VALUE_STRING as base64 (MIME-NO-LINEFEEDS): Illegal character %s in base64 content", quoteCharHex(e.Char))
	}
	if e.Syntax {
		if e.Char == 0 {
			return fmt.Sprintf("Unexpected end-of-input at [line: %d, column: %d]", e.Line, e.Column)
		}
		return fmt.Sprintf("Unexpected character (%s) at [line: %d, column: %d]", quoteChar(e.Char), e.Line, e.Column)
	}
	return fmt.Sprintf("Cannot deserialize value of type `%s` from %s value (through reference chain: %s)", e.Want, e.Got, e.Field)
}

// quoteChar writes c the way Jackson (which AWS's services parse with) does:
// ('x' (code 120)).
func quoteChar(c rune) string {
	if c < 0x20 {
		return fmt.Sprintf("(CTRL-CHAR, code %d)", c)
	}
	return fmt.Sprintf("'%c' (code %d)", c, c)
}

// quoteCharHex is Jackson's Base64Variant spelling: '!' (code 0x21).
func quoteCharHex(c rune) string {
	if c < 0x20 {
		return fmt.Sprintf("(code 0x%x)", c)
	}
	return fmt.Sprintf("'%c' (code 0x%x)", c, c)
}

// badBase64Char finds the character Go's base64 decoder stopped at. Go gives
// only an offset into the string, so it looks for a value of one of v's binary
// members (binaryMembers) that fails to decode with the same error, and returns
// its first character outside the base64 alphabet at or after that offset. It is
// 0 when there is none (a string cut short, which Jackson reports as missing
// padding).
func badBase64Char(body []byte, v any, be base64.CorruptInputError) rune {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="
	names := map[string]bool{}
	binaryMembers(reflect.TypeOf(v), names, 0)
	type frame struct{ object, expectKey bool }
	var stack []frame
	var key string
	valueDone := func() { // a value ended; an enclosing object expects a key next
		if n := len(stack); n > 0 && stack[n-1].object {
			stack[n-1].expectKey = true
		}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	for {
		tok, err := dec.Token()
		if err != nil {
			return 0
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{', '[':
				valueDone()
				stack = append(stack, frame{object: t == '{', expectKey: t == '{'})
			default:
				stack = stack[:len(stack)-1]
			}
		case string:
			if n := len(stack); n > 0 && stack[n-1].object && stack[n-1].expectKey {
				key = strings.ToLower(t)
				stack[n-1].expectKey = false
				continue
			}
			valueDone()
			var got base64.CorruptInputError
			if !names[key] {
				continue
			}
			if _, err := base64.StdEncoding.DecodeString(t); !errors.As(err, &got) || got != be {
				continue
			}
			for _, r := range t[min(int(be), len(t)):] {
				if !strings.ContainsRune(alphabet, r) {
					return r
				}
			}
		default:
			valueDone()
		}
	}
}

// binaryMembers adds the JSON names (lower case, as Go matches them) of t's
// []byte members, through nested structs, pointers, slices and maps.
func binaryMembers(t reflect.Type, names map[string]bool, depth int) {
	if t == nil || depth > 8 {
		return
	}
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice && t.Elem().Kind() != reflect.Uint8 || t.Kind() == reflect.Map || t.Kind() == reflect.Array {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return
	}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Uint8 {
			names[strings.ToLower(name)] = true
			continue
		}
		binaryMembers(ft, names, depth+1)
	}
}

// DecodeJSON decodes body into v. An empty body (only white space) leaves v as it
// is, as AWS treats a missing body as an empty input. A failure is a *DecodeError.
func DecodeJSON(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	err := json.Unmarshal(body, v)
	if err == nil {
		return nil
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		if strings.HasPrefix(se.Error(), "unexpected end of JSON input") {
			return syntaxError(body, int64(len(body))+1) // past the last byte
		}
		return syntaxError(body, se.Offset)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := te.Field
		if field == "" {
			field = "(root)"
		}
		return &DecodeError{Field: field, Got: jsonKind(te.Value), Want: kindOf(te.Type)}
	}
	// A []byte member (Lambda's ZipFile, say) holding a string that is not
	// base64. Go reports the offset in the decoded string only; Jackson, which
	// AWS parses with, says "Failed to decode VALUE_STRING as base64
	// (MIME-NO-LINEFEEDS): Illegal character '!' (code 0x21) in base64 content".
	var be base64.CorruptInputError
	if errors.As(err, &be) {
		return &DecodeError{Base64: true, Char: badBase64Char(body, v, be)}
	}
	// An input type's own UnmarshalJSON failed (a value out of its enum, say):
	// the wording is the type's, which is ours, not Go's.
	var ae *Error
	if errors.As(err, &ae) {
		return ae
	}
	// Anything else (invalid UTF-8 in a string is replaced, not refused) is a
	// value that does not fit; point at the start.
	return &DecodeError{Syntax: true, Line: 1, Column: 1, Char: firstRune(body)}
}

// syntaxError locates offset (Go counts the bytes read, so the offending byte is
// the one before it) as a 1-based line and column.
func syntaxError(body []byte, offset int64) *DecodeError {
	i := int(offset) - 1
	if i < 0 {
		i = 0
	}
	if i > len(body) {
		i = len(body)
	}
	e := &DecodeError{Syntax: true, Line: 1 + bytes.Count(body[:i], []byte("\n"))}
	e.Column = 1 + i - (bytes.LastIndexByte(body[:i], '\n') + 1)
	if i < len(body) {
		e.Char, _ = utf8.DecodeRune(body[i:])
	}
	return e
}

func firstRune(b []byte) rune {
	r, _ := utf8.DecodeRune(bytes.TrimSpace(b))
	return r
}

// jsonKind names what Go's decoder saw ("number 5" → "number").
func jsonKind(v string) string {
	v, _, _ = strings.Cut(v, " ")
	switch v {
	case "bool":
		return "boolean"
	case "":
		return "unknown"
	}
	return v
}

// kindOf names the JSON kind a Go type takes, never the Go type itself.
func kindOf(t reflect.Type) string {
	if t == nil {
		return "value"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice, reflect.Array:
		return "list"
	case reflect.Map, reflect.Struct:
		return "object"
	}
	return "value"
}

// Violation is one failed constraint of AWS's API model on one member.
type Violation struct {
	Value      string // the value as AWS quotes it; "" with Null set for a missing member
	Null       bool
	Member     string // the member's path as AWS writes it: "functionName", "createRestApiInput.name"
	Constraint string // "Member must have length less than or equal to 64"
}

func (v Violation) String() string {
	if v.Null {
		return fmt.Sprintf("Value null at '%s' failed to satisfy constraint: %s", v.Member, v.Constraint)
	}
	return fmt.Sprintf("Value '%s' at '%s' failed to satisfy constraint: %s", quoteValue(v.Value), v.Member, v.Constraint)
}

// maxQuoted bounds how much of a refused value is echoed back: a 1 MB name must
// not become a 1 MB error body.
const maxQuoted = 256

func quoteValue(s string) string { return truncateEcho(s, maxQuoted) }

// truncateEcho cuts s to at most max bytes (on a rune boundary, marked "...")
// and replaces invalid UTF-8.
func truncateEcho(s string, max int) string {
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "..."
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// ValidationError is AWS's ValidationException for the violations found, in the
// order found: "1 validation error detected: ..." or "2 validation errors
// detected: ...; ...". It is nil when there are none.
func ValidationError(vs ...*Violation) *Error {
	var msgs []string
	for _, v := range vs {
		if v != nil {
			msgs = append(msgs, v.String())
		}
	}
	switch len(msgs) {
	case 0:
		return nil
	case 1:
		return Errorf(http.StatusBadRequest, "ValidationException", "1 validation error detected: %s", msgs[0])
	}
	return Errorf(http.StatusBadRequest, "ValidationException", "%d validation errors detected: %s", len(msgs), strings.Join(msgs, "; "))
}

// CheckLength is the model's min/max length constraint on a string member,
// counted in characters as AWS counts them; max 0 means no upper bound.
func CheckLength(member, value string, minLen, maxLen int) *Violation {
	n := utf8.RuneCountInString(value)
	switch {
	case n < minLen:
		return &Violation{Value: value, Member: member, Constraint: fmt.Sprintf("Member must have length greater than or equal to %d", minLen)}
	case maxLen > 0 && n > maxLen:
		return &Violation{Value: value, Member: member, Constraint: fmt.Sprintf("Member must have length less than or equal to %d", maxLen)}
	}
	return nil
}

// CheckPattern is the model's pattern constraint; pattern is the regular
// expression as the model spells it (AWS quotes it in the message), re the
// anchored form that checks it.
func CheckPattern(member, value string, re *regexp.Regexp, pattern string) *Violation {
	if re.MatchString(value) {
		return nil
	}
	return &Violation{Value: value, Member: member, Constraint: "Member must satisfy regular expression pattern: " + pattern}
}

// CheckRange is the model's min/max constraint on a number member.
func CheckRange(member string, value, minVal, maxVal int64) *Violation {
	switch {
	case value < minVal:
		return &Violation{Value: fmt.Sprint(value), Member: member, Constraint: fmt.Sprintf("Member must have value greater than or equal to %d", minVal)}
	case value > maxVal:
		return &Violation{Value: fmt.Sprint(value), Member: member, Constraint: fmt.Sprintf("Member must have value less than or equal to %d", maxVal)}
	}
	return nil
}

// CheckRequired is the model's required constraint.
func CheckRequired(member string, present bool) *Violation {
	if present {
		return nil
	}
	return &Violation{Null: true, Member: member, Constraint: "Member must not be null"}
}

// HasControl reports whether s holds a control character (NUL included) or is not
// valid UTF-8: no AWS name or identifier takes one, and they break logs, headers
// and the store's keys.
func HasControl(s string) bool {
	if !utf8.ValidString(s) {
		return true
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return true
		}
	}
	return false
}
