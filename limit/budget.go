package limit

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"golang.org/x/sync/semaphore"
	"golang.org/x/time/rate"
)

// ErrBudget means the gateway's AWS call budget had no room before the
// request's deadline.
var ErrBudget = errors.New("the gateway's QuickSight call budget is spent")

// Budget is the gateway-wide budget of AWS calls: at most RPS calls a
// second (a token bucket) and at most Inflight at once. Every HTTP request
// the SDK makes through HTTPClient, retries and user-management and STS
// calls included, takes from it. A request waits within its own deadline;
// one that cannot get room in time fails with ErrBudget at once.
type Budget struct {
	rate    *rate.Limiter
	shared  SharedRate // nil: this instance alone
	sharedN int        // calls a second, for the shared allowance
	slots   *semaphore.Weighted
	release func() // gives a slot back
	// views is Enter's door: as many views at once as calls may run.
	views       *semaphore.Weighted
	releaseView func()
	waiting     atomic.Int64
	shed        atomic.Int64
}

// NewBudget allows rps calls a second (burst: one second's worth) and
// inflight at once.
func NewBudget(rps float64, inflight int) *Budget {
	b := &Budget{
		rate:    rate.NewLimiter(rate.Limit(rps), max(1, int(rps))),
		sharedN: max(1, int(rps)),
		slots:   semaphore.NewWeighted(int64(inflight)),
	}
	b.release = func() { b.slots.Release(1) }
	b.views = semaphore.NewWeighted(int64(inflight))
	b.releaseView = func() { b.views.Release(1) }
	return b
}

// Enter admits a page view to its AWS work (the mapping's lookups, the
// embed call), at most as many at once as calls may run; the others wait
// their turn here, within ctx's deadline (less the margin kept for the
// call), or get ErrBudget. Without it a crowd of views would all start
// their SDK calls and wait for a slot deep inside them, each holding the
// SDK's request state and a grown stack (500 views at once: 117 MB of
// gateway without the door, 86 MB with it; docs/BENCHMARKS.md). release
// lets the next one in.
func (b *Budget) Enter(ctx context.Context) (release func(), err error) {
	if b.views.TryAcquire(1) {
		return b.releaseView, nil
	}
	b.waiting.Add(1)
	defer b.waiting.Add(-1)
	wait, cancel := waitContext(ctx)
	defer cancel()
	if err := b.views.Acquire(wait, 1); err != nil {
		return nil, b.refuse(ctx, time.Second)
	}
	return b.releaseView, nil
}

// Waiting is how many calls, and views at the door, wait for room now.
func (b *Budget) Waiting() int64 { return b.waiting.Load() }

// Shed is how many calls were refused since start.
func (b *Budget) Shed() int64 { return b.shed.Load() }

// Tokens is how many calls the bucket would allow right now.
func (b *Budget) Tokens() float64 { return b.rate.Tokens() }

// maxCallMargin is the most of a call's deadline kept for the call itself.
const maxCallMargin = 500 * time.Millisecond

// Acquire waits for a token and a slot within ctx; release gives the slot
// back.
func (b *Budget) Acquire(ctx context.Context) (release func(), err error) {
	b.waiting.Add(1)
	defer b.waiting.Add(-1)
	// Most calls find a token and a slot free: take them without setting
	// up a wait (a deadline of its own, a timer).
	token := b.shared == nil && b.rate.Allow()
	if token && b.slots.TryAcquire(1) {
		return b.release, nil
	}
	wait, cancel := waitContext(ctx)
	defer cancel()
	if !token {
		handled := false
		if b.shared != nil {
			var err error
			if handled, err = b.sharedWait(ctx, wait); err != nil {
				return nil, err
			}
		}
		if !handled {
			if err := b.rate.Wait(wait); err != nil {
				return nil, b.refuse(ctx, b.tokenDelay())
			}
		}
	}
	if err := b.slots.Acquire(wait, 1); err != nil {
		return nil, b.refuse(ctx, time.Second)
	}
	return b.release, nil
}

// waitContext is ctx for waiting for room: it ends early enough to leave
// the call itself some time (a token granted at the deadline would only
// turn into a timeout).
func waitContext(ctx context.Context) (context.Context, context.CancelFunc) {
	deadline, ok := ctx.Deadline()
	if !ok {
		return ctx, func() {}
	}
	return context.WithDeadline(ctx, deadline.Add(-min(time.Until(deadline)/4, maxCallMargin)))
}

// tokenDelay is how long until a token is free.
func (b *Budget) tokenDelay() time.Duration {
	r := b.rate.Reserve()
	defer r.Cancel()
	return r.Delay()
}

func (b *Budget) refuse(ctx context.Context, retryAfter time.Duration) error {
	if errors.Is(ctx.Err(), context.Canceled) {
		return ctx.Err() // the caller went away: not shedding
	}
	b.shed.Add(1)
	return &RateError{Kind: ErrBudget, RetryAfter: retryAfter}
}

// HTTPClient makes every request through next take from the budget.
func (b *Budget) HTTPClient(next aws.HTTPClient) aws.HTTPClient {
	return budgetClient{b: b, next: next}
}

type budgetClient struct {
	b    *Budget
	next aws.HTTPClient
}

func (c budgetClient) Do(r *http.Request) (*http.Response, error) {
	release, err := c.b.Acquire(r.Context())
	if err != nil {
		return nil, err
	}
	resp, err := c.next.Do(r)
	// The slot is held until the answer's headers are in; the SDK reads
	// the (small) body right after.
	release()
	return resp, err
}
