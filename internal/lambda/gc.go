package lambda

import (
	"context"
	"log/slog"
	"regexp"
	"time"
)

// Garbage collection of code. Zips are content-addressed and shared, and a blob is
// written before the transaction that references it (which may then conflict or
// fail), so neither deletes nor failed writes can remove blobs directly. Instead a
// sweep marks every digest any Lambda record mentions (functions, versions, and
// whatever else later records carry: the scan does not depend on field names) and
// deletes the blobs, and the pool's extracted directories, that nothing mentions
// and that are older than gcGrace. The grace period covers a blob put for a record
// not committed yet; a repeated Put renews it. Sweeping is idempotent, so a crash
// mid-sweep loses nothing and the next sweep finishes the job.
const (
	gcGrace    = time.Hour
	gcInterval = time.Hour
)

type blobSweeper interface {
	Sweep(keep func(sha string) bool, before time.Time) (int, error)
}

type codeSweeper interface {
	SweepCode(keep func(sha string) bool, before time.Time) int
}

var digestRE = regexp.MustCompile(`[0-9a-f]{64}`)

// collectGarbage sweeps blobs and extracted code older than before that no
// record references.
func (s *Service) collectGarbage(ctx context.Context, before time.Time) (blobs, dirs int, err error) {
	blobs, dirs, _, err = s.sweepCode(ctx, before)
	return blobs, dirs, err
}

// sweepCode is collectGarbage telling whether it swept the blobs: where they are
// shared with other nodes, only the node sweepsBlobs names (the cluster's
// leader) does; every node sweeps its own extracted directories.
func (s *Service) sweepCode(ctx context.Context, before time.Time) (blobs, dirs int, sweptBlobs bool, err error) {
	kvs, err := s.store.List(ctx, "/lambda/")
	if err != nil {
		return 0, 0, false, err
	}
	refs := map[string]bool{}
	for _, kv := range kvs {
		for _, m := range digestRE.FindAll(kv.Value, -1) {
			refs[string(m)] = true
		}
	}
	keep := func(sha string) bool { return refs[sha] }
	if sw, ok := s.blobs.(blobSweeper); ok && s.sweepsBlobs() {
		sweptBlobs = true
		if blobs, err = sw.Sweep(keep, before); err != nil {
			return blobs, 0, true, err
		}
	}
	if sw, ok := s.runner.(codeSweeper); ok {
		dirs = sw.SweepCode(keep, before)
	}
	return blobs, dirs, sweptBlobs, nil
}

// collectGarbageLoop sweeps every gcInterval until ctx ends.
func (s *Service) collectGarbageLoop(ctx context.Context) {
	t := time.NewTicker(s.gcInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		blobs, dirs, swept, err := s.sweepCode(ctx, time.Now().Add(-gcGrace))
		if err != nil && ctx.Err() == nil {
			s.log.Warn("lambda: code garbage collection failed", "err", err)
			continue
		}
		level := slog.LevelDebug
		if blobs+dirs > 0 {
			level = slog.LevelInfo
		}
		s.log.Log(ctx, level, "lambda: code garbage collection", "swept_blobs", swept, "blobs", blobs, "extracted_dirs", dirs)
	}
}
