package e2e

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/qsgate/qsgate/internal/devkit/demo"
)

// updateDocs copies the README's two screenshots to docs/ after a run:
// QSGATE_E2E=1 go test ./e2e/ -run TestEmbedPage -docs
var updateDocs = flag.Bool("docs", false, "copy the embed page and home page screenshots to ../docs/embed.png and ../docs/home.png")

// deepLink is a dashboard with two parameters, as a portal links to it.
const deepLink = "/embed/dashboards/sales-2026?p.Region=EMEA&p.Year=2026"

// TestEmbedPage drives the embed page as a user does, against both
// embedding APIs: the slim bar's links and sign-out; a console session that
// ends (the simulator says so) or the Reload button swaps in a fresh console
// without reloading the portal; a portal session that ended offers to sign
// in again and comes back to the same page; a deep link's parameters reach
// the dashboard; the home page lists the user's dashboards and analyses and
// filters them. With the Dashboard experience, a reader opens a dashboard
// but still not the console.
func TestEmbedPage(t *testing.T) {
	tools := requireTools(t, chromiumTool)
	bin := gatewayBinary(t)
	b := startBrowser(t, tools[0], testOutDir(t))

	for _, api := range demo.APIs() {
		t.Run(api, func(t *testing.T) {
			t.Parallel()
			p := startPortal(t, bin, demo.Options{API: api})
			// Only one run takes the README's screenshots.
			docs := api == demo.APISession
			t.Run("bar", func(t *testing.T) { testBar(t, b, p) })
			t.Run("console renewed in place", func(t *testing.T) { testSwap(t, b, p) })
			t.Run("deep link", func(t *testing.T) { testDeepLink(t, b, p, docs) })
			t.Run("portal session ended", func(t *testing.T) { testSignInAgain(t, b, p) })
			t.Run("home list", func(t *testing.T) { testHomeList(t, b, p, docs) })
		})
	}

	t.Run("reader with the dashboard experience", func(t *testing.T) {
		t.Parallel()
		p := startPortal(t, bin, demo.Options{API: demo.APIRegisteredUser, DashboardExperience: demo.ExperienceDashboard})
		testReaderDashboard(t, b, p)
	})
}

// A portal is one gateway with a provider and simulator of its own.
type portal struct {
	url string // the gateway's public URL
	st  *demo.Stack
}

func startPortal(t *testing.T, bin string, opts demo.Options) *portal {
	t.Helper()
	dir := testOutDir(t)
	addr := freeAddr(t)
	opts.PublicURL = "http://" + addr
	st := startDemo(t, dir, opts)
	startGateway(t, "gateway", bin, addr, dir, st.Settings)
	return &portal{url: opts.PublicURL, st: st}
}

func (p *portal) userARN(email string) string { return p.st.Sim.UserARN("default", email) }

