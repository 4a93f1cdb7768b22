package qssim_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/quicksight"
	"github.com/aws/aws-sdk-go-v2/service/quicksight/types"

	"github.com/qsgate/qsgate/internal/devkit/qssim"
)

func userFilter(name types.DashboardFilterAttribute, arn string) types.DashboardSearchFilter {
	return types.DashboardSearchFilter{Name: name, Operator: types.FilterOperatorStringEquals, Value: aws.String(arn)}
}

// searchDashboardIDs pages through SearchDashboards with filters and returns
// the ids found, in order.
func searchDashboardIDs(t *testing.T, qs *quicksight.Client, filters ...types.DashboardSearchFilter) []string {
	t.Helper()
	p := quicksight.NewSearchDashboardsPaginator(qs, &quicksight.SearchDashboardsInput{AwsAccountId: aws.String(testAccount), Filters: filters})
	ids := []string{}
	for p.HasMorePages() {
		page, err := p.NextPage(t.Context())
		if err != nil {
			t.Fatalf("SearchDashboards: %v", err)
		}
		for _, d := range page.DashboardSummaryList {
			ids = append(ids, aws.ToString(d.DashboardId))
		}
	}
	return ids
}

func TestSearchDashboards(t *testing.T) {
	clock := newFakeClock()
	srv := startSim(t, func(c *qssim.Config) { c.Now = clock.Now })
	alice := srv.AddUser(qssim.User{UserName: "alice", Role: "READER"})
	bob := srv.AddUser(qssim.User{UserName: "bob", Role: "AUTHOR"})
	carol := srv.AddUser(qssim.User{UserName: "carol", Role: "READER"})
	updated := clock.Now().Add(-48 * time.Hour).Truncate(time.Second).Add(250 * time.Millisecond)
	salesARN := srv.AddDashboard(qssim.Dashboard{ID: "d-sales", Name: "Sales", LastUpdated: updated, Viewers: []string{alice}, Owners: []string{bob}})
	srv.AddDashboard(qssim.Dashboard{ID: "d-ops", Name: "Operations", Viewers: []string{alice, bob}})
	srv.AddDashboard(qssim.Dashboard{ID: "d-hr", Name: "HR", Viewers: []string{carol}})
	srv.AddDashboard(qssim.Dashboard{ID: "d-exec", Name: "Executive", Owners: []string{alice}})
	qs := client(srv.URL(), nil)

	nameLike := func(v string) types.DashboardSearchFilter {
		return types.DashboardSearchFilter{Name: types.DashboardFilterAttributeDashboardName, Operator: types.FilterOperatorStringLike, Value: aws.String(v)}
	}
	tests := []struct {
		name    string
		filters []types.DashboardSearchFilter
		want    []string
	}{
		{"user sees what they view or own, by name", []types.DashboardSearchFilter{userFilter(types.DashboardFilterAttributeQuicksightUser, alice)}, []string{"d-exec", "d-ops", "d-sales"}},
		{"viewer or owner", []types.DashboardSearchFilter{userFilter(types.DashboardFilterAttributeQuicksightViewerOrOwner, bob)}, []string{"d-ops", "d-sales"}},
		{"direct viewer or owner", []types.DashboardSearchFilter{userFilter(types.DashboardFilterAttributeDirectQuicksightViewerOrOwner, carol)}, []string{"d-hr"}},
		{"owner", []types.DashboardSearchFilter{userFilter(types.DashboardFilterAttributeQuicksightOwner, alice)}, []string{"d-exec"}},
		{"direct owner", []types.DashboardSearchFilter{userFilter(types.DashboardFilterAttributeDirectQuicksightOwner, bob)}, []string{"d-sales"}},
		{"sole owner", []types.DashboardSearchFilter{userFilter(types.DashboardFilterAttributeDirectQuicksightSoleOwner, bob)}, []string{"d-sales"}},
		{"and a name, any case", []types.DashboardSearchFilter{userFilter(types.DashboardFilterAttributeQuicksightUser, alice), nameLike("ALES")}, []string{"d-sales"}},
		{"name first", []types.DashboardSearchFilter{nameLike("o"), userFilter(types.DashboardFilterAttributeQuicksightUser, bob)}, []string{"d-ops"}},
		{"user of nothing", []types.DashboardSearchFilter{userFilter(types.DashboardFilterAttributeQuicksightUser, srv.UserARN("default", "nobody"))}, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := searchDashboardIDs(t, qs, tt.filters...); !slices.Equal(got, tt.want) {
				t.Errorf("dashboards = %v, want %v", got, tt.want)
			}
		})
	}

	t.Run("summary", func(t *testing.T) {
		added := clock.Now()
		clock.Advance(time.Hour) // republished an hour later; back for the SigV4 window
		srv.AddDashboard(qssim.Dashboard{ID: "d-sales", Name: "Sales v2", Viewers: []string{alice}})
		clock.Advance(-time.Hour)
		out, err := qs.SearchDashboards(t.Context(), &quicksight.SearchDashboardsInput{AwsAccountId: aws.String(testAccount),
			Filters: []types.DashboardSearchFilter{userFilter(types.DashboardFilterAttributeQuicksightUser, alice), nameLike("sales")}})
		if err != nil {
			t.Fatalf("SearchDashboards: %v", err)
		}
		if len(out.DashboardSummaryList) != 1 || out.NextToken != nil || out.Status != 200 || aws.ToString(out.RequestId) == "" {
			t.Fatalf("SearchDashboards = %+v, want one dashboard, no next token, status 200 and a request id", out)
		}
		d := out.DashboardSummaryList[0]
		wantARN := "arn:aws:quicksight:" + testRegion + ":" + testAccount + ":dashboard/d-sales"
		if aws.ToString(d.Arn) != wantARN || salesARN != wantARN || aws.ToString(d.Name) != "Sales v2" || aws.ToInt64(d.PublishedVersionNumber) != 2 {
			t.Errorf("summary = ARN %s (AddDashboard said %s), name %q, version %d; want %s, Sales v2, 2",
				aws.ToString(d.Arn), salesARN, aws.ToString(d.Name), aws.ToInt64(d.PublishedVersionNumber), wantARN)
		}
		// The first add was updated before it was added: created no later than that.
		if got := aws.ToTime(d.CreatedTime); !got.Equal(updated) {
			t.Errorf("CreatedTime = %v, want %v (kept from the first version)", got, updated)
		}
		if got, want := aws.ToTime(d.LastUpdatedTime), added.Add(time.Hour).Truncate(time.Millisecond); !got.Equal(want) || !aws.ToTime(d.LastPublishedTime).Equal(want) {
			t.Errorf("LastUpdatedTime = %v, LastPublishedTime = %v, want %v", got, aws.ToTime(d.LastPublishedTime), want)
		}
	})
}

