package cfn

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// A template value is what encoding/json would decode: map[string]any, []any,
// string, float64, bool or nil. YAML short forms (!Ref x, !GetAtt a.b, ...) become
// their long forms ({"Ref": "x"}, {"Fn::GetAtt": ["a", "b"]}) while parsing, so
// everything after parsing sees one shape.

// template is a parsed CloudFormation template.
type template struct {
	FormatVersion string
	Description   string
	Transform     []string
	Parameters    map[string]map[string]any
	Mappings      map[string]any
	Conditions    map[string]any
	Resources     map[string]*resourceDef
	Outputs       map[string]map[string]any
	Globals       map[string]any // SAM only; consumed by the transform
}

// resourceDef is one entry of Resources.
type resourceDef struct {
	Type           string
	Properties     map[string]any
	DependsOn      []string
	Condition      string
	DeletionPolicy string
	Metadata       map[string]any
}

// templateError is CloudFormation's "Template format error: ..." ValidationError.
func templateError(format string, args ...any) error {
	return validationError("Template format error: "+format, args...)
}

// parseTemplate reads a JSON or YAML template body.
func parseTemplate(body string) (*template, error) {
	raw, err := decodeTemplateBody(body)
	if err != nil {
		return nil, err
	}
	top, ok := raw.(map[string]any)
	if !ok {
		return nil, templateError("JSON not well-formed. (line 1,  column 1)")
	}
	t := &template{}
	for k, v := range top {
		switch k {
		case "AWSTemplateFormatVersion":
			s, ok := v.(string)
			if !ok || s != "2010-09-09" {
				return nil, templateError("Unsupported template version")
			}
			t.FormatVersion = s
		case "Description":
			s, ok := v.(string)
			if !ok {
				return nil, templateError("Every Description member must be a string")
			}
			t.Description = s
		case "Transform":
			switch tv := v.(type) {
			case string:
				t.Transform = []string{tv}
			case []any:
				for _, x := range tv {
					s, ok := x.(string)
					if !ok {
						return nil, templateError("Transform must be a string or list of strings")
					}
					t.Transform = append(t.Transform, s)
				}
			default:
				return nil, templateError("Transform must be a string or list of strings")
			}
		case "Parameters":
			m, ok := v.(map[string]any)
			if !ok {
				return nil, templateError("Parameters must be an object")
			}
			t.Parameters = map[string]map[string]any{}
			for name, pv := range m {
				pm, ok := pv.(map[string]any)
				if !ok {
					return nil, templateError("Parameter %s must be an object", name)
				}
				if _, ok := pm["Type"].(string); !ok {
					return nil, templateError("Every Parameters object must contain a Type member.")
				}
				t.Parameters[name] = pm
			}
		case "Mappings":
			m, ok := v.(map[string]any)
			if !ok {
				return nil, templateError("Mappings must be an object")
			}
			t.Mappings = m
		case "Conditions":
			m, ok := v.(map[string]any)
			if !ok {
				return nil, templateError("Conditions must be an object")
			}
			t.Conditions = m
		case "Resources":
			m, ok := v.(map[string]any)
			if !ok {
				return nil, templateError("Resources must be an object")
			}
			t.Resources = map[string]*resourceDef{}
			for name, rv := range m {
				rd, err := parseResource(name, rv)
				if err != nil {
					return nil, err
				}
				t.Resources[name] = rd
			}
		case "Outputs":
			m, ok := v.(map[string]any)
			if !ok {
				return nil, templateError("Outputs must be an object")
			}
			t.Outputs = map[string]map[string]any{}
			for name, ov := range m {
				om, ok := ov.(map[string]any)
				if !ok {
					return nil, templateError("Output %s must be an object", name)
				}
				if _, ok := om["Value"]; !ok {
					return nil, templateError("Every Outputs member must contain a Value object")
				}
				t.Outputs[name] = om
			}
		case "Globals":
			m, ok := v.(map[string]any)
			if !ok {
				return nil, templateError("Globals must be an object")
			}
			t.Globals = m
		case "Metadata", "Rules":
		default:
			return nil, templateError("Invalid template property or properties [%s]", k)
		}
	}
	if len(t.Resources) == 0 {
		return nil, templateError("At least one Resources member must be defined.")
	}
	return t, nil
}

func parseResource(name string, v any) (*resourceDef, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, templateError("[/Resources/%s] resource definition is malformed", name)
	}
	rd := &resourceDef{}
	for k, val := range m {
		switch k {
		case "Type":
			s, ok := val.(string)
			if !ok {
				return nil, templateError("[/Resources/%s/Type] Every Type member must be a string", name)
			}
			rd.Type = s
		case "Properties":
			if val == nil {
				continue
			}
			p, ok := val.(map[string]any)
			if !ok {
				return nil, templateError("[/Resources/%s/Properties] Properties must be an object", name)
			}
			rd.Properties = p
		case "DependsOn":
			switch d := val.(type) {
			case string:
				rd.DependsOn = []string{d}
			case []any:
				for _, x := range d {
					s, ok := x.(string)
					if !ok {
						return nil, templateError("[/Resources/%s/DependsOn] DependsOn must be a string or list of strings", name)
					}
					rd.DependsOn = append(rd.DependsOn, s)
				}
			default:
				return nil, templateError("[/Resources/%s/DependsOn] DependsOn must be a string or list of strings", name)
			}
		case "Condition":
			s, ok := val.(string)
			if !ok {
				return nil, templateError("[/Resources/%s/Condition] Condition must be a string", name)
			}
			rd.Condition = s
		case "DeletionPolicy", "UpdateReplacePolicy":
			s, _ := val.(string)
			if k == "DeletionPolicy" {
				rd.DeletionPolicy = s
			}
		case "Metadata":
			rd.Metadata, _ = val.(map[string]any)
		case "UpdatePolicy", "CreationPolicy", "Version":
		default:
			return nil, templateError("Unrecognized resource attribute [%s] on resource %s", k, name)
		}
	}
	if rd.Type == "" {
		return nil, templateError("[/Resources/%s] Every Resources object must contain a Type member.", name)
	}
	if rd.Properties == nil {
		rd.Properties = map[string]any{}
	}
	return rd, nil
}

