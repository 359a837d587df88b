package access

import (
	"strings"

	"github.com/sluice-dev/sluice/internal/policy"
)

// InvokeAction is the action every execute-api request is authorized for.
const InvokeAction = "execute-api:Invoke"

// ParseResourcePolicy compiles a REST API's resource policy. apiARN is
// "arn:aws:execute-api:{region}:{account}:{apiId}"; a Resource written in API
// Gateway's short form "execute-api:/{stage}/{METHOD}/{path}" is expanded under it,
// as API Gateway does when it stores the policy.
func ParseResourcePolicy(doc, apiARN string) (*policy.Document, error) {
	return policy.Parse([]byte(doc), policy.Options{Kind: policy.Resource, ExpandResource: func(r string) string {
		if rest, ok := strings.CutPrefix(r, "execute-api:/"); ok {
			return apiARN + "/" + rest
		}
		return r
	}})
}

// ResourcePolicyDecision evaluates a REST API's resource policy for a caller (the
// zero Principal is an anonymous one) invoking methodARN.
func ResourcePolicyDecision(doc *policy.Document, caller policy.Principal, methodARN string, req *Request) policy.Decision {
	return doc.Evaluate(&policy.Request{Principal: caller, Action: InvokeAction, Resource: methodARN, Context: req})
}

// NotAuthorizedMessage is API Gateway's message when a policy refuses a caller:
// "User: anonymous is not authorized to perform: execute-api:Invoke on resource:
// arn:aws:execute-api:us-east-1:********9012:abc123/prod/GET/pets", with " with an
// explicit deny" when a Deny statement (rather than the lack of an Allow) refused it.
// The account id in the ARN is masked as AWS masks it, all but its last four digits.
// (See "How do I troubleshoot HTTP 403 Forbidden errors from API Gateway?".)
func NotAuthorizedMessage(user, methodARN string, explicit bool) string {
	if user == "" {
		user = "anonymous"
	}
	msg := "User: " + user + " is not authorized to perform: " + InvokeAction + " on resource: " + maskAccount(methodARN)
	if explicit {
		msg += " with an explicit deny"
	}
	return msg
}

// maskAccount replaces the account id (the fifth part) of an ARN by asterisks,
// keeping its last four digits.
func maskAccount(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || len(parts[4]) <= 4 {
		return arn
	}
	parts[4] = strings.Repeat("*", len(parts[4])-4) + parts[4][len(parts[4])-4:]
	return strings.Join(parts, ":")
}
