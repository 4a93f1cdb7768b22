package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/qsgate/qsgate/internal/devkit/demo"
)

// TestBrowser drives chromium through the gateway as its users do: sign in
// on the provider's page, open the console pages, reload, sign out; and the
// refusals for a reader and for a user QuickSight does not know.
func TestBrowser(t *testing.T) {
	tools := requireTools(t, chromiumTool)
	bin := gatewayBinary(t)
	dir := testOutDir(t)
	addr := freeAddr(t)
	public := "http://" + addr
	st := startDemo(t, dir, demo.Options{PublicURL: public})
	startGateway(t, "gateway", bin, addr, dir, st.Settings)
	b := startBrowser(t, tools[0], dir)

	t.Run("author", func(t *testing.T) {
		tab := b.newTab(t)
		alice := st.Sim.UserARN("default", "alice@example.com")

		// A console page while signed out: the provider's sign-in page, and
		// back to the same console page after it.
		before := embedCalls(st)
		resp := tab.signIn(t, public, st.IssuerURL, "/embed/start", "alice", "sign-in.png")
		if got, want := resp.URL, public+"/embed/start"; got != want || resp.Status != 200 {
			t.Fatalf("after sign-in: %s (status %d), want %s (status 200)", got, resp.Status, want)
		}
		tab.wantConsole(t, st, alice, "/start", before)

		for _, tc := range []struct{ path, entryPoint string }{
			{"/embed/start", "/start"},
			{"/embed/start/analyses", "/start/analyses"},
			{"/embed/start/dashboards", "/start/dashboards"},
			{"/embed/start/favorites", "/start/favorites"},
			{"/embed/dashboards/sales-2026_q1", "/dashboards/sales-2026_q1"},
			{"/embed/analyses/a1b2c3-churn", "/analyses/a1b2c3-churn"},
		} {
			before := embedCalls(st)
			tab.navigate(t, public+tc.path)
			tab.wantConsole(t, st, alice, tc.entryPoint, before)
		}

		// Every page view asks QuickSight for a new single-use URL; a reload
		// that reused the old one would show the simulator's "already used"
		// page.
		tab.navigate(t, public+"/embed/start")
		first := tab.iframeSrc(t)
		before = embedCalls(st)
		tab.do(t, "reload", chromedp.Reload())
		if second := tab.iframeSrc(t); second == first {
			t.Errorf("after a reload the iframe src is the same single-use URL, want a new one")
		}
		tab.wantConsole(t, st, alice, "/start", before)
		tab.screenshot(t, "embed.png")
		tab.wantNoPolicyProblems(t)
		tab.checkDetectorWorks(t, st.IssuerURL)

		tab.navigate(t, public+"/")
		if got := tab.text(t, "#user-arn"); got != alice {
			t.Errorf("home page QuickSight user = %q, want %q", got, alice)
		}
		if got, want := tab.text(t, "#who"), "Alice Author"; got != want {
			t.Errorf("home page user = %q, want %q", got, want)
		}
		tab.screenshot(t, "home.png")

		// The home page's form opens an analysis by its id.
		before = embedCalls(st)
		tab.do(t, "fill in the open-by-id form",
			chromedp.SetValue(chromedp.CSS("#open-kind"), "analyses"),
			chromedp.SendKeys(chromedp.CSS("#open-id"), "q3_forecast-v2"))
		resp = tab.clickAndWait(t, "open by id", "#open-go")
		if got, want := resp.URL, public+"/embed/analyses/q3_forecast-v2"; got != want || resp.Status != 200 {
			t.Fatalf("the open-by-id form led to %s (status %d), want %s (status 200)", got, resp.Status, want)
		}
		tab.wantConsole(t, st, alice, "/analyses/q3_forecast-v2", before)

		// Sign out (the provider ends its session too), then a console page
		// leads to the sign-in page again and asks QuickSight for nothing.
		tab.navigate(t, public+"/")
		resp = tab.clickAndWait(t, "sign out", "#logout")
		if got, want := resp.URL, public+"/signed-out"; got != want {
			t.Fatalf("after sign-out at %s, want %s", got, want)
		}
		tab.waitVisible(t, "#signed-out")
		before = embedCalls(st)
		tab.navigate(t, public+"/embed/start")
		if loc := tab.location(t); !strings.HasPrefix(loc, st.IssuerURL+"/login?") {
			t.Fatalf("a console page after sign-out went to %s, want the provider's sign-in page %s/login", loc, st.IssuerURL)
		}
		tab.waitVisible(t, "#login-alice")
		if got := embedCalls(st); got != before {
			t.Errorf("embed URLs issued after sign-out: %d, want 0", got-before)
		}
		tab.wantNoPolicyProblems(t)
	})

	// Who may open the console: QuickSight's own roles decide.
	for _, tc := range []struct {
		name           string
		subject, email string
		status         int64
		title          string // of the refusal page; "" means the console opens
		screenshot     string
	}{
		{name: "admin", subject: "adam", email: "adam@example.com", status: 200},
		{name: "reader", subject: "rita", email: "rita@example.com", status: 403,
			title: "An author or admin role is needed", screenshot: "reader.png"},
		{name: "no QuickSight user", subject: "nora", email: "nora@example.com", status: 403,
			title: "You have no QuickSight user yet", screenshot: "no-quicksight-user.png"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tab := b.newTab(t)
			before := embedCalls(st)
			resp := tab.signIn(t, public, st.IssuerURL, "/embed/start", tc.subject, "")
			if resp.Status != tc.status {
				t.Errorf("status of /embed/start = %d, want %d", resp.Status, tc.status)
			}
			if tc.title == "" {
				tab.wantConsole(t, st, st.Sim.UserARN("default", tc.email), "/start", before)
			} else {
				if got := tab.text(t, "#error h1"); got != tc.title {
					t.Errorf("page title = %q, want %q", got, tc.title)
				}
				if got := tab.attr(t, "#error", "data-status"); got != fmt.Sprint(tc.status) {
					t.Errorf("#error data-status = %q, want %d", got, tc.status)
				}
				if got := tab.attr(t, "#error-action", "href"); got != "/" {
					t.Errorf("action link = %q, want / (back to the portal)", got)
				}
				if n := tab.count(t, "#qs-console"); n != 0 {
					t.Errorf("refusal page has %d console iframes, want none", n)
				}
				if got := embedCalls(st); got != before {
					t.Errorf("embed URLs issued: %d, want 0", got-before)
				}
				tab.screenshot(t, tc.screenshot)
			}
			tab.wantNoPolicyProblems(t)
		})
	}
}