func TestSearchAnalyses(t *testing.T) {
	srv := startSim(t, nil)
	alice := srv.AddUser(qssim.User{UserName: "alice", Role: "AUTHOR"})
	bob := srv.AddUser(qssim.User{UserName: "bob", Role: "AUTHOR"})
	updated := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	srv.AddAnalysis(qssim.Analysis{ID: "a-q3", Name: "Q3 review", LastUpdated: updated, Owners: []string{alice, bob}})
	srv.AddAnalysis(qssim.Analysis{ID: "a-draft", Name: "Draft", Owners: []string{bob}})
	srv.AddDashboard(qssim.Dashboard{ID: "d-1", Name: "Not an analysis", Viewers: []string{alice}})
	qs := client(srv.URL(), nil)

	search := func(name types.AnalysisFilterAttribute, arn string) []types.AnalysisSummary {
		t.Helper()
		out, err := qs.SearchAnalyses(t.Context(), &quicksight.SearchAnalysesInput{AwsAccountId: aws.String(testAccount),
			Filters: []types.AnalysisSearchFilter{{Name: name, Operator: types.FilterOperatorStringEquals, Value: aws.String(arn)}}})
		if err != nil {
			t.Fatalf("SearchAnalyses: %v", err)
		}
		return out.AnalysisSummaryList
	}
	got := search(types.AnalysisFilterAttributeQuicksightUser, alice)
	if len(got) != 1 {
		t.Fatalf("alice's analyses = %+v, want a-q3 only", got)
	}
	a := got[0]
	if aws.ToString(a.AnalysisId) != "a-q3" || aws.ToString(a.Name) != "Q3 review" || a.Status != types.ResourceStatusCreationSuccessful ||
		aws.ToString(a.Arn) != "arn:aws:quicksight:"+testRegion+":"+testAccount+":analysis/a-q3" || !aws.ToTime(a.LastUpdatedTime).Equal(updated) {
		t.Errorf("summary = %+v, want a-q3, Q3 review, CREATION_SUCCESSFUL, updated %v", a, updated)
	}
	var ids []string
	for _, a := range search(types.AnalysisFilterAttributeDirectQuicksightOwner, bob) {
		ids = append(ids, aws.ToString(a.AnalysisId))
	}
	if want := []string{"a-draft", "a-q3"}; !slices.Equal(ids, want) {
		t.Errorf("bob's analyses = %v, want %v", ids, want)
	}
	if got := search(types.AnalysisFilterAttributeDirectQuicksightSoleOwner, alice); len(got) != 0 {
		t.Errorf("alice's solely owned analyses = %+v, want none", got)
	}
}

