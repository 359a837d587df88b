package sigv4

import (
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-dev/sluice/internal/awsproto"
)

const (
	algorithm       = "AWS4-HMAC-SHA256"
	terminator      = "aws4_request"
	timeFormat      = "20060102T150405Z"
	dateFormat      = "20060102"
	emptySHA256     = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	unsignedPayload = "UNSIGNED-PAYLOAD"
	// streamingUnsignedTrailer is what current S3 SDKs send for aws-chunked uploads
	// whose chunks are not signed (a trailing checksum protects them instead).
	streamingUnsignedTrailer = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
	// maxPresignExpires is S3's limit on X-Amz-Expires: one week.
	maxPresignExpires = 604800

	paramAlgorithm     = "X-Amz-Algorithm"
	paramCredential    = "X-Amz-Credential"
	paramDate          = "X-Amz-Date"
	paramExpires       = "X-Amz-Expires"
	paramSignedHeaders = "X-Amz-SignedHeaders"
	paramSignature     = "X-Amz-Signature"
	paramSecurityToken = "X-Amz-Security-Token"
	paramContentSHA256 = "X-Amz-Content-Sha256"

	headerAuthorization = "Authorization"
	headerAmzDate       = "X-Amz-Date"
	headerContentSHA256 = "X-Amz-Content-Sha256"
)

// Scope is a request's credential scope: who signed it, and for which day, region and
// service.
type Scope struct {
	AccessKeyID string
	Date        string // yyyymmdd
	Region      string
	Service     string
}

// queryPair is one decoded query parameter, in wire order.
type queryPair struct{ key, value string }

// authInput is what a request says about its own signature, from either the
// Authorization header or the presigned query string.
type authInput struct {
	presigned bool
	dialect   dialect

	credential       string // AKID/date/region/service/aws4_request as sent
	scope            Scope
	terminator       string
	signedHeaders    []string // lower case, sorted, deduplicated
	signedHeadersRaw string   // as sent
	signature        string
	signedAt         time.Time
	amzDateRaw       string // the X-Amz-Date value as sent ("" when the Date header was used)
	dateHeaderUsed   bool
	expires          time.Duration // presigned only
	hasExpires       bool
	contentSHA256    string // X-Amz-Content-Sha256 query parameter (presigned) or header
	hasContentSHA256 bool

	target wireTarget
	query  []queryPair // decoded wire query
}

// wireTarget is the request target as it was on the wire: the path and query before
// any decoding, which is what the client signed.
type wireTarget struct {
	path, rawQuery string
}

// targetOf recovers the wire request target. A server request carries it in
// RequestURI; a request built in-process (tests, internal callers) has only URL.
func targetOf(r *http.Request) wireTarget {
	uri := r.RequestURI
	if uri != "" && uri != "*" {
		if !strings.HasPrefix(uri, "/") {
			// absolute-form (proxy requests): scheme://host/path?query
			if i := strings.Index(uri, "://"); i >= 0 {
				rest := uri[i+3:]
				if j := strings.IndexAny(rest, "/?"); j >= 0 {
					uri = rest[j:]
				} else {
					uri = "/"
				}
			}
		}
		if strings.HasPrefix(uri, "/") || strings.HasPrefix(uri, "?") {
			path, query, _ := strings.Cut(uri, "?")
			if path == "" {
				path = "/"
			}
			return wireTarget{path: path, rawQuery: query}
		}
	}
	if r.URL == nil {
		return wireTarget{path: "/"}
	}
	path := r.URL.EscapedPath()
	if r.URL.Opaque != "" {
		path = r.URL.Opaque
	}
	if path == "" {
		path = "/"
	}
	return wireTarget{path: path, rawQuery: r.URL.RawQuery}
}

// parseQuery splits a raw query into decoded pairs in wire order. Components that do
// not decode are kept as sent, so that they still enter the canonical query (and are
// re-encoded there) instead of silently vanishing as they do in url.ParseQuery.
func parseQuery(raw string) []queryPair {
	if raw == "" {
		return nil
	}
	pairs := make([]queryPair, 0, strings.Count(raw, "&")+1)
	for raw != "" {
		var part string
		part, raw, _ = strings.Cut(raw, "&")
		if part == "" {
			continue
		}
		k, val, _ := strings.Cut(part, "=")
		pairs = append(pairs, queryPair{key: queryUnescape(k), value: queryUnescape(val)})
	}
	return pairs
}

func queryUnescape(s string) string {
	if !strings.ContainsAny(s, "%+") {
		return s
	}
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}

