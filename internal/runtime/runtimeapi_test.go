package runtime

import (
	"regexp"
	"testing"
	"time"
)

func TestTraceIDFormat(t *testing.T) {
	re := regexp.MustCompile(`^Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0$`)
	for i := 0; i < 100; i++ {
		if id := newTraceID(time.Now()); !re.MatchString(id) {
			t.Fatalf("trace id %q", id)
		}
	}
}
