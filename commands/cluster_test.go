package commands

import (
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/oauth2-proxy/mockoidc"

	"github.com/qsgate/qsgate/internal/devkit/qssim"
	"github.com/qsgate/qsgate/internal/devkit/redistest"
)

// startTwin runs a second gateway with s's settings (same provider,
// simulator, keys and Redis) on its own port, until the test ends, and
// returns its URL. A browser's cookies go to both: same host, other port.
func startTwin(t *testing.T, s *stack) string {
	t.Helper()
	addr := freeAddr(t)
	env := maps.Clone(s.env)
	env["QSGATE_LISTEN_ADDR"] = addr
	env["QSGATE_PUBLIC_URL"] = "http://" + addr
	url, logs := serveUntilEnd(t, env)
	if !waitFor(func() bool { return httpStatus(url+"/readyz") == 200 }) {
		t.Fatalf("the twin never became ready:\n%s", logs)
	}
	return url
}

// With Redis, two instances hold one per-user view limit and one AWS call
// budget, counted by the simulator.
func TestClusterWideLimits(t *testing.T) {
	r := redistest.Start(t)
	s := startStack(t, map[string]string{"QSGATE_REDIS_URL": r.URL(), "QSGATE_EMBED_RATE": "3/h"})
	twin := startTwin(t, s)
	b := newBrowser(t)
	s.signIn(b, alice, "/")
	for i, base := range []string{s.url, twin, s.url} {
		if p := b.get(base + "/embed/start"); p.status != 200 {
			t.Fatalf("view %d: %s", i+1, p)
		}
	}
	if p := b.get(twin + "/embed/start"); p.status != 429 {
		t.Errorf("fourth view on the other instance: %s, want 429 (one limit for the cluster)", p)
	}
}

func TestClusterWideBudget(t *testing.T) {
	r := redistest.Start(t)
	s := startStack(t, map[string]string{"QSGATE_REDIS_URL": r.URL(), "QSGATE_QUICKSIGHT_MAX_RPS": "2", "QSGATE_AWS_TIMEOUT": "1s", "QSGATE_SHUTDOWN_GRACE": "10s"})
	twin := startTwin(t, s)
	const views = 12
	browsers := make([]*browser, views)
	for i := range browsers {
		email := fmt.Sprintf("crowd%02d@example.com", i)
		s.sim.AddUser(qssim.User{UserName: email, Email: email, Role: "AUTHOR"})
		browsers[i] = newBrowser(t)
		s.signIn(browsers[i], mockUser(email), "/")
	}
	s.sim.Reset()
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, b := range browsers {
		base := []string{s.url, twin}[i%2]
		wg.Go(func() {
			<-start
			b.get(base + "/embed/start")
		})
	}
	close(start)
	wg.Wait()
	// One budget of 2 a second (burst 2) for ~0.75 s of waiting: about 3
	// calls; two budgets would let about 7 through.
	if n := len(embedCalls(s.sim)); n < 1 || n > 5 {
		t.Errorf("QuickSight saw %d embed calls from two instances, want the one budget's 1-5", n)
	}
}

// Redis down: the instance is not ready and its limits fall back to its
// own; Redis back: ready again, by itself.
func TestRedisOutage(t *testing.T) {
	r := redistest.Start(t)
	s := startStack(t, map[string]string{"QSGATE_REDIS_URL": r.URL(), "QSGATE_METRICS_ADDR": freeAddr(t)})
	b := newBrowser(t)
	s.signIn(b, alice, "/")
	r.Stop()
	if !waitFor(func() bool { return httpStatus(s.url+"/readyz") == 503 }) {
		t.Fatal("/readyz stayed 200 with Redis down")
	}
	if p := b.get(s.url + "/embed/start"); p.status != 200 {
		t.Errorf("a view with Redis down (cookie sessions, local limits): %s", p)
	}
	metrics := httpBody(t, "http://"+s.env["QSGATE_METRICS_ADDR"]+"/metrics")
	if !strings.Contains(metrics, "qsgate_redis_up 0") || strings.Contains(metrics, "qsgate_limit_fallbacks_total 0") {
		t.Errorf("metrics do not say Redis is down and limits fell back:\n%s", grepLines(metrics, "qsgate_redis_up", "qsgate_limit_fallbacks"))
	}
	r.Restart()
	if !waitFor(func() bool { return httpStatus(s.url+"/readyz") == 200 }) {
		t.Fatal("/readyz did not recover when Redis came back")
	}
}

