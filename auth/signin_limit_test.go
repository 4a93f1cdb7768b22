package auth

import (
	"errors"
	"net/http/httptest"
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
	h.idp.QueueUser(alice())
	rec := httptest.NewRecorder()
	if err := h.a.StartLogin(rec, httptest.NewRequest("GET", "/login", nil), "/"); err != nil {
		t.Fatal(err)
	}
	login := rec.Result().Cookies()[0]
	resp, err := noRedirects.Get(rec.Header().Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	req := httptest.NewRequest("GET", resp.Header.Get("Location"), nil)
	req.AddCookie(login)
	rec = httptest.NewRecorder()
	var re *limit.RateError
	if _, err := h.a.Finish(rec, req); !errors.As(err, &re) || re.RetryAfter <= 0 {
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
