package sigv4

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/sluice-dev/sluice/internal/awsproto"
)

const (
	testAKID   = "AKIDEXAMPLE"
	testSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
)

var testNow = time.Date(2015, 8, 30, 12, 36, 0, 0, time.UTC)

func testVerifier(mode Mode, now time.Time) *Verifier {
	return NewVerifier(Options{
		Mode:        mode,
		Credentials: StaticCredentials{testAKID: testSecret},
		Now:         func() time.Time { return now },
	})
}

func hashHex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// headerRequest builds a GET with the given Authorization header and X-Amz-Date.
func headerRequest(auth, amzDate string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "http://example.amazonaws.com/", nil)
	if auth != "" {
		r.Header.Set("Authorization", auth)
	}
	if amzDate != "" {
		r.Header.Set("X-Amz-Date", amzDate)
	}
	return r
}

const wellFormedSig = "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"

func authHeader(cred, signedHeaders, sig string) string {
	return "AWS4-HMAC-SHA256 Credential=" + cred + ", SignedHeaders=" + signedHeaders + ", Signature=" + sig
}

func TestVerifyRejections(t *testing.T) {
	tests := []struct {
		name       string
		mode       Mode
		req        func() *http.Request
		wantStatus int
		wantCode   string
		wantMsg    string
	}{
		{
			name:       "no authentication",
			req:        func() *http.Request { return headerRequest("", "") },
			wantStatus: 403, wantCode: CodeMissingAuthenticationToken, wantMsg: "Missing Authentication Token",
		},
		{
			name: "bearer token",
			req:  func() *http.Request { return headerRequest("Bearer abc", "") },
			// API Gateway's famous answer to a JWT sent to an AWS_IAM route.
			wantStatus: 400, wantCode: CodeIncompleteSignature,
			wantMsg: "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=Bearer abc",
		},
		{
			name: "unsupported algorithm",
			req: func() *http.Request {
				return headerRequest(strings.Replace(authHeader(testAKID+"/20150830/us-east-1/service/aws4_request", "host;x-amz-date", wellFormedSig), "SHA256", "SHA512", 1), "20150830T123600Z")
			},
			wantStatus: 400, wantCode: CodeIncompleteSignature, wantMsg: "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA512'.",
		},
		{
			name: "missing signature and date",
			req: func() *http.Request {
				return headerRequest("AWS4-HMAC-SHA256 Credential="+testAKID+"/20150830/us-east-1/service/aws4_request, SignedHeaders=host", "")
			},
			wantStatus: 400, wantCode: CodeIncompleteSignature,
			wantMsg: "Authorization header requires 'Signature' parameter. Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host",
		},
		{
			name: "pair without equal sign",
			req: func() *http.Request {
				return headerRequest("AWS4-HMAC-SHA256 Credential="+testAKID+"/20150830/us-east-1/service/aws4_request, SignedHeaders, Signature="+wellFormedSig, "20150830T123600Z")
			},
			wantStatus: 400, wantCode: CodeIncompleteSignature,
			wantMsg: "'SignedHeaders' not a valid key=value pair (missing equal-sign) in Authorization header: 'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders, Signature=" + wellFormedSig + "'",
		},
		{
			name: "bad date",
			req: func() *http.Request {
				return headerRequest(authHeader(testAKID+"/20150830/us-east-1/service/aws4_request", "host;x-amz-date", wellFormedSig), "2015-08-30")
			},
			wantStatus: 400, wantCode: CodeIncompleteSignature,
			wantMsg: "Date must be in ISO-8601 'basic format'. Got '2015-08-30'. See http://en.wikipedia.org/wiki/ISO_8601",
		},
		{
			name: "four-part credential",
			req: func() *http.Request {
				return headerRequest(authHeader(testAKID+"/20150830/us-east-1/aws4_request", "host;x-amz-date", wellFormedSig), "20150830T123600Z")
			},
			wantStatus: 400, wantCode: CodeIncompleteSignature,
			wantMsg: "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got 'AKIDEXAMPLE/20150830/us-east-1/aws4_request'",
		},
		{
			name: "host not signed",
			req: func() *http.Request {
				return headerRequest(authHeader(testAKID+"/20150830/us-east-1/service/aws4_request", "x-amz-date", wellFormedSig), "20150830T123600Z")
			},
			wantStatus: 403, wantCode: CodeInvalidSignature, wantMsg: msgHostMustBeSigned,
		},
		{
			name: "scope date and terminator wrong",
			req: func() *http.Request {
				return headerRequest(authHeader(testAKID+"/20150831/us-east-1/service/aws5_request", "host;x-amz-date", wellFormedSig), "20150830T123600Z")
			},
			wantStatus: 403, wantCode: CodeInvalidSignature,
			wantMsg: "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws5_request'. Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20150831' != '20150830', from '20150830T123600Z'.",
		},
		{
			name: "unknown key in verify mode",
			req: func() *http.Request {
				return headerRequest(authHeader("AKIDUNKNOWN/20150830/us-east-1/service/aws4_request", "host;x-amz-date", wellFormedSig), "20150830T123600Z")
			},
			wantStatus: 403, wantCode: CodeUnrecognizedClient, wantMsg: "The security token included in the request is invalid.",
		},
		{
			name: "unknown key in open mode with a short signature",
			mode: ModeOpen,
			req: func() *http.Request {
				return headerRequest(authHeader("AKIDUNKNOWN/20150830/us-east-1/service/aws4_request", "host;x-amz-date", "abc123"), "20150830T123600Z")
			},
			wantStatus: 403, wantCode: CodeInvalidSignature, wantMsg: msgSignatureMismatch,
		},
		{
			name: "unknown key in open mode outside the skew",
			mode: ModeOpen,
			req: func() *http.Request {
				return headerRequest(authHeader("AKIDUNKNOWN/20150830/us-east-1/service/aws4_request", "host;x-amz-date", wellFormedSig), "20150830T120000Z")
			},
			wantStatus: 403, wantCode: CodeInvalidSignature,
			wantMsg: "Signature expired: 20150830T120000Z is now earlier than 20150830T122100Z (20150830T123600Z - 15 min.)",
		},
		{
			name: "known key in open mode with a wrong signature",
			mode: ModeOpen,
			req: func() *http.Request {
				return headerRequest(authHeader(testAKID+"/20150830/us-east-1/service/aws4_request", "host;x-amz-date", strings.Repeat("0", 64)), "20150830T123600Z")
			},
			wantStatus: 403, wantCode: CodeInvalidSignature, wantMsg: msgSignatureMismatch,
		},
		{
			name: "presigned without signature",
			req: func() *http.Request {
				return httptest.NewRequest(http.MethodGet, "http://example.amazonaws.com/?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host", nil)
			},
			wantStatus: 400, wantCode: CodeIncompleteSignature,
			wantMsg: "AWS query-string parameters must include 'X-Amz-Signature'. Re-examine the query-string parameters.",
		},
		{
			name: "presigned with another algorithm",
			req: func() *http.Request {
				return httptest.NewRequest(http.MethodGet, "http://example.amazonaws.com/?X-Amz-Algorithm=AWS2&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request", nil)
			},
			wantStatus: 403, wantCode: CodeMissingAuthenticationToken, wantMsg: "Missing Authentication Token",
		},
		{
			name: "s3 presigned missing expires",
			req: func() *http.Request {
				return httptest.NewRequest(http.MethodGet, "http://example.amazonaws.com/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host&X-Amz-Signature="+wellFormedSig, nil)
			},
			wantStatus: 400, wantCode: CodeS3AuthorizationQueryParameters, wantMsg: msgS3QueryParamsRequired,
		},
		{
			name: "s3 header auth without content hash",
			req: func() *http.Request {
				return headerRequest(authHeader(testAKID+"/20150830/us-east-1/s3/aws4_request", "host;x-amz-date", wellFormedSig), "20150830T123600Z")
			},
			wantStatus: 400, wantCode: CodeS3InvalidRequest, wantMsg: "Missing required header for this request: x-amz-content-sha256",
		},
		{
			name: "s3 skew",
			req: func() *http.Request {
				r := headerRequest(authHeader(testAKID+"/20150830/us-east-1/s3/aws4_request", "host;x-amz-content-sha256;x-amz-date", wellFormedSig), "20150830T130000Z")
				r.Header.Set("X-Amz-Content-Sha256", unsignedPayload)
				return r
			},
			wantStatus: 403, wantCode: CodeS3RequestTimeTooSkewed, wantMsg: msgS3RequestTimeTooSkewed,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := testVerifier(tt.mode, testNow).Verify(tt.req())
			ae, ok := err.(*awsproto.Error)
			if !ok {
				t.Fatalf("err = %v (%T), want *awsproto.Error", err, err)
			}
			if ae.Status != tt.wantStatus || ae.Code != tt.wantCode || ae.Message != tt.wantMsg {
				t.Fatalf("got %d %s %q\nwant %d %s %q", ae.Status, ae.Code, ae.Message, tt.wantStatus, tt.wantCode, tt.wantMsg)
			}
		})
	}
}

