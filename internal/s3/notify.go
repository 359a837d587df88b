package s3

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sluice-dev/sluice/internal/awsproto"
	"github.com/sluice-dev/sluice/internal/invoke"
	"github.com/sluice-dev/sluice/internal/store"
)

// notificationConfig is a bucket's stored notification configuration. Only Lambda
// destinations exist in Sluice.
type notificationConfig struct {
	Lambda []lambdaConfig `json:"lambda"`
}

type lambdaConfig struct {
	ID       string   `json:"id"`
	Function string   `json:"fn"`
	Events   []string `json:"events"`
	Prefix   string   `json:"prefix,omitempty"`
	Suffix   string   `json:"suffix,omitempty"`
}

// The wire shape of NotificationConfiguration.
type notificationXML struct {
	XMLName xml.Name    `xml:"NotificationConfiguration"`
	Xmlns   string      `xml:"xmlns,attr,omitempty"`
	Topics  []destXML   `xml:"TopicConfiguration"`
	Queues  []destXML   `xml:"QueueConfiguration"`
	Lambdas []lambdaXML `xml:"CloudFunctionConfiguration"`
	Lambda  []lambdaXML `xml:"LambdaFunctionConfiguration"`
	Bridge  *struct{}   `xml:"EventBridgeConfiguration"`
}

type destXML struct {
	ID string `xml:"Id"`
}

type lambdaXML struct {
	ID       string     `xml:"Id,omitempty"`
	Function string     `xml:"CloudFunction"`
	Events   []string   `xml:"Event"`
	Filter   *filterXML `xml:"Filter,omitempty"`
}

type filterXML struct {
	Rules []filterRuleXML `xml:"S3Key>FilterRule"`
}

type filterRuleXML struct {
	Name  string `xml:"Name"`
	Value string `xml:"Value"`
}

// eventNames are the event types a Lambda configuration may name (the subset Sluice
// produces, plus their wildcards).
var eventNames = map[string]bool{
	"s3:ObjectCreated:*": true, "s3:ObjectCreated:Put": true, "s3:ObjectCreated:Post": true,
	"s3:ObjectCreated:Copy": true, "s3:ObjectCreated:CompleteMultipartUpload": true,
	"s3:ObjectRemoved:*": true, "s3:ObjectRemoved:Delete": true, "s3:ObjectRemoved:DeleteMarkerCreated": true,
}

func (s *Service) bucketARN(b string) string { return "arn:aws:s3:::" + b }

// putBucketNotification is PutBucketNotificationConfiguration. As S3 does, it checks
// each destination before storing: the function must exist and its resource policy
// must let s3.amazonaws.com invoke it for this bucket and account.
func (s *Service) putBucketNotification(c *request) error {
	if _, err := s.loadBucket(s.reader(c), c.bucket); err != nil {
		return err
	}
	var in notificationXML
	if err := c.readXML(&in); err != nil {
		return err
	}
	if len(in.Topics) > 0 || len(in.Queues) > 0 || in.Bridge != nil {
		return errNotImplemented("Sluice delivers bucket notifications to Lambda functions only (no SNS, SQS or EventBridge).")
	}
	cfg := &notificationConfig{}
	for _, l := range append(in.Lambda, in.Lambdas...) {
		lc, err := parseLambdaConfig(l)
		if err != nil {
			return err
		}
		cfg.Lambda = append(cfg.Lambda, lc)
	}
	if err := checkOverlap(cfg.Lambda); err != nil {
		return err
	}
	if err := s.validateDestinations(c, cfg.Lambda); err != nil {
		return err
	}
	if len(cfg.Lambda) == 0 {
		cfg = nil
	}
	if err := s.updateBucket(c, func(b *bucketRecord) error { b.Notification = cfg; return nil }); err != nil {
		return err
	}
	c.w.WriteHeader(http.StatusOK)
	return nil
}

