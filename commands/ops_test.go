package commands

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/oauth2-proxy/mockoidc"

	"github.com/qsgate/qsgate/internal/devkit/qssim"
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
	// --env-file may come before or after the command.
	for _, args := range [][]string{{"check-config", "--env-file", "../.env.example"}, {"--env-file", "../.env.example", "check-config"}} {
		out.Reset()
		err := Run(t.Context(), "dev", args, func(k string) string { return env[k] }, &out, io.Discard)
		if err != nil || !strings.Contains(out.String(), "configuration is valid") {
			t.Fatalf("qsgate %s: %v\n%s", strings.Join(args, " "), err, out.String())
		}
	}
}

// serve says which settings file it read, or that it read none, both in
// check-config and in its start-up log line.
func TestEnvFileNamed(t *testing.T) {
	s := startStack(t, nil)
	if !strings.Contains(s.logs.String(), "env_file=") || !strings.Contains(s.logs.String(), "empty.env") {
		t.Errorf("the start-up line does not name the env file:\n%s", s.logs)
	}
	t.Chdir(t.TempDir()) // no .env here
	env := maps.Clone(s.env)
	var out strings.Builder
	if err := Run(t.Context(), "dev", []string{"check-config"}, func(k string) string { return env[k] }, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "(none: the environment only)") {
		t.Errorf("check-config without a .env does not say so:\n%s", out.String())
	}
}

// `qsgate healthcheck` exits 0 for a live gateway and 1 otherwise.
func TestHealthcheckCommand(t *testing.T) {
	s := startStack(t, nil)
	_, port, _ := net.SplitHostPort(s.env["QSGATE_LISTEN_ADDR"])
	for _, tt := range []struct {
		addr    string
		healthy bool
	}{
		{s.env["QSGATE_LISTEN_ADDR"], true},
		{":" + port, true},        // every interface: asked on loopback
		{"0.0.0.0:" + port, true}, //
		{freeAddr(t), false},      // nothing listens
		{"not-an-address", false}, //
	} {
		env := map[string]string{"QSGATE_LISTEN_ADDR": tt.addr}
		var out strings.Builder
		err := Run(t.Context(), "dev", []string{"healthcheck", "--env-file", "/dev/null"}, func(k string) string { return env[k] }, &out, io.Discard)
		if (err == nil) != tt.healthy {
			t.Errorf("healthcheck on %q: %v, want healthy = %v", tt.addr, err, tt.healthy)
		}
	}
}

// The production build leaves the demo, its provider and the simulator
// out, and its demo command says so.
func TestProductionBuild(t *testing.T) {
	out, err := exec.Command("go", "list", "-tags", "production", "-deps", "github.com/qsgate/qsgate").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, pkg := range []string{"github.com/qsgate/qsgate/internal/devkit", "github.com/zitadel/oidc"} {
		if strings.Contains(string(out), pkg) {
			t.Errorf("the production build includes %s", pkg)
		}
	}
	bin := filepath.Join(t.TempDir(), "qsgate")
	if out, err := exec.Command("go", "build", "-tags", "production", "-o", bin, "github.com/qsgate/qsgate").CombinedOutput(); err != nil {
		t.Fatalf("go build -tags production: %v\n%s", err, out)
	}
	out, err = exec.Command(bin, "demo").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "not built into this binary") {
		t.Errorf("production demo: %v\n%s", err, out)
	}
}

