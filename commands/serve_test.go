package commands

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/qsgate/qsgate/internal/devkit/qssim"
)

// The whole flow: sign in, land on the page asked for, the iframe shows the
// simulator's URL, two views give two URLs and two AWS calls with the right
// account, entry point, lifetime and user ARN.
func TestSignInAndEmbed(t *testing.T) {
	s := startStack(t, nil)
	b := newBrowser(t)

	p := s.signIn(b, alice, "/embed/dashboards/sales-2024")
	if p.status != 200 || p.url != s.url+"/embed/dashboards/sales-2024" {
		t.Fatalf("after sign-in got %s, want 200 %s/embed/dashboards/sales-2024\n%s", p, s.url, p.body)
	}
	first := iframeSrc(t, p)
	if !strings.HasPrefix(first, s.sim.URL()+"/embed/") || !strings.Contains(first, "/dashboards/sales-2024?") {
		t.Errorf("iframe src = %q, want a simulator embed URL for /dashboards/sales-2024", first)
	}
	second := iframeSrc(t, b.get(s.url+"/embed/dashboards/sales-2024"))
	if second == first {
		t.Errorf("two views gave the same embed URL %q; it must be fresh every time", first)
	}

	calls := embedCalls(s.sim)
	if len(calls) != 2 {
		t.Fatalf("GetSessionEmbedUrl calls = %d, want 2", len(calls))
	}
	for _, c := range calls {
		if c.AccountID != testAccount || c.EntryPoint != "/dashboards/sales-2024" || c.SessionLifetime != 60 || c.UserArn != arnOf("alice@example.com") {
			t.Errorf("call = %+v, want account %s, entry point /dashboards/sales-2024, lifetime 60, user %s", c, testAccount, arnOf("alice@example.com"))
		}
	}

	// The embed URL opens once in the simulator, for alice, then never again.
	resp, err := http.Get(first)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), arnOf("alice@example.com")) {
		t.Errorf("opening the embed URL: %d, want 200 naming alice", resp.StatusCode)
	}
	resp, err = http.Get(first)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == 200 {
		t.Errorf("the embed URL opened twice")
	}
}

