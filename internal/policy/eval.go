package policy

import (
	"strings"
)

// Decision is the outcome of evaluating policies for one request.
type Decision uint8

const (
	// NotApplicable: no statement applies, an implicit deny unless another policy allows.
	NotApplicable Decision = iota
	// Allow: some Allow statement applies and no Deny does.
	Allow
	// Deny: an explicit Deny applies; nothing can override it.
	Deny
)

func (d Decision) String() string {
	switch d {
	case Allow:
		return "Allow"
	case Deny:
		return "Deny"
	}
	return "NotApplicable"
}

// Combine merges the decisions of several policies that all apply to one request, as
// IAM does: an explicit Deny anywhere wins, else any Allow, else not applicable.
func Combine(ds ...Decision) Decision {
	out := NotApplicable
	for _, d := range ds {
		if d == Deny {
			return Deny
		}
		if d == Allow {
			out = Allow
		}
	}
	return out
}

// Principal is who makes a request. The zero value is the anonymous caller, which
// only "Principal": "*" (or {"AWS": "*"}) matches.
type Principal struct {
	// ARN is the caller's user, role or assumed-role ARN.
	ARN string
	// Account is the caller's account id.
	Account string
	// Service is a service principal such as "apigateway.amazonaws.com".
	Service string
}

// Anonymous reports whether p is the anonymous caller.
func (p Principal) Anonymous() bool { return p.ARN == "" && p.Account == "" && p.Service == "" }

// Context supplies condition-key values. Keys are asked for in lower case
// ("aws:sourceip"); nil (or an empty slice) means the request has no such key. An
// implementation should answer from fields it already holds so that evaluation does
// not allocate.
type Context interface {
	Values(key string) []string
}

// Request is what one policy evaluation is about.
type Request struct {
	Principal Principal
	Action    string // "execute-api:Invoke"; matched case-insensitively
	Resource  string // the ARN acted on
	Context   Context
}

// Evaluate returns the document's decision for req. A nil document is NotApplicable.
func (d *Document) Evaluate(req *Request) Decision {
	if d == nil {
		return NotApplicable
	}
	ev := evaluation{req: req, doc: d}
	out := NotApplicable
	for i := range d.statements {
		st := &d.statements[i]
		if !st.applies(&ev) {
			continue
		}
		if st.effect == deny {
			return Deny
		}
		out = Allow
	}
	return out
}

// evaluation is the state of one Evaluate call.
type evaluation struct {
	req *Request
	doc *Document
}

func (ctx *Request) values(key string) []string {
	if ctx.Context == nil {
		return nil
	}
	return ctx.Context.Values(key)
}

// values lets conditions read the context through the request, nil-safe.
func (ev *evaluation) values(key string) []string { return ev.req.values(key) }

func (st *statement) applies(ev *evaluation) bool {
	return st.matchesPrincipal(ev.req.Principal) && st.matchesAction(ev.req.Action) &&
		st.matchesResource(ev) && st.matchesConditions(ev)
}

func (st *statement) matchesPrincipal(p Principal) bool {
	if st.principal == nil {
		return true // identity policy: applies to its holder
	}
	return st.principal.contains(p) != st.notPrincipal
}

func (ps *principalSet) contains(p Principal) bool {
	if ps.any {
		return true
	}
	if p.Anonymous() {
		return false
	}
	if p.Service != "" {
		for _, s := range ps.services {
			if strings.EqualFold(s, p.Service) {
				return true
			}
		}
		return false
	}
	for _, a := range ps.accounts {
		if a == p.Account {
			return true
		}
	}
	for _, a := range ps.arns {
		if a == p.ARN {
			return true
		}
	}
	for _, a := range ps.other {
		if a == p.ARN {
			return true
		}
	}
	return false
}

func (st *statement) matchesAction(action string) bool {
	found := false
	for _, a := range st.actions {
		if globMatchFold(a, action) {
			found = true
			break
		}
	}
	return found != st.notAction
}

func (st *statement) matchesResource(ev *evaluation) bool {
	found := false
	for _, r := range st.resources {
		want := r.text
		if r.vars {
			var ok bool
			if want, ok = ev.substitute(want); !ok {
				continue
			}
		}
		if arnLike(want, ev.req.Resource) {
			found = true
			break
		}
	}
	return found != st.notResourc
}

func (st *statement) matchesConditions(ev *evaluation) bool {
	for i := range st.conditions {
		if !st.conditions[i].holds(ev) {
			return false
		}
	}
	return true
}

// substitute replaces the policy variables in s (${aws:username}, ${aws:SourceIp},
// and the escapes ${*}, ${?}, ${$}) with their values in the request context. It is
// false when a variable has no value: the element then matches nothing, as IAM
// treats a variable whose key is absent. Only documents that use variables call it.
func (ev *evaluation) substitute(s string) (string, bool) {
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String(), true
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			b.WriteString(s)
			return b.String(), true
		}
		b.WriteString(s[:i])
		name := s[i+2 : i+j]
		switch name {
		case "*", "?", "$":
			b.WriteString(name)
		default:
			key, def, hasDefault := strings.Cut(name, ",")
			vals := ev.values(strings.ToLower(strings.TrimSpace(key)))
			switch {
			case len(vals) > 0 && vals[0] != "":
				b.WriteString(vals[0])
			case hasDefault:
				b.WriteString(strings.Trim(strings.TrimSpace(def), "'"))
			default:
				return "", false
			}
		}
		s = s[i+j+1:]
	}
}