func TestOpenModeAcceptsWellFormedUnknownKey(t *testing.T) {
	tests := []struct {
		name string
		req  func() *http.Request
	}{
		{"header", func() *http.Request {
			return headerRequest(authHeader("AKIDUNKNOWN/20150830/eu-west-1/lambda/aws4_request", "host;x-amz-date", wellFormedSig), "20150830T123600Z")
		}},
		{"presigned", func() *http.Request {
			return httptest.NewRequest(http.MethodGet, "http://example.amazonaws.com/?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDUNKNOWN%2F20150830%2Feu-west-1%2Flambda%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host&X-Amz-Expires=60&X-Amz-Signature="+wellFormedSig, nil)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := testVerifier(ModeOpen, testNow).Verify(tt.req())
			if err != nil {
				t.Fatal(err)
			}
			want := Identity{AccessKeyID: "AKIDUNKNOWN", Region: "eu-west-1", Service: "lambda", SignedAt: testNow, Presigned: tt.name == "presigned"}
			if *id != want {
				t.Fatalf("identity = %+v, want %+v", *id, want)
			}
		})
	}
}

// signedRequest signs r with aws-sdk-go-v2's signer as an SDK client would.
func signWithSDK(t *testing.T, r *http.Request, body []byte, service string, at time.Time, creds aws.Credentials, optFns ...func(*v4.SignerOptions)) {
	t.Helper()
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, hashHex(body), service, "us-east-1", at, optFns...); err != nil {
		t.Fatal(err)
	}
}