func parseLambdaConfig(l lambdaXML) (lambdaConfig, error) {
	lc := lambdaConfig{ID: l.ID, Function: strings.TrimSpace(l.Function), Events: l.Events}
	if lc.ID == "" {
		lc.ID = randomConfigID()
	}
	if lc.Function == "" || len(lc.Events) == 0 {
		return lc, errMalformedXML()
	}
	for _, e := range lc.Events {
		if !eventNames[e] {
			return lc, errInvalidArgument("The event is not supported for notifications", "Event", e)
		}
	}
	if l.Filter != nil {
		for _, r := range l.Filter.Rules {
			switch strings.ToLower(r.Name) {
			case "prefix":
				if lc.Prefix != "" {
					return lc, errInvalidArgument("Cannot specify more than one prefix rule in a filter.", "FilterRule", "prefix")
				}
				lc.Prefix = r.Value
			case "suffix":
				if lc.Suffix != "" {
					return lc, errInvalidArgument("Cannot specify more than one suffix rule in a filter.", "FilterRule", "suffix")
				}
				lc.Suffix = r.Value
			default:
				return lc, errInvalidArgument("filter rule name must be either prefix or suffix", "FilterRule", r.Name)
			}
		}
	}
	return lc, nil
}

// checkOverlap refuses two configurations that could both fire for one event of one
// key (same or overlapping event type, prefixes one of another, suffixes one of
// another), S3's "Configurations overlap" rule.
func checkOverlap(cfgs []lambdaConfig) error {
	for i := range cfgs {
		for j := i + 1; j < len(cfgs); j++ {
			a, b := cfgs[i], cfgs[j]
			if !eventsOverlap(a.Events, b.Events) {
				continue
			}
			prefixes := strings.HasPrefix(a.Prefix, b.Prefix) || strings.HasPrefix(b.Prefix, a.Prefix)
			suffixes := strings.HasSuffix(a.Suffix, b.Suffix) || strings.HasSuffix(b.Suffix, a.Suffix)
			if prefixes && suffixes {
				return errInvalidArgument("Configurations overlap. Configurations on the same bucket cannot share a common event type.",
					"Event", strings.Join(a.Events, ","))
			}
		}
	}
	return nil
}

func eventsOverlap(a, b []string) bool {
	for _, x := range a {
		for _, y := range b {
			if eventMatches(x, strings.TrimPrefix(y, "s3:")) || eventMatches(y, strings.TrimPrefix(x, "s3:")) {
				return true
			}
		}
	}
	return false
}

// eventMatches reports whether a configured event type (s3:ObjectCreated:*) covers
// an event name (ObjectCreated:Put).
func eventMatches(configured, name string) bool {
	configured = strings.TrimPrefix(configured, "s3:")
	if p, ok := strings.CutSuffix(configured, "*"); ok {
		return strings.HasPrefix(name, p)
	}
	return configured == name
}

// validateDestinations asks Lambda, without running anything, whether S3 may invoke
// each function for this bucket.
func (s *Service) validateDestinations(c *request, cfgs []lambdaConfig) error {
	var failed []awsproto.XMLField
	for _, lc := range cfgs {
		if s.invoker == nil {
			failed = append(failed, field("", lc.Function), field("", "Lambda is not available in this Sluice build"))
			continue
		}
		_, err := s.invoker.Invoke(c.ctx(), &invoke.Request{Function: lc.Function, DryRun: true,
			Principal: "s3.amazonaws.com", SourceARN: s.bucketARN(c.bucket), SourceAccount: s.account})
		if err != nil {
			failed = append(failed, field("", lc.Function), field("", "Not authorized to invoke function ["+lc.Function+"]"))
		}
	}
	if len(failed) == 0 {
		return nil
	}
	fields := make([]awsproto.XMLField, 0, len(failed))
	for i := 0; i < len(failed); i += 2 {
		n := strconv.Itoa(i/2 + 1)
		fields = append(fields, field("ArgumentName"+n, failed[i].Value), field("ArgumentValue"+n, failed[i+1].Value))
	}
	return s3err(http.StatusBadRequest, "InvalidArgument", "Unable to validate the following destination configurations", fields...)
}

func (s *Service) getBucketNotification(c *request) error {
	b, err := s.loadBucket(s.reader(c), c.bucket)
	if err != nil {
		return err
	}
	out := notificationXML{Xmlns: xmlns}
	if b.Notification != nil {
		for _, lc := range b.Notification.Lambda {
			l := lambdaXML{ID: lc.ID, Function: lc.Function, Events: lc.Events}
			if lc.Prefix != "" || lc.Suffix != "" {
				l.Filter = &filterXML{}
				if lc.Prefix != "" {
					l.Filter.Rules = append(l.Filter.Rules, filterRuleXML{Name: "Prefix", Value: lc.Prefix})
				}
				if lc.Suffix != "" {
					l.Filter.Rules = append(l.Filter.Rules, filterRuleXML{Name: "Suffix", Value: lc.Suffix})
				}
			}
			out.Lambdas = append(out.Lambdas, l)
		}
	}
	c.writeXML(http.StatusOK, out)
	return nil
}

