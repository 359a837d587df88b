package server

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/sluice-dev/sluice/internal/blobstore"
)

// openBlobs opens the blob store of one owner ("code" for function code in
// data-dir/blobs, "s3" for object bodies in data-dir/s3/blobs, "logs" for the
// cluster's log chunks in data-dir/logship/blobs): a directory under the data dir,
// or, with --blob-store s3://bucket/prefix, the shared bucket under prefix/<owner>
// behind a local cache in that same directory.
func openBlobs(ctx context.Context, cfg Config, owner string, logger *slog.Logger) (blobstore.Blobs, error) {
	dir := filepath.Join(cfg.DataDir, map[string]string{"code": "blobs", "s3": filepath.Join("s3", "blobs"),
		"logs": filepath.Join("logship", "blobs")}[owner])
	if !cfg.sharedBlobs() {
		return blobstore.New(dir)
	}
	backend, err := blobstore.OpenS3(ctx, strings.TrimSuffix(cfg.BlobStore, "/")+"/"+owner, cfg.BlobStoreEndpoint, cfg.Region)
	if err != nil {
		return nil, err
	}
	if err := backend.Check(ctx); err != nil {
		return nil, err
	}
	c, err := blobstore.NewCached(dir, backend, cfg.BlobCacheBytes, logger.With("component", "blobs", "backend", backend.String()))
	if err != nil {
		return nil, fmt.Errorf("blob cache: %w", err)
	}
	return c, nil
}

// sharedBlobs reports whether blobs live in a store every node reads.
func (c Config) sharedBlobs() bool { return strings.HasPrefix(c.BlobStore, "s3://") }

func (c Config) validateBlobs() error {
	switch {
	case c.BlobStore == "" || c.BlobStore == "local":
	case strings.HasPrefix(c.BlobStore, "s3://") && len(strings.TrimPrefix(c.BlobStore, "s3://")) > 0 &&
		!strings.HasPrefix(c.BlobStore, "s3:///"):
	default:
		return fmt.Errorf("--blob-store %q: want local or s3://bucket/prefix", c.BlobStore)
	}
	if c.BlobStoreEndpoint != "" && !c.sharedBlobs() {
		return fmt.Errorf("--blob-store-endpoint needs --blob-store s3://bucket/prefix")
	}
	if c.BlobCacheBytes < 0 {
		return fmt.Errorf("--blob-cache-bytes must not be negative")
	}
	return nil
}
