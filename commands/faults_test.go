package commands

import (
	"context"
	"maps"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/oauth2-proxy/mockoidc"

	"github.com/qsgate/qsgate/internal/devkit/demo"
	"github.com/qsgate/qsgate/internal/devkit/qssim"
)

// Faults below the API: for each, what the user sees, that the process
// stays healthy, and that it recovers by itself. docs/RELIABILITY.md
// lists them.

// healthyAfter checks the process is alive and a normal view works again.
func (s *stack) healthyAfter(t *testing.T, b *browser, fault string) {
	t.Helper()
	if got := httpStatus(s.url + "/healthz"); got != 200 {
		t.Errorf("%s: /healthz = %d, want 200", fault, got)
	}
	if p := b.get(s.url + "/embed/start"); p.status != 200 {
		t.Errorf("%s: no recovery, the next view is %s", fault, p)
	}
}

func TestQuickSightFaults(t *testing.T) {
	s := startStack(t, map[string]string{"QSGATE_AWS_TIMEOUT": "2s"})
	b := newBrowser(t)
	s.signIn(b, alice, "/")
	for _, tt := range []struct {
		name   string
		inject func()
		status int
		text   string
	}{
		{"burst of 5xx within the retries", func() { s.sim.FailNext(2, qssim.ErrInternalFailure) }, 200, ""},
		{"burst of 5xx past the retries", func() { s.sim.FailNext(20, qssim.ErrInternalFailure) }, 502, "QuickSight is unavailable"},
		{"malformed JSON", func() { s.sim.BreakNext(1, qssim.BreakMalformedJSON) }, 502, "QuickSight"},
		{"a TCP reset mid-answer, retried", func() { s.sim.BreakNext(1, qssim.BreakReset) }, 200, ""},
		{"TCP resets past the retries", func() { s.sim.BreakNext(20, qssim.BreakReset) }, 502, "QuickSight is unavailable"},
		{"slower than QSGATE_AWS_TIMEOUT", func() { s.sim.SetLatency(3e9) }, 504, "QuickSight did not answer in time"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.inject()
			p := b.get(s.url + "/embed/start")
			s.sim.ClearFaults()
			if p.status != tt.status || !strings.Contains(p.body, tt.text) {
				t.Errorf("view: %s, want %d %q\n%s", p, tt.status, tt.text, p.body)
			}
			if p.status >= 500 && strings.Contains(p.body, "goroutine") {
				t.Errorf("a stack trace reached the page")
			}
			s.healthyAfter(t, b, tt.name)
		})
	}
}

// QuickSight unreachable (the simulator stopped), then back on its address.
func TestQuickSightDown(t *testing.T) {
	s := startStack(t, nil)
	b := newBrowser(t)
	s.signIn(b, alice, "/")
	addr := strings.TrimPrefix(s.sim.URL(), "http://")
	s.sim.Close()
	p := b.get(s.url + "/embed/start")
	if p.status != 502 || !strings.Contains(p.body, "QuickSight is unavailable") {
		t.Errorf("QuickSight down: %s, want the 502 unavailable page", p)
	}
	back, err := qssim.StartAt(addr, qssim.Config{AccountID: testAccount})
	if err != nil {
		t.Fatalf("restart the simulator on %s: %v", addr, err)
	}
	t.Cleanup(func() { back.Close() })
	back.AddUser(qssim.User{UserName: "alice@example.com", Email: "alice@example.com", Role: "AUTHOR"})
	s.sim = back
	s.healthyAfter(t, b, "QuickSight back")
}

// The provider down while users have sessions: their embeds keep working
// (sessions need no provider).
func TestProviderDownWithSessions(t *testing.T) {
	s := startStack(t, nil)
	b := newBrowser(t)
	s.signIn(b, alice, "/")
	if err := s.idp.Shutdown(); err != nil {
		t.Fatal(err)
	}
	if p := b.get(s.url + "/embed/start"); p.status != 200 {
		t.Errorf("a signed-in view with the provider down: %s, want 200", p)
	}
	// A new sign-in is sent to the provider (its own page then fails in
	// the browser); the gateway answers no 5xx of its own.
	nb := newBrowser(t)
	if p := nb.do(nb.noFollow(), http.MethodGet, s.url+"/login", nil); p.status != 302 {
		t.Errorf("a new sign-in with the provider down: %s, want the redirect to the provider", p)
	}
}

// The provider down at start-up: alive, not ready; ready once it answers.
func TestProviderDownThenUp(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	idpAddr := ln.Addr().String()
	ln.Close() // nothing listens there yet
	addr := freeAddr(t)
	idp, err := mockoidc.NewServer(nil)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"QSGATE_LISTEN_ADDR": addr, "QSGATE_PUBLIC_URL": "http://" + addr,
		"QSGATE_OIDC_ISSUER": "http://" + idpAddr + "/oidc", "QSGATE_OIDC_CLIENT_ID": idp.ClientID, "QSGATE_OIDC_CLIENT_SECRET": idp.ClientSecret,
		"QSGATE_SESSION_KEYS": "test-session-key-0123456789abcdefghijkl", "QSGATE_QUICKSIGHT_ACCOUNT_ID": testAccount,
		"AWS_REGION": "us-east-1", "QSGATE_SHUTDOWN_GRACE": "1s", "QSGATE_AWS_TIMEOUT": "1s",
	}
	base, logs := serveUntilEnd(t, env)
	if got := httpStatus(base + "/readyz"); got != http.StatusServiceUnavailable {
		t.Errorf("/readyz = %d with the provider down, want 503", got)
	}
	ln, err = net.Listen("tcp", idpAddr)
	if err != nil {
		t.Skipf("the provider's port was taken meanwhile: %v", err)
	}
	if err := idp.Start(ln, nil); err != nil {
		t.Fatal(err)
	}
	defer idp.Shutdown()
	if !waitFor(func() bool { return httpStatus(base+"/readyz") == 200 }) {
		t.Errorf("/readyz never recovered once the provider answered\n%s", logs)
	}
}

// The provider rotates its signing key: the next sign-in's ID token has a
// key id the gateway has not seen; it fetches the JWKS once more and signs
// the user in; later sign-ins use the cached keys again.
func TestProviderKeyRotation(t *testing.T) {
	addr := freeAddr(t)
	base := "http://" + addr
	st, err := demo.Start(demo.Options{PublicURL: base})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	settings := maps.Clone(st.Settings)
	settings["QSGATE_LISTEN_ADDR"] = addr
	ctx, cancel := context.WithCancel(context.Background())
	logs := &syncBuffer{}
	g, err := build(ctx, func(k string) string { return settings[k] }, logs)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- g.serve(ctx) }()
	defer func() { cancel(); <-done }()
	if !waitFor(func() bool { return httpStatus(base+"/readyz") == 200 }) {
		t.Fatalf("not ready:\n%s", logs)
	}
	signIn := func(user string) {
		t.Helper()
		if p := demoSignIn(t, newBrowser(t), base, "/", user); p.status != 200 || p.url != base+"/" {
			t.Fatalf("%s's sign-in: %s\n%s", user, p, logs)
		}
	}
	signIn("alice")
	signIn("adam")
	before := st.ProviderRequests("/keys")
	if before != 1 {
		t.Errorf("JWKS fetched %d times for two sign-ins, want once", before)
	}
	if err := st.RotateProviderKey(); err != nil {
		t.Fatal(err)
	}
	signIn("rita")
	signIn("nora")
	if got := st.ProviderRequests("/keys"); got != before+1 {
		t.Errorf("JWKS fetched %d more times after the rotation, want exactly 1", got-before)
	}
}
