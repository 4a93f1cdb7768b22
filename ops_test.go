package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
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

// One user past QSGATE_EMBED_RATE gets a friendly 429 with Retry-After
// (JSON for JSON clients) and no AWS call; others are not affected.
func TestEmbedRateLimit(t *testing.T) {
	s := startStack(t, map[string]string{"QSGATE_EMBED_RATE": "2/h"})
	b := newBrowser(t)
	s.signIn(b, alice, "/")
	for i := range 2 {
		if p := b.get(s.url + "/embed/start"); p.status != 200 {
			t.Fatalf("view %d: %s", i+1, p)
		}
	}
	s.sim.Reset()
	p := b.get(s.url + "/embed/start")
	if p.status != 429 || !strings.Contains(p.body, "Slow down a little") {
		t.Errorf("third view: %s, want the 429 page\n%s", p, p.body)
	}
	if ra, err := strconv.Atoi(p.header.Get("Retry-After")); err != nil || ra < 60 || ra > 3600 {
		t.Errorf("Retry-After = %q, want the seconds until the next view (a minute to an hour)", p.header.Get("Retry-After"))
	}
	req, _ := http.NewRequest(http.MethodGet, s.url+"/embed/start", nil)
	req.Header.Set("Accept", "application/json")
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]string
	json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if resp.StatusCode != 429 || body["retry_after"] == "" || resp.Header.Get("Retry-After") == "" {
		t.Errorf("JSON client: %d %v, want 429 with retry_after", resp.StatusCode, body)
	}
	if n := len(s.sim.Calls()); n != 0 {
		t.Errorf("refused views made %d AWS calls, want 0", n)
	}
	other := newBrowser(t)
	if p := s.signIn(other, rita, "/embed/dashboards/x"); p.status == 429 {
		t.Errorf("another user was limited by alice's views")
	}
}

// The example settings file is valid once its two secrets are filled in.
func TestEnvExampleIsValid(t *testing.T) {
	env := map[string]string{"QSGATE_OIDC_CLIENT_SECRET": "s3cret", "QSGATE_SESSION_KEYS": strings.Repeat("k", 32), "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": "x"}
	var out strings.Builder
	err := run(t.Context(), []string{"check-config", "--env-file", ".env.example"}, func(k string) string { return env[k] }, &out, io.Discard)
	if err != nil || !strings.Contains(out.String(), "configuration is valid") {
		t.Fatalf("check-config .env.example: %v\n%s", err, out.String())
	}
}
