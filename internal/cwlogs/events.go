package cwlogs

import (
	"encoding/base64"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-dev/sluice/internal/fnlogs"
)

// maxResponseBytes: GetLogEvents and FilterLogEvents return at most 1 MB of
// events per call.
const maxResponseBytes = 1 << 20

type outputEvent struct {
	Timestamp     int64  `json:"timestamp"`
	Message       string `json:"message"`
	IngestionTime int64  `json:"ingestionTime"`
}

type filteredEvent struct {
	LogStreamName string `json:"logStreamName"`
	Timestamp     int64  `json:"timestamp"`
	Message       string `json:"message"`
	IngestionTime int64  `json:"ingestionTime"`
	EventID       string `json:"eventId"`
}

// timeRange filters by event timestamp in Unix ms; endInclusive differs
// between the operations (GetLogEvents excludes endTime, FilterLogEvents
// includes it).
type timeRange struct {
	start, end   *int64
	endInclusive bool
}

func (r timeRange) contains(t time.Time) bool {
	ms := t.UnixMilli()
	if r.start != nil && ms < *r.start {
		return false
	}
	if r.end != nil && (ms > *r.end || !r.endInclusive && ms == *r.end) {
		return false
	}
	return true
}

func (r timeRange) since() time.Time {
	if r.start == nil {
		return time.Time{}
	}
	return time.UnixMilli(*r.start)
}

// GetLogEvents tokens are "f/<cursor>" (read forward from there) and
// "b/<cursor>" (read backward from there), the shapes AWS's tokens have.
func parseEventToken(tok string) (forward bool, c fnlogs.Cursor, err error) {
	dir, rest, ok := strings.Cut(tok, "/")
	if !ok || dir != "f" && dir != "b" {
		return false, c, errBadToken
	}
	c, ok = fnlogs.ParseCursor(rest)
	if !ok {
		return false, c, errBadToken
	}
	return dir == "f", c, nil
}

