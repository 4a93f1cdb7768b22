package commands

import (
	"context"
	"errors"
	"flag"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

var (
	formActionRE = regexp.MustCompile(`<form method="post" action="([^"]+)" id="login-form">`)
	hiddenRE     = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)
)

// `qsgate demo` as a newcomer runs it: one command, then sign in as alice on
// the built-in page and get the console page.
func TestDemoCommand(t *testing.T) {
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	stdout, logs := &syncBuffer{}, &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, "v1.2.3", []string{"demo", "--addr", addr}, func(string) string { return "" }, stdout, logs)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("demo returned %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("demo did not stop on Ctrl-C")
		}
		if t.Failed() {
			t.Logf("demo output:\n%s\nlogs:\n%s", stdout, logs)
		}
	})
	base := "http://" + addr
	if !waitFor(func() bool { return httpStatus(base+"/readyz") == 200 }) {
		t.Fatalf("the demo never became ready")
	}
	for _, want := range []string{"THIS IS A DEMO", "Open " + base, "User mapping: template", "alice", "rita", "nora", "eve@partner.example"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("banner lacks %q:\n%s", want, stdout)
		}
	}
	if !strings.Contains(logs.String(), "version=v1.2.3") {
		t.Errorf("the start-up line does not say the version:\n%s", logs)
	}

	b := newBrowser(t)
	p := demoSignIn(t, b, base, "/embed/analyses/q3", "alice")
	if p.status != 200 || p.url != base+"/embed/analyses/q3" {
		t.Fatalf("after signing in as alice: %s, want 200 at /embed/analyses/q3\n%s", p, p.body)
	}
	src := iframeSrc(t, p)
	resp, err := http.Get(src)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"alice@example.com", "/analyses/q3", "demo"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("the simulator's console page lacks %q", want)
		}
	}
}

// demoSignIn opens path on the demo at base and signs in as user on the
// built-in sign-in page.
func demoSignIn(t *testing.T, b *browser, base, path, user string) page {
	t.Helper()
	login := b.get(base + path)
	m := formActionRE.FindStringSubmatch(login.body)
	if m == nil {
		t.Fatalf("no sign-in form at %s:\n%s", login.url, login.body)
	}
	action, _ := url.Parse(login.url)
	action, _ = action.Parse(strings.ReplaceAll(m[1], "&amp;", "&"))
	form := url.Values{"user": {user}}
	for _, h := range hiddenRE.FindAllStringSubmatch(login.body, -1) {
		form.Set(h[1], h[2])
	}
	return b.do(b.c, http.MethodPost, action.String(), form)
}

// startDemoCommand runs `qsgate demo` with args until the test ends and
// returns its base URL and banner.
func startDemoCommand(t *testing.T, args ...string) (string, *syncBuffer) {
	t.Helper()
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	stdout, logs := &syncBuffer{}, &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, "dev", append([]string{"demo", "--addr", addr}, args...), func(string) string { return "" }, stdout, logs)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("demo returned %v", err)
		}
		if t.Failed() {
			t.Logf("demo output:\n%s\nlogs:\n%s", stdout, logs)
		}
	})
	base := "http://" + addr
	if !waitFor(func() bool { return httpStatus(base+"/readyz") == 200 }) {
		t.Fatalf("the demo never became ready")
	}
	return base, stdout
}

// Each mapping mode of the demo does what its banner says for each user.
func TestDemoMappingModes(t *testing.T) {
	for _, tt := range []struct {
		mode string
		want map[string]int // demo user -> status of /embed/start
	}{
		{"lookup", map[string]int{"alice": 200, "adam": 200, "rita": 403, "nora": 403, "eve": 403}},
		{"register", map[string]int{"alice": 200, "rita": 403, "nora": 200, "eve": 403}},
		{"iam", map[string]int{"alice": 200, "rita": 403, "nora": 200, "eve": 403}},
		// rita: the mode learns no role, so the reader gets the 502 page.
		{"identity-center", map[string]int{"alice": 200, "adam": 200, "rita": 502, "nora": 403, "eve": 403}},
	} {
		t.Run(tt.mode, func(t *testing.T) {
			base, banner := startDemoCommand(t, "--mapping", tt.mode)
			if !strings.Contains(banner.String(), "User mapping: "+tt.mode+" - ") {
				t.Errorf("banner does not name the mode:\n%s", banner)
			}
			for user, want := range tt.want {
				p := demoSignIn(t, newBrowser(t), base, "/embed/start", user)
				if p.status != want {
					t.Errorf("%s: %s, want %d\n%s", user, p, want, p.body)
				}
				if want == 200 {
					iframeSrc(t, p)
				}
				if user == "eve" && !strings.Contains(p.body, "Your account is not allowed to use this portal") {
					t.Errorf("eve: page does not say she is not allowed")
				}
				if tt.mode == "identity-center" {
					switch user {
					case "alice", "adam": // the console of their Identity Center user
						if page := openConsole(t, iframeSrc(t, p)); !strings.Contains(page, `id="qs-user-name">`+user+"@example.com<") {
							t.Errorf("%s: the console opened for someone else:\n%s", user, page)
						}
					case "nora":
						if !strings.Contains(p.body, "Your account is not in IAM Identity Center") {
							t.Errorf("nora: page does not say she is not in IAM Identity Center")
						}
					}
				}
			}
		})
	}
}

