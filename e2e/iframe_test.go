package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/qsgate/qsgate/internal/devkit/demo"
	"github.com/qsgate/qsgate/internal/devkit/qssim"
)

// This file reads what the #qs-console iframe shows, whichever document it
// holds now, and checks it against the simulator's record of embed calls.

// A consolePage is what the document in the #qs-console iframe shows now:
// the simulator's console or dashboard page, its "session ended" page or
// its error page.
type consolePage struct {
	URL         string   `json:"-"` // the frame's address, fragment included
	Ended       bool     `json:"ended"`
	Error       string   `json:"error"`
	UserARN     string   `json:"userArn"`
	UserName    string   `json:"userName"`
	EntryPoint  string   `json:"entryPoint"`
	Experience  string   `json:"experience"`
	DashboardID string   `json:"dashboardId"`
	Params      []string `json:"params"`      // NAME=VALUE
	ParamsReady bool     `json:"paramsReady"` // the page has read its fragment
}

// consolePageJS reads the simulator's page; see qssim's pageTemplate.
const consolePageJS = `(() => {
  const text = id => { const e = document.getElementById(id); return e ? e.textContent.trim() : ""; };
  const list = document.getElementById("qs-parameters");
  return {
    ended: !!document.getElementById("qs-session-ended"),
    error: text("qs-error-message"),
    userArn: text("qs-user-arn"),
    userName: text("qs-user-name"),
    entryPoint: text("qs-entry-point"),
    experience: text("qs-experience"),
    dashboardId: text("qs-dashboard-id"),
    params: list ? Array.from(list.children, li => li.dataset.name + "=" + li.dataset.value) : [],
    paramsReady: !!list && list.dataset.ready === "true",
  };
})()`

// readConsole reads the iframe's current document through the DevTools
// protocol, in an isolated world of the frame: the simulator is another
// origin, so the portal's own script cannot look in, and chromedp's node
// cache would not follow the iframe to a new document.
func readConsole() chromedp.Action[consolePage] {
	return func(ctx context.Context, tg *chromedp.Target) (consolePage, error) {
		tree, err := cdp.Call(ctx, tg, cdppage.GetFrameTree, cdp.Empty{})
		if err != nil {
			return consolePage{}, err
		}
		if n := len(tree.FrameTree.ChildFrames); n != 1 {
			return consolePage{}, fmt.Errorf("the page has %d frames, want 1 (the console)", n)
		}
		frame := tree.FrameTree.ChildFrames[0].Frame
		world, err := cdp.Call(ctx, tg, cdppage.CreateIsolatedWorld, cdppage.CreateIsolatedWorldParams{FrameID: frame.ID, WorldName: "e2e"})
		if err != nil {
			return consolePage{}, err
		}
		cp, err := chromedp.Evaluate[consolePage](consolePageJS, func(p *runtime.EvaluateParams) {
			p.ContextID = world.ExecutionContextID
		})(ctx, tg)
		cp.URL = frame.URL + frame.URLFragment
		return cp, err
	}
}

// waitConsole polls the iframe's document until ok holds for it and the
// document is the iframe's current source, failing with what was last seen
// after stepTimeout.
func (tb *tab) waitConsole(t *testing.T, what string, ok func(consolePage) bool) consolePage {
	t.Helper()
	var cp consolePage
	tb.waitFor(t, what, func() (bool, string) {
		ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
		defer cancel()
		var err error
		cp, err = chromedp.Run(ctx, readConsole())
		if err != nil { // between documents: the frame or its world is gone
			return false, err.Error()
		}
		src := tb.eval(t, `document.getElementById("qs-console").src`)
		return cp.URL == src && ok(cp), fmt.Sprintf("%+v (iframe src %.60q...)", cp, src)
	})
	return cp
}

// wantConsoleOf waits until the iframe shows the console (or dashboard)
// for userARN at entryPoint, its parameters read, and checks it came from
// exactly one new embed call of the portal's API (the simulator had
// answered before of them when the page was asked for).
func (tb *tab) wantConsoleOf(t *testing.T, p *portal, userARN, entryPoint string, before int) consolePage {
	t.Helper()
	if src := tb.iframeSrc(t); !strings.HasPrefix(src, p.st.Sim.URL()+"/") {
		t.Errorf("iframe src = %.60q..., want an embed URL of the simulator %s", src, p.st.Sim.URL())
	}
	cp := tb.waitConsole(t, "the console of "+userARN+" at "+entryPoint, func(cp consolePage) bool {
		return cp.Ended || cp.Error != "" || cp.UserARN != "" && (cp.DashboardID == "" || cp.ParamsReady)
	})
	if cp.Ended || cp.Error != "" {
		t.Fatalf("the iframe shows the simulator's ended or error page: %+v", cp)
	}
	if cp.UserARN != userARN || cp.EntryPoint != entryPoint {
		t.Errorf("the iframe shows %s at %s, want %s at %s", cp.UserARN, cp.EntryPoint, userARN, entryPoint)
	}
	if got := embedCalls(p.st) - before; got != 1 {
		t.Errorf("embed calls for this view = %d, want 1", got)
	}
	var last qssim.Call
	for _, c := range p.st.Sim.Calls() {
		if isEmbedCall(c) {
			last = c
		}
	}
	if want := embedOperations[p.st.API]; last.Operation != want {
		t.Errorf("last embed call %s, want %s (QSGATE_QUICKSIGHT_API=%s)", last.Operation, want, p.st.API)
	}
	if last.UserArn != userARN || last.EntryPoint != entryPoint {
		t.Errorf("last embed call: %q for %q, want %q for %q", last.EntryPoint, last.UserArn, entryPoint, userARN)
	}
	if p.st.API == demo.APIRegisteredUser && !slices.Equal(last.AllowedDomains, []string{p.url}) {
		t.Errorf("last embed call's AllowedDomains = %q, want the portal's origin [%s]", last.AllowedDomains, p.url)
	}
	return cp
}