func TestEmbedPageHeaders(t *testing.T) {
	s := startStack(t, nil)
	b := newBrowser(t)
	p := s.signIn(b, alice, "/embed/start")
	if p.status != 200 {
		t.Fatalf("got %s, want 200", p)
	}
	for name, want := range map[string]string{
		"Cache-Control":              "no-store",
		"Referrer-Policy":            "no-referrer",
		"X-Content-Type-Options":     "nosniff",
		"Cross-Origin-Opener-Policy": "same-origin-allow-popups",
	} {
		if got := p.header.Get(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	csp := p.header.Get("Content-Security-Policy")
	for _, want := range []string{"frame-src " + s.sim.URL(), "frame-ancestors 'self'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("Content-Security-Policy = %q, want it to contain %q", csp, want)
		}
	}
}

func TestEntryPoints(t *testing.T) {
	s := startStack(t, nil)
	b := newBrowser(t)
	s.signIn(b, alice, "/")
	for path, want := range map[string]string{
		"/embed/start":            "/start",
		"/embed/start/analyses":   "/start/analyses",
		"/embed/start/dashboards": "/start/dashboards",
		"/embed/start/favorites":  "/start/favorites",
		"/embed/dashboards/d-1":   "/dashboards/d-1",
		"/embed/analyses/A_2":     "/analyses/A_2",
	} {
		s.sim.Reset()
		p := b.get(s.url + path)
		if p.status != 200 {
			t.Errorf("GET %s = %d, want 200", path, p.status)
			continue
		}
		calls := embedCalls(s.sim)
		if len(calls) != 1 || calls[0].EntryPoint != want {
			t.Errorf("GET %s: calls %+v, want one with entry point %s", path, calls, want)
		}
	}
}

// Bad ids and unknown paths get a 4xx page and no AWS call.
func TestBadEntryPoints(t *testing.T) {
	s := startStack(t, nil)
	b := newBrowser(t)
	s.signIn(b, alice, "/")
	s.sim.Reset()
	long := strings.Repeat("a", 513)
	for _, path := range []string{
		"/embed/dashboards/..%2Fanalyses%2Fx",
		"/embed/dashboards/a%2Fb",
		"/embed/dashboards/a%2fb",
		"/embed/dashboards/a%3Fb",
		"/embed/dashboards/a%23b",
		"/embed/dashboards/a%20b",
		"/embed/dashboards/%C3%A9t%C3%A9",
		"/embed/dashboards/a.b",
		"/embed/dashboards/" + long,
		"/embed/dashboards/a/b",
		"/embed/dashboards/",
		"/embed/analyses/..",
		"/embed/start/other",
		"/embed/users/x",
		"/embed/",
		"/embed",
		"/open?kind=dashboards&id=..%2Fx",
		"/open?kind=users&id=x",
	} {
		p := b.do(b.noFollow(), http.MethodGet, s.url+path, nil)
		if p.status < 400 || p.status > 499 {
			t.Errorf("GET %s = %d, want 4xx", path, p.status)
		}
		if strings.Contains(p.body, "goroutine") || strings.Contains(p.body, "Internal Server Error") {
			t.Errorf("GET %s shows internals:\n%s", path, p.body)
		}
	}
	if n := len(s.sim.Calls()); n != 0 {
		t.Errorf("AWS calls = %d after bad requests, want 0: %+v", n, s.sim.Calls())
	}
}

func TestOpenByID(t *testing.T) {
	s := startStack(t, nil)
	b := newBrowser(t)
	s.signIn(b, alice, "/")
	p := b.get(s.url + "/open?kind=analyses&id=q3-review")
	if p.status != 200 || p.url != s.url+"/embed/analyses/q3-review" {
		t.Fatalf("open by id: %s, want 200 at /embed/analyses/q3-review", p)
	}
}

func TestHomePage(t *testing.T) {
	s := startStack(t, nil)
	b := newBrowser(t)
	p := s.signIn(b, alice, "/")
	if p.status != 200 || p.url != s.url+"/" {
		t.Fatalf("home: %s", p)
	}
	for _, want := range []string{"alice@example.com", arnOf("alice@example.com"), `href="/embed/start"`, `href="/embed/start/analyses"`,
		`href="/embed/start/dashboards"`, `href="/embed/start/favorites"`, `action="/open"`, `action="/logout"`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("home page lacks %q", want)
		}
	}
	// The first view lists what alice may open; a warm one makes no call.
	if got := callCounts(s.sim); got["SearchDashboards"] != 1 || got["SearchAnalyses"] != 1 || len(got) != 2 {
		t.Errorf("first home view calls = %v, want one SearchDashboards and one SearchAnalyses", got)
	}
	s.sim.Reset()
	if p := b.get(s.url + "/"); p.status != 200 {
		t.Fatalf("home again: %s", p)
	}
	if n := len(s.sim.Calls()); n != 0 {
		t.Errorf("a warm home page made %d AWS calls, want 0", n)
	}
}

