package quicksight

import (
	"context"
	"errors"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
)

// NewRetryer is the SDK retryer every client of the gateway uses: adaptive
// mode (after throttling answers it slows its own sending down), three
// attempts at most and backoff capped at a quarter of timeout, so the
// retries of one call fit within QSGATE_AWS_TIMEOUT, and one retry budget
// shared by every client.
func NewRetryer(timeout time.Duration, budget *ratelimit.TokenRateLimit) aws.Retryer {
	return adaptive{retry.NewAdaptiveMode(func(o *retry.AdaptiveModeOptions) {
		o.StandardOptions = append(o.StandardOptions, func(so *retry.StandardOptions) {
			so.MaxAttempts = 3
			so.MaxBackoff = min(timeout/4, 20*time.Second)
			so.RateLimiter = budget
		})
	})}
}

// NewRetryBudget is the SDK's default retry budget, to share between
// clients (and watch in the metrics).
func NewRetryBudget() *ratelimit.TokenRateLimit {
	return ratelimit.NewTokenRateLimit(retry.DefaultRetryRateTokens)
}

// errHeldBack means the adaptive retryer held an attempt back because
// QuickSight throttled recent calls, until the deadline passed.
var errHeldBack = errors.New("the SDK held the call back after throttling answers")

// adaptive names the adaptive retryer's own wait: a call that never got to
// QuickSight because of throttling is "busy", not "QuickSight is slow".
type adaptive struct{ *retry.AdaptiveMode }

func (a adaptive) GetAttemptToken(ctx context.Context) (func(error) error, error) {
	release, err := a.AdaptiveMode.GetAttemptToken(ctx)
	if err != nil {
		return nil, errors.Join(errHeldBack, err)
	}
	return release, nil
}