// firstParam returns the first value of key (exact, case-sensitive as AWS matches it).
func firstParam(pairs []queryPair, key string) (string, bool) {
	for _, p := range pairs {
		if p.key == key {
			return p.value, true
		}
	}
	return "", false
}

// isPresigned reports whether a request carries query-string authentication.
func isPresigned(pairs []queryPair) bool {
	for _, p := range pairs {
		switch p.key {
		case paramAlgorithm, paramCredential, paramSignature:
			return true
		}
	}
	return false
}

// parseCredential splits AKID/date/region/service/terminator.
// It does not allocate: ParseScope runs on every request the server dispatches.
func parseCredential(cred string) (Scope, string, bool) {
	var parts [4]string
	for i := range parts {
		j := strings.IndexByte(cred, '/')
		if j < 0 {
			return Scope{}, "", false
		}
		parts[i], cred = cred[:j], cred[j+1:]
	}
	if strings.IndexByte(cred, '/') >= 0 {
		return Scope{}, "", false
	}
	return Scope{AccessKeyID: parts[0], Date: parts[1], Region: parts[2], Service: parts[3]}, cred, true
}

// serviceHint extracts the service from a credential that may be malformed, to pick the
// error dialect before the credential is validated.
func serviceHint(cred string) string {
	for i := 0; i < 3; i++ {
		j := strings.IndexByte(cred, '/')
		if j < 0 {
			return ""
		}
		cred = cred[j+1:]
	}
	service, _, _ := strings.Cut(cred, "/")
	return service
}

