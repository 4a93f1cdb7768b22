package commands

import (
	"html"
	"maps"
	"regexp"
	"strings"
	"testing"

	"github.com/oauth2-proxy/mockoidc"

	"github.com/qsgate/qsgate/internal/devkit/qssim"
)

var barTitleRE = regexp.MustCompile(`id="bar-title">([^<]*)<`)

// TestBarNamesListedContent, the whole program: after the home page listed
// alice's dashboards and analyses, the embed page's bar names the one open
// instead of showing its id (escaped as text), and the view still costs one
// AWS call, the embed URL; before the home page, the bar shows the id, and
// another user, whose own listing does not hold it, sees the id.
func TestBarNamesListedContent(t *testing.T) {
	s := startStack(t, noSignInLimits)
	s.sim.AddUser(qssim.User{UserName: "bob@example.com", Email: "bob@example.com", Role: "AUTHOR"})
	bob := &mockoidc.MockUser{Subject: "sub-bob", Email: "bob@example.com", EmailVerified: true, PreferredUsername: "bob"}
	s.sim.AddDashboard(qssim.Dashboard{ID: "sales-2026", Name: "Sales & margins 2026", Viewers: []string{arnOf("alice@example.com")}})
	s.sim.AddAnalysis(qssim.Analysis{ID: "churn", Name: `Churn "deep" <b>dive</b>`, Owners: []string{arnOf("alice@example.com")}})
	b := newBrowser(t)
	titleIn := func(b *browser, path string) string {
		t.Helper()
		p := b.get(s.url + path)
		m := barTitleRE.FindStringSubmatch(p.body)
		if p.status != 200 || m == nil {
			t.Fatalf("%s: %s, no bar title\n%s", path, p, p.body)
		}
		if strings.Contains(p.body, "<b>dive</b>") {
			t.Errorf("%s: a name's markup reached the page unescaped", path)
		}
		return html.UnescapeString(m[1])
	}
	title := func(path string) string { t.Helper(); return titleIn(b, path) }

	s.signIn(b, alice, "/embed/dashboards/sales-2026")
	if got := title("/embed/dashboards/sales-2026"); got != "sales-2026" {
		t.Errorf("before the home page: bar title %q, want the id", got)
	}
	if p := b.get(s.url + "/"); p.status != 200 {
		t.Fatalf("home: %s", p)
	}
	for _, tt := range []struct{ path, want string }{
		{"/embed/dashboards/sales-2026", "Sales & margins 2026"},
		{"/embed/analyses/churn", `Churn "deep" <b>dive</b>`},
		{"/embed/dashboards/not-listed", "not-listed"},
	} {
		s.sim.Reset()
		if got := title(tt.path); got != tt.want {
			t.Errorf("%s: bar title %q, want %q", tt.path, got, tt.want)
		}
		if got, want := callCounts(s.sim), map[string]int{"GetSessionEmbedUrl": 1}; !maps.Equal(got, want) {
			t.Errorf("%s: AWS calls %v, want %v", tt.path, got, want)
		}
	}

	other := newBrowser(t)
	s.signIn(other, bob, "/")
	if got := titleIn(other, "/embed/dashboards/sales-2026"); got != "sales-2026" {
		t.Errorf("bob, whose listing does not hold it: bar title %q, want the id", got)
	}
}
