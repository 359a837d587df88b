// Package policy is IAM's policy language: it parses a policy document once into a
// compiled form and evaluates requests against it without allocating. One engine
// serves every policy Sluice enforces: Lambda function policies, IAM identity
// policies, API Gateway resource policies, the policies Lambda authorizers return,
// and S3 bucket policies.
//
// It follows "IAM JSON policy element reference" and "Policy evaluation logic": a
// statement applies when its principal, action, resource and every condition match;
// an applicable Deny wins over any Allow; nothing applicable is an implicit deny.
package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Kind says which policy element rules a document must follow.
type Kind uint8

const (
	// Identity policies (attached to users, groups, roles, or returned by an
	// authorizer) name no Principal: they apply to whoever holds them.
	Identity Kind = iota + 1
	// Resource policies (function, API, bucket) must name a Principal.
	Resource
	// Trust policies (a role's AssumeRolePolicyDocument) name a Principal and may
	// leave Resource out: they are about the role they belong to.
	Trust
)

// Options tune Parse.
type Options struct {
	Kind Kind
	// ExpandResource, when set, rewrites every Resource and NotResource value before it
	// is compiled; API Gateway uses it to expand "execute-api:/stage/GET/path" into a
	// full ARN.
	ExpandResource func(string) string
}

// Document is a compiled policy. It is immutable once Parse returns and safe for
// concurrent use.
type Document struct {
	Version    string
	ID         string
	statements []statement
	// usesVariables is set when some element holds ${...}; only such documents
	// substitute (and so allocate) at evaluation.
	usesVariables bool
}

// Len returns the number of statements.
func (d *Document) Len() int {
	if d == nil {
		return 0
	}
	return len(d.statements)
}

// SyntaxError is a document that is not a valid policy. Message says what is wrong
// in words a policy author can act on; services wrap it in their own error code
// (MalformedPolicyDocument, BadRequestException...).
type SyntaxError struct{ Message string }

func (e *SyntaxError) Error() string { return e.Message }

func syntaxErr(format string, args ...any) error {
	return &SyntaxError{Message: fmt.Sprintf(format, args...)}
}

type effect uint8

const (
	allow effect = iota + 1
	deny
)

type statement struct {
	sid    string
	effect effect

	// principal: nil set means the element is absent.
	principal    *principalSet
	notPrincipal bool

	actions    []string // lower-case patterns
	notAction  bool
	resources  []pattern
	notResourc bool

	conditions []condition
}

// pattern is a Resource (or ARN condition) value: an ARN-like pattern matched part by
// part, or a plain glob.
type pattern struct {
	text string
	vars bool // holds ${...}
}

// principalSet is a compiled Principal or NotPrincipal element.
type principalSet struct {
	any      bool     // "*" or {"AWS":"*"}
	arns     []string // principal ARNs (users, roles, assumed roles)
	accounts []string // account ids (from "123456789012" or "arn:aws:iam::123456789012:root")
	services []string // lower-case service principals
	other    []string // Federated / CanonicalUser values: matched as exact ARNs
}

// rawDocument is the JSON shape; Statement may be one object or a list.
type rawDocument struct {
	Version   string          `json:"Version"`
	ID        string          `json:"Id"`
	Statement json.RawMessage `json:"Statement"`
}

type rawStatement struct {
	Sid          string                                `json:"Sid"`
	Effect       string                                `json:"Effect"`
	Principal    json.RawMessage                       `json:"Principal"`
	NotPrincipal json.RawMessage                       `json:"NotPrincipal"`
	Action       json.RawMessage                       `json:"Action"`
	NotAction    json.RawMessage                       `json:"NotAction"`
	Resource     json.RawMessage                       `json:"Resource"`
	NotResource  json.RawMessage                       `json:"NotResource"`
	Condition    map[string]map[string]json.RawMessage `json:"Condition"`
}