// A flag the command does not take is an error, not a surprise: the flag
// package's own.
func TestMisplacedFlags(t *testing.T) {
	for _, args := range [][]string{
		{"serve", "--addr", "127.0.0.1:9000"},
		{"check-config", "--public-url", "http://localhost:9000"},
		{"demo", "--env-file", "/dev/null"},
		{"serve", "--mapping", "lookup"},
		{"check-config", "--mapping", "template"},
		{"--addr", "127.0.0.1:9000"},
		{"--env-file", "/dev/null", "demo"},
		{"version", "--user", "alice@example.com"},
	} {
		err := Run(t.Context(), "dev", args, func(string) string { return "" }, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "flag provided but not defined") {
			t.Errorf("qsgate %s: err = %v, want a misplaced-flag error", strings.Join(args, " "), err)
		}
	}
}

func TestDemoRefusesNonLoopback(t *testing.T) {
	for _, args := range [][]string{
		{"demo", "--addr", "0.0.0.0:8080"},
		{"demo", "--addr", ":8080"},
		{"demo", "--addr", "192.0.2.2:8080", "--public-url", "http://127.0.0.1:8080"},
		{"demo", "--addr", "example.com:8080"},
		{"demo", "--addr", "127.0.0.1:0", "--public-url", "http://portal.example.com"},
	} {
		if err := Run(t.Context(), "dev", args, func(string) string { return "" }, io.Discard, io.Discard); err == nil {
			t.Errorf("qsgate %s started; want a refusal", strings.Join(args, " "))
		}
	}
}

// --mapping takes a mode the demo knows; anything else stops the command
// before it starts anything, naming the modes.
func TestDemoRefusesUnknownMapping(t *testing.T) {
	for _, value := range []string{"ldap", "LOOKUP", "file", ""} {
		args := []string{"demo", "--addr", "127.0.0.1:0", "--mapping", value}
		err := Run(t.Context(), "dev", args, func(string) string { return "" }, io.Discard, io.Discard)
		if err == nil {
			t.Errorf("qsgate %s started; want a refusal", strings.Join(args, " "))
			continue
		}
		for _, want := range []string{"--mapping", "template, lookup, register, iam"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("qsgate %s: err = %q, want it to contain %q", strings.Join(args, " "), err, want)
			}
		}
	}
}

func TestHelpNamesMappings(t *testing.T) {
	var stderr syncBuffer
	err := Run(t.Context(), "dev", []string{"--help"}, func(string) string { return "" }, io.Discard, &stderr)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("--help: err = %v, want flag.ErrHelp", err)
	}
	if want := "-mapping string\n    \tthe user-mapping mode to show: template, lookup, register, iam"; !strings.Contains(stderr.String(), want) {
		t.Errorf("--help lacks %q:\n%s", want, stderr.String())
	}
}

// The demo shows the newer API: a reader opens a dashboard in the
// Dashboard experience; bad values are refused before anything starts.
func TestDemoNewerAPI(t *testing.T) {
	base, banner := startDemoCommand(t, "--api", "registered-user", "--dashboard-experience", "dashboard")
	p := demoSignIn(t, newBrowser(t), base, "/embed/dashboards/sales-2026", "rita")
	if p.status != 200 {
		t.Errorf("rita's dashboard: %s\n%s", p, p.body)
	}
	if !strings.Contains(p.body, `id="bar-title"`) {
		t.Errorf("no slim bar on the embed page")
	}
	// The banner names the other experiences, and rita (a reader) opens them.
	if !strings.Contains(banner.String(), "/embed/qna") {
		t.Errorf("banner does not name the Q&A page:\n%s", banner)
	}
	for _, path := range []string{"/embed/qna", "/embed/visual/sales-2026/sheet-1/visual-1"} {
		b := newBrowser(t)
		if p := demoSignIn(t, b, base, path, "rita"); p.status != 200 || !strings.Contains(iframeSrc(t, p), "/embedding/") {
			t.Errorf("rita's %s: %s\n%s", path, p, p.body)
		}
	}
	for _, args := range [][]string{{"--api", "anonymous"}, {"--dashboard-experience", "story"}, {"--dashboard-experience", "dashboard"}} {
		err := Run(t.Context(), "dev", append([]string{"demo", "--addr", freeAddr(t)}, args...), func(string) string { return "" }, io.Discard, io.Discard)
		if err == nil {
			t.Errorf("demo %v started", args)
		}
	}
}
