package runtime

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The Lambda Runtime API, version 2018-06-01, as AWS documents it
// (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html). Each instance
// serves it on its own loopback listener, so the handler needs no routing by
// function: the instance is the receiver. Error bodies and status codes follow AWS's
// runtime interface emulator (aws-lambda-runtime-interface-emulator, rapi/rendering).
const runtimeAPIPrefix = "/2018-06-01/runtime/"

const (
	hdrRequestID       = "Lambda-Runtime-Aws-Request-Id"
	hdrDeadline        = "Lambda-Runtime-Deadline-Ms"
	hdrFunctionARN     = "Lambda-Runtime-Invoked-Function-Arn"
	hdrTraceID         = "Lambda-Runtime-Trace-Id"
	hdrClientContext   = "Lambda-Runtime-Client-Context"
	hdrCognitoIdentity = "Lambda-Runtime-Cognito-Identity"
	hdrErrorType       = "Lambda-Runtime-Function-Error-Type"
	hdrErrorBody       = "Lambda-Runtime-Function-Error-Body" // trailer of streamed responses
	hdrResponseMode    = "Lambda-Runtime-Function-Response-Mode"
)

// maxStreamedResponse is the soft limit of a streamed response: "The maximum
// response payload size for response streaming is 20 MB" (a soft limit on AWS).
const maxStreamedResponse = 20 * 1024 * 1024

var (
	bodyAccepted         = []byte(`{"status":"OK"}` + "\n")
	bodyInvalidRequestID = []byte(`{"errorMessage":"Invalid request ID","errorType":"InvalidRequestID"}` + "\n")
	bodyTooLarge         = []byte(`{"errorMessage":"Exceeded maximum allowed payload size (6291556 bytes).","errorType":"RequestEntityTooLarge"}` + "\n")
	bodyInitAfterReady   = []byte(`{"errorMessage":"State transition from Ready to InitError failed for runtime. Error: State transition is not allowed","errorType":"InvalidStateTransition"}` + "\n")
	// The payload AWS returns when a function's response is too large.
	payloadTooLarge = []byte(`{"errorMessage":"Response payload size exceeded maximum allowed payload size (6291556 bytes).","errorType":"Function.ResponseSizeTooLarge"}`)
)

