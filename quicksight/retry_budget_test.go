package quicksight

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsqs "github.com/aws/aws-sdk-go-v2/service/quicksight"

	"github.com/qsgate/qsgate/internal/devkit/qssim"
)

// The SDK's retry budget runs out whatever made the retries, and a call
// that finds it spent fails with its last attempt's error joined to the
// quota error. What the user and the operator are told is that attempt's
// cause: a QuickSight that cannot be reached is unreachable before and
// after the budget is spent, a failing one unavailable, and only a
// throttling one busy. Each case gives the real SDK, retryer and throttle
// watch the gateway builds a budget of two retries: the first call spends
// it, the second finds it spent.
func TestSpentRetryBudgetKeepsTheCause(t *testing.T) {
	for _, tt := range []struct {
		name   string
		fault  func(*qssim.Server)
		budget uint // two retries: one costs 14, or 5 after throttling
		kind   error
		code   string
	}{
		{"QuickSight down", func(s *qssim.Server) { s.Close() }, 28, ErrUnreachable, "Unreachable"},
		{"QuickSight failing", func(s *qssim.Server) { s.FailNext(100, qssim.ErrInternalFailure) }, 28, ErrUnavailable, "InternalFailureException"},
		{"QuickSight throttling", func(s *qssim.Server) { s.FailNext(100, qssim.ErrThrottling) }, 10, ErrThrottled, "ThrottlingException"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel() // throttling takes seconds: the adaptive retryer slows down
			sim := startSim(t, qssim.Config{AccountID: testAccount})
			budget := ratelimit.NewTokenRateLimit(tt.budget)
			api := awsqs.NewFromConfig(awsConfig("us-east-1"), func(o *awsqs.Options) {
				o.BaseEndpoint = aws.String(sim.URL())
				o.Retryer = NewRetryer(time.Second, budget)
				o.HTTPClient = WatchThrottling(awshttp.NewBuildableClient())
			})
			c := &Client{API: api, AccountID: testAccount, SessionLifetime: 60, Timeout: 5 * time.Second}
			id := Identity{UserARN: "arn:aws:quicksight:us-east-1:" + testAccount + ":user/default/alice@example.com"}
			tt.fault(sim)
			for i := range 2 {
				_, err := c.EmbedURL(t.Context(), id, Target{EntryPoint: "/start"})
				var e *Error
				if !errors.As(err, &e) || e.Kind != tt.kind || e.Code != tt.code {
					t.Fatalf("call %d: %v, want %v (%s)", i+1, err, tt.kind, tt.code)
				}
				if got, want := strings.Contains(e.Hint, "retry budget is spent"), i > 0; got != want {
					t.Errorf("call %d: the hint says the retry budget is spent: %v, want %v (%d left)\n%s", i+1, got, want, budget.Remaining(), e.Hint)
				}
			}
		})
	}
}
