package commands

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/qsgate/qsgate/internal/devkit/qssim"
)

// The home page and the first view of a person: what they cost QuickSight
// and who may cause them (issue 16's suspicions).

// navigate is a browser's GET of u with the Sec-Fetch-Site the browser
// would send ("" for none sent: an old browser).
func navigate(t *testing.T, b *browser, u, site string) page {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/html")
	if site != "" {
		req.Header.Set("Sec-Fetch-Site", site)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return page{status: resp.StatusCode, url: resp.Request.URL.String(), body: string(body), header: resp.Header}
}

// In register mode with RegisterUser failing, 40 loads of the home page
// register nobody (the home page only finds users), and 40 views cost one
// failed registration (with the SDK's retries of it): the failure is
// remembered briefly and each view gets its page.
func TestRegisterUserFailingCostsAHandfulOfCalls(t *testing.T) {
	s := startStack(t, map[string]string{
		"QSGATE_USER_MAPPING":          "register",
		"QSGATE_ALLOWED_EMAIL_DOMAINS": "example.com",
	})
	s.sim.FailUser(arnOf(nobby.Email), qssim.ErrInternalFailure)
	b := newBrowser(t)
	if p := s.signIn(b, nobby, "/"); p.status != 200 {
		t.Fatalf("sign-in: %s", p)
	}
	for i := range 40 {
		if p := b.get(s.url + "/"); p.status != 200 || !strings.Contains(p.body, `id="content-empty"`) {
			t.Fatalf("home load %d: %s, want 200 saying nothing is shared yet\n%s", i+1, p, p.body)
		}
	}
	if got := callCounts(s.sim)["RegisterUser"]; got != 0 {
		t.Errorf("41 home loads made %d RegisterUser calls, want 0: the home page registers nobody", got)
	}
	for i := range 40 {
		if p := b.get(s.url + "/embed/start"); p.status < 500 {
			t.Fatalf("view %d with RegisterUser failing: %s, want a 5xx page", i+1, p)
		}
	}
	if got := callCounts(s.sim)["RegisterUser"]; got < 1 || got > 3 {
		t.Errorf("40 views with RegisterUser failing made %d RegisterUser calls, want 1 to 3 (one failed registration, with the SDK's retries)", got)
	}
}

// Home loads past the view rate get no list and cost no AWS call: with
// ListUsers failing (a lookup failure is not cached), each load would
// otherwise call it again.
func TestHomePastTheViewRateMakesNoAWSCall(t *testing.T) {
	s := startStack(t, map[string]string{
		"QSGATE_USER_MAPPING": "lookup",
		"QSGATE_EMBED_RATE":   "3/h",
	})
	s.sim.FailNext(1000, qssim.ErrAccessDenied)
	b := newBrowser(t)
	s.signIn(b, alice, "/")
	for i := range 39 {
		if p := b.get(s.url + "/"); p.status != 200 || !strings.Contains(p.body, `id="content-unavailable"`) {
			t.Fatalf("home load %d: %s, want 200 without the list\n%s", i+2, p, p.body)
		}
	}
	if got := callCounts(s.sim)["ListUsers"]; got > 3 {
		t.Errorf("40 home loads at 3 an hour made %d ListUsers calls, want at most 3", got)
	}
	if !strings.Contains(s.logs.String(), "too many QuickSight views") {
		t.Errorf("no log line says the home page was past the limit")
	}
}

// A link from another site to /embed/... does not set up a QuickSight user:
// for a person QuickSight does not know yet it shows a page on the portal
// with one link, and following that link (a same-origin navigation, which
// no other site can make) registers them. People QuickSight knows, and
// navigations from this site, a sibling site, a bookmark or an old browser,
// go straight through.
func TestCrossSiteLinkDoesNotRegister(t *testing.T) {
	s := startStack(t, map[string]string{
		"QSGATE_USER_MAPPING":          "register",
		"QSGATE_ALLOWED_EMAIL_DOMAINS": "example.com",
		"QSGATE_DEFAULT_ROLE":          "AUTHOR",
	})
	const view = "/embed/dashboards/sales?p.Region=EMEA"
	b := newBrowser(t)
	s.signIn(b, nobby, "/")
	s.sim.Reset()

	p := navigate(t, b, s.url+view, "cross-site")
	if p.status != 200 || !strings.Contains(p.body, "Open QuickSight") || !strings.Contains(p.body, `href="/embed/dashboards/sales?p.Region=EMEA"`) {
		t.Fatalf("cross-site first view: %s, want 200 with a link to the same view\n%s", p, p.body)
	}
	if strings.Contains(p.body, "qs-console") {
		t.Errorf("cross-site first view shows the console")
	}
	if csp := p.header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'self'") {
		t.Errorf("the page asking to open QuickSight may be framed by another site: CSP %q", csp)
	}
	if got := callCounts(s.sim); got["RegisterUser"] != 0 || got["GetSessionEmbedUrl"] != 0 {
		t.Errorf("cross-site first view calls = %v, want no RegisterUser and no embed call", got)
	}
	p = navigate(t, b, s.url+view, "same-origin") // the link followed
	if p.status != 200 || !strings.Contains(p.body, "qs-console") {
		t.Fatalf("the link followed: %s, want the embed page", p)
	}
	if got := callCounts(s.sim)["RegisterUser"]; got != 1 {
		t.Errorf("the link followed: %d RegisterUser calls, want 1", got)
	}
	p = navigate(t, b, s.url+view, "cross-site")
	if p.status != 200 || !strings.Contains(p.body, "qs-console") {
		t.Errorf("cross-site view of a registered person: %s, want the embed page at once", p)
	}

	for i, site := range []string{"same-origin", "same-site", "none", ""} {
		who := mockUser(fmt.Sprintf("new%d@example.com", i))
		nb := newBrowser(t)
		s.signIn(nb, who, "/")
		if p := navigate(t, nb, s.url+view, site); p.status != 200 || !strings.Contains(p.body, "qs-console") {
			t.Errorf("first view with Sec-Fetch-Site %q: %s, want the embed page at once", site, p)
		}
	}
}

// A user the embed call reports as not found (deleted in QuickSight after
// the namespace was listed) costs no ListUsers per view: the mapper forgets
// that user only, and the namespace's other users are still answered from
// the listing.
func TestEmbedUserNotFoundCostsOneListing(t *testing.T) {
	s := startStack(t, map[string]string{"QSGATE_USER_MAPPING": "lookup", "QSGATE_HOME_LIST": "false"})
	s.sim.FailUser(arnOf(alice.Email), qssim.ErrQuickSightUserNotFound)
	b := newBrowser(t)
	s.signIn(b, alice, "/")
	for i := range 10 {
		if p := b.get(s.url + "/embed/start"); p.status != 403 || !strings.Contains(p.body, "You have no QuickSight user yet") {
			t.Fatalf("view %d of a user QuickSight does not find: %s, want the no-user page", i+1, p)
		}
	}
	if got := callCounts(s.sim)["ListUsers"]; got != 1 {
		t.Errorf("10 views of a user the embed call does not find made %d ListUsers calls, want 1", got)
	}
	s.sim.Reset()
	if p := s.signIn(newBrowser(t), rita, "/embed/start"); p.status != 403 || !strings.Contains(p.body, "An author or admin role is needed") {
		t.Errorf("another user of the namespace: %s, want the reader page", p)
	}
	if got := callCounts(s.sim)["ListUsers"]; got != 0 {
		t.Errorf("another user of the namespace made %d ListUsers calls, want 0 (the listing is kept)", got)
	}
}
