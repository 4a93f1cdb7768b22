package qssim_test

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/quicksight"
	"github.com/aws/aws-sdk-go-v2/service/quicksight/types"

	"github.com/qsgate/qsgate/internal/devkit/qssim"
)

// DescribeAccountSubscription through the real SDK: the account's edition
// and authentication method, and the Identity Center instance only when the
// account is on Identity Center.
func TestDescribeAccountSubscription(t *testing.T) {
	srv := startSim(t, func(c *qssim.Config) { c.Edition = "ENTERPRISE_AND_Q" })
	qs := client(srv.URL(), oneAttempt)
	describe := func() *quicksight.DescribeAccountSubscriptionOutput {
		t.Helper()
		out, err := qs.DescribeAccountSubscription(t.Context(), &quicksight.DescribeAccountSubscriptionInput{AwsAccountId: aws.String(testAccount)})
		if err != nil {
			t.Fatalf("DescribeAccountSubscription: %v", err)
		}
		return out
	}

	tests := []struct {
		set          string // "" leaves the default
		wantAuth     string
		wantInstance string
	}{
		{"", "IAM_AND_QUICKSIGHT", ""},
		{"IAM_IDENTITY_CENTER", "IAM_IDENTITY_CENTER", "arn:aws:sso:::instance/ssoins-qssim0000000000"},
		{"IAM_ONLY", "IAM_ONLY", ""},
		{"ACTIVE_DIRECTORY", "ACTIVE_DIRECTORY", ""},
		{"IAM_AND_QUICKSIGHT", "IAM_AND_QUICKSIGHT", ""},
	}
	for _, tt := range tests {
		if tt.set != "" {
			srv.SetAuthenticationType(tt.set)
		}
		srv.Reset()
		out := describe()
		info := out.AccountInfo
		if info == nil {
			t.Fatalf("%s: AccountInfo missing", tt.wantAuth)
		}
		if got := aws.ToString(info.AuthenticationType); got != tt.wantAuth {
			t.Errorf("AuthenticationType = %q, want %q", got, tt.wantAuth)
		}
		if got := aws.ToString(info.IAMIdentityCenterInstanceArn); got != tt.wantInstance {
			t.Errorf("%s: IAMIdentityCenterInstanceArn = %q, want %q", tt.wantAuth, got, tt.wantInstance)
		}
		if info.Edition != types.EditionEnterpriseAndQ || aws.ToString(info.AccountName) != "qssim" ||
			aws.ToString(info.NotificationEmail) != "admin@example.com" || aws.ToString(info.AccountSubscriptionStatus) != "ACCOUNT_CREATED" {
			t.Errorf("%s: AccountInfo = %+v, want qssim, ENTERPRISE_AND_Q, admin@example.com, ACCOUNT_CREATED", tt.wantAuth, *info)
		}
		calls := srv.Calls()
		if out.Status != 200 || len(calls) != 1 || calls[0].Operation != "DescribeAccountSubscription" || aws.ToString(out.RequestId) != calls[0].RequestID {
			t.Errorf("%s: Status %d, RequestId %q, calls %+v; want 200 and one DescribeAccountSubscription call of that id",
				tt.wantAuth, out.Status, aws.ToString(out.RequestId), calls)
		}
	}

	// "" restores the default.
	srv.SetAuthenticationType("IAM_IDENTITY_CENTER")
	srv.SetAuthenticationType("")
	if got := aws.ToString(describe().AccountInfo.AuthenticationType); got != "IAM_AND_QUICKSIGHT" {
		t.Errorf(`after SetAuthenticationType(""): %q, want IAM_AND_QUICKSIGHT`, got)
	}

	// Another account is refused like every operation's.
	_, err := qs.DescribeAccountSubscription(t.Context(), &quicksight.DescribeAccountSubscriptionInput{AwsAccountId: aws.String("999999999999")})
	if !isA[*types.AccessDeniedException](err) || httpStatus(err) != 401 {
		t.Errorf("other account: %v (HTTP %d), want AccessDeniedException 401", err, httpStatus(err))
	}
}

// SetAuthenticationType takes only the methods QuickSight reports.
func TestSetAuthenticationTypeRefusesUnknown(t *testing.T) {
	srv := startSim(t, nil)
	defer func() {
		got, _ := recover().(string)
		if !strings.Contains(got, `"SAML"`) || !strings.Contains(got, "IAM_IDENTITY_CENTER") {
			t.Errorf("panic = %q, want it to name the value and the valid ones", got)
		}
	}()
	srv.SetAuthenticationType("SAML")
}
