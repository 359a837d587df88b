package compile

import (
	"strings"

	"github.com/sluice-dev/sluice/internal/apigw/model"
)

// AccessLog is a stage's access logging (accessLogSettings): the log group its
// lines go to and the format, split into literal text and $context variables.
type AccessLog struct {
	// Group is the destination log group's name, from the ARN
	// arn:aws:logs:{region}:{account}:log-group:{name}[:*].
	Group string
	// Stream is the log stream the lines go to, {apiId}_{stage}.
	Stream string
	Parts  []AccessLogPart
}

// AccessLogPart is literal text or, when Var is set, a $context variable
// ("requestId", "identity.sourceIp", "authorizer.claims.sub").
type AccessLogPart struct {
	Text string
	Var  string
}

// compileAccessLog compiles settings; nil when logging is off (no destination or
// no format) or the destination is not a log group ARN.
func compileAccessLog(apiID, stage string, settings *model.AccessLogSettings) *AccessLog {
	if settings == nil || settings.Format == "" {
		return nil
	}
	group, ok := LogGroupFromARN(settings.DestinationArn)
	if !ok {
		return nil
	}
	return &AccessLog{Group: group, Stream: apiID + "_" + stage, Parts: parseAccessLogFormat(strings.TrimSuffix(settings.Format, "\n"))}
}

// LogGroupFromARN extracts the log group name from a CloudWatch Logs log group ARN.
func LogGroupFromARN(arn string) (string, bool) {
	parts := strings.SplitN(arn, ":", 7)
	if len(parts) != 7 || parts[0] != "arn" || parts[2] != "logs" || parts[5] != "log-group" {
		return "", false
	}
	name := strings.TrimSuffix(parts[6], ":*")
	return name, name != ""
}

// parseAccessLogFormat splits a format at its $context.x.y variables. A variable
// name runs over letters, digits, '_' and the dots between them.
func parseAccessLogFormat(format string) []AccessLogPart {
	var parts []AccessLogPart
	const prefix = "$context."
	for {
		i := strings.Index(format, prefix)
		if i < 0 {
			break
		}
		j := i + len(prefix)
		k := j
		for k < len(format) {
			c := format[k]
			if c == '.' && k+1 < len(format) && isVarChar(format[k+1]) && k > j {
				k++
				continue
			}
			if !isVarChar(c) {
				break
			}
			k++
		}
		if k == j { // "$context." followed by nothing usable: literal
			parts = append(parts, AccessLogPart{Text: format[:j]})
			format = format[j:]
			continue
		}
		if i > 0 {
			parts = append(parts, AccessLogPart{Text: format[:i]})
		}
		parts = append(parts, AccessLogPart{Var: format[j:k]})
		format = format[k:]
	}
	if format != "" {
		parts = append(parts, AccessLogPart{Text: format})
	}
	return parts
}

func isVarChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_'
}

// executionLogs keeps the method settings whose loggingLevel is INFO or ERROR, keyed
// "/{resourcePath}/{METHOD}" ("*/*" as is).
func executionLogs(settings map[string]model.MethodSetting) map[string]model.MethodSetting {
	var out map[string]model.MethodSetting
	for k, ms := range settings {
		if ms.LoggingLevel != "INFO" && ms.LoggingLevel != "ERROR" {
			continue
		}
		if out == nil {
			out = map[string]model.MethodSetting{}
		}
		k = strings.ReplaceAll(k, "~1", "/")
		if k != "*/*" && !strings.HasPrefix(k, "/") {
			k = "/" + k
		}
		out[k] = ms
	}
	return out
}
