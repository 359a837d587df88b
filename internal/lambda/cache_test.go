package lambda

import (
	"context"
	"errors"
	"testing"

	"github.com/sluice-dev/sluice/internal/awsproto"
)

// The data plane never reads the store: resolving a function that does not exist
// answers from the cache (the review found each miss to be a serialized store read).
func TestResolveMissDoesNotReadTheStore(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.create("present")
	_ = e.store.Close() // any store read now fails
	for i := 0; i < 3; i++ {
		_, err := e.svc.cache.resolve(context.Background(), functionRef{Name: "missing"})
		var ae *awsproto.Error
		if !errors.As(err, &ae) || ae.Code != "ResourceNotFoundException" {
			t.Fatalf("resolve(missing) = %v, want ResourceNotFoundException from the cache", err)
		}
	}
	if _, err := e.svc.cache.resolve(context.Background(), functionRef{Name: "present"}); err != nil {
		t.Fatalf("resolve(present) = %v", err)
	}
}
