package commands

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/oauth2-proxy/mockoidc"

	"github.com/qsgate/qsgate/internal/devkit/qssim"
)

// The two embedding APIs look the same to users: same routes, pages and
// error table; registered-user sends the portal's origin as AllowedDomains.
func TestBothEmbeddingAPIs(t *testing.T) {
	for _, api := range []string{"session", "registered-user"} {
		t.Run(api, func(t *testing.T) {
			s := startStack(t, map[string]string{"QSGATE_QUICKSIGHT_API": api})
			b := newBrowser(t)
			p := s.signIn(b, alice, "/embed/dashboards/sales")
			if p.status != 200 || !strings.HasPrefix(iframeSrc(t, p), s.sim.URL()+"/embed") {
				t.Fatalf("author: %s\n%s", p, p.body)
			}
			calls := s.sim.Calls()
			last := calls[len(calls)-1]
			switch api {
			case "session":
				if last.Operation != "GetSessionEmbedUrl" || last.EntryPoint != "/dashboards/sales" {
					t.Errorf("call = %+v", last)
				}
			default:
				if last.Operation != "GenerateEmbedUrlForRegisteredUser" || last.Experience != "QuickSightConsole" ||
					last.EntryPoint != "/dashboards/sales" || !slices.Equal(last.AllowedDomains, []string{s.url}) {
					t.Errorf("call = %+v, want the console experience at /dashboards/sales with AllowedDomains [%s]", last, s.url)
				}
			}
			for _, tt := range []struct {
				who  mockoidc.User
				code string
				want int
				text string
			}{
				{rita, "", 403, "An author or admin role is needed"},
				{nobby, "", 403, "You have no QuickSight user yet"},
				{alice, qssim.ErrUnsupportedPricingPlan, 502, "not available"},
			} {
				s.sim.FailNext(1, tt.code)
				if tt.code == "" {
					s.sim.FailNext(0, "")
				}
				p := s.signIn(newBrowser(t), tt.who, "/embed/start")
				if p.status != tt.want || !strings.Contains(p.body, tt.text) {
					t.Errorf("%s %s: %s, want %d %q", tt.who.ID(), tt.code, p, tt.want, tt.text)
				}
			}
		})
	}
}

// With the dashboard experience a reader sees a dashboard; the console
// still needs an author. Deep-link parameters reach the embed URL.
func TestReaderDashboardAndDeepLinks(t *testing.T) {
	s := startStack(t, map[string]string{"QSGATE_QUICKSIGHT_API": "registered-user", "QSGATE_DASHBOARD_EXPERIENCE": "dashboard"})
	b := newBrowser(t)
	p := s.signIn(b, rita, "/embed/dashboards/sales?p.Region=EMEA&p.Year=2026")
	if p.status != 200 {
		t.Fatalf("reader's dashboard: %s\n%s", p, p.body)
	}
	src := iframeSrc(t, p)
	if !strings.HasSuffix(src, "#p.Region=EMEA&p.Year=2026") {
		t.Errorf("iframe src %q lacks the parameters in its fragment", src)
	}
	calls := embedCallsAll(s.sim)
	if last := calls[len(calls)-1]; last.Experience != "Dashboard" || last.EntryPoint != "/dashboards/sales" {
		t.Errorf("call = %+v, want the Dashboard experience for sales", last)
	}
	if p := b.get(s.url + "/embed/start"); p.status != 403 || !strings.Contains(p.body, "An author or admin role is needed") {
		t.Errorf("reader's console: %s, want the author-needed page", p)
	}
	n := len(s.sim.Calls())
	for _, bad := range []string{"/embed/dashboards/sales?p.bad-name=1", "/embed/dashboards/sales?p.x=", "/embed/analyses/a?p.x=1"} {
		if p := b.get(s.url + bad); p.status != 400 {
			t.Errorf("%s = %d, want 400", bad, p.status)
		}
	}
	if got := len(s.sim.Calls()); got != n {
		t.Errorf("bad deep links made %d AWS calls, want 0", got-n)
	}
}

// embedCallsAll is every embed call, whichever API.
func embedCallsAll(sim *qssim.Server) []qssim.Call {
	var out []qssim.Call
	for _, c := range sim.Calls() {
		if c.Operation == "GetSessionEmbedUrl" || c.Operation == "GenerateEmbedUrlForRegisteredUser" {
			out = append(out, c)
		}
	}
	return out
}

// apiGet calls /api/embed-url as the embed page's script does.
func apiGet(t *testing.T, b *browser, u string) (int, http.Header, map[string]string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("X-Qsgate-Fetch", "1")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]string
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Errorf("%s: not JSON: %v", u, err)
	}
	return resp.StatusCode, resp.Header, body
}

