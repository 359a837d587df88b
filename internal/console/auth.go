package console

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
)

// authorized reports whether r may see the console: always in open mode, else
// only with Basic credentials equal to the root key. Both halves are compared in
// constant time, over their SHA-256 so that not even their lengths leak, and
// both are always compared.
func (c *Console) authorized(r *http.Request) bool {
	if c.opts.Open {
		return true
	}
	if c.opts.RootAccessKeyID == "" || c.opts.RootSecretAccessKey == "" {
		return false
	}
	user, password, ok := r.BasicAuth()
	if !ok {
		return false
	}
	u, wantU := sha256.Sum256([]byte(user)), sha256.Sum256([]byte(c.opts.RootAccessKeyID))
	p, wantP := sha256.Sum256([]byte(password)), sha256.Sum256([]byte(c.opts.RootSecretAccessKey))
	return subtle.ConstantTimeCompare(u[:], wantU[:])&subtle.ConstantTimeCompare(p[:], wantP[:]) == 1
}
