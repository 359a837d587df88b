// Package s3 is Sluice's object store: the subset of Amazon S3's REST-XML API that
// the AWS CLI, boto3 and the SDKs use (buckets, objects, multipart uploads, CORS,
// tagging, notifications), spoken in path style and virtual-hosted style, with SigV4
// header, streaming-chunk and presigned-URL auth.
//
// Metadata lives in the store under /s3/ (buckets, objects, uploads, blob
// references, the notification outbox); object bytes live in an ObjectBytes store
// (content-addressed blobs on disk) and are streamed, never held in memory. An object
// becomes visible in the same transaction that records its blob references and
// queues its notifications, so a crash leaves either the whole write or none of it.
package s3

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sluice-dev/sluice/internal/awsproto"
	"github.com/sluice-dev/sluice/internal/invoke"
	"github.com/sluice-dev/sluice/internal/sigv4"
	"github.com/sluice-dev/sluice/internal/store"
)

// Verifier authenticates SigV4 requests (sigv4.Verifier).
type Verifier interface {
	Verify(r *http.Request) (*sigv4.Identity, error)
}

// Options configures a Service.
type Options struct {
	Store store.Store
	Bytes ObjectBytes
	// Verifier checks signatures; required.
	Verifier Verifier
	// Credentials and OpenMode verify SigV2 presigned URLs (SigV4 goes through
	// Verifier), with the same rule for unknown keys as the SigV4 verifier's mode.
	Credentials sigv4.Credentials
	OpenMode    bool
	// Invoker runs notification targets (the lambda service); nil refuses Lambda
	// notification configurations.
	Invoker   invoke.Invoker
	Region    string // default us-east-1
	AccountID string // default 123456789012
	Logger    *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// SweepsSharedBlobs reports whether this node collects garbage in Bytes when
	// they are shared with other nodes (a cluster's bucket): only the elected
	// leader does, so two nodes never race deleting the same blob. Nil means
	// always (one node, its own blobs).
	SweepsSharedBlobs func() bool
	// GCInterval is how often blobs no object references are swept (default an
	// hour; dropped references are processed every 30 s regardless).
	GCInterval time.Duration
}

// Service is the S3 API. It implements http.Handler.
type Service struct {
	store   store.Store
	bytes   ObjectBytes
	verify  Verifier
	invoker invoke.Invoker
	region  string

	credentials sigv4.Credentials
	openMode    bool
	account     string
	log         *slog.Logger
	now         func() time.Time

	gc     *collector
	outbox *outbox

	policies compiledPolicies // bucket policies, compiled once per text

	seqMu   sync.Mutex // guards lastSeq
	lastSeq int64

	wg sync.WaitGroup
}

// New validates opts and builds a Service; Start runs its background work.
func New(opts Options) (*Service, error) {
	if opts.Store == nil || opts.Bytes == nil || opts.Verifier == nil {
		return nil, errors.New("s3: Options.Store, Bytes and Verifier are required")
	}
	s := &Service{store: opts.Store, bytes: opts.Bytes, verify: opts.Verifier, invoker: opts.Invoker,
		region: opts.Region, account: opts.AccountID, log: opts.Logger, now: opts.Now,
		credentials: opts.Credentials, openMode: opts.OpenMode}
	if s.region == "" {
		s.region = "us-east-1"
	}
	if s.account == "" {
		s.account = "123456789012"
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.gc = newCollector(s.store, s.bytes, s.log)
	if opts.SweepsSharedBlobs != nil {
		s.gc.leader = opts.SweepsSharedBlobs
	}
	if opts.GCInterval > 0 {
		s.gc.orphanEvery = opts.GCInterval
	}
	s.outbox = newOutbox(s)
	return s, nil
}

// Start runs the blob garbage collector and the notification outbox until ctx is
// done; Wait blocks until they stopped.
func (s *Service) Start(ctx context.Context) error {
	if err := s.gc.start(ctx, &s.wg); err != nil {
		return err
	}
	return s.outbox.start(ctx, &s.wg)
}

// Wait blocks until the goroutines started by Start returned.
func (s *Service) Wait() { s.wg.Wait() }

// request is one S3 call being served.
type request struct {
	w         http.ResponseWriter
	r         *http.Request
	id        *sigv4.Identity // nil: anonymous
	bucket    string
	key       string
	hasKey    bool
	query     url.Values
	requestID string
	hostID    string
}

func (c *request) ctx() context.Context { return c.r.Context() }

// ServeHTTP serves one S3 request: address, authenticate, dispatch, answer.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c := &request{w: w, r: r, requestID: newS3RequestID(), hostID: newHostID()}
	h := w.Header()
	h["X-Amz-Request-Id"] = []string{c.requestID}
	h["X-Amz-Id-2"] = []string{c.hostID}
	c.r = r.WithContext(awsproto.WithRequestID(r.Context(), c.requestID))
	if err := s.serve(c); err != nil {
		c.fail(err)
	}
}

