package sigv4

import (
	"fmt"
	"net/http"
	"time"

	"github.com/sluice-dev/sluice/internal/awsproto"
)

// AWS error codes the verifier answers with. JSON services (Lambda, API Gateway, IAM
// over JSON) use the *Exception codes; S3 has its own vocabulary, chosen when the
// credential scope names the "s3" service.
const (
	CodeMissingAuthenticationToken = "MissingAuthenticationTokenException"
	CodeIncompleteSignature        = "IncompleteSignatureException"
	CodeInvalidSignature           = "InvalidSignatureException"
	CodeUnrecognizedClient         = "UnrecognizedClientException"
	CodeRequestEntityTooLarge      = "RequestEntityTooLargeException"

	CodeS3AccessDenied                 = "AccessDenied"
	CodeS3InvalidAccessKeyID           = "InvalidAccessKeyId"
	CodeS3SignatureDoesNotMatch        = "SignatureDoesNotMatch"
	CodeS3RequestTimeTooSkewed         = "RequestTimeTooSkewed"
	CodeS3AuthorizationHeaderMalformed = "AuthorizationHeaderMalformed"
	CodeS3AuthorizationQueryParameters = "AuthorizationQueryParametersError"
	CodeS3ContentSHA256Mismatch        = "XAmzContentSHA256Mismatch"
	CodeS3InvalidRequest               = "InvalidRequest"
	CodeS3InvalidArgument              = "InvalidArgument"
	CodeS3NotImplemented               = "NotImplemented"
)

// Messages AWS sends, word for word. The JSON-service wording matches what Lambda,
// API Gateway and STS return (and what scratchstack-aws-signature, a reverse-engineered
// server-side SigV4 implementation, reproduces); the S3 wording is from the S3 error
// responses reference.
const (
	msgMissingAuthenticationToken = "Missing Authentication Token"
	msgSignatureMismatch          = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	msgUnrecognizedClient         = "The security token included in the request is invalid."
	msgHostMustBeSigned           = "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
	msgReqCredential              = "Authorization header requires 'Credential' parameter."
	msgReqSignature               = "Authorization header requires 'Signature' parameter."
	msgReqSignedHeaders           = "Authorization header requires 'SignedHeaders' parameter."
	msgReqDate                    = "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
	msgQueryReqCredential         = "AWS query-string parameters must include 'X-Amz-Credential'."
	msgQueryReqSignature          = "AWS query-string parameters must include 'X-Amz-Signature'."
	msgQueryReqSignedHeaders      = "AWS query-string parameters must include 'X-Amz-SignedHeaders'."
	msgQueryReqDate               = "AWS query-string parameters must include 'X-Amz-Date'."
	msgQueryReexamine             = "Re-examine the query-string parameters."
	msgCredentialFiveParts        = "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term,"

	msgS3AccessDenied         = "Access Denied"
	msgS3SignatureMismatch    = "The request signature we calculated does not match the signature you provided. Check your key and signing method."
	msgS3InvalidAccessKeyID   = "The AWS Access Key Id you provided does not exist in our records."
	msgS3RequestTimeTooSkewed = "The difference between the request time and the current time is too large."
	msgS3RequestExpired       = "Request has expired"
	msgS3ContentSHA256        = "The provided 'x-amz-content-sha256' header does not match what was computed."
	msgS3QueryParamsRequired  = "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters."
)

// dialect selects which AWS error vocabulary a rejection is phrased in.
type dialect int

const (
	dialectJSON dialect = iota // Lambda, API Gateway, STS/IAM and everything but S3
	dialectS3
)

func dialectFor(service string) dialect {
	if service == "s3" {
		return dialectS3
	}
	return dialectJSON
}

func (v *Verifier) errMissing(d dialect) *awsproto.Error {
	if d == dialectS3 {
		// S3 treats an unsigned request as anonymous and denies it (403 AccessDenied).
		return awsproto.Errorf(http.StatusForbidden, CodeS3AccessDenied, "%s", msgS3AccessDenied)
	}
	return awsproto.Errorf(http.StatusForbidden, CodeMissingAuthenticationToken, "%s", msgMissingAuthenticationToken)
}

// errIncomplete is a malformed signature: a missing parameter, a bad date, a bad
// credential. JSON services answer 400 (API Gateway's execute-api answers 403, hence
// Options.IncompleteSignatureStatus).
func (v *Verifier) errIncomplete(d dialect, presigned bool, msg string) *awsproto.Error {
	if d == dialectS3 {
		code := CodeS3AuthorizationHeaderMalformed
		if presigned {
			code = CodeS3AuthorizationQueryParameters
		}
		return awsproto.Errorf(http.StatusBadRequest, code, "%s", msg)
	}
	return awsproto.Errorf(v.opts.IncompleteSignatureStatus, CodeIncompleteSignature, "%s", msg)
}

// errMismatch is a signature that does not verify; msg overrides AWS's standard
// wording for the scope and host checks that AWS reports under the same code.
func (v *Verifier) errMismatch(d dialect, msg string) *awsproto.Error {
	if d == dialectS3 {
		if msg == "" {
			msg = msgS3SignatureMismatch
		}
		return awsproto.Errorf(http.StatusForbidden, CodeS3SignatureDoesNotMatch, "%s", msg)
	}
	if msg == "" {
		msg = msgSignatureMismatch
	}
	return awsproto.Errorf(http.StatusForbidden, CodeInvalidSignature, "%s", msg)
}

// errSkew is a signing time outside the allowed window around the server's clock.
func (v *Verifier) errSkew(d dialect, msg string) *awsproto.Error {
	if d == dialectS3 {
		return awsproto.Errorf(http.StatusForbidden, CodeS3RequestTimeTooSkewed, "%s", msgS3RequestTimeTooSkewed)
	}
	return awsproto.Errorf(http.StatusForbidden, CodeInvalidSignature, "%s", msg)
}

// errPresignExpired is a presigned URL used after X-Amz-Date + X-Amz-Expires.
func (v *Verifier) errPresignExpired(d dialect, msg string) *awsproto.Error {
	if d == dialectS3 {
		return awsproto.Errorf(http.StatusForbidden, CodeS3AccessDenied, "%s", msgS3RequestExpired)
	}
	return awsproto.Errorf(http.StatusForbidden, CodeInvalidSignature, "%s", msg)
}

func (v *Verifier) errUnknownKey(d dialect) *awsproto.Error {
	if d == dialectS3 {
		return awsproto.Errorf(http.StatusForbidden, CodeS3InvalidAccessKeyID, "%s", msgS3InvalidAccessKeyID)
	}
	return awsproto.Errorf(http.StatusForbidden, CodeUnrecognizedClient, "%s", msgUnrecognizedClient)
}

func (v *Verifier) errBodyTooLarge() *awsproto.Error {
	return awsproto.Errorf(http.StatusRequestEntityTooLarge, CodeRequestEntityTooLarge,
		"Request must be smaller than %d bytes for the operation.", v.opts.MaxBodyBytes)
}

// skewMessage renders AWS's clock-skew wording, e.g.
// "Signature expired: 20150830T123600Z is now earlier than 20150830T123700Z (20150830T125200Z - 15 min.)".
func skewMessage(signedAt, now time.Time, window time.Duration) string {
	if signedAt.Before(now.Add(-window)) {
		return fmt.Sprintf("Signature expired: %s is now earlier than %s (%s - %s.)",
			signedAt.Format(timeFormat), now.Add(-window).UTC().Format(timeFormat), now.UTC().Format(timeFormat), durationWords(window))
	}
	return fmt.Sprintf("Signature not yet current: %s is still later than %s (%s + %s.)",
		signedAt.Format(timeFormat), now.Add(window).UTC().Format(timeFormat), now.UTC().Format(timeFormat), durationWords(window))
}

// durationWords prints a window the way AWS does in skew messages ("15 min").
func durationWords(d time.Duration) string {
	if d%time.Minute == 0 {
		return fmt.Sprintf("%d min", int64(d/time.Minute))
	}
	return fmt.Sprintf("%d sec", int64(d/time.Second))
}
