package access

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/internal/policy"
)

// FuzzParseResult feeds arbitrary authorizer outputs to the parser of each kind of
// Lambda authorizer (REST, HTTP API with IAM policies, HTTP API simple responses)
// and decides a method with every result it accepts. Nothing may panic, and no
// output may be read as more permissive than it is: an accepted policy result
// allows a method only if its document, decoded independently, has a statement
// with Effect "Allow"; a simple response allows only with isAuthorized true; a
// REST result always carries a principalId and only scalar context values.
func FuzzParseResult(f *testing.F) {
	for _, seed := range []string{
		`{"principalId":"u","policyDocument":{"Version":"2012-10-17","Statement":[{"Action":"execute-api:Invoke","Effect":"Allow","Resource":"*"}]},"context":{"a":"b","n":1,"t":true}}`,
		`{"principalId":"u","policyDocument":{"Version":"2012-10-17","Statement":{"Action":"execute-api:Invoke","Effect":"Deny","Resource":"arn:aws:execute-api:us-east-1:123456789012:api/prod/GET/*"}}}`,
		`{"principalId":"u","policyDocument":{"Statement":[{"Action":"*","Effect":"allow","Resource":"*"}]}}`,
		`{"principalId":"u","policyDocument":{"Statement":[{"NotAction":"s3:*","Effect":"Allow","NotResource":"arn:aws:execute-api:*:*:*/*/POST/*"}]},"usageIdentifierKey":"k"}`,
		`{"principalId":"u","policyDocument":{"Statement":[{"Action":"execute-api:Invoke","Effect":"Allow","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}]}}`,
		`{"isAuthorized":true,"context":{"nested":{"a":[1,2]}}}`,
		`{"isAuthorized":false}`,
		`{"principalId":null,"policyDocument":null}`,
		`{"context":{"a":{"b":1}}}`,
		`[]`, `null`, `"x"`, `{"principalId":"u","policyDocument":"{}"}`,
	} {
		f.Add([]byte(seed))
	}
	authorizers := []*LambdaAuthorizer{
		NewLambdaAuthorizer(LambdaAuthorizer{}),
		NewLambdaAuthorizer(LambdaAuthorizer{HTTP: true, PayloadVersion: "1.0"}),
		NewLambdaAuthorizer(LambdaAuthorizer{HTTP: true, PayloadVersion: "2.0", SimpleResponses: true}),
	}
	const method = "arn:aws:execute-api:us-east-1:123456789012:api/prod/GET/pets"
	f.Fuzz(func(t *testing.T, payload []byte) {
		for i, a := range authorizers {
			r, err := a.ParseResult(payload)
			if err != nil {
				continue
			}
			var req Request
			req.Reset(time.Unix(1700000000, 0))
			req.SetSourceIP("10.1.2.3")
			decision := r.Decide(method, &req)
			var generic struct {
				PrincipalID    *string `json:"principalId"`
				IsAuthorized   *bool   `json:"isAuthorized"`
				PolicyDocument struct {
					Statement json.RawMessage
				} `json:"policyDocument"`
			}
			if err := json.Unmarshal(payload, &generic); err != nil {
				t.Fatalf("authorizer %d accepted %q, which encoding/json refuses: %v", i, payload, err)
			}
			if a.SimpleResponses {
				if r.Policy != nil {
					t.Fatalf("simple response %q produced a policy", payload)
				}
				if (decision == policy.Allow) != (generic.IsAuthorized != nil && *generic.IsAuthorized) {
					t.Fatalf("simple response %q decided %v", payload, decision)
				}
				continue
			}
			if r.Policy == nil {
				t.Fatalf("authorizer %d accepted %q without a policy", i, payload)
			}
			if !a.HTTP {
				if generic.PrincipalID == nil {
					t.Fatalf("REST authorizer accepted %q without principalId", payload)
				}
				for k, v := range r.Context {
					switch v.(type) {
					case string, json.Number, bool:
					default:
						t.Fatalf("REST context %q kept a %T", k, v)
					}
				}
			}
			if decision == policy.Allow && !hasAllowStatement(generic.PolicyDocument.Statement) {
				t.Fatalf("authorizer %d: %q allowed %s without an Allow statement", i, payload, method)
			}
		}
	})
}

// hasAllowStatement reports whether a policy's Statement (an object or an array of
// them) has one whose Effect is exactly "Allow".
func hasAllowStatement(raw json.RawMessage) bool {
	type stmt struct{ Effect any }
	var list []stmt
	if err := json.Unmarshal(raw, &list); err != nil {
		var one stmt
		if json.Unmarshal(raw, &one) != nil {
			return false
		}
		list = []stmt{one}
	}
	for _, s := range list {
		if s.Effect == "Allow" {
			return true
		}
	}
	return false
}