// TestSDKRoundTripOverHTTP sends requests signed by aws-sdk-go-v2's signer through a
// real HTTP server, so the verifier sees exactly what goes on the wire.
func TestSDKRoundTripOverHTTP(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	v := testVerifier(ModeVerify, now)
	type result struct {
		id   *Identity
		err  error
		body []byte
	}
	results := make(chan result, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := v.Verify(r)
		var body []byte
		if err == nil {
			body, _ = io.ReadAll(r.Body)
		}
		results <- result{id, err, body}
	}))
	defer srv.Close()

	creds := aws.Credentials{AccessKeyID: testAKID, SecretAccessKey: testSecret}
	tests := []struct {
		name    string
		build   func() (*http.Request, []byte)
		sign    func(*http.Request, []byte)
		tamper  func(*http.Request)
		wantErr string
		service string
	}{
		{
			name: "lambda invoke by ARN with a body",
			build: func() (*http.Request, []byte) {
				body := []byte(`{"hello":"world  with  spaces"}`)
				r, _ := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(body))
				r.URL.Path = "/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:my-fn/invocations"
				r.URL.RawPath = "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Amy-fn/invocations"
				r.URL.RawQuery = "Qualifier=%24LATEST&x=a%20b%2Bc"
				r.Header.Set("Content-Type", "application/json")
				r.Header.Set("X-Amz-Invocation-Type", "RequestResponse")
				return r, body
			},
			sign:    func(r *http.Request, b []byte) { signWithSDK(t, r, b, "lambda", now, creds) },
			service: "lambda",
		},
		{
			name: "session token",
			build: func() (*http.Request, []byte) {
				r, _ := http.NewRequest(http.MethodGet, srv.URL+"/restapis?limit=25", nil)
				return r, nil
			},
			sign: func(r *http.Request, b []byte) {
				c := creds
				c.SessionToken = "FQoGZXIvYXdzE//token+with/specials=="
				signWithSDK(t, r, b, "apigateway", now, c)
			},
			service: "apigateway",
		},
		{
			name: "body altered after signing",
			build: func() (*http.Request, []byte) {
				body := []byte(`{"a":1}`)
				r, _ := http.NewRequest(http.MethodPost, srv.URL+"/2015-03-31/functions", bytes.NewReader(body))
				return r, body
			},
			sign: func(r *http.Request, b []byte) { signWithSDK(t, r, b, "lambda", now, creds) },
			tamper: func(r *http.Request) {
				r.Body = io.NopCloser(strings.NewReader(`{"a":2}`))
			},
			wantErr: CodeInvalidSignature,
		},
		{
			name: "s3 put with unsigned payload and an awkward key",
			build: func() (*http.Request, []byte) {
				body := []byte("object bytes")
				r, _ := http.NewRequest(http.MethodPut, srv.URL, bytes.NewReader(body))
				r.URL.Path = "/bucket/my folder/a+b~(1)=ü.txt"
				r.URL.RawPath = "/bucket/my%20folder/a%2Bb~%281%29%3D%C3%BC.txt"
				r.Header.Set("X-Amz-Content-Sha256", unsignedPayload)
				r.Header.Set("X-Amz-Meta-Owner", "  team   a ")
				return r, body
			},
			sign: func(r *http.Request, _ []byte) {
				if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, unsignedPayload, "s3", "us-east-1", now,
					func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }); err != nil {
					t.Fatal(err)
				}
			},
			service: "s3",
		},
		{
			name: "s3 put with a signed payload that does not match",
			build: func() (*http.Request, []byte) {
				body := []byte("object bytes")
				r, _ := http.NewRequest(http.MethodPut, srv.URL+"/bucket/key", bytes.NewReader(body))
				r.Header.Set("X-Amz-Content-Sha256", hashHex([]byte("other bytes")))
				return r, body
			},
			sign: func(r *http.Request, _ []byte) {
				if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, hashHex([]byte("other bytes")), "s3", "us-east-1", now,
					func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }); err != nil {
					t.Fatal(err)
				}
			},
			wantErr: CodeS3ContentSHA256Mismatch,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, body := tt.build()
			tt.sign(r, body)
			if tt.tamper != nil {
				tt.tamper(r)
			}
			resp, err := srv.Client().Do(r)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			res := <-results
			if tt.wantErr != "" {
				ae, ok := res.err.(*awsproto.Error)
				if !ok || ae.Code != tt.wantErr {
					t.Fatalf("err = %v, want %s", res.err, tt.wantErr)
				}
				return
			}
			if res.err != nil {
				t.Fatalf("Verify: %v", res.err)
			}
			if res.id.AccessKeyID != testAKID || res.id.Service != tt.service || res.id.Region != "us-east-1" || !res.id.Verified || !res.id.SignedAt.Equal(now) {
				t.Fatalf("identity = %+v", res.id)
			}
			if tt.service != "s3" && !bytes.Equal(res.body, body) {
				t.Fatalf("handler read body %q, want %q", res.body, body)
			}
		})
	}
}

