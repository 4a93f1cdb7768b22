package qssim_test

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/quicksight"
	"github.com/aws/aws-sdk-go-v2/service/quicksight/types"

	"github.com/qsgate/qsgate/internal/devkit/qssim"
)

func TestSearchInvalid(t *testing.T) {
	srv := startSim(t, nil)
	alice := srv.AddUser(qssim.User{UserName: "alice"})
	bob := srv.AddUser(qssim.User{UserName: "bob"})
	qs := client(srv.URL(), oneAttempt)
	f := func(name, op, value string) types.DashboardSearchFilter {
		return types.DashboardSearchFilter{Name: types.DashboardFilterAttribute(name), Operator: types.FilterOperator(op), Value: aws.String(value)}
	}
	user := f("QUICKSIGHT_USER", "StringEquals", alice)

	tests := []struct {
		name    string
		filters []types.DashboardSearchFilter
		max     *int32
		wantMsg string
	}{
		{"no filter", []types.DashboardSearchFilter{}, nil, "must hold one filter on a principal"},
		{"two user filters", []types.DashboardSearchFilter{user, f("QUICKSIGHT_USER", "StringEquals", bob)}, nil, "only one filter on a principal"},
		{"user and owner filters", []types.DashboardSearchFilter{user, f("QUICKSIGHT_OWNER", "StringEquals", alice)}, nil, "got QUICKSIGHT_USER and QUICKSIGHT_OWNER"},
		{"user filter with StringLike", []types.DashboardSearchFilter{f("QUICKSIGHT_USER", "StringLike", alice)}, nil, "takes the StringEquals operator"},
		{"user filter without an ARN", []types.DashboardSearchFilter{f("QUICKSIGHT_USER", "StringEquals", "alice")}, nil, "QuickSight user or group ARN"},
		{"name alone", []types.DashboardSearchFilter{f("DASHBOARD_NAME", "StringLike", "Sales")}, nil, "must hold one filter on a principal"},
		{"name with StringEquals", []types.DashboardSearchFilter{user, f("DASHBOARD_NAME", "StringEquals", "Sales")}, nil, "DASHBOARD_NAME filter takes the StringLike operator"},
		{"two names", []types.DashboardSearchFilter{user, f("DASHBOARD_NAME", "StringLike", "a"), f("DASHBOARD_NAME", "StringLike", "b")}, nil, "only one DASHBOARD_NAME filter"},
		{"analysis name", []types.DashboardSearchFilter{user, f("ANALYSIS_NAME", "StringLike", "a")}, nil, `"ANALYSIS_NAME" is not valid for SearchDashboards`},
		{"unknown operator", []types.DashboardSearchFilter{f("QUICKSIGHT_USER", "StringContains", alice)}, nil, "use StringEquals or StringLike"},
		{"max results 0", []types.DashboardSearchFilter{user}, aws.Int32(0), "MaxResults must be between 1 and 100"},
		{"max results 101", []types.DashboardSearchFilter{user}, aws.Int32(101), "MaxResults must be between 1 and 100"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := qs.SearchDashboards(t.Context(), &quicksight.SearchDashboardsInput{AwsAccountId: aws.String(testAccount), Filters: tt.filters, MaxResults: tt.max})
			if !isA[*types.InvalidParameterValueException](err) || httpStatus(err) != 400 || !strings.Contains(apiMessage(err), tt.wantMsg) {
				t.Errorf("error = %v (HTTP %d), want InvalidParameterValueException 400 saying %q", err, httpStatus(err), tt.wantMsg)
			}
		})
	}

	t.Run("dashboard name for analyses", func(t *testing.T) {
		_, err := qs.SearchAnalyses(t.Context(), &quicksight.SearchAnalysesInput{AwsAccountId: aws.String(testAccount), Filters: []types.AnalysisSearchFilter{
			{Name: types.AnalysisFilterAttributeQuicksightUser, Operator: types.FilterOperatorStringEquals, Value: aws.String(alice)},
			{Name: "DASHBOARD_NAME", Operator: types.FilterOperatorStringLike, Value: aws.String("a")},
		}})
		if !isA[*types.InvalidParameterValueException](err) {
			t.Errorf("error = %v, want InvalidParameterValueException", err)
		}
	})
}

// TestSearchCountsLikeAnyCall: the searches are recorded, take faults,
// latency and the rate limit, and check the account like every call.
func TestSearchCountsLikeAnyCall(t *testing.T) {
	srv := startSim(t, nil)
	alice := srv.AddUser(qssim.User{UserName: "alice"})
	srv.AddDashboard(qssim.Dashboard{ID: "d-1", Name: "One", Viewers: []string{alice}})
	qs := client(srv.URL(), oneAttempt)
	search := func(account string) error {
		_, err := qs.SearchDashboards(t.Context(), &quicksight.SearchDashboardsInput{AwsAccountId: aws.String(account),
			Filters: []types.DashboardSearchFilter{userFilter(types.DashboardFilterAttributeQuicksightUser, alice)}})
		return err
	}

	if err := search(testAccount); err != nil {
		t.Fatalf("SearchDashboards: %v", err)
	}
	c := srv.Calls()
	if len(c) != 1 || c[0].Operation != "SearchDashboards" || c[0].UserArn != alice || c[0].Status != 200 || c[0].AccessKeyID != testKey {
		t.Errorf("Calls() = %+v, want one SearchDashboards for %s, 200", c, alice)
	}

	srv.FailUser(alice, qssim.ErrThrottling)
	if err := search(testAccount); !isA[*types.ThrottlingException](err) {
		t.Errorf("with FailUser: error = %v, want ThrottlingException", err)
	}
	srv.ClearFaults()
	srv.FailNext(1, qssim.ErrInternalFailure)
	if err := search(testAccount); !isA[*types.InternalFailureException](err) {
		t.Errorf("with FailNext: error = %v, want InternalFailureException", err)
	}
	srv.SetRateLimit(1)
	_ = search(testAccount)
	if err := search(testAccount); !isA[*types.ThrottlingException](err) || httpStatus(err) != 429 {
		t.Errorf("beyond the rate limit: error = %v, want ThrottlingException 429", err)
	}
	srv.ClearFaults()
	srv.SetLatency(50 * time.Millisecond)
	start := time.Now()
	if err := search(testAccount); err != nil || time.Since(start) < 50*time.Millisecond {
		t.Errorf("with latency: %v after %v, want success after 50ms", err, time.Since(start))
	}
	srv.ClearFaults()
	// SearchDashboards does not model AccessDeniedException: the SDK gives
	// a generic API error with the code.
	if err := search("999999999999"); apiCode(t, err) != qssim.ErrAccessDenied || httpStatus(err) != 401 {
		t.Errorf("other account: error = %v, want AccessDeniedException 401", err)
	}
	if got, want := len(srv.Calls()), 7; got != want {
		t.Errorf("calls = %d, want %d, failed and throttled ones included", got, want)
	}
}