// SIGHUP reads the user map file again; a bad file keeps the old contents
// and the log names its line.
func TestReloadMapFileOnSIGHUP(t *testing.T) {
	path := filepath.Join(t.TempDir(), "users.csv")
	write := func(body string) {
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("alice@example.com," + arnOf("alice@example.com") + "\n")
	s := startStack(t, map[string]string{"QSGATE_USER_MAPPING": "file", "QSGATE_USER_MAP_FILE": path})
	carol := &mockoidc.MockUser{Subject: "sub-carol", Email: "carol@example.com", EmailVerified: true}
	s.sim.AddUser(qssim.User{UserName: "carol", Email: "carol@example.com", Role: "AUTHOR"})
	b := newBrowser(t)
	if p := s.signIn(b, carol, "/embed/start"); p.status != 403 {
		t.Fatalf("carol before the reload: %s, want 403", p)
	}
	hup := func(want string) {
		t.Helper()
		before := strings.Count(s.logs.String(), want)
		if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		if !waitFor(func() bool { return strings.Count(s.logs.String(), want) > before }) {
			t.Fatalf("no %q in the log after SIGHUP:\n%s", want, s.logs)
		}
	}
	write("alice@example.com," + arnOf("alice@example.com") + "\ncarol@example.com," + arnOf("carol") + "\n")
	hup("user map file reloaded")
	if p := b.get(s.url + "/embed/start"); p.status != 200 {
		t.Errorf("carol after the reload: %s, want 200", p)
	}
	write("alice@example.com,not-an-arn\n")
	hup("keeping the previous contents")
	if !strings.Contains(s.logs.String(), "line 1") {
		t.Errorf("the log does not name the bad line:\n%s", s.logs)
	}
	if p := b.get(s.url + "/embed/start"); p.status != 200 {
		t.Errorf("carol after a bad reload: %s, want 200 (old contents kept)", p)
	}
}

// A 9 a.m. crowd: 200 people open QuickSight at once. Every view ends in
// the console or the 503 page that retries by itself, never another 5xx,
// and the gateway's budget keeps QuickSight under its rate (the simulator
// throttles above it).
func TestBurstOfFirstViews(t *testing.T) {
	const users, rps = 200, 20
	for _, tt := range []struct {
		name     string
		simLimit int // the account's rate at QuickSight
		budget   int // QSGATE_QUICKSIGHT_MAX_RPS
	}{
		{"budget below QuickSight's rate", 25, rps},
		{"budget above it: QuickSight throttles", 10, 100},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := startStack(t, map[string]string{
				"QSGATE_QUICKSIGHT_MAX_RPS": strconv.Itoa(tt.budget), "QSGATE_QUICKSIGHT_MAX_INFLIGHT": "10",
				"QSGATE_AWS_TIMEOUT": "2s", "QSGATE_SHUTDOWN_GRACE": "10s", // room for connections the crowd opened and never used
			})
			browsers := make([]*browser, users)
			for i := range browsers {
				email := fmt.Sprintf("user%03d@example.com", i)
				s.sim.AddUser(qssim.User{UserName: email, Email: email, Role: "AUTHOR"})
				browsers[i] = newBrowser(t)
				if p := s.signIn(browsers[i], &mockoidc.MockUser{Subject: "sub-" + email, Email: email, EmailVerified: true}, "/"); p.status != 200 {
					t.Fatalf("sign-in %d: %s", i, p)
				}
			}
			s.sim.Reset()
			s.sim.SetRateLimit(tt.simLimit)
			statuses := make([]page, users)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i, b := range browsers {
				wg.Go(func() {
					<-start
					statuses[i] = b.get(s.url + "/embed/start")
				})
			}
			close(start)
			wg.Wait()
			count := map[int]int{}
			for _, p := range statuses {
				count[p.status]++
				switch p.status {
				case 200:
				case 503:
					if p.header.Get("Retry-After") == "" || !strings.Contains(p.body, "QuickSight is busy") {
						t.Errorf("a 503 without Retry-After or the busy page:\n%s", p.body)
					}
				default:
					t.Errorf("a view ended in %d:\n%s", p.status, p.body)
				}
			}
			throttled := 0
			for _, c := range s.sim.Calls() {
				if c.ErrorCode == qssim.ErrThrottling {
					throttled++
				}
			}
			t.Logf("views: %v; QuickSight calls per second: %v; throttled by QuickSight: %d", count, s.sim.CallsPerSecond(), throttled)
			if count[200] == 0 {
				t.Errorf("no view reached the console")
			}
			if tt.budget < tt.simLimit {
				// A token bucket lets a burst of one second's worth plus the
				// refill through within one clock second.
				for sec, n := range s.sim.CallsPerSecond() {
					if n > 2*tt.budget {
						t.Errorf("second %d: QuickSight saw %d calls, want at most %d", sec, n, 2*tt.budget)
					}
				}
				if throttled > 0 {
					t.Errorf("QuickSight throttled %d calls although the budget is below its rate", throttled)
				}
			}
		})
	}
}