func TestSearchPaging(t *testing.T) {
	srv := startSim(t, nil)
	alice := srv.AddUser(qssim.User{UserName: "alice"})
	var want []string
	for i := range 250 {
		id := fmt.Sprintf("d-%03d", i)
		// Two dashboards share each name: the order is name, then id.
		srv.AddDashboard(qssim.Dashboard{ID: id, Name: fmt.Sprintf("Board %03d", i/2), Viewers: []string{alice}})
		want = append(want, id)
	}
	srv.AddDashboard(qssim.Dashboard{ID: "d-other", Name: "Board 000", Viewers: []string{srv.UserARN("default", "bob")}})
	qs := client(srv.URL(), nil)

	for _, max := range []int32{100, 7} {
		t.Run(fmt.Sprint("MaxResults ", max), func(t *testing.T) {
			p := quicksight.NewSearchDashboardsPaginator(qs, &quicksight.SearchDashboardsInput{AwsAccountId: aws.String(testAccount), MaxResults: aws.Int32(max),
				Filters: []types.DashboardSearchFilter{userFilter(types.DashboardFilterAttributeQuicksightUser, alice)}})
			var got []string
			pages := 0
			for p.HasMorePages() {
				page, err := p.NextPage(t.Context())
				if err != nil {
					t.Fatalf("NextPage: %v", err)
				}
				pages++
				if n := len(page.DashboardSummaryList); n > int(max) || (n < int(max) && p.HasMorePages()) {
					t.Errorf("page %d holds %d, want %d (fewer only on the last page)", pages, n, max)
				}
				for _, d := range page.DashboardSummaryList {
					got = append(got, aws.ToString(d.DashboardId))
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("listed %d dashboards, want alice's %d in name and id order, once each", len(got), len(want))
			}
			if wantPages := (250 + int(max) - 1) / int(max); pages != wantPages {
				t.Errorf("pages = %d, want %d", pages, wantPages)
			}
		})
	}

	t.Run("tokens", func(t *testing.T) {
		in := &quicksight.SearchDashboardsInput{AwsAccountId: aws.String(testAccount), MaxResults: aws.Int32(10),
			Filters: []types.DashboardSearchFilter{userFilter(types.DashboardFilterAttributeQuicksightUser, alice)}}
		out, err := qs.SearchDashboards(t.Context(), in)
		if err != nil || out.NextToken == nil {
			t.Fatalf("SearchDashboards = %+v, %v; want a page and a next token", out, err)
		}
		_, err = qs.SearchAnalyses(t.Context(), &quicksight.SearchAnalysesInput{AwsAccountId: aws.String(testAccount), NextToken: out.NextToken,
			Filters: []types.AnalysisSearchFilter{{Name: types.AnalysisFilterAttributeQuicksightUser, Operator: types.FilterOperatorStringEquals, Value: aws.String(alice)}}})
		if !isA[*types.InvalidNextTokenException](err) {
			t.Errorf("SearchAnalyses with a SearchDashboards token: error = %v, want InvalidNextTokenException", err)
		}
		in.NextToken = aws.String("not-a-token")
		if _, err := qs.SearchDashboards(t.Context(), in); !isA[*types.InvalidNextTokenException](err) || httpStatus(err) != 400 {
			t.Errorf("bad token: error = %v, want InvalidNextTokenException 400", err)
		}
	})
}
