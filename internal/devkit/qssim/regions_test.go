package qssim_test

import (
	"strconv"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/quicksight"
	"github.com/aws/aws-sdk-go-v2/service/quicksight/types"

	"github.com/qsgate/qsgate/internal/devkit/qssim"
)

// TestRegions: the simulator answers for the endpoint region and the identity
// region; user management and DescribeAccountSubscription only in the
// identity region, as QuickSight does.
func TestRegions(t *testing.T) {
	const identityRegion = "us-east-1"
	srv := startSim(t, func(c *qssim.Config) { c.IdentityRegion = identityRegion })
	alice := srv.AddUser(qssim.User{UserName: "alice", Role: "AUTHOR"})
	if got, want := alice, "arn:aws:quicksight:us-east-1:"+testAccount+":user/default/alice"; got != want {
		t.Errorf("user ARN = %q, want %q (in the identity region)", got, want)
	}
	account, ns := aws.String(testAccount), aws.String("default")
	registered := 0

	ops := []struct {
		name           string
		userManagement bool
		call           func(*quicksight.Client) error
	}{
		{"DescribeUser", true, func(qs *quicksight.Client) error {
			_, err := qs.DescribeUser(t.Context(), &quicksight.DescribeUserInput{AwsAccountId: account, Namespace: ns, UserName: aws.String("alice")})
			return err
		}},
		{"RegisterUser", true, func(qs *quicksight.Client) error {
			registered++
			_, err := qs.RegisterUser(t.Context(), &quicksight.RegisterUserInput{AwsAccountId: account, Namespace: ns, IdentityType: types.IdentityTypeQuicksight,
				UserName: aws.String("user" + strconv.Itoa(registered)), Email: aws.String("u@example.com"), UserRole: types.UserRoleReader})
			return err
		}},
		{"ListUsers", true, func(qs *quicksight.Client) error {
			_, err := qs.ListUsers(t.Context(), &quicksight.ListUsersInput{AwsAccountId: account, Namespace: ns})
			return err
		}},
		{"GetSessionEmbedUrl", false, func(qs *quicksight.Client) error {
			_, err := sessionEmbedURL(t.Context(), qs, alice, "/start", 60)
			return err
		}},
		{"GenerateEmbedUrlForRegisteredUser", false, func(qs *quicksight.Client) error {
			_, err := qs.GenerateEmbedUrlForRegisteredUser(t.Context(), &quicksight.GenerateEmbedUrlForRegisteredUserInput{AwsAccountId: account, UserArn: aws.String(alice),
				ExperienceConfiguration: &types.RegisteredUserEmbeddingExperienceConfiguration{Dashboard: &types.RegisteredUserDashboardEmbeddingConfiguration{InitialDashboardId: aws.String("d-1")}}})
			return err
		}},
		{"DescribeAccountSubscription", true, func(qs *quicksight.Client) error {
			_, err := qs.DescribeAccountSubscription(t.Context(), &quicksight.DescribeAccountSubscriptionInput{AwsAccountId: account})
			return err
		}},
		{"DescribeAccountSettings", false, func(qs *quicksight.Client) error {
			_, err := qs.DescribeAccountSettings(t.Context(), &quicksight.DescribeAccountSettingsInput{AwsAccountId: account})
			return err
		}},
	}
	for _, op := range ops {
		for _, region := range []string{testRegion, identityRegion, "us-west-2"} {
			t.Run(op.name+" signed for "+region, func(t *testing.T) {
				wantCode, wantMsg := "", ""
				switch {
				case region == "us-west-2":
					wantCode, wantMsg = qssim.ErrInvalidSignature, "Credential should be scoped to a valid region, not 'us-west-2'."
				case op.userManagement && region != identityRegion:
					wantCode, wantMsg = qssim.ErrAccessDenied, "Operation is being called from endpoint quicksight."+region+
						".amazonaws.com, but your identity region is us-east-1. Please use the us-east-1 endpoint."
				}
				srv.Reset()
				err := op.call(client(srv.URL(), func(c *aws.Config) { oneAttempt(c); c.Region = region }))
				if got := apiCode(t, err); got != wantCode {
					t.Fatalf("error code = %q (%v), want %q", got, err, wantCode)
				}
				if got := apiMessage(err); got != wantMsg {
					t.Errorf("message = %q, want %q", got, wantMsg)
				}
				if c := srv.Calls(); len(c) != 1 || c[0].Operation != op.name || c[0].Region != region {
					t.Errorf("Calls() = %+v, want one %s call recorded for region %s", c, op.name, region)
				}
			})
		}
	}
}
