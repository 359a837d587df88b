package policy

import "testing"

// FuzzParse: no document, however malformed, may panic or hang the parser, and any
// document it accepts must evaluate without panicking.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"execute-api:Invoke","Resource":"*"}]}`,
		`{"Statement":{"Effect":"Deny","NotPrincipal":{"AWS":["123456789012"]},"NotAction":"s3:*","NotResource":"arn:aws:s3:::b/*"}}`,
		`{"Statement":[{"Effect":"Allow","Principal":{"Service":"x"},"Action":"*","Resource":"*","Condition":{"ForAllValues:StringLikeIfExists":{"k":["a*",1,true]},"Null":{"n":"true"},"IpAddress":{"aws:SourceIp":"10.0.0.0/8"},"DateLessThan":{"aws:CurrentTime":"2030-01-01"}}}]}`,
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"arn:aws:s3:::${aws:username}/${*}"}]}`,
		`[]`, `null`, `{"Statement":[]}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		for _, kind := range []Kind{Identity, Resource} {
			d, err := Parse(doc, Options{Kind: kind})
			if err != nil {
				if d != nil {
					t.Fatal("a document with an error")
				}
				continue
			}
			req := &Request{Principal: Principal{ARN: "arn:aws:iam::123456789012:user/a", Account: "123456789012"},
				Action: "execute-api:Invoke", Resource: apiARN,
				Context: mapContext{"aws:sourceip": {"10.1.2.3"}, "aws:username": {"a"}, "k": {"ab", "c"}}}
			_ = d.Evaluate(req)
			_ = d.Evaluate(&Request{})
		}
	})
}

// FuzzEvaluate: any request against a policy using every operator family evaluates
// without panicking, and the explicit Deny statement always wins when it applies.
func FuzzEvaluate(f *testing.F) {
	d, err := Parse([]byte(`{"Version":"2012-10-17","Statement":[
	 {"Effect":"Allow","Principal":"*","Action":"execute-api:*","Resource":"arn:aws:execute-api:*:*:abc/*",
	  "Condition":{"IpAddressIfExists":{"aws:SourceIp":["10.0.0.0/8","::1"]},"StringLike":{"k":"a*b?"},"NumericLessThan":{"n":5},
	   "DateGreaterThanEquals":{"d":"2020-01-01T00:00:00Z"},"Bool":{"b":"true"},"ForAnyValue:ArnLike":{"arn":"arn:aws:*:*:*:x/*"}}},
	 {"Effect":"Deny","Principal":"*","Action":"*","Resource":"*","Condition":{"StringEquals":{"deny":"yes"}}}]}`), Options{Kind: Resource})
	if err != nil {
		f.Fatal(err)
	}
	f.Add("execute-api:Invoke", "arn:aws:execute-api:us-east-1:1:abc/prod/GET/", "10.0.0.1", "axbc", "4", "2021-01-01T00:00:00Z", "true", "no")
	f.Add("", "", "", "", "", "", "", "yes")
	f.Fuzz(func(t *testing.T, action, resource, ip, k, n, date, b, denyV string) {
		ctx := mapContext{"aws:sourceip": {ip}, "k": {k}, "n": {n}, "d": {date}, "b": {b}, "arn": {resource}, "deny": {denyV}}
		got := d.Evaluate(&Request{Action: action, Resource: resource, Context: ctx})
		if denyV == "yes" && got != Deny {
			t.Fatalf("explicit deny lost: %v", got)
		}
	})
}
