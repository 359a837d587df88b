package s3

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-dev/sluice/internal/sigv4"
)

// Signature Version 2 query-string authentication: what boto3's
// generate_presigned_url produces unless the client is configured with
// signature_version "s3v4" (https://docs.aws.amazon.com/AmazonS3/latest/userguide/RESTAuthentication.html#RESTAuthenticationQueryStringAuth).
// Only the presigned form is accepted; V2 Authorization headers are not.

// isPresignedV2 reports whether r carries AWSAccessKeyId/Signature/Expires.
func isPresignedV2(c *request) bool {
	q := c.query
	return q.Get("AWSAccessKeyId") != "" && q.Get("Signature") != "" && q.Get("Expires") != ""
}

// signedSubresources are the query parameters that enter a V2 CanonicalizedResource.
var signedSubresources = map[string]bool{
	"acl": true, "cors": true, "delete": true, "lifecycle": true, "location": true, "logging": true,
	"notification": true, "partNumber": true, "policy": true, "requestPayment": true, "tagging": true,
	"torrent": true, "uploadId": true, "uploads": true, "versionId": true, "versioning": true, "versions": true,
	"website": true, "response-cache-control": true, "response-content-disposition": true,
	"response-content-encoding": true, "response-content-language": true, "response-content-type": true,
	"response-expires": true,
}

// verifyPresignedV2 checks a V2 presigned request and returns the identity it
// carries. Unknown keys pass in open mode when the URL is current, as SigV4 ones do.
func (s *Service) verifyPresignedV2(c *request) (*sigv4.Identity, error) {
	q := c.query
	keyID, sig := q.Get("AWSAccessKeyId"), q.Get("Signature")
	exp, err := strconv.ParseInt(q.Get("Expires"), 10, 64)
	if err != nil {
		return nil, s3err(http.StatusForbidden, "AccessDenied", "Invalid date (should be seconds since epoch): "+q.Get("Expires"))
	}
	if now := s.now(); now.Unix() > exp {
		return nil, s3err(http.StatusForbidden, "AccessDenied", "Request has expired",
			field("Expires", time.Unix(exp, 0).UTC().Format("2006-01-02T15:04:05Z")), field("ServerTime", now.UTC().Format("2006-01-02T15:04:05Z")))
	}
	id := &sigv4.Identity{AccessKeyID: keyID, Region: s.region, Service: "s3", Presigned: true}
	secret, known := "", false
	if s.credentials != nil {
		secret, known = s.credentials.SecretFor(keyID)
	}
	if !known {
		if !s.openMode {
			return nil, s3err(http.StatusForbidden, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.",
				field("AWSAccessKeyId", keyID))
		}
		return id, nil
	}
	sts := stringToSignV2(c, q.Get("Expires"))
	mac := hmac.New(sha1.New, []byte(secret))
	mac.Write([]byte(sts))
	want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	if !hmac.Equal([]byte(want), []byte(sig)) {
		return nil, s3err(http.StatusForbidden, "SignatureDoesNotMatch",
			"The request signature we calculated does not match the signature you provided. Check your key and signing method.",
			field("AWSAccessKeyId", keyID), field("StringToSign", sts), field("SignatureProvided", sig))
	}
	id.Verified = true
	return id, nil
}

// stringToSignV2 is Method, Content-MD5, Content-Type, Expires, the x-amz-* headers
// and the CanonicalizedResource, one per line.
func stringToSignV2(c *request, expires string) string {
	r := c.r
	var b strings.Builder
	b.WriteString(r.Method + "\n" + r.Header.Get("Content-Md5") + "\n" + r.Header.Get("Content-Type") + "\n" + expires + "\n")
	var amz []string
	for name := range r.Header {
		if l := strings.ToLower(name); strings.HasPrefix(l, "x-amz-") {
			amz = append(amz, l)
		}
	}
	sort.Strings(amz)
	for _, name := range amz {
		vals := r.Header.Values(name)
		for i := range vals {
			vals[i] = strings.TrimSpace(vals[i])
		}
		b.WriteString(name + ":" + strings.Join(vals, ",") + "\n")
	}
	// The resource is the path as sent (still URL-encoded), prefixed with the bucket
	// for virtual-hosted requests.
	path := r.URL.EscapedPath()
	if p, _, _ := strings.Cut(r.RequestURI, "?"); strings.HasPrefix(p, "/") {
		path = p
	}
	if bucket, ok := BucketFromHost(r.Host); ok {
		path = "/" + bucket + path
	}
	b.WriteString(path)
	var subs []string
	for k := range c.query {
		if signedSubresources[k] {
			subs = append(subs, k)
		}
	}
	sort.Strings(subs)
	for i, k := range subs {
		sep := "&"
		if i == 0 {
			sep = "?"
		}
		if v := c.query.Get(k); v != "" {
			b.WriteString(sep + k + "=" + v)
		} else {
			b.WriteString(sep + k)
		}
	}
	return b.String()
}