// The JSON endpoint end to end: signed out, a fresh URL, QuickSight's
// errors and the per-user limit, all as JSON.
func TestEmbedURLEndpoint(t *testing.T) {
	s := startStack(t, map[string]string{"QSGATE_EMBED_RATE": "3/h", "QSGATE_AWS_TIMEOUT": "5s"})
	api := s.url + "/api/embed-url?entry-point=/dashboards/sales&p.Region=EMEA"
	if status, _, body := apiGet(t, newBrowser(t), api); status != 401 || body["error"] == "" {
		t.Errorf("signed out: %d %v, want 401 JSON", status, body)
	}
	b := newBrowser(t)
	s.signIn(b, alice, "/")
	status, h, body := apiGet(t, b, api)
	if status != 200 || !strings.HasPrefix(body["embedUrl"], s.sim.URL()+"/embed/") || !strings.HasSuffix(body["embedUrl"], "#p.Region=EMEA") || h.Get("Cache-Control") != "no-store" {
		t.Fatalf("signed in: %d %v", status, body)
	}
	if exp, err := time.Parse(time.RFC3339, body["expiresAt"]); err != nil || exp.Before(time.Now()) {
		t.Errorf("expiresAt = %q, want a future RFC 3339 time", body["expiresAt"])
	}
	s.sim.FailNext(10, qssim.ErrThrottling)
	if status, h, body := apiGet(t, b, api); status != 503 || h.Get("Retry-After") == "" || body["retry_after"] == "" {
		t.Errorf("throttled: %d %v, want 503 JSON with retry_after", status, body)
	}
	s.sim.ClearFaults()
	apiGet(t, b, api) // the third view of the hour
	if status, _, body := apiGet(t, b, api); status != 429 || body["retry_after"] == "" {
		t.Errorf("past the user's rate: %d %v, want 429 JSON", status, body)
	}
	req, _ := http.NewRequest(http.MethodGet, api, nil)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	req.Header.Set("X-Qsgate-Fetch", "1")
	if resp, err := b.c.Do(req); err != nil || resp.StatusCode != 403 {
		t.Errorf("cross-site: %v %v, want 403", resp, err)
	}
}

// The home page lists what the user may open, from a cached listing that
// never blocks the page.
func TestHomeLists(t *testing.T) {
	s := startStack(t, nil)
	aliceARN := arnOf("alice@example.com")
	s.sim.AddDashboard(qssim.Dashboard{ID: "sales-2026", Name: "Sales 2026", Viewers: []string{aliceARN}})
	s.sim.AddDashboard(qssim.Dashboard{ID: "finance-close", Name: "Finance close", Viewers: []string{arnOf("rita@example.com")}})
	s.sim.AddAnalysis(qssim.Analysis{ID: "churn", Name: "Churn deep dive", Owners: []string{aliceARN}})

	t.Run("per-user", func(t *testing.T) {
		p := s.signIn(newBrowser(t), alice, "/")
		for _, want := range []string{`href="/embed/dashboards/sales-2026">Sales 2026</a>`, `href="/embed/analyses/churn">Churn deep dive</a>`, `id="content-filter"`} {
			if !strings.Contains(p.body, want) {
				t.Errorf("alice's home lacks %q", want)
			}
		}
		if strings.Contains(p.body, "Finance close") {
			t.Errorf("alice's home lists rita's dashboard")
		}
	})
	t.Run("listing fails", func(t *testing.T) {
		s.sim.FailNext(5, qssim.ErrAccessDenied)
		p := s.signIn(newBrowser(t), rita, "/")
		if p.status != 200 || !strings.Contains(p.body, `id="content-unavailable"`) {
			t.Errorf("failed listing: %s, want the page saying the list is unavailable", p)
		}
		s.sim.ClearFaults()
	})
	t.Run("slow listing", func(t *testing.T) {
		s.sim.SetLatency(2 * time.Second)
		b := newBrowser(t)
		p := s.signIn(b, nobby, "/")
		s.sim.SetLatency(0)
		if p.status != 200 || !strings.Contains(p.body, `id="content-unavailable"`) {
			t.Fatalf("slow listing: %s, want the page at once, saying the list is unavailable", p)
		}
		// The listing finishes in the background and serves a later view.
		if !waitFor(func() bool { return strings.Contains(b.get(s.url+"/").body, `id="content-empty"`) }) {
			t.Errorf("the background listing never reached the page")
		}
	})
}
