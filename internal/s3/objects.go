package s3

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/sluice-dev/sluice/internal/awsproto"
	"github.com/sluice-dev/sluice/internal/sigv4"
	"github.com/sluice-dev/sluice/internal/store"
)

// S3's size limits.
const (
	maxPutSize   = 5 << 30 // a single PUT (and a part) is at most 5 GiB
	minPartSize  = 5 << 20 // every part but the last is at least 5 MiB
	maxPartCount = 10000
)

// storedHeaders are the standard headers S3 keeps with an object and returns on GET.
var storedHeaders = []string{"Content-Type", "Cache-Control", "Content-Disposition", "Content-Encoding",
	"Content-Language", "Expires", "X-Amz-Website-Redirect-Location", "X-Amz-Storage-Class"}

// objectHeadersFrom collects the stored headers and x-amz-meta-* of a write.
func objectHeadersFrom(h http.Header) (headers, meta map[string]string) {
	headers = map[string]string{}
	for _, name := range storedHeaders {
		if v := h.Get(name); v != "" {
			if name == "Content-Encoding" {
				// aws-chunked is the transfer framing, not the object's encoding.
				v = stripAWSChunked(v)
				if v == "" {
					continue
				}
			}
			headers[name] = v
		}
	}
	for name, vs := range h {
		if lower := strings.ToLower(name); strings.HasPrefix(lower, "x-amz-meta-") && len(vs) > 0 {
			if meta == nil {
				meta = map[string]string{}
			}
			meta[strings.TrimPrefix(lower, "x-amz-meta-")] = strings.Join(vs, ",")
		}
	}
	return headers, meta
}

func stripAWSChunked(v string) string {
	var keep []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" && !strings.EqualFold(p, "aws-chunked") {
			keep = append(keep, p)
		}
	}
	return strings.Join(keep, ",")
}

// upload is a request body being streamed into a blob, with the hashes S3 checks.
type upload struct {
	sha, md5hex string
	size        int64
	checksums   map[string]string // algorithm -> base64, computed
}

// receiveBody streams the request body into a blob: decoding aws-chunked framing
// (checking chunk signatures), hashing MD5 and the requested checksum on the way, and
// verifying Content-MD5, x-amz-checksum-* and the declared length. On error nothing
// references the blob. The caller must hold(sha) before referencing it.
func (s *Service) receiveBody(c *request, maxSize int64) (*upload, error) {
	r := c.r
	payload := r.Header.Get("X-Amz-Content-Sha256")
	streaming := sigv4.IsStreaming(payload) || strings.Contains(strings.ToLower(r.Header.Get("Content-Encoding")), "aws-chunked")
	var body io.Reader = r.Body
	var chunked *sigv4.ChunkedReader
	expected := r.ContentLength
	if streaming {
		dl := r.Header.Get("X-Amz-Decoded-Content-Length")
		n, err := strconv.ParseInt(dl, 10, 64)
		if err != nil || n < 0 {
			return nil, errMissingContentLength()
		}
		expected = n
		var signing *sigv4.ChunkSigning
		if c.id != nil {
			signing = c.id.Chunks
		}
		if payload == "" {
			payload = sigv4.StreamingUnsignedTrailer
		}
		chunked = sigv4.NewChunkedReader(r.Body, payload, signing)
		body = chunked
	} else if expected < 0 {
		return nil, errMissingContentLength()
	}
	if expected > maxSize {
		return nil, errEntityTooLarge(expected, maxSize)
	}
	algo, declared, err := checksumRequested(r.Header)
	if err != nil {
		return nil, err
	}
	md5h := md5.New()
	hashers := []io.Writer{md5h}
	var sumh hash.Hash
	if algo != "" {
		sumh = newChecksum(algo)
		hashers = append(hashers, sumh)
	}
	counted := &countingReader{r: io.LimitReader(body, expected+1)}
	sha, size, err := s.bytes.Put(io.TeeReader(counted, io.MultiWriter(hashers...)))
	if err != nil {
		if counted.err != nil {
			return nil, bodyReadError(counted.err, expected)
		}
		return nil, errInternal(err)
	}
	fail := func(e error) (*upload, error) {
		s.gc.discard(sha)
		return nil, e
	}
	if size != expected {
		return fail(errIncompleteBody())
	}
	up := &upload{sha: sha, size: size, md5hex: hex.EncodeToString(md5h.Sum(nil))}
	if v := r.Header.Get("Content-Md5"); v != "" {
		want, err := base64.StdEncoding.DecodeString(v)
		if err != nil || len(want) != md5.Size {
			return fail(s3err(http.StatusBadRequest, "InvalidDigest", "The Content-MD5 you specified was invalid.", field("Content-MD5", v)))
		}
		if hex.EncodeToString(want) != up.md5hex {
			return fail(s3err(http.StatusBadRequest, "BadDigest", "The Content-MD5 you specified did not match what we received.",
				field("ExpectedDigest", v), field("CalculatedDigest", base64.StdEncoding.EncodeToString(md5h.Sum(nil)))))
		}
	}
	if algo != "" {
		got := base64.StdEncoding.EncodeToString(sumh.Sum(nil))
		if declared == "" && chunked != nil {
			declared = chunked.Trailers().Get("X-Amz-Checksum-" + checksumHeaderSuffix(algo))
			if declared == "" && r.Header.Get("X-Amz-Trailer") != "" {
				return fail(errInvalidRequest("The x-amz-trailer header " + r.Header.Get("X-Amz-Trailer") + " was declared but the trailer was not sent."))
			}
		}
		if declared != "" && declared != got {
			return fail(errBadDigest(algo))
		}
		up.checksums = map[string]string{algo: got}
	}
	return up, nil
}