func writeJSONBody(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h["Content-Type"] = []string{"application/json"}
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func (inst *instance) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, runtimeAPIPrefix)
	if !ok {
		http.NotFound(w, r)
		return
	}
	switch {
	case rest == "invocation/next":
		if r.Method != http.MethodGet {
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		inst.serveNext(w, r)
	case rest == "init/error":
		if r.Method != http.MethodPost {
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		inst.serveInitError(w, r)
	case strings.HasPrefix(rest, "invocation/"):
		id, action, ok := strings.Cut(rest[len("invocation/"):], "/")
		if !ok || id == "" {
			http.NotFound(w, r)
			return
		}
		if r.Method != http.MethodPost {
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		switch action {
		case "response":
			inst.serveResponse(w, r, id)
		case "error":
			inst.serveError(w, r, id)
		default:
			http.NotFound(w, r)
		}
	default:
		http.NotFound(w, r)
	}
}

// serveNext long-polls for the next invocation. The first call ends the init phase.
func (inst *instance) serveNext(w http.ResponseWriter, r *http.Request) {
	for {
		var c *invocation
		select {
		case c = <-inst.work:
		case <-r.Context().Done():
			return
		case <-inst.exited:
			return
		}
		if c.claimed.Load() {
			continue // already answered (init error) or abandoned
		}
		now := time.Now()
		inst.mu.Lock()
		if !inst.initDone {
			inst.initDone = true
			inst.initDuration = now.Sub(inst.spawned)
		}
		inst.mu.Unlock()
		c.startedAt = now
		c.deadline = now.Add(c.timeout)
		close(c.started)

		inst.logMu.Lock()
		c.startLogged = true
		if line, ok := inst.startLog(c.inv.RequestID); ok {
			inst.emitLocked(c, line)
		}
		inst.logMu.Unlock()

		// One backing array for every header value instead of a slice each.
		hv := headerValues{h: w.Header(), vals: make([]string, 0, 8)}
		hv.set(hdrRequestID, c.inv.RequestID)
		hv.set(hdrDeadline, strconv.FormatInt(c.deadline.UnixMilli(), 10))
		if c.inv.InvokedFunctionARN != "" {
			hv.set(hdrFunctionARN, c.inv.InvokedFunctionARN)
		} else {
			hv.set(hdrFunctionARN, inst.spec.FunctionARN)
		}
		// AWS always sends a trace header; runtimes copy it to _X_AMZN_TRACE_ID.
		if c.inv.TraceID != "" {
			hv.set(hdrTraceID, lambdaTraceHeader(c.inv.TraceID))
		} else {
			hv.set(hdrTraceID, newTraceID(now))
		}
		if c.inv.ClientContext != "" {
			hv.set(hdrClientContext, c.inv.ClientContext)
		}
		if c.inv.CognitoIdentity != "" {
			hv.set(hdrCognitoIdentity, c.inv.CognitoIdentity)
		}
		hv.set("Content-Type", "application/json")
		hv.set("Content-Length", strconv.Itoa(len(c.inv.Payload)))
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(c.inv.Payload)
		return
	}
}

// headerValues sets single-valued headers whose value slices share one backing
// array (each a full slice expression, so an Add to one cannot overwrite the next).
type headerValues struct {
	h    http.Header
	vals []string
}

func (hv *headerValues) set(k, v string) {
	hv.vals = append(hv.vals, v)
	n := len(hv.vals)
	hv.h[k] = hv.vals[n-1 : n : n]
}

// CleanTraceID returns an X-Amzn-Trace-Id header worth propagating: one whose
// Root is a well-formed X-Ray trace id (1-{8 hex}-{24 hex}), at most 256 bytes
// of printable ASCII; "" otherwise.
func CleanTraceID(h string) string {
	h = strings.TrimSpace(h)
	if h == "" || len(h) > 256 {
		return ""
	}
	for i := 0; i < len(h); i++ {
		if h[i] < 0x20 || h[i] > 0x7e {
			return ""
		}
	}
	for _, f := range strings.Split(h, ";") {
		if root, ok := strings.CutPrefix(strings.TrimSpace(f), "Root="); ok {
			if len(root) == 35 && root[:2] == "1-" && root[10] == '-' && isHex(root[2:10]) && isHex(root[11:]) {
				return h
			}
			return ""
		}
	}
	return ""
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// lambdaTraceHeader completes a propagated trace header the way Lambda hands it to
// a function: Root as received, a Parent and Sampled (0 when the caller did not
// decide) when missing.
func lambdaTraceHeader(h string) string {
	if strings.Contains(h, "Parent=") && strings.Contains(h, "Sampled=") {
		return h
	}
	if !strings.Contains(h, "Parent=") {
		h += ";Parent=" + strconv.FormatUint(rand.Uint64()|1<<60, 16)
	}
	if !strings.Contains(h, "Sampled=") {
		h += ";Sampled=0"
	}
	return h
}

// newTraceID makes an X-Ray trace header with an unsampled root, in the format AWS
// sends: Root=1-<8 hex epoch seconds>-<24 hex>;Parent=<16 hex>;Sampled=0.
func newTraceID(now time.Time) string {
	const hexdigits = "0123456789abcdef"
	var b [80]byte
	n := copy(b[:], "Root=1-")
	sec := uint32(now.Unix())
	for i := 7; i >= 0; i-- {
		b[n+i] = hexdigits[sec&0xf]
		sec >>= 4
	}
	n += 8
	b[n] = '-'
	n++
	hex64 := func(v uint64, digits int) {
		for i := 0; i < digits; i++ {
			b[n] = hexdigits[(v>>(4*i))&0xf]
			n++
		}
	}
	hex64(rand.Uint64(), 16)
	hex64(rand.Uint64(), 8)
	n += copy(b[n:], ";Parent=")
	hex64(rand.Uint64(), 16)
	n += copy(b[n:], ";Sampled=0")
	return string(b[:n])
}

// current returns the in-flight invocation with the given id, or nil when the id is
// unknown or already answered.
func (inst *instance) current(id string) *invocation {
	inst.mu.Lock()
	c := inst.cur
	if inst.inflight != nil {
		c = inst.inflight[id]
	}
	inst.mu.Unlock()
	if c == nil || c.inv.RequestID != id || c.claimed.Load() || !c.hasStarted() {
		return nil
	}
	return c
}

// readBody reads at most limit bytes; tooLarge reports a longer body.
func readBody(r *http.Request, limit int) (body []byte, tooLarge bool, err error) {
	var buf bytes.Buffer
	if n := r.ContentLength; n > int64(limit) {
		// Drain so the connection stays usable, without keeping the bytes.
		_, _ = io.Copy(io.Discard, r.Body)
		return nil, true, nil
	} else if n > 0 {
		// The length is known (net/http stops the body there): one exact buffer,
		// no growth and copy as bytes.Buffer.ReadFrom would do.
		body = make([]byte, n)
		if _, err = io.ReadFull(r.Body, body); err != nil {
			return nil, false, err
		}
		return body, false, nil
	}
	_, err = buf.ReadFrom(io.LimitReader(r.Body, int64(limit)+1))
	if err != nil {
		return nil, false, err
	}
	if buf.Len() > limit {
		_, _ = io.Copy(io.Discard, r.Body)
		return nil, true, nil
	}
	return buf.Bytes(), false, nil
}

// readResult reads the body of a /response or /error post for invocation id. ok is
// false when the request has been answered already: unknown id (400), runtime gone
// mid-body, or a body over the limit (413, and the invocation fails with
// Function.ResponseSizeTooLarge, as AWS does).
func (inst *instance) readResult(w http.ResponseWriter, r *http.Request, id string) (c *invocation, body []byte, ok bool) {
	c = inst.current(id)
	if c == nil {
		_, _ = io.Copy(io.Discard, r.Body)
		writeJSONBody(w, http.StatusBadRequest, bodyInvalidRequestID)
		return nil, nil, false
	}
	body, tooLarge, err := readBody(r, maxResponseSize)
	if err != nil {
		// The runtime went away mid-body; its exit is reported by the wait loop.
		return nil, nil, false
	}
	if tooLarge {
		c.finish(outcome{kind: outTooLarge, payload: payloadTooLarge})
		writeJSONBody(w, http.StatusRequestEntityTooLarge, bodyTooLarge)
		return nil, nil, false
	}
	return c, body, true
}

// settle finishes c with o and answers the runtime: 202, or 400 when the invocation
// was already settled (a second answer, or one after a timeout).
func settle(w http.ResponseWriter, c *invocation, o outcome) {
	if !c.finish(o) {
		writeJSONBody(w, http.StatusBadRequest, bodyInvalidRequestID)
		return
	}
	writeJSONBody(w, http.StatusAccepted, bodyAccepted)
}

func (inst *instance) serveResponse(w http.ResponseWriter, r *http.Request, id string) {
	if strings.EqualFold(r.Header.Get(hdrResponseMode), "streaming") {
		if c := inst.current(id); c != nil && c.inv.Stream != nil {
			inst.serveStreamedResponse(w, r, c)
			return
		}
	}
	c, body, ok := inst.readResult(w, r, id)
	if !ok {
		return
	}
	o := outcome{kind: outSuccess, payload: body}
	// A streamed response that failed midway carries the error in trailers
	// (aws-lambda-go's errorCapturingReader does this).
	if t := r.Trailer.Get(hdrErrorType); t != "" {
		o = outcome{kind: outHandlerError, payload: trailerErrorPayload(t, r.Trailer.Get(hdrErrorBody))}
	}
	settle(w, c, o)
}

// serveStreamedResponse relays a streamed response (chunked body, errors in the
// Lambda-Runtime-Function-Error-Type/-Body trailers) to the invocation's stream as
// the runtime writes it. Past the 20 MB limit the stream is cut and the invocation
// fails with Function.ResponseSizeTooLarge, as AWS reports it.
func (inst *instance) serveStreamedResponse(w http.ResponseWriter, r *http.Request, c *invocation) {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		ct = "application/octet-stream"
	}
	out := c.inv.Stream
	out.Start(ct)
	buf := make([]byte, 32*1024)
	total := 0
	for {
		n, err := r.Body.Read(buf)
		if n > 0 {
			total += n
			if total > maxStreamedResponse {
				_, _ = io.Copy(io.Discard, r.Body)
				settle(w, c, outcome{kind: outTooLarge, payload: errorBody("Function.ResponseSizeTooLarge",
					"Response payload size exceeded maximum allowed payload size (20971520 bytes).")})
				return
			}
			if _, werr := out.Write(buf[:n]); werr != nil {
				// The client went away; keep draining so the runtime can finish.
				out = discardStream{}
			}
			out.Flush()
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return // the runtime went away mid-body; its exit is reported by the wait loop
		}
	}
	o := outcome{kind: outSuccess}
	if t := r.Trailer.Get(hdrErrorType); t != "" {
		o = outcome{kind: outHandlerError, payload: trailerErrorPayload(t, r.Trailer.Get(hdrErrorBody))}
	}
	o.streamed = true
	settle(w, c, o)
}

type discardStream struct{}

func (discardStream) Start(string)                {}
func (discardStream) Write(p []byte) (int, error) { return len(p), nil }
func (discardStream) Flush()                      {}

func trailerErrorPayload(errType, b64 string) []byte {
	if b, err := base64.StdEncoding.DecodeString(b64); err == nil && json.Valid(b) && len(b) > 0 {
		return b
	}
	return errorBody(errType, "")
}

// errorBody renders {"errorMessage":...,"errorType":...}.
func errorBody(errType, msg string) []byte {
	b, _ := json.Marshal(struct {
		ErrorMessage string `json:"errorMessage"`
		ErrorType    string `json:"errorType"`
	}{msg, errType})
	return b
}

// errorPayload is what an /error or /init/error post becomes as the invoke payload:
// the runtime's JSON error object as sent, or one built from the
// Lambda-Runtime-Function-Error-Type header when the body is not JSON (AWS's
// documented fallback).
func errorPayload(r *http.Request, body []byte) []byte {
	if len(bytes.TrimSpace(body)) > 0 && json.Valid(body) {
		return body
	}
	errType := r.Header.Get(hdrErrorType)
	if errType == "" {
		errType = "Unhandled"
	}
	return errorBody(errType, string(body))
}

func (inst *instance) serveError(w http.ResponseWriter, r *http.Request, id string) {
	c, body, ok := inst.readResult(w, r, id)
	if !ok {
		return
	}
	settle(w, c, outcome{kind: outHandlerError, payload: errorPayload(r, body)})
}

// serveInitError records a failed init: the pending invocation gets the error as its
// payload and the instance is discarded.
func (inst *instance) serveInitError(w http.ResponseWriter, r *http.Request) {
	body, tooLarge, err := readBody(r, maxResponseSize)
	if err != nil {
		return
	}
	if tooLarge {
		body = nil
	}
	payload := errorPayload(r, body)
	inst.mu.Lock()
	ready := inst.initDone
	pending := []*invocation{inst.cur}
	for _, c := range inst.inflight { // a multi instance: every invocation waiting for init
		pending = append(pending, c)
	}
	if !ready {
		inst.initErr = payload
	}
	inst.mu.Unlock()
	if ready {
		writeJSONBody(w, http.StatusForbidden, bodyInitAfterReady)
		return
	}
	for _, c := range pending {
		if c != nil {
			c.finish(outcome{kind: outInitError, payload: payload})
		}
	}
	writeJSONBody(w, http.StatusAccepted, bodyAccepted)
}
