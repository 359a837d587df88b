package s3

import (
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// listing is one page of a bucket listing, shared by ListObjects and ListObjectsV2.
type listing struct {
	contents  []*objectRecord
	prefixes  []string
	truncated bool
	lastKey   string // last key or common prefix returned, for the next page
}

// listKeys walks the bucket's keys in UTF-8 binary order after `after`, rolling keys
// up to CommonPrefixes at the first delimiter past prefix, until max entries (keys
// plus prefixes) are collected.
func (s *Service) listKeys(c *request, prefix, delimiter, after string, max int) (*listing, error) {
	if _, err := s.loadBucket(s.reader(c), c.bucket); err != nil {
		return nil, err
	}
	kvs, err := s.store.List(c.ctx(), objectPrefix(c.bucket)+prefix)
	if err != nil {
		return nil, errInternal(err)
	}
	out := &listing{}
	base := len(objectPrefix(c.bucket))
	lastPrefix := ""
	for _, kv := range kvs {
		key := kv.Key[base:]
		if after != "" && key <= after {
			continue
		}
		if delimiter != "" {
			if i := strings.Index(key[len(prefix):], delimiter); i >= 0 {
				cp := key[:len(prefix)+i+len(delimiter)]
				if cp == lastPrefix || (after != "" && cp <= after) {
					continue
				}
				if len(out.contents)+len(out.prefixes) >= max {
					out.truncated = true
					break
				}
				out.prefixes = append(out.prefixes, cp)
				lastPrefix, out.lastKey = cp, cp
				continue
			}
		}
		if len(out.contents)+len(out.prefixes) >= max {
			out.truncated = true
			break
		}
		var o objectRecord
		if err := json.Unmarshal(kv.Value, &o); err != nil {
			return nil, errInternal(err)
		}
		out.contents = append(out.contents, &o)
		out.lastKey = key
	}
	return out, nil
}

type listEntry struct {
	Key               string `xml:"Key"`
	LastModified      string `xml:"LastModified"`
	ETag              string `xml:"ETag"`
	ChecksumAlgorithm string `xml:"ChecksumAlgorithm,omitempty"`
	ChecksumType      string `xml:"ChecksumType,omitempty"`
	Size              int64  `xml:"Size"`
	Owner             *owner `xml:"Owner,omitempty"`
	StorageClass      string `xml:"StorageClass"`
}

type commonPrefix struct {
	Prefix string `xml:"Prefix"`
}

type listBucketResult struct {
	XMLName               xml.Name       `xml:"ListBucketResult"`
	Xmlns                 string         `xml:"xmlns,attr"`
	Name                  string         `xml:"Name"`
	Prefix                string         `xml:"Prefix"`
	Marker                *string        `xml:"Marker,omitempty"`
	NextMarker            string         `xml:"NextMarker,omitempty"`
	ContinuationToken     string         `xml:"ContinuationToken,omitempty"`
	NextContinuationToken string         `xml:"NextContinuationToken,omitempty"`
	StartAfter            string         `xml:"StartAfter,omitempty"`
	KeyCount              *int           `xml:"KeyCount,omitempty"`
	MaxKeys               int            `xml:"MaxKeys"`
	Delimiter             string         `xml:"Delimiter,omitempty"`
	EncodingType          string         `xml:"EncodingType,omitempty"`
	IsTruncated           bool           `xml:"IsTruncated"`
	Contents              []listEntry    `xml:"Contents"`
	CommonPrefixes        []commonPrefix `xml:"CommonPrefixes"`
}

// listParams reads the parameters both list versions share.
func listParams(c *request) (prefix, delimiter string, max int, encode func(string) string, encodingType string, err error) {
	q := c.query
	prefix, delimiter = q.Get("prefix"), q.Get("delimiter")
	max = 1000
	if v := q.Get("max-keys"); v != "" {
		n, perr := strconv.Atoi(v)
		if perr != nil || n < 0 {
			return "", "", 0, nil, "", errInvalidArgument("Provided max-keys not an integer or within integer range", "max-keys", v)
		}
		max = min(n, 1000)
	}
	encode = func(s string) string { return s }
	switch et := q.Get("encoding-type"); et {
	case "":
	case "url":
		encodingType = "url"
		encode = urlEncodeKey
	default:
		return "", "", 0, nil, "", errInvalidArgument("Invalid Encoding Method specified in Request", "encoding-type", et)
	}
	return prefix, delimiter, max, encode, encodingType, nil
}

// urlEncodeKey is S3's encoding-type=url: each byte outside the unreserved set
// percent-encoded, '/' kept, space as %20... S3 uses form encoding (space as +).
func urlEncodeKey(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "%2F", "/")
}

