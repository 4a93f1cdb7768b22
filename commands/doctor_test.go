package commands

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oauth2-proxy/mockoidc"

	"github.com/qsgate/qsgate/internal/devkit/qssim"
)

// doctorWorld is what doctor checks in these tests: a real OIDC provider
// library (mockoidc) and the QuickSight simulator, which knows alice (an
// author) and rita (a reader), and settings that point at both.
type doctorWorld struct {
	idp *mockoidc.MockOIDC
	sim *qssim.Server
	env map[string]string
}

func newDoctorWorld(t *testing.T, simCfg qssim.Config) *doctorWorld {
	t.Helper()
	idp := startProvider(t)
	simCfg.AccountID = testAccount
	sim, err := qssim.Start(simCfg)
	if err != nil {
		t.Fatalf("qssim: %v", err)
	}
	t.Cleanup(func() { sim.Close() })
	sim.AddUser(qssim.User{UserName: alice.Email, Email: alice.Email, Role: "AUTHOR"})
	sim.AddUser(qssim.User{UserName: rita.Email, Email: rita.Email, Role: "READER"})
	region := simCfg.Region
	if region == "" {
		region = qssim.DefaultRegion
	}
	return &doctorWorld{idp: idp, sim: sim, env: map[string]string{
		"QSGATE_PUBLIC_URL":            "http://127.0.0.1:8080",
		"QSGATE_OIDC_ISSUER":           idp.Issuer(),
		"QSGATE_OIDC_CLIENT_ID":        idp.ClientID,
		"QSGATE_OIDC_CLIENT_SECRET":    idp.ClientSecret,
		"QSGATE_SESSION_KEYS":          "test-session-key-0123456789abcdefghijkl",
		"QSGATE_QUICKSIGHT_ACCOUNT_ID": testAccount,
		"QSGATE_AWS_TIMEOUT":           "5s",
		"AWS_REGION":                   region,
		"AWS_ACCESS_KEY_ID":            qssim.DefaultAccessKeyID,
		"AWS_SECRET_ACCESS_KEY":        qssim.DefaultSecretAccessKey,
		"AWS_ENDPOINT_URL_QUICKSIGHT":  sim.URL(),
		"AWS_ENDPOINT_URL_STS":         sim.URL(),
	}}
}

// doctor runs runDoctor with the world's settings changed by override (an
// empty value unsets) and checks what every run must hold: no secret in
// the output, and nobody registered.
func (w *doctorWorld) doctor(t *testing.T, override map[string]string, user string) (string, error) {
	t.Helper()
	env := maps.Clone(w.env)
	maps.Copy(env, override)
	var out bytes.Buffer
	err := runDoctor(context.Background(), func(k string) string { return env[k] }, user, &out)
	got := out.String()
	for _, secret := range []string{w.idp.ClientSecret, w.env["QSGATE_SESSION_KEYS"], env["AWS_SECRET_ACCESS_KEY"], qssim.DefaultSecretAccessKey} {
		if secret != "" && strings.Contains(got, secret) {
			t.Errorf("doctor printed a secret (%.6s...):\n%s", secret, got)
		}
	}
	if n := callCounts(w.sim)["RegisterUser"]; n != 0 {
		t.Errorf("doctor made %d RegisterUser calls, want none", n)
	}
	return got, err
}

// doctorFixFor finds the first line starting with prefix and returns the first
// indented "fix:" line after it ("" if none), and whether the line was found.
func doctorFixFor(out, prefix string) (string, bool) {
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		if !strings.HasPrefix(l, prefix) {
			continue
		}
		for _, next := range lines[i+1:] {
			if !strings.HasPrefix(next, "     ") {
				break
			}
			if strings.HasPrefix(next, "     fix: ") {
				return next, true
			}
		}
		return "", true
	}
	return "", false
}

