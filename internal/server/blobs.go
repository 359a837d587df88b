package server

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/sluice-dev/sluice/internal/blobstore"
)

// openBlobs opens the blob store of one owner (sub is "blobs" for function code,
// "s3/blobs" for object bodies): a directory under the data dir, or, with
// --blob-store s3://bucket/prefix, the shared bucket under prefix/{code,s3} behind
// a local cache in that same directory.
func openBlobs(ctx context.Context, cfg Config, sub string, logger *slog.Logger) (blobstore.Blobs, error) {
	dir := filepath.Join(cfg.DataDir, sub)
	if !cfg.sharedBlobs() {
		return blobstore.New(dir)
	}
	owner := "code"
	if sub != "blobs" {
		owner = "s3"
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
