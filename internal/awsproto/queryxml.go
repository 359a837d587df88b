package awsproto

import (
	"encoding/xml"
	"log/slog"
	"net/http"
	"strconv"
)

// The Query protocol (IAM, STS): form-encoded requests, XML responses wrapped in
// {Action}Response/{Action}Result with ResponseMetadata, and errors as
// <ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>.

// QueryXMLNamespaces of the services that speak the Query protocol here.
const (
	IAMNamespace = "https://iam.amazonaws.com/doc/2010-05-08/"
	STSNamespace = "https://sts.amazonaws.com/doc/2011-06-15/"
)

type queryResponse struct {
	XMLName  xml.Name
	Xmlns    string `xml:"xmlns,attr"`
	Result   any    `xml:",omitempty"`
	Metadata struct {
		RequestID string `xml:"RequestId"`
	} `xml:"ResponseMetadata"`
}

type queryResult struct {
	XMLName xml.Name
	Inner   any
}

func (r queryResult) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	start.Name = r.XMLName
	if r.Inner == nil {
		return e.EncodeElement(struct{}{}, start)
	}
	return e.EncodeElement(r.Inner, start)
}

// WriteQueryXML writes a successful Query-protocol answer for action: result (a
// struct of the result's members, or nil for an action without one) inside
// <{action}Result>, and the request id of r's context.
func WriteQueryXML(w http.ResponseWriter, r *http.Request, namespace, action string, result any) {
	resp := queryResponse{XMLName: xml.Name{Local: action + "Response"}, Xmlns: namespace}
	if result != nil {
		resp.Result = queryResult{XMLName: xml.Name{Local: action + "Result"}, Inner: result}
	}
	resp.Metadata.RequestID = requestIDOf(r)
	b, err := xml.Marshal(resp)
	if err != nil {
		WriteQueryXMLError(w, r, namespace, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/xml")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

type queryErrorResponse struct {
	XMLName xml.Name `xml:"ErrorResponse"`
	Xmlns   string   `xml:"xmlns,attr"`
	Error   struct {
		Type    string `xml:"Type"`
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	} `xml:"Error"`
	RequestID string `xml:"RequestId"`
}

// queryServiceFailure is IAM's (and STS's) 500: ServiceFailure with the text of
// the IAM API reference ("The request processing has failed because of an unknown
// error, exception or failure."). The internal detail goes to the log, never the
// body.
func queryServiceFailure() *Error {
	return &Error{Status: http.StatusInternalServerError, Code: "ServiceFailure",
		Message: "The request processing has failed because of an unknown error, exception or failure."}
}

// WriteQueryXMLError writes err in the Query protocol's XML error shape. An *Error
// anywhere in err's chain keeps its status and code (Type is Sender below 500,
// Receiver above); anything else is logged and answered as 500 ServiceFailure.
func WriteQueryXMLError(w http.ResponseWriter, r *http.Request, namespace string, err error) {
	ae, ok := Public(err)
	if !ok {
		slog.Error("internal error answered as 500", "err", err, "requestId", requestIDOf(r))
		ae = queryServiceFailure()
	}
	var resp queryErrorResponse
	resp.Xmlns = namespace
	resp.Error.Type = "Sender"
	if ae.Status >= 500 {
		resp.Error.Type = "Receiver"
	}
	resp.Error.Code, resp.Error.Message = ae.Code, ae.Message
	resp.RequestID = requestIDOf(r)
	b, _ := xml.Marshal(resp)
	h := w.Header()
	h.Set("Content-Type", "text/xml")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	h.Set("X-Amzn-ErrorType", ae.Code)
	w.WriteHeader(ae.Status)
	_, _ = w.Write(b)
}

func requestIDOf(r *http.Request) string {
	if r == nil {
		return NewRequestID()
	}
	if id := RequestID(r.Context()); id != "" {
		return id
	}
	return NewRequestID()
}
