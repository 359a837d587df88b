package gateway

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/sluice-dev/sluice/internal/apigw/access"
	"github.com/sluice-dev/sluice/internal/apigw/compile"
	"github.com/sluice-dev/sluice/internal/awsproto"
	"github.com/sluice-dev/sluice/internal/policy"
)

// authorizeIAM admits an AWS_IAM request: it must carry a valid SigV4 signature
// (Authorization header or presigned query) for service execute-api by an active
// key, and the caller's identity policy or the API's resource policy must allow
// execute-api:Invoke on the method ARN with no explicit Deny in either (the
// same-account row of "How API Gateway resource policies affect authorization
// workflow"). An unsigned request is 403 Missing Authentication Token; a bad,
// expired, skewed or unknown signature is 403 with the verifier's AWS message; a
// refusal is 403 {"Message":"User: arn:... is not authorized to perform:
// execute-api:Invoke on resource: arn:..."}.
func (g *Gateway) authorizeIAM(x *exchange) bool {
	if g.iam == nil {
		return g.refuseUnsupported(x)
	}
	r := x.r
	if r.Header.Get("Authorization") == "" && !strings.Contains(r.URL.RawQuery, "X-Amz-Signature=") {
		g.fail(x, failMissingToken, nil)
		return false
	}
	// The gateway read the body already; the verifier hashes it again.
	r.Body = io.NopCloser(bytes.NewReader(x.body))
	caller, err := g.iam.AuthenticateInvoke(r)
	if err != nil {
		g.signatureRefused(x, err)
		return false
	}
	x.caller = caller
	x.access.SetPrincipal(caller.ARN, caller.Account, caller.Name, caller.UserID)
	arn := x.route.MethodARN(r.Method, x.stagePath)
	id := caller.IdentityDecision(arn, &x.access)
	rp := policy.NotApplicable
	if x.kind == compile.REST && x.stage.ResourcePolicy != nil {
		rp = x.stage.ResourcePolicy.Evaluate(&policy.Request{
			Principal: policy.Principal{ARN: caller.ARN, Account: caller.Account},
			Action:    "execute-api:Invoke", Resource: arn, Context: &x.access})
	}
	switch policy.Combine(id, rp) {
	case policy.Allow:
		return true
	case policy.Deny:
		g.iamRefused(x, caller.ARN, arn, true)
	default:
		g.iamRefused(x, caller.ARN, arn, false)
	}
	return false
}

func (g *Gateway) iamRefused(x *exchange, user, arn string, explicit bool) {
	if x.kind != compile.REST {
		g.fail(x, failForbidden, nil)
		return
	}
	g.denyAccess(x, access.NotAuthorizedMessage(user, arn, explicit))
}

// signatureRefused answers a failed SigV4 verification: REST APIs through
// INVALID_SIGNATURE (EXPIRED_TOKEN for an expired signature) with AWS's message and
// error type, HTTP APIs with {"message":"Forbidden"}.
func (g *Gateway) signatureRefused(x *exchange, err error) {
	var ae *awsproto.Error
	if !errors.As(err, &ae) {
		g.fail(x, failInternal, err)
		return
	}
	if x.kind != compile.REST {
		g.fail(x, failForbidden, nil)
		return
	}
	typ := "INVALID_SIGNATURE"
	if strings.HasPrefix(ae.Message, "Signature expired") {
		typ = "EXPIRED_TOKEN"
	}
	if ae.Code == "MissingAuthenticationTokenException" {
		typ = "MISSING_AUTHENTICATION_TOKEN"
	}
	status := ae.Status
	if status == 0 || status == http.StatusBadRequest {
		status = http.StatusForbidden
	}
	g.writeGatewayResponse(x, restError{responseType: typ, status: status, message: ae.Message, errorType: ae.Code})
}