func splitSignedHeaders(raw string) []string {
	names := strings.Split(strings.ToLower(raw), ";")
	sort.Strings(names)
	out := names[:0]
	for i, n := range names {
		n = strings.TrimSpace(n)
		if n == "" || (i > 0 && n == names[i-1]) {
			continue
		}
		out = append(out, n)
	}
	return out
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// parseHeaderAuth reads the Authorization header form. The checks and their order
// follow AWS: algorithm, key=value syntax, required parameters (all missing ones are
// reported at once, followed by the header), host signed, date syntax.
func (v *Verifier) parseHeaderAuth(r *http.Request, header string) (*authInput, *awsproto.Error) {
	in := &authInput{}
	trimmed := strings.TrimSpace(header)
	alg, params, _ := strings.Cut(trimmed, " ")
	params = strings.TrimSpace(params)

	kv := map[string]string{}
	var badPair string
	if alg == algorithm {
		for _, p := range strings.Split(params, ",") {
			p = strings.TrimSpace(p)
			if p == "" {
				continue
			}
			k, val, ok := strings.Cut(p, "=")
			if !ok {
				if badPair == "" {
					badPair = p
				}
				continue
			}
			kv[k] = val // AWS: the last value of a repeated key wins
		}
	}
	in.credential = kv["Credential"]
	in.dialect = dialectFor(serviceHint(in.credential))
	d := in.dialect

	if alg != algorithm && strings.HasPrefix(alg, "AWS4-") {
		return nil, v.errIncomplete(d, false, "Unsupported AWS 'algorithm': '"+alg+"'.")
	}
	if badPair != "" {
		return nil, v.errIncomplete(d, false, "'"+badPair+"' not a valid key=value pair (missing equal-sign) in Authorization header: '"+trimmed+"'")
	}

	amzDate := r.Header.Values(headerAmzDate)
	dateHeader := r.Header.Get("Date")
	var missing []string
	if _, hasCred := kv["Credential"]; !hasCred {
		missing = append(missing, msgReqCredential)
	}
	sig, hasSig := kv["Signature"]
	if !hasSig {
		missing = append(missing, msgReqSignature)
	}
	sh, hasSH := kv["SignedHeaders"]
	if !hasSH {
		missing = append(missing, msgReqSignedHeaders)
	}
	if len(amzDate) == 0 && dateHeader == "" {
		missing = append(missing, msgReqDate)
	}
	if len(missing) > 0 {
		return nil, v.errIncomplete(d, false, strings.Join(missing, " ")+" Authorization="+trimmed)
	}

	in.signature = sig
	in.signedHeadersRaw = sh
	in.signedHeaders = splitSignedHeaders(sh)
	if !containsString(in.signedHeaders, "host") {
		return nil, v.errMismatch(d, msgHostMustBeSigned)
	}

	if len(amzDate) > 0 {
		in.amzDateRaw = strings.TrimSpace(amzDate[0])
		t, err := time.Parse(timeFormat, in.amzDateRaw)
		if err != nil {
			return nil, v.errIncomplete(d, false, badDateMessage(amzDate[0]))
		}
		in.signedAt = t
	} else {
		t, err := http.ParseTime(dateHeader)
		if err != nil {
			return nil, v.errIncomplete(d, false, badDateMessage(dateHeader))
		}
		in.signedAt = t.UTC()
		in.dateHeaderUsed = true
	}

	if h := r.Header.Values(headerContentSHA256); len(h) > 0 {
		in.contentSHA256, in.hasContentSHA256 = strings.TrimSpace(h[0]), true
	}
	return in, nil
}

func badDateMessage(got string) string {
	return "Date must be in ISO-8601 'basic format'. Got '" + got + "'. See http://en.wikipedia.org/wiki/ISO_8601"
}

// parsePresigned reads the query-string (presigned URL) form.
func (v *Verifier) parsePresigned(pairs []queryPair) (*authInput, *awsproto.Error) {
	in := &authInput{presigned: true}
	cred, hasCred := firstParam(pairs, paramCredential)
	in.credential = cred
	in.dialect = dialectFor(serviceHint(cred))
	d := in.dialect

	alg, _ := firstParam(pairs, paramAlgorithm)
	if alg != algorithm {
		// AWS answers a query string without a usable algorithm as if it carried no
		// authentication at all.
		return nil, v.errMissing(d)
	}
	sig, hasSig := firstParam(pairs, paramSignature)
	sh, hasSH := firstParam(pairs, paramSignedHeaders)
	date, hasDate := firstParam(pairs, paramDate)
	expires, hasExpires := firstParam(pairs, paramExpires)

	if d == dialectS3 {
		// S3 requires all six parameters and names them in one message.
		if !hasCred || !hasSig || !hasSH || !hasDate || !hasExpires {
			return nil, v.errIncomplete(d, true, msgS3QueryParamsRequired)
		}
	} else {
		var missing []string
		if !hasCred {
			missing = append(missing, msgQueryReqCredential)
		}
		if !hasSig {
			missing = append(missing, msgQueryReqSignature)
		}
		if !hasSH {
			missing = append(missing, msgQueryReqSignedHeaders)
		}
		if !hasDate {
			missing = append(missing, msgQueryReqDate)
		}
		if len(missing) > 0 {
			return nil, v.errIncomplete(d, true, strings.Join(missing, " ")+" "+msgQueryReexamine)
		}
	}

	in.signature = sig
	in.signedHeadersRaw = sh
	in.signedHeaders = splitSignedHeaders(sh)
	if !containsString(in.signedHeaders, "host") {
		return nil, v.errMismatch(d, msgHostMustBeSigned)
	}
	t, err := time.Parse(timeFormat, date)
	if err != nil {
		return nil, v.errIncomplete(d, true, badDateMessage(date))
	}
	in.signedAt, in.amzDateRaw = t, date

	if hasExpires {
		// S3's wording for a bad X-Amz-Expires (AuthorizationQueryParametersError).
		n, err := strconv.ParseInt(expires, 10, 64)
		switch {
		case err != nil:
			return nil, v.errIncomplete(d, true, "X-Amz-Expires should be a number")
		case n < 0:
			return nil, v.errIncomplete(d, true, "X-Amz-Expires must be non-negative")
		case n > maxPresignExpires:
			return nil, v.errIncomplete(d, true, "X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be less than 604800 seconds")
		}
		in.expires, in.hasExpires = time.Duration(n)*time.Second, true
	}
	if h, ok := firstParam(pairs, paramContentSHA256); ok {
		in.contentSHA256, in.hasContentSHA256 = h, true
	}
	return in, nil
}

// ParseScope extracts the credential scope from the Authorization header or the
// X-Amz-Credential query parameter without validating anything else. The server uses
// it to dispatch a request to a service by its signing name; Verify still has to run.
func ParseScope(r *http.Request) (Scope, bool) {
	if h := r.Header.Get(headerAuthorization); h != "" {
		i := strings.Index(h, "Credential=")
		if i < 0 {
			return Scope{}, false
		}
		cred := h[i+len("Credential="):]
		if j := strings.IndexAny(cred, ", "); j >= 0 {
			cred = cred[:j]
		}
		return scopeFromCredential(cred)
	}
	raw := ""
	if r.URL != nil {
		raw = r.URL.RawQuery
	}
	for raw != "" {
		var part string
		part, raw, _ = strings.Cut(raw, "&")
		k, val, ok := strings.Cut(part, "=")
		if !ok || k != paramCredential {
			continue
		}
		return scopeFromCredential(queryUnescape(val))
	}
	return Scope{}, false
}

func scopeFromCredential(cred string) (Scope, bool) {
	s, term, ok := parseCredential(cred)
	if !ok || term != terminator || s.AccessKeyID == "" || s.Service == "" {
		return Scope{}, false
	}
	return s, true
}
