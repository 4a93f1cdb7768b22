package auth

import (
	"errors"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/qsgate/qsgate/audit"
)

// one is the only event rec recorded since the last Take.
func one(t *testing.T, rec *audit.Memory) audit.Event {
	t.Helper()
	got := rec.Take()
	if len(got) != 1 {
		t.Fatalf("%d audit events, want 1: %+v", len(got), got)
	}
	return got[0]
}

// A sign-in, each kind of refusal Finish can tell, and both sign-outs
// are audited with who and why, on either store.
func TestSignInAndOutAudited(t *testing.T) {
	for _, withRedis := range []bool{false, true} {
		t.Run(map[bool]string{false: "cookie", true: "redis"}[withRedis], func(t *testing.T) {
			rec := &audit.Memory{}
			h := newHarness(t, withRedis, func(c *Config) { c.Audit = rec })

			b := h.signIn(newIdPUser("sub-alice", "alice@example.com"))
			if got, want := one(t, rec), (audit.Event{Event: audit.SignIn, Subject: "sub-alice", Email: "alice@example.com"}); got.Event != want.Event || got.Subject != want.Subject || got.Email != want.Email || got.Reason != "" {
				t.Errorf("sign-in recorded %+v, want %+v", got, want)
			}

			// No state: refused before anything is trusted.
			if _, err := h.a.Finish(httptest.NewRecorder(), httptest.NewRequest("GET", "/auth/callback?code=x", nil)); err == nil {
				t.Fatal("a callback without state was accepted")
			}
			if got := one(t, rec); got.Event != audit.SignInRefused || got.Reason != audit.ReasonStateInvalid || got.Subject != "" {
				t.Errorf("callback without state recorded %+v, want sign_in_refused state_invalid", got)
			}

			// The policy refuses a user the provider vouched for: who is named.
			denied := h.newAuth(func(c *Config) {
				c.Authorize = func(User) error { return errNotAuthor }
			})
			if _, err := h.finish(denied, newIdPUser("sub-eve", "eve@partner.example")); !errors.Is(err, errNotAuthor) {
				t.Fatalf("Finish = %v, want the policy's refusal", err)
			}
			if got := one(t, rec); got.Event != audit.SignInRefused || got.Reason != audit.ReasonNotAllowed || got.Subject != "sub-eve" || got.Email != "eve@partner.example" {
				t.Errorf("policy refusal recorded %+v, want sign_in_refused not_allowed for sub-eve", got)
			}

			// Sign-out as the user asks for it, then one the policy makes.
			if _, err := b.a.SignOut(httptest.NewRecorder(), b.request()); err != nil {
				t.Fatal(err)
			}
			if got := one(t, rec); got.Event != audit.SignOut || got.Reason != audit.ReasonUser || got.Subject != "sub-alice" {
				t.Errorf("sign-out recorded %+v, want sign_out user for sub-alice", got)
			}
			b = h.signIn(newIdPUser("sub-alice", "alice@example.com"))
			rec.Take()
			b.logout()
			if got := one(t, rec); got.Event != audit.SignOut || got.Reason != audit.ReasonPolicy || got.Subject != "sub-alice" {
				t.Errorf("policy logout recorded %+v, want sign_out policy for sub-alice", got)
			}
			// Signing out again ends nothing, and records nothing.
			b.logout()
			if got := rec.Take(); len(got) != 0 {
				t.Errorf("a sign-out without a session recorded %+v", got)
			}
		})
	}
}

// Revoking a user's sessions, and the cap ending the oldest, are audited
// with how many ended.
func TestRevokedSessionsAudited(t *testing.T) {
	rec := &audit.Memory{}
	h := newHarness(t, true, func(c *Config) { c.Audit = rec; c.MaxSessionsPerUser = 1 })
	h.signIn(newIdPUser("sub-alice", "alice@example.com"))
	h.signIn(newIdPUser("sub-alice", "alice@example.com")) // past the cap of 1: the first ends
	got := rec.Take()
	i := slices.IndexFunc(got, func(e audit.Event) bool { return e.Event == audit.SessionRevoked })
	if i < 0 || got[i].Reason != audit.ReasonSessionCap || got[i].Count == nil || *got[i].Count != 1 || got[i].Subject != "sub-alice" {
		t.Fatalf("sign-in past the cap recorded %+v, want session_revoked session_cap count 1", got)
	}
	n, err := h.a.Revoke(t.Context(), "", "alice@example.com")
	if err != nil || n != 1 {
		t.Fatalf("Revoke = %d, %v, want 1", n, err)
	}
	if e := one(t, rec); e.Event != audit.SessionRevoked || e.Reason != audit.ReasonOperator || e.Count == nil || *e.Count != 1 || e.Email != "alice@example.com" {
		t.Fatalf("revoke recorded %+v, want session_revoked operator count 1", e)
	}
}
