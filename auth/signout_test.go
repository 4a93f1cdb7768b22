package auth

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// Sign-out while Redis does not answer (paused: writes, or everything;
// stopped) must not look done: an error saying so, no cookie change, and
// the session as it was. Once Redis answers, sign-out ends it, copies of
// the cookie included.
func TestSignOutWhileRedisDoesNotAnswer(t *testing.T) {
	for _, tt := range []struct {
		name   string
		outage func(h *harness) (over func())
	}{
		{"writes paused", func(h *harness) func() { return pause(h, "WRITE") }},
		{"everything paused", func(h *harness) func() { return pause(h, "ALL") }},
		{"stopped", func(h *harness) func() { h.redis.Stop(); return func() {} }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, true, func(c *Config) { c.RedisTimeout = 300 * time.Millisecond })
			b := h.signIn(alice())
			thief := b.copy()
			over := tt.outage(h)
			rec := httptest.NewRecorder()
			to, err := h.a.SignOut(rec, b.request())
			if !errors.Is(err, ErrSignOutIncomplete) || !errors.Is(err, ErrStoreUnavailable) || to != "" {
				t.Fatalf("SignOut during the outage = %q, %v; want ErrSignOutIncomplete and ErrStoreUnavailable", to, err)
			}
			if sc := rec.Header().Values("Set-Cookie"); len(sc) != 0 {
				t.Fatalf("SignOut during the outage wrote cookies %q; want the session cookie kept", sc)
			}
			if !strings.Contains(h.logs.String(), "event=logout_failed") {
				t.Errorf("no logout_failed log line")
			}
			over()
			if tt.name == "stopped" {
				return // a restarted test Redis is empty: nothing more to see
			}
			mustUser(t, b, "sub-alice") // still signed in, as the page said

			rec = httptest.NewRecorder()
			if to, err := h.a.SignOut(rec, b.request()); err != nil || to == "" {
				t.Fatalf("SignOut after the outage = %q, %v", to, err)
			}
			b.keep(rec)
			if b.cookie != nil {
				t.Errorf("SignOut did not clear the cookie")
			}
			mustSignedOut(t, thief, ErrSignedOut)
		})
	}
}

// pause makes Redis hold clients' commands (of kind WRITE or ALL) for a
// while, as a failover or a long fork does, and returns a func that waits
// for the pause to end.
func pause(h *harness, kind string) func() {
	h.t.Helper()
	const d = 1500 * time.Millisecond
	if err := h.rdb.Do(h.t.Context(), "CLIENT", "PAUSE", d.Milliseconds(), kind).Err(); err != nil {
		h.t.Fatal(err)
	}
	end := time.Now().Add(d)
	return func() { time.Sleep(time.Until(end) + 100*time.Millisecond) }
}
