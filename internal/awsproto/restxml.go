package awsproto

import (
	"encoding/xml"
	"errors"
	"net/http"
	"strings"
)

// XMLField is one extra element of a REST-XML error body, such as S3's
// <BucketName> or <Key>, in the order it is written.
type XMLField struct{ Name, Value string }

// XMLError is an error in the REST-XML dialect (S3): AWS's status, code and message
// plus the elements S3 adds after them (BucketName, Key, Resource, StringToSign...).
type XMLError struct {
	Err    *Error
	Fields []XMLField
}

func (e *XMLError) Error() string { return e.Err.Error() }

// Unwrap returns the underlying *Error.
func (e *XMLError) Unwrap() error { return e.Err }

// WithFields returns err carrying extra REST-XML error elements.
func WithFields(err *Error, fields ...XMLField) *XMLError {
	return &XMLError{Err: err, Fields: fields}
}

// AsXMLError reduces any error to the REST-XML shape: an *XMLError as is, an *Error
// without extra fields (either one anywhere in err's chain, so fmt.Errorf("...: %w")
// keeps the AWS code), anything else S3's 500 InternalError with S3's own text; the
// internal detail is logged, never written to the body.
func AsXMLError(err error) *XMLError {
	var xe *XMLError
	if errors.As(err, &xe) {
		return xe
	}
	if ae, ok := Public(err); ok {
		return &XMLError{Err: ae}
	}
	logInternal(err)
	return &XMLError{Err: &Error{Status: http.StatusInternalServerError, Code: "InternalError",
		Message: "We encountered an internal error. Please try again."}}
}

// WriteRESTXMLError writes err in S3's error shape:
//
//	<?xml version="1.0" encoding="UTF-8"?>
//	<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message>
//	<Key>a.txt</Key><RequestId>…</RequestId><HostId>…</HostId></Error>
//
// A HEAD response carries the status only, as S3 answers it (no body, so clients read
// the code from the status).
func WriteRESTXMLError(w http.ResponseWriter, r *http.Request, err error, requestID, hostID string) {
	xe := AsXMLError(err)
	h := w.Header()
	if r != nil && r.Method == http.MethodHead {
		w.WriteHeader(xe.Err.Status)
		return
	}
	var b strings.Builder
	b.WriteString(xml.Header[:len(xml.Header)-1])
	b.WriteString("\n<Error><Code>")
	xmlEscape(&b, xe.Err.Code)
	b.WriteString("</Code><Message>")
	xmlEscape(&b, xe.Err.Message)
	b.WriteString("</Message>")
	for _, f := range xe.Fields {
		b.WriteString("<" + f.Name + ">")
		xmlEscape(&b, f.Value)
		b.WriteString("</" + f.Name + ">")
	}
	b.WriteString("<RequestId>")
	xmlEscape(&b, requestID)
	b.WriteString("</RequestId><HostId>")
	xmlEscape(&b, hostID)
	b.WriteString("</HostId></Error>")
	h.Set("Content-Type", "application/xml")
	h.Del("Content-Length")
	w.WriteHeader(xe.Err.Status)
	_, _ = w.Write([]byte(b.String()))
}

func xmlEscape(b *strings.Builder, s string) {
	_ = xml.EscapeText(b, []byte(s))
}