// countingReader remembers the first read error, so a failed chunk signature is
// reported as itself rather than as the blob store's wrapped write error.
// bodyReadError is S3's answer when reading an upload's body failed: a check of
// the aws-chunked decoder keeps its own error; a body over the listener's cap is
// EntityTooLarge; anything else (the client went away, sent fewer bytes than its
// Content-Length, or stalled past the read timeout) is IncompleteBody, the client's
// fault and not a 500.
func bodyReadError(err error, expected int64) error {
	var aerr *awsproto.Error
	if errors.As(err, &aerr) {
		return err
	}
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return errEntityTooLarge(expected, maxPutSize)
	}
	return errIncompleteBody()
}

type countingReader struct {
	r   io.Reader
	err error
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if err != nil && err != io.EOF && c.err == nil {
		c.err = err
	}
	return n, err
}

// putObject is PutObject.
func (s *Service) putObject(c *request) error {
	if len(c.key) > maxKeyBytes {
		return errKeyTooLong(c.key)
	}
	if _, err := s.loadBucket(s.reader(c), c.bucket); err != nil {
		return err
	}
	tags, err := parseTaggingHeader(c.r.Header.Get("X-Amz-Tagging"))
	if err != nil {
		return err
	}
	up, err := s.receiveBody(c, maxPutSize)
	if err != nil {
		return err
	}
	headers, meta := objectHeadersFrom(c.r.Header)
	obj := &objectRecord{
		Key: c.key, ID: uuid.NewString(), Size: up.size, ETag: `"` + up.md5hex + `"`,
		Segments: []segment{{SHA: up.sha, Size: up.size}}, Headers: headers, Meta: meta,
		Checksums: up.checksums, Tags: tags,
	}
	if len(up.checksums) > 0 {
		obj.ChecksumType = "FULL_OBJECT"
	}
	event := "ObjectCreated:Put"
	if c.r.Method == http.MethodPost {
		event = "ObjectCreated:Post"
	}
	if err := s.commitObject(c, obj, event, func(_ store.Tx, old *objectRecord) error {
		return checkWriteConditions(c.r.Header, old)
	}); err != nil {
		s.gc.discard(up.sha)
		return err
	}
	h := c.w.Header()
	h.Set("ETag", obj.ETag)
	h.Set("X-Amz-Server-Side-Encryption", "AES256")
	for algo, v := range obj.Checksums {
		h.Set("X-Amz-Checksum-"+checksumHeaderSuffix(algo), v)
		h.Set("X-Amz-Checksum-Type", obj.ChecksumType)
	}
	c.w.WriteHeader(http.StatusOK)
	return nil
}

