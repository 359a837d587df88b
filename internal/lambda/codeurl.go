package lambda

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/sluice-dev/sluice/internal/sigv4"
)

// codeURLs signs and checks GetFunction's Code.Location. AWS answers with a
// presigned S3 URL valid for 10 minutes; Sluice's is the same kind of URL (SigV4
// query authentication for service s3), signed with a key only the server holds, so
// knowing a function's CodeSha256 (which GetFunction and ListFunctions show) is not
// enough to download its code.
type codeURLs struct {
	keyID, secret string
	region        string
	signer        *v4.Signer
	verifier      *sigv4.Verifier
}

// codeURLService is the credential scope's service. AWS signs for s3 because its
// URL is an S3 object's; Sluice serves the code from the Lambda service's own path
// on the shared listener, where a scope of s3 would make the dispatcher hand the
// download to the S3 service (which claims every request signed for s3) and answer
// NoSuchBucket. The scope only has to match between sign and check.
const codeURLService = "lambda"

// emptyPayloadSHA256 is the payload hash of a presigned request outside S3 (only
// S3 takes UNSIGNED-PAYLOAD): the SHA-256 of the empty body.
const emptyPayloadSHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// codeURLExpiry is AWS's: "The presigned URL ... is valid for 10 minutes."
const codeURLExpiry = 10 * time.Minute

func newCodeURLs(secret []byte, region string) *codeURLs {
	if len(secret) == 0 {
		secret = make([]byte, 32)
		_, _ = rand.Read(secret)
	}
	// A key of its own, derived so that a leaked code URL reveals nothing about
	// other uses of the server's secret.
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte("sluice lambda code url v1"))
	derived := hex.EncodeToString(mac.Sum(nil))
	keyID := "SLUICECODE" + derived[:10]
	return &codeURLs{
		keyID: keyID, secret: derived, region: region,
		signer:   v4.NewSigner(),
		verifier: sigv4.NewVerifier(sigv4.Options{Mode: sigv4.ModeVerify, Credentials: sigv4.StaticCredentials{keyID: derived}}),
	}
}

// sign returns a presigned GET URL for rawURL.
func (u *codeURLs) sign(ctx context.Context, rawURL string) (string, error) {
	parsed, err := url.Parse(rawURL)
	if err != nil {
		return "", err
	}
	q := parsed.Query()
	q.Set("X-Amz-Expires", "600")
	parsed.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, parsed.String(), nil)
	if err != nil {
		return "", err
	}
	signed, _, err := u.signer.PresignHTTP(ctx, aws.Credentials{AccessKeyID: u.keyID, SecretAccessKey: u.secret},
		req, emptyPayloadSHA256, codeURLService, u.region, time.Now().UTC())
	return signed, err
}

// check verifies a download request's presigned query; the error is S3's
// (AccessDenied, SignatureDoesNotMatch, "Request has expired").
func (u *codeURLs) check(r *http.Request) error {
	id, err := u.verifier.Verify(r)
	if err != nil {
		return err
	}
	if !id.Presigned || id.Service != codeURLService {
		return errCodeURLDenied
	}
	return nil
}

var errCodeURLDenied = notFound("The resource you requested does not exist.")