// decodeTemplateBody decodes JSON (a body starting with '{') or YAML.
func decodeTemplateBody(body string) (any, error) {
	trimmed := strings.TrimSpace(body)
	if trimmed == "" {
		return nil, validationError("Template body is empty")
	}
	if strings.HasPrefix(trimmed, "{") {
		dec := json.NewDecoder(strings.NewReader(trimmed))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, templateError("JSON not well-formed. (%v)", err)
		}
		return normalizeJSON(v), nil
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader([]byte(body)))
	if err := dec.Decode(&doc); err != nil {
		return nil, templateError("YAML not well-formed. (%v)", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	return yamlValue(&doc)
}

func normalizeJSON(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = normalizeJSON(e)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = normalizeJSON(e)
		}
		return x
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			return x.String()
		}
		return f
	}
	return v
}

// shortForms maps YAML tags to the intrinsic function they abbreviate.
var shortForms = map[string]string{
	"!Ref": "Ref", "!Condition": "Condition",
	"!GetAtt": "Fn::GetAtt", "!Sub": "Fn::Sub", "!Join": "Fn::Join", "!Select": "Fn::Select",
	"!Split": "Fn::Split", "!If": "Fn::If", "!Equals": "Fn::Equals", "!FindInMap": "Fn::FindInMap",
	"!Base64": "Fn::Base64", "!GetAZs": "Fn::GetAZs", "!ImportValue": "Fn::ImportValue",
	"!Not": "Fn::Not", "!And": "Fn::And", "!Or": "Fn::Or", "!Cidr": "Fn::Cidr",
	"!Transform": "Fn::Transform", "!Length": "Fn::Length", "!ToJsonString": "Fn::ToJsonString",
}

func yamlValue(n *yaml.Node) (any, error) {
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return yamlValue(n.Content[0])
	case yaml.AliasNode:
		return yamlValue(n.Alias)
	}
	if fn, ok := shortForms[n.Tag]; ok {
		return yamlShortForm(n, fn)
	}
	if strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") {
		return nil, templateError("YAML not well-formed. (line %d, column %d): unknown tag %s", n.Line, n.Column, n.Tag)
	}
	switch n.Kind {
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind != yaml.ScalarNode {
				return nil, templateError("YAML not well-formed. (line %d, column %d): keys must be strings", k.Line, k.Column)
			}
			if _, dup := m[k.Value]; dup {
				return nil, templateError("YAML not well-formed. (line %d, column %d): duplicate key %s", k.Line, k.Column, k.Value)
			}
			v, err := yamlValue(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			m[k.Value] = v
		}
		return m, nil
	case yaml.SequenceNode:
		l := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := yamlValue(c)
			if err != nil {
				return nil, err
			}
			l = append(l, v)
		}
		return l, nil
	default:
		return yamlScalar(n), nil
	}
}

func yamlScalar(n *yaml.Node) any {
	switch n.ShortTag() {
	case "!!null":
		return nil
	case "!!bool":
		b, err := strconv.ParseBool(strings.ToLower(n.Value))
		if err != nil {
			return n.Value
		}
		return b
	case "!!int":
		i, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 64)
		if err != nil {
			return n.Value
		}
		return float64(i)
	case "!!float":
		f, err := strconv.ParseFloat(n.Value, 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return n.Value
		}
		return f
	}
	return n.Value
}

func yamlShortForm(n *yaml.Node, fn string) (any, error) {
	var arg any
	switch n.Kind {
	case yaml.ScalarNode:
		arg = n.Value
		switch fn {
		case "Fn::GetAtt":
			// !GetAtt Resource.Attribute (the attribute may itself contain dots).
			res, att, ok := strings.Cut(n.Value, ".")
			if !ok {
				return nil, templateError("YAML not well-formed. (line %d, column %d): !GetAtt takes Resource.Attribute", n.Line, n.Column)
			}
			arg = []any{res, att}
		case "Fn::GetAZs":
			arg = n.Value
		}
	default:
		c := *n
		c.Tag = ""
		switch n.Kind {
		case yaml.MappingNode:
			c.Tag = "!!map"
		case yaml.SequenceNode:
			c.Tag = "!!seq"
		}
		v, err := yamlValue(&c)
		if err != nil {
			return nil, err
		}
		arg = v
	}
	return map[string]any{fn: arg}, nil
}

// stringOf renders a scalar template value as CloudFormation does when it needs a
// string (numbers without a trailing .0, booleans as true/false).
func stringOf(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1e15 {
			return strconv.FormatInt(int64(x), 10), true
		}
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case bool:
		return strconv.FormatBool(x), true
	}
	return "", false
}

func describeKind(v any) string {
	switch v.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}
