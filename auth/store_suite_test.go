package auth

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
)

// The session suite: every row runs against both stores, each store a
// subtest, each row on a fresh provider, clock and (for Redis) a fresh
// redis-server. Where the stores differ on purpose (a copied cookie after
// logout, revoke), the row asserts each store's documented behaviour.
var sessionSuite = []struct {
	name string
	mod  func(*Config)
	run  func(t *testing.T, h *harness)
}{
	{"sign in, check, sign out", nil, testSignInOut},
	{"tampered or foreign cookie is signed out", nil, testBadCookies},
	{"key rotation", nil, testKeyRotation},
	{"absolute expiry", nil, testAbsoluteExpiry},
	{"idle expiry", func(c *Config) { c.Idle = 30 * time.Minute }, testIdleExpiry},
	{"logout and copied cookies", nil, testLogoutCopiedCookie},
	{"revoke by email and by sub", nil, testRevoke},
	{"list by email", nil, testList},
	{"store outage", nil, testStoreOutage},
	{"at rest", func(c *Config) { c.Refresh = 10 * time.Minute }, testAtRest},
	{"refresh renews claims and keeps rotated tokens", func(c *Config) { c.Refresh = 10 * time.Minute }, testRefreshRenews},
	{"refresh refused ends the session", func(c *Config) { c.Refresh = 10 * time.Minute }, testRefreshRefused},
	{"renewed claims no longer allowed", func(c *Config) {
		c.Refresh = 10 * time.Minute
		c.Authorize = func(u User) error {
			if !slices.Contains(u.Groups, "qs-authors") {
				return errNotAuthor
			}
			return nil
		}
	}, testRefreshNotAllowed},
	{"provider down: grace, then closed", func(c *Config) { c.Refresh = 10 * time.Minute; c.RefreshGrace = 15 * time.Minute }, testRefreshGrace},
	{"one refresh at a time", func(c *Config) { c.Refresh = 10 * time.Minute }, testRefreshOnce},
}

func TestSessionStores(t *testing.T) {
	for _, store := range []struct {
		name  string
		redis bool
	}{{"cookie", false}, {"redis", true}} {
		t.Run(store.name, func(t *testing.T) {
			for _, row := range sessionSuite {
				t.Run(row.name, func(t *testing.T) {
					t.Parallel()
					row.run(t, newHarness(t, store.redis, row.mod))
				})
			}
		})
	}
}

var (
	alice = func() *idpUser { return newIdPUser("sub-alice", "Alice@Example.com", "qs-authors", "other") }
	bob   = func() *idpUser { return newIdPUser("sub-bob", "bob@example.com", "qs-admins") }
)

func mustUser(t *testing.T, b *browser, sub string) User {
	t.Helper()
	u, err := b.visit()
	if err != nil || u.Subject != sub {
		t.Fatalf("visit = %q, %v; want signed in as %s", u.Subject, err, sub)
	}
	return u
}

func mustSignedOut(t *testing.T, b *browser, want error) {
	t.Helper()
	u, err := b.visit()
	if !errors.Is(err, want) || u.Subject != "" {
		t.Fatalf("visit = %q, %v; want %v", u.Subject, err, want)
	}
}

func testSignInOut(t *testing.T, h *harness) {
	b := h.signIn(alice())
	u := mustUser(t, b, "sub-alice")
	if u.Email != "Alice@Example.com" || !slices.Equal(u.Groups, []string{"qs-authors"}) || u.IDToken == "" {
		t.Errorf("user = %+v; want the email, only the kept groups, an id token hint", u)
	}
	if got, want := u.Expires, h.clock.Now().Add(testTTL); !got.Equal(want) {
		t.Errorf("Expires = %v, want %v", got, want)
	}
	if cu, ok := h.a.CurrentUser(b.request()); !ok || cu.Subject != "sub-alice" {
		t.Errorf("CurrentUser = %q, %v; want alice", cu.Subject, ok)
	}
	b.logout()
	if b.setCookie == nil || b.setCookie.MaxAge >= 0 || b.cookie != nil {
		t.Fatalf("logout did not clear the cookie: %+v", b.setCookie)
	}
	mustSignedOut(t, b, ErrSignedOut)
}

func testBadCookies(t *testing.T, h *harness) {
	good := h.signIn(alice())
	other := h.newAuth(func(c *Config) { c.SessionKeys = [][]byte{oldKey} })
	foreign := h.signInAt(other, bob())
	tamper := func(v string) string {
		b := []byte(v)
		b[len(b)/2] ^= 1
		return string(b)
	}
	values := map[string]string{
		"tampered":         tamper(good.cookie.Value),
		"truncated":        good.cookie.Value[:len(good.cookie.Value)/2],
		"garbage":          "not a cookie",
		"empty":            "",
		"huge":             strings.Repeat("A", 8000),
		"another key's":    foreign.cookie.Value,
		"another store's":  h.otherStoreCookie(),
		"a login cookie's": loginLike(t, h),
	}
	if h.redis != nil {
		gone := h.signIn(alice())
		if _, err := h.a.Revoke(t.Context(), "sub-alice", ""); err != nil {
			t.Fatal(err)
		}
		values["an ended session's"] = gone.cookie.Value
	}
	for name, value := range values {
		b := &browser{a: h.a, cookie: &http.Cookie{Name: good.cookie.Name, Value: value}}
		if u, err := b.visit(); !errors.Is(err, ErrSignedOut) {
			t.Errorf("%s cookie: %q, %v; want ErrSignedOut", name, u.Subject, err)
		}
		if _, ok := h.a.CurrentUser(b.request()); ok {
			t.Errorf("%s cookie: CurrentUser signed in", name)
		}
	}
}