// commitObject makes obj the current object at c.bucket/c.key: in one transaction
// it checks the bucket still exists and pre(tx, old) holds (pre may write too),
// references obj's blobs, queues the previous object's for collection and queues
// the notifications. Objects with many blobs (large multipart uploads) get their
// references in transactions of their own first: an extra reference only delays
// collection, while a record without one could lose its bytes.
func (s *Service) commitObject(c *request, obj *objectRecord, event string, pre func(tx store.Tx, old *objectRecord) error) error {
	shas := obj.shas()
	for _, sha := range shas {
		release, err := s.gc.hold(sha)
		if err != nil {
			return errInternal(err)
		}
		defer release()
	}
	inline := len(shas) <= refsInline
	if !inline {
		for start := 0; start < len(shas); start += gcBatch {
			batch := shas[start:min(start+gcBatch, len(shas))]
			if err := s.store.Update(c.ctx(), func(tx store.Tx) error {
				for _, sha := range batch {
					if err := tx.Put(refKey(sha, objectOwner(obj.ID)), nil); err != nil {
						return err
					}
				}
				return nil
			}); err != nil {
				return err
			}
		}
	}
	obj.LastModified = s.now().UTC().Truncate(time.Second)
	obj.Sequencer = s.nextSequencer()
	replaced := false
	err := s.store.Update(c.ctx(), func(tx store.Tx) error {
		b, err := s.loadBucket(tx, c.bucket)
		if err != nil {
			return err
		}
		old, found, err := store.GetRecord[objectRecord](tx, objectKey(c.bucket, c.key))
		if err != nil {
			return err
		}
		if pre != nil {
			if err := pre(tx, old); err != nil {
				return err
			}
		}
		replaced = found
		if found {
			if err := putGC(tx, gcItemFor(objectOwner(old.ID), old.shas())); err != nil {
				return err
			}
		}
		if inline {
			for _, sha := range shas {
				if err := tx.Put(refKey(sha, objectOwner(obj.ID)), nil); err != nil {
					return err
				}
			}
		}
		if err := store.PutRecord(tx, objectKey(c.bucket, c.key), obj); err != nil {
			return err
		}
		return s.queueEvents(tx, c, b, event, obj)
	})
	if err != nil {
		if !inline {
			_ = s.store.Update(c.ctx(), func(tx store.Tx) error { return putGC(tx, gcItemFor(objectOwner(obj.ID), shas)) })
			s.gc.kick()
		}
		return err
	}
	if replaced {
		s.gc.kick()
	}
	return nil
}

// refsInline is how many blob references commitObject writes in the object's own
// transaction (which also holds the record, a gc item and notifications) while
// staying within etcd's 128 operations.
const refsInline = 60

// checkWriteConditions applies conditional writes: If-None-Match: * (create only) and
// If-Match: etag (replace only that version) answer 412 when they do not hold.
func checkWriteConditions(h http.Header, old *objectRecord) error {
	if v := h.Get("If-None-Match"); v != "" {
		if strings.TrimSpace(v) != "*" {
			return errNotImplemented("If-None-Match on a write takes only '*'.")
		}
		if old != nil {
			return errPreconditionFailed("If-None-Match")
		}
	}
	if v := h.Get("If-Match"); v != "" {
		if old == nil {
			return errNoSuchKey("")
		}
		if !etagMatches(v, old.ETag) {
			return errPreconditionFailed("If-Match")
		}
	}
	return nil
}

