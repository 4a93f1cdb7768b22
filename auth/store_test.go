package auth

import (
	"bytes"
	"encoding/base64"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// A gob cookie that holds only the User signs in while no idle timeout
// is set. With one, its last use is unknown and it counts as idle: a copy
// must not pass as just used on every replay.
func TestGobUserOnlyCookieIdleUnknown(t *testing.T) {
	for _, idle := range []time.Duration{0, time.Hour} {
		h := newHarness(t, false, func(c *Config) { c.Idle = idle })
		cs := h.a.store.(*cookieStore)
		value, err := cs.cookie.encode(map[any]any{"user": User{Subject: "sub-old", Expires: h.clock.Now().Add(time.Hour)}})
		if err != nil {
			t.Fatal(err)
		}
		b := &browser{a: h.a, cookie: &http.Cookie{Name: cs.cookie.name, Value: value}}
		if idle == 0 {
			mustUser(t, b, "sub-old")
			continue
		}
		if _, ok := h.a.CurrentUser(b.request()); ok {
			t.Errorf("with an idle timeout, a gob cookie without its last use signs in")
		}
	}
}

// The cookie keeps the refresh token only while it fits; the ID token
// hint goes first.
func TestCookieStoreFitsTheRefreshToken(t *testing.T) {
	a := newTestAuth(t, "https://portal.example.com", newKey)
	now := time.Now()
	for _, tt := range []struct {
		name          string
		refreshToken  string
		keepsIDToken  bool
		keepsRefresh  bool
		idTokenLength int
	}{
		{"small", "rt-small", true, true, 300},
		{"large id token", "rt-small", false, true, 2200},
		{"too large", strings.Repeat("r", 2500), false, false, 2200},
	} {
		s := &Session{User: User{Subject: "s", IDToken: strings.Repeat("i", tt.idTokenLength), Expires: now.Add(time.Hour)},
			Created: now, LastSeen: now, Checked: now, RefreshToken: tt.refreshToken}
		rec := httptest.NewRecorder()
		if err := a.store.Save(t.Context(), rec, s); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		c := rec.Result().Cookies()[0]
		if len(c.Name)+len(c.Value) > maxCookie {
			t.Errorf("%s: cookie of %d bytes", tt.name, len(c.Name)+len(c.Value))
		}
		got, err := a.store.Load(requestWith(c))
		if err != nil {
			t.Fatal(err)
		}
		if (got.User.IDToken != "") != tt.keepsIDToken || (got.RefreshToken == tt.refreshToken) != tt.keepsRefresh {
			t.Errorf("%s: id token kept %v, refresh token kept %v; want %v, %v", tt.name,
				got.User.IDToken != "", got.RefreshToken == tt.refreshToken, tt.keepsIDToken, tt.keepsRefresh)
		}
	}
}

// A write racing a logout or revoke (a last-use touch, a renewal) must not
// bring the session back.
func TestRedisWriteAfterRevokeDoesNotResurrect(t *testing.T) {
	h := newHarness(t, true, nil)
	b := h.signIn(alice())
	stale, err := h.a.store.Load(b.request())
	if err != nil {
		t.Fatal(err)
	}
	if n, err := h.a.Revoke(t.Context(), "sub-alice", ""); err != nil || n != 1 {
		t.Fatalf("revoke = %d, %v", n, err)
	}
	stale.LastSeen = h.clock.Now()
	if err := h.a.store.Touch(t.Context(), httptest.NewRecorder(), stale); !errors.Is(err, ErrSignedOut) {
		t.Errorf("touch after revoke = %v, want ErrSignedOut", err)
	}
	if err := h.a.store.Save(t.Context(), httptest.NewRecorder(), stale); !errors.Is(err, ErrSignedOut) {
		t.Errorf("save after revoke = %v, want ErrSignedOut", err)
	}
	if keys := h.keys(t); len(keys) != 0 {
		t.Errorf("revoked session came back: %v", keys)
	}
	mustSignedOut(t, b, ErrSignedOut)
}

// A provider that sends no refresh token (it wants offline_access, say):
// the sign-in says so once in the log, and, since the session cannot be
// re-checked, it ends after the interval and its grace (fail closed), not
// at its absolute end.
func TestNoRefreshToken(t *testing.T) {
	h := newHarness(t, false, func(c *Config) { c.Refresh = 10 * time.Minute; c.RefreshGrace = 5 * time.Minute })
	h.idp.set(func(p *testIdP) { p.noRefresh = true })
	b := h.signIn(alice())
	if got := strings.Count(h.logs.String(), "event=refresh_unavailable"); got != 1 {
		t.Errorf("%d refresh_unavailable log lines at sign-in, want 1:\n%s", got, h.logs)
	}
	h.clock.Add(14 * time.Minute)
	mustUser(t, b, "sub-alice")
	h.clock.Add(2 * time.Minute)
	if _, err := b.visit(); err == nil {
		t.Errorf("a session that cannot be re-checked outlived the interval and its grace")
	}
	if n := h.idp.refreshCount(); n != 0 {
		t.Errorf("%d refresh attempts without a refresh token", n)
	}
}

// With the cookie store and QSGATE_SESSION_REFRESH on, a user who pads
// their own profile makes the refresh token not fit in the cookie, and the
// store drops it (realistic refresh tokens, Entra ID's 1-2 KB, overflow
// even without padding). Such a session cannot be re-checked, so it ends
// after the re-check interval and its grace: a user disabled at the
// provider is out then (the README's "within 15 minutes"), not at the
// session's TTL.
func TestDroppedRefreshTokenFailsClosed(t *testing.T) {
	h := newHarness(t, false, func(c *Config) { c.Refresh = 10 * time.Minute; c.RefreshGrace = 15 * time.Minute })
	u := paddedUser{sub: "sub-mallory", email: "mallory@example.com", pad: strings.Repeat("m", maxClaim)}
	b := h.signInAt(h.a, u)
	s, err := h.a.store.Load(b.request())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("refresh token kept in the cookie: %v (cookie %d bytes)", s.RefreshToken != "", len(b.cookie.Value))
	h.idp.set(func(p *testIdP) { p.disabled[u.sub] = true })
	h.clock.Add(2 * time.Hour) // far past Refresh + RefreshGrace, well within the 8 h TTL
	got, err := b.visit()
	if err == nil {
		t.Fatalf("user %q disabled at the provider 2h ago is still signed in (session never re-checked: refresh token dropped from the cookie)", got.Subject)
	}
	if !errors.Is(err, ErrSignedOut) && !errors.Is(err, ErrSessionEnded) {
		t.Logf("refused with %v", err)
	}
}

// Tokens, ids and cookies never reach the log, whatever happens to the
// session.
func TestSessionLogsHoldNoSecrets(t *testing.T) {
	h := newHarness(t, true, func(c *Config) { c.Refresh = 10 * time.Minute; c.Idle = time.Hour })
	h.idp.set(func(p *testIdP) { p.rotate = true })
	b := h.signIn(alice())
	first, err := h.a.store.Load(b.request())
	if err != nil {
		t.Fatal(err)
	}
	secrets := []string{first.id, first.RefreshToken, first.User.IDToken, b.cookie.Value}
	h.clock.Add(11 * time.Minute)
	mustUser(t, b, "sub-alice") // renewed
	renewed, _ := h.a.store.Load(b.request())
	secrets = append(secrets, renewed.RefreshToken, renewed.User.IDToken)
	h.idp.set(func(p *testIdP) { p.down = true })
	h.clock.Add(30 * time.Minute)
	_, _ = b.visit() // past grace: refused, logged
	h.idp.set(func(p *testIdP) { p.down = false; p.disabled["sub-alice"] = true })
	h.clock.Add(time.Minute)
	mustSignedOut(t, b, ErrSessionEnded)
	b = h.signIn(alice())
	b.logout()
	logs := h.logs.String()
	for _, s := range secrets {
		if s == "" {
			t.Fatal("a secret to look for is empty")
		}
		if strings.Contains(logs, s) {
			t.Errorf("the log holds a token, id or cookie:\n%s", logs)
		}
	}
}

// A Redis that takes connections but never answers (paused, a network
// partition) is unavailable after RedisTimeout, not a hang and not
// signed in.
func TestRedisThatNeverAnswers(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
		}
	}()
	rdb := redis.NewClient(&redis.Options{Addr: ln.Addr().String(), ContextTimeoutEnabled: true, MaxRetries: -1})
	t.Cleanup(func() { rdb.Close() })
	u, _ := url.Parse("http://127.0.0.1:8080")
	a, err := New(Config{Issuer: "http://127.0.0.1:1", ClientID: "c", PublicURL: u, SessionKeys: [][]byte{newKey},
		SessionTTL: time.Hour, Redis: rdb, RedisTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	value, err := a.store.(*redisStore).cookie.encode("some-session-id")
	if err != nil {
		t.Fatal(err)
	}
	r := requestWith(&http.Cookie{Name: "qsgate_session", Value: value})
	if u, err := a.Session(httptest.NewRecorder(), r); !errors.Is(err, ErrStoreUnavailable) || u.Subject != "" {
		t.Errorf("Session = %q, %v; want ErrStoreUnavailable", u.Subject, err)
	}
	if err := a.store.Ping(t.Context()); !errors.Is(err, ErrStoreUnavailable) {
		t.Errorf("store.Ping = %v, want ErrStoreUnavailable", err)
	}
}

// Without ContextTimeoutEnabled go-redis would wait its own read timeout:
// New refuses such a client.
func TestRedisClientMustHonourTimeouts(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	t.Cleanup(func() { rdb.Close() })
	u, _ := url.Parse("http://127.0.0.1:8080")
	_, err := New(Config{PublicURL: u, SessionKeys: [][]byte{newKey}, SessionTTL: time.Hour, Redis: rdb})
	if err == nil || !strings.Contains(err.Error(), "ContextTimeoutEnabled") {
		t.Fatalf("New = %v, want a refusal naming ContextTimeoutEnabled", err)
	}
}

// A nil *redis.Client in Config.Redis means the cookie store, not a panic.
func TestTypedNilRedisIsCookieStore(t *testing.T) {
	var rdb *redis.Client
	u, _ := url.Parse("http://127.0.0.1:8080")
	a, err := New(Config{PublicURL: u, SessionKeys: [][]byte{newKey}, SessionTTL: time.Hour, Redis: rdb})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := a.store.(*cookieStore); !ok {
		t.Errorf("store = %T, want the cookie store", a.store)
	}
}

// A gob cookie with its "session" entry signs in, with its session times.
func TestGobCookieReads(t *testing.T) {
	a := newTestAuth(t, "https://portal.example.com", newKey)
	c := a.store.(*cookieStore)
	now := time.Now().Truncate(time.Second)
	value, err := c.cookie.encode(map[any]any{
		"user":    User{Subject: "old", Email: "old@example.com", Expires: now.Add(time.Hour)},
		"session": cookieSession{Created: now, LastSeen: now, Checked: now, RefreshToken: "rt"},
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := a.store.Load(requestWith(&http.Cookie{Name: c.cookie.name, Value: value}))
	if err != nil || got.User.Subject != "old" || got.RefreshToken != "rt" || !got.Checked.Equal(now) {
		t.Fatalf("gob cookie: %+v, %v", got, err)
	}
}

// The cookie store remembers cookies it verified: a repeat is not decoded
// again, but it is the same bytes or nothing (a changed cookie is checked
// afresh and refused), and the session's end still applies to a
// remembered one.
func TestDecodedCookiesRemembered(t *testing.T) {
	h := newHarness(t, false, nil)
	a := h.a
	c := a.store.(*cookieStore)
	good := h.signIn(newIdPUser("alice", "alice@example.com", "qs-authors")).cookie
	for range 3 {
		if got, ok := a.CurrentUser(requestWith(good)); !ok || got.Subject != "alice" {
			t.Fatalf("the good cookie: %+v, %v", got, ok)
		}
	}
	if n := c.decoded.Len(); n != 1 {
		t.Fatalf("%d cookies remembered, want 1", n)
	}
	u1, _ := a.CurrentUser(requestWith(good))
	u2, _ := a.CurrentUser(requestWith(good))
	if len(u1.Groups) != 1 {
		t.Fatalf("the remembered user's groups: %v, want [qs-authors]", u1.Groups)
	}
	// Two requests appending to the groups they share write to copies.
	g1, g2 := append(u1.Groups, "x"), append(u2.Groups, "y")
	if g1[1] != "x" || g2[1] != "y" {
		t.Fatalf("appends to a remembered user's groups met: %v, %v", g1, g2)
	}

	want, err := base64.URLEncoding.DecodeString(good.Value)
	if err != nil {
		t.Fatal(err)
	}
	for i := range len(good.Value) { // every one-byte change, with the good one remembered
		b := []byte(good.Value)
		b[i] ^= 1
		// A change in the unused low bits of the last base64 character
		// before the padding is no change: it decodes to the same cookie.
		if got, err := base64.URLEncoding.DecodeString(string(b)); err == nil && bytes.Equal(got, want) {
			continue
		}
		if _, ok := a.CurrentUser(requestWith(&http.Cookie{Name: good.Name, Value: string(b)})); ok {
			t.Fatalf("a cookie changed at byte %d signed in", i)
		}
	}
	if n := c.decoded.Len(); n != 1 {
		t.Fatalf("%d cookies remembered after refusals, want 1", n)
	}

	// Each load is its own Session: changing one changes no other.
	s1, _ := a.store.Load(requestWith(good))
	seen, token := s1.LastSeen, s1.User.IDToken
	s1.LastSeen, s1.User.IDToken = seen.Add(time.Minute), "x"
	if s2, _ := a.store.Load(requestWith(good)); !s2.LastSeen.Equal(seen) || s2.User.IDToken != token {
		t.Fatal("a change to one loaded session showed in the next")
	}

	h.clock.Add(testTTL) // the session's end, with the cookie still remembered
	if _, ok := a.CurrentUser(requestWith(good)); ok {
		t.Fatal("a remembered cookie outlived its session")
	}
}
