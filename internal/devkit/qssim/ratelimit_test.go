package qssim_test

import (
	"context"
	"maps"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/quicksight"
	"github.com/aws/aws-sdk-go-v2/service/quicksight/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/qsgate/qsgate/internal/devkit/qssim"
)

// accountSettings is one DescribeAccountSettings call, the cheapest operation.
func accountSettings(ctx context.Context, qs *quicksight.Client) error {
	_, err := qs.DescribeAccountSettings(ctx, &quicksight.DescribeAccountSettingsInput{AwsAccountId: aws.String(testAccount)})
	return err
}

// callRepeatedly makes n calls one after another, each a single attempt, and
// returns how many succeeded. Every failure must be the throttling answer.
func callRepeatedly(t *testing.T, qs *quicksight.Client, n int) int {
	t.Helper()
	ok := 0
	for i := range n {
		err := accountSettings(t.Context(), qs)
		switch {
		case err == nil:
			ok++
		case !isA[*types.ThrottlingException](err) || httpStatus(err) != http.StatusTooManyRequests || apiMessage(err) != "Rate exceeded":
			t.Fatalf("call %d: error = %T %v (HTTP %d), want ThrottlingException, HTTP 429, Rate exceeded", i, err, err, httpStatus(err))
		}
	}
	return ok
}

