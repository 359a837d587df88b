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

type logStream struct {
	LogStreamName       string `json:"logStreamName"`
	CreationTime        int64  `json:"creationTime"`
	FirstEventTimestamp int64  `json:"firstEventTimestamp,omitempty"`
	LastEventTimestamp  int64  `json:"lastEventTimestamp,omitempty"`
	LastIngestionTime   int64  `json:"lastIngestionTime,omitempty"`
	UploadSequenceToken string `json:"uploadSequenceToken"`
	Arn                 string `json:"arn"`
	StoredBytes         int64  `json:"storedBytes"`
}

func validStreamName(name string) bool {
	return name != "" && len(name) <= 512 && !strings.ContainsAny(name, ":*")
}

func streamNameError(name string) *Error {
	return validationError(name, "logStreamName", "Member must satisfy regular expression pattern: [^:*]*")
}

func (s *Service) createLogStream(body []byte) (any, error) {
	var in struct {
		LogGroupName  string `json:"logGroupName"`
		LogStreamName string `json:"logStreamName"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	name, err := s.resolveGroup(in.LogGroupName, "")
	if err != nil {
		return nil, err
	}
	if !validStreamName(in.LogStreamName) {
		return nil, streamNameError(in.LogStreamName)
	}
	switch err := s.opts.Logs.CreateStream(StoreKey(name), in.LogStreamName, s.opts.Now()); {
	case errors.Is(err, fnlogs.ErrExists):
		return nil, errStreamExists
	case err != nil:
		return nil, storeError(err, errGroupNotFound)
	}
	return struct{}{}, nil
}

func (s *Service) describeLogStreams(body []byte) (any, error) {
	var in struct {
		LogGroupName        string `json:"logGroupName"`
		LogGroupIdentifier  string `json:"logGroupIdentifier"`
		LogStreamNamePrefix string `json:"logStreamNamePrefix"`
		OrderBy             string `json:"orderBy"`
		Descending          bool   `json:"descending"`
		NextToken           string `json:"nextToken"`
		Limit               *int   `json:"limit"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	name, err := s.resolveGroup(in.LogGroupName, in.LogGroupIdentifier)
	if err != nil {
		return nil, err
	}
	switch in.OrderBy {
	case "", "LogStreamName":
	case "LastEventTime":
		if in.LogStreamNamePrefix != "" {
			return nil, invalidParameter("Cannot order by LastEventTime with a logStreamNamePrefix.")
		}
	default:
		return nil, validationError(in.OrderBy, "orderBy", "Member must satisfy enum value set: [LogStreamName, LastEventTime]")
	}
	limit, err := pageLimit(in.Limit, 50)
	if err != nil {
		return nil, err
	}
	start := 0
	if in.NextToken != "" {
		b, err := base64.RawURLEncoding.DecodeString(in.NextToken)
		n, cerr := strconv.Atoi(strings.TrimPrefix(string(b), "i:"))
		if err != nil || cerr != nil || !strings.HasPrefix(string(b), "i:") || n < 0 {
			return nil, errBadToken
		}
		start = n
	}
	streams, err := s.opts.Logs.Streams(StoreKey(name))
	if err != nil {
		return nil, storeError(err, errGroupNotFound)
	}
	streams = slices.DeleteFunc(streams, func(st fnlogs.Stream) bool { return !strings.HasPrefix(st.Name, in.LogStreamNamePrefix) })
	if in.OrderBy == "LastEventTime" {
		slices.SortStableFunc(streams, func(a, b fnlogs.Stream) int { return a.LastEvent.Compare(b.LastEvent) })
	}
	if in.Descending {
		slices.Reverse(streams)
	}
	out := struct {
		LogStreams []logStream `json:"logStreams"`
		NextToken  string      `json:"nextToken,omitempty"`
	}{LogStreams: []logStream{}}
	for i := start; i < len(streams); i++ {
		if len(out.LogStreams) == limit {
			out.NextToken = base64.RawURLEncoding.EncodeToString([]byte("i:" + strconv.Itoa(i)))
			break
		}
		st := streams[i]
		out.LogStreams = append(out.LogStreams, logStream{
			LogStreamName:       st.Name,
			CreationTime:        millis(st.CreationTime),
			FirstEventTimestamp: millis(st.FirstEvent),
			LastEventTimestamp:  millis(st.LastEvent),
			LastIngestionTime:   millis(st.LastIngestion),
			UploadSequenceToken: sequenceToken(st.LastIngestion),
			Arn:                 s.groupARN(name) + ":log-stream:" + st.Name,
			StoredBytes:         0, // deprecated by AWS: always 0
		})
	}
	return out, nil
}

// sequenceToken: PutLogEvents ignores sequence tokens (since January 2023),
// but DescribeLogStreams and PutLogEvents still return one.
func sequenceToken(t time.Time) string {
	return strconv.FormatInt(max(t.UnixNano(), 1), 10)
}

type inputEvent struct {
	Timestamp *int64 `json:"timestamp"`
	Message   string `json:"message"`
}

type rejectedInfo struct {
	TooNewLogEventStartIndex *int `json:"tooNewLogEventStartIndex,omitempty"`
	TooOldLogEventEndIndex   *int `json:"tooOldLogEventEndIndex,omitempty"`
	ExpiredLogEventEndIndex  *int `json:"expiredLogEventEndIndex,omitempty"`
}

// maxEventBytes is CloudWatch's event size limit (256 KB, with 26 bytes of
// per-event overhead counted).
const maxEventBytes = 256*1024 - 26

func (s *Service) putLogEvents(body []byte) (any, error) {
	var in struct {
		LogGroupName  string       `json:"logGroupName"`
		LogStreamName string       `json:"logStreamName"`
		LogEvents     []inputEvent `json:"logEvents"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	name, err := s.resolveGroup(in.LogGroupName, "")
	if err != nil {
		return nil, err
	}
	if !validStreamName(in.LogStreamName) {
		return nil, streamNameError(in.LogStreamName)
	}
	if len(in.LogEvents) == 0 || len(in.LogEvents) > 10000 {
		return nil, validationError(strconv.Itoa(len(in.LogEvents)), "logEvents", "Member must have length between 1 and 10000")
	}
	for i, e := range in.LogEvents {
		if e.Timestamp == nil {
			return nil, validationError("null", "logEvents."+strconv.Itoa(i+1)+".member.timestamp", "Member must not be null")
		}
		if e.Message == "" {
			return nil, validationError("", "logEvents."+strconv.Itoa(i+1)+".member.message", "Member must have length greater than or equal to 1")
		}
		if len(e.Message) > maxEventBytes {
			return nil, invalidParameter("Log event too large: " + strconv.Itoa(len(e.Message)+26) + " bytes exceeds limit of 262144")
		}
		if i > 0 && *e.Timestamp < *in.LogEvents[i-1].Timestamp {
			return nil, invalidParameter("Log events in a single PutLogEvents request must be in chronological order.")
		}
	}
	if first, last := *in.LogEvents[0].Timestamp, *in.LogEvents[len(in.LogEvents)-1].Timestamp; last-first > 24*3600*1000 {
		return nil, invalidParameter("The batch of log events in a single PutLogEvents request cannot span more than 24 hours.")
	}
	key := StoreKey(name)
	if _, err := s.opts.Logs.Group(key); err != nil {
		return nil, storeError(err, errGroupNotFound)
	}
	if !s.opts.Logs.StreamExists(key, in.LogStreamName) {
		return nil, errStreamNotFound
	}
	// CloudWatch rejects (and reports, without failing the call) events more
	// than 14 days old or more than 2 hours in the future.
	now := s.opts.Now()
	oldest, newest := now.Add(-14*24*time.Hour).UnixMilli(), now.Add(2*time.Hour).UnixMilli()
	var rej rejectedInfo
	for i, e := range in.LogEvents {
		ts := *e.Timestamp
		switch {
		case ts < oldest:
			idx := i
			rej.TooOldLogEventEndIndex = &idx
			continue
		case ts > newest:
			if rej.TooNewLogEventStartIndex == nil {
				idx := i
				rej.TooNewLogEventStartIndex = &idx
			}
			continue
		}
		s.opts.Logs.Append(key, in.LogStreamName, time.UnixMilli(ts), e.Message)
	}
	out := struct {
		NextSequenceToken     string        `json:"nextSequenceToken"`
		RejectedLogEventsInfo *rejectedInfo `json:"rejectedLogEventsInfo,omitempty"`
	}{NextSequenceToken: sequenceToken(now)}
	if rej.TooNewLogEventStartIndex != nil || rej.TooOldLogEventEndIndex != nil {
		out.RejectedLogEventsInfo = &rej
	}
	return out, nil
}
