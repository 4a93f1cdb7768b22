package handlers

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/qsgate/qsgate/auth"
	"github.com/qsgate/qsgate/quicksight"
	"github.com/qsgate/qsgate/static"
	"github.com/qsgate/qsgate/templates"
)

// fakeAuth is always signed in as one user.
type fakeAuth struct{ user auth.User }

func (f fakeAuth) StartLogin(w http.ResponseWriter, r *http.Request, rd string) error { return nil }
func (f fakeAuth) Finish(w http.ResponseWriter, r *http.Request) (string, error)      { return "/", nil }
func (f fakeAuth) Logout(w http.ResponseWriter, r *http.Request) string               { return "/signed-out" }
func (f fakeAuth) CurrentUser(r *http.Request) (auth.User, bool)                      { return f.user, true }
func (f fakeAuth) LoginURL(rd string) string                                          { return "/login" }
func (f fakeAuth) LogoutOrigin() string                                               { return "https://idp.example.com" }
func (f fakeAuth) Ready() bool                                                        { return true }

type fixedEmbed struct{ url string }

func (f fixedEmbed) EmbedURL(ctx context.Context, id quicksight.Identity, t quicksight.Target) (quicksight.Embed, error) {
	if err := quicksight.CheckEntryPoint(t.EntryPoint); err != nil {
		return quicksight.Embed{}, err
	}
	u := f.url
	if len(t.Params) > 0 { // as the real client does
		u += "#" + quicksight.QueryOf(t.Params)
	}
	return quicksight.Embed{URL: u, RequestID: "req-1", ExpiresAt: time.Now().Add(quicksight.URLLifetime)}, nil
}

func newTestServer(t *testing.T, public, embedURL string) http.Handler {
	t.Helper()
	pages, err := templates.Parse()
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(public)
	return NewServer(Deps{
		Auth:      fakeAuth{auth.User{Subject: "s", Email: "a@example.com"}},
		Embeds:    fixedEmbed{embedURL},
		Mapper:    quicksight.NewTemplateMapper(quicksight.DefaultARNTemplate, "123456789012", "default", "us-east-1"),
		Pages:     pages,
		Logger:    slog.New(slog.DiscardHandler),
		PublicURL: u,
	})
}

func get(t *testing.T, h http.Handler, path string) *http.Response {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Result()
}

func TestEmbedPageHeadersHTTPS(t *testing.T) {
	h := newTestServer(t, "https://portal.example.com", "https://us-east-1.quicksight.aws.amazon.com/embed/0123/start?code=secret")
	resp := get(t, h, "/embed/start")
	if resp.StatusCode != 200 {
		t.Fatalf("status = %d, want 200", resp.StatusCode)
	}
	for name, want := range map[string]string{
		"Cache-Control":              "no-store",
		"Referrer-Policy":            "no-referrer",
		"X-Content-Type-Options":     "nosniff",
		"Strict-Transport-Security":  "max-age=31536000; includeSubDomains",
		"Cross-Origin-Opener-Policy": "same-origin-allow-popups",
		"Content-Security-Policy":    "default-src 'none'; style-src 'self'; img-src 'self'; script-src 'self'; connect-src 'self'; frame-src https://us-east-1.quicksight.aws.amazon.com; frame-ancestors 'self'; form-action 'self' https://idp.example.com; base-uri 'none'",
	} {
		if got := resp.Header.Get(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	body, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(body), `src="https://us-east-1.quicksight.aws.amazon.com/embed/0123/start?code=secret"`) {
		t.Errorf("iframe src missing or mangled:\n%s", body)
	}
}

func TestCachingAndCookies(t *testing.T) {
	h := newTestServer(t, "https://portal.example.com", "https://qs.example.com/embed/x/start?code=c")
	for _, tt := range []struct{ path, cache string }{
		{static.URL("css/app.css"), "public, max-age=31536000, immutable"},
		{"/static/css/app.css", "public, max-age=300"},
		// Another build's fingerprint (a rolling deploy): served, never kept.
		{"/static/css/app.css?v=0123456789ab", "no-store"},
		// A miss is never cached, so a CDN does not keep it during a deploy.
		{"/static/css/new.css", "no-store"},
		{"/static/css/new.css?v=" + static.Version, "no-store"},
	} {
		if got := get(t, h, tt.path).Header.Get("Cache-Control"); got != tt.cache {
			t.Errorf("%s: Cache-Control = %q, want %q", tt.path, got, tt.cache)
		}
	}
	if got := get(t, h, "/static/css/").StatusCode; got != 404 {
		t.Errorf("static directory = %d, want 404 (no listings)", got)
	}
	home := get(t, h, "/")
	body, _ := io.ReadAll(home.Body)
	if !strings.Contains(string(body), `href="/static/css/app.css?v=`+static.Version+`"`) {
		t.Errorf("home page does not link the fingerprinted stylesheet")
	}
	resp := get(t, h, "/")
	if got := resp.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("home Cache-Control = %q, want no-store", got)
	}
	var csrf *http.Cookie
	for _, c := range resp.Cookies() {
		if strings.Contains(c.Name, "csrf") {
			csrf = c
		}
	}
	if csrf == nil || csrf.Name != "__Host-qsgate_csrf" || !csrf.Secure || !csrf.HttpOnly || csrf.SameSite != http.SameSiteStrictMode || csrf.Path != "/" {
		t.Errorf("CSRF cookie = %+v, want __Host-, Secure, HttpOnly, SameSite=Strict, Path=/", csrf)
	}
}