// With everything right every line is "ok" (or "info"), and --user shows
// the ARN the person maps to.
func TestDoctorAllPass(t *testing.T) {
	w := newDoctorWorld(t, qssim.Config{})
	out, err := w.doctor(t, nil, alice.Email)
	if err != nil {
		t.Fatalf("doctor = %v, want nil\n%s", err, out)
	}
	oks := 0
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		switch {
		case strings.HasPrefix(l, "ok   "):
			oks++
		case strings.HasPrefix(l, "info "):
		default:
			t.Errorf("line %q is neither ok nor info", l)
		}
	}
	if oks != 8 {
		t.Errorf("%d ok lines, want 8:\n%s", oks, out)
	}
	for _, want := range []string{
		"ok   user mapping for alice@example.com: " + arnOf(alice.Email),
		"ok   QuickSight user for alice@example.com: alice@example.com, AUTHOR",
		"ok   QuickSight account: " + testAccount + " in us-east-1, ENTERPRISE edition",
		"ok   identity region: us-east-1",
		"ok   AWS credentials: arn:aws:iam::" + testAccount + ":user/qssim (account " + testAccount,
		"info register at the provider: redirect URI http://127.0.0.1:8080/auth/callback",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// Without --user the user checks are left out.
	out, err = w.doctor(t, nil, "")
	if err != nil || strings.Count(out, "ok   ") != 6 || strings.Contains(out, "user mapping") {
		t.Errorf("without --user: err = %v, want nil and 6 checks:\n%s", err, out)
	}
}

