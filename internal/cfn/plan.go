package cfn

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// plan is a template ready to run: transformed, validated, with parameters and
// conditions resolved and the resources (those whose condition holds) in
// dependency order.
type plan struct {
	tmpl         *template
	processed    string // the transformed template, JSON
	params       []parameterValue
	order        []string
	deps         map[string][]string
	capabilities []string // what the template requires
	transforms   []string
}

const samTransform = "AWS::Serverless-2016-10-31"

// planInput is what CreateStack, UpdateStack and CreateChangeSet share.
type planInput struct {
	body         string
	params       map[string]string
	usePrevious  map[string]bool
	previous     map[string]string
	capabilities []string
	stackName    string
	stackID      string
}

func (s *Service) newEvaluator(stackName, stackID string) *evaluator {
	return &evaluator{stackName: stackName, stackID: stackID, region: s.region, account: s.account,
		params: map[string]any{}, resources: map[string]*resourceState{}, types: map[string]string{}, imports: s.importValue}
}

// prepare turns a template body and parameter values into a plan and the
// evaluator that runs it.
func (s *Service) prepare(in planInput) (*plan, *evaluator, error) {
	t, err := parseTemplate(in.body)
	if err != nil {
		return nil, nil, err
	}
	p := &plan{tmpl: t, transforms: t.Transform}
	for _, tr := range t.Transform {
		if tr != samTransform {
			return nil, nil, validationError("Template format error: Unsupported transform %s (Sluice applies %s only)", tr, samTransform)
		}
	}
	if len(t.Transform) > 0 {
		if err := transformSAM(t, s.samParameterValues(t, in)); err != nil {
			return nil, nil, err
		}
		p.capabilities = append(p.capabilities, "CAPABILITY_AUTO_EXPAND")
	} else if t.Globals != nil {
		return nil, nil, templateError("Invalid template property or properties [Globals]")
	}
	var unknown []string
	for name, r := range t.Resources {
		if strings.HasPrefix(r.Type, "AWS::Serverless::") {
			if len(t.Transform) == 0 {
				unknown = append(unknown, r.Type)
			}
			continue
		}
		if provisioners[r.Type] == nil && !contains(unknown, r.Type) {
			unknown = append(unknown, r.Type)
		}
		_ = name
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, nil, templateError("Unrecognized resource types: [%s] (Sluice implements %s)", strings.Join(unknown, ", "), supportedTypes())
	}
	ev := s.newEvaluator(in.stackName, in.stackID)
	for name, r := range t.Resources {
		ev.types[name] = r.Type
	}
	if err := p.resolveParameters(ev, in); err != nil {
		return nil, nil, err
	}
	if err := ev.evaluateConditions(t.Conditions); err != nil {
		return nil, nil, err
	}
	ev.mappings = t.Mappings
	if err := p.order_(ev); err != nil {
		return nil, nil, err
	}
	if err := p.checkGetAtts(); err != nil {
		return nil, nil, err
	}
	for _, id := range p.order {
		if need := iamCapability(t.Resources[id]); need != "" && !contains(p.capabilities, need) {
			p.capabilities = append(p.capabilities, need)
		}
	}
	b, err := json.Marshal(processedTemplate(t))
	if err != nil {
		return nil, nil, fmt.Errorf("encode processed template: %w", err)
	}
	p.processed = string(b)
	return p, ev, nil
}

