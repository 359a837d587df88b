package s3

import (
	"errors"
	"io"
	"net/http"
	"testing"

	"github.com/sluice-dev/sluice/internal/awsproto"
)

// A body that cannot be read is the client's fault in S3's words, never a 500.
func TestBodyReadError(t *testing.T) {
	chunk := awsproto.Errorf(http.StatusForbidden, "SignatureDoesNotMatch", "x")
	for in, want := range map[error]string{
		io.ErrUnexpectedEOF:                  "IncompleteBody",
		errors.New("read: connection reset"): "IncompleteBody",
		&http.MaxBytesError{Limit: 10}:       "EntityTooLarge",
		chunk:                                "SignatureDoesNotMatch",
	} {
		var aerr *awsproto.Error
		if err := bodyReadError(in, 100); !errors.As(err, &aerr) || aerr.Code != want || aerr.Status >= 500 {
			t.Errorf("bodyReadError(%v) = %v, want %s", in, err, want)
		}
	}
}
