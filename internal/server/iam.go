package server

import (
	"net/http"
	"strings"

	"github.com/sluice-dev/sluice/internal/apigw/access"
	"github.com/sluice-dev/sluice/internal/awsproto"
	"github.com/sluice-dev/sluice/internal/fncreds"
	"github.com/sluice-dev/sluice/internal/iam"
	"github.com/sluice-dev/sluice/internal/policy"
	"github.com/sluice-dev/sluice/internal/sigv4"
)

// credentialChain asks each source in turn for an access key's secret: the root
// (bootstrap admin) key first, then IAM users' keys and AssumeRole sessions.
type credentialChain []sigv4.Credentials

func (c credentialChain) SecretFor(id string) (string, bool) {
	for _, src := range c {
		if secret, ok := src.SecretFor(id); ok {
			return secret, true
		}
	}
	return "", false
}

// invokeAuthenticator verifies AWS_IAM requests on the data plane: always in verify
// mode (open mode never applies to API callers), scoped to execute-api in this
// region, by the root key or an active IAM key.
type invokeAuthenticator struct {
	verifier *sigv4.Verifier
	iam      *iam.Service
	sessions *fncreds.Issuer
	rootKey  string
	account  string
	region   string
}

func (a *invokeAuthenticator) AuthenticateInvoke(r *http.Request) (*access.Caller, error) {
	id, err := a.verifier.Verify(r)
	if err != nil {
		return nil, err
	}
	// A signature for another service or region does not authenticate an API call.
	if id.Service != "execute-api" {
		return nil, awsproto.Errorf(http.StatusForbidden, sigv4.CodeInvalidSignature,
			"Credential should be scoped to correct service: 'execute-api'. ")
	}
	if id.Region != a.region {
		return nil, awsproto.Errorf(http.StatusForbidden, sigv4.CodeInvalidSignature,
			"Credential should be scoped to a valid region, not '%s'. ", id.Region)
	}
	if tokenOnLongTermKey(a.iam, a.rootKey, id) {
		return nil, errTokenOnLongTermKey
	}
	if a.rootKey != "" && id.AccessKeyID == a.rootKey {
		return &access.Caller{AccessKeyID: id.AccessKeyID, Account: a.account, ARN: "arn:aws:iam::" + a.account + ":root",
			UserID: a.account, Root: true}, nil
	}
	ident, ok := a.iam.Resolve(id.AccessKeyID, id.SessionToken)
	// A function's session acts as its execution role: the role's policies, or
	// none when IAM does not know the role (then only a resource policy grants).
	if fn, _, isFn, err := functionCaller(a.sessions, a.iam, a.account, id); isFn {
		if err != nil {
			return nil, err
		}
		ident, ok = fn, true
	}
	if !ok {
		return nil, awsproto.Errorf(http.StatusForbidden, sigv4.CodeUnrecognizedClient, "The security token included in the request is invalid.")
	}
	return &access.Caller{AccessKeyID: id.AccessKeyID, Account: ident.Account, ARN: ident.ARN, UserID: ident.UserID,
		Name: ident.Name, Policies: ident.Policies}, nil
}

// errTokenOnLongTermKey refuses a session token sent with a long-term key, as STS
// validates every X-Amz-Security-Token: the key's owner did not get that token, so
// the request is not what it claims to be.
var errTokenOnLongTermKey = awsproto.Errorf(http.StatusForbidden, sigv4.CodeUnrecognizedClient, "The security token included in the request is invalid.")

// tokenOnLongTermKey reports a request signed with a long-term key (the root key or
// an IAM user's) that also carries X-Amz-Security-Token. Keys Sluice does not know
// are left to open mode's rules; session keys are checked against their own token.
func tokenOnLongTermKey(ids *iam.Service, rootKey string, id *sigv4.Identity) bool {
	if id.SessionToken == "" || fncreds.IsSessionKey(id.AccessKeyID) {
		return false
	}
	if rootKey != "" && id.AccessKeyID == rootKey {
		return true
	}
	return ids.IsLongTermKey(id.AccessKeyID)
}

// guardControlPlane lets an IAM (non-root) caller use a control-plane service only
// when its identity policies allow every action of that service ("lambda:*",
// "apigateway:*", or "*"): Sluice does not map each control-plane operation to its
// IAM action yet, so it grants all or nothing rather than anything to anyone. IAM and
// STS authorize each action themselves.
//
// A function's session is held to its execution role's policies the same way when
// IAM knows the role; a role IAM does not know leaves it unrestricted, because
// Sluice does not (yet) require a function's role to exist as AWS does.
func guardControlPlane(next func(*http.Request) (*http.Request, error), ids *iam.Service, sessions *fncreds.Issuer, account, rootKey string) func(*http.Request) (*http.Request, error) {
	return func(r *http.Request) (*http.Request, error) {
		r, err := next(r)
		if err != nil {
			return r, err
		}
		id, ok := sigv4.IdentityFrom(r.Context())
		if !ok {
			return r, nil
		}
		if tokenOnLongTermKey(ids, rootKey, id) {
			return r, errTokenOnLongTermKey
		}
		ident, ok := ids.Resolve(id.AccessKeyID, id.SessionToken)
		if fn, roleKnown, isFn, err := functionCaller(sessions, ids, account, id); isFn {
			if err != nil {
				return r, err
			}
			ident, ok = fn, roleKnown
		}
		if !ok {
			return r, nil // the root key, or an unknown key accepted in open mode
		}
		service := serviceFor(r)
		if service == "iam" || service == "sts" {
			return r, nil
		}
		action := service + ":*"
		if ident.Allowed(action, "*", nil) != policy.Allow {
			return r, awsproto.Errorf(http.StatusForbidden, "AccessDeniedException",
				"User: %s is not authorized to perform: %s on resource: * because no identity-based policy allows the %s action",
				ident.ARN, strings.TrimSuffix(action, "*")+"*", action)
		}
		return r, nil
	}
}
