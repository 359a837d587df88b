package fnlogs

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-dev/sluice/internal/awsproto"
)

// PathPrefix is where Handler serves: GET PathPrefix + "{function}".
const PathPrefix = "/_sluice/logs/"

// DefaultSince is the window read when the request names none, as
// `aws logs tail` defaults to the last 10 minutes.
const DefaultSince = 10 * time.Minute

// Handler serves GET /_sluice/logs/{function}?since=<RFC 3339 time or duration>&follow=1
// as text/plain, one "<RFC3339Nano time> <stream> <message>\n" line per entry.
// With follow the response stays open and each batch of new lines is flushed as
// it arrives. A function with no logs is 404 {"message": ...}; a bad since is
// 400.
func (s *Store) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+PathPrefix+"{function}", s.serveLogs)
	mux.HandleFunc(PathPrefix, func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			awsproto.WriteError(w, awsproto.StyleAPIGateway,
				awsproto.Errorf(http.StatusMethodNotAllowed, "MethodNotAllowedException", "Method %s is not allowed; use GET.", r.Method))
			return
		}
		awsproto.WriteError(w, awsproto.StyleAPIGateway,
			awsproto.NotFound("NotFoundException", "Use GET %s{function}.", PathPrefix))
	})
	return mux
}

func (s *Store) serveLogs(w http.ResponseWriter, r *http.Request) {
	function := r.PathValue("function")
	q := r.URL.Query()
	since, err := ParseSince(q.Get("since"), time.Now())
	if err != nil {
		awsproto.WriteError(w, awsproto.StyleAPIGateway, awsproto.BadRequest("BadRequestException", "%s", err.Error()))
		return
	}
	follow := parseBool(q.Get("follow"))

	bw := bufio.NewWriterSize(w, 32<<10)
	wroteHeader := false
	start := func() {
		if wroteHeader {
			return
		}
		wroteHeader = true
		h := w.Header()
		h.Set("Content-Type", "text/plain; charset=utf-8")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-cache")
		w.WriteHeader(http.StatusOK)
	}
	rc := http.NewResponseController(w)
	if follow {
		// A follow stream outlives any server write timeout.
		_ = rc.SetWriteDeadline(time.Time{})
	}
	var line []byte
	write := func(e Entry) error {
		start()
		line = formatLine(line[:0], e)
		_, err := bw.Write(line)
		return err
	}
	idle := func() {
		start()
		if bw.Flush() == nil {
			_ = rc.Flush()
		}
	}
	err = s.read(r.Context(), function, since, follow, write, idle)
	switch {
	case errors.Is(err, ErrNotFound) && !wroteHeader:
		awsproto.WriteError(w, awsproto.StyleAPIGateway,
			awsproto.NotFound("ResourceNotFoundException", "No logs found for function %s.", function))
		return
	case err != nil && !errors.Is(err, context.Canceled) && !wroteHeader:
		awsproto.WriteError(w, awsproto.StyleAPIGateway, err)
		return
	}
	start()
	_ = bw.Flush()
}

func formatLine(b []byte, e Entry) []byte {
	b = e.Time.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, ' ')
	b = append(b, e.Stream...)
	b = append(b, ' ')
	b = append(b, e.Message...)
	return append(b, '\n')
}

// ParseSince reads a since parameter: empty means DefaultSince ago; an RFC 3339
// time is used as is; a Go duration ("10m", "1h30m") means that long before now.
func ParseSince(v string, now time.Time) (time.Time, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return now.Add(-DefaultSince), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(v); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("invalid since %q: use an RFC 3339 time (2024-05-01T10:00:00Z) or a duration (10m, 2h)", v)
}

func parseBool(v string) bool {
	b, err := strconv.ParseBool(v)
	return err == nil && b
}