// Discovery and the provider's keys are fetched once, not per sign-in:
// 100 sign-ins cost the provider one discovery and one JWKS request.
func TestSignInCostAtTheProvider(t *testing.T) {
	var mu sync.Mutex
	hits := map[string]int{}
	count := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			hits[r.URL.Path]++
			mu.Unlock()
			next.ServeHTTP(w, r)
		})
	}
	s := startStack(t, noSignInLimits, count)
	const signIns = 100
	for i := range signIns {
		if p := s.signIn(newBrowser(t), alice, "/"); p.status != 200 {
			t.Fatalf("sign-in %d: %s", i, p)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	discovery, jwks, token := hits[mockoidc.DiscoveryEndpoint], hits[mockoidc.JWKSEndpoint], hits[mockoidc.TokenEndpoint]
	t.Logf("provider requests over %d sign-ins: %v", signIns, hits)
	// x/oauth2 learns the provider's client authentication style on the
	// first exchange, which may cost one extra token request.
	if discovery != 1 || jwks != 1 || token < signIns || token > signIns+1 {
		t.Errorf("discovery %d, JWKS %d, token %d over %d sign-ins; want 1, 1 and one token exchange each", discovery, jwks, token, signIns)
	}
}

// TestProviderConnectionsReused: sign-ins in waves of many at once reuse
// the gateway's connections to the provider's back channel (token,
// userinfo, keys) instead of opening new ones each wave (Go's default
// keeps two idle connections per host: a 9 a.m. crowd would cost a TLS
// handshake per sign-in). Distinct client ports seen by the provider are
// distinct connections.
func TestProviderConnectionsReused(t *testing.T) {
	var mu sync.Mutex
	backChannel := map[string]bool{}
	// mockoidc's session store is not safe for concurrent requests: the
	// provider answers one at a time (the gateway's requests still overlap,
	// each holding its connection while it waits).
	record := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			defer mu.Unlock()
			switch r.URL.Path {
			case mockoidc.TokenEndpoint, mockoidc.UserinfoEndpoint, mockoidc.JWKSEndpoint, mockoidc.DiscoveryEndpoint:
				backChannel[r.RemoteAddr] = true
			}
			next.ServeHTTP(w, r)
		})
	}
	s := startStack(t, noSignInLimits, record)
	// The test's browsers share Go's default transport; close what they
	// leave idle before the provider shuts down, or it waits for them.
	t.Cleanup(http.DefaultTransport.(*http.Transport).CloseIdleConnections)
	const waves, atOnce = 3, 12
	for w := range waves {
		var wg sync.WaitGroup
		for i := range atOnce {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if p := s.signIn(newBrowser(t), alice, "/"); p.status != 200 {
					t.Errorf("wave %d, sign-in %d: %s", w, i, p)
				}
			}()
		}
		wg.Wait()
	}
	mu.Lock()
	defer mu.Unlock()
	t.Logf("%d sign-ins, %d at once: %d connections to the provider's back channel", waves*atOnce, atOnce, len(backChannel))
	if len(backChannel) > atOnce+4 {
		t.Errorf("%d connections for %d waves of %d sign-ins; want about %d (one per sign-in at once, reused by the next waves)", len(backChannel), waves, atOnce, atOnce)
	}
}
