package s3

import (
	"context"
	"io"
	"net/http"

	"github.com/sluice-dev/sluice/internal/sigv4"
	"github.com/sluice-dev/sluice/internal/store"
)

// OpenObject streams an object's bytes to another part of Sluice (Lambda reading a
// deployment package). Missing buckets and keys are S3's errors (NoSuchBucket,
// NoSuchKey); Sluice keeps one version, so only "" or "null" name it.
func (s *Service) OpenObject(ctx context.Context, bucket, key, versionID string) (io.ReadCloser, error) {
	obj, err := s.loadObject(store.ReaderOf(ctx, s.store), bucket, key)
	if err != nil {
		return nil, err
	}
	if versionID != "" && versionID != "null" {
		return nil, s3err(http.StatusNotFound, "NoSuchVersion", "The specified version does not exist.")
	}
	return newSegmentReader(s.bytes, obj.Segments, 0, obj.Size), nil
}

// Claims reports whether the server should hand r to S3: it is signed for service
// s3 (Authorization header or presigned X-Amz-Credential), or unsigned and addressed
// to an S3 host or, path style, to an existing bucket (browser uploads and CORS
// preflights carry no signature). Other unsigned paths are left to the rest of Sluice.
func (s *Service) Claims(r *http.Request) bool {
	if scope, ok := sigv4.ParseScope(r); ok {
		return scope.Service == "s3"
	}
	if !sigv4.IsAnonymous(r) {
		return false
	}
	ctx := r.Context()
	if b, ok := BucketFromHost(r.Host); ok {
		if IsS3Host(r.Host) && hostHasS3Label(r.Host) {
			return true
		}
		return s.BucketExists(ctx, b)
	}
	if IsS3Host(r.Host) {
		return true
	}
	bucket, _, _, err := addressOf(r)
	return err == nil && s.BucketExists(ctx, bucket)
}