func randomConfigID() string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	return base64.RawStdEncoding.EncodeToString(b[:])
}

// The event record S3 sends (aws-lambda-go events.S3EventRecord is the reader's
// type; this is the writer's, with exactly S3's fields: no urlDecodedKey, size and
// eTag only on creation).
type s3Event struct {
	Records []s3EventRecord `json:"Records"`
}

type s3EventRecord struct {
	EventVersion      string            `json:"eventVersion"`
	EventSource       string            `json:"eventSource"`
	AWSRegion         string            `json:"awsRegion"`
	EventTime         string            `json:"eventTime"`
	EventName         string            `json:"eventName"`
	UserIdentity      principalID       `json:"userIdentity"`
	RequestParameters map[string]string `json:"requestParameters"`
	ResponseElements  map[string]string `json:"responseElements"`
	S3                s3Entity          `json:"s3"`
}

type principalID struct {
	PrincipalID string `json:"principalId"`
}

type s3Entity struct {
	SchemaVersion   string   `json:"s3SchemaVersion"`
	ConfigurationID string   `json:"configurationId"`
	Bucket          s3Bucket `json:"bucket"`
	Object          s3Object `json:"object"`
}

type s3Bucket struct {
	Name          string      `json:"name"`
	OwnerIdentity principalID `json:"ownerIdentity"`
	ARN           string      `json:"arn"`
}

type s3Object struct {
	Key       string `json:"key"`
	Size      *int64 `json:"size,omitempty"`
	ETag      string `json:"eTag,omitempty"`
	VersionID string `json:"versionId,omitempty"`
	Sequencer string `json:"sequencer"`
}

// outboxEntry is a notification queued in the same transaction as the write that
// caused it; the outbox hands it to Lambda's durable Event queue.
type outboxEntry struct {
	Function string          `json:"fn"`
	Bucket   string          `json:"bucket"`
	Payload  json.RawMessage `json:"payload"`
}

// eventKey is the URL-encoded key S3 puts in event records: form encoding (space as
// '+'), with '/' left as is.
func eventKey(k string) string { return strings.ReplaceAll(url.QueryEscape(k), "%2F", "/") }

// queueEvents writes one outbox entry per configuration that matches the event, in
// the caller's transaction.
func (s *Service) queueEvents(tx store.Tx, c *request, b *bucketRecord, event string, obj *objectRecord) error {
	if b.Notification == nil {
		return nil
	}
	for _, lc := range b.Notification.Lambda {
		if !lc.matches(event, obj.Key) {
			continue
		}
		rec := s3EventRecord{
			EventVersion: "2.1", EventSource: "aws:s3", AWSRegion: s.region,
			EventTime: s3Time(s.now()), EventName: event,
			UserIdentity:      principalID{PrincipalID: s.principalOf(c)},
			RequestParameters: map[string]string{"sourceIPAddress": sourceIP(c.r)},
			ResponseElements:  map[string]string{"x-amz-request-id": c.requestID, "x-amz-id-2": c.hostID},
			S3: s3Entity{SchemaVersion: "1.0", ConfigurationID: lc.ID,
				Bucket: s3Bucket{Name: b.Name, OwnerIdentity: principalID{PrincipalID: s.ownerPrincipal()}, ARN: s.bucketARN(b.Name)},
				Object: s3Object{Key: eventKey(obj.Key), Sequencer: obj.Sequencer}},
		}
		if strings.HasPrefix(event, "ObjectCreated:") {
			size := obj.Size
			rec.S3.Object.Size = &size
			rec.S3.Object.ETag = strings.Trim(obj.ETag, `"`)
		}
		payload, err := json.Marshal(s3Event{Records: []s3EventRecord{rec}})
		if err != nil {
			return err
		}
		if err := store.PutRecord(tx, prefixEvents+obj.Sequencer+"-"+lc.ID, outboxEntry{Function: lc.Function, Bucket: b.Name, Payload: payload}); err != nil {
			return err
		}
	}
	return nil
}

