package s3

import (
	"encoding/xml"
	"errors"
	"net/http"
	"sort"
	"strings"

	"github.com/sluice-dev/sluice/internal/store"
)

// loadBucket reads the bucket record or answers NoSuchBucket.
func (s *Service) loadBucket(r store.Reader, name string) (*bucketRecord, error) {
	b, ok, err := store.GetRecord[bucketRecord](r, bucketKey(name))
	if err != nil {
		return nil, errInternal(err)
	}
	if !ok {
		return nil, errNoSuchBucket(name)
	}
	return b, nil
}

func (s *Service) reader(c *request) store.Reader { return store.ReaderOf(c.ctx(), s.store) }

// updateBucket runs fn on the bucket record in a transaction and writes it back.
func (s *Service) updateBucket(c *request, fn func(b *bucketRecord) error) error {
	return s.store.Update(c.ctx(), func(tx store.Tx) error {
		b, err := s.loadBucket(tx, c.bucket)
		if err != nil {
			return err
		}
		if err := fn(b); err != nil {
			return err
		}
		return store.PutRecord(tx, bucketKey(c.bucket), b)
	})
}

type createBucketConfiguration struct {
	LocationConstraint string `xml:"LocationConstraint"`
}

// createBucket is CreateBucket. Sluice is one account in one region: a bucket is
// created in the region Sluice serves, and re-creating one's own bucket in us-east-1
// succeeds as S3 documents (elsewhere it is BucketAlreadyOwnedByYou).
func (s *Service) createBucket(c *request) error {
	if !validBucketName(c.bucket) {
		return errInvalidBucketName(c.bucket)
	}
	var cfg createBucketConfiguration
	if c.r.ContentLength != 0 {
		var raw struct {
			XMLName xml.Name
			createBucketConfiguration
		}
		if err := c.readXMLAllowEmpty(&raw); err != nil {
			return err
		}
		cfg = raw.createBucketConfiguration
	}
	switch {
	case cfg.LocationConstraint == "" && s.region != "us-east-1":
		return s3err(http.StatusBadRequest, "IllegalLocationConstraintException",
			"The unspecified location constraint is incompatible for the region specific endpoint this request was sent to.")
	case cfg.LocationConstraint == "us-east-1" && s.region == "us-east-1":
		return s3err(http.StatusBadRequest, "InvalidLocationConstraint", "The specified location-constraint is not valid",
			field("LocationConstraint", cfg.LocationConstraint))
	case cfg.LocationConstraint != "" && cfg.LocationConstraint != s.region:
		return s3err(http.StatusBadRequest, "IllegalLocationConstraintException",
			"The "+cfg.LocationConstraint+" location constraint is incompatible for the region specific endpoint this request was sent to.")
	}
	err := s.store.Update(c.ctx(), func(tx store.Tx) error {
		_, ok, err := store.GetRecord[bucketRecord](tx, bucketKey(c.bucket))
		if err != nil {
			return err
		}
		if ok {
			if s.region == "us-east-1" {
				return errAlreadyOwnedUSEast1
			}
			return errBucketAlreadyOwnedByYou(c.bucket)
		}
		return store.PutRecord(tx, bucketKey(c.bucket), &bucketRecord{Name: c.bucket, Region: s.region, Created: s.now().UTC()})
	})
	if err != nil && !errors.Is(err, errAlreadyOwnedUSEast1) {
		return err
	}
	c.w.Header().Set("Location", "/"+c.bucket)
	c.w.WriteHeader(http.StatusOK)
	return nil
}

var errAlreadyOwnedUSEast1 = errors.New("bucket exists and is ours (us-east-1)")

// readXMLAllowEmpty is readXML for optional bodies: an empty body leaves v alone.
func (c *request) readXMLAllowEmpty(v any) error {
	buf := make([]byte, 0, 512)
	tmp := make([]byte, 4096)
	for {
		n, err := c.r.Body.Read(tmp)
		buf = append(buf, tmp[:n]...)
		if len(buf) > maxXMLBody {
			return errMalformedXML()
		}
		if err != nil {
			break
		}
	}
	if strings.TrimSpace(string(buf)) == "" {
		return nil
	}
	if err := xml.Unmarshal(buf, v); err != nil {
		return errMalformedXML()
	}
	return nil
}

