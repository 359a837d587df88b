package lambda

import (
	"encoding/json"
	"testing"

	"github.com/sluice-dev/sluice/internal/policy"
)

// Function URL and invoke permissions are evaluated by internal/policy, so every IAM
// condition operator works, negated ones included. The old private evaluator
// ignored statements with operators it did not know, so a Deny guarded by
// StringNotEquals never applied: these cases were allowed before.
func TestResourcePolicyOnSharedEngine(t *testing.T) {
	const fn = "arn:aws:lambda:us-east-1:123456789012:function:f"
	doc := func(stmts string) *policy.Document {
		t.Helper()
		var d policyDocument
		if err := json.Unmarshal([]byte(`{"Version":"2012-10-17","Id":"default","Statement":[`+stmts+`]}`), &d); err != nil {
			t.Fatal(err)
		}
		p := compilePolicy(&d)
		if p == nil {
			t.Fatalf("policy does not compile: %s", stmts)
		}
		return p
	}
	publicURL := `{"Sid":"url","Effect":"Allow","Principal":"*","Action":"lambda:InvokeFunctionUrl","Resource":"` + fn + `",
		"Condition":{"StringEquals":{"lambda:FunctionUrlAuthType":"NONE"}}},
		{"Sid":"inv","Effect":"Allow","Principal":"*","Action":"lambda:InvokeFunction","Resource":"` + fn + `",
		"Condition":{"Bool":{"lambda:InvokedViaFunctionUrl":"true"}}}`
	denyUnlessIAM := `{"Sid":"iamonly","Effect":"Deny","Principal":"*","Action":"lambda:*","Resource":"` + fn + `",
		"Condition":{"StringNotEquals":{"lambda:FunctionUrlAuthType":"AWS_IAM"}}}`
	account := `{"Sid":"acct","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::210987654321:root"},"Action":["lambda:InvokeFunctionUrl","lambda:InvokeFunction"],"Resource":"` + fn + `"}`
	other := policy.Principal{ARN: "arn:aws:iam::210987654321:user/bob", Account: "210987654321"}
	stranger := policy.Principal{ARN: "arn:aws:iam::111111111111:user/eve", Account: "111111111111"}
	cases := []struct {
		name     string
		doc      *policy.Document
		caller   policy.Principal
		authType string
		want     bool
	}{
		{"public URL", doc(publicURL), policy.Principal{}, "NONE", true},
		{"public grant for AWS_IAM only", doc(publicURL), policy.Principal{}, "AWS_IAM", false},
		{"deny unless AWS_IAM", doc(publicURL + "," + denyUnlessIAM), policy.Principal{}, "NONE", false},
		{"cross-account by root", doc(account), other, "AWS_IAM", true},
		{"cross-account stranger", doc(account), stranger, "AWS_IAM", false},
		{"anonymous against an account grant", doc(account), policy.Principal{}, "NONE", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := urlPolicyAllows([]*policy.Document{c.doc}, c.caller, c.authType, "lambda:InvokeFunctionUrl", fn) &&
				urlPolicyAllows([]*policy.Document{c.doc}, c.caller, c.authType, "lambda:InvokeFunction", fn)
			if got != c.want {
				t.Fatalf("allowed = %v, want %v", got, c.want)
			}
		})
	}

	// Invoke: a Deny for any other source account applies.
	inv := doc(`{"Sid":"apigw","Effect":"Allow","Principal":{"Service":"apigateway.amazonaws.com"},"Action":"lambda:InvokeFunction","Resource":"` + fn + `"},
		{"Sid":"own","Effect":"Deny","Principal":"*","Action":"lambda:InvokeFunction","Resource":"` + fn + `",
		"Condition":{"StringNotEquals":{"AWS:SourceAccount":"123456789012"}}}`)
	for acct, want := range map[string]bool{"123456789012": true, "999999999999": false} {
		req := invokeRequest{Principal: "apigateway.amazonaws.com", SourceAccount: acct, Resource: fn}
		if got := allowsInvoke([]*policy.Document{inv}, &req); got != want {
			t.Errorf("source account %s: allowed = %v, want %v", acct, got, want)
		}
	}
}
