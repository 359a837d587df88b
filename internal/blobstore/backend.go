package blobstore

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// Blobs is what services use to keep immutable, content-addressed bytes. There are
// two implementations: *Store, a directory on local disk (the default, one node),
// and *Cached, a shared Backend (an S3-compatible bucket, for clusters) behind a
// bounded local cache.
//
// Open and Path always name a local file: a Cached store fetches the blob into its
// cache first (Fetch), verifying its SHA-256.
type Blobs interface {
	// Put stores everything read from r and returns its hex SHA-256 and size. It
	// returns only once the bytes are durable where every node can read them.
	Put(r io.Reader) (sha256Hex string, size int64, err error)
	// Fetch makes the blob readable through Open and Path on this node, or returns an
	// error satisfying errors.Is(err, fs.ErrNotExist) when no backend has it.
	Fetch(ctx context.Context, sha256Hex string) error
	Open(sha256Hex string) (*os.File, error)
	Path(sha256Hex string) string
	Exists(sha256Hex string) bool
	Delete(sha256Hex string) error
	// Sweep deletes every blob last put before before for which keep is false.
	Sweep(keep func(sha string) bool, before time.Time) (int, error)
}

// Backend is a shared object store holding blobs by digest: what a cluster's nodes
// read each other's code and objects from.
type Backend interface {
	// Put uploads size bytes read from r as the blob sha; it returns once the
	// backend acknowledged them. r is seekable so a failed attempt can be retried.
	// Putting an existing blob again renews its modification time.
	Put(ctx context.Context, sha string, size int64, r io.ReadSeeker) error
	// Get reads the blob; an error satisfying errors.Is(err, fs.ErrNotExist) when
	// it is missing.
	Get(ctx context.Context, sha string) (io.ReadCloser, error)
	// Modified is when the blob was last put, or fs.ErrNotExist.
	Modified(ctx context.Context, sha string) (time.Time, error)
	// Delete removes the blob; a missing blob is not an error.
	Delete(ctx context.Context, sha string) error
	// List calls fn for every blob with its modification time.
	List(ctx context.Context, fn func(sha string, modified time.Time) error) error
	// String names the backend for logs (s3://bucket/prefix).
	String() string
}

// S3Backend keeps blobs in an S3-compatible bucket (AWS S3, MinIO, Ceph RGW,
// SeaweedFS, another Sluice) as objects {prefix}sha256/{digest}.
type S3Backend struct {
	client *s3.Client
	bucket string
	prefix string // "" or ends in "/"
}

// OpenS3 parses an s3://bucket/prefix URL and builds an S3 client with the
// standard AWS credential chain (environment, shared config, SSO, IMDS). endpoint,
// when set, is an S3-compatible service's URL (path-style addressing); empty means
// AWS S3 in the configured region.
func OpenS3(ctx context.Context, rawURL, endpoint, region string) (*S3Backend, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme != "s3" || u.Host == "" {
		return nil, fmt.Errorf("blob store %q: want s3://bucket/prefix", rawURL)
	}
	prefix := strings.Trim(u.Path, "/")
	if prefix != "" {
		prefix += "/"
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("blob store %s: aws config: %w", rawURL, err)
	}
	if cfg.Region == "" {
		// No AWS_REGION or profile region: Sluice's own region.
		cfg.Region = region
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
			o.UsePathStyle = true
		}
		// We send our own SHA-256 checksum with every upload; extra trailing
		// checksums (aws-chunked bodies) are not understood by every S3-compatible store.
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	})
	return &S3Backend{client: client, bucket: u.Host, prefix: prefix}, nil
}

// Check fails when the bucket cannot be reached with the credentials at hand, so
// a misconfigured node refuses to start instead of failing its first write.
func (b *S3Backend) Check(ctx context.Context) error {
	if _, err := b.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(b.bucket)}); err != nil {
		return fmt.Errorf("blob store %s: %w", b, err)
	}
	return nil
}

func (b *S3Backend) key(sha string) string { return b.prefix + "sha256/" + sha }

func (b *S3Backend) String() string { return "s3://" + b.bucket + "/" + b.prefix }

// Put implements Backend. The object carries x-amz-checksum-sha256, so S3 itself
// refuses a body that arrived damaged (BadDigest).
func (b *S3Backend) Put(ctx context.Context, sha string, size int64, r io.ReadSeeker) error {
	raw, err := hex.DecodeString(sha)
	if err != nil {
		return fmt.Errorf("blob put %s: %w", sha, ErrInvalidDigest)
	}
	_, err = b.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:         aws.String(b.bucket),
		Key:            aws.String(b.key(sha)),
		Body:           r,
		ContentLength:  aws.Int64(size),
		ChecksumSHA256: aws.String(base64.StdEncoding.EncodeToString(raw)),
	})
	if err != nil {
		return fmt.Errorf("blob put %s to %s: %w", sha, b, err)
	}
	return nil
}

// Get implements Backend.
func (b *S3Backend) Get(ctx context.Context, sha string) (io.ReadCloser, error) {
	out, err := b.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b.bucket), Key: aws.String(b.key(sha))})
	if err != nil {
		if notFound(err) {
			return nil, fmt.Errorf("blob %s in %s: %w", sha, b, fs.ErrNotExist)
		}
		return nil, fmt.Errorf("blob get %s from %s: %w", sha, b, err)
	}
	return out.Body, nil
}

// Modified implements Backend.
func (b *S3Backend) Modified(ctx context.Context, sha string) (time.Time, error) {
	out, err := b.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(b.bucket), Key: aws.String(b.key(sha))})
	if err != nil {
		if notFound(err) {
			return time.Time{}, fmt.Errorf("blob %s in %s: %w", sha, b, fs.ErrNotExist)
		}
		return time.Time{}, fmt.Errorf("blob head %s in %s: %w", sha, b, err)
	}
	return aws.ToTime(out.LastModified), nil
}

// Delete implements Backend (S3's DeleteObject succeeds for a missing key).
func (b *S3Backend) Delete(ctx context.Context, sha string) error {
	if _, err := b.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(b.bucket), Key: aws.String(b.key(sha))}); err != nil && !notFound(err) {
		return fmt.Errorf("blob delete %s from %s: %w", sha, b, err)
	}
	return nil
}

// List implements Backend with ListObjectsV2 under {prefix}sha256/.
func (b *S3Backend) List(ctx context.Context, fn func(sha string, modified time.Time) error) error {
	p := s3.NewListObjectsV2Paginator(b.client, &s3.ListObjectsV2Input{Bucket: aws.String(b.bucket), Prefix: aws.String(b.prefix + "sha256/")})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("blob list %s: %w", b, err)
		}
		for _, o := range page.Contents {
			sha := strings.TrimPrefix(aws.ToString(o.Key), b.prefix+"sha256/")
			if !validDigest(sha) {
				continue
			}
			if err := fn(sha, aws.ToTime(o.LastModified)); err != nil {
				return err
			}
		}
	}
	return nil
}

func notFound(err error) bool {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "NoSuchKey", "NotFound", "404":
			return true
		}
	}
	return false
}