// Parse validates and compiles a policy document.
func Parse(doc []byte, opts Options) (*Document, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	var raw rawDocument
	if err := dec.Decode(&raw); err != nil {
		return nil, syntaxErr("Syntax errors in policy: %v", jsonProblem(err))
	}
	if dec.More() {
		return nil, syntaxErr("Syntax errors in policy: trailing data after the document")
	}
	switch raw.Version {
	case "", "2008-10-17", "2012-10-17":
	default:
		return nil, syntaxErr("The policy failed legacy parsing: unknown Version %q", raw.Version)
	}
	d := &Document{Version: raw.Version, ID: raw.ID}
	stmts, err := statementList(raw.Statement)
	if err != nil {
		return nil, err
	}
	if len(stmts) == 0 {
		return nil, syntaxErr("Syntax errors in policy: the policy has no Statement")
	}
	for i := range stmts {
		st, err := compileStatement(&stmts[i], opts, raw.Version == "2012-10-17")
		if err != nil {
			return nil, err
		}
		if st.usesVariables() {
			d.usesVariables = true
		}
		d.statements = append(d.statements, st)
	}
	return d, nil
}

func jsonProblem(err error) string {
	if se := (*json.SyntaxError)(nil); errors.As(err, &se) {
		return fmt.Sprintf("invalid JSON at offset %d", se.Offset)
	}
	return "the document is not a JSON object of policy elements"
}

