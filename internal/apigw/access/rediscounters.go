package access

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisCounters keep usage-plan quota counters in Redis (--quota-counters
// redis://host:port/db), for clusters whose quota traffic would make the store's
// one-transaction-per-request counting (StoreCounters) the bottleneck.
//
// A request is counted by one Lua script, which Redis runs atomically: it reads
// the window's counter, refuses when the limit is reached, else increments it and
// the key's per-day usage. So the count is exact whatever the number of nodes: no
// two requests can both take the last unit, and a refused request counts nothing.
// A window's counter expires after the window (32 days after its start at the
// latest: the counter's name carries its start, not its period); the per-day
// usage that GetUsage reports expires 100 days after the key's last request.
//
// Failures close: a Take that does not hear Redis's answer returns an error, and
// the gateway answers 500 instead of admitting the request uncounted. Commands are
// never retried, since a script that ran but whose reply was lost would be counted
// twice; such a request is counted once and refused with 500, never admitted
// beyond the limit.
//
// Both keys of a plan key share a hash tag ({plan/key}), so the script runs on a
// Redis Cluster shard too.
type RedisCounters struct {
	client redis.UniversalClient
	prefix string
}

// redisTake is Take's script. KEYS[1] is the window counter, KEYS[2] the per-day
// usage hash; ARGV are the limit, the window counter's expiry (Unix seconds), the
// day and the usage hash's lifetime (seconds).
var redisTake = redis.NewScript(`
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
if used >= tonumber(ARGV[1]) then
  return 0
end
redis.call('INCR', KEYS[1])
redis.call('EXPIREAT', KEYS[1], ARGV[2])
redis.call('HINCRBY', KEYS[2], ARGV[3], 1)
redis.call('EXPIRE', KEYS[2], ARGV[4])
return 1
`)

const (
	// redisWindowLife is how long after its start a window's counter lives: past
	// the longest window (a month).
	redisWindowLife = 32 * 24 * time.Hour
	// redisUsageLife is how long a key's per-day usage outlives its last request
	// (GetUsage spans at most 90 days).
	redisUsageLife = 100 * 24 * time.Hour
	// redisTimeout bounds one command when the URL does not say otherwise: a
	// request waits this long at most before failing closed.
	redisTimeout = time.Second
)

// OpenRedisCounters connects to the Redis at rawURL (redis:// or rediss://,
// optionally user:password@ and /db; go-redis's URL options such as
// ?dial_timeout=2s apply) and checks that it answers, so a misconfigured node
// refuses to start. Keys are named "sluice:quota:...": give each cluster its own
// database.
func OpenRedisCounters(ctx context.Context, rawURL string) (*RedisCounters, error) {
	opts, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("quota counters %q: %w", rawURL, err)
	}
	if opts.DialTimeout == 0 {
		opts.DialTimeout = redisTimeout
	}
	if opts.ReadTimeout == 0 {
		opts.ReadTimeout = redisTimeout
	}
	if opts.WriteTimeout == 0 {
		opts.WriteTimeout = redisTimeout
	}
	opts.MaxRetries = -1 // see RedisCounters: a retried script could count twice
	c := &RedisCounters{client: redis.NewClient(opts), prefix: "sluice:quota:"}
	if err := c.client.Ping(ctx).Err(); err != nil {
		_ = c.client.Close()
		return nil, fmt.Errorf("quota counters %s: %w", opts.Addr, err)
	}
	return c, nil
}

// Close closes the connections.
func (c *RedisCounters) Close() error { return c.client.Close() }

func (c *RedisCounters) keys(planKey, window string) (counter, usage string) {
	tag := c.prefix + "{" + planKey + "}"
	return tag + ":window:" + window, tag + ":days"
}

// Take implements Counters.
func (c *RedisCounters) Take(ctx context.Context, name, day string, limit int64) (bool, error) {
	planKey, window := splitWindow(name)
	start, err := time.Parse(time.DateOnly, window)
	if err != nil {
		return false, fmt.Errorf("quota counter %q: no window start: %w", name, err)
	}
	counter, usage := c.keys(planKey, window)
	n, err := redisTake.Run(ctx, c.client, []string{counter, usage},
		limit, start.Add(redisWindowLife).Unix(), day, int64(redisUsageLife/time.Second)).Int()
	if err != nil {
		return false, fmt.Errorf("quota counter %s in redis: %w", name, err)
	}
	return n == 1, nil
}

// Used implements Counters.
func (c *RedisCounters) Used(ctx context.Context, planID, keyID string) (map[string]int64, error) {
	_, usage := c.keys(planID+"/"+keyID, "")
	days, err := c.client.HGetAll(ctx, usage).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("quota usage of %s/%s in redis: %w", planID, keyID, err)
	}
	out := make(map[string]int64, len(days))
	for d, v := range days {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			out[d] = n
		}
	}
	return out, nil
}

// Window reads the counter of a quota window: what it has counted (plus any
// UpdateUsage extension), and whether it exists.
func (c *RedisCounters) Window(ctx context.Context, name string) (int64, bool, error) {
	planKey, window := splitWindow(name)
	counter, _ := c.keys(planKey, window)
	n, err := c.client.Get(ctx, counter).Int64()
	if errors.Is(err, redis.Nil) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("quota counter %s in redis: %w", name, err)
	}
	return n, true, nil
}

// SetWindow sets the counter of a quota window (UpdateUsage's /remaining
// extension: used is the limit minus what remains, below zero for more than the
// limit). It expires with the window, as a counter Take made does.
func (c *RedisCounters) SetWindow(ctx context.Context, name string, used int64) error {
	planKey, window := splitWindow(name)
	start, err := time.Parse(time.DateOnly, window)
	if err != nil {
		return fmt.Errorf("quota counter %q: no window start: %w", name, err)
	}
	counter, _ := c.keys(planKey, window)
	if err := c.client.SetArgs(ctx, counter, used, redis.SetArgs{ExpireAt: start.Add(redisWindowLife)}).Err(); err != nil {
		return fmt.Errorf("quota counter %s in redis: %w", name, err)
	}
	return nil
}

var _ Counters = (*RedisCounters)(nil)
