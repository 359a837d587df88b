package awsproto

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// A failure that is not the caller's answers AWS's generic 500 for the dialect and
// never carries the internal error text (paths, Go error chains) to the client; an
// AWS error wrapped with %w keeps its own code and message.
func TestWriteErrorHidesInternalDetail(t *testing.T) {
	secret := errors.New("open /var/lib/sluice/state.db: permission denied")
	tests := []struct {
		name       string
		style      ErrorStyle
		err        error
		wantStatus int
		wantCode   string
		wantBody   string
	}{
		{"lambda internal", StyleLambda, fmt.Errorf("lambda: put function: %w", secret), 500, "ServiceException",
			`{"Type":"Service","Message":"The Lambda service encountered an internal error."}`},
		{"apigateway internal", StyleAPIGateway, secret, 500, "InternalFailure",
			`{"message":"Internal server error"}`},
		{"wrapped lambda AWS error", StyleLambda,
			fmt.Errorf("create function: %w", NotFound("ResourceNotFoundException", "Function not found: f")),
			404, "ResourceNotFoundException", `{"Type":"User","Message":"Function not found: f"}`},
		{"wrapped apigateway AWS error", StyleAPIGateway,
			fmt.Errorf("get api: %w", NotFound("NotFoundException", "Invalid API identifier specified")),
			404, "NotFoundException", `{"message":"Invalid API identifier specified"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			WriteError(rec, tt.style, tt.err)
			if rec.Code != tt.wantStatus {
				t.Errorf("status %d, want %d", rec.Code, tt.wantStatus)
			}
			if got := rec.Header().Get("X-Amzn-ErrorType"); got != tt.wantCode {
				t.Errorf("X-Amzn-ErrorType %q, want %q", got, tt.wantCode)
			}
			body := strings.TrimSpace(rec.Body.String())
			if body != tt.wantBody {
				t.Errorf("body %s, want %s", body, tt.wantBody)
			}
			if strings.Contains(body, "state.db") || strings.Contains(body, "permission denied") {
				t.Errorf("internal detail leaked: %s", body)
			}
		})
	}
}

func TestWriteJSONMarshalFailureIsGeneric(t *testing.T) {
	rec := httptest.NewRecorder()
	WriteJSON(rec, http.StatusOK, map[string]any{"f": func() {}})
	if rec.Code != 500 || strings.Contains(rec.Body.String(), "func") {
		t.Fatalf("got %d %s", rec.Code, rec.Body.String())
	}
}

// captureLog points slog's default logger at a buffer for the test's duration,
// so a test can check that an internal failure's detail is logged.
func captureLog(t *testing.T) *strings.Builder {
	var b strings.Builder
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&lockedWriter{w: &b}, nil)))
	t.Cleanup(func() { slog.SetDefault(prev) })
	return &b
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// The Query (IAM, STS) and REST-XML (S3) dialects hide internal failures the same
// way: AWS's own 500 for the service in the body, the detail in the log; an AWS
// error wrapped with %w keeps its code. Before, the Query dialect put err.Error()
// (a file path, a Go error chain) in <Message>, and REST-XML answered a wrapped
// NoSuchKey as a 500 and logged nothing.
func TestXMLDialectsHideInternalDetail(t *testing.T) {
	secret := fmt.Errorf("iam: put user: %w", errors.New("open /var/lib/sluice/state.db: permission denied"))
	wrapped := fmt.Errorf("get object: %w", NotFound("NoSuchKey", "The specified key does not exist."))
	tests := []struct {
		name       string
		write      func(w http.ResponseWriter, r *http.Request, err error)
		err        error
		wantStatus int
		wantCode   string
		wantInBody string
		wantLogged bool
	}{
		{"query internal", func(w http.ResponseWriter, r *http.Request, err error) { WriteQueryXMLError(w, r, IAMNamespace, err) },
			secret, 500, "ServiceFailure",
			"<Type>Receiver</Type><Code>ServiceFailure</Code><Message>The request processing has failed because of an unknown error, exception or failure.</Message>", true},
		{"query wrapped AWS error", func(w http.ResponseWriter, r *http.Request, err error) { WriteQueryXMLError(w, r, IAMNamespace, err) },
			fmt.Errorf("get user: %w", NotFound("NoSuchEntity", "The user with name u cannot be found.")), 404, "NoSuchEntity",
			"<Type>Sender</Type><Code>NoSuchEntity</Code><Message>The user with name u cannot be found.</Message>", false},
		{"rest-xml internal", func(w http.ResponseWriter, r *http.Request, err error) { WriteRESTXMLError(w, r, err, "rid", "hid") },
			secret, 500, "",
			"<Error><Code>InternalError</Code><Message>We encountered an internal error. Please try again.</Message><RequestId>rid</RequestId>", true},
		{"rest-xml wrapped AWS error", func(w http.ResponseWriter, r *http.Request, err error) { WriteRESTXMLError(w, r, err, "rid", "hid") },
			wrapped, 404, "", "<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message>", false},
		{"rest-xml wrapped fields", func(w http.ResponseWriter, r *http.Request, err error) { WriteRESTXMLError(w, r, err, "rid", "hid") },
			fmt.Errorf("head: %w", WithFields(NotFound("NoSuchBucket", "The specified bucket does not exist"), XMLField{"BucketName", "b"})),
			404, "", "<Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message><BucketName>b</BucketName>", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs := captureLog(t)
			rec := httptest.NewRecorder()
			tt.write(rec, httptest.NewRequest("POST", "/", nil), tt.err)
			body := rec.Body.String()
			if rec.Code != tt.wantStatus {
				t.Errorf("status %d, want %d: %s", rec.Code, tt.wantStatus, body)
			}
			if tt.wantCode != "" && rec.Header().Get("X-Amzn-ErrorType") != tt.wantCode {
				t.Errorf("X-Amzn-ErrorType %q, want %q", rec.Header().Get("X-Amzn-ErrorType"), tt.wantCode)
			}
			if !strings.Contains(body, tt.wantInBody) {
				t.Errorf("body %s\nwant it to hold %s", body, tt.wantInBody)
			}
			if strings.Contains(body, "state.db") || strings.Contains(body, "permission denied") {
				t.Errorf("internal detail leaked: %s", body)
			}
			if logged := strings.Contains(logs.String(), "state.db"); logged != tt.wantLogged {
				t.Errorf("detail logged = %v, want %v: %s", logged, tt.wantLogged, logs.String())
			}
		})
	}
}

// WriteError logs the detail it keeps out of the body.
func TestWriteErrorLogsInternalDetail(t *testing.T) {
	logs := captureLog(t)
	rec := httptest.NewRecorder()
	WriteError(rec, StyleLambda, errors.New("rename /data/code/x.zip: no space left on device"))
	if !strings.Contains(logs.String(), "no space left on device") {
		t.Fatalf("internal detail not logged: %q", logs.String())
	}
	if strings.Contains(rec.Body.String(), "no space") {
		t.Fatalf("internal detail in the body: %s", rec.Body)
	}
}
