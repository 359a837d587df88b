package s3

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/internal/blobstore"
	"github.com/sluice-dev/sluice/internal/store"
	"github.com/sluice-dev/sluice/internal/store/memstore"
)

// A blob left by a write whose record never committed (no reference, no gcItem) is
// deleted once past the grace period; a referenced blob, a blob a writer holds and
// a young orphan stay.
func TestSweepOrphans(t *testing.T) {
	dir := t.TempDir()
	blobs, err := blobstore.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	st := memstore.New()
	g := newCollector(st, BlobBytes{Blobs: blobs}, slog.New(slog.DiscardHandler))
	put := func(s string) string {
		sha, _, err := blobs.Put(strings.NewReader(s))
		if err != nil {
			t.Fatal(err)
		}
		return sha
	}
	referenced, held, orphan, young := put("referenced"), put("held"), put("orphan"), put("young")
	ctx := context.Background()
	if err := st.Update(ctx, func(tx store.Tx) error { return tx.Put(refKey(referenced, "obj"), nil) }); err != nil {
		t.Fatal(err)
	}
	release, err := g.hold(held)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	old := time.Now().Add(-2 * orphanGrace)
	for _, sha := range []string{referenced, held, orphan} {
		if err := os.Chtimes(filepath.Join(dir, "sha256", sha[:2], sha), old, old); err != nil {
			t.Fatal(err)
		}
	}
	if n := g.sweepOrphans(ctx, time.Now().Add(-orphanGrace)); n != 1 {
		t.Fatalf("swept %d blobs, want 1 (the old orphan)", n)
	}
	for sha, want := range map[string]bool{referenced: true, held: true, orphan: false, young: true} {
		rc, err := blobs.Open(sha)
		if (err == nil) != want {
			t.Errorf("blob %s present = %v, want %v", sha[:8], err == nil, want)
		}
		if err == nil {
			rc.Close()
		}
	}
}
