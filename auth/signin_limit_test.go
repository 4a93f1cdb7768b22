package auth

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/qsgate/qsgate/limit"
)

// One account signing in faster than SignInsPerUser allows is refused
// after the provider round trip and before any session is made; other
// accounts are not.
func TestSignInsLimitedPerSubject(t *testing.T) {
	h := newHarness(t, true, func(c *Config) { c.SignInsPerUser = limit.NewPerUser(limit.Rate{N: 3, Per: time.Hour}) })
	for range 3 {
		h.signIn(alice())
	}
	rec, err := h.finish(h.a, alice())
	var re *limit.RateError
	if !errors.As(err, &re) || re.RetryAfter <= 0 {
		t.Fatalf("fourth sign-in = %v, want a *limit.RateError with a wait", err)
	}
	for _, c := range rec.Result().Cookies() {
		if strings.Contains(c.Name, "qsgate_session") && c.MaxAge >= 0 {
			t.Errorf("the refused sign-in set a session cookie")
		}
	}
	if n := len(h.keys(t)); n != 3 {
		t.Errorf("%d sessions in Redis, want the 3 allowed", n)
	}
	if !strings.Contains(h.logs.String(), "event=login_limited") {
		t.Errorf("no login_limited log line")
	}
	mustUser(t, h.signIn(bob()), "sub-bob")
}