func (c *request) fail(err error) {
	var xe *awsproto.XMLError
	var ae *awsproto.Error
	if !errors.As(err, &xe) && !errors.As(err, &ae) {
		slog.Default().Debug("s3 internal error", "err", err)
	}
	awsproto.WriteRESTXMLError(c.w, c.r, err, c.requestID, c.hostID)
}

func (s *Service) serve(c *request) error {
	r := c.r
	bucket, key, hasKey, err := addressOf(r)
	if err != nil {
		return err
	}
	c.bucket, c.key, c.hasKey = bucket, key, hasKey
	c.query = r.URL.Query()
	if r.Method == http.MethodOptions {
		// A CORS preflight carries no credentials (browsers never sign it).
		return s.preflight(c)
	}
	if c.bucket != "" && r.Header.Get("Origin") != "" {
		// S3 adds the CORS headers to errors too, so a browser can read them.
		s.applyCORS(c)
	}
	if sigv4.IsAnonymous(r) && isPresignedV2(c) {
		id, err := s.verifyPresignedV2(c)
		if err != nil {
			return err
		}
		c.id = id
	} else if !sigv4.IsAnonymous(r) {
		id, err := s.verify.Verify(r)
		if err != nil {
			return err
		}
		c.id = id
	}
	if err := s.authorize(c); err != nil {
		return err
	}
	return s.dispatch(c)
}

// dispatch picks the operation from the method, the address and the subresource.
func (s *Service) dispatch(c *request) error {
	q, m := c.query, c.r.Method
	has := func(k string) bool { _, ok := q[k]; return ok }
	if c.bucket == "" {
		if m == http.MethodGet {
			return s.listBuckets(c)
		}
		return errMethodNotAllowed(m, "SERVICE")
	}
	if !c.hasKey {
		switch m {
		case http.MethodPut:
			switch {
			case has("cors"):
				return s.putBucketCors(c)
			case has("tagging"):
				return s.putBucketTagging(c)
			case has("policy"):
				return s.putBucketPolicy(c)
			case has("notification"):
				return s.putBucketNotification(c)
			case has("versioning"):
				return s.putBucketVersioning(c)
			case len(q) == 0:
				return s.createBucket(c)
			}
		case http.MethodGet:
			switch {
			case has("location"):
				return s.getBucketLocation(c)
			case has("cors"):
				return s.getBucketCors(c)
			case has("tagging"):
				return s.getBucketTagging(c)
			case has("policy"):
				return s.getBucketPolicy(c)
			case has("notification"):
				return s.getBucketNotification(c)
			case has("versioning"):
				return s.getBucketVersioning(c)
			case has("uploads"):
				return s.listMultipartUploads(c)
			case has("acl"):
				return s.getBucketACL(c)
			case q.Get("list-type") == "2":
				return s.listObjectsV2(c)
			case !hasSubresource(q):
				return s.listObjects(c)
			}
		case http.MethodHead:
			return s.headBucket(c)
		case http.MethodDelete:
			switch {
			case has("cors"):
				return s.deleteBucketCors(c)
			case has("tagging"):
				return s.deleteBucketTagging(c)
			case has("policy"):
				return s.deleteBucketPolicy(c)
			case len(q) == 0:
				return s.deleteBucket(c)
			}
		case http.MethodPost:
			if has("delete") {
				return s.deleteObjects(c)
			}
		default:
			return errMethodNotAllowed(m, "BUCKET")
		}
		return errNotImplemented("This S3 bucket operation (%s ?%s) is not implemented by Sluice.", m, subresourceNames(q))
	}
	switch m {
	case http.MethodPut:
		switch {
		case has("uploadId") && has("partNumber"):
			if c.r.Header.Get("X-Amz-Copy-Source") != "" {
				return s.uploadPartCopy(c)
			}
			return s.uploadPart(c)
		case has("tagging"):
			return s.putObjectTagging(c)
		case c.r.Header.Get("X-Amz-Copy-Source") != "":
			return s.copyObject(c)
		case !hasSubresource(q):
			return s.putObject(c)
		}
	case http.MethodGet, http.MethodHead:
		switch {
		case m == http.MethodGet && has("uploadId"):
			return s.listParts(c)
		case m == http.MethodGet && has("tagging"):
			return s.getObjectTagging(c)
		case !hasSubresource(q):
			return s.getObject(c)
		}
	case http.MethodDelete:
		switch {
		case has("uploadId"):
			return s.abortMultipartUpload(c)
		case has("tagging"):
			return s.deleteObjectTagging(c)
		case !hasSubresource(q):
			return s.deleteObject(c)
		}
	case http.MethodPost:
		switch {
		case has("uploads"):
			return s.createMultipartUpload(c)
		case has("uploadId"):
			return s.completeMultipartUpload(c)
		}
	default:
		return errMethodNotAllowed(m, "OBJECT")
	}
	return errNotImplemented("This S3 object operation (%s ?%s) is not implemented by Sluice.", m, subresourceNames(q))
}