// TestSDKPresignRoundTrip: URLs presigned by aws-sdk-go-v2 verify until they expire.
func TestSDKPresignRoundTrip(t *testing.T) {
	signedAt := testNow
	creds := aws.Credentials{AccessKeyID: testAKID, SecretAccessKey: testSecret, SessionToken: "tok/en+1=="}
	tests := []struct {
		name, service string
		expires       int
		opt           func(*v4.SignerOptions)
		payload       string
		okAt          []time.Duration
		rejectAt      map[time.Duration]string
	}{
		{
			name: "s3 get honours a week-long expiry", service: "s3", expires: 604800, payload: unsignedPayload,
			opt:      func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true },
			okAt:     []time.Duration{0, 6 * 24 * time.Hour},
			rejectAt: map[time.Duration]string{604801 * time.Second: CodeS3AccessDenied, -16 * time.Minute: CodeS3RequestTimeTooSkewed},
		},
		{
			name: "execute-api expiry shorter than the skew window", service: "execute-api", expires: 60, payload: emptySHA256,
			opt:      func(o *v4.SignerOptions) {},
			okAt:     []time.Duration{0, 60 * time.Second},
			rejectAt: map[time.Duration]string{61 * time.Second: CodeInvalidSignature},
		},
		{
			name: "other services cap presigned URLs at 15 minutes", service: "sts", expires: 3600, payload: emptySHA256,
			opt:      func(o *v4.SignerOptions) {},
			okAt:     []time.Duration{15 * time.Minute},
			rejectAt: map[time.Duration]string{16 * time.Minute: CodeInvalidSignature},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := http.NewRequest(http.MethodGet, "https://example.amazonaws.com/bucket/some%20key.txt?versionId=3&x-id=GetObject", nil)
			q := r.URL.Query()
			q.Set("X-Amz-Expires", strconv.Itoa(tt.expires))
			r.URL.RawQuery = q.Encode()
			signed, hdr, err := v4.NewSigner().PresignHTTP(context.Background(), creds, r, tt.payload, tt.service, "us-east-1", signedAt, tt.opt)
			if err != nil {
				t.Fatal(err)
			}
			build := func() *http.Request {
				req := httptest.NewRequest(http.MethodGet, signed, nil)
				for k, vs := range hdr {
					if k != "Host" {
						req.Header[k] = vs
					}
				}
				return req
			}
			for _, d := range tt.okAt {
				id, err := testVerifier(ModeVerify, signedAt.Add(d)).Verify(build())
				if err != nil {
					t.Fatalf("at +%s: %v\n%s", d, err, signed)
				}
				if !id.Presigned || id.SessionToken != creds.SessionToken || id.Service != tt.service {
					t.Fatalf("identity = %+v", id)
				}
			}
			for d, code := range tt.rejectAt {
				_, err := testVerifier(ModeVerify, signedAt.Add(d)).Verify(build())
				ae, ok := err.(*awsproto.Error)
				if !ok || ae.Code != code {
					t.Fatalf("at %+v: err = %v, want %s", d, err, code)
				}
			}
			// Altering a signed query value breaks it.
			altered := strings.Replace(signed, "versionId=3", "versionId=4", 1)
			req := httptest.NewRequest(http.MethodGet, altered, nil)
			if _, err := testVerifier(ModeVerify, signedAt).Verify(req); err == nil {
				t.Fatal("altered presigned URL accepted")
			}
		})
	}
}