func (s *Service) loadObject(r store.Reader, bucket, key string) (*objectRecord, error) {
	o, ok, err := store.GetRecord[objectRecord](r, objectKey(bucket, key))
	if err != nil {
		return nil, errInternal(err)
	}
	if !ok {
		if _, err := s.loadBucket(r, bucket); err != nil {
			return nil, err
		}
		return nil, errNoSuchKey(key)
	}
	return o, nil
}

// getObject is GetObject and HeadObject.
func (s *Service) getObject(c *request) error {
	obj, err := s.loadObject(s.reader(c), c.bucket, c.key)
	if err != nil {
		return err
	}
	if status, err := readConditions(c.r.Header, obj); err != nil || status != 0 {
		if err != nil {
			return err
		}
		h := c.w.Header()
		h.Set("ETag", obj.ETag)
		h.Set("Last-Modified", obj.LastModified.UTC().Format(http.TimeFormat))
		c.w.WriteHeader(status)
		return nil
	}
	start, length := int64(0), obj.Size
	status := http.StatusOK
	h := c.w.Header()
	if pn := c.query.Get("partNumber"); pn != "" {
		n, err := strconv.Atoi(pn)
		if err != nil || n < 1 || n > maxPartCount {
			return errInvalidArgument("Part number must be an integer between 1 and 10000, inclusive", "partNumber", pn)
		}
		parts := obj.partCount()
		if n > parts {
			return s3err(http.StatusRequestedRangeNotSatisfiable, "InvalidPartNumber", "The requested partnumber is not satisfiable",
				field("PartNumberRequested", pn), field("ActualPartCount", strconv.Itoa(parts)))
		}
		if len(obj.Segments) > 0 {
			for i := 0; i < n-1; i++ {
				start += obj.Segments[i].Size
			}
			length = obj.Segments[n-1].Size
		}
		if parts > 1 || strings.Contains(obj.ETag, "-") {
			h.Set("X-Amz-Mp-Parts-Count", strconv.Itoa(parts))
			status = http.StatusPartialContent
			h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, start+length-1, obj.Size))
		}
	} else if rh := c.r.Header.Get("Range"); rh != "" {
		rs, rl, ok, err := parseRange(rh, obj.Size)
		if err != nil {
			return err
		}
		if ok {
			start, length, status = rs, rl, http.StatusPartialContent
			h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, start+length-1, obj.Size))
		}
	}
	s.writeObjectHeaders(c, obj, status == http.StatusOK)
	h.Set("Content-Length", strconv.FormatInt(length, 10))
	c.w.WriteHeader(status)
	if c.r.Method == http.MethodHead || length == 0 {
		return nil
	}
	rd := newSegmentReader(s.bytes, obj.Segments, start, length)
	defer rd.Close()
	if _, err := io.CopyBuffer(c.w, rd, make([]byte, 256<<10)); err != nil {
		// The status is out; the client sees a short body, as with S3.
		s.log.Debug("s3 get: copy", "bucket", c.bucket, "key", c.key, "err", err)
	}
	return nil
}

func (o *objectRecord) partCount() int {
	if i := strings.LastIndex(o.ETag, "-"); i >= 0 {
		if n, err := strconv.Atoi(strings.Trim(o.ETag[i+1:], `"`)); err == nil {
			return n
		}
	}
	return 1
}

