package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/qsgate/qsgate/internal/devkit/demo"
)

// axeTags are the axe-core rules the pages must pass: WCAG 2.0 and 2.1, A
// and AA, and axe's best practices.
var axeTags = []string{"wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"}

// An a11yPage is one page in one state, as the tests reach it.
type a11yPage struct {
	name  string
	reach func(t *testing.T, tab *tab) // brings the tab to the page, in its state
}

// TestAccessibility runs axe-core (the version e2e/package-lock.json pins) on
// every page of the portal in the states the browser tests reach: the
// provider's sign-in page (the dev kit's, not the product, but the first
// page a user meets in the demo), the embed page with its console and with
// its sign-in-again notice, the home page with a list, filtered to nothing,
// for a reader (with the note that the console needs an author) and with
// nothing shared, the error pages (403 not allowed, reader, no QuickSight
// user; 404; 400 bad id) and the signed-out page. Every violation is
// reported with its rule, impact, the nodes' selectors and the rule's help
// page; every page is checked even when another fails.
func TestAccessibility(t *testing.T) {
	tools := requireTools(t, chromiumTool)
	axeSrc, axePath := requireAxe(t)
	pinned := pinnedAxeVersion(t)
	bin := gatewayBinary(t)
	b := startBrowser(t, tools[0], testOutDir(t))
	// The template mapping (the demo's default) knows every user's ARN
	// without asking QuickSight, but not their role: the reader's note on
	// the home page needs a mapping that finds the user (lookup).
	p := startPortal(t, bin, demo.Options{})
	lookup := startPortal(t, bin, demo.Options{Mapping: demo.MappingLookup})

	// Each user's pages in order, in a tab of their own.
	users := []struct {
		p     *portal
		pages []a11yPage
	}{
		{p, []a11yPage{
			signInPage(p, "/embed/start", "alice"),
			{name: "embed page", reach: func(t *testing.T, tab *tab) {
				before := embedCalls(p.st)
				signInAs(p, "alice", "/embed/start", 200)(t, tab)
				tab.wantConsoleOf(t, p, p.userARN("alice@example.com"), "/start", before)
			}},
			{name: "home page with a list", reach: func(t *testing.T, tab *tab) {
				openAt(p, "/", 200)(t, tab)
				if n := len(tab.listed(t, false)); n == 0 {
					t.Fatalf("alice's home page lists nothing")
				}
			}},
			{name: "home page, filter matching nothing", reach: func(t *testing.T, tab *tab) {
				tab.do(t, "type in the filter", chromedp.SendKeys(chromedp.CSS("#content-filter"), "no such name"))
				tab.waitVisible(t, "#content-none")
			}},
			{name: "503 page that retries itself, stopped", reach: func(t *testing.T, tab *tab) {
				p.st.Sim.FailNext(50, "ThrottlingException") // past the SDK's retries
				openAt(p, "/embed/start", 503)(t, tab)
				p.st.Sim.FailNext(0, "")
				tab.waitVisible(t, "#auto-retry-stop")
				tab.do(t, "press Stop", chromedp.Click(chromedp.CSS("#auto-retry-stop")))
				if got := tab.text(t, "#auto-retry-text"); !strings.Contains(got, "Stopped") {
					t.Fatalf("after Stop the page says %q, want that it stopped", got)
				}
			}},
			{name: "404 page", reach: openAt(p, "/no-such-page", 404)},
			{name: "400 page (bad id)", reach: openAt(p, "/embed/dashboards/bad.id", 400)},
			{name: "signed-out page", reach: func(t *testing.T, tab *tab) {
				openAt(p, "/", 200)(t, tab)
				if resp := tab.clickAndWait(t, "sign out", "#logout"); resp.URL != p.url+"/signed-out" {
					t.Fatalf("after sign-out at %s, want %s/signed-out", resp.URL, p.url)
				}
				tab.waitVisible(t, "#signed-out")
			}},
		}},
		{p, []a11yPage{
			signInPage(p, "/embed/start", "adam"),
			{name: "embed page, portal session ended", reach: func(t *testing.T, tab *tab) {
				signInAs(p, "adam", "/embed/start", 200)(t, tab)
				tab.do(t, "delete the session cookie", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
					_, err := cdp.Call(ctx, tg, network.DeleteCookies, network.DeleteCookiesParams{Name: "qsgate_session", URL: p.url + "/"})
					return err
				}))
				tab.do(t, "press Reload", chromedp.Click(chromedp.CSS("#bar-reload")))
				tab.waitVisible(t, "#qs-sign-in-again")
			}},
		}},
		{p, []a11yPage{
			signInPage(p, "/", "nora"),
			{name: "home page with nothing shared", reach: func(t *testing.T, tab *tab) {
				signInAs(p, "nora", "/", 200)(t, tab)
				tab.waitVisible(t, "#content-empty")
			}},
			{name: "403 page (no QuickSight user)", reach: openAt(p, "/embed/start", 403)},
		}},
		{p, []a11yPage{
			signInPage(p, "/", "eve"),
			{name: "403 page (not allowed)", reach: signInAs(p, "eve", "/auth/callback", 403)},
		}},
		{lookup, []a11yPage{
			{name: "home page for a reader", reach: func(t *testing.T, tab *tab) {
				signInPage(lookup, "/", "rita").reach(t, tab)
				signInAs(lookup, "rita", "/", 200)(t, tab)
				tab.waitVisible(t, "#content-reader")
			}},
			{name: "403 page (reader)", reach: openAt(lookup, "/embed/start", 403)},
		}},
	}

	var lastTab *tab
	for _, u := range users {
		tab := b.newTab(t)
		lastTab = tab
		for _, pg := range u.pages {
			reached := false
			t.Run(pg.name, func(t *testing.T) {
				pg.reach(t, tab)
				reached = true
				res := tab.axe(t, axeSrc)
				if res.Version != pinned {
					t.Fatalf("%s is axe-core %s, want %s (%s)", axePath, res.Version, pinned, axeInstall)
				}
				if n := len(res.Violations); n > 0 {
					t.Errorf("%s (%s): %d axe-core %s violation(s):\n%s", pg.name, tab.where(), n, res.Version, formatViolations(res.Violations))
				}
			})
			if !reached {
				break // the user's next pages start from this one
			}
		}
	}

	// The check can fail: a button without a name is a violation.
	t.Run("detector", func(t *testing.T) {
		lastTab.do(t, "add a button without a name", chromedp.Evaluate[chromedp.Void](
			`document.body.appendChild(document.createElement("button"))`))
		res := lastTab.axe(t, axeSrc)
		if !slices.ContainsFunc(res.Violations, func(v axeViolation) bool { return v.ID == "button-name" }) {
			t.Errorf("axe-core found %d violation(s) (%s) on a page with a nameless button, want button-name", len(res.Violations), formatViolations(res.Violations))
		}
	})
}