// A browser is one headless chromium with a fresh profile.
type browser struct {
	ctx context.Context // its first tab, which keeps it running
}

// startBrowser starts chromium (output to dir/chromium.log) and stops it,
// and every process it started, at the end of the test.
func startBrowser(t *testing.T, path, dir string) *browser {
	t.Helper()
	logf, err := os.Create(filepath.Join(dir, "chromium.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { logf.Close() })
	profile := t.TempDir() // removed after the browser is stopped (cleanups run last-in first-out)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.UserDataDir(profile),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		// On a closed network the browser stalls on its own background
		// connections without these.
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(1280, 800),
		chromedp.CombinedOutput(logf),
		chromedp.ModifyCmdFunc(func(cmd *exec.Cmd) {
			// A process group of its own, so that cleanup can kill the
			// renderers and helpers too; killed if the test binary dies.
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
		}),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	pid := 0
	t.Cleanup(func() {
		done := make(chan struct{})
		go func() {
			cancel()
			cancelAlloc() // waits for the browser to exit
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(stepTimeout):
			t.Logf("chromium did not stop within %v: killing it", stepTimeout)
			if pid > 0 {
				_ = syscall.Kill(-pid, syscall.SIGKILL)
			}
			<-done
		}
		if pid > 0 {
			_ = syscall.Kill(-pid, syscall.SIGKILL) // leftovers of the group; ESRCH when none
		}
	})
	if err := bounded(startTimeout, func() error { return chromedp.Do(ctx) }); err != nil {
		t.Fatalf("starting chromium: %v; its output:\n%s", err, readTail(logf.Name(), 30))
	}
	pid = chromedp.FromContext(ctx).Browser.Process().Pid
	return &browser{ctx: ctx}
}

// bounded runs f, giving up after timeout. Used where the context passed
// decides a lifetime (the first run of a chromedp context binds the browser
// or tab to it), so it cannot carry a deadline.
func bounded(timeout time.Duration, f func() error) error {
	errc := make(chan error, 1)
	go func() { errc <- f() }()
	select {
	case err := <-errc:
		return err
	case <-time.After(timeout):
		return fmt.Errorf("no answer after %v", timeout)
	}
}

func readTail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	return tail(string(b), n)
}

// A tab is a browser tab in a browser context of its own (its own cookies),
// with its console recorded from the start.
type tab struct {
	ctx     context.Context
	console *consoleLog
}

func (b *browser) newTab(t *testing.T) *tab {
	t.Helper()
	c := &consoleLog{}
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext(), chromedp.WithListener(c.listen))
	t.Cleanup(cancel)
	if err := bounded(stepTimeout, func() error { return chromedp.Do(ctx) }); err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	return &tab{ctx: ctx, console: c}
}

