package commands

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"html"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oauth2-proxy/mockoidc"

	"github.com/qsgate/qsgate/internal/devkit/qssim"
)

// stack is the whole program on loopback: a real OIDC provider library
// (mockoidc), the QuickSight simulator reached by the real AWS SDK, and
// qsgate itself started through Run with a map of settings.
type stack struct {
	t    testing.TB
	url  string // the gateway's public URL
	idp  *mockoidc.MockOIDC
	sim  *qssim.Server
	logs *syncBuffer
	out  *syncBuffer // stdout: the audit stream (QSGATE_AUDIT_LOG=stdout)
	env  map[string]string
	// shutdown sends the stop signal (cancels run's context) and returns at
	// once; stop also waits for run to return.
	shutdown func()
	stop     func()
}

const testAccount = "123456789012"

// Users the simulator knows.
var (
	alice = &mockoidc.MockUser{Subject: "sub-alice", Email: "alice@example.com", EmailVerified: true, PreferredUsername: "alice"}
	rita  = &mockoidc.MockUser{Subject: "sub-rita", Email: "rita@example.com", EmailVerified: true, PreferredUsername: "rita"}
	nobby = &mockoidc.MockUser{Subject: "sub-nobby", Email: "nobby@example.com", EmailVerified: true, PreferredUsername: "nobby"}
)

// validOffline is a complete set of settings that build() accepts without
// any server behind it, for tests of what start-up refuses.
func validOffline() map[string]string {
	return map[string]string{
		"QSGATE_PUBLIC_URL": "https://portal.example.com", "QSGATE_OIDC_ISSUER": "https://idp.example.com",
		"QSGATE_OIDC_CLIENT_ID": "c", "QSGATE_OIDC_CLIENT_SECRET": "s", "QSGATE_SESSION_KEYS": strings.Repeat("k", 32),
		"QSGATE_QUICKSIGHT_ACCOUNT_ID": testAccount, "AWS_REGION": "us-east-1",
		"AWS_ACCESS_KEY_ID": "AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret",
	}
}

// noSignInLimits turns the sign-in limits off, for tests that sign in
// far faster than people do.
var noSignInLimits = map[string]string{"QSGATE_SIGNIN_RATE": "0", "QSGATE_SIGNIN_RATE_PER_ADDRESS": "0"}

func arnOf(email string) string {
	return "arn:aws:quicksight:us-east-1:" + testAccount + ":user/default/" + email
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// freeAddr finds a free loopback port below the kernel's ephemeral range
// (32768 and up on Linux), so that no outgoing connection or port-0
// listener of a test running alongside can take it before Run binds it.
func freeAddr(t testing.TB) string {
	t.Helper()
	for range 100 {
		addr := fmt.Sprintf("127.0.0.1:%d", 20000+rand.IntN(12000))
		if ln, err := net.Listen("tcp", addr); err == nil {
			ln.Close()
			return addr
		}
	}
	t.Fatal("no free port in 20000-31999")
	return ""
}

// startStack starts everything; override changes settings before start,
// idpMiddleware wraps the provider's endpoints.
func startStack(t testing.TB, override map[string]string, idpMiddleware ...func(http.Handler) http.Handler) *stack {
	t.Helper()
	return startStackSim(t, qssim.Config{AccountID: testAccount}, override, idpMiddleware...)
}

// startProvider starts a mockoidc provider on loopback with middleware in
// front of it, stopped when the test ends.
func startProvider(t testing.TB, middleware ...func(http.Handler) http.Handler) *mockoidc.MockOIDC {
	t.Helper()
	idp, err := mockoidc.NewServer(nil)
	if err != nil {
		t.Fatalf("mockoidc: %v", err)
	}
	for _, mw := range middleware {
		if err := idp.AddMiddleware(mw); err != nil {
			t.Fatalf("mockoidc middleware: %v", err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := idp.Start(ln, nil); err != nil {
		t.Fatalf("mockoidc: %v", err)
	}
	t.Cleanup(func() { idp.Shutdown() })
	return idp
}

// startStackSim is startStack with the simulator configured by simCfg.
func startStackSim(t testing.TB, simCfg qssim.Config, override map[string]string, idpMiddleware ...func(http.Handler) http.Handler) *stack {
	t.Helper()
	idp := startProvider(t, idpMiddleware...)
	sim, err := qssim.Start(simCfg)
	if err != nil {
		t.Fatalf("qssim: %v", err)
	}
	t.Cleanup(func() { sim.Close() })
	sim.AddUser(qssim.User{UserName: "alice@example.com", Email: "alice@example.com", Role: "AUTHOR"})
	sim.AddUser(qssim.User{UserName: "rita@example.com", Email: "rita@example.com", Role: "READER"})

	addr := freeAddr(t)
	envFile := filepath.Join(t.TempDir(), "empty.env")
	os.WriteFile(envFile, nil, 0o600)
	env := map[string]string{
		"QSGATE_LISTEN_ADDR":                 addr,
		"QSGATE_PUBLIC_URL":                  "http://" + addr,
		"QSGATE_OIDC_ISSUER":                 idp.Issuer(),
		"QSGATE_OIDC_CLIENT_ID":              idp.ClientID,
		"QSGATE_OIDC_CLIENT_SECRET":          idp.ClientSecret,
		"QSGATE_SESSION_KEYS":                "test-session-key-0123456789abcdefghijkl",
		"QSGATE_QUICKSIGHT_ACCOUNT_ID":       testAccount,
		"QSGATE_QUICKSIGHT_SESSION_LIFETIME": "60",
		"QSGATE_AWS_TIMEOUT":                 "5s",
		"QSGATE_SHUTDOWN_GRACE":              "5s",
		"QSGATE_EMBED_RATE":                  "0", // tests of the limit set their own
		"QSGATE_LOG_LEVEL":                   "debug",
		"AWS_REGION":                         cmp.Or(simCfg.Region, "us-east-1"),
		"AWS_ACCESS_KEY_ID":                  qssim.DefaultAccessKeyID,
		"AWS_SECRET_ACCESS_KEY":              qssim.DefaultSecretAccessKey,
		"AWS_ENDPOINT_URL_QUICKSIGHT":        sim.URL(),
		"AWS_ENDPOINT_URL_STS":               sim.URL(),
		"AWS_ENDPOINT_URL_SSO_OIDC":          sim.URL(),
	}
	for k, v := range override {
		env[k] = v
	}
	s := &stack{t: t, url: "http://" + addr, idp: idp, sim: sim, logs: &syncBuffer{}, out: &syncBuffer{}, env: env}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, "dev", []string{"serve", "--env-file", envFile}, func(k string) string { return env[k] }, s.out, s.logs)
	}()
	s.shutdown = cancel
	var once sync.Once
	s.stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("run returned %v", err)
				}
			case <-time.After(30 * time.Second):
				t.Errorf("run did not stop")
			}
		})
	}
	t.Cleanup(func() {
		s.stop()
		if t.Failed() {
			t.Logf("gateway logs:\n%s", s.logs)
		}
	})
	s.waitReady(done)
	return s
}

