package qssim_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/quicksight"
	"github.com/aws/aws-sdk-go-v2/service/quicksight/types"

	"github.com/qsgate/qsgate/internal/devkit/qssim"
)

// TestListUsersManyPages pages through more than 100 users with the SDK's
// paginator and the service's default page size.
func TestListUsersManyPages(t *testing.T) {
	srv := startSim(t, nil)
	var want []string
	for i := range 250 {
		name := fmt.Sprintf("user%03d", i)
		if i%50 == 0 {
			name = "PortalUsers/" + name // role-session users list like the others
		}
		srv.AddUser(qssim.User{UserName: name})
		want = append(want, name)
	}
	slices.Sort(want)

	got, sizes := listAllUsers(t, client(srv.URL(), nil), nil)
	if !slices.Equal(got, want) {
		t.Errorf("listed %d users, want the %d added, in name order, once each", len(got), len(want))
	}
	if want := []int{100, 100, 50}; !slices.Equal(sizes, want) {
		t.Errorf("page sizes = %v, want %v", sizes, want)
	}
}

func TestDescribeAccountSettings(t *testing.T) {
	tests := []struct {
		edition string
		want    types.Edition
	}{
		{"", types.EditionEnterprise},
		{"STANDARD", types.EditionStandard},
		{"ENTERPRISE_AND_Q", types.EditionEnterpriseAndQ},
	}
	for _, tt := range tests {
		t.Run("edition "+tt.edition, func(t *testing.T) {
			srv := startSim(t, func(c *qssim.Config) { c.Edition = tt.edition })
			out, err := client(srv.URL(), nil).DescribeAccountSettings(t.Context(), &quicksight.DescribeAccountSettingsInput{AwsAccountId: aws.String(testAccount)})
			if err != nil {
				t.Fatalf("DescribeAccountSettings: %v", err)
			}
			s := out.AccountSettings
			if s == nil || s.Edition != tt.want || aws.ToString(s.AccountName) != "qssim" || aws.ToString(s.DefaultNamespace) != "default" ||
				aws.ToString(s.NotificationEmail) != "admin@example.com" || s.PublicSharingEnabled || s.TerminationProtectionEnabled {
				t.Errorf("AccountSettings = %+v, want qssim, %s, default, admin@example.com, no public sharing or termination protection", s, tt.want)
			}
			if out.Status != 200 || aws.ToString(out.RequestId) == "" {
				t.Errorf("Status = %d, RequestId = %q; want 200 and an id", out.Status, aws.ToString(out.RequestId))
			}
		})
	}

	t.Run("other account", func(t *testing.T) {
		srv := startSim(t, nil)
		_, err := client(srv.URL(), oneAttempt).DescribeAccountSettings(t.Context(), &quicksight.DescribeAccountSettingsInput{AwsAccountId: aws.String("999999999999")})
		if !isA[*types.AccessDeniedException](err) {
			t.Errorf("error = %v, want AccessDeniedException", err)
		}
	})
}
