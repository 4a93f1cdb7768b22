package quicksight

import (
	"context"
	"net/http"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// A view whose deadline passes while the SDK backs off from throttling (its
// retry delay, or the adaptive retryer's wait for a send token) ends with a
// bare "deadline exceeded": the throttling answers are gone from the error.
// That view was refused for load, not lost to a slow QuickSight, so it
// should get the "busy, retrying" page, not the timeout page. The marker
// below travels in the call's context and is set by the HTTP client when an
// answer says ThrottlingException.

type throttleKey struct{}

// watchThrottling marks ctx so that WatchThrottling's client can report
// throttling answers to the call; throttled reports whether there were any.
func watchThrottling(ctx context.Context) (_ context.Context, throttled func() bool) {
	var seen atomic.Bool
	return context.WithValue(ctx, throttleKey{}, &seen), seen.Load
}

// WatchThrottling wraps the SDK's HTTP client so that calls made through
// this package learn whether QuickSight throttled any of their attempts.
func WatchThrottling(next aws.HTTPClient) aws.HTTPClient { return throttleClient{next} }

type throttleClient struct{ next aws.HTTPClient }

func (c throttleClient) Do(r *http.Request) (*http.Response, error) {
	resp, err := c.next.Do(r)
	if err == nil && (resp.StatusCode == http.StatusTooManyRequests || resp.Header.Get("X-Amzn-Errortype") == "ThrottlingException") {
		if seen, ok := r.Context().Value(throttleKey{}).(*atomic.Bool); ok {
			seen.Store(true)
		}
	}
	return resp, err
}

// throttledTimeout turns a timeout after throttling answers into
// ErrThrottled.
func throttledTimeout(e *Error, throttled func() bool) *Error {
	if e.Kind == ErrTimeout && throttled() {
		e.Kind, e.Code = ErrThrottled, "ThrottlingException"
		e.Hint = "QuickSight throttled the gateway and the retries did not fit in QSGATE_AWS_TIMEOUT; lower QSGATE_QUICKSIGHT_MAX_RPS below the account's rate"
	}
	return e
}
