package handlers

import (
	"context"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/qsgate/qsgate/quicksight"
)

var barTitleRE = regexp.MustCompile(`<h1 class="open-title" id="bar-title">([^<]*)</h1>`)

// barTitle is the open title in an embed page's bar.
func barTitle(t *testing.T, h http.Handler, path string) string {
	t.Helper()
	resp := get(t, h, path)
	body, _ := io.ReadAll(resp.Body)
	m := barTitleRE.FindSubmatch(body)
	if resp.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("%s: status %d, no bar title:\n%s", path, resp.StatusCode, body)
	}
	return string(m[1])
}

// TestBarNamesWhatTheHomePageListed: once the home page has listed a
// dashboard, the embed page's bar (and the page's title) shows its name,
// not its id; before that, and for what the listing does not hold, the id.
// The views never ask the catalog: the home page's one listing is all.
func TestBarNamesWhatTheHomePageListed(t *testing.T) {
	l := &listing{}
	h := portalServer(t, Deps{Catalog: l,
		Mapper: quicksight.NewTemplateMapper(quicksight.DefaultARNTemplate, "123456789012", "default", "us-east-1")})

	if got := barTitle(t, h, "/embed/dashboards/sales"); got != "sales" {
		t.Errorf("before the home page: bar title %q, want the id sales", got)
	}
	if resp := get(t, h, "/"); resp.StatusCode != http.StatusOK {
		t.Fatalf("home page: %d", resp.StatusCode)
	}
	for _, tt := range []struct{ path, want string }{
		{"/embed/dashboards/sales", "Sales"},
		{"/embed/dashboards/sales?p.Region=EMEA", "Sales"},
		{"/embed/analyses/sales", "sales"}, // an analysis of that id is not listed
		{"/embed/dashboards/other", "other"},
		{"/embed/start", "Start"},
	} {
		if got := barTitle(t, h, tt.path); got != tt.want {
			t.Errorf("%s: bar title %q, want %q", tt.path, got, tt.want)
		}
	}
	resp := get(t, h, "/embed/dashboards/sales")
	body, _ := io.ReadAll(resp.Body)
	for _, want := range []string{"<title>Sales - QuickSight portal</title>", `title="Amazon QuickSight: Sales"`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	if l.calls != 1 {
		t.Errorf("catalog listings = %d, want 1 (the home page's); a view must not list", l.calls)
	}
}

// failingListing is a catalog whose listing fails.
type failingListing struct{ calls int }

func (f *failingListing) For(context.Context, string) ([]quicksight.Item, error) {
	f.calls++
	return nil, errors.New("SearchDashboards: AccessDeniedException")
}

// TestBarShowsIDsWithoutAListing: without a catalog, or when its listing
// failed, the bar shows the id and the view is not held up.
func TestBarShowsIDsWithoutAListing(t *testing.T) {
	mapper := quicksight.NewTemplateMapper(quicksight.DefaultARNTemplate, "123456789012", "default", "us-east-1")
	f := &failingListing{}
	for name, d := range map[string]Deps{"no catalog": {Mapper: mapper}, "failed listing": {Mapper: mapper, Catalog: f}} {
		h := portalServer(t, d)
		get(t, h, "/")
		if got := barTitle(t, h, "/embed/dashboards/sales"); got != "sales" {
			t.Errorf("%s: bar title %q, want the id", name, got)
		}
	}
	if f.calls != 1 {
		t.Errorf("listings = %d, want 1 (the home page's)", f.calls)
	}
}
