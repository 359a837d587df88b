package lambda

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"

	"github.com/sluice-dev/sluice/internal/awsproto"
	"github.com/sluice-dev/sluice/internal/runtime"
)

// InvokeWithResponseStream answers with the payload as the function writes it, in
// the AWS event-stream framing the SDKs decode: PayloadChunk events carrying the
// bytes, then one InvokeComplete event with ErrorCode, ErrorDetails and LogResult.
// The HTTP Content-Type is the function's own (ResponseStreamContentType). A
// function that does not stream gets its whole response as one PayloadChunk.
func (s *Service) invokeWithResponseStream(c *call) error {
	ref, err := s.parseFunctionRef(c.function, c.query("Qualifier"))
	if err != nil {
		return err
	}
	h := c.r.Header
	inv := invocation{ref: ref, kind: h.Get("X-Amz-Invocation-Type"), requestID: awsproto.RequestID(c.r.Context())}
	switch inv.kind {
	case "":
		inv.kind = typeRequestResponse
	case typeRequestResponse, typeDryRun:
	default:
		return validation("Value '%s' at 'invocationType' failed to satisfy constraint: Member must satisfy enum value set: [RequestResponse, DryRun]", inv.kind)
	}
	switch lt := h.Get("X-Amz-Log-Type"); lt {
	case "", "None":
	case "Tail":
		inv.logTail = true
	default:
		return validation("Value '%s' at 'logType' failed to satisfy constraint: Member must satisfy enum value set: [None, Tail]", lt)
	}
	if cc := h.Get("X-Amz-Client-Context"); cc != "" {
		if inv.clientContext, err = decodeClientContext(cc); err != nil {
			return err
		}
	}
	payload, err := io.ReadAll(io.LimitReader(c.r.Body, maxSyncPayload+1))
	if err != nil {
		return badContent("Could not read request body: %v", err)
	}
	if len(payload) > maxSyncPayload {
		return tooLarge("Request must be smaller than %d bytes for the InvokeWithResponseStream operation", maxSyncPayload)
	}
	if len(payload) > 0 && !json.Valid(payload) {
		return badContent("Could not parse request body into json: Could not parse payload into json: Unexpected character: was expecting a JSON value")
	}
	inv.payload = payload
	es := &eventStreamWriter{w: c.w, rc: http.NewResponseController(c.w), enc: eventstream.NewEncoder()}
	inv.stream = es
	inv.onResolve = func(version string) { es.version = version }
	out, err := s.invoke(c.r.Context(), inv)
	if err != nil {
		if es.hasStarted() {
			// Headers are out: the failure can only be reported in the stream.
			es.complete("ServiceException", err.Error(), "")
			return nil
		}
		return err
	}
	if inv.kind == typeDryRun {
		c.w.WriteHeader(http.StatusNoContent)
		return nil
	}
	res := out.result
	es.version = out.executedVersion
	var code, details string
	if res.FunctionError != "" {
		code, details = errorTypeAndMessage(res.Payload)
	}
	if !res.Streamed && len(res.Payload) > 0 {
		es.Start("application/json")
		_, _ = es.Write(res.Payload)
	}
	es.Start("application/octet-stream") // no-op once started
	var logs string
	if inv.logTail {
		logs = logResult(res.LogTail)
	}
	es.complete(code, details, logs)
	return nil
}

// errorTypeAndMessage reads {"errorType":...,"errorMessage":...}.
func errorTypeAndMessage(payload []byte) (string, string) {
	var e struct {
		ErrorType    string `json:"errorType"`
		ErrorMessage string `json:"errorMessage"`
	}
	if json.Unmarshal(payload, &e) != nil || e.ErrorType == "" {
		return "Unhandled", string(payload)
	}
	return e.ErrorType, e.ErrorMessage
}

// eventStreamWriter is the runtime.ResponseStream of InvokeWithResponseStream.
type eventStreamWriter struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	enc     *eventstream.Encoder
	version string

	mu      sync.Mutex // guards started and writes
	started bool
}

func (e *eventStreamWriter) hasStarted() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.started
}

func (e *eventStreamWriter) Start(contentType string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.started {
		return
	}
	e.started = true
	h := e.w.Header()
	h.Set("Content-Type", contentType)
	if e.version != "" {
		h.Set("X-Amz-Executed-Version", e.version)
	}
	e.w.WriteHeader(http.StatusOK)
}

func eventHeaders(eventType, contentType string) eventstream.Headers {
	return eventstream.Headers{
		{Name: ":event-type", Value: eventstream.StringValue(eventType)},
		{Name: ":content-type", Value: eventstream.StringValue(contentType)},
		{Name: ":message-type", Value: eventstream.StringValue("event")},
	}
}

