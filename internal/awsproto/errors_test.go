package awsproto

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
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
