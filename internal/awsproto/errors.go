// Package awsproto holds the AWS wire plumbing every service shares: request ids,
// typed errors carrying an AWS code and HTTP status, the JSON error shapes of the
// REST-JSON protocols, ARNs and resource ids.
package awsproto

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
)

// Error is an AWS-facing error: the code goes into x-amzn-ErrorType and the body,
// the status is the HTTP status AWS answers with.
type Error struct {
	Status  int
	Code    string // e.g. "ResourceNotFoundException"
	Message string
	// Type is Lambda's "Type" body field ("User" or "Service"); empty means "User".
	Type string
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %s", e.Code, e.Message) }

// Errorf builds an *Error. String arguments are the client's own values echoed
// back: each is cut to maxEchoed bytes (room for AWS's own long lists) and made valid UTF-8, so a 1 MB name is
// refused with a short message, not a 1 MB one.
func Errorf(status int, code, format string, args ...any) *Error {
	args = append([]any(nil), args...) // never rewrite the caller's slice
	for i, a := range args {
		if s, ok := a.(string); ok {
			args[i] = truncateEcho(s, maxEchoed)
		}
	}
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// maxEchoed bounds one echoed value in an error message.
const maxEchoed = 4096

// Common constructors, named after the AWS codes they produce.
func NotFound(code, format string, args ...any) *Error {
	return Errorf(http.StatusNotFound, code, format, args...)
}
func BadRequest(code, format string, args ...any) *Error {
	return Errorf(http.StatusBadRequest, code, format, args...)
}
func Conflict(code, format string, args ...any) *Error {
	return Errorf(http.StatusConflict, code, format, args...)
}

// ErrorStyle selects the body shape of a REST-JSON error.
type ErrorStyle int

const (
	// StyleLambda: {"Type":"User","Message":"..."} (Lambda's REST-JSON errors).
	StyleLambda ErrorStyle = iota
	// StyleAPIGateway: {"message":"..."} (apigateway and apigatewayv2 control planes).
	StyleAPIGateway
)

// InternalFailure is the 500 a style answers for a failure that is not the
// caller's: AWS never puts its own internals (file paths, Go error chains) in a
// response body, and neither do we.
//   - Lambda: ServiceException, Type "Service", "The Lambda service encountered an
//     internal error." (the Lambda API reference's text for ServiceException).
//   - API Gateway: InternalFailure (AWS's common error for both apigateway and
//     apigatewayv2) with "Internal server error", the body users saw from the
//     control plane (aws/aws-cli#5059).
func InternalFailure(style ErrorStyle) *Error {
	if style == StyleLambda {
		return &Error{Status: http.StatusInternalServerError, Code: "ServiceException",
			Message: "The Lambda service encountered an internal error.", Type: "Service"}
	}
	return &Error{Status: http.StatusInternalServerError, Code: "InternalFailure", Message: "Internal server error"}
}

// Public returns the AWS error err carries (an *Error anywhere in its chain, so
// fmt.Errorf("...: %w", awsErr) keeps its code), or ok false for an internal
// failure whose text must not reach the client.
func Public(err error) (ae *Error, ok bool) {
	if errors.As(err, &ae) {
		return ae, true
	}
	return nil, false
}

// logInternal logs an error answered as a 500. A canceled request context means
// the client went away mid-request (its answer reaches no one): that is logged
// at debug level, not as a server fault.
func logInternal(err error) {
	if errors.Is(err, context.Canceled) {
		slog.Debug("request canceled by the client", "err", err)
		return
	}
	slog.Error("internal error answered as 500", "err", err)
}

// WriteError writes err in the REST-JSON error shape of the given style. An error
// that carries no *Error is an internal failure: the client gets InternalFailure
// for the style and the detail goes to the log (slog's default logger, which the
// server points at its own). Callers that log with more context first may pass
// InternalFailure(style) themselves.
func WriteError(w http.ResponseWriter, style ErrorStyle, err error) {
	ae, ok := Public(err)
	if !ok {
		logInternal(err)
		ae = InternalFailure(style)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Amzn-ErrorType", ae.Code)
	w.WriteHeader(ae.Status)
	var body any
	switch style {
	case StyleLambda:
		t := ae.Type
		if t == "" {
			t = "User"
		}
		body = struct {
			Type    string `json:"Type"`
			Message string `json:"Message"`
		}{t, ae.Message}
	default:
		body = struct {
			Message string `json:"message"`
		}{ae.Message}
	}
	_ = json.NewEncoder(w).Encode(body)
}

// WriteJSON writes v as a JSON response with the given status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		WriteError(w, StyleAPIGateway, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