// writeObjectHeaders sets the headers GET and HEAD answer with, honouring the
// response-* query overrides. Checksums describe the whole object, so S3 sends them
// (with x-amz-checksum-mode: ENABLED) only when the whole object is sent.
func (s *Service) writeObjectHeaders(c *request, obj *objectRecord, whole bool) {
	h := c.w.Header()
	h.Set("ETag", obj.ETag)
	h.Set("Last-Modified", obj.LastModified.UTC().Format(http.TimeFormat))
	h.Set("Accept-Ranges", "bytes")
	h.Set("X-Amz-Server-Side-Encryption", "AES256")
	ct := obj.Headers["Content-Type"]
	if ct == "" {
		ct = "binary/octet-stream"
	}
	h.Set("Content-Type", ct)
	for k, v := range obj.Headers {
		if k == "X-Amz-Storage-Class" && v == "STANDARD" {
			continue // S3 sends no storage class header for STANDARD
		}
		if k != "Content-Type" {
			h.Set(k, v)
		}
	}
	for k, v := range obj.Meta {
		h["X-Amz-Meta-"+k] = []string{v}
	}
	if len(obj.Tags) > 0 {
		h.Set("X-Amz-Tagging-Count", strconv.Itoa(len(obj.Tags)))
	}
	if whole && strings.EqualFold(c.r.Header.Get("X-Amz-Checksum-Mode"), "ENABLED") {
		for algo, v := range obj.Checksums {
			h.Set("X-Amz-Checksum-"+checksumHeaderSuffix(algo), v)
			h.Set("X-Amz-Checksum-Type", obj.ChecksumType)
		}
	}
	for q, hdr := range map[string]string{
		"response-content-type": "Content-Type", "response-content-language": "Content-Language",
		"response-expires": "Expires", "response-cache-control": "Cache-Control",
		"response-content-disposition": "Content-Disposition", "response-content-encoding": "Content-Encoding",
	} {
		if v := c.query.Get(q); v != "" {
			h.Set(hdr, v)
		}
	}
}

// readConditions evaluates GET/HEAD conditional headers in S3's order: If-Match then
// If-Unmodified-Since (412), If-None-Match then If-Modified-Since (304). A 304 or 412
// status is returned without error for HEAD and as the XML error for GET's 412.
func readConditions(h http.Header, obj *objectRecord) (int, error) {
	mod := obj.LastModified.Truncate(time.Second)
	if v := h.Get("If-Match"); v != "" {
		if !etagMatches(v, obj.ETag) {
			return 0, errPreconditionFailed("If-Match")
		}
	} else if v := h.Get("If-Unmodified-Since"); v != "" {
		if t, err := http.ParseTime(v); err == nil && mod.After(t) {
			return 0, errPreconditionFailed("If-Unmodified-Since")
		}
	}
	if v := h.Get("If-None-Match"); v != "" {
		if etagMatches(v, obj.ETag) {
			return http.StatusNotModified, nil
		}
	} else if v := h.Get("If-Modified-Since"); v != "" {
		if t, err := http.ParseTime(v); err == nil && !mod.After(t) {
			return http.StatusNotModified, nil
		}
	}
	return 0, nil
}

// etagMatches compares an If-Match/If-None-Match list with an ETag, quotes optional.
func etagMatches(list, etag string) bool {
	want := strings.Trim(etag, `"`)
	for _, v := range strings.Split(list, ",") {
		v = strings.TrimSpace(v)
		v = strings.TrimPrefix(v, "W/")
		if v == "*" || strings.Trim(v, `"`) == want {
			return true
		}
	}
	return false
}

// parseRange reads one "bytes=first-last", "bytes=first-" or "bytes=-suffix" range.
// A range S3 cannot parse is ignored (the whole object is sent); one that lies past
// the end is 416 InvalidRange.
func parseRange(h string, size int64) (start, length int64, ok bool, err error) {
	spec, found := strings.CutPrefix(strings.TrimSpace(h), "bytes=")
	if !found || strings.Contains(spec, ",") {
		return 0, 0, false, nil
	}
	first, last, found := strings.Cut(spec, "-")
	if !found {
		return 0, 0, false, nil
	}
	first, last = strings.TrimSpace(first), strings.TrimSpace(last)
	switch {
	case first == "" && last == "":
		return 0, 0, false, nil
	case first == "":
		n, perr := strconv.ParseInt(last, 10, 64)
		if perr != nil {
			return 0, 0, false, nil
		}
		if n == 0 || size == 0 {
			return 0, 0, false, errInvalidRange(h, size)
		}
		n = min(n, size)
		return size - n, n, true, nil
	}
	a, perr := strconv.ParseInt(first, 10, 64)
	if perr != nil {
		return 0, 0, false, nil
	}
	b := size - 1
	if last != "" {
		if b, perr = strconv.ParseInt(last, 10, 64); perr != nil || b < a {
			return 0, 0, false, nil
		}
	}
	if a >= size {
		return 0, 0, false, errInvalidRange(h, size)
	}
	b = min(b, size-1)
	return a, b - a + 1, true, nil
}