// TestLambdaClientRoundTrip drives the verifier with the real aws-sdk-go-v2 Lambda
// client, whose requests carry SDK-added signed headers (amz-sdk-invocation-id,
// amz-sdk-request, user agent) and an ARN in the path.
func TestLambdaClientRoundTrip(t *testing.T) {
	v := NewVerifier(Options{Credentials: StaticCredentials{testAKID: testSecret}})
	var mu sync.Mutex
	var got []*Identity
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := v.Verify(r)
		if err != nil {
			awsproto.WriteError(w, awsproto.StyleLambda, err)
			return
		}
		mu.Lock()
		got = append(got, id)
		mu.Unlock()
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Amz-Executed-Version", "$LATEST")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body) // echo the payload
	}))
	defer srv.Close()

	newClient := func(secret string) *lambda.Client {
		return lambda.New(lambda.Options{
			Region:       "us-east-1",
			BaseEndpoint: aws.String(srv.URL),
			Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
				return aws.Credentials{AccessKeyID: testAKID, SecretAccessKey: secret}, nil
			}),
			HTTPClient:       srv.Client(),
			RetryMaxAttempts: 1,
		})
	}
	payload := []byte(`{"key":"value with spaces & symbols/+="}`)
	out, err := newClient(testSecret).Invoke(context.Background(), &lambda.InvokeInput{
		FunctionName: aws.String("arn:aws:lambda:us-east-1:123456789012:function:my-fn:prod"),
		Payload:      payload,
	})
	if err != nil {
		t.Fatalf("Invoke: %v", err)
	}
	if !bytes.Equal(out.Payload, payload) {
		t.Fatalf("payload echoed = %q", out.Payload)
	}
	if len(got) != 1 || got[0].Service != "lambda" || !got[0].Verified {
		t.Fatalf("identities = %+v", got)
	}

	_, err = newClient("wrong-secret").Invoke(context.Background(), &lambda.InvokeInput{FunctionName: aws.String("my-fn"), Payload: payload})
	if err == nil || !strings.Contains(err.Error(), "InvalidSignatureException") {
		t.Fatalf("wrong secret: err = %v, want InvalidSignatureException", err)
	}
}

func TestBodyLimit(t *testing.T) {
	v := NewVerifier(Options{Credentials: StaticCredentials{testAKID: testSecret}, Now: func() time.Time { return testNow }, MaxBodyBytes: 8})
	body := []byte("0123456789")
	r := httptest.NewRequest(http.MethodPost, "http://example.amazonaws.com/", bytes.NewReader(body))
	signWithSDK(t, r, body, "lambda", testNow, aws.Credentials{AccessKeyID: testAKID, SecretAccessKey: testSecret})
	_, err := v.Verify(r)
	ae, ok := err.(*awsproto.Error)
	if !ok || ae.Status != http.StatusRequestEntityTooLarge {
		t.Fatalf("err = %v, want 413", err)
	}
}

func TestParseScope(t *testing.T) {
	tests := []struct {
		name string
		req  func() *http.Request
		want Scope
		ok   bool
	}{
		{"header", func() *http.Request {
			return headerRequest(authHeader("AKID/20150830/us-west-2/apigateway/aws4_request", "host", wellFormedSig), "")
		}, Scope{"AKID", "20150830", "us-west-2", "apigateway"}, true},
		{"header without spaces", func() *http.Request {
			return headerRequest("AWS4-HMAC-SHA256 Credential=AKID/20150830/us-west-2/lambda/aws4_request,SignedHeaders=host,Signature=x", "")
		}, Scope{"AKID", "20150830", "us-west-2", "lambda"}, true},
		{"query", func() *http.Request {
			return httptest.NewRequest(http.MethodGet, "http://h/b/k?X-Amz-Credential=AKID%2F20150830%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature=x", nil)
		}, Scope{"AKID", "20150830", "us-east-1", "s3"}, true},
		{"three parts", func() *http.Request {
			return headerRequest(authHeader("AKID/20150830/aws4_request", "host", wellFormedSig), "")
		}, Scope{}, false},
		{"none", func() *http.Request { return headerRequest("", "") }, Scope{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ParseScope(tt.req())
			if got != tt.want || ok != tt.ok {
				t.Fatalf("ParseScope = %+v, %v; want %+v, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestIdentityContext(t *testing.T) {
	if _, ok := IdentityFrom(context.Background()); ok {
		t.Fatal("identity in empty context")
	}
	id := &Identity{AccessKeyID: "A"}
	got, ok := IdentityFrom(WithIdentity(context.Background(), id))
	if !ok || got != id {
		t.Fatalf("IdentityFrom = %v, %v", got, ok)
	}
}

func TestParseMode(t *testing.T) {
	for in, want := range map[string]Mode{"open": ModeOpen, "VERIFY": ModeVerify, "": ModeVerify} {
		if got, err := ParseMode(in); err != nil || got != want {
			t.Fatalf("ParseMode(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseMode("lax"); err == nil {
		t.Fatal("ParseMode(lax) accepted")
	}
}

// TestConcurrentVerify exercises the signing-key cache under -race.
func TestConcurrentVerify(t *testing.T) {
	v := testVerifier(ModeVerify, testNow)
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			body := []byte(strings.Repeat("x", i))
			r := httptest.NewRequest(http.MethodPost, "http://example.amazonaws.com/p?i="+strconv.Itoa(i), bytes.NewReader(body))
			signWithSDK(t, r, body, []string{"lambda", "apigateway"}[i%2], testNow, aws.Credentials{AccessKeyID: testAKID, SecretAccessKey: testSecret})
			if _, err := v.Verify(r); err != nil {
				t.Errorf("Verify %d: %v", i, err)
			}
		}(i)
	}
	wg.Wait()
}

func BenchmarkVerify(b *testing.B) {
	creds := aws.Credentials{AccessKeyID: testAKID, SecretAccessKey: testSecret}
	body := bytes.Repeat([]byte("a"), 1024)
	v := testVerifier(ModeVerify, testNow)
	b.Run("header-post-1KiB", func(b *testing.B) {
		proto := httptest.NewRequest(http.MethodPost, "http://localhost:4566/2015-03-31/functions/my-fn/invocations", bytes.NewReader(body))
		proto.Header.Set("Content-Type", "application/json")
		if err := v4.NewSigner().SignHTTP(context.Background(), creds, proto, hashHex(body), "lambda", "us-east-1", testNow); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			r := proto.Clone(context.Background())
			r.Body = io.NopCloser(bytes.NewReader(body))
			if _, err := v.Verify(r); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("presigned-get", func(b *testing.B) {
		r, _ := http.NewRequest(http.MethodGet, "http://localhost:4566/bucket/key?X-Amz-Expires=300", nil)
		signed, _, err := v4.NewSigner().PresignHTTP(context.Background(), creds, r, unsignedPayload, "s3", "us-east-1", testNow,
			func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
		if err != nil {
			b.Fatal(err)
		}
		req := httptest.NewRequest(http.MethodGet, signed, nil)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := v.Verify(req); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parse-scope", func(b *testing.B) {
		r := headerRequest(authHeader("AKID/20150830/us-west-2/lambda/aws4_request", "host", wellFormedSig), "")
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := ParseScope(r); !ok {
				b.Fatal("no scope")
			}
		}
	})
}

// TestBotocoreRoundTrip sends requests from boto3 (the AWS CLI's signer) for Lambda,
// API Gateway, S3 and an S3 presigned URL. Skipped when Python or boto3 is missing.
func TestBotocoreRoundTrip(t *testing.T) {
	if err := exec.Command("python3", "-c", "import boto3").Run(); err != nil {
		t.Skip("python3 with boto3 not available")
	}
	v := NewVerifier(Options{Credentials: StaticCredentials{testAKID: testSecret}})
	var mu sync.Mutex
	var failures []string
	services := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := v.Verify(r)
		if err != nil {
			mu.Lock()
			failures = append(failures, r.Method+" "+r.RequestURI+": "+err.Error())
			mu.Unlock()
			awsproto.WriteError(w, awsproto.StyleLambda, err)
			return
		}
		mu.Lock()
		services[id.Service]++
		mu.Unlock()
		body, _ := io.ReadAll(r.Body)
		switch id.Service {
		case "lambda":
			_, _ = w.Write(body)
		case "apigateway":
			awsproto.WriteJSON(w, http.StatusOK, map[string]any{"item": []any{}})
		default:
			w.Header().Set("ETag", `"5eb63bbbe01eeed093cb22bb8f5acdc3"`)
			w.WriteHeader(http.StatusOK)
		}
	}))
	defer srv.Close()
	out, err := exec.Command("python3", "testdata/botocore_client.py", srv.URL).CombinedOutput()
	mu.Lock()
	defer mu.Unlock()
	if err != nil || len(failures) > 0 {
		t.Fatalf("boto3 client: %v\n%s\nverifier rejections: %q", err, out, failures)
	}
	if services["lambda"] != 1 || services["apigateway"] != 1 || services["s3"] != 2 {
		t.Fatalf("verified requests per service = %v\n%s", services, out)
	}
}

// refSignature is an independent SigV4 signature of a literal canonical request, to
// check the in-package canonicalizer where no SDK signer can produce the request.
func refSignature(canonical, amzDate, scope string) string {
	mac := func(key []byte, s string) []byte {
		h := hmac.New(sha256.New, key)
		h.Write([]byte(s))
		return h.Sum(nil)
	}
	parts := strings.Split(scope, "/")
	k := mac([]byte("AWS4"+testSecret), parts[0])
	for _, p := range parts[1:] {
		k = mac(k, p)
	}
	sts := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n" + hashHex([]byte(canonical))
	return hex.EncodeToString(mac(k, sts))
}

// TestDateHeaderInsteadOfXAmzDate: SigV4 allows the HTTP Date header as the signing
// time; aws-sdk-go-v2 cannot sign that way, so the in-package canonicalizer handles it.
func TestDateHeaderInsteadOfXAmzDate(t *testing.T) {
	canonical := "GET\n/\n\ndate:Sun, 30 Aug 2015 12:36:00 GMT\nhost:example.amazonaws.com\n\ndate;host\n" + emptySHA256
	scope := "20150830/us-east-1/service/aws4_request"
	sig := refSignature(canonical, "20150830T123600Z", scope)
	build := func(date string) *http.Request {
		r := headerRequest(authHeader(testAKID+"/"+scope, "date;host", sig), "")
		r.Header.Set("Date", date)
		return r
	}
	id, err := testVerifier(ModeVerify, testNow.Add(time.Minute)).Verify(build("Sun, 30 Aug 2015 12:36:00 GMT"))
	if err != nil {
		t.Fatal(err)
	}
	if !id.SignedAt.Equal(testNow) || !id.Verified {
		t.Fatalf("identity = %+v", id)
	}
	if _, err := testVerifier(ModeVerify, testNow).Verify(build("Sun, 30 Aug 2015 12:36:01 GMT")); err == nil {
		t.Fatal("altered Date accepted")
	}
}

func TestHandler(t *testing.T) {
	v := testVerifier(ModeVerify, testNow)
	h := v.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := IdentityFrom(r.Context())
		if !ok {
			t.Error("no identity in context")
			return
		}
		_, _ = io.WriteString(w, id.AccessKeyID)
	}), func(w http.ResponseWriter, _ *http.Request, err error) {
		awsproto.WriteError(w, awsproto.StyleAPIGateway, err)
	})

	body := []byte(`{"name":"x"}`)
	r := httptest.NewRequest(http.MethodPost, "http://localhost:4566/restapis", bytes.NewReader(body))
	signWithSDK(t, r, body, "apigateway", testNow, aws.Credentials{AccessKeyID: testAKID, SecretAccessKey: testSecret})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if rec.Code != 200 || rec.Body.String() != testAKID {
		t.Fatalf("signed: %d %s", rec.Code, rec.Body)
	}

	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://localhost:4566/restapis", nil))
	if rec.Code != 403 || rec.Header().Get("X-Amzn-ErrorType") != CodeMissingAuthenticationToken ||
		strings.TrimSpace(rec.Body.String()) != `{"message":"Missing Authentication Token"}` {
		t.Fatalf("unsigned: %d %s %s", rec.Code, rec.Header(), rec.Body)
	}
}

// FuzzVerify: arbitrary Authorization headers, targets and bodies never panic and
// never verify without the secret.
func FuzzVerify(f *testing.F) {
	for _, c := range loadVectors(f) {
		for _, form := range forms {
			r, err := parseRawRequest(c.file(f, form+"-signed-request.txt"))
			if err != nil {
				f.Fatal(err)
			}
			f.Add(r.Method, r.RequestURI, r.Header.Get("Authorization"), r.Header.Get("X-Amz-Date"), r.Header.Get("X-Amz-Content-Sha256"), "")
		}
	}
	f.Add("GET", "/?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=%ZZ&X-Amz-Expires=-1", "", "", "", "")
	f.Add("PUT", "//a/../%2e%2E/b", "AWS4-HMAC-SHA256 Credential=A/20150830/r/s3/aws4_request,SignedHeaders=host,Signature=", "20150830T123600Z", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "body")
	f.Fuzz(func(t *testing.T, method, target, auth, amzDate, contentSHA, body string) {
		v := NewVerifier(Options{Credentials: StaticCredentials{testAKID: "other-secret"}, Now: func() time.Time { return testNow }, MaxBodyBytes: 64})
		r := &http.Request{Method: method, RequestURI: target, Host: "example.amazonaws.com", Header: http.Header{},
			URL: &url.URL{Path: "/"}, Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body))}
		if p, q, ok := strings.Cut(target, "?"); ok {
			r.URL = &url.URL{Path: p, RawQuery: q}
		}
		for k, val := range map[string]string{"Authorization": auth, "X-Amz-Date": amzDate, "X-Amz-Content-Sha256": contentSHA} {
			if val != "" {
				r.Header.Set(k, val)
			}
		}
		ParseScope(r)
		id, err := v.Verify(r)
		if err == nil && id.Verified {
			t.Fatalf("verified without the secret: %+v", id)
		}
		if err != nil {
			if _, ok := err.(*awsproto.Error); !ok {
				t.Fatalf("error %T is not *awsproto.Error", err)
			}
		}
	})
}
