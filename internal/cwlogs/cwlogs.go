// Package cwlogs serves the CloudWatch Logs API (JSON 1.1, X-Amz-Target
// Logs_20140328.*) over the node's log store (internal/fnlogs), so `aws logs`,
// boto3 and the SDKs read function logs and API Gateway access logs as they
// read them on AWS. A function's logs are the log group /aws/lambda/{name},
// one stream per instance; other groups are created by CreateLogGroup or by a
// stage's access-log settings.
package cwlogs

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/sluice-dev/sluice/internal/fnlogs"
)

// LogStore is the part of fnlogs.Store the API needs.
type LogStore interface {
	Groups() ([]fnlogs.Group, error)
	Group(name string) (fnlogs.Group, error)
	CreateGroup(name string, now time.Time) error
	DeleteGroup(name string) error
	SetRetention(name string, days int) error
	Streams(name string) ([]fnlogs.Stream, error)
	CreateStream(name, stream string, now time.Time) error
	StreamExists(name, stream string) bool
	Append(name, stream string, t time.Time, line string)
	Scan(name string, from fnlogs.Cursor, since time.Time, fn func(fnlogs.Entry) error) error
}

// Options configure a Service.
type Options struct {
	Logs      LogStore
	Region    string
	AccountID string
	Logger    *slog.Logger
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
}

// Service is the CloudWatch Logs API handler.
type Service struct {
	opts Options
}

// New returns the Logs API handler.
func New(opts Options) *Service {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Service{opts: opts}
}

// TargetPrefix starts the X-Amz-Target header of every Logs API call.
const TargetPrefix = "Logs_20140328."

// LambdaGroupPrefix is where Lambda writes a function's logs.
const LambdaGroupPrefix = "/aws/lambda/"

// StoreKey maps a log group name to the fnlogs key holding it: a function's
// own name for /aws/lambda/{function} (so the runtime appends by function
// name), else "@" and the group name (no function name contains "@").
func StoreKey(group string) string {
	if fn, ok := strings.CutPrefix(group, LambdaGroupPrefix); ok && functionNameRE.MatchString(fn) {
		return fn
	}
	return "@" + group
}

// GroupName is StoreKey's inverse.
func GroupName(key string) string {
	if g, ok := strings.CutPrefix(key, "@"); ok {
		return g
	}
	return LambdaGroupPrefix + key
}

var (
	functionNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,140}$`)
	groupNameRE    = regexp.MustCompile(`^[\.\-_/#A-Za-z0-9]{1,512}$`)
)

type handler func(s *Service, body []byte) (any, error)

// operations maps each built operation to its handler. Operations of the Logs
// API that are not built answer 501 (notBuilt), everything else
// UnknownOperationException.
var operations = map[string]handler{
	"CreateLogGroup":        (*Service).createLogGroup,
	"DeleteLogGroup":        (*Service).deleteLogGroup,
	"DescribeLogGroups":     (*Service).describeLogGroups,
	"PutRetentionPolicy":    (*Service).putRetentionPolicy,
	"DeleteRetentionPolicy": (*Service).deleteRetentionPolicy,
	"CreateLogStream":       (*Service).createLogStream,
	"DescribeLogStreams":    (*Service).describeLogStreams,
	"PutLogEvents":          (*Service).putLogEvents,
	"GetLogEvents":          (*Service).getLogEvents,
	"FilterLogEvents":       (*Service).filterLogEvents,
}

var notBuilt = map[string]bool{
	"DeleteLogStream": true, "StartLiveTail": true, "StartQuery": true, "GetQueryResults": true, "StopQuery": true,
	"PutMetricFilter": true, "DescribeMetricFilters": true, "DeleteMetricFilter": true,
	"PutSubscriptionFilter": true, "DescribeSubscriptionFilters": true, "DeleteSubscriptionFilter": true,
	"TagLogGroup": true, "UntagLogGroup": true, "ListTagsLogGroup": true, "TagResource": true, "UntagResource": true,
	"ListTagsForResource": true, "AssociateKmsKey": true, "DisassociateKmsKey": true, "CreateExportTask": true,
	"PutResourcePolicy": true, "DescribeResourcePolicies": true, "PutDestination": true, "DescribeDestinations": true,
	"GetLogGroupFields": true, "GetLogRecord": true, "TestMetricFilter": true, "PutDataProtectionPolicy": true,
}

