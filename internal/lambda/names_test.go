package lambda

import "testing"

// TestParseFunctionRef covers the FunctionName formats the Invoke API accepts
// (https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html): name, name with
// qualifier, partial ARN and full ARN.
func TestParseFunctionRef(t *testing.T) {
	s := &Service{region: "us-east-1", account: "123456789012"}
	tests := []struct {
		raw  string
		want functionRef
		err  bool
	}{
		{raw: "my-function", want: functionRef{Name: "my-function"}},
		{raw: "my-function:prod", want: functionRef{Name: "my-function", Qualifier: "prod"}},
		{raw: "123456789012:function:my-function", want: functionRef{Name: "my-function"}},
		{raw: "123456789012:function:my-function:7", want: functionRef{Name: "my-function", Qualifier: "7"}},
		{raw: "999999999999:function:my-function", want: functionRef{Name: "my-function", Foreign: true}},
		{raw: "arn:aws:lambda:us-east-1:123456789012:function:my-function:$LATEST", want: functionRef{Name: "my-function", Qualifier: "$LATEST"}},
		{raw: "arn:aws:lambda:eu-west-1:123456789012:function:my-function", want: functionRef{Name: "my-function", Foreign: true}},
		{raw: "a:b:c:d", err: true},
		{raw: "", err: true},
	}
	for _, tt := range tests {
		got, err := s.parseFunctionRef(tt.raw, "")
		if (err != nil) != tt.err || (!tt.err && got != tt.want) {
			t.Errorf("parseFunctionRef(%q) = %+v, %v; want %+v (error %v)", tt.raw, got, err, tt.want, tt.err)
		}
	}
}