func supportedTypes() string {
	names := make([]string, 0, len(provisioners))
	for n := range provisioners {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(append(names, "AWS::Serverless::Function and AWS::Serverless::Api (with Transform "+samTransform+")"), ", ")
}

// checkCapabilities is CreateStack's InsufficientCapabilitiesException.
func (p *plan) checkCapabilities(granted []string) error {
	var missing []string
	for _, c := range p.capabilities {
		if c == "CAPABILITY_IAM" && contains(granted, "CAPABILITY_NAMED_IAM") {
			continue
		}
		if !contains(granted, c) {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		return insufficientCapabilities(missing)
	}
	return nil
}

var listType = regexp.MustCompile(`^(List<.+>|CommaDelimitedList)$`)

// parameterValue is the value a stack operation gives parameter n: the one
// passed, the previous one when UsePreviousValue is set, or def's Default (a
// list default joined with commas, as CloudFormation passes it).
func (in planInput) parameterValue(n string, def map[string]any) (string, bool) {
	if in.usePrevious[n] {
		val, ok := in.previous[n]
		if ok {
			return val, true
		}
	} else if val, ok := in.params[n]; ok {
		return val, true
	}
	d, has := def["Default"]
	if !has {
		return "", false
	}
	if val, ok := stringOf(d); ok {
		return val, true
	}
	l, isList := d.([]any)
	if !isList {
		return "", false
	}
	parts := make([]string, 0, len(l))
	for _, x := range l {
		s, _ := stringOf(x)
		parts = append(parts, s)
	}
	return strings.Join(parts, ","), true
}

// samParameterValues are the values SAM's transform resolves parameter refs
// with (SamParameterValues: the stack's parameters with their defaults, plus
// AWS::Region and AWS::Partition).
func (s *Service) samParameterValues(t *template, in planInput) map[string]string {
	out := map[string]string{"AWS::Region": s.region, "AWS::Partition": "aws"}
	for n, def := range t.Parameters {
		if v, ok := in.parameterValue(n, def); ok {
			out[n] = v
		}
	}
	return out
}

func (p *plan) resolveParameters(ev *evaluator, in planInput) error {
	t := p.tmpl
	for k := range in.params {
		if _, ok := t.Parameters[k]; !ok {
			return validationError("Parameters: [%s] do not exist in the template", k)
		}
	}
	names := make([]string, 0, len(t.Parameters))
	for n := range t.Parameters {
		names = append(names, n)
	}
	sort.Strings(names)
	var missing []string
	for _, n := range names {
		def := t.Parameters[n]
		typ, _ := def["Type"].(string)
		val, ok := in.parameterValue(n, def)
		if !ok {
			missing = append(missing, n)
			continue
		}
		if allowed, has := def["AllowedValues"].([]any); has {
			found := false
			for _, a := range allowed {
				if s, _ := stringOf(a); s == val {
					found = true
				}
			}
			if !found {
				return validationError("Parameter '%s' must be one of AllowedValues", n)
			}
		}
		if pat, has := def["AllowedPattern"].(string); has {
			re, err := regexp.Compile("^(?:" + pat + ")$")
			if err == nil && !re.MatchString(val) {
				return validationError("Parameter '%s' must match pattern %s", n, pat)
			}
		}
		switch {
		case typ == "Number":
			if _, err := strconv.ParseFloat(val, 64); err != nil {
				return validationError("Parameter '%s' must be a number.", n)
			}
			ev.params[n] = val
		case typ == "String" || strings.HasPrefix(typ, "AWS::"):
			ev.params[n] = val
		case listType.MatchString(typ):
			var l []any
			for _, x := range strings.Split(val, ",") {
				l = append(l, strings.TrimSpace(x))
			}
			ev.params[n] = l
		default:
			return validationError("Template format error: Unrecognized parameter type: %s", typ)
		}
		noEcho, _ := def["NoEcho"].(bool)
		if s, ok := def["NoEcho"].(string); ok {
			noEcho = strings.EqualFold(s, "true")
		}
		p.params = append(p.params, parameterValue{Key: n, Value: val, NoEcho: noEcho})
	}
	if len(missing) > 0 {
		return validationError("Parameters: [%s] must have values", strings.Join(missing, ", "))
	}
	return nil
}

// order_ computes the dependency order of the resources whose condition holds, and
// refuses references to nothing and cycles.
func (p *plan) order_(ev *evaluator) error {
	t := p.tmpl
	active := map[string]bool{}
	for name, r := range t.Resources {
		if r.Condition != "" {
			c, ok := ev.conditions[r.Condition]
			if !ok {
				return templateError("Unresolved dependencies [%s]. Cannot reference resources in the Conditions block of the template", r.Condition)
			}
			if !c {
				continue
			}
		}
		active[name] = true
	}
	isResource := func(n string) bool { _, ok := t.Resources[n]; return ok }
	isParam := func(n string) bool { _, ok := t.Parameters[n]; return ok }
	p.deps = map[string][]string{}
	var missing []string
	for name := range active {
		r := t.Resources[name]
		deps, miss := references(r.Properties, isResource, isParam)
		missing = append(missing, miss...)
		for _, d := range r.DependsOn {
			if !isResource(d) {
				missing = append(missing, d)
				continue
			}
			deps = append(deps, d)
		}
		var live []string
		for _, d := range deps {
			if active[d] && !contains(live, d) {
				live = append(live, d)
			}
		}
		sort.Strings(live)
		p.deps[name] = live
	}
	for _, o := range t.Outputs {
		_, miss := references(o["Value"], isResource, isParam)
		missing = append(missing, miss...)
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return templateError("Unresolved resource dependencies [%s] in the Resources block of the template", strings.Join(dedupe(missing), ", "))
	}
	names := make([]string, 0, len(active))
	for n := range active {
		names = append(names, n)
	}
	sort.Strings(names)
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(n string, path []string) error
	visit = func(n string, path []string) error {
		switch state[n] {
		case 2:
			return nil
		case 1:
			cycle := append([]string{}, path...)
			sort.Strings(cycle)
			return templateError("Circular dependency between resources: [%s]", strings.Join(dedupe(cycle), ", "))
		}
		state[n] = 1
		for _, d := range p.deps[n] {
			if err := visit(d, append(path, n)); err != nil {
				return err
			}
		}
		state[n] = 2
		p.order = append(p.order, n)
		return nil
	}
	for _, n := range names {
		if err := visit(n, nil); err != nil {
			return err
		}
	}
	return nil
}

func dedupe(l []string) []string {
	var out []string
	for _, x := range l {
		if !contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

// checkGetAtts refuses Fn::GetAtt of an attribute the resource type does not
// have, before anything is created.
func (p *plan) checkGetAtts() error {
	t := p.tmpl
	var err error
	var walk func(v any)
	walk = func(v any) {
		if err != nil {
			return
		}
		switch x := v.(type) {
		case map[string]any:
			if arg, ok := x["Fn::GetAtt"]; ok && len(x) == 1 {
				res, att, e := getAttArgs(arg)
				if e != nil {
					err = e
					return
				}
				r, ok := t.Resources[res]
				if !ok {
					err = validationError("Template error: instance of Fn::GetAtt references undefined resource %s", res)
					return
				}
				if a, isStr := att.(string); isStr {
					if prov := provisioners[r.Type]; prov != nil && !contains(prov.attrs, a) {
						err = validationError("Template error: resource %s does not support attribute type %s in Fn::GetAtt", res, a)
					}
				}
				return
			}
			if arg, ok := x["Fn::Sub"]; ok && len(x) == 1 {
				var tmpl string
				switch a := arg.(type) {
				case string:
					tmpl = a
				case []any:
					if len(a) > 0 {
						tmpl, _ = a[0].(string)
					}
					if len(a) > 1 {
						walk(a[1])
					}
				}
				_ = walkSub(tmpl, func(string) {}, func(name string) error {
					res, att, ok := strings.Cut(name, ".")
					if !ok || strings.HasPrefix(name, "AWS::") {
						return nil
					}
					if r, ok := t.Resources[res]; ok {
						if prov := provisioners[r.Type]; prov != nil && !contains(prov.attrs, att) && err == nil {
							err = validationError("Template error: resource %s does not support attribute type %s in Fn::GetAtt", res, att)
						}
					}
					return nil
				})
				return
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
	for _, r := range t.Resources {
		walk(r.Properties)
	}
	for _, o := range t.Outputs {
		walk(o)
	}
	return err
}

// processedTemplate is the template after transforms, as GetTemplate's Processed
// stage returns it.
func processedTemplate(t *template) map[string]any {
	out := map[string]any{"AWSTemplateFormatVersion": "2010-09-09"}
	if t.Description != "" {
		out["Description"] = t.Description
	}
	if len(t.Parameters) > 0 {
		out["Parameters"] = t.Parameters
	}
	if len(t.Mappings) > 0 {
		out["Mappings"] = t.Mappings
	}
	if len(t.Conditions) > 0 {
		out["Conditions"] = t.Conditions
	}
	res := map[string]any{}
	for name, r := range t.Resources {
		m := map[string]any{"Type": r.Type}
		if len(r.Properties) > 0 {
			m["Properties"] = r.Properties
		}
		if len(r.DependsOn) > 0 {
			m["DependsOn"] = r.DependsOn
		}
		if r.Condition != "" {
			m["Condition"] = r.Condition
		}
		if r.DeletionPolicy != "" {
			m["DeletionPolicy"] = r.DeletionPolicy
		}
		res[name] = m
	}
	out["Resources"] = res
	if len(t.Outputs) > 0 {
		out["Outputs"] = t.Outputs
	}
	return out
}