// testBar: the bar names what is open, its portal name and Home lead to the
// home page, and Sign out signs out.
func testBar(t *testing.T, b *browser, p *portal) {
	tab := b.newTab(t)
	alice := p.userARN("alice@example.com")
	before := embedCalls(p.st)
	if resp := tab.signIn(t, p.url, p.st.IssuerURL, "/embed/start", "alice", ""); resp.Status != 200 {
		t.Fatalf("status of /embed/start = %d, want 200", resp.Status)
	}
	tab.wantConsoleOf(t, p, alice, "/start", before)
	if got, want := tab.text(t, "#bar-title"), "Start"; got != want {
		t.Errorf("#bar-title = %q, want %q", got, want)
	}
	if got, want := value(t, tab, "read the title", chromedp.Title()), "Start - QuickSight portal"; got != want {
		t.Errorf("page title = %q, want %q", got, want)
	}
	if got, want := tab.text(t, "#bar-portal"), "QuickSight portal"; got != want {
		t.Errorf("#bar-portal = %q, want the portal's title %q", got, want)
	}

	resp := tab.clickAndWait(t, "the portal's name in the bar", "#bar-portal")
	tab.wantHome(t, p, resp, "Alice Author")

	before = embedCalls(p.st)
	tab.navigate(t, p.url+"/embed/dashboards/sales-2026")
	tab.wantConsoleOf(t, p, alice, "/dashboards/sales-2026", before)
	// The home page just listed it: the bar names it, not its id.
	if got, want := tab.text(t, "#bar-title"), "Sales 2026"; got != want {
		t.Errorf("#bar-title on a dashboard = %q, want %q", got, want)
	}
	resp = tab.clickAndWait(t, "Home in the bar", "#bar-home")
	tab.wantHome(t, p, resp, "Alice Author")

	tab.navigate(t, p.url+"/embed/start/analyses")
	if got, want := tab.text(t, "#bar-title"), "Analyses"; got != want {
		t.Errorf("#bar-title = %q, want %q", got, want)
	}
	resp = tab.clickAndWait(t, "Sign out in the bar", "#logout")
	if got, want := resp.URL, p.url+"/signed-out"; got != want {
		t.Fatalf("after Sign out at %s, want %s", got, want)
	}
	tab.waitVisible(t, "#signed-out")
	before = embedCalls(p.st)
	tab.navigate(t, p.url+"/embed/start")
	if loc := tab.location(t); !strings.HasPrefix(loc, p.st.IssuerURL+"/login?") {
		t.Errorf("a console page after Sign out went to %s, want the provider's sign-in page", loc)
	}
	if got := embedCalls(p.st); got != before {
		t.Errorf("embed URLs issued after Sign out: %d, want 0", got-before)
	}
	tab.wantNoPolicyProblems(t)
}

// testSwap: when the console session ends, and when the user presses
// Reload, the page asks for one fresh URL and swaps the iframe to it; the
// portal page itself is not reloaded (a mark set on it stays).
func testSwap(t *testing.T, b *browser, p *portal) {
	tab := b.newTab(t)
	alice := p.userARN("alice@example.com")
	before := embedCalls(p.st)
	tab.signIn(t, p.url, p.st.IssuerURL, "/embed/start", "alice", "")
	tab.wantConsoleOf(t, p, alice, "/start", before)
	tab.do(t, "mark the portal page", chromedp.Evaluate[chromedp.Void]("window.__qsgateMarker = 1"))

	for i, tc := range []struct {
		what string
		end  func()
	}{
		{"the console session ends", func() { p.st.Sim.EndConsoleSessions() }},
		{"Reload is pressed", func() { tab.do(t, "press Reload", chromedp.Click(chromedp.CSS("#bar-reload"))) }},
	} {
		swaps := fmt.Sprint(i + 1)
		old := tab.iframeSrc(t)
		before := embedCalls(p.st)
		tc.end()
		tab.waitFor(t, "the iframe's data-swaps to become "+swaps+" after "+tc.what, func() (bool, string) {
			got := tab.eval(t, `document.getElementById("qs-console").dataset.swaps || ""`)
			return got == swaps, "data-swaps " + got
		})
		src := tab.iframeSrc(t)
		if src == old {
			t.Fatalf("after %s the iframe src is the old single-use URL", tc.what)
		}
		tab.wantConsoleOf(t, p, alice, "/start", before)
		if got := value(t, tab, "read the mark", chromedp.Evaluate[int]("window.__qsgateMarker || 0")); got != 1 {
			t.Fatalf("after %s the portal page lost its mark (window.__qsgateMarker = %d): it was reloaded", tc.what, got)
		}
		if msg := tab.text(t, "#qs-notice"); msg != "" {
			t.Errorf("after %s the notice says %q, want nothing", tc.what, msg)
		}
	}
	tab.wantNoPolicyProblems(t)
}

