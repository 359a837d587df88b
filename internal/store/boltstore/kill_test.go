package boltstore

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/sluice-dev/sluice/internal/store"
)

// childEnv names the store file when this test binary runs as the kill -9 child.
const childEnv = "SLUICE_BOLTSTORE_KILL_CHILD"

func killKey(i int) string   { return fmt.Sprintf("/kill/%08d", i) }
func killValue(i int) string { return "value-" + strconv.Itoa(i) + strings.Repeat("x", i%300) }

// TestKillChild is the child half of TestKillNineKeepsAckedWrites: it writes key i
// → value i forever and prints "ack i" after each Update returns.
func TestKillChild(t *testing.T) {
	path := os.Getenv(childEnv)
	if path == "" {
		t.Skip("only runs as the child of TestKillNineKeepsAckedWrites")
	}
	s, err := Open(path)
	if err != nil {
		fmt.Println("open error:", err)
		os.Exit(2)
	}
	start := 0
	if kvs, err := s.List(context.Background(), "/kill/"); err == nil {
		start = len(kvs)
	}
	for i := start; ; i++ {
		err := s.Update(context.Background(), func(tx store.Tx) error {
			return tx.Put(killKey(i), []byte(killValue(i)))
		})
		if err != nil {
			fmt.Println("update error:", err)
			os.Exit(2)
		}
		fmt.Printf("ack %d\n", i) // os.Stdout is unbuffered: the ack leaves before the next write
	}
}

// TestKillNineKeepsAckedWrites checks the store contract "a write that returns nil
// survives kill -9": a child process writes and acks, is SIGKILLed at a random
// moment mid-stream, and every acked key must be readable after reopening. Each
// round continues in the same file, so recovery of a killed file is exercised too.
func TestKillNineKeepsAckedWrites(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns child processes")
	}
	path := filepath.Join(t.TempDir(), "state.db")
	acked := -1
	for round := range 5 {
		last := runAndKill(t, path, 200+rand.IntN(200))
		if last < acked {
			t.Fatalf("round %d: child acked up to %d, earlier rounds reached %d", round, last, acked)
		}
		acked = last
		verifyAcked(t, path, acked)
		t.Logf("round %d: %d writes acked and present", round, acked+1)
	}
}

// runAndKill starts the child, waits for minAcks new acks, sleeps a random sub-
// millisecond-to-few-millisecond moment so the kill lands inside a write, SIGKILLs
// it, and returns the highest ack it printed.
func runAndKill(t *testing.T, path string, minAcks int) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKillChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"="+path)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(out)
	last, seen := -1, 0
	readAck := func() bool {
		if !lines.Scan() {
			return false
		}
		line := lines.Text()
		n, ok := strings.CutPrefix(line, "ack ")
		if !ok {
			t.Errorf("child said %q", line)
			return true
		}
		i, err := strconv.Atoi(n)
		if err != nil {
			t.Errorf("child said %q", line)
			return true
		}
		last = i
		seen++
		return true
	}
	for seen < minAcks {
		if !readAck() {
			_ = cmd.Wait()
			t.Fatalf("child exited after %d acks", seen)
		}
	}
	time.Sleep(time.Duration(rand.IntN(5000)) * time.Microsecond)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// Acks printed before death are still in the pipe: they count too.
	for readAck() {
	}
	if err := lines.Err(); err != nil && err != io.EOF {
		t.Fatal(err)
	}
	err = cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child did not die by SIGKILL: %v", err)
	}
	return last
}

func verifyAcked(t *testing.T, path string, acked int) {
	t.Helper()
	s, err := Open(path)
	if err != nil {
		t.Fatalf("reopen after kill: %v", err)
	}
	defer s.Close()
	for i := 0; i <= acked; i++ {
		v, err := s.Get(t.Context(), killKey(i))
		if err != nil || string(v) != killValue(i) {
			t.Fatalf("acked key %d after kill -9: %q, %v", i, v, err)
		}
	}
	kvs, err := s.List(t.Context(), "/kill/")
	if err != nil {
		t.Fatal(err)
	}
	// At most one unacked write (the one in flight) may have committed, and keys
	// are dense: there are no holes.
	if len(kvs) != acked+1 && len(kvs) != acked+2 {
		t.Fatalf("%d keys stored, %d acked", len(kvs), acked+1)
	}
	var prev int64
	for i, kv := range kvs {
		if kv.Key != killKey(i) || kv.Revision <= prev {
			t.Fatalf("entry %d = %q rev %d (previous rev %d)", i, kv.Key, kv.Revision, prev)
		}
		prev = kv.Revision
	}
	// bbolt's own consistency check over every page.
	if err := s.db.View(func(tx *bolt.Tx) error {
		var first error
		for err := range tx.Check() { // drain: Check's goroutine reads pages until done
			if first == nil {
				first = err
			}
		}
		return first
	}); err != nil {
		t.Fatalf("bbolt check after kill -9: %v", err)
	}
}
