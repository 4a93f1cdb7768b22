package auth

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestKeepIDTokenInCookie: with KeepIDToken (identity-center mode) the
// cookie keeps the provider's ID token, dropping the refresh token for
// room; a sign-in whose ID token still does not fit is refused with a
// message naming Redis, never saved without the token (which would ask the
// user to sign in again on every view).
func TestKeepIDTokenInCookie(t *testing.T) {
	h := newHarness(t, false, func(c *Config) { c.KeepIDToken = true; c.Refresh = time.Hour })
	b := h.signIn(newIdPUser("sub-alice", "alice@example.com"))
	s, err := h.a.store.Load(b.request())
	if err != nil || s.User.IDToken == "" {
		t.Fatalf("session = %+v, %v; want the ID token kept", s, err)
	}

	var groups []string
	for i := range 40 {
		groups = append(groups, fmt.Sprintf("grp-%04d-with-a-longish-name", i))
	}
	big := newHarness(t, false, func(c *Config) { c.KeepIDToken = true; c.Refresh = time.Hour })
	rec, err := big.finish(big.a, newIdPUser("sub-bob", "bob@example.com", groups...))
	if err == nil || !strings.Contains(err.Error()+big.logs.String(), "QSGATE_SESSION_STORE=redis") {
		t.Errorf("sign-in with an ID token too large for the cookie: err = %v; want it refused, naming QSGATE_SESSION_STORE=redis\nlogs: %s", err, big.logs)
	}
	for _, c := range rec.Result().Cookies() {
		if c.Name == big.a.cookieName("session") && c.Value != "" {
			t.Errorf("a session cookie was set: %s", c.Name)
		}
	}
}