// A page that fails gets the error page; its text never includes the
// error's own words.
func TestErrorPageHidesInternals(t *testing.T) {
	h := newTestServer(t, "https://portal.example.com", "::not a url")
	resp := get(t, h, "/embed/start")
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 502 || strings.Contains(string(body), "not a url") || strings.Contains(string(body), "absolute") {
		t.Errorf("bad embed URL from QuickSight: %d\n%s", resp.StatusCode, body)
	}
}

// X-Request-Id is kept only from a trusted proxy and only when plain;
// anything else is replaced, so it cannot inject into headers or logs.
func TestRequestIDFromClients(t *testing.T) {
	pages, _ := templates.Parse()
	u, _ := url.Parse("https://portal.example.com")
	_, proxy, _ := net.ParseCIDR("10.0.0.0/8")
	var logs strings.Builder
	h := NewServer(Deps{
		Auth: fakeAuth{auth.User{Subject: "s"}}, Embeds: fixedEmbed{"https://qs.example.com/x"},
		Mapper: quicksight.NewTemplateMapper(quicksight.DefaultARNTemplate, "123456789012", "default", "us-east-1"),
		Pages:  pages, Logger: slog.New(slog.NewTextHandler(&logs, nil)), PublicURL: u, TrustedProxies: []*net.IPNet{proxy},
	})
	for _, tt := range []struct {
		peer, id string
		kept     bool
	}{
		{"10.1.2.3:5000", "lb-abc.123_x", true},
		{"10.1.2.3:5000", "<script>fake-id", false},
		{"10.1.2.3:5000", strings.Repeat("a", 65), false},
		{"203.0.113.9:5000", "lb-abc.123_x", false}, // not a proxy
		{"203.0.113.9:5000", "<script>fake-id", false},
	} {
		req := httptest.NewRequest(http.MethodGet, "/healthz", nil)
		req.RemoteAddr = tt.peer
		req.Header.Set("X-Request-Id", tt.id)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		got := rec.Header().Get("X-Request-Id")
		if (got == tt.id) != tt.kept || got == "" || !requestIDRE.MatchString(got) {
			t.Errorf("peer %s, id %q: response id %q, kept = %v, want %v", tt.peer, tt.id, got, got == tt.id, tt.kept)
		}
	}
	if strings.Contains(logs.String(), "<script>") {
		t.Errorf("a client's request id reached the log:\n%s", logs.String())
	}
}