func (lc *lambdaConfig) matches(event, key string) bool {
	if !strings.HasPrefix(key, lc.Prefix) || !strings.HasSuffix(key, lc.Suffix) {
		return false
	}
	for _, e := range lc.Events {
		if eventMatches(e, event) {
			return true
		}
	}
	return false
}

// principalOf is the userIdentity.principalId S3 reports: "AWS:" and the caller's
// access key id for a signed request, "Anonymous" otherwise.
func (s *Service) principalOf(c *request) string {
	if c.id == nil {
		return "Anonymous"
	}
	return "AWS:" + c.id.AccessKeyID
}

// ownerPrincipal is the bucket owner's canonical id in event records.
func (s *Service) ownerPrincipal() string { return "A" + strings.ToUpper(s.canonicalUserID()[:13]) }

func sourceIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// nextSequencer returns S3's per-key event ordering token: a hex string that
// compares greater for every later write (S3 compares after zero-padding to equal
// length; these are all 16 digits).
func (s *Service) nextSequencer() string {
	s.seqMu.Lock()
	defer s.seqMu.Unlock()
	n := s.now().UnixNano()
	if n <= s.lastSeq {
		n = s.lastSeq + 1
	}
	s.lastSeq = n
	return fmt.Sprintf("%016X", n)
}

// outbox moves queued notifications into Lambda's Event queue (which is durable and
// retries the function), then deletes them. Delivery is at least once, as S3's is.
type outbox struct {
	s    *Service
	poke chan struct{}
	mu   sync.Mutex // guards backoff
	wait time.Duration
}

func newOutbox(s *Service) *outbox { return &outbox{s: s, poke: make(chan struct{}, 1)} }

func (o *outbox) start(ctx context.Context, wg *sync.WaitGroup) error {
	events, err := o.s.store.Watch(ctx, prefixEvents)
	if err != nil {
		return fmt.Errorf("s3: watch outbox: %w", err)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		retry := time.NewTimer(time.Hour)
		defer retry.Stop()
		for {
			if again := o.drain(ctx); again {
				retry.Reset(time.Second)
			}
			select {
			case <-ctx.Done():
				return
			case _, ok := <-events:
				if !ok {
					if ctx.Err() != nil {
						return
					}
					if events, err = o.s.store.Watch(ctx, prefixEvents); err != nil {
						return
					}
				}
			case <-retry.C:
			}
		}
	}()
	return nil
}

// drain delivers every queued entry; it reports whether some must be retried.
func (o *outbox) drain(ctx context.Context) bool {
	if o.s.invoker == nil {
		return false
	}
	kvs, err := o.s.store.List(ctx, prefixEvents)
	if err != nil {
		return ctx.Err() == nil
	}
	again := false
	for _, kv := range kvs {
		var e outboxEntry
		if err := json.Unmarshal(kv.Value, &e); err != nil {
			o.s.log.Warn("s3 notification: bad outbox entry", "key", kv.Key, "err", err)
			o.remove(ctx, kv.Key)
			continue
		}
		_, err := o.s.invoker.Invoke(ctx, &invoke.Request{Function: e.Function, Payload: e.Payload, Async: true,
			Principal: "s3.amazonaws.com", SourceARN: o.s.bucketARN(e.Bucket), SourceAccount: o.s.account})
		var ae *awsproto.Error
		switch {
		case err == nil:
		case errors.As(err, &ae) && ae.Status < 500 && ae.Status != http.StatusTooManyRequests:
			// The function is gone or no longer lets S3 in: S3 drops the event.
			o.s.log.Warn("s3 notification dropped", "function", e.Function, "bucket", e.Bucket, "err", err)
		default:
			if ctx.Err() == nil {
				o.s.log.Warn("s3 notification: will retry", "function", e.Function, "err", err)
			}
			again = true
			continue
		}
		o.remove(ctx, kv.Key)
	}
	return again
}

func (o *outbox) remove(ctx context.Context, key string) {
	_ = o.s.store.Update(ctx, func(tx store.Tx) error { return tx.Delete(key) })
}
