package auth

import (
	"encoding/json"
	"strconv"

	"errors"
	"github.com/redis/go-redis/v9"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"
)

// paddedUser is a provider account whose owner filled the profile fields
// they may edit themselves (display name, username) to the 256 bytes the
// gateway keeps of each claim.
type paddedUser struct{ sub, email, pad string }

type paddedClaims struct {
	*mockoidc.IDTokenClaims
	Email             string `json:"email"`
	EmailVerified     bool   `json:"email_verified"`
	Name              string `json:"name"`
	PreferredUsername string `json:"preferred_username"`
}

func (u paddedUser) ID() string { return u.sub }

func (u paddedUser) Userinfo([]string) ([]byte, error) {
	return json.Marshal(map[string]any{"sub": u.sub, "email": u.email, "email_verified": true, "name": u.pad, "preferred_username": u.pad})
}

func (u paddedUser) Claims(_ []string, base *mockoidc.IDTokenClaims) (jwt.Claims, error) {
	return &paddedClaims{IDTokenClaims: base, Email: u.email, EmailVerified: true, Name: u.pad, PreferredUsername: u.pad}, nil
}

// With the cookie store and QSGATE_SESSION_REFRESH on, a user who pads
// their own profile makes the refresh token not fit in the cookie; the
// store silently drops it and the session is then never re-checked, so a
// user disabled at the provider keeps working until the session's TTL
// (README promises "within 15 minutes"). Realistic refresh tokens (Entra
// ID's are 1-2 KB) overflow even without padding. A session that cannot be
// re-checked must not outlive the re-check interval plus grace.
func TestReview2CookieStoreDroppedRefreshTokenFailsOpen(t *testing.T) {
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

// A user who expects to be cut off mints many sessions first (each
// sign-in is one redirect round trip while their provider session lasts;
// nothing caps sessions per user). The operator's revoke then reads every
// one within a single RedisTimeout and dedupes them in O(n^2): it fails
// with ErrStoreUnavailable and ends none of them.
func TestReview2RevokeSurvivesManySessions(t *testing.T) {
	h := newHarness(t, true, nil)
	a := h.newAuth(func(c *Config) { c.RedisTimeout = time.Second }) // the CLI's default
	const n = 26000                                                  // a multiple of the 2000 written per pipeline
	ctx := t.Context()
	now := h.clock.Now()
	for i := 0; i < n; i += 2000 {
		_, err := h.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for j := i; j < i+2000; j++ {
				key := redisKey(strconv.Itoa(j))
				p.SAdd(ctx, redisEmailIndex+"mallory@example.com", key)
				p.HSet(ctx, key, "sub", "sub-mallory", "email", "mallory@example.com", "created", millis(now),
					"seen", millis(now), "expires", millis(now.Add(testTTL)), "data", "x")
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	got, err := a.Revoke(ctx, "", "mallory@example.com")
	t.Logf("revoke: %d ended in %s", got, time.Since(start))
	if err != nil || got != n {
		t.Fatalf("revoke of a user with %d sessions = %d, %v; want all ended", n, got, err)
	}
}
