package lambda

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/sluice-dev/sluice/internal/awsproto"
)

// The errors Lambda's API answers with, named after their AWS codes.

func notFound(format string, args ...any) *awsproto.Error {
	return awsproto.Errorf(http.StatusNotFound, "ResourceNotFoundException", format, args...)
}

func conflict(format string, args ...any) *awsproto.Error {
	return awsproto.Errorf(http.StatusConflict, "ResourceConflictException", format, args...)
}

func invalidParam(format string, args ...any) *awsproto.Error {
	return awsproto.Errorf(http.StatusBadRequest, "InvalidParameterValueException", format, args...)
}

// validation is the ValidationException AWS's request validator produces before the
// service sees a request ("1 validation error detected: ...").
func validation(format string, args ...any) *awsproto.Error {
	return awsproto.Errorf(http.StatusBadRequest, "ValidationException", "1 validation error detected: "+format, args...)
}

func badContent(format string, args ...any) *awsproto.Error {
	return awsproto.Errorf(http.StatusBadRequest, "InvalidRequestContentException", format, args...)
}

func tooLarge(format string, args ...any) *awsproto.Error {
	return awsproto.Errorf(http.StatusRequestEntityTooLarge, "RequestTooLargeException", format, args...)
}

// preconditionFailed is what AWS answers when a RevisionId does not match.
func preconditionFailed(what string) *awsproto.Error {
	return awsproto.Errorf(http.StatusPreconditionFailed, "PreconditionFailedException",
		"The Revision Id provided does not match the latest Revision Id. Call the %s API to retrieve the latest Revision Id", what)
}

// throttledError is TooManyRequestsException, which carries a Reason besides the
// message: "ReservedFunctionConcurrentInvocationLimitExceeded" when the function's
// reserved concurrency is used up, "ConcurrentInvocationLimitExceeded" otherwise.
type throttledError struct {
	AWS        awsproto.Error
	Reason     string
	RetryAfter int // seconds; 0 omits Retry-After
}

func newThrottled(reserved bool) *throttledError {
	reason := "ConcurrentInvocationLimitExceeded"
	if reserved {
		reason = "ReservedFunctionConcurrentInvocationLimitExceeded"
	}
	return &throttledError{
		AWS:    awsproto.Error{Status: http.StatusTooManyRequests, Code: "TooManyRequestsException", Message: "Rate Exceeded."},
		Reason: reason,
	}
}

func (t *throttledError) Error() string { return t.AWS.Error() + " (" + t.Reason + ")" }

// asAWS returns the *awsproto.Error form of err for callers (the gateway) that only
// know that type.
func asAWS(err error) error {
	var t *throttledError
	if errors.As(err, &t) {
		e := t.AWS
		return &e
	}
	return err
}

// writeError writes err in Lambda's REST-JSON error shape.
func writeError(w http.ResponseWriter, err error) {
	var t *throttledError
	if !errors.As(err, &t) {
		awsproto.WriteError(w, awsproto.StyleLambda, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Amzn-ErrorType", t.AWS.Code)
	if t.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(t.RetryAfter))
	}
	w.WriteHeader(t.AWS.Status)
	_ = json.NewEncoder(w).Encode(struct {
		Type    string `json:"Type"`
		Message string `json:"message"`
		Reason  string `json:"Reason"`
	}{"User", t.AWS.Message, t.Reason})
}

func internalError(format string, args ...any) error {
	return fmt.Errorf("lambda: "+format, args...)
}