func mockUser(email string) *mockoidc.MockUser {
	return &mockoidc.MockUser{Subject: "sub-" + email, Email: email, EmailVerified: true}
}

func httpBody(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return string(data)
}

// grepLines is the lines of text that start with one of the prefixes.
func grepLines(text string, prefixes ...string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		for _, p := range prefixes {
			if strings.HasPrefix(l, p) {
				out = append(out, l)
			}
		}
	}
	return strings.Join(out, "\n")
}

// The Redis session store across two instances: signing out on one ends a
// copied cookie on the other at once; an operator's revoke ends a user's
// sessions; Redis down gives the 503 page (never a 500, never let
// through), and everything recovers by itself.
func TestRedisSessions(t *testing.T) {
	r := redistest.Start(t)
	s := startStack(t, map[string]string{"QSGATE_REDIS_URL": r.URL(), "QSGATE_SESSION_STORE": "redis"})
	twin := startTwin(t, s)

	b := newBrowser(t)
	s.signIn(b, alice, "/")
	thief := newBrowser(t)
	u, _ := url.Parse(s.url)
	thief.c.Jar.SetCookies(u, b.c.Jar.Cookies(u))
	if p := thief.get(twin + "/embed/start"); p.status != 200 {
		t.Fatalf("the copied cookie on the other instance before sign-out: %s", p)
	}
	home := b.get(s.url + "/")
	csrf := regexp.MustCompile(`name="_csrf" value="([^"]+)"`).FindStringSubmatch(home.body)
	if csrf == nil {
		t.Fatal("no CSRF token on the home page")
	}
	b.do(b.noFollow(), http.MethodPost, s.url+"/logout", url.Values{"_csrf": {csrf[1]}})
	if p := thief.do(thief.noFollow(), http.MethodGet, twin+"/embed/start", nil); p.status != 302 {
		t.Errorf("the copied cookie after sign-out: %s, want a redirect to sign in", p)
	}

	// An operator ends rita's sessions with the command.
	rb := newBrowser(t)
	s.signIn(rb, rita, "/")
	var out strings.Builder
	env := s.env
	if err := Run(t.Context(), "dev", []string{"sessions", "list", "--email", "rita@example.com", "--env-file", "/dev/null"}, func(k string) string { return env[k] }, &out, io.Discard); err != nil || !strings.Contains(out.String(), "rita@example.com") {
		t.Errorf("sessions list: %v\n%s", err, out.String())
	}
	out.Reset()
	if err := Run(t.Context(), "dev", []string{"sessions", "revoke", "--email", "rita@example.com", "--env-file", "/dev/null"}, func(k string) string { return env[k] }, &out, io.Discard); err != nil || !strings.Contains(out.String(), "ended 1 session") {
		t.Errorf("sessions revoke: %v\n%s", err, out.String())
	}
	if p := rb.do(rb.noFollow(), http.MethodGet, twin+"/", nil); p.status != 302 {
		t.Errorf("rita after revoke: %s, want a redirect to sign in", p)
	}

	// Redis down: 503 "Sign-in is temporarily unavailable", then back.
	cb := newBrowser(t)
	s.signIn(cb, alice, "/")
	r.Stop()
	p := cb.get(s.url + "/embed/start")
	if p.status != 503 || !strings.Contains(p.body, "Sign-in is temporarily unavailable") || p.header.Get("Retry-After") == "" {
		t.Errorf("Redis down: %s, want the 503 page with Retry-After\n%s", p, p.body)
	}
	r.Restart()
	if !waitFor(func() bool { return httpStatus(s.url+"/readyz") == 200 }) {
		t.Fatal("not ready again after Redis came back")
	}
	// The restarted Redis kept nothing (no persistence): signed out, not an error.
	if p := cb.do(cb.noFollow(), http.MethodGet, s.url+"/embed/start", nil); p.status != 302 {
		t.Errorf("after Redis came back empty: %s, want a redirect to sign in", p)
	}
	if p := s.signIn(newBrowser(t), alice, "/embed/start"); p.status != 200 {
		t.Errorf("a new sign-in after Redis came back: %s", p)
	}
}