func (s *Service) entries(objs []*objectRecord, encode func(string) string, withOwner bool) []listEntry {
	out := make([]listEntry, 0, len(objs))
	for _, o := range objs {
		e := listEntry{Key: encode(o.Key), LastModified: s3Time(o.LastModified), ETag: o.ETag, Size: o.Size, StorageClass: "STANDARD"}
		if sc := o.Headers["X-Amz-Storage-Class"]; sc != "" {
			e.StorageClass = sc
		}
		for algo := range o.Checksums {
			e.ChecksumAlgorithm, e.ChecksumType = algo, o.ChecksumType
		}
		if withOwner {
			e.Owner = s.owner()
		}
		out = append(out, e)
	}
	return out
}

func prefixesOf(ps []string, encode func(string) string) []commonPrefix {
	out := make([]commonPrefix, 0, len(ps))
	for _, p := range ps {
		out = append(out, commonPrefix{Prefix: encode(p)})
	}
	return out
}

// listObjectsV2 is ListObjectsV2: continuation tokens are opaque (the last key
// returned, base64), start-after applies to the first page only.
func (s *Service) listObjectsV2(c *request) error {
	prefix, delimiter, max, encode, et, err := listParams(c)
	if err != nil {
		return err
	}
	q := c.query
	after := q.Get("start-after")
	token, hasToken := q["continuation-token"]
	if hasToken {
		raw, derr := base64.RawURLEncoding.DecodeString(token[0])
		if derr != nil || token[0] == "" {
			return errInvalidArgument("The continuation token provided is incorrect", "continuation-token", token[0])
		}
		after = string(raw)
	}
	page, err := s.listKeys(c, prefix, delimiter, after, max)
	if err != nil {
		return err
	}
	n := len(page.contents) + len(page.prefixes)
	out := listBucketResult{Xmlns: xmlns, Name: c.bucket, Prefix: encode(prefix), MaxKeys: max, Delimiter: encode(delimiter),
		EncodingType: et, IsTruncated: page.truncated, KeyCount: &n, StartAfter: encode(q.Get("start-after")),
		Contents: s.entries(page.contents, encode, q.Get("fetch-owner") == "true"), CommonPrefixes: prefixesOf(page.prefixes, encode)}
	if hasToken {
		out.ContinuationToken = token[0]
	}
	if page.truncated {
		out.NextContinuationToken = base64.RawURLEncoding.EncodeToString([]byte(page.lastKey))
	}
	c.writeXML(http.StatusOK, out)
	return nil
}

// listObjects is ListObjects (version 1): markers are keys; NextMarker is sent only
// with a delimiter, as S3 does (without one, the last key is the next marker).
func (s *Service) listObjects(c *request) error {
	prefix, delimiter, max, encode, et, err := listParams(c)
	if err != nil {
		return err
	}
	marker := c.query.Get("marker")
	page, err := s.listKeys(c, prefix, delimiter, marker, max)
	if err != nil {
		return err
	}
	m := encode(marker)
	out := listBucketResult{Xmlns: xmlns, Name: c.bucket, Prefix: encode(prefix), Marker: &m, MaxKeys: max,
		Delimiter: encode(delimiter), EncodingType: et, IsTruncated: page.truncated,
		Contents: s.entries(page.contents, encode, true), CommonPrefixes: prefixesOf(page.prefixes, encode)}
	if page.truncated && delimiter != "" {
		out.NextMarker = encode(page.lastKey)
	}
	c.writeXML(http.StatusOK, out)
	return nil
}