// do runs actions with a bounded wait.
func (tb *tab) do(t *testing.T, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("%s: %v (page %s)", what, err, tb.where())
	}
}

// value runs one action that returns a value, with a bounded wait.
func value[T any](t *testing.T, tb *tab, what string, a chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("%s: %v (page %s)", what, err, tb.where())
	}
	return v
}

// where is the tab's address for failure messages, or why it is unknown.
func (tb *tab) where() string {
	ctx, cancel := context.WithTimeout(tb.ctx, 2*time.Second)
	defer cancel()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		return "unknown: " + err.Error()
	}
	return loc
}

func (tb *tab) navigate(t *testing.T, url string) {
	t.Helper()
	tb.do(t, "open "+url, chromedp.Navigate(url))
}

func (tb *tab) location(t *testing.T) string {
	t.Helper()
	return value(t, tb, "read the location", chromedp.Location())
}

func (tb *tab) waitVisible(t *testing.T, sel string) {
	t.Helper()
	tb.do(t, "wait for "+sel, chromedp.WaitVisible(chromedp.CSS(sel)))
}

func (tb *tab) text(t *testing.T, sel string) string {
	t.Helper()
	return strings.TrimSpace(value(t, tb, "read "+sel, chromedp.Text(chromedp.CSS(sel))))
}

func (tb *tab) attr(t *testing.T, sel, name string) string {
	t.Helper()
	return value(t, tb, "read "+sel+" "+name, chromedp.AttributeValue(chromedp.CSS(sel), name)).Value
}

// count counts the elements matching sel, without waiting for one.
func (tb *tab) count(t *testing.T, sel string) int {
	t.Helper()
	return value(t, tb, "count "+sel, chromedp.Evaluate[int](fmt.Sprintf("document.querySelectorAll(%q).length", sel)))
}

// clickAndWait clicks sel and waits for the page the click leads to, through
// any redirects, returning its response.
func (tb *tab) clickAndWait(t *testing.T, what, sel string) *network.Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("%s: %v (page %s)", what, err, tb.where())
	}
	return resp
}

// signIn opens path on the gateway while signed out, checks that it leads to
// the provider's sign-in page (saved as screenshot unless ""), signs in as
// subject there and returns the response of the page the browser lands on.
func (tb *tab) signIn(t *testing.T, gateway, issuer, path, subject, screenshot string) *network.Response {
	t.Helper()
	tb.navigate(t, gateway+path)
	if loc := tb.location(t); !strings.HasPrefix(loc, issuer+"/login?") {
		t.Fatalf("signed out, %s went to %s, want the provider's sign-in page %s/login", path, loc, issuer)
	}
	tb.waitVisible(t, "#login-"+subject)
	if screenshot != "" {
		tb.screenshot(t, screenshot)
	}
	return tb.clickAndWait(t, "sign in as "+subject, "#login-"+subject)
}

// A consoleView is what the simulator's console page in the iframe shows.
type consoleView struct {
	UserARN, EntryPoint, SessionLifetime string
}

// embedded reads the simulator's page inside the #qs-console iframe. The
// simulator is on another port of 127.0.0.1: another origin but the same
// site, so chromium keeps the iframe in the page's process and FromNode
// reaches into its document.
func (tb *tab) embedded(t *testing.T) consoleView {
	t.Helper()
	frames := value(t, tb, "find the #qs-console iframe", chromedp.Nodes(chromedp.CSS("iframe#qs-console")))
	frame := chromedp.FromNode(frames[0])
	// The console page, or the simulator's error page (a used or expired URL).
	nodes := value(t, tb, "wait for the simulator's page in the iframe",
		chromedp.Nodes(chromedp.CSS("#qs-user-arn, #qs-error-message"), frame))
	if id, _ := nodes[0].Attribute("id"); id == "qs-error-message" {
		msg := value(t, tb, "read the iframe's error", chromedp.Text(chromedp.CSS("#qs-error-message"), frame))
		t.Fatalf("the iframe shows the simulator's error page: %q", msg)
	}
	read := func(id string) string {
		return strings.TrimSpace(value(t, tb, "read #"+id+" in the iframe", chromedp.Text(chromedp.CSS("#"+id), frame)))
	}
	return consoleView{UserARN: read("qs-user-arn"), EntryPoint: read("qs-entry-point"), SessionLifetime: read("qs-session-lifetime")}
}

