package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// The operator's and the outage rows of sessionSuite (store_suite_test.go).

func testRevoke(t *testing.T, h *harness) {
	a1, a2, bb := h.signIn(alice()), h.signIn(alice()), h.signIn(bob())
	n, err := h.a.Revoke(t.Context(), "", "alice@EXAMPLE.com")
	if h.redis == nil {
		if !errors.Is(err, ErrNoServerSessions) || !strings.Contains(err.Error(), "QSGATE_SESSION_STORE=redis") || !strings.Contains(err.Error(), "QSGATE_SESSION_KEYS") {
			t.Fatalf("cookie store revoke: %v; want ErrNoServerSessions naming the redis store and key rotation", err)
		}
		mustUser(t, a1, "sub-alice")
		return
	}
	if err != nil || n != 2 {
		t.Fatalf("revoke by email = %d, %v; want 2", n, err)
	}
	mustSignedOut(t, a1, ErrSignedOut)
	mustSignedOut(t, a2, ErrSignedOut)
	mustUser(t, bb, "sub-bob")
	a3 := h.signIn(alice())
	if n, err := h.a.Revoke(t.Context(), "sub-alice", ""); err != nil || n != 1 {
		t.Fatalf("revoke by sub = %d, %v; want 1", n, err)
	}
	mustSignedOut(t, a3, ErrSignedOut)
	if n, err := h.a.Revoke(t.Context(), "sub-nobody", ""); err != nil || n != 0 {
		t.Errorf("revoke of nobody = %d, %v; want 0", n, err)
	}
	if _, err := h.a.Revoke(t.Context(), "", ""); err == nil {
		t.Errorf("revoke of everyone by leaving both empty was accepted")
	}
	if !strings.Contains(h.logs.String(), "event=sessions_revoked") {
		t.Errorf("no audit line for the revoke")
	}
}

