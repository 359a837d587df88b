package access

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sluice-dev/sluice/internal/store"
	"github.com/sluice-dev/sluice/internal/store/boltstore"
	"github.com/sluice-dev/sluice/internal/store/etcdstore"
	"github.com/sluice-dev/sluice/internal/store/etcdstore/etcdtest"
)

// startRedis runs a redis-server of its own on a free loopback port, without
// persistence, until the test ends. It skips the test only when Debian's
// redis-server is not installed (CI installs it: scripts/install-deps.sh).
func startRedis(t testing.TB) (url string, stop func()) {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server not installed (apt-get install redis-server)")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(bin, "--bind", "127.0.0.1", "--port", fmt.Sprint(port), "--save", "", "--appendonly", "no",
		"--dir", t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop = func() { once.Do(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }) }
	t.Cleanup(stop)
	url = fmt.Sprintf("redis://127.0.0.1:%d/2", port)
	opts, _ := redis.ParseURL(url)
	cli := redis.NewClient(opts)
	defer cli.Close()
	deadline := time.Now().Add(10 * time.Second)
	for cli.Ping(context.Background()).Err() != nil {
		if time.Now().After(deadline) {
			t.Fatal("redis-server did not answer within 10 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return url, stop
}

// testCounters is what every Counters implementation must do: nodes is one
// Counters per node sharing the same counts (a single one for per-process
// implementations). 300 requests race for a quota of 50 over every node: exactly
// 50 are counted, the day's usage says 50, and another window starts from zero.
func testCounters(t *testing.T, nodes []Counters) {
	t.Helper()
	ctx := context.Background()
	const limit, tries = 50, 300
	name := CounterName("plan1", "key1", "2026-12-01")
	var taken atomic.Int64
	var wg sync.WaitGroup
	for i := range tries {
		wg.Go(func() {
			ok, err := nodes[i%len(nodes)].Take(ctx, name, "2026-12-03", limit)
			if err != nil {
				t.Errorf("Take: %v", err)
			}
			if ok {
				taken.Add(1)
			}
		})
	}
	wg.Wait()
	if n := taken.Load(); n != limit {
		t.Fatalf("%d requests racing over %d nodes for a quota of %d: %d counted", tries, len(nodes), limit, n)
	}
	for _, c := range nodes {
		used, err := c.Used(ctx, "plan1", "key1")
		if err != nil || len(used) != 1 || used["2026-12-03"] != limit {
			t.Fatalf("Used = %v, %v; want 2026-12-03: %d", used, err, limit)
		}
	}
	if ok, err := nodes[0].Take(ctx, CounterName("plan1", "key1", "2027-01-01"), "2027-01-01", limit); !ok || err != nil {
		t.Fatalf("Take in a new window = %v, %v", ok, err)
	}
	if ok, err := nodes[0].Take(ctx, CounterName("plan1", "other", "2026-12-01"), "2026-12-03", 1); !ok || err != nil {
		t.Fatalf("Take for another key = %v, %v", ok, err)
	}
}

func TestCountersConformance(t *testing.T) {
	t.Run("memory", func(t *testing.T) { testCounters(t, []Counters{&MemoryCounters{}}) })
	t.Run("store", func(t *testing.T) {
		st, err := boltstore.Open(filepath.Join(t.TempDir(), "state.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		testCounters(t, []Counters{StoreCounters{Store: st}})
	})
	t.Run("etcd", func(t *testing.T) { testCounters(t, etcdCounters(t, 3)) })
	t.Run("redis", func(t *testing.T) { testCounters(t, redisCounters(t, 3)) })
}

// etcdCounters are StoreCounters of n nodes, each with its own client of one etcd.
func etcdCounters(t testing.TB, n int) []Counters {
	endpoint := etcdtest.Start(t)
	var nodes []Counters
	for range n {
		st, err := etcdstore.Open(context.Background(), etcdstore.Config{Endpoints: []string{endpoint}, Prefix: "/counters"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		nodes = append(nodes, StoreCounters{Store: st})
	}
	return nodes
}

// redisCounters are RedisCounters of n nodes, each with its own connections to one
// redis-server.
func redisCounters(t testing.TB, n int) []Counters {
	url, _ := startRedis(t)
	var nodes []Counters
	for range n {
		c, err := OpenRedisCounters(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		nodes = append(nodes, c)
	}
	return nodes
}

// BenchmarkCounters is the cost of counting one request (a Take under the limit),
// from 16 goroutines at once, in each implementation: Redis's script against the
// store's transaction on bolt (one node) and on etcd (a cluster).
func BenchmarkCounters(b *testing.B) {
	for _, bc := range []struct {
		name  string
		nodes func(testing.TB) []Counters
	}{
		{"bolt", func(tb testing.TB) []Counters {
			st, err := boltstore.Open(filepath.Join(tb.TempDir(), "state.db"))
			if err != nil {
				tb.Fatal(err)
			}
			tb.Cleanup(func() { st.Close() })
			return []Counters{StoreCounters{Store: store.Store(st)}}
		}},
		{"etcd", func(tb testing.TB) []Counters { return etcdCounters(tb, 1) }},
		{"redis", func(tb testing.TB) []Counters { return redisCounters(tb, 1) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			c := bc.nodes(b)[0]
			name := CounterName("plan", "key", "2026-12-01")
			b.SetParallelism(8) // 16 goroutines on 2 cores
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if ok, err := c.Take(context.Background(), name, "2026-12-03", 1<<40); !ok || err != nil {
						b.Fatalf("Take = %v, %v", ok, err)
					}
				}
			})
		})
	}
}

// A window's counter expires after its window, the per-day usage 100 days after
// the key's last request.
func TestRedisCountersExpire(t *testing.T) {
	ctx := context.Background()
	c := redisCounters(t, 1)[0].(*RedisCounters)
	start := time.Now().UTC().Truncate(24 * time.Hour)
	window := start.Format(time.DateOnly)
	if ok, err := c.Take(ctx, CounterName("p", "k", window), window, 10); !ok || err != nil {
		t.Fatalf("Take = %v, %v", ok, err)
	}
	counter, usage := c.keys("p/k", window)
	cli := c.client
	at, err := cli.ExpireTime(ctx, counter).Result()
	if want := start.Add(redisWindowLife).Unix(); err != nil || int64(at/time.Second) != want {
		t.Fatalf("window counter %s expires at %v (%v), want %d", counter, at, err, want)
	}
	ttl, err := cli.TTL(ctx, usage).Result()
	if err != nil || ttl <= redisUsageLife-time.Minute || ttl > redisUsageLife {
		t.Fatalf("usage %s TTL %v (%v), want about %v", usage, ttl, err, redisUsageLife)
	}
}

// UpdateUsage's extension: SetWindow sets a window's counter (so Take admits
// exactly what remains, beyond the limit when it is negative), Window reads it,
// and it expires with the window like a counter Take made.
func TestRedisCountersSetWindow(t *testing.T) {
	ctx := context.Background()
	c := redisCounters(t, 1)[0].(*RedisCounters)
	start := time.Now().UTC().Truncate(24 * time.Hour)
	window := start.Format(time.DateOnly)
	name := CounterName("p", "k", window)
	if n, ok, err := c.Window(ctx, name); n != 0 || ok || err != nil {
		t.Fatalf("Window of a new counter = %d, %v, %v", n, ok, err)
	}
	for range 3 {
		if ok, err := c.Take(ctx, name, window, 3); !ok || err != nil {
			t.Fatalf("Take = %v, %v", ok, err)
		}
	}
	if ok, _ := c.Take(ctx, name, window, 3); ok {
		t.Fatal("Take past the limit admitted")
	}
	// 2 more than the limit of 3 remain: the counter goes to -2.
	if err := c.SetWindow(ctx, name, -2); err != nil {
		t.Fatal(err)
	}
	if n, ok, err := c.Window(ctx, name); n != -2 || !ok || err != nil {
		t.Fatalf("Window = %d, %v, %v; want -2", n, ok, err)
	}
	admitted := 0
	for range 10 {
		if ok, err := c.Take(ctx, name, window, 3); err != nil {
			t.Fatal(err)
		} else if ok {
			admitted++
		}
	}
	if admitted != 5 {
		t.Fatalf("after the extension %d admitted, want 5", admitted)
	}
	if used, err := c.Used(ctx, "p", "k"); err != nil || used[window] != 8 {
		t.Fatalf("Used = %v, %v; want 8 today", used, err)
	}
	counter, _ := c.keys("p/k", window)
	if at, err := c.client.ExpireTime(ctx, counter).Result(); err != nil || int64(at/time.Second) != start.Add(redisWindowLife).Unix() {
		t.Fatalf("extended counter expires at %v (%v)", at, err)
	}
	if err := c.SetWindow(ctx, "no-window", 1); err == nil {
		t.Fatal("SetWindow of a name with no window: no error")
	}
}

// Redis unreachable: OpenRedisCounters refuses to start, and a Take on a running
// node returns an error (the gateway answers 500) instead of admitting the
// request uncounted, within the command timeout.
func TestRedisCountersFailClosed(t *testing.T) {
	url, stop := startRedis(t)
	ctx := context.Background()
	c, err := OpenRedisCounters(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	name := CounterName("p", "k", "2026-12-01")
	if ok, err := c.Take(ctx, name, "2026-12-01", 5); !ok || err != nil {
		t.Fatalf("Take = %v, %v", ok, err)
	}
	stop()
	start := time.Now()
	if ok, err := c.Take(ctx, name, "2026-12-01", 5); ok || err == nil {
		t.Fatalf("Take with redis down = %v, %v; want an error", ok, err)
	}
	if _, err := c.Used(ctx, "p", "k"); err == nil {
		t.Fatal("Used with redis down: no error")
	}
	t.Logf("Take failed after %v", time.Since(start).Round(time.Millisecond))
	if _, err := OpenRedisCounters(ctx, url); err == nil {
		t.Fatal("OpenRedisCounters with redis down: no error")
	}
	if _, err := OpenRedisCounters(ctx, "http://nope"); err == nil {
		t.Fatal("OpenRedisCounters accepted an http:// URL")
	}
}
