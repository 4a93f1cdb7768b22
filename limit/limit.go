// Package limit protects the AWS account from the portal's own users: a
// per-user limit on embed URLs (one user's refresh loop) and a gateway-wide
// budget of AWS calls, a rate and a concurrency cap (the 9 a.m. crowd). Both
// are kept libraries (golang.org/x/time/rate, golang.org/x/sync/semaphore,
// golang-lru) wrapped in the few lines that say what they protect. It knows
// nothing of HTTP pages; handlers turn its refusals into 429 and 503.
package limit

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/time/rate"
)

// Rate is N events per Per; N == 0 means no limit.
type Rate struct {
	N   int
	Per time.Duration
	// Burst is how many may come at once before the rate applies; 0 means
	// min(10, N): clicking through pages or opening a few tabs is normal.
	Burst int
}

// burst is the rate's burst, its default filled in.
func (r Rate) burst() int {
	if r.Burst > 0 {
		return r.Burst
	}
	return min(userBurst, r.N)
}

// Off reports whether the rate limits nothing.
func (r Rate) Off() bool { return r.N == 0 }

func (r Rate) String() string {
	if r.Off() {
		return "0 (off)"
	}
	unit := map[time.Duration]string{time.Second: "s", time.Minute: "m", time.Hour: "h"}[r.Per]
	return strconv.Itoa(r.N) + "/" + unit
}

// ParseRate reads "N/s", "N/m" or "N/h"; "0" is off.
func ParseRate(s string) (Rate, error) {
	s = strings.TrimSpace(s)
	if s == "0" {
		return Rate{}, nil
	}
	n, unit, ok := strings.Cut(s, "/")
	per := map[string]time.Duration{"s": time.Second, "m": time.Minute, "h": time.Hour}[unit]
	count, err := strconv.Atoi(n)
	if !ok || per == 0 || err != nil || count < 1 || count > 1_000_000 {
		return Rate{}, fmt.Errorf("want N/s, N/m or N/h (N from 1 to 1000000), or 0 for no limit, got %q", s)
	}
	return Rate{N: count, Per: per}, nil
}

// ErrUserRate means one user asked for embed URLs faster than allowed.
var ErrUserRate = errors.New("too many QuickSight views for this user")

// RateError is a refusal with the time after which a retry will pass.
type RateError struct {
	Kind       error
	RetryAfter time.Duration
}

func (e *RateError) Error() string {
	return fmt.Sprintf("%v (retry after %s)", e.Kind, e.RetryAfter)
}
func (e *RateError) Unwrap() error { return e.Kind }

// RetryableError tells the AWS SDK's retryer not to retry: waiting is what
// the limit already did.
func (e *RateError) RetryableError() bool { return false }

// RetryAfterSeconds is RetryAfter rounded up to whole seconds, at least 1,
// for the Retry-After header.
func (e *RateError) RetryAfterSeconds() int {
	return max(1, int(math.Ceil(e.RetryAfter.Seconds())))
}

// userBurst is how many views a user may make in quick succession before
// the rate applies: clicking through the start pages, or opening a few
// tabs, is normal.
const userBurst = 10

// maxUsers bounds the limiters each PerUser keeps (about 270 bytes each:
// 2.7 MiB when full). A key evicted starts with a full burst again, which
// is harmless; the bound is what matters when a client picks the keys (the
// sign-in limit by address).
const maxUsers = 10000

// PerUser limits each user (by key, the subject) to a rate, with a small
// burst.
type PerUser struct {
	every    rate.Limit
	burst    int
	limiters *lru.Cache[string, *rate.Limiter]
}

// NewPerUser returns nil when r is off: a nil *PerUser allows everything.
func NewPerUser(r Rate) *PerUser {
	if r.Off() {
		return nil
	}
	c, _ := lru.New[string, *rate.Limiter](maxUsers) // only fails for a size < 1
	return &PerUser{every: rate.Limit(float64(r.N) / r.Per.Seconds()), burst: r.burst(), limiters: c}
}

// Allow takes one view from key's allowance, or says when to come back.
func (p *PerUser) Allow(key string) error {
	if p == nil {
		return nil
	}
	l, ok := p.limiters.Get(key)
	if !ok {
		l = rate.NewLimiter(p.every, p.burst)
		if found, _ := p.limiters.ContainsOrAdd(key, l); found {
			if prev, ok := p.limiters.Get(key); ok {
				l = prev
			}
		}
	}
	r := l.Reserve()
	if d := r.Delay(); d > 0 {
		r.Cancel() // a refused view does not use up the next one
		return &RateError{Kind: ErrUserRate, RetryAfter: d}
	}
	return nil
}
