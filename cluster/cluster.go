// Package cluster is the state that instances of the gateway share in
// Redis (QSGATE_REDIS_URL): the client itself, built from the URL with
// timeouts on every call; a rate limiter (go-redis/redis_rate, GCRA) for the
// per-user view limit and the AWS call budget; a small cache for the user
// lookups, sealed (sealed.go) so that write access to Redis alone cannot
// change what the gateway believes; and the hook that sends go-redis's own
// messages to qsgate's logger (logger.go). Sessions in Redis are auth's
// business. Each piece reports Redis errors to its caller, which falls
// back to per-instance state: a Redis outage degrades limits, it never
// opens or closes the door.
package cluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
)

// Timeouts of every Redis call: a slow Redis must not hold a page view.
const (
	DialTimeout = time.Second
	CallTimeout = 500 * time.Millisecond
)

// NewClient connects to a redis:// or rediss:// (TLS) URL, with the
// password and database in it. It does not dial until first used.
func NewClient(rawURL string) (*redis.Client, error) {
	opts, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	opts.DialTimeout = DialTimeout
	opts.ReadTimeout = CallTimeout
	opts.WriteTimeout = CallTimeout
	opts.PoolTimeout = CallTimeout
	opts.MaxRetries = 1
	opts.DialerRetries = 1
	// Per-call contexts bound every call (auth's session store requires it).
	opts.ContextTimeoutEnabled = true
	return redis.NewClient(opts), nil
}

// CheckURL says what is wrong with a QSGATE_REDIS_URL, without the password.
func CheckURL(rawURL string) error {
	if _, err := redis.ParseURL(rawURL); err != nil {
		return errors.New("must be redis://[:PASSWORD@]HOST:PORT[/DB] or rediss:// for TLS")
	}
	return nil
}

// Ping reports whether Redis answers within CallTimeout.
func Ping(ctx context.Context, c redis.UniversalClient) error {
	ctx, cancel := context.WithTimeout(ctx, CallTimeout)
	defer cancel()
	return c.Ping(ctx).Err()
}

// RateLimiter is a cluster-wide GCRA limiter: every instance takes from
// the same allowance for a key.
type RateLimiter struct{ lim *redis_rate.Limiter }

// NewRateLimiter limits through c.
func NewRateLimiter(c redis.UniversalClient) *RateLimiter {
	return &RateLimiter{lim: redis_rate.NewLimiter(c)}
}

// Allow takes one event from key's allowance of n per period with burst;
// when refused it says when to come back.
func (r *RateLimiter) Allow(ctx context.Context, key string, n int, period time.Duration, burst int) (bool, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, CallTimeout)
	defer cancel()
	res, err := r.lim.Allow(ctx, "qsgate:rate:"+key, redis_rate.Limit{Rate: n, Period: period, Burst: burst})
	if err != nil {
		return false, 0, fmt.Errorf("redis rate limit: %w", err)
	}
	return res.Allowed > 0, res.RetryAfter, nil
}

// Cache is a string cache with expiry, shared by the instances. It
// believes whatever Redis holds: for anything a forged entry could misuse
// (who a user is in QuickSight), use SealedCache.
type Cache struct {
	c      redis.UniversalClient
	prefix string
}

// NewCache keeps its entries under "qsgate:cache:<name>:".
func NewCache(c redis.UniversalClient, name string) *Cache {
	return &Cache{c: c, prefix: "qsgate:cache:" + name + ":"}
}

// Get returns the value and whether it was there; an error means Redis did
// not answer (the caller asks QuickSight as it would without Redis).
func (k *Cache) Get(ctx context.Context, key string) ([]byte, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, CallTimeout)
	defer cancel()
	v, err := k.c.Get(ctx, k.prefix+key).Bytes()
	switch {
	case errors.Is(err, redis.Nil):
		return nil, false, nil
	case err != nil:
		return nil, false, err
	}
	return v, true, nil
}

// Set stores value for ttl.
func (k *Cache) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, CallTimeout)
	defer cancel()
	return k.c.Set(ctx, k.prefix+key, value, ttl).Err()
}

// Delete drops key.
func (k *Cache) Delete(ctx context.Context, key string) error {
	ctx, cancel := context.WithTimeout(ctx, CallTimeout)
	defer cancel()
	return k.c.Del(ctx, k.prefix+key).Err()
}
