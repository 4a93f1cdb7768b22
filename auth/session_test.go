package auth

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

var (
	oldKey = []byte("old-session-key-0123456789abcdefghij")
	newKey = []byte("new-session-key-0123456789abcdefghij")
)

func newTestAuth(t *testing.T, public string, keys ...[]byte) *Auth {
	t.Helper()
	u, _ := url.Parse(public)
	a, err := New(Config{Issuer: "http://127.0.0.1:1", ClientID: "c", PublicURL: u, SessionKeys: keys, SessionTTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func requestWith(c *http.Cookie) *http.Request {
	r := httptest.NewRequest("GET", "/", nil)
	r.AddCookie(c)
	return r
}

// The cookie tests sign in through the code path production uses: the
// provider's code flow and Finish (harness.signIn), never by writing a
// session into the store.

func TestSessionCookieFlags(t *testing.T) {
	for _, tt := range []struct {
		public string
		name   string
		secure bool
	}{
		{"https://portal.example.com", "__Host-qsgate_session", true},
		{"http://127.0.0.1:8080", "qsgate_session", false},
	} {
		h := newHarness(t, false, func(c *Config) {
			c.PublicURL, _ = url.Parse(tt.public)
			c.SessionTTL = time.Hour
		})
		c := h.signIn(newIdPUser("s", "s@example.com")).setCookie
		if c.Name != tt.name || !c.HttpOnly || c.Secure != tt.secure || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.MaxAge != 3600 {
			t.Errorf("%s: cookie = %+v; want %s, HttpOnly, Secure=%v, SameSite=Lax, Path=/, MaxAge=3600", tt.public, c, tt.name, tt.secure)
		}
	}
}

func TestSessionKeyRotation(t *testing.T) {
	h := newHarness(t, false, func(c *Config) { c.SessionKeys = [][]byte{oldKey} })
	c := h.signIn(newIdPUser("alice", "alice@example.com")).cookie

	rotated := h.newAuth(func(c *Config) { c.SessionKeys = [][]byte{newKey, oldKey} })
	if u, ok := rotated.CurrentUser(requestWith(c)); !ok || u.Subject != "alice" {
		t.Errorf("a cookie made with the older listed key: signed in = %v, want true", ok)
	}
	dropped := h.newAuth(func(c *Config) { c.SessionKeys = [][]byte{newKey} })
	if _, ok := dropped.CurrentUser(requestWith(c)); ok {
		t.Errorf("a cookie made with a key no longer listed was accepted")
	}
}

func TestSessionCookieRejected(t *testing.T) {
	h := newHarness(t, false, nil)
	good := h.signIn(newIdPUser("alice", "alice@example.com")).cookie
	tamper := func(v string) string {
		b := []byte(v)
		b[len(b)/2] ^= 1
		return string(b)
	}
	for name, value := range map[string]string{
		"tampered":  tamper(good.Value),
		"truncated": good.Value[:len(good.Value)/2],
		"garbage":   "not a cookie",
		"empty":     "",
		"huge":      strings.Repeat("A", 8000),
	} {
		c := &http.Cookie{Name: good.Name, Value: value}
		if _, ok := h.a.CurrentUser(requestWith(c)); ok {
			t.Errorf("%s cookie: signed in, want signed out", name)
		}
	}
	if _, ok := h.a.CurrentUser(requestWith(good)); !ok {
		t.Errorf("the good cookie was refused")
	}
	h.clock.Add(testTTL) // the same cookie, at the session's end
	if _, ok := h.a.CurrentUser(requestWith(good)); ok {
		t.Errorf("expired cookie: signed in, want signed out")
	}
}

func TestUserClaim(t *testing.T) {
	u := User{Subject: "s", Email: "e@x", Name: "N", PreferredUsername: "p", Extra: map[string]string{"dept": "d"}}
	for name, want := range map[string]string{"sub": "s", "email": "e@x", "name": "N", "preferred_username": "p", "dept": "d", "none": ""} {
		if got := u.Claim(name); got != want {
			t.Errorf("Claim(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestLoginURL(t *testing.T) {
	a := newTestAuth(t, "https://portal.example.com", newKey)
	for rd, want := range map[string]string{
		"/embed/start": "https://portal.example.com/login?rd=%2Fembed%2Fstart",
		"/":            "https://portal.example.com/login",
		"//evil.com":   "https://portal.example.com/login",
		"/a?b=c&d=e":   "https://portal.example.com/login?rd=%2Fa%3Fb%3Dc%26d%3De",
	} {
		if got := a.LoginURL(rd); got != want {
			t.Errorf("LoginURL(%q) = %q, want %q", rd, got, want)
		}
	}
}