// The nine errors of the seed, and the reader, each give their status and
// page; no page shows AWS's own text.
func TestQuickSightErrors(t *testing.T) {
	// The SDK's standard retryer backs off up to ~6 s over its three
	// attempts: the timeout must not cut the retries short.
	s := startStack(t, map[string]string{"QSGATE_AWS_TIMEOUT": "60s", "QSGATE_SHUTDOWN_GRACE": "60s"})
	b := newBrowser(t)
	s.signIn(b, alice, "/")
	tests := []struct {
		code       string
		status     int
		title      string
		retryAfter bool
		attempts   int // the SDK retries throttling and internal failures
	}{
		{"QuickSightUserNotFoundException", 403, "You have no QuickSight user yet", false, 1},
		{"ResourceNotFoundException", 404, "Not found in QuickSight", false, 1},
		{"ThrottlingException", 503, "QuickSight is busy", true, 3},
		{"AccessDeniedException", 502, "QuickSight refused the portal", false, 1},
		{"InternalFailureException", 502, "QuickSight is unavailable", false, 3},
		{"UnsupportedUserEditionException", 502, "QuickSight console embedding is not available", false, 1},
		{"ResourceExistsException", 502, "QuickSight could not open this page", false, 1},
		{"InvalidParameterValueException", 502, "QuickSight could not open this page", false, 1},
		{"SessionLifetimeInMinutesInvalidException", 502, "QuickSight could not open this page", false, 1},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			s.sim.Reset()
			s.sim.FailUser(arnOf("alice@example.com"), tt.code)
			p := b.get(s.url + "/embed/dashboards/d1")
			if p.status != tt.status {
				t.Errorf("status = %d, want %d", p.status, tt.status)
			}
			if !strings.Contains(p.body, tt.title) {
				t.Errorf("page lacks %q:\n%s", tt.title, p.body)
			}
			if got := p.header.Get("Retry-After") != ""; got != tt.retryAfter {
				t.Errorf("Retry-After present = %v, want %v", got, tt.retryAfter)
			}
			if strings.Contains(p.body, tt.code) || strings.Contains(p.body, "qssim") {
				t.Errorf("page shows AWS error text:\n%s", p.body)
			}
			if !strings.Contains(s.logs.String(), "aws_error="+tt.code) {
				t.Errorf("no log line with aws_error=%s", tt.code)
			}
			if got := len(embedCalls(s.sim)); got != tt.attempts {
				t.Errorf("GetSessionEmbedUrl attempts = %d, want %d", got, tt.attempts)
			}
		})
	}
	s.sim.ClearFaults()
}

func TestReaderAndUnknownUsers(t *testing.T) {
	s := startStack(t, nil)

	reader := newBrowser(t)
	p := s.signIn(reader, rita, "/embed/start")
	if p.status != 403 || !strings.Contains(p.body, "An author or admin role is needed") {
		t.Errorf("reader: %s, want 403 saying an author or admin role is needed\n%s", p, p.body)
	}

	unknown := newBrowser(t)
	p = s.signIn(unknown, nobby, "/embed/start")
	if p.status != 403 || !strings.Contains(p.body, "You have no QuickSight user yet") {
		t.Errorf("user without QuickSight account: %s, want 403 'no QuickSight user yet'\n%s", p, p.body)
	}
}

// A user the mapping cannot place gets a 403 and no AWS call is made.
func TestNoMappingMakesNoAWSCall(t *testing.T) {
	s := startStack(t, map[string]string{"QSGATE_USER_ARN_TEMPLATE": "arn:aws:quicksight:{identity_region}:{account_id}:user/{namespace}/{claim:employee_id}",
		"QSGATE_TRUST_EDITABLE_CLAIMS": "true"})
	if !strings.Contains(s.logs.String(), "QSGATE_TRUST_EDITABLE_CLAIMS=true: the ARN template reads employee_id") {
		t.Errorf("start-up does not warn that the template reads a claim users may edit:\n%s", s.logs)
	}
	b := newBrowser(t)
	p := s.signIn(b, alice, "/embed/start")
	if p.status != 403 || !strings.Contains(p.body, "No QuickSight user for your account") {
		t.Errorf("unmapped user: %s, want 403\n%s", p, p.body)
	}
	if n := len(s.sim.Calls()); n != 0 {
		t.Errorf("AWS calls = %d, want 0", n)
	}
}

func TestTimeoutIs504(t *testing.T) {
	s := startStack(t, map[string]string{"QSGATE_AWS_TIMEOUT": "1s"})
	b := newBrowser(t)
	s.signIn(b, alice, "/")
	s.sim.SetLatency(10 * time.Second)
	defer s.sim.SetLatency(0)
	p := b.get(s.url + "/embed/start")
	if p.status != 504 || !strings.Contains(p.body, "QuickSight did not answer in time") {
		t.Errorf("slow QuickSight: %s, want 504\n%s", p, p.body)
	}
}