// Each mode passes for a user it can open the console for; what doctor
// cannot check is a warn or skip line that does not fail the run.
func TestDoctorModesPass(t *testing.T) {
	role := "arn:aws:iam::" + testAccount + ":role/QuickSightEmbed"
	tests := []struct {
		name    string
		sim     qssim.Config
		prepare func(t *testing.T, w *doctorWorld) map[string]string
		user    string
		want    []string
	}{
		{
			name: "file",
			prepare: func(t *testing.T, w *doctorWorld) map[string]string {
				path := filepath.Join(t.TempDir(), "users.csv")
				if err := os.WriteFile(path, []byte("alice@example.com,"+arnOf(alice.Email)+"\n"), 0o600); err != nil {
					t.Fatal(err)
				}
				return map[string]string{"QSGATE_USER_MAPPING": "file", "QSGATE_USER_MAP_FILE": path}
			},
			user: alice.Email,
			want: []string{"ok   user mapping for alice@example.com: " + arnOf(alice.Email), "ok   QuickSight user for alice@example.com: alice@example.com, AUTHOR"},
		},
		{
			name: "lookup lists the namespace",
			prepare: func(t *testing.T, w *doctorWorld) map[string]string {
				w.sim.AddUser(qssim.User{UserName: "carol.author", Email: "Carol@Example.COM", Role: "AUTHOR"})
				return map[string]string{"QSGATE_USER_MAPPING": "lookup"}
			},
			user: "carol@example.com",
			want: []string{"ok   identity region: us-east-1 (ListUsers answered there)", "ok   user mapping for carol@example.com: " + arnOf("carol.author"), "ok   QuickSight user for carol@example.com: carol.author, AUTHOR"},
		},
		{
			name:    "lookup by name",
			prepare: doctorEnv(map[string]string{"QSGATE_USER_MAPPING": "lookup", "QSGATE_USER_NAME_TEMPLATE": "{email}"}),
			user:    alice.Email,
			want:    []string{"ok   identity region: us-east-1 (DescribeUser answered there)", "ok   user mapping for alice@example.com: " + arnOf(alice.Email)},
		},
		{
			name:    "register, known user",
			prepare: doctorEnv(map[string]string{"QSGATE_USER_MAPPING": "register", "QSGATE_ALLOWED_EMAIL_DOMAINS": "example.com"}),
			user:    alice.Email,
			want:    []string{"ok   QuickSight user for alice@example.com: alice@example.com, AUTHOR", "info doctor looks users up and registers nobody"},
		},
		{
			name:    "register, unknown user registered as author on first sign-in",
			prepare: doctorEnv(map[string]string{"QSGATE_USER_MAPPING": "register", "QSGATE_ALLOWED_EMAIL_DOMAINS": "example.com", "QSGATE_DEFAULT_ROLE": "AUTHOR"}),
			user:    nobby.Email,
			want:    []string{"ok   QuickSight user for nobby@example.com: no QuickSight user in namespace default has this email yet; the first sign-in registers them as AUTHOR"},
		},
		{
			name:    "register, unknown user whose groups decide",
			prepare: doctorEnv(map[string]string{"QSGATE_USER_MAPPING": "register", "QSGATE_ALLOWED_EMAIL_DOMAINS": "example.com", "QSGATE_AUTHOR_GROUPS": "qs-authors"}),
			user:    nobby.Email,
			want:    []string{"warn QuickSight user for nobby@example.com: no QuickSight user in namespace default has this email yet; the first sign-in registers them as ADMIN if in QSGATE_ADMIN_GROUPS, AUTHOR if in QSGATE_AUTHOR_GROUPS, else READER"},
		},
		{
			name: "iam",
			sim:  qssim.Config{Roles: []string{role}},
			prepare: func(t *testing.T, w *doctorWorld) map[string]string {
				w.sim.AddUser(qssim.User{UserName: "QuickSightEmbed/alice@example.com", Email: alice.Email, Role: "AUTHOR", IdentityType: "IAM"})
				return map[string]string{"QSGATE_USER_MAPPING": "iam", "QSGATE_IAM_ROLE_ARN": role}
			},
			user: alice.Email,
			want: []string{"ok   user mapping for alice@example.com: " + arnOf("QuickSightEmbed/alice@example.com"), "ok   QuickSight user for alice@example.com: QuickSightEmbed/alice@example.com, AUTHOR"},
		},
		{
			name:    "iam registering, unknown user",
			sim:     qssim.Config{Roles: []string{role}},
			prepare: doctorEnv(map[string]string{"QSGATE_USER_MAPPING": "iam", "QSGATE_IAM_ROLE_ARN": role, "QSGATE_IAM_REGISTER": "true", "QSGATE_DEFAULT_ROLE": "AUTHOR", "QSGATE_ALLOWED_EMAIL_DOMAINS": "example.com"}),
			user:    nobby.Email,
			want:    []string{"ok   QuickSight user for nobby@example.com: QuickSight has no user QuickSightEmbed/nobby@example.com in namespace default yet; the first sign-in registers them as AUTHOR"},
		},
		{
			name: "template without DescribeUser",
			prepare: func(t *testing.T, w *doctorWorld) map[string]string {
				w.sim.FailUser(w.sim.UserARN("default", doctorProbeUser), qssim.ErrAccessDenied)
				return nil
			},
			want: []string{"warn identity region: us-east-1 not confirmed: quicksight:DescribeUser is not granted", "     fix: only lookup, register and iam with QSGATE_IAM_REGISTER need it"},
		},
		{
			name:    "template reading the subject",
			prepare: doctorEnv(map[string]string{"QSGATE_USER_ARN_TEMPLATE": "arn:aws:quicksight:{identity_region}:{account_id}:user/{namespace}/{sub}"}),
			user:    alice.Email,
			want:    []string{"skip user mapping for alice@example.com: needs the claims sub, which doctor cannot know from an email", "skip QuickSight user for alice@example.com: needs user mapping for alice@example.com"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newDoctorWorld(t, tt.sim)
			out, err := w.doctor(t, tt.prepare(t, w), tt.user)
			if err != nil {
				t.Fatalf("doctor = %v, want nil\n%s", err, out)
			}
			for _, want := range tt.want {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
		})
	}
}

// doctorEnv is a prepare function that only changes settings.
func doctorEnv(env map[string]string) func(*testing.T, *doctorWorld) map[string]string {
	return func(*testing.T, *doctorWorld) map[string]string { return env }
}

// Each failure gets its FAIL line and a fix that names what to change; the
// checks that depend on it are skipped.
func TestDoctorFailures(t *testing.T) {
	tests := []struct {
		name    string
		sim     qssim.Config
		prepare func(t *testing.T, w *doctorWorld) map[string]string
		user    string
		fail    string   // the FAIL line starts with this
		fix     string   // its fix line holds this
		also    []string // more lines the output must hold
		err     string
	}{
		{
			name:    "settings invalid",
			prepare: doctorEnv(map[string]string{"QSGATE_QUICKSIGHT_ACCOUNT_ID": "12345", "QSGATE_SESSION_TTL": "1s"}),
			fail:    "FAIL settings: 2 invalid",
			fix:     "fix: correct each of these in the environment or the env file; `qsgate check-config` checks the settings alone",
			also: []string{
				`     QSGATE_QUICKSIGHT_ACCOUNT_ID: must be 12 digits, got "12345"`,
				"     QSGATE_SESSION_TTL: must be between 5m0s and 720h0m0s, got 1s",
				"skip OIDC discovery: needs settings",
				"skip identity region: needs AWS credentials",
			},
			err: "1 of 6 checks failed, 5 skipped",
		},
		{
			name: "issuer unreachable",
			prepare: func(t *testing.T, w *doctorWorld) map[string]string {
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				ln.Close() // nothing listens there now
				return map[string]string{"QSGATE_OIDC_ISSUER": "http://" + ln.Addr().String()}
			},
			fail: "FAIL OIDC discovery: ",
			fix:  "fix: check QSGATE_OIDC_ISSUER",
			also: []string{"connection refused", "skip OIDC signing keys: needs OIDC discovery", "info register at the provider: redirect URI http://127.0.0.1:8080/auth/callback"},
			err:  "1 of 6 checks failed, 1 skipped",
		},
		{
			name: "JWKS broken",
			prepare: func(t *testing.T, w *doctorWorld) map[string]string {
				var srv *httptest.Server
				srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
					if r.URL.Path != "/.well-known/openid-configuration" {
						http.Error(rw, "key store down", http.StatusInternalServerError)
						return
					}
					fmt.Fprintf(rw, `{"issuer":%q,"authorization_endpoint":"%[1]s/auth","token_endpoint":"%[1]s/token","jwks_uri":"%[1]s/jwks"}`, srv.URL)
				}))
				t.Cleanup(srv.Close)
				return map[string]string{"QSGATE_OIDC_ISSUER": srv.URL}
			},
			fail: "FAIL OIDC signing keys: GET http://127.0.0.1:",
			fix:  "fix: the provider's jwks_uri must answer 200 with its signing keys",
			also: []string{"/jwks answered 500 Internal Server Error", "ok   OIDC discovery: "},
			err:  "1 of 6 checks failed",
		},
		{
			name:    "wrong AWS secret",
			prepare: doctorEnv(map[string]string{"AWS_SECRET_ACCESS_KEY": "wrong-secret-0123456789abcdefghijklmnop"}),
			user:    alice.Email,
			fail:    "FAIL AWS credentials: GetCallerIdentity: SignatureDoesNotMatch",
			fix:     "fix: check the credential chain: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY",
			also:    []string{"skip QuickSight account: needs AWS credentials", "skip identity region: needs AWS credentials", "skip user mapping for alice@example.com: needs identity region"},
			err:     "1 of 8 checks failed, 4 skipped",
		},
		{
			name:    "unknown AWS access key",
			prepare: doctorEnv(map[string]string{"AWS_ACCESS_KEY_ID": "AKIAUNKNOWNKEY000000"}),
			fail:    "FAIL AWS credentials: GetCallerIdentity: InvalidClientTokenId",
			fix:     "fix: check the credential chain",
			err:     "1 of 6 checks failed, 2 skipped",
		},
		{
			name: "STANDARD edition",
			sim:  qssim.Config{Edition: "STANDARD"},
			fail: "FAIL QuickSight account: " + testAccount + " in us-east-1 is STANDARD edition: console embedding needs Enterprise",
			fix:  "fix: upgrade QuickSight in account " + testAccount + " to Enterprise edition",
			err:  "1 of 6 checks failed",
		},
		{
			name: "identity region wrong",
			sim:  qssim.Config{Region: "eu-west-1", IdentityRegion: "us-east-1"},
			user: alice.Email,
			fail: "FAIL identity region: QuickSight answers DescribeUser only in us-east-1, not in eu-west-1",
			fix:  "fix: set QSGATE_QUICKSIGHT_IDENTITY_REGION=us-east-1",
			also: []string{"ok   QuickSight account: " + testAccount + " in eu-west-1", "skip user mapping for alice@example.com: needs identity region"},
			err:  "1 of 8 checks failed, 2 skipped",
		},
		{
			name: "unknown user",
			user: nobby.Email,
			fail: "FAIL QuickSight user for nobby@example.com: QuickSight has no user nobby@example.com in namespace default",
			fix:  "fix: register them in QuickSight with this email (Manage users, or the RegisterUser API), or set QSGATE_USER_MAPPING=register",
			also: []string{"ok   user mapping for nobby@example.com: " + arnOf(nobby.Email)},
			err:  "1 of 8 checks failed",
		},
		{
			name: "reader",
			user: rita.Email,
			fail: "FAIL QuickSight user for rita@example.com: rita@example.com has the role READER: the console needs AUTHOR or ADMIN",
			fix:  "fix: make them AUTHOR or ADMIN in QuickSight",
			err:  "1 of 8 checks failed",
		},
		{
			name:    "lookup finds nobody",
			prepare: doctorEnv(map[string]string{"QSGATE_USER_MAPPING": "lookup"}),
			user:    nobby.Email,
			fail:    "FAIL QuickSight user for nobby@example.com: no QuickSight user in namespace default has this email",
			fix:     "or set QSGATE_USER_MAPPING=register",
			also:    []string{"ok   user mapping for nobby@example.com: looked up by email in namespace default: nobody has it"},
		},
		{
			name:    "register mode would register a reader",
			prepare: doctorEnv(map[string]string{"QSGATE_USER_MAPPING": "register", "QSGATE_ALLOWED_EMAIL_DOMAINS": "example.com"}),
			user:    nobby.Email,
			fail:    "FAIL QuickSight user for nobby@example.com: no QuickSight user in namespace default has this email yet, and the first sign-in would register them as READER",
			fix:     "fix: set QSGATE_DEFAULT_ROLE=AUTHOR",
			also:    []string{"info doctor looks users up and registers nobody"},
		},
		{
			name: "lookup without DescribeUser",
			prepare: func(t *testing.T, w *doctorWorld) map[string]string {
				w.sim.FailUser(w.sim.UserARN("default", doctorProbeUser), qssim.ErrAccessDenied)
				return map[string]string{"QSGATE_USER_MAPPING": "lookup", "QSGATE_USER_NAME_TEMPLATE": "{email}"}
			},
			fail: "FAIL identity region: quicksight:DescribeUser is not granted in us-east-1",
			fix:  "fix: grant quicksight:DescribeUser on arn:aws:quicksight:us-east-1:" + testAccount + ":user/default/*: QSGATE_USER_MAPPING=lookup needs it",
		},
		{
			name:    "template for another account",
			prepare: doctorEnv(map[string]string{"QSGATE_USER_ARN_TEMPLATE": "arn:aws:quicksight:{identity_region}:999999999999:user/{namespace}/{email}"}),
			user:    alice.Email,
			fail:    "FAIL user mapping for alice@example.com: gives arn:aws:quicksight:us-east-1:999999999999:user/default/alice@example.com, but QuickSight is account " + testAccount,
			fix:     "fix: QSGATE_USER_ARN_TEMPLATE must give this person's QuickSight user ARN",
			also:    []string{"skip QuickSight user for alice@example.com: needs user mapping for alice@example.com"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newDoctorWorld(t, tt.sim)
			var override map[string]string
			if tt.prepare != nil {
				override = tt.prepare(t, w)
			}
			out, err := w.doctor(t, override, tt.user)
			if err == nil {
				t.Fatalf("doctor = nil, want an error\n%s", out)
			}
			if tt.err != "" && err.Error() != tt.err {
				t.Errorf("doctor = %q, want %q", err, tt.err)
			}
			fix, found := doctorFixFor(out, tt.fail)
			if !found {
				t.Fatalf("no line starting %q:\n%s", tt.fail, out)
			}
			if !strings.Contains(fix, tt.fix) {
				t.Errorf("fix for %q = %q, want it to hold %q\n%s", tt.fail, fix, tt.fix, out)
			}
			for _, want := range tt.also {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
			fails := 0
			for _, l := range strings.Split(out, "\n") {
				if strings.HasPrefix(l, "FAIL ") {
					fails++
				}
			}
			if !strings.HasPrefix(err.Error(), fmt.Sprintf("%d of ", fails)) {
				t.Errorf("doctor = %q, but the output has %d FAIL lines:\n%s", err, fails, out)
			}
		})
	}
}