func TestRateLimit(t *testing.T) {
	t.Run("token bucket on the simulator clock", func(t *testing.T) {
		clock := newFakeClock()
		srv := startSim(t, func(c *qssim.Config) { c.Now = clock.Now })
		qs := client(srv.URL(), oneAttempt)
		t0 := clock.Now()
		wantPerSecond := map[int64]int{}

		srv.SetRateLimit(5)
		if got, want := callRepeatedly(t, qs, 20), 5; got != want {
			t.Fatalf("calls passed = %d, want %d (the burst)", got, want)
		}
		wantPerSecond[t0.Unix()] += 20
		calls := srv.Calls()
		if len(calls) != 20 {
			t.Fatalf("len(Calls()) = %d, want 20, throttled calls included", len(calls))
		}
		for i, c := range calls {
			wantCode, wantStatus := "", 200
			if i >= 5 {
				wantCode, wantStatus = qssim.ErrThrottling, 429
			}
			if c.Operation != "DescribeAccountSettings" || c.ErrorCode != wantCode || c.Status != wantStatus || !c.Time.Equal(t0) {
				t.Errorf("call %d = %+v, want DescribeAccountSettings, %q, %d at %v", i, c, wantCode, wantStatus, t0)
			}
		}

		// A fifth of a second refills one token; a whole second refills the
		// bucket, and no more than the bucket holds.
		clock.Advance(200 * time.Millisecond)
		if got, want := callRepeatedly(t, qs, 3), 1; got != want {
			t.Errorf("after 200ms: calls passed = %d, want %d", got, want)
		}
		wantPerSecond[clock.Now().Unix()] += 3
		clock.Advance(time.Second)
		if got, want := callRepeatedly(t, qs, 20), 5; got != want {
			t.Errorf("after another second: calls passed = %d, want %d", got, want)
		}
		wantPerSecond[clock.Now().Unix()] += 20
		if got := srv.CallsPerSecond(); !maps.Equal(got, wantPerSecond) {
			t.Errorf("CallsPerSecond() = %v, want %v", got, wantPerSecond)
		}

		srv.Reset()
		if got, want := callRepeatedly(t, qs, 20), 20; got != want {
			t.Errorf("after Reset: calls passed = %d, want %d", got, want)
		}
	})

	t.Run("real clock", func(t *testing.T) {
		srv := startSim(t, nil)
		qs := client(srv.URL(), oneAttempt)
		start := time.Now()
		srv.SetRateLimit(5)
		got := callRepeatedly(t, qs, 20)
		// The bucket starts full (5) and gains 5 tokens a second: the bound
		// follows the time the calls took, so a slow machine cannot fail it.
		most := 5 + int(time.Since(start).Seconds()*5)
		if got < 5 || got > most {
			t.Errorf("calls passed = %d, want 5 to %d", got, most)
		}
		total := 0
		for _, n := range srv.CallsPerSecond() {
			total += n
		}
		if total != 20 {
			t.Errorf("CallsPerSecond() counts %d calls, want 20", total)
		}
		srv.Reset()
		if got, want := callRepeatedly(t, qs, 20), 20; got != want {
			t.Errorf("after Reset: calls passed = %d, want %d", got, want)
		}
	})

	t.Run("STS", func(t *testing.T) {
		clock := newFakeClock()
		srv := startSim(t, func(c *qssim.Config) { c.Now = clock.Now })
		stsc := stsClient(srv.URL(), oneAttempt)
		srv.SetRateLimit(2)
		for i := range 4 {
			_, err := stsc.GetCallerIdentity(t.Context(), &sts.GetCallerIdentityInput{})
			wantCode, wantStatus := "", 0
			if i >= 2 {
				wantCode, wantStatus = qssim.ErrSTSThrottling, 400
			}
			if got := apiCode(t, err); got != wantCode || httpStatus(err) != wantStatus {
				t.Errorf("call %d: error = %v (HTTP %d), want code %q, HTTP %d", i, err, httpStatus(err), wantCode, wantStatus)
			}
			if err != nil && apiMessage(err) != "Rate exceeded" {
				t.Errorf("call %d: message = %q, want Rate exceeded", i, apiMessage(err))
			}
		}
		calls := srv.Calls()
		if len(calls) != 4 || calls[3].Operation != "GetCallerIdentity" || calls[3].ErrorCode != qssim.ErrSTSThrottling || calls[3].Status != 400 {
			t.Errorf("Calls() = %+v, want 4 GetCallerIdentity calls, the last throttled with HTTP 400", calls)
		}
	})

	t.Run("throttled calls are not performed", func(t *testing.T) {
		clock := newFakeClock()
		srv := startSim(t, func(c *qssim.Config) { c.Now = clock.Now })
		qs := client(srv.URL(), oneAttempt)
		srv.SetRateLimit(1)
		if err := accountSettings(t.Context(), qs); err != nil {
			t.Fatalf("first call: %v", err)
		}
		_, err := qs.RegisterUser(t.Context(), &quicksight.RegisterUserInput{
			AwsAccountId: aws.String(testAccount), Namespace: aws.String("default"), UserName: aws.String("bob"),
			Email: aws.String("bob@example.com"), IdentityType: types.IdentityTypeQuicksight, UserRole: types.UserRoleReader,
		})
		if !isA[*types.ThrottlingException](err) {
			t.Fatalf("RegisterUser: error = %v, want ThrottlingException", err)
		}
		srv.SetRateLimit(0)
		_, err = qs.DescribeUser(t.Context(), &quicksight.DescribeUserInput{
			AwsAccountId: aws.String(testAccount), Namespace: aws.String("default"), UserName: aws.String("bob"),
		})
		if !isA[*types.ResourceNotFoundException](err) {
			t.Errorf("DescribeUser(bob): error = %v, want ResourceNotFoundException: the throttled RegisterUser registered bob", err)
		}
	})

	t.Run("throttled calls keep FailNext faults", func(t *testing.T) {
		clock := newFakeClock()
		srv := startSim(t, func(c *qssim.Config) { c.Now = clock.Now })
		qs := client(srv.URL(), oneAttempt)
		srv.SetRateLimit(1)
		if err := accountSettings(t.Context(), qs); err != nil {
			t.Fatalf("first call: %v", err)
		}
		srv.FailNext(1, qssim.ErrAccessDenied)
		if err := accountSettings(t.Context(), qs); !isA[*types.ThrottlingException](err) {
			t.Fatalf("second call: error = %v, want ThrottlingException", err)
		}
		clock.Advance(time.Second)
		if err := accountSettings(t.Context(), qs); !isA[*types.AccessDeniedException](err) {
			t.Errorf("third call: error = %v, want the injected AccessDeniedException", err)
		}
	})

	t.Run("embed pages are not limited", func(t *testing.T) {
		clock := newFakeClock()
		srv := startSim(t, func(c *qssim.Config) { c.Now = clock.Now })
		arn := srv.AddUser(qssim.User{UserName: "alice", Role: "AUTHOR"})
		qs := client(srv.URL(), oneAttempt)
		srv.SetRateLimit(1)
		out, err := sessionEmbedURL(t.Context(), qs, arn, "/start", 60)
		if err != nil {
			t.Fatalf("GetSessionEmbedUrl: %v", err)
		}
		if status, _, _ := get(t, aws.ToString(out.EmbedUrl)); status != 200 {
			t.Errorf("open embed URL: status %d, want 200", status)
		}
		if err := accountSettings(t.Context(), qs); !isA[*types.ThrottlingException](err) {
			t.Errorf("next API call: error = %v, want ThrottlingException", err)
		}
		if got, want := len(srv.Calls()), 2; got != want {
			t.Errorf("len(Calls()) = %d, want %d: the embed page is not an API call", got, want)
		}
	})

	t.Run("off", func(t *testing.T) {
		clock := newFakeClock()
		srv := startSim(t, func(c *qssim.Config) { c.Now = clock.Now })
		qs := client(srv.URL(), oneAttempt)
		if got, want := callRepeatedly(t, qs, 10), 10; got != want {
			t.Errorf("by default: calls passed = %d, want %d", got, want)
		}
		srv.SetRateLimit(1)
		srv.SetRateLimit(0)
		if got, want := callRepeatedly(t, qs, 10), 10; got != want {
			t.Errorf("after SetRateLimit(0): calls passed = %d, want %d", got, want)
		}
		srv.SetRateLimit(1)
		srv.ClearFaults()
		if got, want := callRepeatedly(t, qs, 10), 10; got != want {
			t.Errorf("after ClearFaults: calls passed = %d, want %d", got, want)
		}
	})
}