func (tb *tab) iframeSrc(t *testing.T) string {
	t.Helper()
	return tb.attr(t, "iframe#qs-console", "src")
}

// wantConsole checks that the current page embeds the simulator's console
// for userARN at entryPoint, from exactly one new GetSessionEmbedUrl (the
// simulator had answered before of them before the page was opened).
func (tb *tab) wantConsole(t *testing.T, st *demo.Stack, userARN, entryPoint string, before int) {
	t.Helper()
	if src := tb.iframeSrc(t); !strings.HasPrefix(src, st.Sim.URL()+"/embed/") {
		t.Errorf("iframe src = %.60q..., want an embed URL of the simulator %s", src, st.Sim.URL())
	}
	want := consoleView{UserARN: userARN, EntryPoint: entryPoint, SessionLifetime: "600"}
	if got := tb.embedded(t); got != want {
		t.Errorf("the iframe shows %+v, want %+v", got, want)
	}
	if got := embedCalls(st) - before; got != 1 {
		t.Errorf("GetSessionEmbedUrl calls for this page view = %d, want 1", got)
	}
	calls := st.Sim.Calls()
	if last := calls[len(calls)-1]; last.EntryPoint != entryPoint || last.UserArn != userARN {
		t.Errorf("last QuickSight call: entry point %q for %q, want %q for %q", last.EntryPoint, last.UserArn, entryPoint, userARN)
	}
}

// screenshot saves the visible part of the page as e2e/out/{name}.
func (tb *tab) screenshot(t *testing.T, name string) {
	t.Helper()
	png := value(t, tb, "screenshot "+name, chromedp.CaptureScreenshot())
	path, err := filepath.Abs(filepath.Join(outDir, name))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

// policyProblems are what the browser says when a Content Security Policy
// blocks something or a page mixes http into https.
var policyProblems = []string{"Content Security Policy", "Refused to", "Mixed Content"}

// wantNoPolicyProblems fails on any console message about a policy or mixed
// content since the tab opened.
func (tb *tab) wantNoPolicyProblems(t *testing.T) {
	t.Helper()
	var bad []string
	for _, m := range tb.console.messages() {
		if containsAny(m, policyProblems) {
			bad = append(bad, m)
		}
	}
	if len(bad) > 0 {
		t.Errorf("the browser console reported %d policy problem(s):\n%s", len(bad), strings.Join(bad, "\n"))
	}
}

// checkDetectorWorks proves wantNoPolicyProblems can fail. On an embed
// page it adds a frame from another origin (foreign, e.g. the provider),
// which the page's frame-src must refuse, and waits for the console to say
// so. It runs after the real checks and forgets what it caused.
func (tb *tab) checkDetectorWorks(t *testing.T, foreign string) {
	t.Helper()
	n := len(tb.console.messages())
	tb.do(t, "add a frame from "+foreign, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(
		`document.body.appendChild(Object.assign(document.createElement("iframe"), {src: %q}))`, foreign+"/canary")))
	host := strings.TrimPrefix(foreign, "http://")
	waitFor(t, stepTimeout, "the console to report the refused frame from "+foreign, func() bool {
		for _, m := range tb.console.messages()[n:] {
			if containsAny(m, policyProblems) && strings.Contains(m, host) {
				return true
			}
		}
		return false
	})
	tb.console.forget(n)
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// consoleLog records a tab's console: console API calls, uncaught
// exceptions and the browser's log entries (where CSP violations and mixed
// content warnings appear).
type consoleLog struct {
	mu   sync.Mutex
	msgs []string
}

// listen runs in the tab's event loop: it only formats and appends.
func (c *consoleLog) listen(ev any) {
	var m string
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		var args []string
		for _, a := range ev.Args {
			if a.Value != nil {
				args = append(args, string(a.Value))
			} else {
				args = append(args, a.Description)
			}
		}
		m = fmt.Sprintf("console.%s: %s", ev.Type, strings.Join(args, " "))
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		m = "exception: " + d.Text
		if d.Exception != nil {
			m += " " + d.Exception.Description
		}
		m += " at " + d.URL
	case *log.EventEntryAdded:
		e := ev.Entry
		m = fmt.Sprintf("log %s/%s: %s (%s)", e.Source, e.Level, e.Text, e.URL)
	default:
		return
	}
	c.mu.Lock()
	c.msgs = append(c.msgs, m)
	c.mu.Unlock()
}

func (c *consoleLog) messages() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.msgs...)
}

// forget drops the messages from index i on.
func (c *consoleLog) forget(i int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.msgs = c.msgs[:i]
}
