package qssim_test

import (
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/quicksight"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"

	"github.com/qsgate/qsgate/internal/devkit/qssim"
)

// The real SDK clients the tests talk to the simulator with, and how they
// read its errors.

// client is the real SDK client aimed at url. Retries happen without backoff
// so fault tests stay fast; edit can change credentials, region or attempts.
func client(url string, edit func(*aws.Config)) *quicksight.Client {
	return quicksight.NewFromConfig(awsConfig(edit), func(o *quicksight.Options) { o.BaseEndpoint = aws.String(url) })
}

// awsConfig is the SDK configuration of client (and stsClient).
func awsConfig(edit func(*aws.Config)) aws.Config {
	cfg := aws.Config{
		Region:      testRegion,
		Credentials: credentials.NewStaticCredentialsProvider(testKey, testSecret, ""),
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
			})
		},
	}
	if edit != nil {
		edit(&cfg)
	}
	return cfg
}

func oneAttempt(c *aws.Config) { c.RetryMaxAttempts = 1 }

// apiCode returns the AWS error code of err, or "" for nil.
func apiCode(t *testing.T, err error) string {
	t.Helper()
	if err == nil {
		return ""
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v is not a smithy.APIError", err)
	}
	return ae.ErrorCode()
}

func httpStatus(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

func isA[T error](err error) bool {
	var target T
	return errors.As(err, &target)
}

// stsClient is the real STS client aimed at url, configured like client.
func stsClient(url string, edit func(*aws.Config)) *sts.Client {
	return sts.NewFromConfig(awsConfig(edit), func(o *sts.Options) { o.BaseEndpoint = aws.String(url) })
}

// withCreds signs with the given static credentials.
func withCreds(key, secret, token string) func(*aws.Config) {
	return func(c *aws.Config) { c.Credentials = credentials.NewStaticCredentialsProvider(key, secret, token) }
}

// withRoleCreds signs with credentials AssumeRole returned.
func withRoleCreds(c *ststypes.Credentials) func(*aws.Config) {
	return withCreds(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken))
}

// apiMessage returns the AWS error message of err.
func apiMessage(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorMessage()
	}
	return ""
}

// assumeRole assumes role as session through the SDK and fails the test on error.
func assumeRole(t *testing.T, stsc *sts.Client, role, session string, seconds int32) *sts.AssumeRoleOutput {
	t.Helper()
	out, err := stsc.AssumeRole(t.Context(), &sts.AssumeRoleInput{
		RoleArn: aws.String(role), RoleSessionName: aws.String(session), DurationSeconds: aws.Int32(seconds),
	})
	if err != nil {
		t.Fatalf("AssumeRole(%s, %s): %v", role, session, err)
	}
	return out
}

// roleClient is a QuickSight client signing as session of role, with
// credentials from the SDK's own AssumeRole provider, as a gateway gets them.
func roleClient(srv *qssim.Server, role, session string) *quicksight.Client {
	provider := stscreds.NewAssumeRoleProvider(stsClient(srv.URL(), nil), role, func(o *stscreds.AssumeRoleOptions) {
		o.RoleSessionName = session
	})
	return client(srv.URL(), func(c *aws.Config) { oneAttempt(c); c.Credentials = aws.NewCredentialsCache(provider) })
}
