package lambda

import (
	"encoding/json"
	"strings"

	"github.com/sluice-dev/sluice/internal/policy"
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

// invokeRequest is what a policy is evaluated against. It answers the condition
// keys AddPermission writes (aws:SourceArn, aws:SourceAccount) as a policy.Context.
type invokeRequest struct {
	Principal     string // service principal, e.g. apigateway.amazonaws.com
	SourceARN     string
	SourceAccount string
	Resource      string // the function ARN as invoked (qualified if it was)
	vals          [2]string
}

// Values implements policy.Context.
func (r *invokeRequest) Values(key string) []string {
	i := -1
	switch key {
	case "aws:sourcearn":
		i, r.vals[0] = 0, r.SourceARN
	case "aws:sourceaccount":
		i, r.vals[1] = 1, r.SourceAccount
	}
	if i < 0 || r.vals[i] == "" {
		return nil
	}
	return r.vals[i : i+1]
}

// compilePolicy compiles a stored resource policy for evaluation; a policy that does
// not compile (which AddPermission never writes) allows nothing.
func compilePolicy(d *policyDocument) *policy.Document {
	if d == nil {
		return nil
	}
	raw, err := json.Marshal(d)
	if err != nil {
		return nil
	}
	doc, err := policy.Parse(raw, policy.Options{Kind: policy.Resource})
	if err != nil {
		return nil
	}
	return doc
}

// allowsInvoke evaluates the resource policies for lambda:InvokeFunction by a
// service principal, as IAM does for a request with no identity policy: an explicit
// Deny in any of them wins, otherwise some Allow must match.
func allowsInvoke(docs []*policy.Document, req *invokeRequest) bool {
	preq := policy.Request{Principal: invokePrincipal(req.Principal), Action: "lambda:InvokeFunction",
		Resource: req.Resource, Context: req}
	out := policy.NotApplicable
	for _, d := range docs {
		out = policy.Combine(out, d.Evaluate(&preq))
	}
	return out == policy.Allow
}

// invokePrincipal reads the invoking principal: an IAM ARN, an account id, or a
// service principal such as apigateway.amazonaws.com.
func invokePrincipal(p string) policy.Principal {
	switch {
	case strings.HasPrefix(p, "arn:"):
		account := ""
		if parts := strings.SplitN(p, ":", 6); len(parts) == 6 {
			account = parts[4]
		}
		return policy.Principal{ARN: p, Account: account}
	case accountRE.MatchString(p):
		return policy.Principal{Account: p}
	}
	return policy.Principal{Service: p}
}
