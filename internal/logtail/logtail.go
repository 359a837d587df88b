// Package logtail prints a log group's events through the CloudWatch Logs API
// (FilterLogEvents), the way `aws logs tail` does: from a start time, optionally
// filtered by a filter pattern, and optionally following new events as they
// arrive. `sluice logs` is its command; it reaches any Sluice (or AWS) by the
// endpoint its client was built with, so it needs no files of the repository.
package logtail

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/sluice-dev/sluice/internal/fnlogs"
)

// FilterAPI is the one Logs API call Tail makes.
type FilterAPI interface {
	FilterLogEvents(ctx context.Context, in *cloudwatchlogs.FilterLogEventsInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.FilterLogEventsOutput, error)
}

// ErrGroupNotFound is returned when the log group does not exist and Tail is not
// following (a followed group that does not exist yet is waited for: a function's
// group appears with its first invocation).
var ErrGroupNotFound = errors.New("log group does not exist")

// DefaultSince is how far back Tail starts when told nothing, as `aws logs tail`.
const DefaultSince = fnlogs.DefaultSince

// Options say what to print.
type Options struct {
	Group         string    // e.g. /aws/lambda/hello
	Since         time.Time // first event time (inclusive); zero: DefaultSince ago
	FilterPattern string    // CloudWatch Logs filter pattern; empty matches every event
	Follow        bool
	// Poll is the pause between follow polls; default 500ms.
	Poll time.Duration
}

// Tail writes each event as "<RFC 3339 time> <log stream> <message>\n", oldest
// first. Following, it polls until ctx is done and then returns nil.
func Tail(ctx context.Context, api FilterAPI, opts Options, w io.Writer) error {
	if opts.Poll <= 0 {
		opts.Poll = 500 * time.Millisecond
	}
	if opts.Since.IsZero() {
		opts.Since = time.Now().Add(-DefaultSince)
	}
	bw := bufio.NewWriter(w)
	t := tailer{api: api, opts: opts, out: bw, start: opts.Since.UnixMilli(), seen: map[string]int64{}}
	for {
		err := t.drain(ctx)
		if ferr := bw.Flush(); err == nil {
			err = ferr
		}
		var nf *types.ResourceNotFoundException
		switch {
		case opts.Follow && ctx.Err() != nil:
			return nil
		case errors.As(err, &nf):
			if !opts.Follow {
				return fmt.Errorf("%s: %w", opts.Group, ErrGroupNotFound)
			}
		case err != nil:
			return err
		case !opts.Follow:
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(opts.Poll):
		}
	}
}

// tailer remembers where the last poll ended. A poll starts at the newest
// timestamp already printed (inclusive, since more events of that millisecond
// may still arrive) and skips the event ids it printed at that millisecond.
type tailer struct {
	api   FilterAPI
	opts  Options
	out   *bufio.Writer
	start int64            // Unix ms the next poll starts at
	seen  map[string]int64 // event id -> timestamp, for events at >= start
}

// drain reads every page of events from t.start on and prints the new ones.
func (t *tailer) drain(ctx context.Context) error {
	in := &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String(t.opts.Group), StartTime: aws.Int64(t.start)}
	if t.opts.FilterPattern != "" {
		in.FilterPattern = aws.String(t.opts.FilterPattern)
	}
	newest := t.start
	for {
		out, err := t.api.FilterLogEvents(ctx, in)
		if err != nil {
			return err
		}
		for _, e := range out.Events {
			id, ts := aws.ToString(e.EventId), aws.ToInt64(e.Timestamp)
			if _, dup := t.seen[id]; dup && id != "" {
				continue
			}
			t.seen[id] = ts
			newest = max(newest, ts)
			t.print(e)
		}
		if aws.ToString(out.NextToken) == "" {
			break
		}
		in.NextToken = out.NextToken
	}
	t.start = newest
	for id, ts := range t.seen {
		if ts < newest {
			delete(t.seen, id) // the next poll starts after it
		}
	}
	return nil
}

func (t *tailer) print(e types.FilteredLogEvent) {
	b := time.UnixMilli(aws.ToInt64(e.Timestamp)).UTC().AppendFormat(nil, time.RFC3339Nano)
	t.out.Write(b)
	t.out.WriteByte(' ')
	t.out.WriteString(aws.ToString(e.LogStreamName))
	t.out.WriteByte(' ')
	t.out.WriteString(strings.TrimRight(aws.ToString(e.Message), "\n"))
	t.out.WriteByte('\n')
}

// ParseSince reads a --since value as the server's /_sluice/logs/ endpoint does:
// empty means DefaultSince ago, an RFC 3339 time, or a duration back from now.
func ParseSince(v string, now time.Time) (time.Time, error) { return fnlogs.ParseSince(v, now) }