// otherStoreCookie is a cookie the other kind of store made with the same
// keys: it must not read as a session here.
func (h *harness) otherStoreCookie() string {
	if h.redis == nil { // a Redis store's cookie: an id only
		c, err := newCookieCodec(h.cfg, h.a.cookieName("qsgate_session"), "session id", false)
		if err != nil {
			h.t.Fatal(err)
		}
		v, err := c.encode("an-id-that-names-nothing")
		if err != nil {
			h.t.Fatal(err)
		}
		return v
	}
	s, err := newCookieStore(h.cfg, h.a.cookieName("qsgate_session"), false)
	if err != nil {
		h.t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	now := h.clock.Now()
	if err := s.Save(h.t.Context(), rec, &Session{User: User{Subject: "sub-mallory", Expires: now.Add(time.Hour)}, Created: now, LastSeen: now}); err != nil {
		h.t.Fatal(err)
	}
	return rec.Result().Cookies()[0].Value
}

// loginLike is a login cookie's value under the session cookie's name.
func loginLike(t *testing.T, h *harness) string {
	rec := httptest.NewRecorder()
	if err := h.a.StartLogin(rec, httptest.NewRequest("GET", "/login", nil), "/"); err != nil {
		t.Fatal(err)
	}
	return rec.Result().Cookies()[0].Value
}

func testKeyRotation(t *testing.T, h *harness) {
	before := h.newAuth(func(c *Config) { c.SessionKeys = [][]byte{oldKey} })
	b := h.signInAt(before, alice())
	rotated := h.newAuth(func(c *Config) { c.SessionKeys = [][]byte{newKey, oldKey} })
	mustUser(t, b.on(rotated), "sub-alice")
	dropped := h.newAuth(func(c *Config) { c.SessionKeys = [][]byte{newKey} })
	mustSignedOut(t, b.on(dropped), ErrSignedOut)
}

func testAbsoluteExpiry(t *testing.T, h *harness) {
	b := h.signIn(alice())
	h.clock.Add(testTTL - time.Minute)
	mustUser(t, b, "sub-alice")
	h.clock.Add(time.Minute)
	copied := b.copy()
	mustSignedOut(t, b, ErrSignedOut)
	if b.cookie != nil {
		t.Errorf("an expired session's cookie was not cleared")
	}
	mustSignedOut(t, copied, ErrSignedOut)
	if h.redis != nil {
		if n := h.rdb.Exists(t.Context(), h.keys(t)...).Val(); n != 0 {
			t.Errorf("%d session keys left in Redis after expiry", n)
		}
	}
}

func testIdleExpiry(t *testing.T, h *harness) {
	b := h.signIn(alice())
	early := b.copy()
	h.clock.Add(20 * time.Minute)
	mustUser(t, b, "sub-alice")
	if h.redis == nil && b.setCookie == nil {
		t.Errorf("cookie store: last use was not written to the cookie")
	}
	h.clock.Add(30 * time.Second)
	mustUser(t, b, "sub-alice")
	if b.setCookie != nil {
		t.Errorf("last use written twice within a minute")
	}
	h.clock.Add(20 * time.Minute) // 40m since sign-in, under 30m since last use
	mustUser(t, b, "sub-alice")
	if h.redis == nil {
		// The cookie store keeps last use in the cookie: a copy of an
		// older cookie has an older last use.
		mustSignedOut(t, early, ErrSignedOut)
	} else {
		mustUser(t, early, "sub-alice") // one session, wherever its id is
	}
	h.clock.Add(31 * time.Minute)
	mustSignedOut(t, b, ErrSignedOut)
	if b.cookie != nil {
		t.Errorf("an idle session's cookie was not cleared")
	}
	if !strings.Contains(h.logs.String(), "reason=idle") {
		t.Errorf("no log line says the session ended idle:\n%s", h.logs)
	}
}

func testLogoutCopiedCookie(t *testing.T, h *harness) {
	b := h.signIn(alice())
	copied := b.copy()
	elsewhere := h.newAuth(nil) // another instance behind the load balancer
	mustUser(t, copied.on(elsewhere), "sub-alice")
	b.logout()
	if h.redis != nil {
		mustSignedOut(t, copied, ErrSignedOut)
		mustSignedOut(t, copied.on(elsewhere), ErrSignedOut)
		return
	}
	// Documented: the cookie store keeps nothing on the server, so a copy
	// lives to the session's end; Redis or rotating the keys ends it.
	mustUser(t, copied, "sub-alice")
}
