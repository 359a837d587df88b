package cwlogs

import (
	"encoding/base64"
	"errors"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/sluice-dev/sluice/internal/fnlogs"
)

type logGroup struct {
	LogGroupName      string `json:"logGroupName"`
	CreationTime      int64  `json:"creationTime"`
	RetentionInDays   *int   `json:"retentionInDays,omitempty"`
	MetricFilterCount int    `json:"metricFilterCount"`
	Arn               string `json:"arn"`
	StoredBytes       int64  `json:"storedBytes"`
	LogGroupClass     string `json:"logGroupClass"`
	LogGroupArn       string `json:"logGroupArn"`
}

func (s *Service) createLogGroup(body []byte) (any, error) {
	var in struct {
		LogGroupName  string            `json:"logGroupName"`
		KmsKeyID      string            `json:"kmsKeyId"`
		Tags          map[string]string `json:"tags"`
		LogGroupClass string            `json:"logGroupClass"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	name, err := s.resolveGroup(in.LogGroupName, "")
	if err != nil {
		return nil, err
	}
	switch {
	case in.KmsKeyID != "":
		return nil, invalidParameter("Sluice does not support KMS encryption of log groups (kmsKeyId)")
	case len(in.Tags) > 0:
		return nil, invalidParameter("Sluice does not support log group tags yet")
	case in.LogGroupClass != "" && in.LogGroupClass != "STANDARD":
		return nil, invalidParameter("Sluice supports only the STANDARD log group class")
	}
	if err := s.opts.Logs.CreateGroup(StoreKey(name), s.opts.Now()); err != nil {
		if errors.Is(err, fnlogs.ErrExists) {
			return nil, errGroupExists
		}
		return nil, err
	}
	return struct{}{}, nil
}

func (s *Service) deleteLogGroup(body []byte) (any, error) {
	var in struct {
		LogGroupName string `json:"logGroupName"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	name, err := s.resolveGroup(in.LogGroupName, "")
	if err != nil {
		return nil, err
	}
	if err := s.opts.Logs.DeleteGroup(StoreKey(name)); err != nil {
		return nil, storeError(err, errGroupNotFound)
	}
	return struct{}{}, nil
}

// retentionDays are the values PutRetentionPolicy accepts.
var retentionDays = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

func (s *Service) putRetentionPolicy(body []byte) (any, error) {
	var in struct {
		LogGroupName    string `json:"logGroupName"`
		RetentionInDays *int   `json:"retentionInDays"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	name, err := s.resolveGroup(in.LogGroupName, "")
	if err != nil {
		return nil, err
	}
	if in.RetentionInDays == nil || !slices.Contains(retentionDays, *in.RetentionInDays) {
		v := "null"
		if in.RetentionInDays != nil {
			v = strconv.Itoa(*in.RetentionInDays)
		}
		return nil, validationError(v, "retentionInDays", "Member must satisfy enum value set: [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653]")
	}
	if err := s.opts.Logs.SetRetention(StoreKey(name), *in.RetentionInDays); err != nil {
		return nil, storeError(err, errGroupNotFound)
	}
	return struct{}{}, nil
}

func (s *Service) deleteRetentionPolicy(body []byte) (any, error) {
	var in struct {
		LogGroupName string `json:"logGroupName"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	name, err := s.resolveGroup(in.LogGroupName, "")
	if err != nil {
		return nil, err
	}
	if err := s.opts.Logs.SetRetention(StoreKey(name), 0); err != nil {
		return nil, storeError(err, errGroupNotFound)
	}
	return struct{}{}, nil
}

func (s *Service) describeLogGroups(body []byte) (any, error) {
	var in struct {
		LogGroupNamePrefix  string `json:"logGroupNamePrefix"`
		LogGroupNamePattern string `json:"logGroupNamePattern"`
		NextToken           string `json:"nextToken"`
		Limit               *int   `json:"limit"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.LogGroupNamePrefix != "" && in.LogGroupNamePattern != "" {
		return nil, invalidParameter("LogGroupNamePrefix and LogGroupNamePattern are mutually exclusive parameters.")
	}
	limit, err := pageLimit(in.Limit, 50)
	if err != nil {
		return nil, err
	}
	after, err := decodeNameToken(in.NextToken)
	if err != nil {
		return nil, err
	}
	var pattern *regexp.Regexp
	if in.LogGroupNamePattern != "" {
		// A case-insensitive substring, as CloudWatch matches it.
		pattern = regexp.MustCompile("(?i)" + regexp.QuoteMeta(in.LogGroupNamePattern))
	}
	groups, err := s.opts.Logs.Groups()
	if err != nil {
		return nil, err
	}
	var names []string
	byName := map[string]fnlogs.Group{}
	for _, g := range groups {
		n := GroupName(g.Name)
		if !strings.HasPrefix(n, in.LogGroupNamePrefix) || pattern != nil && !pattern.MatchString(n) {
			continue
		}
		names = append(names, n)
		byName[n] = g
	}
	slices.Sort(names)
	out := struct {
		LogGroups []logGroup `json:"logGroups"`
		NextToken string     `json:"nextToken,omitempty"`
	}{LogGroups: []logGroup{}}
	for _, n := range names {
		if after != "" && n <= after {
			continue
		}
		if len(out.LogGroups) == limit {
			out.NextToken = encodeNameToken(out.LogGroups[limit-1].LogGroupName)
			break
		}
		g := byName[n]
		lg := logGroup{LogGroupName: n, CreationTime: millis(g.CreationTime), Arn: s.groupARN(n) + ":*",
			LogGroupArn: s.groupARN(n), StoredBytes: g.StoredBytes, LogGroupClass: "STANDARD"}
		if g.RetentionInDays > 0 {
			d := g.RetentionInDays
			lg.RetentionInDays = &d
		}
		out.LogGroups = append(out.LogGroups, lg)
	}
	return out, nil
}

func pageLimit(v *int, max int) (int, error) {
	if v == nil {
		return max, nil
	}
	if *v < 1 || *v > max {
		return 0, validationError(strconv.Itoa(*v), "limit", "Member must have value between 1 and "+strconv.Itoa(max))
	}
	return *v, nil
}

func encodeNameToken(name string) string {
	return base64.RawURLEncoding.EncodeToString([]byte("n:" + name))
}

func decodeNameToken(tok string) (string, error) {
	if tok == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || !strings.HasPrefix(string(b), "n:") {
		return "", errBadToken
	}
	return string(b[2:]), nil
}