func (e *eventStreamWriter) Write(p []byte) (int, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	// Messages hold at most 16 MB; the runtime hands over 32 KB reads.
	if err := e.enc.Encode(e.w, eventstream.Message{Headers: eventHeaders("PayloadChunk", "application/octet-stream"),
		Payload: bytes.Clone(p)}); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (e *eventStreamWriter) Flush() { _ = e.rc.Flush() }

func (e *eventStreamWriter) complete(code, details, logs string) {
	body, _ := json.Marshal(struct {
		ErrorCode    string `json:"ErrorCode,omitempty"`
		ErrorDetails string `json:"ErrorDetails,omitempty"`
		LogResult    string `json:"LogResult,omitempty"`
	}{code, details, logs})
	e.mu.Lock()
	_ = e.enc.Encode(e.w, eventstream.Message{Headers: eventHeaders("InvokeComplete", "application/json"), Payload: body})
	e.mu.Unlock()
	e.Flush()
}

// httpIntegrationType is the Content-Type of a streamed function URL response that
// begins with a metadata prelude (awslambda.HttpResponseStream.from,
// events.LambdaFunctionURLStreamingResponse): JSON, eight NUL bytes, then the body.
const httpIntegrationType = "application/vnd.awslambda.http-integration-response"

// serveStreamingURL invokes a RESPONSE_STREAM function URL: the body reaches the
// client as the function writes it. A function that does not stream is answered
// as in BUFFERED mode.
func (s *Service) serveStreamingURL(ctx context.Context, w http.ResponseWriter, r *http.Request, name, qualifier string, payload []byte, cors *Cors) {
	us := &urlStreamWriter{w: w, r: r, rc: http.NewResponseController(w), cors: cors}
	out, err := s.invoke(ctx, invocation{ref: functionRef{Name: name, Qualifier: qualifier},
		kind: typeRequestResponse, payload: payload, requestID: awsproto.RequestID(ctx), stream: us})
	if us.hasStarted() {
		us.finish()
		return
	}
	if err != nil {
		s.writeURLInvokeError(w, err)
		return
	}
	res := out.result
	if res.FunctionError != "" {
		urlError(w, http.StatusBadGateway, "Internal Server Error")
		return
	}
	if res.Streamed {
		// Streamed, but nothing was written: an empty 200.
		us.Start("application/octet-stream")
		us.finish()
		return
	}
	resp, err := parseURLResponse(res.Payload)
	if err != nil {
		urlError(w, http.StatusBadGateway, "Internal Server Error")
		return
	}
	resp.write(w, r, cors)
}

// urlStreamWriter is the runtime.ResponseStream of a RESPONSE_STREAM function URL.
type urlStreamWriter struct {
	w    http.ResponseWriter
	r    *http.Request
	rc   *http.ResponseController
	cors *Cors

	mu      sync.Mutex // guards the fields below
	started bool
	prelude bool   // waiting for the metadata prelude's eight NUL bytes
	pending []byte // prelude bytes so far
	headed  bool   // status and headers written
}

func (u *urlStreamWriter) hasStarted() bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.started
}

func (u *urlStreamWriter) Start(contentType string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.started {
		return
	}
	u.started = true
	if contentType == httpIntegrationType {
		u.prelude = true
		return
	}
	u.writeHead(http.StatusOK, map[string]string{"content-type": contentType}, nil)
}

// maxPrelude bounds the metadata prelude a function may send before its body.
const maxPrelude = 64 * 1024

func (u *urlStreamWriter) Write(p []byte) (int, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.prelude {
		u.pending = append(u.pending, p...)
		i := bytes.Index(u.pending, make([]byte, 8))
		if i < 0 {
			if len(u.pending) > maxPrelude {
				u.prelude = false
				u.writeHead(http.StatusBadGateway, map[string]string{"content-type": "application/json"}, nil)
				_, _ = u.w.Write([]byte(`{"Message":"Internal Server Error"}`))
			}
			return len(p), nil
		}
		var meta struct {
			StatusCode int               `json:"statusCode"`
			Headers    map[string]string `json:"headers"`
			Cookies    []string          `json:"cookies"`
		}
		if err := json.Unmarshal(u.pending[:i], &meta); err != nil || meta.StatusCode == 0 {
			meta.StatusCode = http.StatusOK
		}
		body := u.pending[i+8:]
		u.prelude, u.pending = false, nil
		u.writeHead(meta.StatusCode, meta.Headers, meta.Cookies)
		if len(body) > 0 {
			if _, err := u.w.Write(body); err != nil {
				return 0, err
			}
		}
		return len(p), nil
	}
	if !u.headed {
		return len(p), nil // the prelude was refused; drop the rest
	}
	return u.w.Write(p)
}

func (u *urlStreamWriter) writeHead(status int, headers map[string]string, cookies []string) {
	h := u.w.Header()
	for k, v := range headers {
		if u.cors != nil && strings.HasPrefix(strings.ToLower(k), "access-control-") {
			continue
		}
		h.Set(k, v)
	}
	for _, c := range cookies {
		h.Add("Set-Cookie", c)
	}
	if u.cors != nil {
		corsHeaders(h, u.r, u.cors)
	}
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", "application/octet-stream")
	}
	u.headed = true
	u.w.WriteHeader(status)
}

func (u *urlStreamWriter) Flush() { _ = u.rc.Flush() }

// finish ends the response: a prelude that never completed becomes its bytes as
// a 200 body.
func (u *urlStreamWriter) finish() {
	u.mu.Lock()
	if u.prelude {
		pending := u.pending
		u.prelude, u.pending = false, nil
		u.writeHead(http.StatusOK, nil, nil)
		_, _ = u.w.Write(pending)
	}
	u.mu.Unlock()
	u.Flush()
}

var (
	_ runtime.ResponseStream = (*eventStreamWriter)(nil)
	_ runtime.ResponseStream = (*urlStreamWriter)(nil)
)