// subresources are S3's subresource query parameters (an operation other than the
// plain one on the bucket or object). Any other query parameter is an argument or is
// ignored, as S3 ignores parameters it does not know (signers hoist headers into
// presigned query strings, e.g. content-type).
var subresources = map[string]bool{
	"accelerate": true, "acl": true, "analytics": true, "attributes": true, "cors": true, "delete": true,
	"encryption": true, "intelligent-tiering": true, "inventory": true, "legal-hold": true, "lifecycle": true,
	"location": true, "logging": true, "metrics": true, "notification": true, "object-lock": true,
	"ownershipControls": true, "policy": true, "policyStatus": true, "publicAccessBlock": true,
	"replication": true, "requestPayment": true, "restore": true, "retention": true, "select": true,
	"tagging": true, "torrent": true, "uploadId": true, "uploads": true, "versioning": true, "versions": true,
	"website": true, "session": true, "metadataTable": true, "renameObject": true,
}

func hasSubresource(q url.Values) bool {
	for k := range q {
		if subresources[k] {
			return true
		}
	}
	return false
}

func subresourceNames(q url.Values) string {
	var names []string
	for k := range q {
		if subresources[k] {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	return strings.Join(names, "&")
}

// addressOf finds the bucket and key of a request: virtual-hosted style when the
// Host names a bucket ({bucket}.s3.localhost, {bucket}.s3.{region}.localhost,
// {bucket}.localhost), else path style (/{bucket}/{key}). The key is the decoded
// path after the bucket, exactly as sent ("a//b" and "a/./b" are distinct keys).
func addressOf(r *http.Request) (bucket, key string, hasKey bool, err error) {
	raw := r.URL.EscapedPath()
	if r.URL.RawPath == "" && strings.Contains(r.RequestURI, "%") {
		// Keep the client's escaping of bytes net/http would not have escaped.
		if p, _, _ := strings.Cut(r.RequestURI, "?"); strings.HasPrefix(p, "/") {
			raw = p
		}
	}
	path, perr := url.PathUnescape(raw)
	if perr != nil {
		return "", "", false, awsproto.Errorf(http.StatusBadRequest, "InvalidURI", "Couldn't parse the specified URI.")
	}
	if b, ok := BucketFromHost(r.Host); ok {
		key = strings.TrimPrefix(path, "/")
		return b, key, key != "", nil
	}
	rest := strings.TrimPrefix(path, "/")
	bucket, key, hasKey = strings.Cut(rest, "/")
	if hasKey && key == "" {
		hasKey = false
	}
	return bucket, key, hasKey, nil
}

// BucketFromHost reads the bucket out of a virtual-hosted-style Host:
// {bucket}.s3.localhost, {bucket}.s3.{region}.localhost, {bucket}.s3.amazonaws.com
// forms, and {bucket}.localhost (what SDKs build from an endpoint of
// http://localhost:PORT). Hosts naming execute-api are never buckets.
func BucketFromHost(host string) (string, bool) {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if net.ParseIP(host) != nil || strings.Contains(host, ".execute-api.") {
		return "", false
	}
	if i := strings.Index(host, ".s3."); i > 0 {
		return host[:i], true
	}
	if i := strings.Index(host, ".s3-"); i > 0 { // legacy s3-{region} endpoints
		return host[:i], true
	}
	if b, ok := strings.CutSuffix(host, ".localhost"); ok && b != "" && b != "s3" && !strings.HasPrefix(b, "s3.") {
		return b, true
	}
	return "", false
}

// hostHasS3Label reports whether host names S3 explicitly ({bucket}.s3.*), as
// opposed to the bare {bucket}.localhost form.
func hostHasS3Label(host string) bool {
	host = strings.ToLower(host)
	return strings.Contains(host, ".s3.") || strings.Contains(host, ".s3-")
}

// IsS3Host reports whether host is an S3 endpoint host, path or virtual style
// (s3.localhost, s3.{region}.localhost, {bucket}.s3.*).
func IsS3Host(host string) bool {
	if _, ok := BucketFromHost(host); ok {
		return true
	}
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(host)
	return host == "s3.localhost" || (strings.HasPrefix(host, "s3.") && strings.HasSuffix(host, ".localhost"))
}

// BucketExists reports whether the bucket named by the first path segment of an
// unsigned path-style request exists, so the server can route anonymous requests
// (browser uploads, CORS preflights, public reads) to S3 and leave other paths alone.
func (s *Service) BucketExists(ctx context.Context, name string) bool {
	if name == "" || strings.ContainsAny(name, "/?") {
		return false
	}
	_, err := s.store.Get(ctx, bucketKey(name))
	return err == nil
}

// writeXML answers with an XML document in S3's namespace.
func (c *request) writeXML(status int, v any) {
	b, err := xml.Marshal(v)
	if err != nil {
		c.fail(fmt.Errorf("encode response: %w", err))
		return
	}
	h := c.w.Header()
	h.Set("Content-Type", "application/xml")
	c.w.WriteHeader(status)
	_, _ = io.WriteString(c.w, xml.Header)
	_, _ = c.w.Write(b)
}

// readXML decodes a small XML request body into v; S3 answers MalformedXML for
// anything that does not parse.
func (c *request) readXML(v any) error {
	body, err := io.ReadAll(io.LimitReader(c.r.Body, maxXMLBody+1))
	if err != nil {
		return errIncompleteBody()
	}
	if len(body) > maxXMLBody {
		return errMalformedXML()
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return errMalformedXML()
	}
	if err := xml.Unmarshal(body, v); err != nil {
		return errMalformedXML()
	}
	return nil
}

// maxXMLBody bounds configuration documents (S3 caps most at 64 KB-1 MB; a
// DeleteObjects of 1000 long keys is the largest).
const maxXMLBody = 2 << 20

// newS3RequestID is S3's x-amz-request-id form: 16 upper-case hex digits.
func newS3RequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return strings.ToUpper(hex.EncodeToString(b[:]))
}

// newHostID is an x-amz-id-2 value: an opaque base64 token.
func newHostID() string {
	var b [48]byte
	_, _ = rand.Read(b[:])
	return base64.StdEncoding.EncodeToString(b[:])
}

// canonicalUserID is the account's S3 canonical user id (64 hex digits), derived
// from the account id so it is stable.
func (s *Service) canonicalUserID() string {
	return hex.EncodeToString([]byte(fmt.Sprintf("%032s", s.account)))
}

const xmlns = "http://s3.amazonaws.com/doc/2006-03-01/"

// s3Time is the timestamp form of S3's XML documents.
func s3Time(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }
