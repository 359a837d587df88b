package s3

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/sluice-dev/sluice/internal/awsproto"
)

// S3's errors, worded as the S3 API reference's "List of error codes" words them,
// with the extra elements S3 puts in the body.

func field(name, value string) awsproto.XMLField { return awsproto.XMLField{Name: name, Value: value} }

func s3err(status int, code, msg string, fields ...awsproto.XMLField) *awsproto.XMLError {
	return awsproto.WithFields(&awsproto.Error{Status: status, Code: code, Message: msg}, fields...)
}

func errNoSuchBucket(bucket string) error {
	return s3err(http.StatusNotFound, "NoSuchBucket", "The specified bucket does not exist", field("BucketName", bucket))
}

func errNoSuchKey(key string) error {
	return s3err(http.StatusNotFound, "NoSuchKey", "The specified key does not exist.", field("Key", key))
}

func errNoSuchUpload(id string) error {
	return s3err(http.StatusNotFound, "NoSuchUpload",
		"The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.",
		field("UploadId", id))
}

func errInvalidBucketName(bucket string) error {
	return s3err(http.StatusBadRequest, "InvalidBucketName", "The specified bucket is not valid.", field("BucketName", bucket))
}

func errBucketNotEmpty(bucket string) error {
	return s3err(http.StatusConflict, "BucketNotEmpty", "The bucket you tried to delete is not empty", field("BucketName", bucket))
}

func errBucketAlreadyOwnedByYou(bucket string) error {
	return s3err(http.StatusConflict, "BucketAlreadyOwnedByYou",
		"Your previous request to create the named bucket succeeded and you already own it.", field("BucketName", bucket))
}

func errMalformedXML() error {
	return s3err(http.StatusBadRequest, "MalformedXML",
		"The XML you provided was not well-formed or did not validate against our published schema")
}

func errIncompleteBody() error {
	return s3err(http.StatusBadRequest, "IncompleteBody",
		"You did not provide the number of bytes specified by the Content-Length HTTP header")
}

func errMethodNotAllowed(method, resource string) error {
	return s3err(http.StatusMethodNotAllowed, "MethodNotAllowed", "The specified method is not allowed against this resource.",
		field("Method", method), field("ResourceType", resource))
}

func errNotImplemented(format string, args ...any) error {
	return s3err(http.StatusNotImplemented, "NotImplemented", fmt.Sprintf(format, args...))
}

func errInvalidArgument(msg, name, value string) error {
	return s3err(http.StatusBadRequest, "InvalidArgument", msg, field("ArgumentName", name), field("ArgumentValue", value))
}

func errInvalidRequest(msg string) error {
	return s3err(http.StatusBadRequest, "InvalidRequest", msg)
}

func errPreconditionFailed(condition string) error {
	return s3err(http.StatusPreconditionFailed, "PreconditionFailed",
		"At least one of the pre-conditions you specified did not hold", field("Condition", condition))
}

func errInvalidRange(requested string, size int64) error {
	return s3err(http.StatusRequestedRangeNotSatisfiable, "InvalidRange", "The requested range is not satisfiable",
		field("RangeRequested", requested), field("ActualObjectSize", strconv.FormatInt(size, 10)))
}

func errEntityTooLarge(proposed, max int64) error {
	return s3err(http.StatusBadRequest, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size",
		field("ProposedSize", strconv.FormatInt(proposed, 10)), field("MaxSizeAllowed", strconv.FormatInt(max, 10)))
}

func errBadDigest(what string) error {
	return s3err(http.StatusBadRequest, "BadDigest", "The "+what+" you specified did not match the calculated checksum.")
}

func errKeyTooLong(key string) error {
	return s3err(http.StatusBadRequest, "KeyTooLongError", "Your key is too long",
		field("Size", strconv.Itoa(len(key))), field("MaxSizeAllowed", strconv.Itoa(maxKeyBytes)))
}

func errMissingContentLength() error {
	return s3err(http.StatusLengthRequired, "MissingContentLength", "You must provide the Content-Length HTTP header.")
}

func errInternal(err error) error {
	return fmt.Errorf("s3: %w", err)
}
