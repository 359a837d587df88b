package cfn

import (
	"crypto/rand"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// props reads one resource's resolved properties. Type mismatches and unknown
// keys are reported in CloudFormation's resource-schema wording
// ("Properties validation failed for resource X with message: #/Timeout: ...").
type props struct {
	logicalID string
	m         map[string]any
	// at is the JSON pointer of m inside the resource's properties ("" at the
	// top, "Integration" or "MethodResponses/0" below), so messages name the
	// nested key as CloudFormation does ("#/Integration/Type: ...").
	at string
}

// sub reads a nested object of the properties.
func (p props) sub(at string, m map[string]any) props {
	if p.at != "" {
		at = p.at + "/" + at
	}
	return props{logicalID: p.logicalID, m: m, at: at}
}

func (p props) fail(format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if p.at != "" && strings.HasPrefix(msg, "#") {
		msg = "#/" + p.at + msg[1:]
	}
	return &resourceError{msg: fmt.Sprintf("Properties validation failed for resource %s with message: ", p.logicalID) + msg}
}

// check refuses keys outside allowed and missing required keys. unsupported names
// properties AWS has that Sluice does not implement: they are refused, never
// dropped.
func (p props) check(allowed, required, unsupported []string) error {
	var extra []string
	for k := range p.m {
		if contains(unsupported, k) {
			name := k
			if p.at != "" {
				name = strings.ReplaceAll(p.at, "/", ".") + "." + k
			}
			return &resourceError{msg: fmt.Sprintf("Sluice does not support property %s of resource %s yet", name, p.logicalID)}
		}
		if !contains(allowed, k) && !contains(required, k) {
			extra = append(extra, k)
		}
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		return p.fail("#: extraneous key [%s] is not permitted", strings.Join(extra, ", "))
	}
	for _, k := range required {
		if _, ok := p.m[k]; !ok {
			return p.fail("#: required key [%s] not found", k)
		}
	}
	return nil
}

func (p props) has(name string) bool { _, ok := p.m[name]; return ok }

func (p props) str(name string) (string, error) {
	v, ok := p.m[name]
	if !ok || v == nil {
		return "", nil
	}
	s, ok := stringOf(v)
	if !ok {
		return "", p.fail("#/%s: expected type: String, found: %s", name, schemaKind(v))
	}
	return s, nil
}

func (p props) int(name string) (*int, error) {
	v, ok := p.m[name]
	if !ok || v == nil {
		return nil, nil
	}
	var f float64
	switch x := v.(type) {
	case float64:
		f = x
	case string:
		n, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		if err != nil {
			return nil, p.fail("#/%s: expected type: Integer, found: String", name)
		}
		f = n
	default:
		return nil, p.fail("#/%s: expected type: Integer, found: %s", name, schemaKind(v))
	}
	if f != math.Trunc(f) || math.Abs(f) > math.MaxInt32 {
		return nil, p.fail("#/%s: expected type: Integer, found: Number", name)
	}
	n := int(f)
	return &n, nil
}

func (p props) bool(name string) (*bool, error) {
	v, ok := p.m[name]
	if !ok || v == nil {
		return nil, nil
	}
	switch x := v.(type) {
	case bool:
		return &x, nil
	case string:
		b, err := strconv.ParseBool(x)
		if err == nil {
			return &b, nil
		}
	}
	return nil, p.fail("#/%s: expected type: Boolean, found: %s", name, schemaKind(v))
}

// array reads a list property; nil when absent.
func (p props) array(name string) ([]any, error) {
	v, ok := p.m[name]
	if !ok || v == nil {
		return nil, nil
	}
	l, ok := v.([]any)
	if !ok {
		return nil, p.fail("#/%s: expected type: JSONArray, found: %s", name, schemaKind(v))
	}
	return l, nil
}

// removedTags are the keys of had that want no longer has, sorted.
func removedTags(had, want map[string]string) []string {
	var remove []string
	for k := range had {
		if _, ok := want[k]; !ok {
			remove = append(remove, k)
		}
	}
	sort.Strings(remove)
	return remove
}

func (p props) strList(name string) ([]string, error) {
	l, err := p.array(name)
	if err != nil || l == nil {
		return nil, err
	}
	out := make([]string, 0, len(l))
	for i, x := range l {
		s, ok := stringOf(x)
		if !ok {
			return nil, p.fail("#/%s/%d: expected type: String, found: %s", name, i, schemaKind(x))
		}
		out = append(out, s)
	}
	return out, nil
}

func (p props) object(name string) (map[string]any, error) {
	v, ok := p.m[name]
	if !ok || v == nil {
		return nil, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, p.fail("#/%s: expected type: JSONObject, found: %s", name, schemaKind(v))
	}
	return m, nil
}

// stringMap reads an object of string values (numbers and booleans are
// stringified, as CloudFormation does for Environment.Variables).
func (p props) stringMap(path string, m map[string]any) (map[string]string, error) {
	out := make(map[string]string, len(m))
	for k, v := range m {
		s, ok := stringOf(v)
		if !ok {
			return nil, p.fail("#/%s/%s: expected type: String, found: %s", path, k, schemaKind(v))
		}
		out[k] = s
	}
	return out, nil
}

// tagList reads CloudFormation's [{Key, Value}] tag list.
// addTags puts the resource's Tags, if any, into a create request's body as "tags".
func (p props) addTags(body map[string]any) error {
	tags, err := p.tagList("Tags")
	if err != nil || tags == nil {
		return err
	}
	body["tags"] = tags
	return nil
}

func (p props) tagList(name string) (map[string]string, error) {
	v, ok := p.m[name]
	if !ok || v == nil {
		return nil, nil
	}
	l, ok := v.([]any)
	if !ok {
		return nil, p.fail("#/%s: expected type: JSONArray, found: %s", name, schemaKind(v))
	}
	out := map[string]string{}
	for i, x := range l {
		m, ok := x.(map[string]any)
		if !ok {
			return nil, p.fail("#/%s/%d: expected type: JSONObject, found: %s", name, i, schemaKind(x))
		}
		k, ok1 := stringOf(m["Key"])
		val, ok2 := stringOf(m["Value"])
		if !ok1 || !ok2 {
			return nil, p.fail("#/%s/%d: required key [Key, Value] not found", name, i)
		}
		out[k] = val
	}
	return out, nil
}

// tagMap reads tags written as a map (the apigatewayv2 resources' Tags).
func (p props) tagMap(name string) (map[string]string, error) {
	m, err := p.object(name)
	if err != nil || m == nil {
		return nil, err
	}
	return p.stringMap(name, m)
}

func schemaKind(v any) string {
	switch v.(type) {
	case map[string]any:
		return "JSONObject"
	case []any:
		return "JSONArray"
	case string:
		return "String"
	case float64:
		return "Integer"
	case bool:
		return "Boolean"
	case nil:
		return "Null"
	}
	return fmt.Sprintf("%T", v)
}

// resourceError is a resource's failure reason, as ResourceStatusReason shows it.
type resourceError struct{ msg string }

func (e *resourceError) Error() string { return e.msg }

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// camelKeys turns CloudFormation's PascalCase property names into the camelCase of
// the REST-JSON APIs (apigatewayv2), recursively; keys of user maps (verbatim)
// keep their spelling.
func camelKeys(v any, verbatim map[string]bool) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, val := range x {
			if verbatim[k] {
				out[lowerFirst(k)] = val
				continue
			}
			out[lowerFirst(k)] = camelKeys(val, verbatim)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, val := range x {
			out[i] = camelKeys(val, verbatim)
		}
		return out
	}
	return v
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

const physicalAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// randomSuffix is the 12-13 character suffix CloudFormation appends to generated
// physical names.
func randomSuffix(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = physicalAlphabet[int(b[i])%len(physicalAlphabet)]
	}
	return string(b)
}

// physicalName is CloudFormation's generated name: {stack}-{logical}-{suffix},
// with the stack and logical id shortened to fit max.
func physicalName(stack, logical string, max int, lower bool) string {
	return physicalNameWith(stack, logical, randomSuffix(12), max, lower)
}

// physicalNameWith is physicalName with a chosen suffix: a resource's suffix is
// recorded before its create call, so the name is known even when the node
// stops before the answer is (the rollback after the restart deletes it by name).
func physicalNameWith(stack, logical, suffix string, max int, lower bool) string {
	if lower {
		suffix = strings.ToLower(suffix)
	}
	room := max - len(suffix) - 2
	if room < 2 {
		room = 2
	}
	s, l := stack, logical
	for len(s)+len(l) > room {
		if len(s) >= len(l) && len(s) > 1 {
			s = s[:len(s)-1]
		} else if len(l) > 1 {
			l = l[:len(l)-1]
		} else {
			break
		}
	}
	name := s + "-" + l + "-" + suffix
	if lower {
		name = strings.ToLower(name)
	}
	return name
}
