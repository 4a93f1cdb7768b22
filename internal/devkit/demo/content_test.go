package demo_test

import (
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/quicksight"
	"github.com/aws/aws-sdk-go-v2/service/quicksight/types"

	"github.com/qsgate/qsgate/internal/devkit/demo"
)

// TestContent searches, as the gateway's home page does (SearchDashboards
// and SearchAnalyses filtered on the user's ARN), what each demo user is
// shown in each mode. nora has content only where the gateway registers her,
// under the ARN it will give her.
func TestContent(t *testing.T) {
	t.Parallel()
	alice := []string{"analysis churn-deep-dive: Churn deep dive", "dashboard marketing-funnel: Marketing funnel", "dashboard sales-2026: Sales 2026"}
	adam := []string{"analysis q3-forecast: Q3 forecast", "dashboard finance-close: Finance close", "dashboard marketing-funnel: Marketing funnel", "dashboard sales-2026: Sales 2026"}
	rita := []string{"dashboard sales-2026: Sales 2026"}
	tests := []struct {
		mapping string
		names   map[string]string   // subject -> QuickSight user name
		want    map[string][]string // subject -> what the search finds
	}{
		{"template",
			map[string]string{"alice": "alice@example.com", "adam": "adam@example.com", "rita": "rita@example.com", "nora": "nora@example.com"},
			map[string][]string{"alice": alice, "adam": adam, "rita": rita, "nora": nil}},
		{"lookup",
			map[string]string{"alice": "alice.author", "adam": "adam.admin", "rita": "rita.reader", "nora": "nora@example.com"},
			map[string][]string{"alice": alice, "adam": adam, "rita": rita, "nora": nil}},
		{"register",
			map[string]string{"alice": "alice.author", "adam": "adam.admin", "rita": "rita.reader", "nora": "nora@example.com"},
			map[string][]string{"alice": alice, "adam": adam, "rita": rita, "nora": rita}},
		{"iam",
			map[string]string{"alice": "QuickSightEmbed/alice@example.com", "adam": "QuickSightEmbed/adam@example.com",
				"rita": "QuickSightEmbed/rita@example.com", "nora": "QuickSightEmbed/nora@example.com"},
			map[string][]string{"alice": alice, "adam": adam, "rita": rita, "nora": rita}},
	}
	for _, tt := range tests {
		t.Run(tt.mapping, func(t *testing.T) {
			t.Parallel()
			st := start(t, tt.mapping)
			client := quickSightClient(st)
			for subject, name := range tt.names {
				arn := st.Sim.UserARN("default", name)
				if got, want := search(t, client, st, arn), tt.want[subject]; !slices.Equal(got, want) {
					t.Errorf("%s (%s) finds %q, want %q", subject, arn, got, want)
				}
			}
		})
	}
}

// TestContentForNewcomer registers nora as the gateway does in register and
// iam modes and checks the ARN QuickSight gives her is the one Sales 2026
// was shared with.
func TestContentForNewcomer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		mapping string
		in      quicksight.RegisterUserInput
	}{
		{"register", quicksight.RegisterUserInput{IdentityType: types.IdentityTypeQuicksight, UserName: aws.String("nora@example.com")}},
		{"iam", quicksight.RegisterUserInput{IdentityType: types.IdentityTypeIam, IamArn: aws.String(roleARN), SessionName: aws.String("nora@example.com")}},
	}
	for _, tt := range tests {
		t.Run(tt.mapping, func(t *testing.T) {
			t.Parallel()
			st := start(t, tt.mapping)
			client := quickSightClient(st)
			in := tt.in
			in.AwsAccountId = aws.String(demo.AccountID)
			in.Namespace = aws.String("default")
			in.Email = aws.String("nora@example.com")
			in.UserRole = types.UserRoleAuthor
			out, err := client.RegisterUser(t.Context(), &in)
			if err != nil {
				t.Fatalf("RegisterUser nora: %v", err)
			}
			arn := aws.ToString(out.User.Arn)
			if got, want := search(t, client, st, arn), []string{"dashboard sales-2026: Sales 2026"}; !slices.Equal(got, want) {
				t.Errorf("registered nora (%s) finds %q, want %q", arn, got, want)
			}
		})
	}
}

func quickSightClient(st *demo.Stack) *quicksight.Client {
	s := st.Settings
	return quicksight.New(quicksight.Options{
		Region:       s["AWS_REGION"],
		Credentials:  credentials.NewStaticCredentialsProvider(s["AWS_ACCESS_KEY_ID"], s["AWS_SECRET_ACCESS_KEY"], ""),
		BaseEndpoint: aws.String(s["AWS_ENDPOINT_URL_QUICKSIGHT"]),
	})
}

// search lists "dashboard ID: NAME" and "analysis ID: NAME" for what userARN may
// open, sorted; nil for nothing.
func search(t *testing.T, client *quicksight.Client, st *demo.Stack, userARN string) []string {
	t.Helper()
	account := aws.String(st.Settings["QSGATE_QUICKSIGHT_ACCOUNT_ID"])
	var found []string
	dashboards, err := client.SearchDashboards(t.Context(), &quicksight.SearchDashboardsInput{
		AwsAccountId: account,
		Filters: []types.DashboardSearchFilter{{Name: types.DashboardFilterAttributeQuicksightUser,
			Operator: types.FilterOperatorStringEquals, Value: aws.String(userARN)}},
	})
	if err != nil {
		t.Fatalf("SearchDashboards for %s: %v", userARN, err)
	}
	for _, d := range dashboards.DashboardSummaryList {
		found = append(found, "dashboard "+aws.ToString(d.DashboardId)+": "+aws.ToString(d.Name))
	}
	analyses, err := client.SearchAnalyses(t.Context(), &quicksight.SearchAnalysesInput{
		AwsAccountId: account,
		Filters: []types.AnalysisSearchFilter{{Name: types.AnalysisFilterAttributeQuicksightUser,
			Operator: types.FilterOperatorStringEquals, Value: aws.String(userARN)}},
	})
	if err != nil {
		t.Fatalf("SearchAnalyses for %s: %v", userARN, err)
	}
	for _, a := range analyses.AnalysisSummaryList {
		found = append(found, "analysis "+aws.ToString(a.AnalysisId)+": "+aws.ToString(a.Name))
	}
	slices.Sort(found)
	return found
}