// testDeepLink: the p.NAME=VALUE parameters of a portal link reach the
// dashboard (in the embed URL's fragment).
func testDeepLink(t *testing.T, b *browser, p *portal, docs bool) {
	tab := b.newTab(t)
	before := embedCalls(p.st)
	if resp := tab.signIn(t, p.url, p.st.IssuerURL, deepLink, "alice", ""); resp.URL != p.url+deepLink || resp.Status != 200 {
		t.Fatalf("after sign-in: %s (status %d), want %s (status 200)", resp.URL, resp.Status, p.url+deepLink)
	}
	got := tab.wantConsoleOf(t, p, p.userARN("alice@example.com"), "/dashboards/sales-2026", before)
	if got.DashboardID != "sales-2026" {
		t.Errorf("the console shows dashboard %q, want sales-2026", got.DashboardID)
	}
	if want := []string{"Region=EMEA", "Year=2026"}; !slices.Equal(got.Params, want) {
		t.Errorf("the dashboard's parameters = %q, want %q", got.Params, want)
	}
	if docs {
		tab.screenshotForDocs(t, "embed-page.png", "embed.png")
	}
	tab.wantNoPolicyProblems(t)
}

// testSignInAgain: with the portal's session gone, Reload offers to sign in
// again (no embed call), and signing in comes back to the same page, deep
// link parameters included.
func testSignInAgain(t *testing.T, b *browser, p *portal) {
	tab := b.newTab(t)
	adam := p.userARN("adam@example.com")
	before := embedCalls(p.st)
	tab.signIn(t, p.url, p.st.IssuerURL, deepLink, "adam", "")
	tab.wantConsoleOf(t, p, adam, "/dashboards/sales-2026", before)

	tab.do(t, "delete the session cookie", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, network.DeleteCookies, network.DeleteCookiesParams{Name: "qsgate_session", URL: p.url + "/"})
		return err
	}))
	cookies := value(t, tab, "read the cookies", func(ctx context.Context, tg *chromedp.Target) (network.GetCookiesResult, error) {
		return cdp.Call(ctx, tg, network.GetCookies, network.GetCookiesParams{URLs: []string{p.url + "/"}})
	})
	for _, c := range cookies.Cookies {
		if c.Name == "qsgate_session" {
			t.Fatalf("the session cookie is still there after deleting it")
		}
	}

	before = embedCalls(p.st)
	tab.do(t, "press Reload", chromedp.Click(chromedp.CSS("#bar-reload")))
	tab.waitVisible(t, "#qs-sign-in-again")
	if got, want := tab.attr(t, "#qs-sign-in-again", "href"), "/login?rd="+url.QueryEscape(deepLink); got != want {
		t.Errorf("sign-in-again link = %q, want %q", got, want)
	}
	if got := embedCalls(p.st); got != before {
		t.Errorf("embed URLs issued without a portal session: %d, want 0", got-before)
	}
	if got := tab.eval(t, `document.getElementById("qs-console").dataset.swaps || ""`); got != "" {
		t.Errorf("the iframe was swapped (data-swaps %q) without a portal session", got)
	}

	tab.clickAndWait(t, "Sign in again", "#qs-sign-in-again")
	if loc := tab.location(t); !strings.HasPrefix(loc, p.st.IssuerURL+"/login?") {
		t.Fatalf("Sign in again went to %s, want the provider's sign-in page %s/login", loc, p.st.IssuerURL)
	}
	tab.waitVisible(t, "#login-adam")
	before = embedCalls(p.st)
	resp := tab.clickAndWait(t, "sign in as adam", "#login-adam")
	if got, want := resp.URL, p.url+deepLink; got != want || resp.Status != 200 {
		t.Fatalf("after signing in again: %s (status %d), want the same page %s (status 200)", got, resp.Status, want)
	}
	got := tab.wantConsoleOf(t, p, adam, "/dashboards/sales-2026", before)
	if want := []string{"Region=EMEA", "Year=2026"}; !slices.Equal(got.Params, want) {
		t.Errorf("the dashboard's parameters after signing in again = %q, want %q", got.Params, want)
	}
	tab.wantNoPolicyProblems(t)
}