// A --user that is not an address is refused before any check.
func TestDoctorUserNotEmail(t *testing.T) {
	var out bytes.Buffer
	err := runDoctor(context.Background(), func(string) string { return "" }, "alice", &out)
	if err == nil || !strings.Contains(err.Error(), `--user "alice"`) || out.Len() != 0 {
		t.Errorf("doctor = %v, output %q; want a --user error and no output", err, out.String())
	}
}

// identityCenterDoctor is a doctor world in identity-center mode: the
// account on Identity Center, the application (in the simulator's one
// instance) and a role that trusts sts:SetContext.
func identityCenterDoctor(t *testing.T) (*doctorWorld, map[string]string) {
	t.Helper()
	w := newDoctorWorld(t, qssim.Config{})
	w.sim.SetAuthenticationType(qssim.AuthIAMIdentityCenter)
	app := w.sim.IdentityCenterApplicationARN("qsgate")
	if err := w.sim.AddIdentityCenterApplication(qssim.IdentityCenterApplication{ARN: app, Issuer: w.idp.Issuer(), Audience: w.idp.ClientID}); err != nil {
		t.Fatal(err)
	}
	if err := w.sim.AddContextRole(idcRole); err != nil {
		t.Fatal(err)
	}
	return w, map[string]string{
		"QSGATE_USER_MAPPING":        "identity-center",
		"QSGATE_IDC_APPLICATION_ARN": app,
		"QSGATE_IDC_ROLE_ARN":        idcRole,
		"AWS_ENDPOINT_URL_SSO_OIDC":  w.sim.URL(),
	}
}

