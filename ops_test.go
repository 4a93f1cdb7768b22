package main

import (
	"net/http"
	"testing"
)

// The back button to the callback after signing in lands on the portal,
// not on "Sign-in could not be completed".
func TestCallbackAgainWhenSignedIn(t *testing.T) {
	s := startStack(t, nil)
	b := newBrowser(t)
	cb := s.loginRedirect(b, alice, "/")
	if p := b.get(cb.String()); p.status != 200 || p.url != s.url+"/" {
		t.Fatalf("sign-in: %s", p)
	}
	p := b.get(cb.String())
	if p.status != 200 || p.url != s.url+"/" {
		t.Errorf("callback again: %s, want the portal\n%s", p, p.body)
	}
	// Signed out, the same replay is still refused.
	other := newBrowser(t)
	if p := other.do(other.noFollow(), http.MethodGet, cb.String(), nil); p.status != 400 {
		t.Errorf("replayed callback in another browser = %d, want 400", p.status)
	}
}
