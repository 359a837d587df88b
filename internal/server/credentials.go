package server

import (
	"errors"
	"net/http"
	"strings"

	"github.com/sluice-dev/sluice/internal/awsproto"
	"github.com/sluice-dev/sluice/internal/fncreds"
	"github.com/sluice-dev/sluice/internal/iam"
	"github.com/sluice-dev/sluice/internal/sigv4"
)

// checkSession refuses a request signed with a function's temporary key unless it
// carries that key's unexpired session token, in STS's words: AWS answers 403
// UnrecognizedClientException "The security token included in the request is
// invalid." and ExpiredTokenException "The security token included in the request
// is expired".
func checkSession(sessions *fncreds.Issuer, id *sigv4.Identity) error {
	if !fncreds.IsSessionKey(id.AccessKeyID) || !id.Verified {
		return nil
	}
	_, err := sessions.Check(id.AccessKeyID, id.SessionToken)
	return sessionError(err)
}

// sessionError is a failed session check in STS's words (nil for nil).
func sessionError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, fncreds.ErrTokenExpired):
		return awsproto.Errorf(http.StatusForbidden, "ExpiredTokenException", "The security token included in the request is expired")
	default:
		return awsproto.Errorf(http.StatusForbidden, "UnrecognizedClientException", "The security token included in the request is invalid.")
	}
}

// functionCaller is who a request signed with a function's temporary key acts as:
// a session of the function's execution role named after the function, as Lambda
// names it, with the role's identity policies when the role exists in IAM. ok is
// false when the key is not a function's; err when its token is missing, forged or
// expired (then in STS's words, as checkSession answers).
func functionCaller(sessions *fncreds.Issuer, ids *iam.Service, account string, id *sigv4.Identity) (_ *iam.Identity, roleKnown, ok bool, err error) {
	if !fncreds.IsSessionKey(id.AccessKeyID) {
		return nil, false, false, nil
	}
	sess, err := sessions.Check(id.AccessKeyID, id.SessionToken)
	if err != nil {
		return nil, false, true, sessionError(err)
	}
	if ident, known := ids.RoleSession(sess.Role, sess.Function); known {
		ident.AccessKeyID = id.AccessKeyID
		return ident, true, true, nil
	}
	// A role IAM does not know: the session has no identity policies.
	role := sess.Role[strings.LastIndex(sess.Role, "/")+1:]
	return &iam.Identity{AccessKeyID: id.AccessKeyID, Account: account, Name: sess.Function,
		ARN: "arn:aws:sts::" + account + ":assumed-role/" + role + "/" + sess.Function}, false, true, nil
}
