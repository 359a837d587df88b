package s3

import (
	"net"
	"strconv"
	"strings"
	"time"
)

// Store layout (every key under /s3/):
//
//	/s3/buckets/{bucket}                 bucketRecord
//	/s3/objects/{bucket}/{key}           objectRecord
//	/s3/uploads/{bucket}/{uploadId}      uploadRecord (multipart in progress)
//	/s3/parts/{uploadId}/{part:05d}      partRecord
//	/s3/refs/{sha256}/{owner}            "" — owner (object or upload part) uses the blob
//	/s3/gc/{id}                          gcItem — references to drop, blobs to check
//	/s3/events/{seq}                     queued notification (outbox)
const (
	prefixBuckets = "/s3/buckets/"
	prefixObjects = "/s3/objects/"
	prefixUploads = "/s3/uploads/"
	prefixParts   = "/s3/parts/"
	prefixRefs    = "/s3/refs/"
	prefixGC      = "/s3/gc/"
	prefixEvents  = "/s3/events/"
)

func bucketKey(b string) string          { return prefixBuckets + b }
func objectPrefix(b string) string       { return prefixObjects + b + "/" }
func objectKey(b, k string) string       { return objectPrefix(b) + k }
func uploadPrefix(b string) string       { return prefixUploads + b + "/" }
func uploadKey(b, id string) string      { return uploadPrefix(b) + id }
func partPrefix(id string) string        { return prefixParts + id + "/" }
func refPrefix(sha string) string        { return prefixRefs + sha + "/" }
func refKey(sha, owner string) string    { return refPrefix(sha) + owner }
func partKey(id string, n int) string    { return partPrefix(id) + pad5(n) }
func partOwner(id string, n int) string  { return "p-" + id + "-" + pad5(n) }
func objectOwner(objectID string) string { return "o-" + objectID }

func pad5(n int) string {
	s := "00000" + itoa(n)
	return s[len(s)-5:]
}

type bucketRecord struct {
	Name         string              `json:"name"`
	Region       string              `json:"region"`
	Created      time.Time           `json:"created"`
	Tags         []tag               `json:"tags,omitempty"`
	CORS         []corsRule          `json:"cors,omitempty"`
	Notification *notificationConfig `json:"notification,omitempty"`
	Versioning   string              `json:"versioning,omitempty"` // "" never enabled, or "Suspended"
	// Policy is the bucket policy as put (validated), "" for none.
	Policy string `json:"policy,omitempty"`
}

type tag struct {
	Key   string `json:"k" xml:"Key"`
	Value string `json:"v" xml:"Value"`
}

// segment is one run of an object's bytes: a whole blob. A single PUT is one
// segment; a completed multipart upload has one per part.
type segment struct {
	SHA  string `json:"sha"`
	Size int64  `json:"size"`
}

// objectRecord is an object's metadata. ID is unique per write: the owner of its
// blob references.
type objectRecord struct {
	Key          string            `json:"key"`
	ID           string            `json:"id"`
	Size         int64             `json:"size"`
	ETag         string            `json:"etag"` // quoted, as S3 sends it
	LastModified time.Time         `json:"mtime"`
	Segments     []segment         `json:"segs,omitempty"`
	Headers      map[string]string `json:"hdrs,omitempty"` // Content-Type, Cache-Control, ...
	Meta         map[string]string `json:"meta,omitempty"` // x-amz-meta-*, lower-case names without the prefix
	Checksums    map[string]string `json:"sums,omitempty"` // "CRC32" -> base64
	ChecksumType string            `json:"sumtype,omitempty"`
	Tags         []tag             `json:"tags,omitempty"`
	Sequencer    string            `json:"seq"`
}

// shas lists the distinct blobs of the object.
func (o *objectRecord) shas() []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range o.Segments {
		if !seen[s.SHA] {
			seen[s.SHA] = true
			out = append(out, s.SHA)
		}
	}
	return out
}

type uploadRecord struct {
	Bucket       string            `json:"bucket"`
	Key          string            `json:"key"`
	UploadID     string            `json:"id"`
	Initiated    time.Time         `json:"initiated"`
	Headers      map[string]string `json:"hdrs,omitempty"`
	Meta         map[string]string `json:"meta,omitempty"`
	Tags         []tag             `json:"tags,omitempty"`
	ChecksumAlgo string            `json:"sumalgo,omitempty"`
}

type partRecord struct {
	PartNumber   int       `json:"n"`
	ETag         string    `json:"etag"`
	Size         int64     `json:"size"`
	SHA          string    `json:"sha"`
	LastModified time.Time `json:"mtime"`
	Checksum     string    `json:"sum,omitempty"`
}

// maxKeyBytes is S3's limit on a key's UTF-8 length.
const maxKeyBytes = 1024

// validBucketName applies S3's general purpose bucket naming rules
// (https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html).
func validBucketName(b string) bool {
	if len(b) < 3 || len(b) > 63 {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '.' || c == '-') {
			return false
		}
	}
	first, last := b[0], b[len(b)-1]
	if first == '.' || first == '-' || last == '.' || last == '-' {
		return false
	}
	if strings.Contains(b, "..") || strings.Contains(b, ".-") || strings.Contains(b, "-.") {
		return false
	}
	if net.ParseIP(b) != nil {
		return false
	}
	for _, p := range []string{"xn--", "sthree-", "amzn-s3-demo-"} {
		if strings.HasPrefix(b, p) {
			return false
		}
	}
	for _, s := range []string{"-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"} {
		if strings.HasSuffix(b, s) {
			return false
		}
	}
	return true
}

func itoa(n int) string { return strconv.Itoa(n) }
