package handlers

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/qsgate/qsgate/audit"
	"github.com/qsgate/qsgate/auth"
	"github.com/qsgate/qsgate/limit"
	"github.com/qsgate/qsgate/templates"
)

// signInRoutes is /login and /auth/callback behind the per-address limit,
// with the server's error handler and address rules.
func signInRoutes(t *testing.T, l SignInLimiter, trusted []*net.IPNet) *echo.Echo {
	t.Helper()
	pages, err := templates.Parse()
	if err != nil {
		t.Fatal(err)
	}
	d := Deps{Pages: pages, Logger: slog.New(slog.DiscardHandler)}
	e := echo.New()
	e.IPExtractor = ipExtractor(trusted)
	e.HTTPErrorHandler = errorHandler(d)
	ok := func(c echo.Context) error { return c.NoContent(http.StatusFound) }
	e.GET("/login", with(ok, limitSignInsByAddress(l, "login", nil)))
	e.GET("/auth/callback", with(ok, limitSignInsByAddress(l, "callback", nil)))
	return e
}

// A script starting or finishing sign-ins from one address is refused
// with the 429 page and Retry-After past the allowance; other addresses,
// and the other step, keep theirs; a forged X-Forwarded-For from a peer
// that is not a trusted proxy buys nothing.
func TestSignInsLimitedPerAddress(t *testing.T) {
	_, proxy, _ := net.ParseCIDR("10.0.0.0/8")
	e := signInRoutes(t, limit.NewPerUser(limit.Rate{N: 2, Per: time.Minute}), []*net.IPNet{proxy})
	send := func(path, peer, xff string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodGet, path, nil)
		r.RemoteAddr = peer
		r.Header.Set("Accept", "text/html")
		if xff != "" {
			r.Header.Set("X-Forwarded-For", xff)
		}
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, r)
		return rec
	}
	for i, tt := range []struct {
		name, path, peer, xff string
		want                  int
	}{
		{"first", "/login", "192.0.2.1:1000", "", 302},
		{"second", "/login", "192.0.2.1:1001", "", 302},
		{"third, past the allowance", "/login", "192.0.2.1:1002", "", 429},
		{"forged X-Forwarded-For from an untrusted peer", "/login", "192.0.2.1:1003", "198.51.100.7", 429},
		{"the callback has its own allowance", "/auth/callback", "192.0.2.1:1004", "", 302},
		{"another address", "/login", "192.0.2.2:1000", "", 302},
		{"behind the trusted proxy: client A", "/login", "10.0.0.5:1000", "198.51.100.8", 302},
		{"behind the trusted proxy: client B", "/login", "10.0.0.5:1001", "198.51.100.9", 302},
		{"IPv6, one /64", "/login", "[2001:db8:1:2::1]:1000", "", 302},
		{"IPv6, the same /64", "/login", "[2001:db8:1:2::ffff]:1000", "", 302},
		{"IPv6, the same /64 again, past the allowance", "/login", "[2001:db8:1:2:abcd::1]:1000", "", 429},
		{"IPv6, another /64", "/login", "[2001:db8:1:3::1]:1000", "", 302},
	} {
		rec := send(tt.path, tt.peer, tt.xff)
		if rec.Code != tt.want {
			t.Fatalf("%d %s: status = %d, want %d", i, tt.name, rec.Code, tt.want)
		}
		if tt.want == 429 && (rec.Header().Get("Retry-After") == "" || !strings.Contains(rec.Body.String(), "Too many sign-ins")) {
			t.Errorf("%s: Retry-After %q, body %q; want the 429 page with Retry-After", tt.name, rec.Header().Get("Retry-After"), rec.Body.String())
		}
	}
}

func TestSignInsUnlimitedWithoutALimiter(t *testing.T) {
	e := signInRoutes(t, nil, nil)
	for range 50 {
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/login", nil))
		if rec.Code != 302 {
			t.Fatalf("status = %d with no limiter, want 302", rec.Code)
		}
	}
}

// limitedFinish is a provider round trip refused by a per-subject limit.
type limitedFinish struct{ fakeAuth }

func (limitedFinish) Finish(http.ResponseWriter, *http.Request) (string, error) {
	return "", &limit.RateError{Kind: limit.ErrUserRate, RetryAfter: 6 * time.Second}
}

func (limitedFinish) CurrentUser(*http.Request) (auth.User, bool) { return auth.User{}, false }

type loginCounter struct{ results []string }

func (l *loginCounter) Request(string, string, int, time.Duration) {}
func (l *loginCounter) Login(result string)                        { l.results = append(l.results, result) }
func (l *loginCounter) Embed(string, time.Duration)                {}

// A callback whose sign-in a per-subject limit refused is the 429 page
// with the limit's Retry-After, counted as "limited".
func TestCallbackRefusedBySubjectLimit(t *testing.T) {
	pages, err := templates.Parse()
	if err != nil {
		t.Fatal(err)
	}
	public, _ := url.Parse("https://portal.example.com")
	rec := &loginCounter{}
	e := echo.New()
	e.HTTPErrorHandler = errorHandler(Deps{Pages: pages, Logger: slog.New(slog.DiscardHandler)})
	e.GET("/auth/callback", callback(limitedFinish{}, public, rec))
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodGet, "/auth/callback?state=s&code=c", nil)
	r.Header.Set("Accept", "text/html")
	e.ServeHTTP(w, r)
	if w.Code != 429 || w.Header().Get("Retry-After") != "6" || !strings.Contains(w.Body.String(), "Too many sign-ins") {
		t.Errorf("status %d, Retry-After %q; want 429, 6 and the sign-in page\n%s", w.Code, w.Header().Get("Retry-After"), w.Body.String())
	}
	if len(rec.results) != 1 || rec.results[0] != "limited" {
		t.Errorf("logins recorded %v, want [limited]", rec.results)
	}
}

// countingAuditor counts the events recorded.
type countingAuditor struct{ n *atomic.Int32 }

func (a countingAuditor) Record(context.Context, audit.Event) { a.n.Add(1) }

// A script hammering the callback past its allowance writes one audit line
// a minute for its address, not one a refused request.
func TestRefusedCallbacksAuditedOncePerAddress(t *testing.T) {
	n := &atomic.Int32{}
	e := echo.New()
	e.GET("/auth/callback", func(c echo.Context) error { return c.NoContent(http.StatusFound) },
		limitSignInsByAddress(limit.NewPerUser(limit.Rate{N: 1, Per: time.Minute}), "callback", countingAuditor{n}))
	for _, peer := range []string{"192.0.2.1", "192.0.2.1", "192.0.2.1", "192.0.2.1", "192.0.2.2", "192.0.2.2"} {
		r := httptest.NewRequest(http.MethodGet, "/auth/callback", nil)
		r.RemoteAddr = peer + ":1000"
		e.ServeHTTP(httptest.NewRecorder(), r)
	}
	if got := n.Load(); got != 2 {
		t.Errorf("%d refused sign-ins audited, want 2 (one per address)", got)
	}
}
