package fncreds

import (
	"strings"
	"testing"
	"time"
)

func TestIssueAndCheck(t *testing.T) {
	is := New([]byte("0123456789abcdef0123456789abcdef"))
	c, err := is.Issue("fn", "arn:aws:iam::123456789012:role/r")
	if err != nil {
		t.Fatal(err)
	}
	if !IsSessionKey(c.AccessKeyID) || !strings.HasPrefix(c.AccessKeyID, "ASIASLU1") || len(c.AccessKeyID) != 20 {
		t.Fatalf("key id %q", c.AccessKeyID)
	}
	if secret, ok := is.SecretFor(c.AccessKeyID); !ok || secret != c.SecretAccessKey {
		t.Fatal("SecretFor does not give the issued secret")
	}
	s, err := is.Check(c.AccessKeyID, c.SessionToken)
	if err != nil || s.Function != "fn" || s.Role != "arn:aws:iam::123456789012:role/r" {
		t.Fatalf("Check = %+v, %v", s, err)
	}
	other, _ := is.Issue("other", "")
	for name, tc := range map[string]struct{ key, token string }{
		"missing token":      {c.AccessKeyID, ""},
		"token of other key": {c.AccessKeyID, other.SessionToken},
		"tampered":           {c.AccessKeyID, strings.Replace(c.SessionToken, "e", "f", 1)},
		"garbage":            {c.AccessKeyID, "abc"},
	} {
		if _, err := is.Check(tc.key, tc.token); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// Another installation's secret mints nothing this one accepts.
	foreign := New([]byte("another secret, another server.."))
	if s2, _ := foreign.SecretFor(c.AccessKeyID); s2 == c.SecretAccessKey {
		t.Error("secrets do not depend on the server secret")
	}
	if _, err := foreign.Check(c.AccessKeyID, c.SessionToken); err == nil {
		t.Error("a foreign server accepted the token")
	}
	// Expiry.
	is.now = func() time.Time { return time.Now().Add(Lifetime + time.Second) }
	if _, err := is.Check(c.AccessKeyID, c.SessionToken); err != ErrTokenExpired {
		t.Errorf("expired token: %v", err)
	}
	if IsSessionKey("AKIAIOSFODNN7EXAMPLE") || IsSessionKey("ASIAIOSFODNN7EXAMPLE") || IsSessionKey("ASIASLU1!!!!!!!!!!!!") {
		t.Error("IsSessionKey accepts a non-session key")
	}
}

func FuzzCheck(f *testing.F) {
	is := New([]byte("0123456789abcdef0123456789abcdef"))
	c, _ := is.Issue("fn", "")
	f.Add(c.AccessKeyID, c.SessionToken)
	f.Add("ASIAAAAAAAAAAAAAAAAA", "e30.")
	f.Fuzz(func(t *testing.T, key, token string) {
		if s, err := is.Check(key, token); err == nil && s.KeyID != key {
			t.Fatalf("accepted a token for another key")
		}
	})
}
