// Package fncreds issues and checks the temporary credentials a function instance
// gets in AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, as Lambda
// hands each execution environment its execution role's STS session.
//
// The credentials are stateless, so every node of a cluster can check them and none
// has to store them: the access key id is random ("ASIASLU1" + 12 characters,
// STS's shape), the secret is an HMAC of the key id under the server's signing secret, and
// the session token carries the function, its role, the key id and the expiry,
// authenticated with another HMAC. A request signed with such a key is accepted only
// when it also carries its session token, unexpired and minted for that key. The
// root key never reaches a function.
package fncreds

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// Lifetime is how long issued credentials are valid. Lambda's execution
// environments live for hours at most; the pool retires an instance before its
// credentials expire (see MaxInstanceAge).
const Lifetime = 12 * time.Hour

// MaxInstanceAge is how long one set of credentials may serve: the pool stops
// reusing an instance after this long, so no instance holds credentials that
// expire under it.
const MaxInstanceAge = Lifetime - time.Hour

// Credentials are one instance's session credentials.
type Credentials struct {
	AccessKeyID, SecretAccessKey, SessionToken string
	Expiration                                 time.Time
}

// Session is what a valid session token says about its holder.
type Session struct {
	Function string    `json:"f"`
	Role     string    `json:"r,omitempty"` // the function's execution role ARN
	KeyID    string    `json:"k"`
	Expires  time.Time `json:"e"`
}

// Issuer mints and checks credentials with one secret. Safe for concurrent use.
type Issuer struct {
	secretKey, tokenKey []byte
	now                 func() time.Time
}

// New derives the issuer's keys from the server's signing secret.
func New(secret []byte) *Issuer {
	return &Issuer{
		secretKey: derive(secret, "sluice function credentials secret v1"),
		tokenKey:  derive(secret, "sluice function credentials token v1"),
		now:       time.Now,
	}
}

func derive(secret []byte, label string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(label))
	return m.Sum(nil)
}

// keyPrefix marks temporary keys, as STS's ASIA... ids do. The "1" is outside the
// base32 alphabet AWS key ids are drawn from, so no real AWS key (say a developer's
// SSO session used against an open-mode Sluice) is mistaken for one of ours.
const keyPrefix = "ASIASLU1"

var keyEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// Issue mints credentials for a function instance.
func (is *Issuer) Issue(function, role string) (Credentials, error) {
	var rnd [8]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return Credentials{}, err
	}
	keyID := keyPrefix + keyEncoding.EncodeToString(rnd[:])[:12] // 8 + 12 = 20 characters
	s := Session{Function: function, Role: role, KeyID: keyID, Expires: is.now().Add(Lifetime).UTC().Truncate(time.Second)}
	body, err := json.Marshal(s)
	if err != nil {
		return Credentials{}, err
	}
	m := hmac.New(sha256.New, is.tokenKey)
	m.Write(body)
	token := base64.RawURLEncoding.EncodeToString(body) + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
	return Credentials{AccessKeyID: keyID, SecretAccessKey: is.secretFor(keyID), SessionToken: token, Expiration: s.Expires}, nil
}

func (is *Issuer) secretFor(keyID string) string {
	m := hmac.New(sha256.New, is.secretKey)
	m.Write([]byte(keyID))
	return hex.EncodeToString(m.Sum(nil))[:40]
}

// IsSessionKey reports whether keyID has the shape of an issued key.
func IsSessionKey(keyID string) bool {
	if len(keyID) != 20 || !strings.HasPrefix(keyID, keyPrefix) {
		return false
	}
	for _, c := range keyID[len(keyPrefix):] {
		if !(c >= 'A' && c <= 'Z' || c >= '2' && c <= '7') {
			return false
		}
	}
	return true
}

// SecretFor implements sigv4.Credentials for issued keys. A matching signature
// proves only that the signer holds the secret; Check must then accept the
// session token.
func (is *Issuer) SecretFor(keyID string) (string, bool) {
	if !IsSessionKey(keyID) {
		return "", false
	}
	return is.secretFor(keyID), true
}

// Errors Check returns; the control plane answers them as AWS answers a bad or
// expired session token.
var (
	ErrTokenMissing = errors.New("the security token included in the request is invalid")
	ErrTokenInvalid = errors.New("the security token included in the request is invalid")
	ErrTokenExpired = errors.New("the security token included in the request is expired")
)

// Check validates the session token a request signed with keyID carried.
func (is *Issuer) Check(keyID, token string) (Session, error) {
	if token == "" {
		return Session{}, ErrTokenMissing
	}
	body64, mac64, ok := strings.Cut(token, ".")
	if !ok || len(token) > 4096 {
		return Session{}, ErrTokenInvalid
	}
	body, err1 := base64.RawURLEncoding.DecodeString(body64)
	mac, err2 := base64.RawURLEncoding.DecodeString(mac64)
	if err1 != nil || err2 != nil {
		return Session{}, ErrTokenInvalid
	}
	m := hmac.New(sha256.New, is.tokenKey)
	m.Write(body)
	if !hmac.Equal(mac, m.Sum(nil)) {
		return Session{}, ErrTokenInvalid
	}
	var s Session
	if err := json.Unmarshal(body, &s); err != nil || s.KeyID != keyID {
		return Session{}, ErrTokenInvalid
	}
	if !is.now().Before(s.Expires) {
		return Session{}, ErrTokenExpired
	}
	return s, nil
}
