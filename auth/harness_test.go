package auth

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oauth2-proxy/mockoidc"
	"github.com/redis/go-redis/v9"

	"github.com/qsgate/qsgate/internal/devkit/redistest"
)

// go-redis logs each failed dial on its own; the outage tests make many on
// purpose, and assert what the gateway does instead.
func init() { redis.SetLogger(quietRedis{}) }

type quietRedis struct{}

func (quietRedis) Printf(context.Context, string, ...any) {}

// clock is the test's time, moved by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// harness is one gateway's sign-in side with its store (cookie, or a real
// Redis), a real provider and a clock the test moves.
type harness struct {
	t     *testing.T
	idp   *testIdP
	clock *clock
	cfg   Config
	a     *Auth
	redis *redistest.Server // nil with the cookie store
	rdb   *redis.Client
	logs  *lockedBuffer
}

const testTTL = 8 * time.Hour

var errNotAuthor = errAuthorize("not an author")

type errAuthorize string

func (e errAuthorize) Error() string { return string(e) }

func newHarness(t *testing.T, withRedis bool, mod func(*Config)) *harness {
	t.Helper()
	h := &harness{t: t, idp: startIdP(t), clock: &clock{t: time.Now()}, logs: &lockedBuffer{}}
	public, _ := url.Parse("http://127.0.0.1:8080")
	h.cfg = Config{
		Issuer: h.idp.Issuer(), ClientID: h.idp.ClientID, ClientSecret: h.idp.ClientSecret,
		Scopes: []string{"openid", "email", "profile", "groups"}, PublicURL: public,
		SessionKeys: [][]byte{newKey}, SessionTTL: testTTL,
		GroupsClaim: "groups", KeepGroups: []string{"qs-authors", "qs-admins"},
		Logger: slog.New(slog.NewTextHandler(h.logs, nil)), Now: h.clock.Now,
	}
	if withRedis {
		h.redis = redistest.Start(t)
		opt, err := redis.ParseURL(h.redis.URL())
		if err != nil {
			t.Fatal(err)
		}
		opt.ContextTimeoutEnabled = true // as the gateway makes it
		// A stopped Redis refuses at once: fail at once rather than retry
		// to the deadline, so the deadline can be generous for a machine
		// busy with parallel tests.
		opt.MaxRetries, opt.DialerRetries = 1, 1
		h.rdb = redis.NewClient(opt)
		t.Cleanup(func() { _ = h.rdb.Close() })
		h.cfg.Redis, h.cfg.RedisTimeout = h.rdb, 5*time.Second
	}
	if mod != nil {
		mod(&h.cfg)
	}
	h.a = h.newAuth(nil)
	return h
}

// newAuth is another instance: same provider, clock and store, settings
// changed by mod.
func (h *harness) newAuth(mod func(*Config)) *Auth {
	h.t.Helper()
	cfg := h.cfg
	if mod != nil {
		mod(&cfg)
	}
	a, err := New(cfg)
	if err != nil {
		h.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(h.t.Context(), 10*time.Second)
	defer cancel()
	if err := a.Discover(ctx); err != nil {
		h.t.Fatal(err)
	}
	return a
}

// browser holds one browser's session cookie, as a browser would: the
// latest Set-Cookie wins, a cleared cookie is gone.
type browser struct {
	a      *Auth
	cookie *http.Cookie
	// setCookie is the session cookie the last response set, if any.
	setCookie *http.Cookie
}

var noRedirects = &http.Client{
	Timeout:       10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// signIn goes through the whole code flow at the provider as u.
func (h *harness) signIn(u *idpUser) *browser {
	h.t.Helper()
	return h.signInAt(h.a, u)
}

func (h *harness) signInAt(a *Auth, u mockoidc.User) *browser {
	h.t.Helper()
	rec, err := h.finish(a, u)
	if err != nil {
		h.t.Fatalf("sign-in: %v", err)
	}
	b := &browser{a: a}
	b.keep(rec)
	if b.cookie == nil {
		h.t.Fatal("sign-in set no session cookie")
	}
	return b
}

// finish goes through the code flow at the provider as u up to the
// callback, and returns what Finish wrote and its error.
func (h *harness) finish(a *Auth, u mockoidc.User) (*httptest.ResponseRecorder, error) {
	h.t.Helper()
	h.idp.QueueUser(u)
	rec := httptest.NewRecorder()
	if err := a.StartLogin(rec, httptest.NewRequest("GET", "/login", nil), "/"); err != nil {
		h.t.Fatal(err)
	}
	login := rec.Result().Cookies()[0]
	resp, err := noRedirects.Get(rec.Header().Get("Location"))
	if err != nil {
		h.t.Fatal(err)
	}
	resp.Body.Close()
	back, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || back.Query().Get("code") == "" {
		h.t.Fatalf("provider did not send a code back: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	req := httptest.NewRequest("GET", "/auth/callback?"+back.RawQuery, nil)
	req.AddCookie(login)
	rec = httptest.NewRecorder()
	_, err = a.Finish(rec, req)
	return rec, err
}

func (b *browser) request() *http.Request {
	r := httptest.NewRequest("GET", "/", nil)
	if b.cookie != nil {
		r.AddCookie(b.cookie)
	}
	return r
}

// keep takes the session cookie a response set.
func (b *browser) keep(rec *httptest.ResponseRecorder) {
	b.setCookie = nil
	for _, c := range rec.Result().Cookies() {
		if strings.Contains(c.Name, "qsgate_session") {
			b.setCookie = c
		}
	}
	switch {
	case b.setCookie == nil:
	case b.setCookie.MaxAge < 0:
		b.cookie = nil
	default:
		b.cookie = &http.Cookie{Name: b.setCookie.Name, Value: b.setCookie.Value}
	}
}

// visit is a page view: the session check requireUser makes.
func (b *browser) visit() (User, error) {
	rec := httptest.NewRecorder()
	u, err := b.a.Session(rec, b.request())
	b.keep(rec)
	return u, err
}

// on is the same browser talking to another instance.
func (b *browser) on(a *Auth) *browser { c := *b; c.a = a; return &c }

// copy is the cookie copied to another browser.
func (b *browser) copy() *browser { c := *b; return &c }

func (b *browser) logout() {
	rec := httptest.NewRecorder()
	b.a.Logout(rec, b.request())
	b.keep(rec)
}