func (s *Service) getLogEvents(body []byte) (any, error) {
	var in struct {
		LogGroupName       string `json:"logGroupName"`
		LogGroupIdentifier string `json:"logGroupIdentifier"`
		LogStreamName      string `json:"logStreamName"`
		StartTime          *int64 `json:"startTime"`
		EndTime            *int64 `json:"endTime"`
		NextToken          string `json:"nextToken"`
		Limit              *int   `json:"limit"`
		StartFromHead      bool   `json:"startFromHead"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	name, err := s.resolveGroup(in.LogGroupName, in.LogGroupIdentifier)
	if err != nil {
		return nil, err
	}
	if !validStreamName(in.LogStreamName) {
		return nil, streamNameError(in.LogStreamName)
	}
	limit, err := pageLimit(in.Limit, 10000)
	if err != nil {
		return nil, err
	}
	forward, from := in.StartFromHead, fnlogs.Cursor{}
	hasToken := in.NextToken != ""
	if hasToken {
		if forward, from, err = parseEventToken(in.NextToken); err != nil {
			return nil, err
		}
	}
	key := StoreKey(name)
	if _, err := s.opts.Logs.Group(key); err != nil {
		return nil, storeError(err, errGroupNotFound)
	}
	if !s.opts.Logs.StreamExists(key, in.LogStreamName) {
		return nil, errStreamNotFound
	}
	tr := timeRange{start: in.StartTime, end: in.EndTime}

	type hit struct {
		ev         outputEvent
		start, end fnlogs.Cursor
	}
	var hits []hit
	size := 0
	end := from // the position up to which the log was read
	take := func(e fnlogs.Entry) hit {
		return hit{outputEvent{e.Time.UnixMilli(), e.Message, e.Time.UnixMilli()}, e.Cursor, e.Next}
	}
	var scanFrom fnlogs.Cursor
	if forward {
		scanFrom = from
	}
	err = s.opts.Logs.Scan(key, scanFrom, tr.since(), func(e fnlogs.Entry) error {
		if !forward && hasToken && !e.Cursor.Less(from) {
			return fnlogs.ErrStop // backward: only entries before the token
		}
		if end.Less(e.Next) {
			end = e.Next
		}
		if e.Stream != in.LogStreamName || !tr.contains(e.Time) {
			return nil
		}
		h := take(e)
		if forward {
			if len(hits) == limit || size+len(e.Message)+26 > maxResponseBytes {
				end = e.Cursor
				return fnlogs.ErrStop
			}
			hits = append(hits, h)
			size += len(e.Message) + 26
			return nil
		}
		// Backward: keep the newest limit events (and at most 1 MB of them).
		hits = append(hits, h)
		size += len(e.Message) + 26
		for len(hits) > limit || size > maxResponseBytes {
			size -= len(hits[0].ev.Message) + 26
			hits = hits[1:]
		}
		return nil
	})
	if err != nil {
		return nil, storeError(err, errGroupNotFound)
	}
	out := struct {
		Events            []outputEvent `json:"events"`
		NextForwardToken  string        `json:"nextForwardToken"`
		NextBackwardToken string        `json:"nextBackwardToken"`
	}{Events: make([]outputEvent, 0, len(hits))}
	for _, h := range hits {
		out.Events = append(out.Events, h.ev)
	}
	switch {
	case len(hits) > 0:
		out.NextForwardToken = "f/" + hits[len(hits)-1].end.String()
		out.NextBackwardToken = "b/" + hits[0].start.String()
	case forward:
		// Nothing new: the forward token moves past what was read (so the
		// next call does not re-read it); the backward one stays.
		out.NextForwardToken = "f/" + end.String()
		out.NextBackwardToken = "b/" + from.String()
	default:
		out.NextForwardToken = "f/" + end.String()
		out.NextBackwardToken = "b/" + from.String()
		if !hasToken {
			out.NextBackwardToken = "b/" + end.String()
		}
	}
	return out, nil
}

func (s *Service) filterLogEvents(body []byte) (any, error) {
	var in struct {
		LogGroupName        string   `json:"logGroupName"`
		LogGroupIdentifier  string   `json:"logGroupIdentifier"`
		LogStreamNames      []string `json:"logStreamNames"`
		LogStreamNamePrefix string   `json:"logStreamNamePrefix"`
		StartTime           *int64   `json:"startTime"`
		EndTime             *int64   `json:"endTime"`
		FilterPattern       string   `json:"filterPattern"`
		NextToken           string   `json:"nextToken"`
		Limit               *int     `json:"limit"`
		Interleaved         *bool    `json:"interleaved"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	name, err := s.resolveGroup(in.LogGroupName, in.LogGroupIdentifier)
	if err != nil {
		return nil, err
	}
	if len(in.LogStreamNames) > 0 && in.LogStreamNamePrefix != "" {
		return nil, invalidParameter("logStreamNames and logStreamNamePrefix are mutually exclusive parameters.")
	}
	if len(in.LogStreamNames) > 100 {
		return nil, validationError(strconv.Itoa(len(in.LogStreamNames)), "logStreamNames", "Member must have length less than or equal to 100")
	}
	limit, err := pageLimit(in.Limit, 10000)
	if err != nil {
		return nil, err
	}
	f, err := compileFilter(in.FilterPattern)
	if err != nil {
		return nil, invalidParameter("Invalid filter pattern")
	}
	var from fnlogs.Cursor
	if in.NextToken != "" {
		b, derr := base64.RawURLEncoding.DecodeString(in.NextToken)
		c, ok := fnlogs.ParseCursor(strings.TrimPrefix(string(b), "c/"))
		if derr != nil || !ok || !strings.HasPrefix(string(b), "c/") {
			return nil, errBadToken
		}
		from = c
	}
	key := StoreKey(name)
	tr := timeRange{start: in.StartTime, end: in.EndTime, endInclusive: true}
	out := struct {
		Events             []filteredEvent `json:"events"`
		SearchedLogStreams []any           `json:"searchedLogStreams"`
		NextToken          string          `json:"nextToken,omitempty"`
	}{Events: []filteredEvent{}, SearchedLogStreams: []any{}}
	size := 0
	err = s.opts.Logs.Scan(key, from, tr.since(), func(e fnlogs.Entry) error {
		if len(in.LogStreamNames) > 0 && !slices.Contains(in.LogStreamNames, e.Stream) ||
			!strings.HasPrefix(e.Stream, in.LogStreamNamePrefix) || !tr.contains(e.Time) || !f.match(e.Message) {
			return nil
		}
		if len(out.Events) == limit || size+len(e.Message)+26 > maxResponseBytes {
			out.NextToken = base64.RawURLEncoding.EncodeToString([]byte("c/" + e.Cursor.String()))
			return fnlogs.ErrStop
		}
		size += len(e.Message) + 26
		ms := e.Time.UnixMilli()
		out.Events = append(out.Events, filteredEvent{LogStreamName: e.Stream, Timestamp: ms, Message: e.Message,
			IngestionTime: ms, EventID: e.Cursor.String()})
		return nil
	})
	if err != nil {
		if errors.Is(err, fnlogs.ErrNotFound) {
			return nil, errGroupNotFound
		}
		return nil, err
	}
	// Lines are stored in arrival order; return them by time, as CloudWatch
	// interleaves streams by timestamp.
	slices.SortStableFunc(out.Events, func(a, b filteredEvent) int { return int(a.Timestamp - b.Timestamp) })
	return out, nil
}
