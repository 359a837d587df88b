package sigv4

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Fuzz targets for everything sigv4 parses from outside: the Authorization header,
// presigned query strings and the canonicalization helpers. Seeds live in
// testdata/fuzz/<Target>; `make fuzz` runs each for longer.

// wireRequest builds the request a server would parse from the given pieces, or
// nil when they do not form an HTTP/1.1 request at all (the server never sees
// those).
func wireRequest(method, target string, header http.Header, body []byte) *http.Request {
	var b bytes.Buffer
	b.WriteString(method + " " + target + " HTTP/1.1\r\nHost: example.amazonaws.com\r\n")
	for k, vs := range header {
		for _, v := range vs {
			b.WriteString(k + ": " + v + "\r\n")
		}
	}
	b.WriteString("Content-Length: " + itoa(len(body)) + "\r\n\r\n")
	b.Write(body)
	r, err := http.ReadRequest(bufio.NewReader(&b))
	if err != nil {
		return nil
	}
	return r
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var d []byte
	for ; n > 0; n /= 10 {
		d = append([]byte{byte('0' + n%10)}, d...)
	}
	return string(d)
}

// FuzzVerifyHeader: any Authorization header, date, target and body is answered
// with an identity or an *awsproto.Error, never a panic or a hang, in both modes.
func FuzzVerifyHeader(f *testing.F) {
	f.Add("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature="+wellFormedSig,
		"20150830T123600Z", "/", []byte(""))
	f.Add("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/lambda/aws4_request,SignedHeaders=,Signature=",
		"20150830T123600Z", "/2015-03-31/functions/f/invocations?Qualifier=%24LATEST", []byte("{}"))
	f.Add("AWS4-HMAC-SHA256 Credential=/, SignedHeaders=;;;, Signature=zz", "x", "/a/../b//c/./?x=%zz&&=", []byte("x"))
	f.Add("AWS4-HMAC-SHA256", "", "/%2F%2e%2E", []byte(nil))
	f.Fuzz(func(t *testing.T, auth, date, target string, body []byte) {
		if !strings.HasPrefix(target, "/") {
			target = "/" + target
		}
		h := http.Header{}
		h.Set("Authorization", auth)
		h.Set("X-Amz-Date", date)
		for _, mode := range []Mode{ModeVerify, ModeOpen} {
			r := wireRequest("POST", target, h, body)
			if r == nil {
				return
			}
			id, err := testVerifier(mode, testNow).Verify(r)
			checkVerifyResult(t, id, err)
		}
	})
}

// FuzzVerifyPresigned: any query string is a presigned request or an AWS error.
func FuzzVerifyPresigned(f *testing.F) {
	f.Add("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=" + wellFormedSig)
	f.Add("X-Amz-Signature=&X-Amz-Credential=%2F%2F%2F%2F&X-Amz-Expires=-1")
	f.Add("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=99999999999999999999&X-Amz-Date=99991231T235959Z")
	f.Fuzz(func(t *testing.T, query string) {
		r := wireRequest("GET", "/bucket/key?"+query, http.Header{}, nil)
		if r == nil {
			return
		}
		id, err := testVerifier(ModeVerify, testNow).Verify(r)
		checkVerifyResult(t, id, err)
	})
}

func checkVerifyResult(t *testing.T, id *Identity, err error) {
	t.Helper()
	if (id == nil) == (err == nil) {
		t.Fatalf("Verify returned identity %v and error %v", id, err)
	}
	if err != nil {
		if _, ok := err.(interface{ Error() string }); !ok || err.Error() == "" {
			t.Fatalf("empty error")
		}
	}
}

// FuzzSignedByTheSDK: whatever path, query, header value and body a client sends,
// a request aws-sdk-go-v2 signed with a known key verifies after crossing the wire,
// and the same request with one byte of the body changed does not.
func FuzzSignedByTheSDK(f *testing.F) {
	f.Add("/2015-03-31/functions/my-fn/invocations", "Qualifier=1", "a  b", []byte(`{"k":"v"}`))
	f.Add("/restapis/abc/resources/xyz", "embed=methods&limit=5&limit=1", "", []byte(nil))
	f.Add("/v2/apis/a b/%20/ü", "x=1&y=%2F&z", "\tv\t", []byte("x"))
	f.Add("/a//b/./c/../d", "", "v", []byte("body"))
	f.Fuzz(func(t *testing.T, path, query, headerValue string, body []byte) {
		req, err := http.NewRequest("POST", "http://example.amazonaws.com", bytes.NewReader(body))
		if err != nil {
			return
		}
		req.URL.Path = "/" + strings.TrimPrefix(path, "/")
		req.URL.RawQuery = query
		if headerValue != "" {
			req.Header.Set("X-Amz-Meta-Fuzz", headerValue)
		}
		// What the client puts on the wire and a server reads back.
		creds := aws.Credentials{AccessKeyID: testAKID, SecretAccessKey: testSecret}
		if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hashHex(body), "lambda", "us-east-1", testNow); err != nil {
			return
		}
		target := req.URL.RequestURI()
		if strings.ContainsAny(target, " \r\n\t") || strings.ContainsAny(headerValue, "\r\n\x00") {
			return // not a valid request line or header; no server reads it
		}
		r := wireRequest("POST", target, req.Header, body)
		if r == nil {
			return
		}
		if r.Header.Get("X-Amz-Meta-Fuzz") != strings.TrimSpace(headerValue) && headerValue != "" {
			return // the header did not survive the wire as signed (control bytes)
		}
		v := testVerifier(ModeVerify, testNow)
		if _, err := v.Verify(r); err != nil {
			t.Fatalf("SDK-signed %s did not verify: %v", target, err)
		}
		got, _ := io.ReadAll(r.Body)
		if !bytes.Equal(got, body) {
			t.Fatalf("body after Verify is %q, want %q", got, body)
		}
		tampered := append([]byte{}, body...)
		tampered = append(tampered, 'x')
		r2 := wireRequest("POST", target, req.Header, tampered)
		if r2 == nil {
			return
		}
		r2.Header.Set("Content-Length", itoa(len(tampered)))
		if _, err := v.Verify(r2); err == nil {
			t.Fatalf("a tampered body verified for %s", target)
		}
	})
}

// FuzzCanonicalization: the helpers that build the canonical request never panic,
// normalization is idempotent, and encoding only emits legal characters.
func FuzzCanonicalization(f *testing.F) {
	for _, s := range []string{"", "/", "/a/./b/../c//d/", "a b+c%2F", "%", "%zz/..", "ü/€", "/..", "x=1&y&=z&&"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := normalizePath(s)
		if normalizePath(n) != n {
			t.Fatalf("normalizePath not idempotent: %q -> %q -> %q", s, n, normalizePath(n))
		}
		for _, keepSlash := range []bool{true, false} {
			enc := uriEncode(s, keepSlash)
			for i := 0; i < len(enc); i++ {
				c := enc[i]
				if !isUnreserved(c) && c != '%' && !(keepSlash && c == '/') {
					t.Fatalf("uriEncode(%q) = %q holds %q", s, enc, c)
				}
			}
		}
		_ = legalizePath(s)
		_ = needsNormalizing(s)
		for _, d := range []dialect{dialectJSON, dialectS3} {
			_ = pathCandidates(s, d)
		}
		pairs := parseQuery(s)
		_ = canonicalQuery(pairs)
		_ = trimAll(s)
		_ = canonicalHeaderValue([]string{s, s})
		_, _, _ = parseCredential(s)
		_ = serviceHint(s)
		_ = splitSignedHeaders(s)
		_, _ = scopeFromCredential(s)
	})
}
