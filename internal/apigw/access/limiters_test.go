package access

import (
	"testing"
	"time"
)

// With N nodes sharing a limit, each node's bucket holds 1/N of the rate and
// burst (at least one), and follows the node count as it changes.
func TestLimitersShare(t *testing.T) {
	now := time.Unix(1700000000, 0)
	admitted := func(l *Limiters, n int) int {
		ok := 0
		for range n {
			if l.Allow("stage", 10, 6, now) {
				ok++
			}
		}
		return ok
	}
	if got := admitted(NewLimiters(), 20); got != 6 {
		t.Fatalf("one node: %d admitted of a burst of 6", got)
	}
	nodes := 3
	l := NewLimiters()
	l.Share = func() int { return nodes }
	if got := admitted(l, 20); got != 2 {
		t.Fatalf("three nodes: %d admitted on this node, want 6/3", got)
	}
	nodes = 12 // more nodes than burst: at least one each
	if got := admitted(l, 20); got != 1 {
		t.Fatalf("twelve nodes: %d admitted, want 1", got)
	}
	if !l.Allow("free", 0, 0, now) {
		t.Fatal("no limit refused")
	}
}