// waitFor polls cond every 20 ms for up to a minute and reports whether it
// came true: a bound so a broken start fails instead of hanging, never an
// assertion on speed.
func waitFor(cond func() bool) bool {
	for deadline := time.Now().Add(time.Minute); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			return false
		}
	}
	return true
}

// httpStatus is GET url's status, 0 when the request fails.
func httpStatus(url string) int {
	resp, err := http.Get(url)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// waitReady waits for /readyz to answer 200, failing at once if run exits.
func (s *stack) waitReady(done chan error) {
	ready := waitFor(func() bool {
		select {
		case err := <-done:
			s.t.Fatalf("run exited early: %v\nlogs:\n%s", err, s.logs)
		default:
		}
		return httpStatus(s.url+"/readyz") == 200
	})
	if !ready {
		s.t.Fatalf("gateway never became ready\nlogs:\n%s", s.logs)
	}
}

// browser is an HTTP client with a cookie jar that follows redirects, like a
// user's browser.
type browser struct {
	t testing.TB
	c *http.Client
}

func newBrowser(t testing.TB) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, c: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
}

// noFollow returns a copy of the browser that stops at the first redirect.
func (b *browser) noFollow() *http.Client {
	c := *b.c
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

type page struct {
	status int
	url    string // final URL after redirects
	body   string
	header http.Header
}

func (b *browser) get(u string) page {
	b.t.Helper()
	return b.do(b.c, http.MethodGet, u, nil)
}

func (b *browser) do(c *http.Client, method, u string, form url.Values) page {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Accept", "text/html")
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return page{status: resp.StatusCode, url: resp.Request.URL.String(), body: string(data), header: resp.Header}
}

// signIn queues who the provider signs in next, then opens path.
func (s *stack) signIn(b *browser, who mockoidc.User, path string) page {
	s.t.Helper()
	s.idp.QueueUser(who)
	return b.get(s.url + path)
}

var iframeRE = regexp.MustCompile(`<iframe id="qs-console" src="([^"]+)"`)

// iframeSrc is the embed URL in an embed page.
func iframeSrc(t *testing.T, p page) string {
	t.Helper()
	m := iframeRE.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no console iframe in page (status %d, url %s):\n%s", p.status, p.url, p.body)
	}
	return html.UnescapeString(m[1])
}

func embedCalls(sim *qssim.Server) []qssim.Call {
	var out []qssim.Call
	for _, c := range sim.Calls() {
		if c.Operation == "GetSessionEmbedUrl" {
			out = append(out, c)
		}
	}
	return out
}

func (p page) String() string { return fmt.Sprintf("%d %s", p.status, p.url) }

// serveUntilEnd runs `qsgate serve` with env (QSGATE_LISTEN_ADDR set) until
// the test ends, waits for /healthz, and returns its base URL and logs. It
// does not wait for readiness: callers check what they expect of /readyz.
func serveUntilEnd(t *testing.T, env map[string]string) (string, *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	logs := &syncBuffer{}
	go func() {
		done <- Run(ctx, "dev", []string{"serve", "--env-file", "/dev/null"}, func(k string) string { return env[k] }, io.Discard, logs)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		if t.Failed() {
			t.Logf("logs of the gateway on %s:\n%s", env["QSGATE_LISTEN_ADDR"], logs)
		}
	})
	base := "http://" + env["QSGATE_LISTEN_ADDR"]
	if !waitFor(func() bool { return httpStatus(base+"/healthz") == 200 }) {
		t.Fatalf("the gateway never answered /healthz:\n%s", logs)
	}
	return base, logs
}
