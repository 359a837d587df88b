package policy

import (
	"errors"
	"strings"
	"testing"
)

// mapContext is a test Context.
type mapContext map[string][]string

func (m mapContext) Values(key string) []string { return m[key] }

const apiARN = "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/pets"

func mustParse(t testing.TB, kind Kind, doc string) *Document {
	t.Helper()
	d, err := Parse([]byte(doc), Options{Kind: kind})
	if err != nil {
		t.Fatalf("Parse(%s): %v", doc, err)
	}
	return d
}

func TestEvaluate(t *testing.T) {
	user := Principal{ARN: "arn:aws:iam::123456789012:user/alice", Account: "123456789012"}
	other := Principal{ARN: "arn:aws:iam::999999999999:user/bob", Account: "999999999999"}
	cases := []struct {
		name string
		kind Kind
		doc  string
		req  Request
		want Decision
	}{
		{"allow star principal", Resource,
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:*:*:abc123/*"}]}`,
			Request{Action: "execute-api:Invoke", Resource: apiARN}, Allow},
		{"action case-insensitive and wildcard", Resource,
			`{"Statement":{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"EXECUTE-API:*","Resource":"*"}}`,
			Request{Action: "execute-api:Invoke", Resource: apiARN}, Allow},
		{"resource does not match", Resource,
			`{"Statement":[{"Effect":"Allow","Principal":"*","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:us-east-1:123456789012:abc123/prod/POST/*"}]}`,
			Request{Action: "execute-api:Invoke", Resource: apiARN}, NotApplicable},
		{"wildcard does not cross ARN parts", Resource,
			`{"Statement":[{"Effect":"Allow","Principal":"*","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:us-*"}]}`,
			Request{Action: "execute-api:Invoke", Resource: apiARN}, NotApplicable},
		{"explicit deny wins", Resource,
			`{"Statement":[{"Effect":"Allow","Principal":"*","Action":"execute-api:Invoke","Resource":"*"},
			  {"Effect":"Deny","Principal":"*","Action":"execute-api:Invoke","Resource":"*"}]}`,
			Request{Action: "execute-api:Invoke", Resource: apiARN}, Deny},
		{"anonymous does not match an account", Resource,
			`{"Statement":[{"Effect":"Allow","Principal":{"AWS":"123456789012"},"Action":"*","Resource":"*"}]}`,
			Request{Action: "execute-api:Invoke", Resource: apiARN}, NotApplicable},
		{"account root matches its users", Resource,
			`{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"*","Resource":"*"}]}`,
			Request{Principal: user, Action: "execute-api:Invoke", Resource: apiARN}, Allow},
		{"user ARN", Resource,
			`{"Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::123456789012:user/alice"]},"Action":"*","Resource":"*"}]}`,
			Request{Principal: other, Action: "execute-api:Invoke", Resource: apiARN}, NotApplicable},
		{"NotPrincipal", Resource,
			`{"Statement":[{"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::123456789012:user/alice"},"Action":"*","Resource":"*"}]}`,
			Request{Principal: other, Action: "s3:GetObject", Resource: apiARN}, Deny},
		{"service principal", Resource,
			`{"Statement":[{"Effect":"Allow","Principal":{"Service":"apigateway.amazonaws.com"},"Action":"lambda:InvokeFunction","Resource":"*"}]}`,
			Request{Principal: Principal{Service: "apigateway.amazonaws.com"}, Action: "lambda:InvokeFunction", Resource: "arn:aws:lambda:us-east-1:123456789012:function:f"}, Allow},
		{"NotAction", Identity,
			`{"Statement":[{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}]}`,
			Request{Principal: user, Action: "iam:CreateUser", Resource: "*"}, NotApplicable},
		{"NotResource", Identity,
			`{"Statement":[{"Effect":"Deny","Action":"*","NotResource":"arn:aws:s3:::public/*"}]}`,
			Request{Principal: user, Action: "s3:GetObject", Resource: "arn:aws:s3:::secret/x"}, Deny},
		{"IpAddress allows inside", Resource,
			`{"Statement":[{"Effect":"Allow","Principal":"*","Action":"execute-api:Invoke","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":["10.0.0.0/8","192.0.2.1"]}}}]}`,
			Request{Action: "execute-api:Invoke", Resource: apiARN, Context: mapContext{"aws:sourceip": {"192.0.2.1"}}}, Allow},
		{"IpAddress refuses outside", Resource,
			`{"Statement":[{"Effect":"Allow","Principal":"*","Action":"execute-api:Invoke","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}]}`,
			Request{Action: "execute-api:Invoke", Resource: apiARN, Context: mapContext{"aws:sourceip": {"192.0.2.1"}}}, NotApplicable},
		{"NotIpAddress deny", Resource,
			`{"Statement":[{"Effect":"Deny","Principal":"*","Action":"execute-api:Invoke","Resource":"*","Condition":{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}]}`,
			Request{Action: "execute-api:Invoke", Resource: apiARN, Context: mapContext{"aws:sourceip": {"::ffff:192.0.2.1"}}}, Deny},
		{"absent key fails a positive operator", Resource,
			`{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:SourceVpce":"vpce-1"}}}]}`,
			Request{Action: "execute-api:Invoke", Resource: apiARN}, NotApplicable},
		{"absent key satisfies a negated operator", Resource,
			`{"Statement":[{"Effect":"Deny","Principal":"*","Action":"*","Resource":"*","Condition":{"StringNotEquals":{"aws:SourceVpce":"vpce-1"}}}]}`,
			Request{Action: "execute-api:Invoke", Resource: apiARN}, Deny},
		{"IfExists with absent key", Resource,
			`{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*","Condition":{"StringEqualsIfExists":{"aws:SourceVpce":"vpce-1"}}}]}`,
			Request{Action: "execute-api:Invoke", Resource: apiARN}, Allow},
		{"IfExists with present key", Resource,
			`{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*","Condition":{"StringEqualsIfExists":{"aws:SourceVpce":"vpce-1"}}}]}`,
			Request{Action: "execute-api:Invoke", Resource: apiARN, Context: mapContext{"aws:sourcevpce": {"vpce-2"}}}, NotApplicable},
		{"Null true", Resource,
			`{"Statement":[{"Effect":"Deny","Principal":"*","Action":"*","Resource":"*","Condition":{"Null":{"aws:SourceVpce":"true"}}}]}`,
			Request{Action: "execute-api:Invoke", Resource: apiARN}, Deny},
		{"Null false", Resource,
			`{"Statement":[{"Effect":"Deny","Principal":"*","Action":"*","Resource":"*","Condition":{"Null":{"aws:SourceVpce":false}}}]}`,
			Request{Action: "execute-api:Invoke", Resource: apiARN}, NotApplicable},
		{"StringLike and IgnoreCase", Identity,
			`{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringLike":{"aws:UserAgent":"curl/*"},"StringEqualsIgnoreCase":{"aws:RequestedRegion":"US-EAST-1"}}}]}`,
			Request{Principal: user, Action: "x:y", Resource: "*", Context: mapContext{"aws:useragent": {"curl/8.5"}, "aws:requestedregion": {"us-east-1"}}}, Allow},
		{"conditions are ANDed", Identity,
			`{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringLike":{"aws:UserAgent":"curl/*"},"Bool":{"aws:SecureTransport":"true"}}}]}`,
			Request{Principal: user, Action: "x:y", Resource: "*", Context: mapContext{"aws:useragent": {"curl/8.5"}, "aws:securetransport": {"false"}}}, NotApplicable},
		{"Numeric", Identity,
			`{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"NumericLessThanEquals":{"s3:max-keys":10}}}]}`,
			Request{Principal: user, Action: "s3:ListBucket", Resource: "*", Context: mapContext{"s3:max-keys": {"10"}}}, Allow},
		{"Date", Identity,
			`{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:CurrentTime":"2030-01-01T00:00:00Z"},"DateGreaterThan":{"aws:EpochTime":"2020-01-01"}}}]}`,
			Request{Principal: user, Action: "x:y", Resource: "*", Context: mapContext{"aws:currenttime": {"2026-12-01T10:00:00Z"}, "aws:epochtime": {"1796000000"}}}, Allow},
		{"ArnLike on SourceArn", Resource,
			`{"Statement":[{"Effect":"Allow","Principal":{"Service":"apigateway.amazonaws.com"},"Action":"lambda:InvokeFunction","Resource":"*","Condition":{"ArnLike":{"AWS:SourceArn":"arn:aws:execute-api:us-east-1:123456789012:abc123/*"}}}]}`,
			Request{Principal: Principal{Service: "apigateway.amazonaws.com"}, Action: "lambda:InvokeFunction", Resource: "*", Context: mapContext{"aws:sourcearn": {apiARN}}}, Allow},
		{"ForAnyValue", Identity,
			`{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"ForAnyValue:StringEquals":{"aws:TagKeys":["a","b"]}}}]}`,
			Request{Principal: user, Action: "x:y", Resource: "*", Context: mapContext{"aws:tagkeys": {"z", "b"}}}, Allow},
		{"ForAllValues refuses one stranger", Identity,
			`{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"ForAllValues:StringEquals":{"aws:TagKeys":["a","b"]}}}]}`,
			Request{Principal: user, Action: "x:y", Resource: "*", Context: mapContext{"aws:tagkeys": {"a", "z"}}}, NotApplicable},
		{"ForAllValues with absent key", Identity,
			`{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"ForAllValues:StringEquals":{"aws:TagKeys":["a"]}}}]}`,
			Request{Principal: user, Action: "x:y", Resource: "*"}, Allow},
		{"policy variable in resource", Identity,
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::home/${aws:username}/*"}]}`,
			Request{Principal: user, Action: "s3:GetObject", Resource: "arn:aws:s3:::home/alice/notes", Context: mapContext{"aws:username": {"alice"}}}, Allow},
		{"policy variable without value matches nothing", Identity,
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::home/${aws:username}/*"}]}`,
			Request{Principal: user, Action: "s3:GetObject", Resource: "arn:aws:s3:::home//notes"}, NotApplicable},
		{"variables are literal before 2012-10-17", Identity,
			`{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::home/${aws:username}/*"}]}`,
			Request{Principal: user, Action: "s3:GetObject", Resource: "arn:aws:s3:::home/${aws:username}/x", Context: mapContext{"aws:username": {"alice"}}}, Allow},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := mustParse(t, c.kind, c.doc)
			if got := d.Evaluate(&c.req); got != c.want {
				t.Fatalf("Evaluate = %v, want %v", got, c.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		name string
		kind Kind
		doc  string
		want string
	}{
		{"not JSON", Resource, `{`, "Syntax errors in policy"},
		{"no statement", Resource, `{"Version":"2012-10-17"}`, "no Statement"},
		{"bad effect", Resource, `{"Statement":[{"Effect":"Maybe","Principal":"*","Action":"*","Resource":"*"}]}`, "Effect must be"},
		{"identity with principal", Identity, `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}`, "should not specify a principal"},
		{"resource without principal", Resource, `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`, "should specify a principal"},
		{"unknown operator", Resource, `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*","Condition":{"StringSorta":{"a":"b"}}}]}`, "unknown condition operator"},
		{"bad ip", Resource, `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"nope"}}}]}`, "IP address"},
		{"unknown element", Resource, `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*","Actions":"x"}]}`, "unknown field"},
		{"both action forms", Identity, `{"Statement":[{"Effect":"Allow","Action":"*","NotAction":"*","Resource":"*"}]}`, "both Action and NotAction"},
		{"bad version", Identity, `{"Version":"2020-01-01","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`, "Version"},
		{"action without service", Identity, `{"Statement":[{"Effect":"Allow","Action":"Invoke","Resource":"*"}]}`, "service prefix"},
		{"bad principal", Resource, `{"Statement":[{"Effect":"Allow","Principal":"someone","Action":"*","Resource":"*"}]}`, "Invalid principal"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(c.doc), Options{Kind: c.kind})
			var se *SyntaxError
			if !errors.As(err, &se) || !strings.Contains(se.Message, c.want) {
				t.Fatalf("Parse error = %v, want a SyntaxError containing %q", err, c.want)
			}
		})
	}
}

func TestExpandResource(t *testing.T) {
	d, err := Parse([]byte(`{"Statement":[{"Effect":"Deny","Principal":"*","Action":"execute-api:Invoke","Resource":"execute-api:/prod/GET/*"}]}`),
		Options{Kind: Resource, ExpandResource: func(r string) string {
			if rest, ok := strings.CutPrefix(r, "execute-api:/"); ok {
				return "arn:aws:execute-api:us-east-1:123456789012:abc123/" + rest
			}
			return r
		}})
	if err != nil {
		t.Fatal(err)
	}
	if got := d.Evaluate(&Request{Action: "execute-api:Invoke", Resource: apiARN}); got != Deny {
		t.Fatalf("Evaluate = %v, want Deny", got)
	}
}

func TestGlob(t *testing.T) {
	cases := []struct {
		p, s string
		want bool
	}{
		{"*", "", true}, {"a*c", "abc", true}, {"a*c", "ab", false}, {"a?c", "abc", true},
		{"a?c", "ac", false}, {"*b*", "abc", true}, {"**", "x", true}, {"a*b*c", "axxbyyc", true},
		{"a*b*c", "axxbyy", false}, {"", "", true}, {"", "a", false},
		// A literal * in the string is still matched by the pattern's wildcard.
		{"*", "*0", true}, {"abc/*", "abc/*x", true}, {"a*", "a*", true},
	}
	for _, c := range cases {
		if got := globMatch(c.p, c.s); got != c.want {
			t.Errorf("globMatch(%q, %q) = %v", c.p, c.s, got)
		}
	}
	if !globMatchFold("execute-api:*", "Execute-API:Invoke") {
		t.Error("globMatchFold is case-sensitive")
	}
}

func TestEvaluateDoesNotAllocate(t *testing.T) {
	d := mustParse(t, Resource, `{"Version":"2012-10-17","Statement":[
	  {"Effect":"Allow","Principal":"*","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:us-east-1:123456789012:abc123/*","Condition":{"IpAddress":{"aws:SourceIp":["10.0.0.0/8","127.0.0.1"]}}},
	  {"Effect":"Deny","Principal":"*","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:us-east-1:123456789012:abc123/*/DELETE/*","Condition":{"StringNotEquals":{"aws:SourceVpce":"vpce-1"}}}]}`)
	req := &Request{Action: "execute-api:Invoke", Resource: apiARN, Context: mapContext{"aws:sourceip": {"127.0.0.1"}}}
	if n := testing.AllocsPerRun(100, func() {
		if d.Evaluate(req) != Allow {
			t.Fatal("not allowed")
		}
	}); n != 0 {
		t.Fatalf("Evaluate allocates %v times per call", n)
	}
}

func BenchmarkEvaluate(b *testing.B) {
	d := mustParse(b, Resource, `{"Version":"2012-10-17","Statement":[
	  {"Effect":"Allow","Principal":"*","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:us-east-1:123456789012:abc123/*","Condition":{"IpAddress":{"aws:SourceIp":["10.0.0.0/8","127.0.0.1"]}}},
	  {"Effect":"Deny","Principal":"*","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:us-east-1:123456789012:abc123/*/DELETE/*"}]}`)
	req := &Request{Action: "execute-api:Invoke", Resource: apiARN, Context: mapContext{"aws:sourceip": {"127.0.0.1"}}}
	b.ReportAllocs()
	for b.Loop() {
		d.Evaluate(req)
	}
}
