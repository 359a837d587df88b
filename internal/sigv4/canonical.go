package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/textproto"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// canonicalInput holds exactly the parts of a request that enter its SigV4
// canonical request, already reduced to the signed headers.
type canonicalInput struct {
	method        string
	host          string
	path          string      // canonical URI, already encoded
	query         []queryPair // decoded; X-Amz-Signature removed for presigned requests
	headers       []signedHeader
	signedHeaders string // lower-case names joined by ';'
	payloadHash   string
	signedAt      time.Time
	scope         Scope
}

// signedHeader is one signed header with its values in wire order. present is false
// when the request lacks a header that SignedHeaders names.
type signedHeader struct {
	name    string
	values  []string
	present bool
}

// canonicalRequest renders the canonical request, step 1 of
// https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html.
func (c *canonicalInput) canonicalRequest() string {
	var b strings.Builder
	b.Grow(256 + len(c.path))
	b.WriteString(c.method)
	b.WriteByte('\n')
	b.WriteString(c.path)
	b.WriteByte('\n')
	b.WriteString(canonicalQuery(c.query))
	b.WriteByte('\n')
	for _, h := range c.headers {
		if !h.present {
			// A signed header the request does not carry contributes no line, as in
			// AWS's own verifier; the signature then fails to match.
			continue
		}
		b.WriteString(h.name)
		b.WriteByte(':')
		b.WriteString(canonicalHeaderValue(h.values))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.WriteString(c.signedHeaders)
	b.WriteByte('\n')
	b.WriteString(c.payloadHash)
	return b.String()
}

func (c *canonicalInput) credentialScope() string {
	return c.scope.Date + "/" + c.scope.Region + "/" + c.scope.Service + "/" + terminator
}

// stringToSign is step 2: algorithm, request time, scope and the hashed canonical request.
func (c *canonicalInput) stringToSign(canonical string) string {
	sum := sha256.Sum256([]byte(canonical))
	return algorithm + "\n" + c.signedAt.UTC().Format(timeFormat) + "\n" + c.credentialScope() + "\n" + hex.EncodeToString(sum[:])
}

// canonicalQuery encodes every name and value (RFC 3986 unreserved characters kept,
// space as %20) and sorts by encoded name, then encoded value.
func canonicalQuery(pairs []queryPair) string {
	if len(pairs) == 0 {
		return ""
	}
	enc := make([]queryPair, len(pairs))
	for i, p := range pairs {
		enc[i] = queryPair{key: uriEncode(p.key, false), value: uriEncode(p.value, false)}
	}
	sort.Slice(enc, func(i, j int) bool {
		if enc[i].key != enc[j].key {
			return enc[i].key < enc[j].key
		}
		return enc[i].value < enc[j].value
	})
	var b strings.Builder
	for i, p := range enc {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.key)
		b.WriteByte('=')
		b.WriteString(p.value)
	}
	return b.String()
}

// canonicalHeaderValue trims each value, collapses runs of spaces to one, and joins
// repeated headers with commas in the order they arrived (AWS's "Trimall").
func canonicalHeaderValue(values []string) string {
	if len(values) == 1 {
		return trimAll(values[0])
	}
	parts := make([]string, len(values))
	for i, v := range values {
		parts[i] = trimAll(v)
	}
	return strings.Join(parts, ",")
}

func trimAll(v string) string {
	v = strings.TrimSpace(v)
	if !strings.Contains(v, "  ") {
		return v
	}
	var b strings.Builder
	b.Grow(len(v))
	space := false
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == ' ' {
			if space {
				continue
			}
			space = true
		} else {
			space = false
		}
		b.WriteByte(c)
	}
	return b.String()
}

const upperHex = "0123456789ABCDEF"

func isUnreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '_' || c == '.' || c == '~'
}

// uriEncode is SigV4's UriEncode: every byte outside the unreserved set becomes %XX
// (upper-case hex); '/' is kept when encoding a path.
func uriEncode(s string, keepSlash bool) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isUnreserved(c) && !(keepSlash && c == '/') {
			n++
		}
	}
	if n == 0 {
		return s
	}
	b := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isUnreserved(c) || (keepSlash && c == '/') {
			b = append(b, c)
			continue
		}
		b = append(b, '%', upperHex[c>>4], upperHex[c&15])
	}
	return string(b)
}

// isPathLegal reports whether c may appear unescaped in a URI path (RFC 3986 pchar,
// plus '/' and '%').
func isPathLegal(c byte) bool {
	if isUnreserved(c) {
		return true
	}
	switch c {
	case '/', '%', '!', '$', '&', '\'', '(', ')', '*', '+', ',', ';', '=', ':', '@':
		return true
	}
	return false
}

