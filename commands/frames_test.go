package commands

import (
	"strings"
	"testing"
)

// TestEmbedURLsOnlyFromQuickSightOrigins, the whole program with the
// simulator as AWS_ENDPOINT_URL_QUICKSIGHT: the embed page frames the
// endpoint's origin and names only it in frame-src. When the endpoint hands
// out URLs on another site (compromised or misconfigured), each view is the
// 502 page and each renewal a 502 without a URL, logged with the origin and
// never the URL. Real QuickSight's origin for the region stays allowed.
func TestEmbedURLsOnlyFromQuickSightOrigins(t *testing.T) {
	s := startStack(t, nil)
	b := newBrowser(t)
	p := s.signIn(b, alice, "/embed/start")
	if p.status != 200 || !strings.HasPrefix(iframeSrc(t, p), s.sim.URL()+"/embed/") {
		t.Fatalf("the simulator's own origin: %s, want 200 framing %s\n%s", p, s.sim.URL(), p.body)
	}
	if csp := p.header.Get("Content-Security-Policy"); !strings.Contains(csp, "; frame-src "+s.sim.URL()+"; ") {
		t.Errorf("Content-Security-Policy = %q, want frame-src %s alone", csp, s.sim.URL())
	}

	for _, tt := range []struct {
		origin string
		status int
	}{
		{"https://evil.example", 502},
		{"http://127.0.0.1:1", 502}, // another port of the simulator's host is another origin
		{"https://us-east-1.quicksight.aws.amazon.com", 200},
		{"https://eu-west-1.quicksight.aws.amazon.com", 502}, // not the region configured
	} {
		s.sim.SetBaseURL(tt.origin)
		before := len(embedCalls(s.sim))
		p := b.get(s.url + "/embed/start")
		if got := len(embedCalls(s.sim)) - before; got != 1 {
			t.Fatalf("%s: %d embed calls, want 1", tt.origin, got)
		}
		status, _, api := apiGet(t, b, s.url+"/api/embed-url?entry-point=/start")
		if tt.status == 200 {
			if p.status != 200 || !strings.HasPrefix(iframeSrc(t, p), tt.origin+"/embed/") || status != 200 || !strings.HasPrefix(api["embedUrl"], tt.origin+"/embed/") {
				t.Errorf("%s: page %s, API %d; want both 200 with the URL", tt.origin, p, status)
			}
			if csp := p.header.Get("Content-Security-Policy"); !strings.Contains(csp, "; frame-src "+tt.origin+"; ") {
				t.Errorf("%s: Content-Security-Policy = %q, want frame-src %s alone", tt.origin, csp, tt.origin)
			}
			continue
		}
		if p.status != 502 || !strings.Contains(p.body, "QuickSight could not open this page") || strings.Contains(p.body, "<iframe") || strings.Contains(p.body, tt.origin+"/embed") {
			t.Errorf("%s: page %s, want the 502 could-not-open page without a frame or the origin\n%s", tt.origin, p, p.body)
		}
		if status != 502 || api["embedUrl"] != "" {
			t.Errorf("%s: API %d %v, want 502 without a URL", tt.origin, status, api)
		}
		if n := strings.Count(s.logs.String(), "event=embed_url_refused origin="+tt.origin+" "); n != 2 {
			t.Errorf("%s: %d embed_url_refused lines naming the origin, want 2 (page and API)", tt.origin, n)
		}
	}
	if strings.Contains(s.logs.String(), "isauthcode") {
		t.Errorf("an embed URL reached the log")
	}
}