// testHomeList: alice's home page lists what is shared with her, not what
// is not; the filter box narrows the list; an entry opens it.
func testHomeList(t *testing.T, b *browser, p *portal, docs bool) {
	tab := b.newTab(t)
	resp := tab.signIn(t, p.url, p.st.IssuerURL, "/", "alice", "")
	tab.wantHome(t, p, resp, "Alice Author")
	want := []string{ // dashboards, then analyses, each by name
		"Marketing funnel -> /embed/dashboards/marketing-funnel",
		"Sales 2026 -> /embed/dashboards/sales-2026",
		"Churn deep dive -> /embed/analyses/churn-deep-dive",
	}
	if got := tab.listed(t, false); !slices.Equal(got, want) {
		t.Fatalf("home page lists %q, want %q", got, want)
	}
	if docs {
		tab.screenshotForDocs(t, "home-list.png", "home.png")
	}

	for _, tc := range []struct {
		keys     string
		want     []string
		wantNone bool // "No name matches." shows
	}{
		{"sales", want[1:2], false},
		{"x", nil, true}, // "salesx"
		{strings.Repeat(kb.Backspace, len("salesx")) + "FUN", want[:1], false},
		{strings.Repeat(kb.Backspace, len("FUN")), want, false},
	} {
		tab.do(t, "type "+tc.keys+" in the filter", chromedp.SendKeys(chromedp.CSS("#content-filter"), tc.keys))
		filter := tab.eval(t, `document.getElementById("content-filter").value`)
		if got := tab.listed(t, true); !slices.Equal(got, tc.want) {
			t.Errorf("filter %q shows %q, want %q", filter, got, tc.want)
		}
		if got := tab.eval(t, `String(!document.getElementById("content-none").hidden)`); got != fmt.Sprint(tc.wantNone) {
			t.Errorf("filter %q: #content-none shown = %s, want %t", filter, got, tc.wantNone)
		}
	}

	before := embedCalls(p.st)
	resp = tab.clickAndWait(t, "open Sales 2026 from the list", `#content-list li[data-name="Sales 2026"] a`)
	if got, want := resp.URL, p.url+"/embed/dashboards/sales-2026"; got != want || resp.Status != 200 {
		t.Fatalf("the list's Sales 2026 led to %s (status %d), want %s (status 200)", got, resp.Status, want)
	}
	tab.wantConsoleOf(t, p, p.userARN("alice@example.com"), "/dashboards/sales-2026", before)
	tab.wantNoPolicyProblems(t)
}