// legalizePath escapes only the bytes that cannot appear in a URI path, leaving the
// client's own escaping alone.
func legalizePath(p string) string {
	var b []byte
	for i := 0; i < len(p); i++ {
		c := p[i]
		if isPathLegal(c) {
			if b != nil {
				b = append(b, c)
			}
			continue
		}
		if b == nil {
			b = append(make([]byte, 0, len(p)+8), p[:i]...)
		}
		b = append(b, '%', upperHex[c>>4], upperHex[c&15])
	}
	if b == nil {
		return p
	}
	return string(b)
}

// normalizePath removes "." and ".." segments (RFC 3986 section 5.2.4) and empty
// segments (runs of '/'), as every AWS service except S3 does before signing.
func normalizePath(p string) string {
	segs := strings.Split(p, "/")
	out := make([]string, 0, len(segs))
	trailing := false
	for _, s := range segs {
		switch s {
		case "":
			trailing = true
			continue
		case ".":
			trailing = true
			continue
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
			trailing = true
			continue
		}
		out = append(out, s)
		trailing = false
	}
	if len(out) == 0 {
		return "/"
	}
	res := "/" + strings.Join(out, "/")
	if trailing {
		res += "/"
	}
	return res
}

func needsNormalizing(p string) bool {
	return strings.Contains(p, "//") || strings.Contains(p, "/./") || strings.Contains(p, "/../") ||
		strings.HasSuffix(p, "/.") || strings.HasSuffix(p, "/..")
}

// pathCandidates lists the canonical URIs a correct client may have signed for the
// wire path, most likely first.
//
// S3 signs the path as sent, escaped once and never normalized. Clients differ in
// which characters they escape, so besides the path as sent Sluice accepts the
// AWS-canonical escaping of the decoded key; both name the same object.
//
// Every other service normalizes the path and then URI-encodes the already-escaped
// wire path a second time ("double encoding"). Some signers skip the normalization
// (the vectors' "unnormalized" cases), so for a path that normalization would change
// the un-normalized form is tried too; it is the literal request, so accepting it
// admits nothing the client did not sign.
func pathCandidates(wire string, d dialect) []string {
	if d == dialectS3 {
		first := legalizePath(wire)
		out := []string{first}
		if dec, err := url.PathUnescape(wire); err == nil {
			if alt := uriEncode(dec, true); alt != first {
				out = append(out, alt)
			}
		}
		return out
	}
	out := []string{uriEncode(normalizePath(wire), true)}
	if needsNormalizing(wire) {
		if alt := uriEncode(wire, true); alt != out[0] {
			out = append(out, alt)
		}
	}
	return out
}

// headerValues returns the values of one signed header, looking where net/http keeps
// it (Host and Transfer-Encoding leave the Header map on the server side).
func headerValues(r *http.Request, name string) ([]string, bool) {
	switch name {
	case "host":
		h := r.Host
		if h == "" && r.URL != nil {
			h = r.URL.Host
		}
		return []string{h}, h != ""
	}
	if vs, ok := r.Header[textproto.CanonicalMIMEHeaderKey(name)]; ok {
		return vs, true
	}
	var found []string
	for k, vs := range r.Header {
		if strings.EqualFold(k, name) {
			found = append(found, vs...)
		}
	}
	if found != nil {
		return found, true
	}
	switch name {
	case "content-length":
		if r.ContentLength > 0 {
			return []string{strconv.FormatInt(r.ContentLength, 10)}, true
		}
	case "transfer-encoding":
		if len(r.TransferEncoding) > 0 {
			return []string{strings.Join(r.TransferEncoding, ",")}, true
		}
	}
	return nil, false
}

// keyCache memoizes derived signing keys (four HMACs each) per secret, day, region and
// service. mu guards m; the map is dropped wholesale when it grows past its bound.
type keyCache struct {
	mu sync.Mutex
	m  map[string][]byte
}

const keyCacheMax = 4096

func (kc *keyCache) signingKey(secret string, s Scope) []byte {
	id := secret + "\x00" + s.Date + "\x00" + s.Region + "\x00" + s.Service
	kc.mu.Lock()
	k, ok := kc.m[id]
	kc.mu.Unlock()
	if ok {
		return k
	}
	k = hmacSHA256([]byte("AWS4"+secret), s.Date)
	k = hmacSHA256(k, s.Region)
	k = hmacSHA256(k, s.Service)
	k = hmacSHA256(k, terminator)
	kc.mu.Lock()
	if kc.m == nil || len(kc.m) >= keyCacheMax {
		kc.m = make(map[string][]byte)
	}
	kc.m[id] = k
	kc.mu.Unlock()
	return k
}

func hmacSHA256(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}
