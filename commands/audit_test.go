package commands

import (
	"bufio"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/oauth2-proxy/mockoidc"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/qsgate/qsgate/internal/devkit/redistest"
)

// eve signs in at the provider but is outside the allowed email domain.
var eve = &mockoidc.MockUser{Subject: "sub-eve", Email: "eve@partner.example", EmailVerified: true, PreferredUsername: "eve"}

// auditLines checks every line of stream against docs/audit.schema.json
// (formats asserted) and that none holds a secret, then returns them
// decoded. secrets are values seen in the run (cookies, the embed URL, a
// code) that must appear in no line; any URL, "code=" or JWT is refused too.
func auditLines(t *testing.T, stream string, secrets ...string) []map[string]any {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	sch, err := c.Compile(filepath.Join("..", "docs", "audit.schema.json"))
	if err != nil {
		t.Fatalf("compile docs/audit.schema.json: %v", err)
	}
	var lines []map[string]any
	sc := bufio.NewScanner(strings.NewReader(stream))
	for sc.Scan() {
		line := sc.Text()
		inst, err := jsonschema.UnmarshalJSON(strings.NewReader(line))
		if err != nil {
			t.Fatalf("audit line is not JSON: %v\n%s", err, line)
		}
		if err := sch.Validate(inst); err != nil {
			t.Errorf("audit line does not match docs/audit.schema.json: %v\n%s", err, line)
		}
		for _, s := range append([]string{"://", "code=", "eyJ"}, secrets...) {
			if s != "" && strings.Contains(line, s) {
				t.Errorf("audit line holds %q:\n%s", s, line)
			}
		}
		m, _ := inst.(map[string]any)
		lines = append(lines, m)
	}
	return lines
}

// summary is each line's event, reason and subject, to compare in order.
func summary(lines []map[string]any) []string {
	var out []string
	for _, l := range lines {
		out = append(out, fmt.Sprintf("%v %v %v", l["event"], l["reason"], l["sub"]))
	}
	return out
}

// TestAuditStream runs the whole program with the audit stream on stdout
// (the default): a forged callback, a sign-in the policy refuses, a
// sign-in and a view, a reader refused the console, and a sign-out. Every
// line matches the schema, names who and why, carries the request, and
// holds no token, cookie, code or embed URL; the operational log (stderr)
// holds no audit line.
func TestAuditStream(t *testing.T) {
	s := startStack(t, map[string]string{"QSGATE_ALLOWED_EMAIL_DOMAINS": "example.com"})
	forger := newBrowser(t)
	if p := forger.get(s.url + "/auth/callback?state=forged&code=stolen-code-123"); p.status != 400 {
		t.Fatalf("forged callback: %s, want 400", p)
	}
	if p := s.signIn(newBrowser(t), eve, "/"); p.status != 403 {
		t.Fatalf("eve: %s, want 403", p)
	}
	b := newBrowser(t)
	view := s.signIn(b, alice, "/embed/start")
	if view.status != 200 {
		t.Fatalf("alice's view: %s", view)
	}
	embedURL := iframeSrc(t, view)
	if p := s.signIn(newBrowser(t), rita, "/embed/start"); p.status != 403 {
		t.Fatalf("rita at the console: %s, want 403", p)
	}
	home := b.get(s.url + "/")
	m := csrfRE.FindStringSubmatch(home.body)
	if m == nil {
		t.Fatal("no CSRF token on the home page")
	}
	base, _ := url.Parse(s.url)
	var secrets []string
	for _, c := range b.c.Jar.Cookies(base) {
		secrets = append(secrets, c.Value)
	}
	if p := b.do(b.noFollow(), "POST", s.url+"/logout", url.Values{"_csrf": {m[1]}}); p.status != 303 {
		t.Fatalf("sign-out: %s, want 303", p)
	}

	lines := auditLines(t, s.out.String(), append(secrets, embedURL, "stolen-code-123", m[1])...)
	want := []string{
		"sign_in_refused state_invalid <nil>",
		"sign_in_refused not_allowed sub-eve",
		"sign_in <nil> sub-alice",
		"embed_issued <nil> sub-alice",
		"sign_in <nil> sub-rita",
		"access_refused not_author sub-rita",
		"sign_out user sub-alice",
	}
	if got := summary(lines); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("audit events:\n%s\nwant:\n%s\nstream:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"), s.out)
	}
	for _, l := range lines {
		if l["client_ip"] != "127.0.0.1" || l["request_id"] == nil || l["instance"] == nil {
			t.Errorf("line without the request's client address, request id or instance: %v", l)
		}
	}
	issued := lines[3]
	if issued["user_arn"] != arnOf(alice.Email) || issued["entry_point"] != "/start" || issued["experience"] != "QuickSightConsole" ||
		issued["namespace"] != "default" || issued["aws_request_id"] == nil {
		t.Errorf("embed_issued = %v, want alice's ARN, /start, QuickSightConsole, default, QuickSight's request id", issued)
	}
	if strings.Contains(s.logs.String(), `"audit":true`) {
		t.Errorf("the operational log holds audit lines:\n%s", s.logs)
	}
}