func (s *Service) headBucket(c *request) error {
	b, err := s.loadBucket(s.reader(c), c.bucket)
	if err != nil {
		return err
	}
	h := c.w.Header()
	h.Set("X-Amz-Bucket-Region", b.Region)
	h.Set("X-Amz-Access-Point-Alias", "false")
	c.w.WriteHeader(http.StatusOK)
	return nil
}

// deleteBucket is DeleteBucket: only an empty bucket (no objects, no multipart
// uploads in progress) can go.
func (s *Service) deleteBucket(c *request) error {
	err := s.store.Update(c.ctx(), func(tx store.Tx) error {
		if _, err := s.loadBucket(tx, c.bucket); err != nil {
			return err
		}
		objs, err := tx.List(objectPrefix(c.bucket))
		if err != nil {
			return err
		}
		ups, err := tx.List(uploadPrefix(c.bucket))
		if err != nil {
			return err
		}
		if len(objs) > 0 || len(ups) > 0 {
			return errBucketNotEmpty(c.bucket)
		}
		return tx.Delete(bucketKey(c.bucket))
	})
	if err != nil {
		return err
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

type owner struct {
	ID          string `xml:"ID"`
	DisplayName string `xml:"DisplayName,omitempty"`
}

func (s *Service) owner() *owner { return &owner{ID: s.canonicalUserID(), DisplayName: "sluice"} }

type listAllMyBucketsResult struct {
	XMLName xml.Name     `xml:"ListAllMyBucketsResult"`
	Xmlns   string       `xml:"xmlns,attr"`
	Owner   *owner       `xml:"Owner"`
	Buckets []bucketInfo `xml:"Buckets>Bucket"`
	Prefix  string       `xml:"Prefix,omitempty"`
}

type bucketInfo struct {
	Name         string `xml:"Name"`
	CreationDate string `xml:"CreationDate"`
	BucketRegion string `xml:"BucketRegion,omitempty"`
}

func (s *Service) listBuckets(c *request) error {
	bs, err := store.ListRecords[bucketRecord](s.reader(c), prefixBuckets)
	if err != nil {
		return errInternal(err)
	}
	prefix := c.query.Get("prefix")
	out := listAllMyBucketsResult{Xmlns: xmlns, Owner: s.owner(), Prefix: prefix}
	for _, b := range bs {
		if !strings.HasPrefix(b.Name, prefix) {
			continue
		}
		out.Buckets = append(out.Buckets, bucketInfo{Name: b.Name, CreationDate: s3Time(b.Created), BucketRegion: b.Region})
	}
	sort.Slice(out.Buckets, func(i, j int) bool { return out.Buckets[i].Name < out.Buckets[j].Name })
	c.writeXML(http.StatusOK, out)
	return nil
}

type locationConstraint struct {
	XMLName xml.Name `xml:"LocationConstraint"`
	Xmlns   string   `xml:"xmlns,attr"`
	Region  string   `xml:",chardata"`
}

// getBucketLocation answers the region, empty for us-east-1 as S3 does.
func (s *Service) getBucketLocation(c *request) error {
	b, err := s.loadBucket(s.reader(c), c.bucket)
	if err != nil {
		return err
	}
	region := b.Region
	if region == "us-east-1" {
		region = ""
	}
	c.writeXML(http.StatusOK, locationConstraint{Xmlns: xmlns, Region: region})
	return nil
}

type tagging struct {
	XMLName xml.Name `xml:"Tagging"`
	Xmlns   string   `xml:"xmlns,attr,omitempty"`
	TagSet  []tag    `xml:"TagSet>Tag"`
}

// validateTags applies S3's tag limits: keys 1-128 and values 0-256 characters,
// unique keys, at most maxTags tags.
func validateTags(tags []tag, maxTags int) error {
	if len(tags) > maxTags {
		return s3err(http.StatusBadRequest, "BadRequest", "Object tags cannot be greater than 10")
	}
	seen := map[string]bool{}
	for _, t := range tags {
		if len([]rune(t.Key)) < 1 || len([]rune(t.Key)) > 128 || len([]rune(t.Value)) > 256 {
			return s3err(http.StatusBadRequest, "InvalidTag", "The TagKey you have provided is invalid")
		}
		if seen[t.Key] {
			return s3err(http.StatusBadRequest, "InvalidTag", "Cannot provide multiple Tags with the same key")
		}
		if strings.HasPrefix(strings.ToLower(t.Key), "aws:") {
			return s3err(http.StatusBadRequest, "InvalidTag", "Your TagKey cannot be prefixed with aws:")
		}
		seen[t.Key] = true
	}
	return nil
}

func (s *Service) putBucketTagging(c *request) error {
	var in tagging
	if err := c.readXML(&in); err != nil {
		return err
	}
	if err := validateTags(in.TagSet, 50); err != nil {
		return err
	}
	if err := s.updateBucket(c, func(b *bucketRecord) error { b.Tags = in.TagSet; return nil }); err != nil {
		return err
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Service) getBucketTagging(c *request) error {
	b, err := s.loadBucket(s.reader(c), c.bucket)
	if err != nil {
		return err
	}
	if len(b.Tags) == 0 {
		return s3err(http.StatusNotFound, "NoSuchTagSet", "The TagSet does not exist", field("BucketName", c.bucket))
	}
	c.writeXML(http.StatusOK, tagging{Xmlns: xmlns, TagSet: b.Tags})
	return nil
}

func (s *Service) deleteBucketTagging(c *request) error {
	if err := s.updateBucket(c, func(b *bucketRecord) error { b.Tags = nil; return nil }); err != nil {
		return err
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

type versioningConfiguration struct {
	XMLName   xml.Name `xml:"VersioningConfiguration"`
	Xmlns     string   `xml:"xmlns,attr,omitempty"`
	Status    string   `xml:"Status,omitempty"`
	MfaDelete string   `xml:"MfaDelete,omitempty"`
}

// getBucketVersioning: a bucket that never had versioning answers an empty
// configuration; one suspended answers Suspended.
func (s *Service) getBucketVersioning(c *request) error {
	b, err := s.loadBucket(s.reader(c), c.bucket)
	if err != nil {
		return err
	}
	c.writeXML(http.StatusOK, versioningConfiguration{Xmlns: xmlns, Status: b.Versioning})
	return nil
}

// putBucketVersioning accepts Suspended (which, on a bucket that never had versions,
// changes nothing observable but the status); Enabled is refused with 501: Sluice
// keeps one version per key.
func (s *Service) putBucketVersioning(c *request) error {
	var in versioningConfiguration
	if err := c.readXML(&in); err != nil {
		return err
	}
	switch in.Status {
	case "Suspended":
	case "Enabled":
		return errNotImplemented("Sluice keeps one version of each object; versioning cannot be enabled.")
	default:
		return errMalformedXML()
	}
	if err := s.updateBucket(c, func(b *bucketRecord) error { b.Versioning = in.Status; return nil }); err != nil {
		return err
	}
	c.w.WriteHeader(http.StatusOK)
	return nil
}

type accessControlPolicy struct {
	XMLName xml.Name `xml:"AccessControlPolicy"`
	Xmlns   string   `xml:"xmlns,attr"`
	Owner   *owner   `xml:"Owner"`
	Grants  []grant  `xml:"AccessControlList>Grant"`
}

type grant struct {
	Grantee    grantee `xml:"Grantee"`
	Permission string  `xml:"Permission"`
}

type grantee struct {
	XMLNSXSI    string `xml:"xmlns:xsi,attr"`
	Type        string `xml:"xsi:type,attr"`
	ID          string `xml:"ID"`
	DisplayName string `xml:"DisplayName,omitempty"`
}

// getBucketACL answers the only ACL Sluice has: the owner with FULL_CONTROL (S3's
// default with ACLs disabled, "bucket owner enforced").
func (s *Service) getBucketACL(c *request) error {
	if _, err := s.loadBucket(s.reader(c), c.bucket); err != nil {
		return err
	}
	o := s.owner()
	c.writeXML(http.StatusOK, accessControlPolicy{Xmlns: xmlns, Owner: o, Grants: []grant{{
		Grantee:    grantee{XMLNSXSI: "http://www.w3.org/2001/XMLSchema-instance", Type: "CanonicalUser", ID: o.ID, DisplayName: o.DisplayName},
		Permission: "FULL_CONTROL",
	}}})
	return nil
}
