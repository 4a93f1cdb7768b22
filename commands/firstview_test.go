package commands

import (
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
