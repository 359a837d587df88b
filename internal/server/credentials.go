package server

import (
	"errors"
	"net/http"

	"github.com/sluice-dev/sluice/internal/awsproto"
	"github.com/sluice-dev/sluice/internal/fncreds"
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
	switch {
	case err == nil:
		return nil
	case errors.Is(err, fncreds.ErrTokenExpired):
		return awsproto.Errorf(http.StatusForbidden, "ExpiredTokenException", "The security token included in the request is expired")
	default:
		return awsproto.Errorf(http.StatusForbidden, "UnrecognizedClientException", "The security token included in the request is invalid.")
	}
}