// TestAuditLogFileAndRevoke: with QSGATE_AUDIT_LOG a file, the gateway
// and `qsgate sessions revoke` append to it (0600), stdout gets nothing,
// the revoke says how many sessions ended, and /metrics counts lost lines.
func TestAuditLogFileAndRevoke(t *testing.T) {
	r := redistest.Start(t)
	path := filepath.Join(t.TempDir(), "audit.log")
	metricsAddr := freeAddr(t)
	s := startStack(t, map[string]string{"QSGATE_AUDIT_LOG": path, "QSGATE_SESSION_STORE": "redis", "QSGATE_REDIS_URL": r.URL(),
		"QSGATE_METRICS_ADDR": metricsAddr})
	b := newBrowser(t)
	if p := s.signIn(b, alice, "/"); p.status != 200 {
		t.Fatalf("sign-in: %s", p)
	}
	var out strings.Builder
	env := s.env
	if err := Run(t.Context(), "dev", []string{"sessions", "revoke", "--email", alice.Email, "--env-file", "/dev/null"},
		func(k string) string { return env[k] }, &out, io.Discard); err != nil || !strings.Contains(out.String(), "ended 1 session") {
		t.Fatalf("sessions revoke: %v\n%s", err, out.String())
	}
	if p := b.do(b.noFollow(), "GET", s.url+"/", nil); p.status != 302 {
		t.Errorf("alice after revoke: %s, want a redirect to sign in", p)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := auditLines(t, string(data))
	if got, want := strings.Join(summary(lines), "\n"), "sign_in <nil> sub-alice\nsession_revoked operator <nil>"; got != want {
		t.Fatalf("audit file:\n%s\nwant:\n%s", got, want)
	}
	if n, ok := lines[1]["count"]; !ok || fmt.Sprint(n) != "1" || lines[1]["email"] != alice.Email {
		t.Errorf("session_revoked = %v, want count 1 for %s", lines[1], alice.Email)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("audit file mode = %v (%v), want 0600", fi.Mode().Perm(), err)
	}
	resp, err := http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(metrics), "\nqsgate_audit_write_failures_total 0\n") {
		t.Errorf("/metrics has no qsgate_audit_write_failures_total 0")
	}
	if s.out.String() != "" || strings.Contains(out.String(), `"audit"`) {
		t.Errorf("with a file, stdout got audit lines: %q %q", s.out, out.String())
	}
}

// A QSGATE_AUDIT_LOG that cannot be opened stops start-up, naming it.
func TestAuditLogThatCannotOpenStopsStartUp(t *testing.T) {
	env := validOffline()
	env["QSGATE_AUDIT_LOG"] = filepath.Join(t.TempDir(), "missing", "audit.log")
	_, err := build(t.Context(), func(k string) string { return env[k] }, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "QSGATE_AUDIT_LOG: cannot open it:") {
		t.Fatalf("build = %v, want a problem naming QSGATE_AUDIT_LOG", err)
	}
}

// TestAuditLogReopenedOnSIGHUP: after a rotation moves the audit file away,
// SIGHUP makes the gateway write to a new file at the path.
func TestAuditLogReopenedOnSIGHUP(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	s := startStack(t, map[string]string{"QSGATE_AUDIT_LOG": path})
	b := newBrowser(t)
	if p := s.signIn(b, alice, "/"); p.status != 200 {
		t.Fatalf("sign-in: %s", p)
	}
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	before := strings.Count(s.logs.String(), "audit log reopened")
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if !waitFor(func() bool { return strings.Count(s.logs.String(), "audit log reopened") > before }) {
		t.Fatalf("no \"audit log reopened\" after SIGHUP:\n%s", s.logs)
	}
	if p := b.get(s.url + "/embed/start"); p.status != 200 {
		t.Fatalf("view: %s", p)
	}
	for name, want := range map[string]string{path + ".1": "sign_in <nil> sub-alice", path: "embed_issued <nil> sub-alice"} {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(summary(auditLines(t, string(data))), "\n"); got != want {
			t.Errorf("%s:\n%s\nwant:\n%s", name, got, want)
		}
	}
}

// TestRevokeWhenTheAuditFileCannotOpen: an operator whose user may not open
// the audit file still ends the sessions; the event goes to stdout and
// stderr says why.
func TestRevokeWhenTheAuditFileCannotOpen(t *testing.T) {
	r := redistest.Start(t)
	s := startStack(t, map[string]string{"QSGATE_SESSION_STORE": "redis", "QSGATE_REDIS_URL": r.URL()})
	if p := s.signIn(newBrowser(t), alice, "/"); p.status != 200 {
		t.Fatalf("sign-in: %s", p)
	}
	env := maps.Clone(s.env)
	env["QSGATE_AUDIT_LOG"] = filepath.Join(t.TempDir(), "missing", "audit.log")
	var out, errOut strings.Builder
	err := Run(t.Context(), "dev", []string{"sessions", "revoke", "--email", alice.Email, "--env-file", "/dev/null"},
		func(k string) string { return env[k] }, &out, &errOut)
	if err != nil || !strings.Contains(out.String(), "ended 1 session") {
		t.Fatalf("sessions revoke: %v\n%s", err, out.String())
	}
	if !strings.Contains(errOut.String(), "QSGATE_AUDIT_LOG") {
		t.Errorf("stderr does not say why the event went to stdout: %q", errOut.String())
	}
	if got := summary(auditLines(t, strings.SplitN(out.String(), "ended", 2)[0])); len(got) != 1 || got[0] != "session_revoked operator <nil>" {
		t.Errorf("stdout's audit lines = %q, want one session_revoked", got)
	}
}
