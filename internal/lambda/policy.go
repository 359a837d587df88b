package lambda

import (
	"encoding/json"
	"strings"
)

// policyDocument is a function's (or a version's, or an alias's) resource-based
// policy, in the shape GetPolicy returns it:
//
//	{"Version":"2012-10-17","Id":"default","Statement":[{"Sid":"apigw","Effect":"Allow",
//	 "Principal":{"Service":"apigateway.amazonaws.com"},"Action":"lambda:InvokeFunction",
//	 "Resource":"arn:aws:lambda:us-east-1:123456789012:function:fn",
//	 "Condition":{"ArnLike":{"AWS:SourceArn":"arn:aws:execute-api:us-east-1:123456789012:abc/*"}}}]}
type policyDocument struct {
	Version   string      `json:"Version"`
	Id        string      `json:"Id"`
	Statement []statement `json:"Statement"`
}

type statement struct {
	Sid       string                           `json:"Sid"`
	Effect    string                           `json:"Effect"`
	Principal principal                        `json:"Principal"`
	Action    stringList                       `json:"Action"`
	Resource  stringList                       `json:"Resource"`
	Condition map[string]map[string]stringList `json:"Condition,omitempty"`
}

// stringList is an IAM value that is a string or a list of strings; it marshals
// back as a string when it holds one.
type stringList []string

func (l stringList) MarshalJSON() ([]byte, error) {
	if len(l) == 1 {
		return json.Marshal(l[0])
	}
	return json.Marshal([]string(l))
}

func (l *stringList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*l = stringList{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*l = many
	return nil
}

// principal is "*" or {"Service": ...} / {"AWS": ...}.
type principal struct {
	Any     bool
	Service stringList
	AWS     stringList
}

func (p principal) MarshalJSON() ([]byte, error) {
	if p.Any {
		return []byte(`"*"`), nil
	}
	m := map[string]stringList{}
	if len(p.Service) > 0 {
		m["Service"] = p.Service
	}
	if len(p.AWS) > 0 {
		m["AWS"] = p.AWS
	}
	return json.Marshal(m)
}

func (p *principal) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		p.Any = s == "*"
		return nil
	}
	var m struct {
		Service stringList `json:"Service"`
		AWS     stringList `json:"AWS"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	p.Service, p.AWS = m.Service, m.AWS
	return nil
}

// principalFor turns AddPermission's Principal parameter into a policy principal as
// AWS writes it: a service name stays a service, an account id becomes the
// account's root ARN, "*" is anyone.
func principalFor(account, p string) principal {
	switch {
	case p == "*":
		return principal{Any: true}
	case accountRE.MatchString(p):
		return principal{AWS: stringList{"arn:aws:iam::" + p + ":root"}}
	case strings.HasPrefix(p, "arn:"):
		return principal{AWS: stringList{p}}
	default:
		return principal{Service: stringList{p}}
	}
}

// invokeRequest is what a policy is evaluated against.
type invokeRequest struct {
	Principal     string // service principal, e.g. apigateway.amazonaws.com
	SourceARN     string
	SourceAccount string
	Resource      string // the function ARN as invoked (qualified if it was)
}

// allowsInvoke evaluates the resource policies for lambda:InvokeFunction by a
// service principal, as IAM does for a request with no identity policy: an explicit
// Deny wins, otherwise some Allow must match.
func allowsInvoke(docs []*policyDocument, req invokeRequest) bool {
	allowed := false
	for _, d := range docs {
		if d == nil {
			continue
		}
		for i := range d.Statement {
			st := &d.Statement[i]
			if !st.matches(req) {
				continue
			}
			if strings.EqualFold(st.Effect, "Deny") {
				return false
			}
			if strings.EqualFold(st.Effect, "Allow") {
				allowed = true
			}
		}
	}
	return allowed
}

func (st *statement) matches(req invokeRequest) bool {
	return st.matchesPrincipal(req.Principal) && st.matchesAction("lambda:InvokeFunction") &&
		st.matchesResource(req.Resource) && st.matchesConditions(req)
}

func (st *statement) matchesPrincipal(p string) bool {
	if st.Principal.Any {
		return true
	}
	for _, s := range st.Principal.Service {
		if s == "*" || strings.EqualFold(s, p) {
			return true
		}
	}
	for _, a := range st.Principal.AWS {
		if a == "*" || a == p {
			return true
		}
	}
	return false
}

// matchesAction: IAM action names are case-insensitive and may use wildcards.
func (st *statement) matchesAction(action string) bool {
	for _, a := range st.Action {
		if globMatch(strings.ToLower(a), strings.ToLower(action)) {
			return true
		}
	}
	return false
}

func (st *statement) matchesResource(arn string) bool {
	for _, r := range st.Resource {
		if arnLike(r, arn) {
			return true
		}
	}
	return false
}

// matchesConditions supports the operators AddPermission writes (ArnLike,
// StringEquals) and their close relatives. An operator it does not know, or a
// condition on a key the request does not carry, does not match: a statement is
// never broader than it says.
func (st *statement) matchesConditions(req invokeRequest) bool {
	for op, conds := range st.Condition {
		for key, values := range conds {
			var v string
			switch strings.ToLower(key) {
			case "aws:sourcearn":
				v = req.SourceARN
			case "aws:sourceaccount":
				v = req.SourceAccount
			default:
				return false
			}
			if v == "" {
				return false
			}
			if !conditionHolds(op, values, v) {
				return false
			}
		}
	}
	return true
}

func conditionHolds(op string, values stringList, v string) bool {
	for _, want := range values {
		var ok bool
		switch op {
		case "ArnLike", "ArnEquals":
			ok = arnLike(want, v)
		case "StringEquals":
			ok = want == v
		case "StringEqualsIgnoreCase":
			ok = strings.EqualFold(want, v)
		case "StringLike":
			ok = globMatch(want, v)
		default:
			return false
		}
		if ok {
			return true
		}
	}
	return false
}

// arnLike is IAM's ArnLike: both ARNs are split into their six colon-separated
// parts and each part is matched on its own, with * and ? wildcards (the resource
// part, the sixth, keeps its own colons).
func arnLike(pattern, arn string) bool {
	if pattern == "*" {
		return true
	}
	pp := strings.SplitN(pattern, ":", 6)
	ap := strings.SplitN(arn, ":", 6)
	if len(pp) != 6 || len(ap) != 6 {
		return false
	}
	for i := range pp {
		if !globMatch(pp[i], ap[i]) {
			return false
		}
	}
	return true
}

// globMatch matches s against a pattern where * is any run of characters and ? any
// one character.
func globMatch(pattern, s string) bool {
	// Iterative matching with backtracking to the last star: linear in practice,
	// never exponential.
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == s[i]):
			p++
			i++
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}
