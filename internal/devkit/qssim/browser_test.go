//go:build linux

package qssim_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/chromedp/chromedp"

	"github.com/qsgate/qsgate/internal/devkit/qssim"
)

// The embed page's script, run by a real browser: dashboard parameters
// from the fragment, and the end of a session (EndConsoleSessions, or its
// lifetime) shown in the frame and posted to the portal. It needs chromium
// (QSGATE_E2E_CHROMIUM, or chromium in PATH) and skips without it, or with
// -short.

func chromiumPath(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("browser test: skipped with -short")
	}
	if p := os.Getenv("QSGATE_E2E_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("browser test: chromium not found in PATH (apt-get install chromium, or set QSGATE_E2E_CHROMIUM)")
	return ""
}

// headless starts chromium and stops it, with every process it started, at
// the end of the test.
func headless(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)), chromedp.UserDataDir(t.TempDir()),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.ModifyCmdFunc(func(cmd *exec.Cmd) {
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
		}),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	pid := 0
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
		if pid > 0 {
			_ = syscall.Kill(-pid, syscall.SIGKILL) // leftovers of the browser's own group; ESRCH when none
		}
	})
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	pid = chromedp.FromContext(ctx).Browser.Process().Pid
	return ctx
}

// newTab opens a tab, closed at the end of the test. Its first Do decides
// its lifetime: that is not the bounded context of run.
func newTab(t *testing.T, browser context.Context) context.Context {
	t.Helper()
	tab, cancel := chromedp.NewContext(browser)
	t.Cleanup(cancel)
	if err := chromedp.Do(tab); err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	return tab
}

// run runs one action, for at most 20 seconds.
func run[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// portal serves a page framing embedURL that writes what the frame posts
// into #got, as a portal listening for the session's end would.
func portal(t *testing.T, embedURL string) string {
	t.Helper()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><title>portal</title><div id="got"></div><iframe id="qs" src=%q></iframe>
<script>window.addEventListener("message", function (e) {
  document.getElementById("got").textContent = JSON.stringify(e.data) + " from " + e.origin;
});</script>`, embedURL)
	}))
	t.Cleanup(ts.Close)
	return ts.URL
}

func TestEmbedPageInBrowser(t *testing.T) {
	browser := headless(t)
	clock := newFakeClock()
	srv := startSim(t, func(c *qssim.Config) { c.Now = clock.Now })
	reader := srv.AddUser(qssim.User{UserName: "rita", Role: "READER"})
	qs := client(srv.URL(), nil)

	out, err := registeredEmbedURL(t, qs, reader, dashboardOf("sales"), []string{"http://127.0.0.1"})
	if err != nil {
		t.Fatalf("GenerateEmbedUrlForRegisteredUser: %v", err)
	}
	tab := newTab(t, browser)
	run(t, tab, "open the portal", chromedp.Navigate(portal(t, aws.ToString(out.EmbedUrl)+"#p.Region=EMEA&p.Year=2026&p.Region=APAC%20%26%20JP&other=x")))
	frames := run(t, tab, "find the frame", chromedp.Nodes(chromedp.CSS("iframe#qs")))
	frame := chromedp.FromNode(frames[0])

	params := run(t, tab, "read the parameters", chromedp.AttributesAll(chromedp.CSSAll("#qs-parameters[data-ready] li"), frame))
	var got []string
	for _, p := range params {
		got = append(got, p["data-name"]+"="+p["data-value"])
	}
	if want := []string{"Region=EMEA", "Year=2026", "Region=APAC & JP"}; !slices.Equal(got, want) {
		t.Errorf("parameters shown = %q, want %q", got, want)
	}

	srv.EndConsoleSessions()
	run(t, tab, "wait for the frame to end", chromedp.WaitReady(chromedp.CSS(`#qs-session-ended[data-reason="ended"]`), frame))
	message := run(t, tab, "wait for the message", chromedp.Text(chromedp.CSS("#got"), chromedp.NodeVisible))
	if want := `{"qsgate":"session-ended"} from ` + srv.URL(); message != want {
		t.Errorf("portal got %q, want %q", message, want)
	}
	if n := run(t, tab, "count the details", chromedp.Nodes(chromedp.CSSAll("#qs-user-arn"), frame, chromedp.AtLeast(0))); len(n) != 0 {
		t.Errorf("the ended page still shows #qs-user-arn")
	}

	// A console opened alone ends by itself when its lifetime passes.
	admin := srv.AddUser(qssim.User{UserName: "root", Role: "ADMIN"})
	out, err = registeredEmbedURL(t, qs, admin, consoleAt("/start"), nil)
	if err != nil {
		t.Fatalf("GenerateEmbedUrlForRegisteredUser: %v", err)
	}
	console := newTab(t, browser)
	run(t, console, "open the console", chromedp.Navigate(aws.ToString(out.EmbedUrl)))
	run(t, console, "read the console", chromedp.WaitReady(chromedp.CSS("#qs-user-arn")))
	clock.Advance(30 * time.Minute)
	defer clock.Advance(-30 * time.Minute)
	run(t, console, "wait for the console to expire", chromedp.WaitReady(chromedp.CSS(`#qs-session-ended[data-reason="expired"]`)))
}