// testReaderDashboard: with the Dashboard experience (registered-user API),
// rita, a reader, opens a shared dashboard, renewed in place like the
// console, while the console itself still needs an author.
func testReaderDashboard(t *testing.T, b *browser, p *portal) {
	tab := b.newTab(t)
	rita := p.userARN("rita@example.com")
	before := embedCalls(p.st)
	if resp := tab.signIn(t, p.url, p.st.IssuerURL, "/embed/dashboards/sales-2026", "rita", ""); resp.Status != 200 {
		t.Fatalf("status of /embed/dashboards/sales-2026 for a reader = %d, want 200", resp.Status)
	}
	got := tab.wantConsoleOf(t, p, rita, "/dashboards/sales-2026", before)
	if got.Experience != "Dashboard" || got.DashboardID != "sales-2026" {
		t.Errorf("rita sees experience %q, dashboard %q; want Dashboard, sales-2026", got.Experience, got.DashboardID)
	}
	if got, want := tab.text(t, "#bar-title"), "sales-2026"; got != want {
		t.Errorf("#bar-title = %q, want %q", got, want)
	}

	before = embedCalls(p.st)
	p.st.Sim.EndConsoleSessions()
	tab.waitFor(t, "the dashboard to be swapped in place", func() (bool, string) {
		got := tab.eval(t, `document.getElementById("qs-console").dataset.swaps || ""`)
		return got == "1", "data-swaps " + got
	})
	if got := tab.wantConsoleOf(t, p, rita, "/dashboards/sales-2026", before); got.Experience != "Dashboard" {
		t.Errorf("after the swap rita sees experience %q, want Dashboard", got.Experience)
	}

	tab.navigate(t, p.url+"/")
	if got, want := tab.listed(t, false), []string{"Sales 2026 -> /embed/dashboards/sales-2026"}; !slices.Equal(got, want) {
		t.Errorf("rita's home page lists %q, want %q", got, want)
	}

	before = embedCalls(p.st)
	resp := tab.open(t, p.url+"/embed/start")
	if resp.Status != 403 {
		t.Errorf("status of /embed/start for a reader = %d, want 403", resp.Status)
	}
	if got, want := tab.text(t, "#error h1"), "An author or admin role is needed"; got != want {
		t.Errorf("page title = %q, want %q", got, want)
	}
	if n := tab.count(t, "#qs-console"); n != 0 {
		t.Errorf("refusal page has %d console iframes, want none", n)
	}
	if got := embedCalls(p.st); got != before {
		t.Errorf("embed URLs issued for a reader's console: %d, want 0", got-before)
	}
	tab.wantNoPolicyProblems(t)
}

// wantHome checks resp is the home page of the user named name.
func (tb *tab) wantHome(t *testing.T, p *portal, resp *network.Response, name string) {
	t.Helper()
	if got, want := resp.URL, p.url+"/"; got != want || resp.Status != 200 {
		t.Fatalf("at %s (status %d), want the home page %s (status 200)", got, resp.Status, want)
	}
	if got := tb.text(t, "#who"); got != name {
		t.Errorf("home page user = %q, want %q", got, name)
	}
}

// listed returns the home page's list as "NAME -> LINK", only the entries
// the filter shows when visibleOnly.
func (tb *tab) listed(t *testing.T, visibleOnly bool) []string {
	t.Helper()
	return value(t, tb, "read the home page's list", chromedp.Evaluate[[]string](fmt.Sprintf(
		`Array.from(document.querySelectorAll("#content-list li"))
		   .filter(li => !%t || !li.hidden)
		   .map(li => li.dataset.name + " -> " + li.querySelector("a").getAttribute("href"))`, visibleOnly)))
}

// eval evaluates a JavaScript expression giving a string in the page.
func (tb *tab) eval(t *testing.T, expr string) string {
	t.Helper()
	return value(t, tb, "evaluate "+expr, chromedp.Evaluate[string](expr))
}

// open navigates to url and returns the response of the page it lands on.
func (tb *tab) open(t *testing.T, url string) *network.Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Navigate(url))
	if err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	return resp
}

// waitFor polls cond every 20 ms until it holds, failing after stepTimeout
// with what cond last said it saw.
func (tb *tab) waitFor(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(stepTimeout)
	for {
		ok, seen := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("gave up after %v waiting for %s; last seen: %s", stepTimeout, what, seen)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// screenshotForDocs saves a screenshot as e2e/out/{name} and, with -docs,
// copies it to docs/{docName} for the README.
func (tb *tab) screenshotForDocs(t *testing.T, name, docName string) {
	t.Helper()
	tb.screenshot(t, name)
	if !*updateDocs {
		return
	}
	png, err := os.ReadFile(filepath.Join(outDir, name))
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join("..", "docs", docName)
	if _, err := os.Stat(filepath.Dir(dst)); errors.Is(err, os.ErrNotExist) {
		t.Fatalf("-docs: %s does not exist", filepath.Dir(dst))
	}
	if err := os.WriteFile(dst, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("copied to %s", dst)
}