// A user who expects to be cut off can mint many sessions first (each
// sign-in is one redirect round trip while their provider session lasts;
// nothing caps sessions per user). The operator's revoke still ends every
// one: it works in batches, each with its own RedisTimeout.
func TestRevokeEndsManySessions(t *testing.T) {
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

func testList(t *testing.T, h *harness) {
	first := h.clock.Now()
	a1 := h.signIn(alice())
	h.clock.Add(time.Hour)
	second := h.clock.Now()
	a2 := h.signIn(alice())
	h.signIn(bob())
	h.clock.Add(2 * time.Minute)
	mustUser(t, a1, "sub-alice")
	list, err := h.a.Sessions(t.Context(), "ALICE@example.com")
	if h.redis == nil {
		if !errors.Is(err, ErrNoServerSessions) {
			t.Fatalf("cookie store list: %v; want ErrNoServerSessions", err)
		}
		return
	}
	if err != nil || len(list) != 2 {
		t.Fatalf("list = %+v, %v; want alice's 2 sessions", list, err)
	}
	ms := func(t time.Time) time.Time { return t.Truncate(time.Millisecond) }
	want := []SessionInfo{
		{Subject: "sub-alice", Email: "Alice@Example.com", Created: ms(first), LastSeen: ms(h.clock.Now()), Expires: ms(first.Add(testTTL))},
		{Subject: "sub-alice", Email: "Alice@Example.com", Created: ms(second), LastSeen: ms(second), Expires: ms(second.Add(testTTL))},
	}
	for i := range want {
		g, w := list[i], want[i]
		if g.Subject != w.Subject || g.Email != w.Email || !g.Created.Equal(w.Created) || !g.LastSeen.Equal(w.LastSeen) || !g.Expires.Equal(w.Expires) {
			t.Errorf("session %d = %+v, want %+v", i, g, w)
		}
	}
	out := fmt.Sprintf("%#v", list)
	for _, b := range []*browser{a1, a2} {
		s, err := h.a.store.Load(b.request())
		if err != nil {
			t.Fatal(err)
		}
		for _, secret := range []string{s.id, b.cookie.Value, strings.TrimPrefix(redisKey(s.id), redisSessionPrefix)} {
			if strings.Contains(out, secret) {
				t.Errorf("the session list shows an id, key or cookie: %s", out)
			}
		}
	}
	if _, err := h.a.Revoke(t.Context(), "", "alice@example.com"); err != nil {
		t.Fatal(err)
	}
	if list, err := h.a.Sessions(t.Context(), "alice@example.com"); err != nil || len(list) != 0 {
		t.Errorf("after revoke: %+v, %v; want none", list, err)
	}
}

// keys lists the session keys in Redis.
func (h *harness) keys(t *testing.T) []string {
	keys, err := h.rdb.Keys(t.Context(), redisSessionPrefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

func testStoreOutage(t *testing.T, h *harness) {
	b := h.signIn(alice())
	if err := h.a.store.Ping(t.Context()); err != nil {
		t.Fatalf("store.Ping = %v, want nil", err)
	}
	if h.redis == nil {
		return // nothing to lose: the cookie is the store
	}
	h.redis.Stop()
	u, err := b.visit()
	if !errors.Is(err, ErrStoreUnavailable) || errors.Is(err, ErrSignedOut) || u.Subject != "" {
		t.Fatalf("visit with Redis down = %q, %v; want ErrStoreUnavailable", u.Subject, err)
	}
	if b.cookie == nil {
		t.Fatalf("the cookie was cleared while Redis was down")
	}
	if _, ok := h.a.CurrentUser(b.request()); ok {
		t.Errorf("CurrentUser signed in with Redis down")
	}
	if err := h.a.store.Ping(t.Context()); !errors.Is(err, ErrStoreUnavailable) {
		t.Errorf("store.Ping = %v, want ErrStoreUnavailable", err)
	}
	if _, err := h.a.Revoke(t.Context(), "sub-alice", ""); !errors.Is(err, ErrStoreUnavailable) {
		t.Errorf("Revoke = %v, want ErrStoreUnavailable", err)
	}
	h.redis.Restart()
	// No persistence: the sessions are gone, which is signed out, not an error.
	mustSignedOut(t, b, ErrSignedOut)
	if err := h.a.store.Ping(t.Context()); err != nil {
		t.Errorf("store.Ping after restart = %v", err)
	}
	mustUser(t, h.signIn(alice()), "sub-alice")
}

// Sign-in with the store down: a 503 for the user, no cookie.
func TestSignInWithRedisDown(t *testing.T) {
	h := newHarness(t, true, nil)
	h.redis.Stop()
	rec, err := h.finish(h.a, alice())
	if !errors.Is(err, ErrStoreUnavailable) {
		t.Fatalf("Finish = %v, want ErrStoreUnavailable", err)
	}
	for _, c := range rec.Result().Cookies() {
		if strings.Contains(c.Name, "qsgate_session") && c.MaxAge >= 0 {
			t.Errorf("a session cookie was set: %+v", c)
		}
	}
	// Logout still clears the browser's cookie.
	rec = httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/logout", nil)
	req.AddCookie(&http.Cookie{Name: "qsgate_session", Value: "x"})
	h.a.Logout(rec, req)
	if c := rec.Result().Cookies(); len(c) != 1 || c[0].MaxAge >= 0 {
		t.Errorf("logout with Redis down set %+v; want the cookie cleared", c)
	}
}

func testAtRest(t *testing.T, h *harness) {
	b := h.signIn(alice())
	s, err := h.a.store.Load(b.request())
	if err != nil {
		t.Fatal(err)
	}
	if s.RefreshToken == "" {
		t.Fatalf("the session keeps no refresh token")
	}
	if h.redis == nil {
		// To fit, the cookie store drops the ID token (a logout hint)
		// before the refresh token.
		if s.User.IDToken != "" {
			t.Errorf("the cookie kept the id token hint; want it dropped to make room")
		}
		if strings.Contains(b.cookie.Value, s.RefreshToken) {
			t.Errorf("the refresh token is readable in the cookie")
		}
		return
	}
	if s.User.IDToken == "" {
		t.Fatalf("the Redis store dropped the id token hint")
	}
	var dump strings.Builder
	ctx := context.Background()
	for _, k := range h.rdb.Keys(ctx, "*").Val() {
		dump.WriteString(k + "\n")
		switch h.rdb.Type(ctx, k).Val() {
		case "hash":
			for f, v := range h.rdb.HGetAll(ctx, k).Val() {
				dump.WriteString(f + "=" + v + "\n")
			}
		case "set":
			dump.WriteString(strings.Join(h.rdb.SMembers(ctx, k).Val(), "\n"))
		}
	}
	for name, secret := range map[string]string{"session id": s.id, "cookie": b.cookie.Value, "refresh token": s.RefreshToken, "id token": s.User.IDToken} {
		if strings.Contains(dump.String(), secret) {
			t.Errorf("Redis holds the %s in clear", name)
		}
	}
	if !strings.Contains(dump.String(), "sub-alice") {
		t.Errorf("the dump is not of the session (no sub-alice):\n%s", dump.String())
	}
}