// In identity-center mode doctor checks what it can without a user (the
// application and role it will use, the account's sign-in method and
// Identity Center instance, the role) and, with --user, says that the rest
// of the chain needs the person's token from the provider, without failing.
func TestDoctorIdentityCenter(t *testing.T) {
	app := "arn:aws:sso::" + testAccount + ":application/ssoins-qssim0000000000/apl-qsgate"
	t.Run("all pass", func(t *testing.T) {
		w, env := identityCenterDoctor(t)
		out, err := w.doctor(t, env, alice.Email)
		if err != nil {
			t.Fatalf("doctor = %v, want nil\n%s", err, out)
		}
		for _, want := range []string{
			"ok   settings: valid; QSGATE_USER_MAPPING=identity-center",
			"ok   Identity Center settings: application " + app + ", role " + idcRole + ", Identity Center in us-east-1 (the AWS region; set QSGATE_IDC_REGION if Identity Center is in another)",
			"ok   QuickSight authentication: " + testAccount + " signs users in with IAM_IDENTITY_CENTER (arn:aws:sso:::instance/ssoins-qssim0000000000)",
			"ok   Identity Center role: " + idcRole + " answers the gateway (assumed without an identity context)",
			"info sts:SetContext, the identity context the gateway adds, is checked only at a user's first view",
			"skip Identity Center chain for alice@example.com: needs alice@example.com's ID token from the provider, which doctor cannot get: sign in to the portal as them to check the rest",
			"info identity-center mode maps no users: a first view sends the provider's ID token to CreateTokenWithIAM",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
		for _, unwanted := range []string{"user mapping for", "QuickSight user for", "FAIL", "warn"} {
			if strings.Contains(out, unwanted) {
				t.Errorf("output holds %q:\n%s", unwanted, out)
			}
		}
		if n := callCounts(w.sim)["CreateTokenWithIAM"]; n != 0 {
			t.Errorf("doctor called CreateTokenWithIAM %d times, want none (it has no user's token)", n)
		}
		env["QSGATE_IDC_REGION"] = "us-east-1"
		if out, err := w.doctor(t, env, ""); err != nil || !strings.Contains(out, "Identity Center in us-east-1 (QSGATE_IDC_REGION)") || strings.Contains(out, "chain for") {
			t.Errorf("with QSGATE_IDC_REGION, without --user: err = %v\n%s", err, out)
		}
	})
	t.Run("role refuses a plain AssumeRole", func(t *testing.T) {
		w, env := identityCenterDoctor(t)
		env["QSGATE_IDC_ROLE_ARN"] = "arn:aws:iam::" + testAccount + ":role/NotThere"
		out, err := w.doctor(t, env, "")
		if err != nil {
			t.Fatalf("doctor = %v, want nil (a warning only)\n%s", err, out)
		}
		fix, found := doctorFixFor(out, "warn Identity Center role: AssumeRole: AccessDenied: ")
		if !found || !strings.Contains(out, "fine if the trust policy demands one") || !strings.Contains(fix, "sts:AssumeRole and sts:SetContext") {
			t.Errorf("no warning naming the trust policy (fix %q):\n%s", fix, out)
		}
	})
	for _, tt := range []struct {
		name    string
		prepare func(w *doctorWorld, env map[string]string)
		fail    string
		fix     string
	}{
		{
			name:    "account not on Identity Center",
			prepare: func(w *doctorWorld, _ map[string]string) { w.sim.SetAuthenticationType(qssim.AuthIAMAndQuickSight) },
			fail:    "FAIL QuickSight authentication: account " + testAccount + " signs users in with IAM_AND_QUICKSIGHT, not IAM_IDENTITY_CENTER",
			fix:     "identity-center mode needs an account subscribed with IAM Identity Center",
		},
		{
			name: "application in another instance",
			prepare: func(_ *doctorWorld, env map[string]string) {
				env["QSGATE_IDC_APPLICATION_ARN"] = "arn:aws:sso::" + testAccount + ":application/ssoins-other000000000/apl-qsgate"
			},
			fail: "FAIL QuickSight authentication: QuickSight uses Identity Center instance arn:aws:sso:::instance/ssoins-qssim0000000000, but QSGATE_IDC_APPLICATION_ARN is in ssoins-other000000000",
			fix:  "create the application (a customer managed application trusting the provider) in the Identity Center instance QuickSight uses",
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w, env := identityCenterDoctor(t)
			tt.prepare(w, env)
			out, err := w.doctor(t, env, alice.Email)
			if err == nil || err.Error() != "1 of 10 checks failed, 1 skipped" {
				t.Errorf("doctor = %v, want 1 of 10 failed and the chain skipped\n%s", err, out)
			}
			fix, found := doctorFixFor(out, tt.fail)
			if !found || !strings.Contains(fix, tt.fix) {
				t.Errorf("no line %q with a fix holding %q (fix %q):\n%s", tt.fail, tt.fix, fix, out)
			}
			if !strings.Contains(out, "skip Identity Center chain for alice@example.com: needs QuickSight authentication") {
				t.Errorf("the chain is not skipped for the failure:\n%s", out)
			}
		})
	}
}
