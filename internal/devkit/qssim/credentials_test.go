package qssim_test

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/qsgate/qsgate/internal/devkit/qssim"
)

// TestTemporaryCredentials uses AssumeRole credentials against STS and
// QuickSight: accepted with their token until they expire, refused after.
func TestTemporaryCredentials(t *testing.T) {
	clock := newFakeClock()
	srv := startSim(t, func(c *qssim.Config) {
		c.Now = clock.Now
		c.Roles = []string{"arn:aws:iam::" + testAccount + ":role/PortalUsers"}
	})
	arn := srv.AddUser(qssim.User{UserName: "alice", Role: "AUTHOR"})
	role := assumeRole(t, stsClient(srv.URL(), nil), srv.RoleARN("PortalUsers"), "alice", 900)
	key, secret, token := aws.ToString(role.Credentials.AccessKeyId), aws.ToString(role.Credentials.SecretAccessKey), aws.ToString(role.Credentials.SessionToken)

	tests := []struct {
		name          string
		edit          func(*aws.Config)
		advance       time.Duration
		wantQS        string
		wantSTS       string
		wantStatus    int
		wantPrincipal string
	}{
		{"valid", withCreds(key, secret, token), 0, "", "", 200, aws.ToString(role.AssumedRoleUser.Arn)},
		{"valid a second before expiry", withCreds(key, secret, token), 14*time.Minute + 59*time.Second, "", "", 200, aws.ToString(role.AssumedRoleUser.Arn)},
		{"expired", withCreds(key, secret, token), 15 * time.Minute, qssim.ErrExpiredToken, qssim.ErrSTSExpiredToken, 403, ""},
		{"without the token", withCreds(key, secret, ""), 0, qssim.ErrUnrecognizedClient, qssim.ErrSTSInvalidClientTokenID, 403, ""},
		{"with another token", withCreds(key, secret, token+"x"), 0, qssim.ErrUnrecognizedClient, qssim.ErrSTSInvalidClientTokenID, 403, ""},
		{"with another secret", withCreds(key, testSecret, token), 0, qssim.ErrInvalidSignature, qssim.ErrSTSSignatureDoesNotMatch, 403, ""},
		{"unknown key", withCreds("ASIAAAAAAAAAAAAAAAAA", secret, token), 0, qssim.ErrUnrecognizedClient, qssim.ErrSTSInvalidClientTokenID, 403, ""},
		{"configured key with the issued token", withCreds(testKey, testSecret, token), 0, qssim.ErrUnrecognizedClient, qssim.ErrSTSInvalidClientTokenID, 403, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock.Advance(tt.advance)
			defer clock.Advance(-tt.advance)
			srv.Reset()
			edit := func(c *aws.Config) { oneAttempt(c); tt.edit(c) }

			_, err := sessionEmbedURL(t.Context(), client(srv.URL(), edit), arn, "/start", 60)
			if got := apiCode(t, err); got != tt.wantQS {
				t.Fatalf("QuickSight error code = %q (%v), want %q", got, err, tt.wantQS)
			}
			if err != nil && httpStatus(err) != tt.wantStatus {
				t.Errorf("QuickSight HTTP status = %d, want %d", httpStatus(err), tt.wantStatus)
			}
			if tt.wantQS == qssim.ErrExpiredToken && apiMessage(err) != "The security token included in the request is expired" {
				t.Errorf("QuickSight message = %q, want the expired token message", apiMessage(err))
			}

			_, err = stsClient(srv.URL(), edit).GetCallerIdentity(t.Context(), &sts.GetCallerIdentityInput{})
			if got := apiCode(t, err); got != tt.wantSTS {
				t.Fatalf("STS error code = %q (%v), want %q", got, err, tt.wantSTS)
			}
			if err != nil && httpStatus(err) != tt.wantStatus {
				t.Errorf("STS HTTP status = %d, want %d", httpStatus(err), tt.wantStatus)
			}

			for _, c := range srv.Calls() {
				if c.Principal != tt.wantPrincipal || c.Status != tt.wantStatus {
					t.Errorf("call %s: Principal %q, Status %d; want %q, %d", c.Operation, c.Principal, c.Status, tt.wantPrincipal, tt.wantStatus)
				}
			}
		})
	}

	t.Run("role chaining is limited to an hour", func(t *testing.T) {
		stsc := stsClient(srv.URL(), func(c *aws.Config) { oneAttempt(c); withRoleCreds(role.Credentials)(c) })
		if out := assumeRole(t, stsc, srv.RoleARN("PortalUsers"), "chained", 3600); aws.ToString(out.AssumedRoleUser.Arn) == "" {
			t.Error("chained AssumeRole for an hour: no assumed-role ARN")
		}
		_, err := stsc.AssumeRole(t.Context(), &sts.AssumeRoleInput{
			RoleArn: aws.String(srv.RoleARN("PortalUsers")), RoleSessionName: aws.String("chained"), DurationSeconds: aws.Int32(3601),
		})
		if got, want := apiCode(t, err), qssim.ErrSTSValidation; got != want || !strings.Contains(apiMessage(err), "role chaining") {
			t.Errorf("chained AssumeRole for 3601 s: %q %q, want %s about role chaining", got, apiMessage(err), want)
		}
	})
}
