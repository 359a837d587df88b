package cfn

import (
	"encoding/base64"
	"fmt"
	"sort"
	"strings"
)

// noValue is what Ref AWS::NoValue resolves to: the property (or list element)
// holding it is removed, as CloudFormation does.
type noValueT struct{}

var noValue = noValueT{}

// resourceState is what a created resource contributes to intrinsics: Ref returns
// PhysicalID, Fn::GetAtt reads Attrs.
type resourceState struct {
	PhysicalID string
	Attrs      map[string]any
}

// evaluator resolves intrinsic functions against one stack's parameters,
// conditions, mappings, pseudo parameters and created resources.
type evaluator struct {
	stackName, stackID, region, account string
	params                              map[string]any // string, or []any of strings for list types
	conditions                          map[string]bool
	mappings                            map[string]any
	resources                           map[string]*resourceState // created so far
	types                               map[string]string         // every resource of the template
	imports                             func(name string) (string, bool)
}

func (e *evaluator) pseudo(name string) (any, bool) {
	switch name {
	case "AWS::Region":
		return e.region, true
	case "AWS::AccountId":
		return e.account, true
	case "AWS::StackName":
		return e.stackName, true
	case "AWS::StackId":
		return e.stackID, true
	case "AWS::Partition":
		return "aws", true
	case "AWS::URLSuffix":
		return "amazonaws.com", true
	case "AWS::NotificationARNs":
		return []any{}, true
	case "AWS::NoValue":
		return noValue, true
	}
	return nil, false
}

// resolve returns v with every intrinsic function applied.
func (e *evaluator) resolve(v any) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 1 {
			for k, arg := range x {
				if k == "Ref" || strings.HasPrefix(k, "Fn::") {
					return e.apply(k, arg)
				}
			}
		}
		out := make(map[string]any, len(x))
		for k, val := range x {
			r, err := e.resolve(val)
			if err != nil {
				return nil, err
			}
			if r == noValue {
				continue
			}
			out[k] = r
		}
		return out, nil
	case []any:
		out := make([]any, 0, len(x))
		for _, val := range x {
			r, err := e.resolve(val)
			if err != nil {
				return nil, err
			}
			if r == noValue {
				continue
			}
			out = append(out, r)
		}
		return out, nil
	}
	return v, nil
}

func (e *evaluator) resolveString(fn string, v any) (string, error) {
	r, err := e.resolve(v)
	if err != nil {
		return "", err
	}
	s, ok := stringOf(r)
	if !ok {
		return "", validationError("Template error: every %s object requires a string parameter, got %s", fn, describeKind(r))
	}
	return s, nil
}

func (e *evaluator) resolveList(fn string, v any) ([]any, error) {
	r, err := e.resolve(v)
	if err != nil {
		return nil, err
	}
	l, ok := r.([]any)
	if !ok {
		return nil, validationError("Template error: every %s object requires a list parameter, got %s", fn, describeKind(r))
	}
	return l, nil
}

