package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"

	"github.com/qsgate/qsgate/internal/devkit/demo"
)

// TestOpenInNewTab: "Open in a new tab", in the bar and in the help panel,
// against both embedding APIs, opens a second page (a top-level target, so
// QuickSight's cookies are first-party there) on a fresh embed URL: one more
// embed call, a URL other than the frame's (single-use: the first is not
// reused), the same user, entry point and deep-link parameters; the new page
// has no handle on the portal (noopener); the frame is left as it was and the
// portal page is not reloaded.
func TestOpenInNewTab(t *testing.T) {
	tools := requireTools(t, chromiumTool)
	bin := gatewayBinary(t)
	b := startBrowser(t, tools[0], testOutDir(t))

	for _, api := range demo.APIs() {
		t.Run(api, func(t *testing.T) {
			t.Parallel()
			p := startPortal(t, bin, demo.Options{API: api})
			tab := b.newTab(t)
			alice := p.userARN("alice@example.com")
			before := embedCalls(p.st)
			if resp := tab.signIn(t, p.url, p.st.IssuerURL, deepLink, "alice", ""); resp.Status != 200 {
				t.Fatalf("status of %s = %d, want 200", deepLink, resp.Status)
			}
			tab.wantConsoleOf(t, p, alice, "/dashboards/sales-2026", before)
			tab.do(t, "mark the portal page", chromedp.Evaluate[chromedp.Void]("window.__qsgateMarker = 1"))

			for _, tc := range []struct {
				button string
				reach  []chromedp.Action[chromedp.Void] // what makes the button clickable
			}{
				{"#bar-new-tab", nil},
				{"#help-new-tab", []chromedp.Action[chromedp.Void]{chromedp.Click(chromedp.CSS("#qs-help summary"))}},
			} {
				frameSrc := tab.iframeSrc(t)
				before := embedCalls(p.st)
				known := pageTargets(t, tab)
				tab.do(t, "press "+tc.button, append(tc.reach, chromedp.Click(chromedp.CSS(tc.button)))...)

				info := tab.waitNewPage(t, p.st.Sim.URL()+"/", known)
				if info.URL == frameSrc {
					t.Errorf("%s: the new tab opened the frame's URL again, want a fresh one", tc.button)
				}
				if info.CanAccessOpener {
					t.Errorf("%s: the new tab can reach the portal page (window.opener), want noopener", tc.button)
				}
				if got := embedCalls(p.st) - before; got != 1 {
					t.Errorf("%s: embed calls = %d, want 1", tc.button, got)
				}
				if got := tab.iframeSrc(t); got != frameSrc {
					t.Errorf("%s: the frame's URL changed, want it left as it was", tc.button)
				}
				if got := value(t, tab, "read the mark", chromedp.Evaluate[int]("window.__qsgateMarker || 0")); got != 1 {
					t.Fatalf("%s: the portal page lost its mark: it was reloaded", tc.button)
				}
				if got := tab.text(t, "#qs-notice"); !strings.Contains(got, "opened in a new tab") {
					t.Errorf("%s: the notice says %q, want that QuickSight opened in a new tab", tc.button, got)
				}

				opened := b.attach(t, info.TargetID)
				cp := opened.waitTopConsole(t)
				if cp.Error != "" || cp.Ended {
					t.Fatalf("%s: the new tab shows the simulator's error or ended page: %+v", tc.button, cp)
				}
				if cp.UserARN != alice || cp.EntryPoint != "/dashboards/sales-2026" {
					t.Errorf("%s: the new tab shows %s at %s, want %s at /dashboards/sales-2026", tc.button, cp.UserARN, cp.EntryPoint, alice)
				}
				if want := []string{"Region=EMEA", "Year=2026"}; !slices.Equal(cp.Params, want) {
					t.Errorf("%s: the new tab's dashboard parameters = %q, want %q", tc.button, cp.Params, want)
				}
				if got := opened.eval(t, `String(window.opener === null)`); got != "true" {
					t.Errorf("%s: window.opener === null in the new tab is %s, want true", tc.button, got)
				}
				if api == demo.APISession && tc.button == "#bar-new-tab" {
					opened.screenshot(t, "new-tab.png")
				}
				opened.close(t)
			}
			tab.wantNoPolicyProblems(t)
		})
	}
}

// pageTargets are the ids of the browser's page targets now.
func pageTargets(t *testing.T, tb *tab) []target.ID {
	t.Helper()
	var ids []target.ID
	for _, info := range browserTargets(t, tb) {
		if info.Type == "page" {
			ids = append(ids, info.TargetID)
		}
	}
	return ids
}

func browserTargets(t *testing.T, tb *tab) []*target.Info {
	t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
	defer cancel()
	infos, err := chromedp.Targets(ctx)
	if err != nil {
		t.Fatalf("list the browser's targets: %v", err)
	}
	return infos
}

// waitNewPage waits for a page target that is not one of known to be at an
// address starting with prefix.
func (tb *tab) waitNewPage(t *testing.T, prefix string, known []target.ID) *target.Info {
	t.Helper()
	var found *target.Info
	tb.waitFor(t, "a new tab at "+prefix, func() (bool, string) {
		var seen []string
		for _, info := range browserTargets(t, tb) {
			if info.Type != "page" || slices.Contains(known, info.TargetID) {
				continue
			}
			if strings.HasPrefix(info.URL, prefix) {
				found = info
				return true, ""
			}
			seen = append(seen, fmt.Sprintf("%.40q", info.URL))
		}
		return false, "new pages at " + strings.Join(seen, ", ")
	})
	return found
}

// attach is a tab on a target the browser opened (not one the test made).
func (b *browser) attach(t *testing.T, id target.ID) *tab {
	t.Helper()
	c := &consoleLog{}
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithTargetID(id), chromedp.WithListener(c.listen))
	t.Cleanup(cancel)
	if err := bounded(stepTimeout, func() error { return chromedp.Do(ctx) }); err != nil {
		t.Fatalf("attach to the new tab: %v", err)
	}
	return &tab{ctx: ctx, console: c}
}

// waitTopConsole waits until the tab's own document, the simulator's page,
// shows its console (parameters read), its ended page or its error.
func (tb *tab) waitTopConsole(t *testing.T) consolePage {
	t.Helper()
	var cp consolePage
	tb.waitFor(t, "the simulator's page in the new tab", func() (bool, string) {
		cp = consolePage{}
		if err := json.Unmarshal([]byte(tb.eval(t, "JSON.stringify("+consolePageJS+")")), &cp); err != nil {
			return false, err.Error()
		}
		return cp.Ended || cp.Error != "" || cp.UserARN != "" && (cp.DashboardID == "" || cp.ParamsReady), fmt.Sprintf("%+v", cp)
	})
	return cp
}

// close closes the tab's page.
func (tb *tab) close(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 5*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void]("window.close()")); err != nil {
		t.Logf("close the new tab: %v", err)
	}
}
