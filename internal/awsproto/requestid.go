package awsproto

import (
	"context"
	"net/http"

	"github.com/google/uuid"
)

type requestIDKey struct{}

// HeaderRequestID is the response header every AWS API answers with.
const HeaderRequestID = "X-Amzn-Requestid"

// NewRequestID returns a fresh request id in AWS's UUID form.
func NewRequestID() string { return uuid.NewString() }

// WithRequestID stores id in ctx.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID returns the request id stored in ctx, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// RequestIDMiddleware gives every request an id, puts it in the context and sets
// x-amzn-RequestId on the response before the handler runs.
func RequestIDMiddleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := NewRequestID()
		w.Header()["x-amzn-RequestId"] = []string{id}
		next.ServeHTTP(w, r.WithContext(WithRequestID(r.Context(), id)))
	})
}
