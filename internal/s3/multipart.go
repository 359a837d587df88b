package s3

import (
	"crypto/md5"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/sluice-dev/sluice/internal/store"
)

func newUploadID() string {
	var b [48]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

type initiateMultipartUploadResult struct {
	XMLName  xml.Name `xml:"InitiateMultipartUploadResult"`
	Xmlns    string   `xml:"xmlns,attr"`
	Bucket   string   `xml:"Bucket"`
	Key      string   `xml:"Key"`
	UploadID string   `xml:"UploadId"`
}

func (s *Service) createMultipartUpload(c *request) error {
	if len(c.key) > maxKeyBytes {
		return errKeyTooLong(c.key)
	}
	tags, err := parseTaggingHeader(c.r.Header.Get("X-Amz-Tagging"))
	if err != nil {
		return err
	}
	algo := strings.ToUpper(c.r.Header.Get("X-Amz-Checksum-Algorithm"))
	if algo != "" && newChecksum(algo) == nil {
		return errInvalidRequest("Checksum algorithm provided is unsupported. Please try again with any of the valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]")
	}
	headers, meta := objectHeadersFrom(c.r.Header)
	up := &uploadRecord{Bucket: c.bucket, Key: c.key, UploadID: newUploadID(), Initiated: s.now().UTC(),
		Headers: headers, Meta: meta, Tags: tags, ChecksumAlgo: algo}
	err = s.store.Update(c.ctx(), func(tx store.Tx) error {
		if _, err := s.loadBucket(tx, c.bucket); err != nil {
			return err
		}
		return store.PutRecord(tx, uploadKey(c.bucket, up.UploadID), up)
	})
	if err != nil {
		return err
	}
	if algo != "" {
		c.w.Header().Set("X-Amz-Checksum-Algorithm", algo)
		c.w.Header().Set("X-Amz-Checksum-Type", "COMPOSITE")
	}
	c.writeXML(http.StatusOK, initiateMultipartUploadResult{Xmlns: xmlns, Bucket: c.bucket, Key: c.key, UploadID: up.UploadID})
	return nil
}

// loadUpload reads the upload named by ?uploadId for this bucket and key.
func (s *Service) loadUpload(r store.Reader, c *request) (*uploadRecord, error) {
	id := c.query.Get("uploadId")
	up, ok, err := store.GetRecord[uploadRecord](r, uploadKey(c.bucket, id))
	if err != nil {
		return nil, errInternal(err)
	}
	if !ok || up.Key != c.key {
		if _, err := s.loadBucket(r, c.bucket); err != nil {
			return nil, err
		}
		return nil, errNoSuchUpload(id)
	}
	return up, nil
}

func partNumberOf(c *request) (int, error) {
	v := c.query.Get("partNumber")
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxPartCount {
		return 0, errInvalidArgument("Part number must be an integer between 1 and 10000, inclusive", "partNumber", v)
	}
	return n, nil
}

func (s *Service) uploadPart(c *request) error {
	n, err := partNumberOf(c)
	if err != nil {
		return err
	}
	up, err := s.loadUpload(s.reader(c), c)
	if err != nil {
		return err
	}
	body, err := s.receiveBody(c, maxPutSize)
	if err != nil {
		return err
	}
	part := &partRecord{PartNumber: n, ETag: `"` + body.md5hex + `"`, Size: body.size, SHA: body.sha, LastModified: s.now().UTC()}
	if up.ChecksumAlgo != "" {
		part.Checksum = body.checksums[up.ChecksumAlgo]
		if part.Checksum == "" {
			return s3err(http.StatusBadRequest, "InvalidRequest", "The upload was created using a "+up.ChecksumAlgo+" checksum. The part is missing its "+up.ChecksumAlgo+" checksum.")
		}
	}
	if err := s.commitPart(c, up, part); err != nil {
		s.gc.discard(body.sha)
		return err
	}
	h := c.w.Header()
	h.Set("ETag", part.ETag)
	h.Set("X-Amz-Server-Side-Encryption", "AES256")
	for algo, v := range body.checksums {
		h.Set("X-Amz-Checksum-"+checksumHeaderSuffix(algo), v)
	}
	c.w.WriteHeader(http.StatusOK)
	return nil
}

// commitPart records a part (replacing one with the same number) and its reference.
func (s *Service) commitPart(c *request, up *uploadRecord, part *partRecord) error {
	release, err := s.gc.hold(part.SHA)
	if err != nil {
		return errInternal(err)
	}
	defer release()
	owner := partOwner(up.UploadID, part.PartNumber)
	replaced := false
	err = s.store.Update(c.ctx(), func(tx store.Tx) error {
		if _, err := s.loadUpload(tx, c); err != nil {
			return err
		}
		old, found, err := store.GetRecord[partRecord](tx, partKey(up.UploadID, part.PartNumber))
		if err != nil {
			return err
		}
		if found && old.SHA != part.SHA {
			replaced = true
			if err := tx.Delete(refKey(old.SHA, owner)); err != nil {
				return err
			}
			if err := putGC(tx, gcItem{Refs: []gcRef{{SHA: old.SHA, Owner: owner}}}); err != nil {
				return err
			}
		}
		if err := tx.Put(refKey(part.SHA, owner), nil); err != nil {
			return err
		}
		return store.PutRecord(tx, partKey(up.UploadID, part.PartNumber), part)
	})
	if err == nil && replaced {
		s.gc.kick()
	}
	return err
}

type copyPartResult struct {
	XMLName      xml.Name `xml:"CopyPartResult"`
	Xmlns        string   `xml:"xmlns,attr"`
	ETag         string   `xml:"ETag"`
	LastModified string   `xml:"LastModified"`
}

// uploadPartCopy is UploadPartCopy: the part's bytes are the source object's (or the
// x-amz-copy-source-range of it), written as a new blob.
func (s *Service) uploadPartCopy(c *request) error {
	n, err := partNumberOf(c)
	if err != nil {
		return err
	}
	up, err := s.loadUpload(s.reader(c), c)
	if err != nil {
		return err
	}
	srcBucket, srcKey, err := copySource(c.r.Header.Get("X-Amz-Copy-Source"))
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
	start, length := int64(0), src.Size
	if rh := c.r.Header.Get("X-Amz-Copy-Source-Range"); rh != "" {
		a, b, ok := parseCopyRange(rh)
		if !ok || a > b || b >= src.Size {
			return errInvalidArgument("The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy",
				"x-amz-copy-source-range", rh)
		}
		start, length = a, b-a+1
	}
	if length > maxPutSize {
		return errEntityTooLarge(length, maxPutSize)
	}
	rd := newSegmentReader(s.bytes, src.Segments, start, length)
	md5h := md5.New()
	sha, size, err := s.bytes.Put(io.TeeReader(rd, md5h))
	rd.Close()
	if err != nil {
		return errInternal(err)
	}
	if size != length {
		s.gc.discard(sha)
		return errInternal(fmt.Errorf("copy part: read %d of %d bytes", size, length))
	}
	part := &partRecord{PartNumber: n, ETag: `"` + hex.EncodeToString(md5h.Sum(nil)) + `"`, Size: size, SHA: sha, LastModified: s.now().UTC()}
	if err := s.commitPart(c, up, part); err != nil {
		s.gc.discard(sha)
		return err
	}
	c.writeXML(http.StatusOK, copyPartResult{Xmlns: xmlns, ETag: part.ETag, LastModified: s3Time(part.LastModified)})
	return nil
}

func parseCopyRange(h string) (int64, int64, bool) {
	spec, ok := strings.CutPrefix(strings.TrimSpace(h), "bytes=")
	if !ok {
		return 0, 0, false
	}
	a, b, ok := strings.Cut(spec, "-")
	if !ok {
		return 0, 0, false
	}
	x, err1 := strconv.ParseInt(a, 10, 64)
	y, err2 := strconv.ParseInt(b, 10, 64)
	return x, y, err1 == nil && err2 == nil && x >= 0
}

func (s *Service) listPartRecords(r store.Reader, id string) ([]*partRecord, error) {
	parts, err := store.ListRecords[partRecord](r, partPrefix(id))
	if err != nil {
		return nil, errInternal(err)
	}
	return parts, nil
}

type completeMultipartUpload struct {
	XMLName xml.Name `xml:"CompleteMultipartUpload"`
	Parts   []struct {
		PartNumber     int    `xml:"PartNumber"`
		ETag           string `xml:"ETag"`
		ChecksumCRC32  string `xml:"ChecksumCRC32"`
		ChecksumCRC32C string `xml:"ChecksumCRC32C"`
		ChecksumSHA1   string `xml:"ChecksumSHA1"`
		ChecksumSHA256 string `xml:"ChecksumSHA256"`
	} `xml:"Part"`
}

type completeMultipartUploadResult struct {
	XMLName           xml.Name `xml:"CompleteMultipartUploadResult"`
	Xmlns             string   `xml:"xmlns,attr"`
	Location          string   `xml:"Location"`
	Bucket            string   `xml:"Bucket"`
	Key               string   `xml:"Key"`
	ETag              string   `xml:"ETag"`
	ChecksumCRC32     string   `xml:"ChecksumCRC32,omitempty"`
	ChecksumCRC32C    string   `xml:"ChecksumCRC32C,omitempty"`
	ChecksumCRC64NVME string   `xml:"ChecksumCRC64NVME,omitempty"`
	ChecksumSHA1      string   `xml:"ChecksumSHA1,omitempty"`
	ChecksumSHA256    string   `xml:"ChecksumSHA256,omitempty"`
	ChecksumType      string   `xml:"ChecksumType,omitempty"`
}

// completeMultipartUpload assembles the listed parts into the object: parts in
// ascending order, each named with its ETag, all but the last at least 5 MiB. The
// ETag is S3's: the MD5 of the parts' binary MD5s, "-" and the part count.
func (s *Service) completeMultipartUpload(c *request) error {
	up, err := s.loadUpload(s.reader(c), c)
	if err != nil {
		return err
	}
	var in completeMultipartUpload
	if err := c.readXML(&in); err != nil {
		return err
	}
	if len(in.Parts) == 0 {
		return errInvalidRequest("You must specify at least one part")
	}
	stored, err := s.listPartRecords(s.reader(c), up.UploadID)
	if err != nil {
		return err
	}
	byNumber := map[int]*partRecord{}
	for _, p := range stored {
		byNumber[p.PartNumber] = p
	}
	obj := &objectRecord{Key: c.key, ID: uuid.NewString(), Headers: up.Headers, Meta: up.Meta, Tags: up.Tags}
	md5s := md5.New()
	var sums []byte
	prev := 0
	for _, p := range in.Parts {
		if p.PartNumber <= prev {
			return s3err(http.StatusBadRequest, "InvalidPartOrder",
				"The list of parts was not in ascending order. Parts must be ordered by part number.", field("UploadId", up.UploadID))
		}
		prev = p.PartNumber
	}
	for i, p := range in.Parts {
		sp := byNumber[p.PartNumber]
		if sp == nil || strings.Trim(p.ETag, `" `) != strings.Trim(sp.ETag, `"`) {
			return s3err(http.StatusBadRequest, "InvalidPart",
				"One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.",
				field("UploadId", up.UploadID), field("PartNumber", strconv.Itoa(p.PartNumber)), field("ETag", p.ETag))
		}
		if i < len(in.Parts)-1 && sp.Size < minPartSize {
			return s3err(http.StatusBadRequest, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size",
				field("ProposedSize", strconv.FormatInt(sp.Size, 10)), field("MinSizeAllowed", strconv.Itoa(minPartSize)),
				field("PartNumber", strconv.Itoa(p.PartNumber)), field("ETag", strings.Trim(sp.ETag, `"`)))
		}
		raw, _ := hex.DecodeString(strings.Trim(sp.ETag, `"`))
		md5s.Write(raw)
		if up.ChecksumAlgo != "" {
			b, _ := base64.StdEncoding.DecodeString(sp.Checksum)
			sums = append(sums, b...)
		}
		obj.Segments = append(obj.Segments, segment{SHA: sp.SHA, Size: sp.Size})
		obj.Size += sp.Size
	}
	obj.ETag = fmt.Sprintf(`"%s-%d"`, hex.EncodeToString(md5s.Sum(nil)), len(in.Parts))
	if up.ChecksumAlgo != "" {
		h := newChecksum(up.ChecksumAlgo)
		h.Write(sums)
		obj.Checksums = map[string]string{up.ChecksumAlgo: fmt.Sprintf("%s-%d", base64.StdEncoding.EncodeToString(h.Sum(nil)), len(in.Parts))}
		obj.ChecksumType = "COMPOSITE"
	}
	// Every part, used or not, loses its reference; the object's references to the
	// used ones are written in the same transaction (or before it, see commitObject).
	var drop gcItem
	for _, p := range stored {
		drop.Refs = append(drop.Refs, gcRef{SHA: p.SHA, Owner: partOwner(up.UploadID, p.PartNumber)})
	}
	err = s.commitObject(c, obj, "ObjectCreated:CompleteMultipartUpload", func(tx store.Tx, _ *objectRecord) error {
		if _, err := s.loadUpload(tx, c); err != nil {
			return err
		}
		if err := tx.Delete(uploadKey(c.bucket, up.UploadID)); err != nil {
			return err
		}
		return putGC(tx, drop)
	})
	if err != nil {
		return err
	}
	s.deletePartRecords(c, up.UploadID, stored)
	s.gc.kick()
	out := completeMultipartUploadResult{Xmlns: xmlns, Location: "/" + c.bucket + "/" + c.key, Bucket: c.bucket, Key: c.key,
		ETag: obj.ETag, ChecksumType: obj.ChecksumType}
	for algo, v := range obj.Checksums {
		switch algo {
		case "CRC32":
			out.ChecksumCRC32 = v
		case "CRC32C":
			out.ChecksumCRC32C = v
		case "CRC64NVME":
			out.ChecksumCRC64NVME = v
		case "SHA1":
			out.ChecksumSHA1 = v
		case "SHA256":
			out.ChecksumSHA256 = v
		}
	}
	c.w.Header().Set("X-Amz-Server-Side-Encryption", "AES256")
	c.writeXML(http.StatusOK, out)
	return nil
}

// deletePartRecords removes a finished upload's part records in small batches; the
// upload record is already gone, so leftovers are unreachable, only untidy.
func (s *Service) deletePartRecords(c *request, id string, parts []*partRecord) {
	for start := 0; start < len(parts); start += gcBatch {
		batch := parts[start:min(start+gcBatch, len(parts))]
		_ = s.store.Update(c.ctx(), func(tx store.Tx) error {
			for _, p := range batch {
				if err := tx.Delete(partKey(id, p.PartNumber)); err != nil {
					return err
				}
			}
			return nil
		})
	}
}

func (s *Service) abortMultipartUpload(c *request) error {
	var stored []*partRecord
	err := s.store.Update(c.ctx(), func(tx store.Tx) error {
		up, err := s.loadUpload(tx, c)
		if err != nil {
			return err
		}
		if stored, err = s.listPartRecords(tx, up.UploadID); err != nil {
			return err
		}
		var drop gcItem
		for _, p := range stored {
			drop.Refs = append(drop.Refs, gcRef{SHA: p.SHA, Owner: partOwner(up.UploadID, p.PartNumber)})
		}
		if err := tx.Delete(uploadKey(c.bucket, up.UploadID)); err != nil {
			return err
		}
		return putGC(tx, drop)
	})
	if err != nil {
		return err
	}
	s.deletePartRecords(c, c.query.Get("uploadId"), stored)
	s.gc.kick()
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

type partInfo struct {
	PartNumber     int    `xml:"PartNumber"`
	LastModified   string `xml:"LastModified"`
	ETag           string `xml:"ETag"`
	Size           int64  `xml:"Size"`
	ChecksumCRC32  string `xml:"ChecksumCRC32,omitempty"`
	ChecksumCRC32C string `xml:"ChecksumCRC32C,omitempty"`
	ChecksumSHA1   string `xml:"ChecksumSHA1,omitempty"`
	ChecksumSHA256 string `xml:"ChecksumSHA256,omitempty"`
}

type listPartsResult struct {
	XMLName              xml.Name   `xml:"ListPartsResult"`
	Xmlns                string     `xml:"xmlns,attr"`
	Bucket               string     `xml:"Bucket"`
	Key                  string     `xml:"Key"`
	UploadID             string     `xml:"UploadId"`
	PartNumberMarker     int        `xml:"PartNumberMarker"`
	NextPartNumberMarker int        `xml:"NextPartNumberMarker"`
	MaxParts             int        `xml:"MaxParts"`
	IsTruncated          bool       `xml:"IsTruncated"`
	Parts                []partInfo `xml:"Part"`
	Initiator            *owner     `xml:"Initiator"`
	Owner                *owner     `xml:"Owner"`
	StorageClass         string     `xml:"StorageClass"`
	ChecksumAlgorithm    string     `xml:"ChecksumAlgorithm,omitempty"`
}

func (s *Service) listParts(c *request) error {
	up, err := s.loadUpload(s.reader(c), c)
	if err != nil {
		return err
	}
	parts, err := s.listPartRecords(s.reader(c), up.UploadID)
	if err != nil {
		return err
	}
	max := 1000
	if v := c.query.Get("max-parts"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n >= 0 {
			max = min(n, 1000)
		}
	}
	marker, _ := strconv.Atoi(c.query.Get("part-number-marker"))
	out := listPartsResult{Xmlns: xmlns, Bucket: c.bucket, Key: c.key, UploadID: up.UploadID, PartNumberMarker: marker,
		MaxParts: max, Initiator: s.owner(), Owner: s.owner(), StorageClass: "STANDARD", ChecksumAlgorithm: up.ChecksumAlgo}
	for _, p := range parts {
		if p.PartNumber <= marker {
			continue
		}
		if len(out.Parts) >= max {
			out.IsTruncated = true
			break
		}
		pi := partInfo{PartNumber: p.PartNumber, LastModified: s3Time(p.LastModified), ETag: p.ETag, Size: p.Size}
		switch up.ChecksumAlgo {
		case "CRC32":
			pi.ChecksumCRC32 = p.Checksum
		case "CRC32C":
			pi.ChecksumCRC32C = p.Checksum
		case "SHA1":
			pi.ChecksumSHA1 = p.Checksum
		case "SHA256":
			pi.ChecksumSHA256 = p.Checksum
		}
		out.Parts = append(out.Parts, pi)
		out.NextPartNumberMarker = p.PartNumber
	}
	c.writeXML(http.StatusOK, out)
	return nil
}

type uploadInfo struct {
	Key          string `xml:"Key"`
	UploadID     string `xml:"UploadId"`
	Initiator    *owner `xml:"Initiator"`
	Owner        *owner `xml:"Owner"`
	StorageClass string `xml:"StorageClass"`
	Initiated    string `xml:"Initiated"`
}

type listMultipartUploadsResult struct {
	XMLName            xml.Name       `xml:"ListMultipartUploadsResult"`
	Xmlns              string         `xml:"xmlns,attr"`
	Bucket             string         `xml:"Bucket"`
	KeyMarker          string         `xml:"KeyMarker"`
	UploadIDMarker     string         `xml:"UploadIdMarker"`
	NextKeyMarker      string         `xml:"NextKeyMarker,omitempty"`
	NextUploadIDMarker string         `xml:"NextUploadIdMarker,omitempty"`
	Prefix             string         `xml:"Prefix,omitempty"`
	MaxUploads         int            `xml:"MaxUploads"`
	IsTruncated        bool           `xml:"IsTruncated"`
	Uploads            []uploadInfo   `xml:"Upload"`
	CommonPrefixes     []commonPrefix `xml:"CommonPrefixes"`
}

// listMultipartUploads lists uploads in progress by key, then initiation time.
func (s *Service) listMultipartUploads(c *request) error {
	if _, err := s.loadBucket(s.reader(c), c.bucket); err != nil {
		return err
	}
	kvs, err := s.store.List(c.ctx(), uploadPrefix(c.bucket))
	if err != nil {
		return errInternal(err)
	}
	var ups []*uploadRecord
	prefix := c.query.Get("prefix")
	for _, kv := range kvs {
		var u uploadRecord
		if err := json.Unmarshal(kv.Value, &u); err != nil {
			return errInternal(err)
		}
		if strings.HasPrefix(u.Key, prefix) {
			ups = append(ups, &u)
		}
	}
	sort.Slice(ups, func(i, j int) bool {
		if ups[i].Key != ups[j].Key {
			return ups[i].Key < ups[j].Key
		}
		return ups[i].Initiated.Before(ups[j].Initiated)
	})
	max := 1000
	if v := c.query.Get("max-uploads"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n >= 0 {
			max = min(n, 1000)
		}
	}
	keyMarker := c.query.Get("key-marker")
	out := listMultipartUploadsResult{Xmlns: xmlns, Bucket: c.bucket, KeyMarker: keyMarker,
		UploadIDMarker: c.query.Get("upload-id-marker"), Prefix: prefix, MaxUploads: max}
	for _, u := range ups {
		if keyMarker != "" && u.Key <= keyMarker {
			continue
		}
		if len(out.Uploads) >= max {
			out.IsTruncated = true
			break
		}
		out.Uploads = append(out.Uploads, uploadInfo{Key: u.Key, UploadID: u.UploadID, Initiator: s.owner(), Owner: s.owner(),
			StorageClass: "STANDARD", Initiated: s3Time(u.Initiated)})
		out.NextKeyMarker, out.NextUploadIDMarker = u.Key, u.UploadID
	}
	if !out.IsTruncated {
		out.NextKeyMarker, out.NextUploadIDMarker = "", ""
	}
	c.writeXML(http.StatusOK, out)
	return nil
}