// With the cookie store the sessions command says why it cannot work.
func TestSessionsCommandCookieStore(t *testing.T) {
	s := startStack(t, nil)
	env := s.env
	err := Run(t.Context(), "dev", []string{"sessions", "revoke", "--email", "a@example.com", "--env-file", "/dev/null"}, func(k string) string { return env[k] }, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "QSGATE_SESSION_STORE=redis") {
		t.Errorf("revoke with the cookie store: %v, want an explanation naming QSGATE_SESSION_STORE=redis", err)
	}
	for _, args := range [][]string{{"sessions"}, {"sessions", "drop"}, {"sessions", "revoke"}, {"sessions", "list"}, {"serve", "--email", "x"}} {
		if err := Run(t.Context(), "dev", append(args, "--env-file", "/dev/null"), func(k string) string { return env[k] }, io.Discard, io.Discard); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}

// Redis down at start-up: the gateway starts, is alive but not ready, and
// becomes ready by itself when Redis answers.
func TestRedisDownAtStartup(t *testing.T) {
	r := redistest.Start(t)
	s := startStack(t, nil)
	r.Stop()
	addr := freeAddr(t)
	env := maps.Clone(s.env)
	env["QSGATE_LISTEN_ADDR"], env["QSGATE_PUBLIC_URL"] = addr, "http://"+addr
	env["QSGATE_REDIS_URL"], env["QSGATE_SESSION_STORE"] = r.URL(), "redis"
	base, logs := serveUntilEnd(t, env) // starts with Redis down
	if got := httpStatus(base + "/readyz"); got != 503 {
		t.Errorf("/readyz = %d with Redis down, want 503", got)
	}
	r.Restart()
	if !waitFor(func() bool { return httpStatus(base+"/readyz") == 200 }) {
		t.Errorf("/readyz never recovered when Redis came up:\n%s", logs)
	}
}

// `qsgate sessions list` shows what the provider sent in a way a terminal
// cannot act on: a subject or name with control characters is printed
// quoted and escaped.
func TestSessionsListEscapesControlCharacters(t *testing.T) {
	r := redistest.Start(t)
	s := startStack(t, map[string]string{"QSGATE_REDIS_URL": r.URL(), "QSGATE_SESSION_STORE": "redis"})
	evil := &mockoidc.MockUser{Subject: "sub-\x1b]0;owned\x07\x1b[2J", Email: "alice@example.com", EmailVerified: true}
	s.signIn(newBrowser(t), evil, "/")
	var out strings.Builder
	env := s.env
	if err := Run(t.Context(), "dev", []string{"sessions", "list", "--email", "alice@example.com", "--env-file", "/dev/null"}, func(k string) string { return env[k] }, &out, io.Discard); err != nil {
		t.Fatalf("sessions list: %v", err)
	}
	if strings.ContainsAny(out.String(), "\x1b\x07") {
		t.Errorf("sessions list printed control characters: %q", out.String())
	}
	if !strings.Contains(out.String(), `"sub-\x1b]0;owned\a\x1b[2J"`) {
		t.Errorf("sessions list does not show the subject escaped: %q", out.String())
	}
}
