package handlers

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// The JSON endpoint answers the page's own script only: same checks as the
// page, JSON errors, never cached, never readable or triggerable by another
// site.
func TestEmbedURLAPI(t *testing.T) {
	h := newTestServer(t, "https://portal.example.com", "https://qs.example.com/embed/x/start?code=c")
	call := func(path string, headers map[string]string) (*http.Response, map[string]string) {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		resp := rec.Result()
		body, _ := io.ReadAll(resp.Body)
		var m map[string]string
		if err := json.Unmarshal(body, &m); err != nil {
			t.Errorf("%s: not JSON (%d): %s", path, resp.StatusCode, body)
		}
		return resp, m
	}
	own := map[string]string{"X-Qsgate-Fetch": "1", "Sec-Fetch-Site": "same-origin"}
	resp, body := call("/api/embed-url?entry-point=/dashboards/sales&p.Region=EMEA", own)
	if resp.StatusCode != 200 || !strings.HasPrefix(body["embedUrl"], "https://qs.example.com/embed/x/start?code=c#p.Region=EMEA") || body["expiresAt"] == "" {
		t.Errorf("own call: %d %v", resp.StatusCode, body)
	}
	for name, want := range map[string]string{"Cache-Control": "no-store", "Cross-Origin-Resource-Policy": "same-origin", "Access-Control-Allow-Origin": ""} {
		if got := resp.Header.Get(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	for _, tt := range []struct {
		name    string
		path    string
		headers map[string]string
		status  int
	}{
		{"cross-site", "/api/embed-url?entry-point=/start", map[string]string{"X-Qsgate-Fetch": "1", "Sec-Fetch-Site": "cross-site"}, 403},
		{"same-site other origin", "/api/embed-url?entry-point=/start", map[string]string{"X-Qsgate-Fetch": "1", "Sec-Fetch-Site": "same-site"}, 403},
		{"no custom header", "/api/embed-url?entry-point=/start", map[string]string{"Sec-Fetch-Site": "same-origin"}, 403},
		{"bad entry point", "/api/embed-url?entry-point=/users/x", own, 400},
		{"no entry point", "/api/embed-url", own, 400},
		{"bad id", "/api/embed-url?entry-point=/dashboards/a%2Fb", own, 400},
		{"bad parameter name", "/api/embed-url?entry-point=/dashboards/a&p.bad-name=1", own, 400},
		{"parameter too long", "/api/embed-url?entry-point=/dashboards/a&p.x=" + strings.Repeat("v", 257), own, 400},
		{"parameters on an analysis", "/api/embed-url?entry-point=/analyses/a&p.x=1", own, 400},
	} {
		resp, body := call(tt.path, tt.headers)
		if resp.StatusCode != tt.status || body["error"] == "" {
			t.Errorf("%s: %d %v, want %d with an error", tt.name, resp.StatusCode, body, tt.status)
		}
	}
}

// Deep links: parameters validate before any call and reach the embed URL's
// fragment; the open-by-id form turns its filters into them.
func TestDeepLinks(t *testing.T) {
	h := newTestServer(t, "https://portal.example.com", "https://qs.example.com/embed/x/dashboards/d?code=c")
	resp := get(t, h, "/embed/dashboards/sales?p.Region=EMEA&p.Year=2026&p.Region=APAC")
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(body), `#p.Region=EMEA&amp;p.Region=APAC&amp;p.Year=2026"`) {
		t.Errorf("deep link: %d\n%s", resp.StatusCode, body)
	}
	// The script's links carry the checked parameters, never other query
	// keys (they would only grow the page, and its cached shell).
	resp = get(t, h, "/embed/dashboards/sales?p.Region=EMEA&junk="+strings.Repeat("x", 3000))
	body, _ = io.ReadAll(resp.Body)
	for _, want := range []string{
		`data-api="/api/embed-url?entry-point=%2Fdashboards%2Fsales&amp;p.Region=EMEA"`,
		`data-login="/login?rd=%2Fembed%2Fdashboards%2Fsales%3Fp.Region%3DEMEA"`,
	} {
		if resp.StatusCode != 200 || !strings.Contains(string(body), want) {
			t.Errorf("deep link with another query key: %d, want %s in\n%s", resp.StatusCode, want, body)
		}
	}
	if strings.Contains(string(body), "junk") {
		t.Error("a query key that is not a parameter reached the page")
	}
	for _, bad := range []string{"/embed/dashboards/sales?p.=1", "/embed/dashboards/sales?p.a%20b=1", "/embed/dashboards/sales?p.x=", "/embed/start?p.x=1", "/embed/analyses/a?p.x=1",
		"/embed/dashboards/sales?p.x=a%C2%85b", "/embed/dashboards/sales?p.x=%FF", "/embed/dashboards/sales?p.x=a%00b"} {
		if got := get(t, h, bad).StatusCode; got != 400 {
			t.Errorf("%s = %d, want 400", bad, got)
		}
	}
	for path, want := range map[string]string{
		"/open?kind=dashboards&id=sales&params=Region%3DEMEA%26Year%3D2026": "https://portal.example.com/embed/dashboards/sales?p.Region=EMEA&p.Year=2026",
		"/open?kind=dashboards&id=sales&params=":                            "https://portal.example.com/embed/dashboards/sales",
	} {
		resp := get(t, h, path)
		if resp.StatusCode != 303 || resp.Header.Get("Location") != want {
			t.Errorf("%s = %d %q, want 303 %q", path, resp.StatusCode, resp.Header.Get("Location"), want)
		}
	}
	for _, bad := range []string{"/open?kind=analyses&id=a&params=x%3D1", "/open?kind=dashboards&id=a&params=bad-name%3D1", "/open?kind=dashboards&id=a&params=x%3D"} {
		if got := get(t, h, bad).StatusCode; got != 400 {
			t.Errorf("%s = %d, want 400", bad, got)
		}
	}
}
