package server

import (
	"errors"
	"net/http"

	"github.com/sluice-dev/sluice/internal/fncreds"
	"github.com/sluice-dev/sluice/internal/lambda"
	"github.com/sluice-dev/sluice/internal/sigv4"
)

// urlAuthenticator verifies requests to AWS_IAM function URLs with the control
// plane's SigV4 verifier, but fails closed whatever the auth mode: only a signature
// checked against a known secret, for service "lambda", passes. The root key is the
// account's root identity.
type urlAuthenticator struct {
	verifier *sigv4.Verifier
	sessions *fncreds.Issuer
	rootKey  string
	account  string
}

func (a urlAuthenticator) AuthenticateURL(r *http.Request) (*lambda.URLCaller, error) {
	id, err := a.verifier.Verify(r)
	if err != nil {
		return nil, err
	}
	if !id.Verified || id.Service != "lambda" {
		return nil, errors.New("function URL: signature not verified for service lambda")
	}
	c := &lambda.URLCaller{AccessKeyID: id.AccessKeyID, AccountID: a.account}
	// A function's temporary key counts only with its session token.
	if fncreds.IsSessionKey(id.AccessKeyID) {
		if err := checkSession(a.sessions, id); err != nil {
			return nil, err
		}
	}
	if a.rootKey != "" && id.AccessKeyID == a.rootKey {
		c.Root, c.ARN, c.UserID = true, "arn:aws:iam::"+a.account+":root", a.account
	}
	return c, nil
}