func TestSignedOutRequests(t *testing.T) {
	s := startStack(t, nil)
	b := newBrowser(t)

	// A page redirects to sign-in, keeping the page to come back to.
	p := b.do(b.noFollow(), http.MethodGet, s.url+"/embed/analyses/x1", nil)
	if p.status != 302 || p.header.Get("Location") != s.url+"/login?rd=%2Fembed%2Fanalyses%2Fx1" {
		t.Errorf("signed-out page: %d Location %q, want 302 to /login?rd=...", p.status, p.header.Get("Location"))
	}
	// A JSON-only client gets 401.
	req, _ := http.NewRequest(http.MethodGet, s.url+"/embed/start", nil)
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("JSON-only signed-out request = %d, want 401", resp.StatusCode)
	}
	// A garbage session cookie is "signed out", not a 500.
	u, _ := url.Parse(s.url)
	b.c.Jar.SetCookies(u, []*http.Cookie{{Name: "qsgate_session", Value: "garbage-" + strings.Repeat("x", 100)}})
	p = b.do(b.noFollow(), http.MethodGet, s.url+"/", nil)
	if p.status != 302 {
		t.Errorf("tampered cookie: %d, want 302 to sign-in", p.status)
	}
}

var jwtRE = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.`)

var csrfRE = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

func TestLogout(t *testing.T) {
	s := startStack(t, nil)
	b := newBrowser(t)
	home := s.signIn(b, alice, "/")
	m := csrfRE.FindStringSubmatch(home.body)
	if m == nil {
		t.Fatalf("no CSRF token on the home page")
	}

	// Without the token the form is refused and the session stays.
	p := b.do(b.noFollow(), http.MethodPost, s.url+"/logout", url.Values{})
	if p.status != 403 {
		t.Errorf("logout without CSRF token = %d, want 403", p.status)
	}
	if p := b.do(b.noFollow(), http.MethodGet, s.url+"/", nil); p.status != 200 {
		t.Fatalf("still signed in after a refused logout: got %d", p.status)
	}

	p = b.do(b.noFollow(), http.MethodPost, s.url+"/logout", url.Values{"_csrf": {m[1]}})
	if p.status != 303 || p.header.Get("Location") != s.url+"/signed-out" {
		t.Errorf("logout = %d to %q, want 303 to /signed-out", p.status, p.header.Get("Location"))
	}
	if sc := strings.Join(p.header.Values("Set-Cookie"), "\n"); !strings.Contains(sc, "qsgate_session=;") || !strings.Contains(sc, "Max-Age=0") {
		t.Errorf("logout did not clear the session cookie: %q", sc)
	}
	p = b.do(b.noFollow(), http.MethodGet, s.url+"/embed/start", nil)
	if p.status != 302 || !strings.Contains(p.header.Get("Location"), "/login") {
		t.Errorf("after logout a page = %d %q, want a redirect to sign-in", p.status, p.header.Get("Location"))
	}
}

func TestHealth(t *testing.T) {
	s := startStack(t, nil)
	for _, path := range []string{"/healthz", "/readyz"} {
		for _, method := range []string{http.MethodGet, http.MethodHead} {
			req, _ := http.NewRequest(method, s.url+path, nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Errorf("%s %s = %d, want 200", method, path, resp.StatusCode)
			}
		}
		for _, method := range []string{http.MethodPost, http.MethodOptions, "TRACE"} {
			req, _ := http.NewRequest(method, s.url+path, nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 405 {
				t.Errorf("%s %s = %d, want 405", method, path, resp.StatusCode)
			}
			if resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("Content-Security-Policy") == "" {
				t.Errorf("%s %s: the refusal lacks the security headers", method, path)
			}
		}
	}
}

// Secrets never reach a log line: embed URLs and their codes, the OIDC
// code, tokens and cookies.
func TestNoSecretsInLogs(t *testing.T) {
	s := startStack(t, nil)
	b := newBrowser(t)
	p := s.signIn(b, alice, "/embed/start")
	src := iframeSrc(t, p)
	u, _ := url.Parse(src)
	s.stop()
	logs := s.logs.String()
	secrets := []string{src, u.Query().Get("code"), u.Path, s.env["QSGATE_OIDC_CLIENT_SECRET"], s.env["QSGATE_SESSION_KEYS"], s.env["AWS_SECRET_ACCESS_KEY"]}
	gu, _ := url.Parse(s.url)
	for _, c := range b.c.Jar.Cookies(gu) {
		secrets = append(secrets, c.Value)
	}
	for _, secret := range secrets {
		if secret != "" && strings.Contains(logs, secret) {
			t.Errorf("logs contain a secret %q", secret)
		}
	}
	for _, marker := range []string{"code=", "id_token"} {
		if strings.Contains(logs, marker) {
			t.Errorf("logs contain %q:\n%s", marker, logs)
		}
	}
	if jwt := jwtRE.FindString(logs); jwt != "" { // random request ids may hold "eyJ"; a JWT has dots
		t.Errorf("logs contain a JWT %q", jwt)
	}
	if !strings.Contains(logs, "event=embed_url_issued") || !strings.Contains(logs, "event=login") {
		t.Errorf("audit events missing from logs:\n%s", logs)
	}
}

func TestBadSettingsStopStartup(t *testing.T) {
	var stderr bytes.Buffer
	env := map[string]string{"QSGATE_QUICKSIGHT_ACCOUNT_ID": "12345", "QSGATE_QUICKSIGHT_SESSION_LIFETIME": "9"}
	err := Run(t.Context(), "dev", []string{"serve", "--env-file", "/dev/null"}, func(k string) string { return env[k] }, io.Discard, &stderr)
	if err == nil {
		t.Fatal("run started with bad settings")
	}
	for _, want := range []string{"invalid configuration:", "QSGATE_PUBLIC_URL: missing", "QSGATE_OIDC_ISSUER: missing",
		`QSGATE_QUICKSIGHT_ACCOUNT_ID: must be 12 digits, got "12345"`, `QSGATE_QUICKSIGHT_SESSION_LIFETIME: must be a whole number from 15 to 600, got "9"`,
		"AWS_REGION: missing"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%s", want, err)
		}
	}
}

func TestCheckConfig(t *testing.T) {
	env := map[string]string{
		"QSGATE_PUBLIC_URL": "https://portal.example.com", "QSGATE_OIDC_ISSUER": "https://idp.example.com",
		"QSGATE_OIDC_CLIENT_ID": "qsgate", "QSGATE_OIDC_CLIENT_SECRET": "very-secret-value",
		"QSGATE_SESSION_KEYS": "a-session-key-that-is-long-enough-1234", "QSGATE_QUICKSIGHT_ACCOUNT_ID": testAccount,
		"AWS_REGION": "eu-west-1",
	}
	var out bytes.Buffer
	if err := Run(t.Context(), "dev", []string{"check-config", "--env-file", "/dev/null"}, func(k string) string { return env[k] }, &out, io.Discard); err != nil {
		t.Fatalf("check-config: %v", err)
	}
	for _, want := range []string{"configuration is valid", "https://portal.example.com", "eu-west-1", "settings file                        /dev/null",
		"tracing                              off"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, out.String())
		}
	}
	for _, secret := range []string{"very-secret-value", env["QSGATE_SESSION_KEYS"]} {
		if strings.Contains(out.String(), secret) {
			t.Errorf("summary shows a secret:\n%s", out.String())
		}
	}

	// With tracing on it says how, never the endpoint or the headers.
	t.Setenv("OTEL_TRACES_EXPORTER", "otlp")
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "https://user:pass@collector.example.com:4318")
	t.Setenv("OTEL_EXPORTER_OTLP_HEADERS", "authorization=Bearer very-secret-token")
	out.Reset()
	if err := Run(t.Context(), "dev", []string{"check-config", "--env-file", "/dev/null"}, func(k string) string { return env[k] }, &out, io.Discard); err != nil {
		t.Fatalf("check-config with tracing: %v", err)
	}
	if !strings.Contains(out.String(), "on: exporter otlp, protocol http/protobuf, sampler parentbased_always_on") {
		t.Errorf("summary does not say tracing is on:\n%s", out.String())
	}
	for _, secret := range []string{"very-secret-token", "user:pass"} {
		if strings.Contains(out.String(), secret) {
			t.Errorf("summary shows %q:\n%s", secret, out.String())
		}
	}
}

func TestVersionAndUnknownCommand(t *testing.T) {
	var out bytes.Buffer
	if err := Run(t.Context(), "dev", []string{"version"}, func(string) string { return "" }, &out, io.Discard); err != nil || !strings.HasPrefix(out.String(), "qsgate ") {
		t.Errorf("version: %q, %v", out.String(), err)
	}
	if err := Run(t.Context(), "dev", []string{"frobnicate"}, func(string) string { return "" }, io.Discard, io.Discard); err == nil {
		t.Error("an unknown command succeeded")
	}
}

var _ = qssim.DefaultRegion

// On shutdown /readyz fails at once while pages are still served for
// QSGATE_SHUTDOWN_DELAY, so a load balancer polling it can move away first.
func TestShutdownDelayFailsReadiness(t *testing.T) {
	s := startStack(t, map[string]string{"QSGATE_SHUTDOWN_DELAY": "5s", "QSGATE_SHUTDOWN_GRACE": "1s", "QSGATE_AWS_TIMEOUT": "1s"})
	b := newBrowser(t)
	s.signIn(b, alice, "/")
	s.shutdown()
	// The stop signal reaches the serving goroutine on its own schedule.
	if !waitFor(func() bool { return httpStatus(s.url+"/readyz") == 503 }) {
		t.Fatalf("/readyz never answered 503 after the stop signal")
	}
	if p := b.get(s.url + "/embed/start"); p.status != 200 {
		t.Errorf("a page during the shutdown delay = %d, want 200", p.status)
	}
}

// With the provider unreachable the gateway still starts: it is alive, not
// ready, and sign-in answers a 503 page in plain words, never a 500.
func TestProviderDown(t *testing.T) {
	addr := freeAddr(t)
	env := map[string]string{
		"QSGATE_LISTEN_ADDR": addr, "QSGATE_PUBLIC_URL": "http://" + addr,
		"QSGATE_OIDC_ISSUER": "http://" + freeAddr(t) + "/nobody-home", "QSGATE_OIDC_CLIENT_ID": "c", "QSGATE_OIDC_CLIENT_SECRET": "s",
		"QSGATE_SESSION_KEYS": "test-session-key-0123456789abcdefghijkl", "QSGATE_QUICKSIGHT_ACCOUNT_ID": testAccount,
		"AWS_REGION": "us-east-1", "QSGATE_SHUTDOWN_GRACE": "1s", "QSGATE_AWS_TIMEOUT": "1s",
	}
	base, logs := serveUntilEnd(t, env)
	if got := httpStatus(base + "/readyz"); got != 503 {
		t.Errorf("/readyz = %d with the provider down, want 503", got)
	}
	b := newBrowser(t)
	p := b.get(base + "/embed/start")
	if p.status != 503 || !strings.Contains(p.body, "The sign-in service is unavailable") || p.header.Get("Retry-After") == "" {
		t.Errorf("sign-in with the provider down: %s, want a 503 page with Retry-After\n%s", p, p.body)
	}
	// The discovery goroutine logs on its own schedule.
	if !waitFor(func() bool { return strings.Contains(logs.String(), "oidc discovery failed, will retry") }) {
		t.Errorf("no log line about the failing discovery:\n%s", logs)
	}
}

// Metrics are served on their own address only, with fixed labels.
func TestMetrics(t *testing.T) {
	metricsAddr := freeAddr(t)
	s := startStack(t, map[string]string{"QSGATE_METRICS_ADDR": metricsAddr})
	b := newBrowser(t)
	s.signIn(b, alice, "/embed/start")
	s.sim.FailUser(arnOf("alice@example.com"), "ResourceNotFoundException")
	b.get(s.url + "/embed/dashboards/gone")
	b.get(s.url + "/embed/dashboards/bad.id")

	resp, err := http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`qsgate_logins_total{result="ok"} 1`,
		`qsgate_embed_urls_total{result="ok"} 1`,
		`qsgate_embed_urls_total{result="ResourceNotFoundException"} 1`,
		`qsgate_embed_urls_total{result="bad_request"} 1`,
		`qsgate_quicksight_request_duration_seconds_count 2`,
		`qsgate_http_request_duration_seconds_count{code="200",method="GET",route="/embed/start"} 1`,
		`qsgate_http_request_duration_seconds_count{code="404",method="GET",route="/embed/dashboards/:id"} 1`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(string(body), "alice") || strings.Contains(string(body), "gone") {
		t.Errorf("metrics carry a user or an id")
	}
	if p := b.do(b.noFollow(), http.MethodGet, s.url+"/metrics", nil); p.status != 404 {
		t.Errorf("public /metrics = %d, want 404", p.status)
	}
}
