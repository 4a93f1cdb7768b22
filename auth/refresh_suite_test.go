package auth

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// The re-check rows of sessionSuite (store_suite_test.go): they run
// against both stores like the others.

func testRefreshRenews(t *testing.T, h *harness) {
	h.idp.set(func(p *testIdP) { p.rotate = true })
	signedIn := h.clock.Now()
	al := alice()
	b := h.signIn(al)
	h.clock.Add(5 * time.Minute)
	mustUser(t, b, "sub-alice")
	if n := h.idp.refreshCount(); n != 0 {
		t.Fatalf("%d refreshes before the interval, want 0", n)
	}
	al.set("alice@new.example", "qs-admins")
	h.clock.Add(6 * time.Minute)
	u := mustUser(t, b, "sub-alice")
	if u.Email != "alice@new.example" || !slices.Equal(u.Groups, []string{"qs-admins"}) {
		t.Errorf("after the re-check: email %q, groups %v; want the provider's new ones", u.Email, u.Groups)
	}
	if !u.Expires.Equal(signedIn.Add(testTTL)) {
		t.Errorf("the re-check moved the session's end to %v, want %v", u.Expires, signedIn.Add(testTTL))
	}
	if n := h.idp.refreshCount(); n != 1 {
		t.Errorf("%d refreshes, want 1", n)
	}
	s, err := h.a.store.Load(b.request())
	if err != nil {
		t.Fatal(err)
	}
	h.idp.mu.Lock()
	newest := h.idp.issued[len(h.idp.issued)-1]
	h.idp.mu.Unlock()
	if !strings.HasPrefix(newest, "rot-") || s.RefreshToken != newest {
		t.Errorf("the session keeps another refresh token than the rotated one")
	}
	// The rotated token works; the old one would be refused.
	h.clock.Add(11 * time.Minute)
	mustUser(t, b, "sub-alice")
	if n := h.idp.refreshCount(); n != 2 {
		t.Errorf("%d refreshes, want 2", n)
	}
	if h.redis != nil {
		if list, err := h.a.Sessions(t.Context(), "alice@new.example"); err != nil || len(list) != 1 {
			t.Errorf("sessions under the new email = %+v, %v; want 1", list, err)
		}
		if list, err := h.a.Sessions(t.Context(), "alice@example.com"); err != nil || len(list) != 0 {
			t.Errorf("sessions under the old email = %+v, %v; want none", list, err)
		}
	}
}

func testRefreshRefused(t *testing.T, h *harness) {
	b := h.signIn(alice())
	copied := b.copy()
	h.idp.set(func(p *testIdP) { p.disabled["sub-alice"] = true })
	h.clock.Add(11 * time.Minute)
	mustSignedOut(t, b, ErrSessionEnded)
	if b.cookie != nil {
		t.Errorf("the refused session's cookie was not cleared")
	}
	if h.redis != nil {
		mustSignedOut(t, copied, ErrSignedOut) // deleted everywhere
	} else {
		mustSignedOut(t, copied, ErrSessionEnded) // the copy's token is refused too
	}
	if !strings.Contains(h.logs.String(), "refused by the provider") {
		t.Errorf("no log line says the provider refused:\n%s", h.logs)
	}
}

func testRefreshNotAllowed(t *testing.T, h *harness) {
	al := alice()
	b := h.signIn(al)
	al.set("Alice@Example.com", "other") // no longer an author
	h.clock.Add(11 * time.Minute)
	if _, err := b.visit(); !errors.Is(err, errNotAuthor) {
		t.Fatalf("visit = %v, want the Authorize hook's refusal", err)
	}
	if b.cookie != nil {
		t.Errorf("the refused session's cookie was not cleared")
	}
	mustSignedOut(t, b, ErrSignedOut)
}

func testRefreshGrace(t *testing.T, h *harness) {
	b := h.signIn(alice())
	h.idp.set(func(p *testIdP) { p.down = true })
	h.clock.Add(11 * time.Minute)
	mustUser(t, b, "sub-alice") // within the grace period
	if n := h.idp.refreshCount(); n != 1 {
		t.Errorf("%d refresh attempts, want 1", n)
	}
	h.clock.Add(10 * time.Minute)
	mustUser(t, b, "sub-alice")
	h.clock.Add(5 * time.Minute) // 26m since the provider vouched: past 10m + 15m
	_, err := b.visit()
	if !errors.Is(err, ErrProviderUnavailable) || errors.Is(err, ErrSignedOut) || errors.Is(err, ErrSessionEnded) {
		t.Fatalf("past the grace period: %v; want ErrProviderUnavailable", err)
	}
	if b.cookie == nil {
		t.Fatalf("the session was ended by an outage")
	}
	h.idp.set(func(p *testIdP) { p.down = false })
	h.clock.Add(10 * time.Second)
	mustUser(t, b, "sub-alice") // the provider is back: renewed
	n := h.idp.refreshCount()
	h.clock.Add(5 * time.Minute)
	mustUser(t, b, "sub-alice")
	if got := h.idp.refreshCount(); got != n {
		t.Errorf("refreshed again %d times right after a renewal", got-n)
	}
}

func testRefreshOnce(t *testing.T, h *harness) {
	h.idp.set(func(p *testIdP) { p.rotate = true; p.delay = 200 * time.Millisecond })
	b := h.signIn(alice())
	h.clock.Add(11 * time.Minute)
	tabs := make([]*browser, 8)
	for i := range tabs {
		tabs[i] = b.copy()
	}
	late := b.copy()
	var wg sync.WaitGroup
	errs := make([]error, len(tabs))
	for i, tab := range tabs {
		wg.Go(func() { _, errs[i] = tab.visit() })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("tab %d: %v", i, err)
		}
	}
	if n := h.idp.refreshCount(); n != 1 {
		t.Errorf("%d refreshes for one session at once, want 1", n)
	}
	// A request that still carries the old cookie (it raced the renewal)
	// is not refused for its used token.
	mustUser(t, late, "sub-alice")
	if n := h.idp.refreshCount(); n != 1 {
		t.Errorf("%d refreshes, want 1", n)
	}
}