// ServeHTTP answers POST / with X-Amz-Target: Logs_20140328.<Operation>.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeError(w, apiError(http.StatusBadRequest, "UnknownOperationException", ""))
		return
	}
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), TargetPrefix)
	h := operations[op]
	if !ok || h == nil {
		if notBuilt[op] {
			writeError(w, apiError(http.StatusNotImplemented, "NotImplementedException",
				"Sluice does not implement the CloudWatch Logs operation "+op+" yet"))
			return
		}
		writeError(w, apiError(http.StatusBadRequest, "UnknownOperationException", ""))
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	if err != nil {
		writeError(w, apiError(http.StatusBadRequest, "SerializationException", err.Error()))
		return
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		body = []byte("{}")
	}
	out, err := h(s, body)
	if err != nil {
		writeError(w, err)
		return
	}
	b, err := json.Marshal(out)
	if err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

// Error is a Logs API error: JSON 1.1's {"__type": code, "message": text}.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func apiError(status int, code, msg string) *Error {
	return &Error{Status: status, Code: code, Message: msg}
}

func invalidParameter(msg string) *Error {
	return apiError(http.StatusBadRequest, "InvalidParameterException", msg)
}

// The messages CloudWatch Logs answers with.
var (
	errGroupNotFound  = apiError(http.StatusBadRequest, "ResourceNotFoundException", "The specified log group does not exist.")
	errStreamNotFound = apiError(http.StatusBadRequest, "ResourceNotFoundException", "The specified log stream does not exist.")
	errGroupExists    = apiError(http.StatusBadRequest, "ResourceAlreadyExistsException", "The specified log group already exists")
	errStreamExists   = apiError(http.StatusBadRequest, "ResourceAlreadyExistsException", "The specified log stream already exists")
	errBadToken       = invalidParameter("The specified nextToken is invalid.")
)

func writeError(w http.ResponseWriter, err error) {
	var ae *Error
	if !errors.As(err, &ae) {
		ae = apiError(http.StatusInternalServerError, "ServiceUnavailableException", err.Error())
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-ErrorType", ae.Code)
	w.WriteHeader(ae.Status)
	body := map[string]string{"__type": ae.Code}
	if ae.Message != "" {
		body["message"] = ae.Message
	}
	_ = json.NewEncoder(w).Encode(body)
}

// decode reads a request body; a body that is not the operation's JSON shape
// is SerializationException, as the JSON 1.1 services answer.
func decode(body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		return apiError(http.StatusBadRequest, "SerializationException", "")
	}
	return nil
}

func validationError(value, member, constraint string) *Error {
	return invalidParameter("1 validation error detected: Value '" + value + "' at '" + member +
		"' failed to satisfy constraint: " + constraint)
}

// resolveGroup picks the group from logGroupName or logGroupIdentifier (a
// name or an ARN), exactly one of which must be given.
func (s *Service) resolveGroup(name, identifier string) (string, error) {
	switch {
	case name != "" && identifier != "":
		return "", invalidParameter("LogGroupName and LogGroupIdentifier are mutually exclusive parameters.")
	case identifier != "":
		name = identifier
		if rest, ok := strings.CutPrefix(identifier, "arn:"); ok {
			// arn:aws:logs:{region}:{account}:log-group:{name}[:*]
			parts := strings.SplitN(rest, ":", 6)
			if len(parts) != 6 || parts[1] != "logs" || !strings.HasPrefix(parts[5], "log-group:") {
				return "", invalidParameter("Invalid logGroupIdentifier: " + identifier)
			}
			name = strings.TrimSuffix(strings.TrimPrefix(parts[5], "log-group:"), ":*")
		}
	case name == "":
		return "", invalidParameter("Either LogGroupName or LogGroupIdentifier must be specified.")
	}
	if !groupNameRE.MatchString(name) {
		return "", validationError(name, "logGroupName", `Member must satisfy regular expression pattern: [\.\-_/#A-Za-z0-9]+`)
	}
	return name, nil
}

func (s *Service) groupARN(name string) string {
	return "arn:aws:logs:" + s.opts.Region + ":" + s.opts.AccountID + ":log-group:" + name
}

func storeError(err error, notFound *Error) error {
	if errors.Is(err, fnlogs.ErrNotFound) {
		return notFound
	}
	return err
}

func millis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}