// signInPage is the provider's sign-in page, reached by opening path on p
// signed out, with subject's button.
func signInPage(p *portal, path, subject string) a11yPage {
	return a11yPage{name: "sign-in page (development provider), for " + subject, reach: func(t *testing.T, tab *tab) {
		tab.navigate(t, p.url+path)
		if loc := tab.location(t); !strings.HasPrefix(loc, p.st.IssuerURL+"/login?") {
			t.Fatalf("signed out, %s went to %s, want the provider's sign-in page", path, loc)
		}
		tab.waitVisible(t, "#login-"+subject)
	}}
}

// signInAs signs in as subject on the sign-in page, landing on path of p
// with status.
func signInAs(p *portal, subject, path string, status int64) func(*testing.T, *tab) {
	return func(t *testing.T, tab *tab) {
		resp := tab.clickAndWait(t, "sign in as "+subject, "#login-"+subject)
		if got, _, _ := strings.Cut(resp.URL, "?"); got != p.url+path || resp.Status != status {
			t.Fatalf("after sign-in: %s (status %d), want %s (status %d)", got, resp.Status, p.url+path, status)
		}
	}
}

// openAt opens path on p, which must answer status.
func openAt(p *portal, path string, status int64) func(*testing.T, *tab) {
	return func(t *testing.T, tab *tab) {
		if resp := tab.open(t, p.url+path); resp.Status != status {
			t.Fatalf("status of %s = %d, want %d", path, resp.Status, status)
		}
	}
}

// axeResult is what axe.run found, reduced to what a failure reports.
type axeResult struct {
	Version    string
	Violations []axeViolation
}

// An axeViolation is one rule a page breaks, and where.
type axeViolation struct {
	ID, Impact, Help, HelpURL string
	Nodes                     []string // each node's selector
}

func (v axeViolation) String() string {
	return fmt.Sprintf("%s (%s): %s; %s\n    %s", v.ID, v.Impact, v.Help, v.HelpURL, strings.Join(v.Nodes, "\n    "))
}

// formatViolations lists vs, one rule and its nodes after another.
func formatViolations(vs []axeViolation) string {
	lines := make([]string, len(vs))
	for i, v := range vs {
		lines[i] = "  " + v.String()
	}
	return strings.Join(lines, "\n")
}

// axe runs axe-core on the tab's page, injecting it first (a navigation
// starts without it). Evaluated through the DevTools protocol, the script is
// not subject to the page's Content Security Policy, so the page needs no
// exception for it. The QuickSight iframe is left out (iframes: false): it is
// QuickSight's page, not the portal's; its title, which names it, is checked.
func (tb *tab) axe(t *testing.T, src string) axeResult {
	t.Helper()
	if tb.eval(t, `typeof axe`) == "undefined" {
		tb.do(t, "inject axe-core", chromedp.Evaluate[chromedp.Void](src))
	}
	tags, err := json.Marshal(axeTags)
	if err != nil {
		t.Fatal(err)
	}
	return value(t, tb, "run axe-core", chromedp.Evaluate[axeResult](fmt.Sprintf(`
		axe.run(document, {runOnly: {type: "tag", values: %s}, iframes: false, resultTypes: ["violations"]})
		  .then(r => ({
		    Version: axe.version,
		    Violations: r.violations.map(v => ({
		      ID: v.id, Impact: v.impact || "", Help: v.help, HelpURL: v.helpUrl,
		      Nodes: v.nodes.map(n => n.target.map(s => [].concat(s).join(" >>> ")).join(" in frame ")),
		    })),
		  }))`, tags), chromedp.EvalAwaitPromise))
}

// pinnedAxeVersion is the axe-core version e2e/package-lock.json pins (npm
// ci installs exactly that, or fails).
func pinnedAxeVersion(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("package-lock.json")
	if err != nil {
		t.Fatal(err)
	}
	var lock struct {
		Packages map[string]struct{ Version string } `json:"packages"`
	}
	if err := json.Unmarshal(b, &lock); err != nil {
		t.Fatalf("package-lock.json: %v", err)
	}
	v := lock.Packages["node_modules/axe-core"].Version
	if v == "" {
		t.Fatal("package-lock.json pins no axe-core")
	}
	return v
}