// deleteObject is DeleteObject; deleting a missing key succeeds, as in S3.
func (s *Service) deleteObject(c *request) error {
	if _, err := s.loadBucket(s.reader(c), c.bucket); err != nil {
		return err
	}
	if _, err := s.removeObjects(c, []string{c.key}); err != nil {
		return err
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

// removeObjects deletes keys in transactions of a few keys each (each deletion also
// queues collection and a notification); it returns which existed.
func (s *Service) removeObjects(c *request, keys []string) (map[string]bool, error) {
	existed := map[string]bool{}
	const batch = 25
	for start := 0; start < len(keys); start += batch {
		part := keys[start:min(start+batch, len(keys))]
		seq := make([]string, len(part))
		for i := range part {
			seq[i] = s.nextSequencer()
		}
		found := map[string]bool{}
		err := s.store.Update(c.ctx(), func(tx store.Tx) error {
			clear(found)
			b, err := s.loadBucket(tx, c.bucket)
			if err != nil {
				return err
			}
			for i, k := range part {
				old, ok, err := store.GetRecord[objectRecord](tx, objectKey(c.bucket, k))
				if err != nil {
					return err
				}
				if !ok {
					continue
				}
				found[k] = true
				if err := tx.Delete(objectKey(c.bucket, k)); err != nil {
					return err
				}
				if err := putGC(tx, gcItemFor(objectOwner(old.ID), old.shas())); err != nil {
					return err
				}
				gone := &objectRecord{Key: k, Sequencer: seq[i]}
				if err := s.queueEvents(tx, c, b, "ObjectRemoved:Delete", gone); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return existed, err
		}
		for k := range found {
			existed[k] = true
		}
	}
	if len(existed) > 0 {
		s.gc.kick()
	}
	return existed, nil
}

type deleteRequest struct {
	XMLName xml.Name `xml:"Delete"`
	Quiet   bool     `xml:"Quiet"`
	Objects []struct {
		Key       string `xml:"Key"`
		VersionID string `xml:"VersionId"`
	} `xml:"Object"`
}

type deleteResult struct {
	XMLName xml.Name       `xml:"DeleteResult"`
	Xmlns   string         `xml:"xmlns,attr"`
	Deleted []deletedEntry `xml:"Deleted"`
	Errors  []deleteError  `xml:"Error"`
}

type deletedEntry struct {
	Key string `xml:"Key"`
}

type deleteError struct {
	Key     string `xml:"Key"`
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
}

// deleteObjects is DeleteObjects: up to 1000 keys; quiet mode reports only errors.
func (s *Service) deleteObjects(c *request) error {
	if _, err := s.loadBucket(s.reader(c), c.bucket); err != nil {
		return err
	}
	var in deleteRequest
	if err := c.readXML(&in); err != nil {
		return err
	}
	if len(in.Objects) == 0 || len(in.Objects) > 1000 {
		return errMalformedXML()
	}
	out := deleteResult{Xmlns: xmlns}
	var keys []string
	for _, o := range in.Objects {
		if o.VersionID != "" && o.VersionID != "null" {
			out.Errors = append(out.Errors, deleteError{Key: o.Key, Code: "NoSuchVersion",
				Message: "The specified version does not exist."})
			continue
		}
		keys = append(keys, o.Key)
	}
	if _, err := s.removeObjects(c, keys); err != nil {
		return err
	}
	if !in.Quiet {
		for _, k := range keys {
			out.Deleted = append(out.Deleted, deletedEntry{Key: k})
		}
	}
	c.writeXML(http.StatusOK, out)
	return nil
}

// copySource parses x-amz-copy-source: "[/]bucket/key[?versionId=...]", URL-encoded.
func copySource(v string) (bucket, key string, err error) {
	path, query, _ := strings.Cut(v, "?")
	dec, derr := url.PathUnescape(path)
	if derr != nil {
		return "", "", errInvalidArgument("Invalid copy source encoding", "x-amz-copy-source", v)
	}
	dec = strings.TrimPrefix(dec, "/")
	bucket, key, ok := strings.Cut(dec, "/")
	if !ok || bucket == "" || key == "" {
		return "", "", errInvalidArgument("Invalid copy source object key", "x-amz-copy-source", v)
	}
	if q, _ := url.ParseQuery(query); q.Get("versionId") != "" && q.Get("versionId") != "null" {
		return "", "", s3err(http.StatusNotFound, "NoSuchVersion", "The specified version does not exist.")
	}
	return bucket, key, nil
}

// copyConditions applies x-amz-copy-source-if-* to the source object.
func copyConditions(h http.Header, src *objectRecord) error {
	mod := src.LastModified.Truncate(time.Second)
	if v := h.Get("X-Amz-Copy-Source-If-Match"); v != "" && !etagMatches(v, src.ETag) {
		return errPreconditionFailed("x-amz-copy-source-If-Match")
	}
	if v := h.Get("X-Amz-Copy-Source-If-None-Match"); v != "" && etagMatches(v, src.ETag) {
		return errPreconditionFailed("x-amz-copy-source-If-None-Match")
	}
	if v := h.Get("X-Amz-Copy-Source-If-Unmodified-Since"); v != "" && h.Get("X-Amz-Copy-Source-If-Match") == "" {
		if t, err := http.ParseTime(v); err == nil && mod.After(t) {
			return errPreconditionFailed("x-amz-copy-source-If-Unmodified-Since")
		}
	}
	if v := h.Get("X-Amz-Copy-Source-If-Modified-Since"); v != "" && h.Get("X-Amz-Copy-Source-If-None-Match") == "" {
		if t, err := http.ParseTime(v); err == nil && !mod.After(t) {
			return errPreconditionFailed("x-amz-copy-source-If-Modified-Since")
		}
	}
	return nil
}

type copyObjectResult struct {
	XMLName      xml.Name `xml:"CopyObjectResult"`
	Xmlns        string   `xml:"xmlns,attr"`
	ETag         string   `xml:"ETag"`
	LastModified string   `xml:"LastModified"`
}

// copyObject is CopyObject. The copy shares the source's blobs (a new reference,
// no bytes copied). Metadata is copied unless x-amz-metadata-directive is REPLACE;
// copying an object onto itself must change something, as S3 requires.
func (s *Service) copyObject(c *request) error {
	if len(c.key) > maxKeyBytes {
		return errKeyTooLong(c.key)
	}
	srcBucket, srcKey, err := copySource(c.r.Header.Get("X-Amz-Copy-Source"))
	if err != nil {
		return err
	}
	if _, err := s.loadBucket(s.reader(c), c.bucket); err != nil {
		return err
	}
	directive := strings.ToUpper(c.r.Header.Get("X-Amz-Metadata-Directive"))
	if directive == "" {
		directive = "COPY"
	}
	if directive != "COPY" && directive != "REPLACE" {
		return errInvalidArgument("Unknown metadata directive.", "x-amz-metadata-directive", directive)
	}
	tagDirective := strings.ToUpper(c.r.Header.Get("X-Amz-Tagging-Directive"))
	newTags, err := parseTaggingHeader(c.r.Header.Get("X-Amz-Tagging"))
	if err != nil {
		return err
	}
	src, err := s.loadObject(s.reader(c), srcBucket, srcKey)
	if err != nil {
		return err
	}
	if err := copyConditions(c.r.Header, src); err != nil {
		return err
	}
	if srcBucket == c.bucket && srcKey == c.key && directive == "COPY" &&
		c.r.Header.Get("X-Amz-Storage-Class") == "" && c.r.Header.Get("X-Amz-Website-Redirect-Location") == "" &&
		c.r.Header.Get("X-Amz-Server-Side-Encryption") == "" {
		return errInvalidRequest("This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.")
	}
	obj := &objectRecord{Key: c.key, ID: uuid.NewString(), Size: src.Size, ETag: src.ETag, Segments: src.Segments,
		Headers: src.Headers, Meta: src.Meta, Checksums: src.Checksums, ChecksumType: src.ChecksumType, Tags: src.Tags}
	if directive == "REPLACE" {
		obj.Headers, obj.Meta = objectHeadersFrom(c.r.Header)
	}
	if tagDirective == "REPLACE" {
		obj.Tags = newTags
	}
	err = s.commitObject(c, obj, "ObjectCreated:Copy", func(tx store.Tx, _ *objectRecord) error {
		// The source must still be the version whose blobs are being referenced.
		cur, ok, err := store.GetRecord[objectRecord](tx, objectKey(srcBucket, srcKey))
		if err != nil {
			return err
		}
		if !ok || cur.ID != src.ID {
			return errNoSuchKey(srcKey)
		}
		return nil
	})
	if err != nil {
		return err
	}
	c.w.Header().Set("X-Amz-Server-Side-Encryption", "AES256")
	c.writeXML(http.StatusOK, copyObjectResult{Xmlns: xmlns, ETag: obj.ETag, LastModified: s3Time(obj.LastModified)})
	return nil
}

// parseTaggingHeader reads x-amz-tagging: URL-query encoded key=value pairs.
func parseTaggingHeader(v string) ([]tag, error) {
	if v == "" {
		return nil, nil
	}
	q, err := url.ParseQuery(v)
	if err != nil {
		return nil, errInvalidArgument("The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query parameters without tag name duplicates.", "x-amz-tagging", v)
	}
	var tags []tag
	for k, vs := range q {
		if len(vs) != 1 {
			return nil, errInvalidArgument("The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query parameters without tag name duplicates.", "x-amz-tagging", v)
		}
		tags = append(tags, tag{Key: k, Value: vs[0]})
	}
	if err := validateTags(tags, 10); err != nil {
		return nil, err
	}
	return tags, nil
}

func (s *Service) putObjectTagging(c *request) error {
	var in tagging
	if err := c.readXML(&in); err != nil {
		return err
	}
	if err := validateTags(in.TagSet, 10); err != nil {
		return err
	}
	err := s.store.Update(c.ctx(), func(tx store.Tx) error {
		o, err := s.loadObject(tx, c.bucket, c.key)
		if err != nil {
			return err
		}
		o.Tags = in.TagSet
		return store.PutRecord(tx, objectKey(c.bucket, c.key), o)
	})
	if err != nil {
		return err
	}
	c.w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Service) getObjectTagging(c *request) error {
	o, err := s.loadObject(s.reader(c), c.bucket, c.key)
	if err != nil {
		return err
	}
	c.writeXML(http.StatusOK, tagging{Xmlns: xmlns, TagSet: o.Tags})
	return nil
}

func (s *Service) deleteObjectTagging(c *request) error {
	err := s.store.Update(c.ctx(), func(tx store.Tx) error {
		o, err := s.loadObject(tx, c.bucket, c.key)
		if err != nil {
			return err
		}
		o.Tags = nil
		return store.PutRecord(tx, objectKey(c.bucket, c.key), o)
	})
	if err != nil {
		return err
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}