func (e *evaluator) apply(fn string, arg any) (any, error) {
	switch fn {
	case "Ref":
		name, ok := arg.(string)
		if !ok {
			return nil, validationError("Template format error: Every Ref object must have a single String value.")
		}
		return e.ref(name)
	case "Fn::GetAtt":
		res, att, err := getAttArgs(arg)
		if err != nil {
			return nil, err
		}
		if a, ok := att.(map[string]any); ok { // attribute given by an intrinsic
			r, err := e.resolveString(fn, a)
			if err != nil {
				return nil, err
			}
			att = r
		}
		return e.getAtt(res, att.(string))
	case "Fn::Sub":
		return e.sub(arg)
	case "Fn::Join":
		l, ok := arg.([]any)
		if !ok || len(l) != 2 {
			return nil, validationError("Template error: every Fn::Join object requires two parameters, (1) a string delimiter and (2) a list of strings to be joined or a function that returns a list of strings (such as Fn::GetAZs) to be joined.")
		}
		delim, ok := l[0].(string)
		if !ok {
			return nil, validationError("Template error: every Fn::Join object requires two parameters, (1) a string delimiter and (2) a list of strings to be joined or a function that returns a list of strings (such as Fn::GetAZs) to be joined.")
		}
		items, err := e.resolveList(fn, l[1])
		if err != nil {
			return nil, err
		}
		parts := make([]string, 0, len(items))
		for _, it := range items {
			s, ok := stringOf(it)
			if !ok {
				return nil, validationError("Template error: every Fn::Join object requires two parameters, (1) a string delimiter and (2) a list of strings to be joined or a function that returns a list of strings (such as Fn::GetAZs) to be joined.")
			}
			parts = append(parts, s)
		}
		return strings.Join(parts, delim), nil
	case "Fn::Select":
		l, ok := arg.([]any)
		if !ok || len(l) != 2 {
			return nil, validationError("Template error: Fn::Select requires a list argument with two elements: an integer index and a list")
		}
		idxS, err := e.resolveString(fn, l[0])
		if err != nil {
			return nil, err
		}
		var idx int
		if _, err := fmt.Sscanf(idxS, "%d", &idx); err != nil {
			return nil, validationError("Template error: Fn::Select requires a list argument with two elements: an integer index and a list")
		}
		items, err := e.resolveList(fn, l[1])
		if err != nil {
			return nil, err
		}
		if idx < 0 || idx >= len(items) {
			return nil, validationError("Template error: Fn::Select cannot select nonexistent value at index %d", idx)
		}
		return items[idx], nil
	case "Fn::Split":
		l, ok := arg.([]any)
		if !ok || len(l) != 2 {
			return nil, validationError("Template error: every Fn::Split object requires two parameters, (1) a string delimiter and (2) a string to be split or a function that returns a string to be split.")
		}
		delim, ok := l[0].(string)
		if !ok {
			return nil, validationError("Template error: every Fn::Split object requires two parameters, (1) a string delimiter and (2) a string to be split or a function that returns a string to be split.")
		}
		s, err := e.resolveString(fn, l[1])
		if err != nil {
			return nil, err
		}
		var out []any
		for _, p := range strings.Split(s, delim) {
			out = append(out, p)
		}
		return out, nil
	case "Fn::If":
		l, ok := arg.([]any)
		if !ok || len(l) != 3 {
			return nil, validationError("Template error: Fn::If requires a list argument with three elements")
		}
		name, ok := l[0].(string)
		if !ok {
			return nil, validationError("Template error: Fn::If requires a list argument with the first element being a condition")
		}
		c, ok := e.conditions[name]
		if !ok {
			return nil, validationError("Template error: unresolved condition dependency %s in Fn::If", name)
		}
		if c {
			return e.resolve(l[1])
		}
		return e.resolve(l[2])
	case "Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or":
		return e.condition(map[string]any{fn: arg})
	case "Fn::FindInMap":
		l, ok := arg.([]any)
		if !ok || len(l) != 3 {
			return nil, validationError("Template error: every Fn::FindInMap object requires three parameters, the map name, map key and the attribute for return value")
		}
		var keys [3]string
		for i := range keys {
			s, err := e.resolveString(fn, l[i])
			if err != nil {
				return nil, err
			}
			keys[i] = s
		}
		m, ok := e.mappings[keys[0]].(map[string]any)
		if !ok {
			return nil, validationError("Template error: Unable to get mapping for %s::%s::%s", keys[0], keys[1], keys[2])
		}
		top, ok := m[keys[1]].(map[string]any)
		if !ok {
			return nil, validationError("Template error: Unable to get mapping for %s::%s::%s", keys[0], keys[1], keys[2])
		}
		v, ok := top[keys[2]]
		if !ok {
			return nil, validationError("Template error: Unable to get mapping for %s::%s::%s", keys[0], keys[1], keys[2])
		}
		return v, nil
	case "Fn::Base64":
		s, err := e.resolveString(fn, arg)
		if err != nil {
			return nil, err
		}
		return base64.StdEncoding.EncodeToString([]byte(s)), nil
	case "Fn::GetAZs":
		region, err := e.resolveString(fn, arg)
		if err != nil {
			return nil, err
		}
		if region == "" {
			region = e.region
		}
		return []any{region + "a", region + "b", region + "c"}, nil
	case "Fn::ImportValue":
		name, err := e.resolveString(fn, arg)
		if err != nil {
			return nil, err
		}
		if e.imports != nil {
			if v, ok := e.imports(name); ok {
				return v, nil
			}
		}
		return nil, validationError("No export named %s found", name)
	}
	return nil, validationError("Template format error: Unsupported intrinsic function %s (Sluice implements Ref, Fn::GetAtt, Fn::Sub, Fn::Join, Fn::Select, Fn::Split, Fn::If, Fn::Equals, Fn::Not, Fn::And, Fn::Or, Fn::FindInMap, Fn::Base64, Fn::GetAZs, Fn::ImportValue)", fn)
}

func getAttArgs(arg any) (string, any, error) {
	bad := validationError("Template error: every Fn::GetAtt object requires two non-empty parameters, the resource name and the resource attribute")
	switch x := arg.(type) {
	case string:
		res, att, ok := strings.Cut(x, ".")
		if !ok || res == "" || att == "" {
			return "", nil, bad
		}
		return res, att, nil
	case []any:
		if len(x) != 2 {
			return "", nil, bad
		}
		res, ok := x[0].(string)
		if !ok || res == "" {
			return "", nil, bad
		}
		switch att := x[1].(type) {
		case string:
			if att == "" {
				return "", nil, bad
			}
			return res, att, nil
		case map[string]any:
			return res, att, nil
		}
	}
	return "", nil, bad
}

func (e *evaluator) ref(name string) (any, error) {
	if v, ok := e.pseudo(name); ok {
		return v, nil
	}
	if v, ok := e.params[name]; ok {
		return v, nil
	}
	if st, ok := e.resources[name]; ok {
		return st.PhysicalID, nil
	}
	if _, ok := e.types[name]; ok {
		return nil, fmt.Errorf("internal: Ref %s before the resource was created", name)
	}
	return nil, validationError("Template format error: Unresolved resource dependencies [%s] in the Resources block of the template", name)
}

func (e *evaluator) getAtt(res, att string) (any, error) {
	st, ok := e.resources[res]
	if !ok {
		if _, ok := e.types[res]; ok {
			return nil, fmt.Errorf("internal: Fn::GetAtt %s.%s before the resource was created", res, att)
		}
		return nil, validationError("Template error: instance of Fn::GetAtt references undefined resource %s", res)
	}
	v, ok := st.Attrs[att]
	if !ok {
		return nil, validationError("Template error: resource %s does not support attribute type %s in Fn::GetAtt", res, att)
	}
	return v, nil
}

// sub applies Fn::Sub: "${Name}" is a Ref (or a variable of the map form),
// "${Res.Att}" a GetAtt, "${!Literal}" the literal "${Literal}".
func (e *evaluator) sub(arg any) (any, error) {
	var tmpl string
	vars := map[string]any{}
	switch x := arg.(type) {
	case string:
		tmpl = x
	case []any:
		if len(x) != 2 {
			return nil, validationError("Template error: One or more Fn::Sub intrinsic functions don't specify expected arguments. Specify a string as first argument, and an optional second argument to specify a mapping of values to replace in the string")
		}
		s, ok := x[0].(string)
		m, ok2 := x[1].(map[string]any)
		if !ok || !ok2 {
			return nil, validationError("Template error: One or more Fn::Sub intrinsic functions don't specify expected arguments. Specify a string as first argument, and an optional second argument to specify a mapping of values to replace in the string")
		}
		tmpl = s
		for k, v := range m {
			r, err := e.resolve(v)
			if err != nil {
				return nil, err
			}
			vars[k] = r
		}
	default:
		return nil, validationError("Template error: One or more Fn::Sub intrinsic functions don't specify expected arguments. Specify a string as first argument, and an optional second argument to specify a mapping of values to replace in the string")
	}
	var b strings.Builder
	err := walkSub(tmpl, func(lit string) { b.WriteString(lit) }, func(name string) error {
		var v any
		var err error
		if val, ok := vars[name]; ok {
			v = val
		} else if res, att, ok := strings.Cut(name, "."); ok && !strings.HasPrefix(name, "AWS::") {
			v, err = e.getAtt(res, att)
		} else {
			v, err = e.ref(name)
		}
		if err != nil {
			return err
		}
		s, ok := stringOf(v)
		if !ok {
			if l, isList := v.([]any); isList {
				parts := make([]string, 0, len(l))
				for _, it := range l {
					p, _ := stringOf(it)
					parts = append(parts, p)
				}
				s = strings.Join(parts, ",")
			} else {
				return validationError("Template error: variable %s in Fn::Sub expression does not resolve to a string", name)
			}
		}
		b.WriteString(s)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return b.String(), nil
}

// walkSub splits an Fn::Sub template into literals and ${variables}.
func walkSub(s string, lit func(string), variable func(string) error) error {
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			lit(s)
			return nil
		}
		lit(s[:i])
		rest := s[i+2:]
		if strings.HasPrefix(rest, "!") {
			lit("${")
			s = rest[1:]
			continue
		}
		j := strings.IndexByte(rest, '}')
		if j < 0 {
			lit(s[i:])
			return nil
		}
		name := strings.TrimSpace(rest[:j])
		if err := variable(name); err != nil {
			return err
		}
		s = rest[j+1:]
	}
}

// condition evaluates a condition expression to a bool.
func (e *evaluator) condition(v any) (bool, error) {
	m, ok := v.(map[string]any)
	if !ok || len(m) != 1 {
		if b, ok := v.(bool); ok {
			return b, nil
		}
		return false, validationError("Template format error: Conditions can only be boolean operations on parameters and other conditions")
	}
	for fn, arg := range m {
		switch fn {
		case "Condition":
			name, _ := arg.(string)
			c, ok := e.conditions[name]
			if !ok {
				return false, validationError("Template format error: Unresolved dependencies [%s]. Cannot reference resources in the Conditions block of the template", name)
			}
			return c, nil
		case "Fn::Equals":
			l, ok := arg.([]any)
			if !ok || len(l) != 2 {
				return false, validationError("Template error: every Fn::Equals object requires a list of 2 string parameters.")
			}
			a, err := e.resolve(l[0])
			if err != nil {
				return false, err
			}
			b, err := e.resolve(l[1])
			if err != nil {
				return false, err
			}
			as, _ := stringOf(a)
			bs, _ := stringOf(b)
			return as == bs, nil
		case "Fn::Not":
			l, ok := arg.([]any)
			if !ok || len(l) != 1 {
				return false, validationError("Template error: every Fn::Not object requires a list of 1 condition.")
			}
			c, err := e.condition(l[0])
			return !c, err
		case "Fn::And", "Fn::Or":
			l, ok := arg.([]any)
			if !ok || len(l) < 2 || len(l) > 10 {
				return false, validationError("Template error: every %s object requires a list of at least 2 and at most 10 conditions.", fn)
			}
			and := fn == "Fn::And"
			for _, x := range l {
				c, err := e.condition(x)
				if err != nil {
					return false, err
				}
				if and && !c {
					return false, nil
				}
				if !and && c {
					return true, nil
				}
			}
			return and, nil
		}
	}
	return false, validationError("Template format error: Conditions can only be boolean operations on parameters and other conditions")
}

// evaluateConditions resolves the Conditions block (conditions may reference each
// other, without cycles).
func (e *evaluator) evaluateConditions(conds map[string]any) error {
	e.conditions = map[string]bool{}
	visiting := map[string]bool{}
	var eval func(name string) error
	eval = func(name string) error {
		if _, done := e.conditions[name]; done {
			return nil
		}
		if visiting[name] {
			return validationError("Template error: circular dependency in Conditions involving %s", name)
		}
		visiting[name] = true
		for _, dep := range conditionRefs(conds[name]) {
			if _, ok := conds[dep]; !ok {
				return validationError("Template format error: Unresolved dependencies [%s]. Cannot reference resources in the Conditions block of the template", dep)
			}
			if err := eval(dep); err != nil {
				return err
			}
		}
		c, err := e.condition(conds[name])
		if err != nil {
			return err
		}
		e.conditions[name] = c
		return nil
	}
	names := make([]string, 0, len(conds))
	for n := range conds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := eval(n); err != nil {
			return err
		}
	}
	return nil
}

func conditionRefs(v any) []string {
	var out []string
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if len(x) == 1 {
				if name, ok := x["Condition"].(string); ok {
					out = append(out, name)
					return
				}
			}
			for _, val := range x {
				walk(val)
			}
		case []any:
			for _, val := range x {
				walk(val)
			}
		}
	}
	walk(v)
	return out
}

// references lists the resources v refers to (Ref, Fn::GetAtt, Fn::Sub), among
// known; unknown names referenced by Ref are returned in missing.
func references(v any, isResource func(string) bool, isParam func(string) bool) (deps []string, missing []string) {
	seen := map[string]bool{}
	add := func(name string) {
		if seen[name] {
			return
		}
		seen[name] = true
		if isResource(name) {
			deps = append(deps, name)
		} else if !isParam(name) && !strings.HasPrefix(name, "AWS::") {
			missing = append(missing, name)
		}
	}
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if len(x) == 1 {
				for k, arg := range x {
					switch k {
					case "Ref":
						if s, ok := arg.(string); ok {
							add(s)
							return
						}
					case "Fn::GetAtt":
						if res, _, err := getAttArgs(arg); err == nil {
							add(res)
							if l, ok := arg.([]any); ok {
								walk(l[1])
							}
							return
						}
					case "Fn::Sub":
						var tmpl string
						local := map[string]bool{}
						switch a := arg.(type) {
						case string:
							tmpl = a
						case []any:
							if len(a) == 2 {
								tmpl, _ = a[0].(string)
								if m, ok := a[1].(map[string]any); ok {
									for name, val := range m {
										local[name] = true
										walk(val)
									}
								}
							}
						}
						_ = walkSub(tmpl, func(string) {}, func(name string) error {
							if local[name] {
								return nil
							}
							if res, _, ok := strings.Cut(name, "."); ok && !strings.HasPrefix(name, "AWS::") {
								add(res)
							} else {
								add(name)
							}
							return nil
						})
						return
					}
				}
			}
			for _, val := range x {
				walk(val)
			}
		case []any:
			for _, val := range x {
				walk(val)
			}
		}
	}
	walk(v)
	return deps, missing
}