func statementList(b json.RawMessage) ([]rawStatement, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || bytes.Equal(b, []byte("null")) {
		return nil, nil
	}
	if b[0] == '{' {
		var one rawStatement
		if err := strictUnmarshal(b, &one); err != nil {
			return nil, err
		}
		return []rawStatement{one}, nil
	}
	var many []json.RawMessage
	if err := json.Unmarshal(b, &many); err != nil {
		return nil, syntaxErr("Syntax errors in policy: Statement must be an object or a list of objects")
	}
	out := make([]rawStatement, len(many))
	for i, m := range many {
		if err := strictUnmarshal(m, &out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// strictUnmarshal decodes one statement, refusing elements IAM does not know.
func strictUnmarshal(b []byte, st *rawStatement) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(st); err != nil {
		if strings.Contains(err.Error(), "unknown field") {
			return syntaxErr("Syntax errors in policy: %s", strings.TrimPrefix(err.Error(), "json: "))
		}
		return syntaxErr("Syntax errors in policy: a statement is not a JSON object of policy elements")
	}
	return nil
}

func compileStatement(raw *rawStatement, opts Options, variablesAllowed bool) (statement, error) {
	st := statement{sid: raw.Sid}
	switch raw.Effect {
	case "Allow":
		st.effect = allow
	case "Deny":
		st.effect = deny
	case "":
		return st, syntaxErr("Syntax errors in policy: a statement has no Effect")
	default:
		return st, syntaxErr("Syntax errors in policy: Effect must be Allow or Deny, not %q", raw.Effect)
	}

	hasP, hasNP := present(raw.Principal), present(raw.NotPrincipal)
	switch {
	case hasP && hasNP:
		return st, syntaxErr("Syntax errors in policy: a statement has both Principal and NotPrincipal")
	case opts.Kind == Identity && (hasP || hasNP):
		return st, syntaxErr("Policy document should not specify a principal.")
	case (opts.Kind == Resource || opts.Kind == Trust) && !hasP && !hasNP:
		return st, syntaxErr("Policy document should specify a principal.")
	case hasP || hasNP:
		src := raw.Principal
		if hasNP {
			src, st.notPrincipal = raw.NotPrincipal, true
		}
		ps, err := compilePrincipal(src)
		if err != nil {
			return st, err
		}
		st.principal = ps
	}

	actions, notActions := raw.Action, raw.NotAction
	switch {
	case present(actions) && present(notActions):
		return st, syntaxErr("Syntax errors in policy: a statement has both Action and NotAction")
	case !present(actions) && !present(notActions):
		return st, syntaxErr("Syntax errors in policy: a statement has no Action")
	case present(notActions):
		actions, st.notAction = notActions, true
	}
	list, err := stringOrList(actions, "Action")
	if err != nil {
		return st, err
	}
	for _, a := range list {
		if a != "*" && !strings.Contains(a, ":") {
			return st, syntaxErr("Syntax errors in policy: action %q has no service prefix", a)
		}
		st.actions = append(st.actions, strings.ToLower(a))
	}

	resources, notResources := raw.Resource, raw.NotResource
	switch {
	case present(resources) && present(notResources):
		return st, syntaxErr("Syntax errors in policy: a statement has both Resource and NotResource")
	case !present(resources) && !present(notResources) && opts.Kind == Trust:
		resources = json.RawMessage(`"*"`)
	case !present(resources) && !present(notResources):
		return st, syntaxErr("Syntax errors in policy: a statement has no Resource")
	case present(notResources):
		resources, st.notResourc = notResources, true
	}
	list, err = stringOrList(resources, "Resource")
	if err != nil {
		return st, err
	}
	for _, r := range list {
		if opts.ExpandResource != nil {
			r = opts.ExpandResource(r)
		}
		if r != "*" && !strings.HasPrefix(r, "arn:") {
			return st, syntaxErr("Syntax errors in policy: resource %q must be * or an ARN", r)
		}
		st.resources = append(st.resources, pattern{text: r, vars: variablesAllowed && strings.Contains(r, "${")})
	}

	for op, keys := range raw.Condition {
		for key, vals := range keys {
			c, err := compileCondition(op, key, vals, variablesAllowed)
			if err != nil {
				return st, err
			}
			st.conditions = append(st.conditions, c)
		}
	}
	return st, nil
}

func (st *statement) usesVariables() bool {
	for _, r := range st.resources {
		if r.vars {
			return true
		}
	}
	for i := range st.conditions {
		if st.conditions[i].vars {
			return true
		}
	}
	return false
}

func present(b json.RawMessage) bool {
	b = bytes.TrimSpace(b)
	return len(b) > 0 && !bytes.Equal(b, []byte("null"))
}

// stringOrList decodes an element that is a string or a non-empty list of strings.
func stringOrList(b json.RawMessage, element string) ([]string, error) {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		if one == "" {
			return nil, syntaxErr("Syntax errors in policy: %s is empty", element)
		}
		return []string{one}, nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil || len(many) == 0 {
		return nil, syntaxErr("Syntax errors in policy: %s must be a string or a list of strings", element)
	}
	for _, s := range many {
		if s == "" {
			return nil, syntaxErr("Syntax errors in policy: %s holds an empty string", element)
		}
	}
	return many, nil
}

func compilePrincipal(b json.RawMessage) (*principalSet, error) {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		if s != "*" {
			return nil, syntaxErr("Invalid principal in policy: %q", s)
		}
		return &principalSet{any: true}, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil || len(m) == 0 {
		return nil, syntaxErr("Invalid principal in policy: Principal must be \"*\" or an object")
	}
	ps := &principalSet{}
	for typ, raw := range m {
		vals, err := stringOrList(raw, "Principal")
		if err != nil {
			return nil, err
		}
		for _, v := range vals {
			switch typ {
			case "AWS":
				switch {
				case v == "*":
					ps.any = true
				case isAccountID(v):
					ps.accounts = append(ps.accounts, v)
				case strings.HasPrefix(v, "arn:") && strings.HasSuffix(v, ":root") && isAccountID(arnAccount(v)):
					ps.accounts = append(ps.accounts, arnAccount(v))
				case strings.HasPrefix(v, "arn:"):
					ps.arns = append(ps.arns, v)
				default:
					return nil, syntaxErr("Invalid principal in policy: \"AWS\":%q", v)
				}
			case "Service":
				ps.services = append(ps.services, strings.ToLower(v))
			case "Federated", "CanonicalUser":
				ps.other = append(ps.other, v)
			default:
				return nil, syntaxErr("Invalid principal in policy: unknown principal type %q", typ)
			}
		}
	}
	return ps, nil
}

func isAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// arnAccount is the fifth colon-separated part of an ARN.
func arnAccount(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 {
		return ""
	}
	return parts[4]
}
