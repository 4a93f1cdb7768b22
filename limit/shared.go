package limit

import (
	"context"
	"sync/atomic"
	"time"
)

// SharedRate is a rate limiter shared by every instance (cluster's
// RateLimiter on Redis). An error means it could not answer.
type SharedRate interface {
	Allow(ctx context.Context, key string, n int, period time.Duration, burst int) (bool, time.Duration, error)
}

// Fallbacks counts decisions made per instance because the shared limiter
// did not answer (Redis down): the limits then hold per instance only.
var Fallbacks atomic.Int64

// SharedPerUser is the per-user view limit held cluster-wide, falling back
// to the instance's own PerUser when the shared limiter does not answer.
type SharedPerUser struct {
	shared SharedRate
	rate   Rate
	local  *PerUser
}

// NewSharedPerUser returns nil when r is off.
func NewSharedPerUser(shared SharedRate, r Rate) *SharedPerUser {
	if r.Off() {
		return nil
	}
	return &SharedPerUser{shared: shared, rate: r, local: NewPerUser(r)}
}

// Allow is PerUser.Allow, across the cluster.
func (p *SharedPerUser) Allow(key string) error {
	if p == nil {
		return nil
	}
	ok, wait, err := p.shared.Allow(context.Background(), "view:"+key, p.rate.N, p.rate.Per, p.rate.burst())
	if err != nil {
		Fallbacks.Add(1)
		return p.local.Allow(key)
	}
	if !ok {
		return &RateError{Kind: ErrUserRate, RetryAfter: wait}
	}
	return nil
}

// Share makes the budget's rate cluster-wide: every instance takes its
// calls from one allowance of the configured rate. The concurrency cap
// stays per instance. When the shared limiter does not answer, the
// instance's own bucket decides.
func (b *Budget) Share(shared SharedRate) { b.shared = shared }

// sharedWait takes a token from the shared allowance, waiting for one
// while wait allows. handled is false when the shared limiter could not
// answer and the local bucket must decide.
func (b *Budget) sharedWait(ctx, wait context.Context) (handled bool, err error) {
	for {
		ok, retry, err := b.shared.Allow(wait, "aws", b.sharedN, time.Second, b.sharedN)
		if err != nil {
			Fallbacks.Add(1)
			return false, nil
		}
		if ok {
			return true, nil
		}
		if deadline, has := wait.Deadline(); has && time.Now().Add(retry).After(deadline) {
			return true, b.refuse(ctx, retry)
		}
		t := time.NewTimer(retry)
		select {
		case <-wait.Done():
			t.Stop()
			return true, b.refuse(ctx, retry)
		case <-t.C:
		}
	}
}
