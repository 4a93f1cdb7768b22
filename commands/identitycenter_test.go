package commands

import (
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/oauth2-proxy/mockoidc"

	"github.com/qsgate/qsgate/internal/devkit/qssim"
)

const (
	idcRole = "arn:aws:iam::" + testAccount + ":role/QuickSightIdentity"
	idcApp  = "arn:aws:sso::" + testAccount + ":application/ssoins-qssim0000000000/apl-qsgate"
)

// startIdentityCenterStack is the stack in identity-center mode: the
// simulator's account on Identity Center, an application trusting the
// test's provider (issuer, client id as audience, keys from its JWKS), the
// Identity Center user alice, and a role trusting sts:SetContext unless
// plainRole.
func startIdentityCenterStack(t *testing.T, plainRole bool, override map[string]string) *stack {
	t.Helper()
	env := map[string]string{
		"QSGATE_USER_MAPPING":        "identity-center",
		"QSGATE_IDC_APPLICATION_ARN": idcApp,
		"QSGATE_IDC_ROLE_ARN":        idcRole,
	}
	maps.Copy(env, override)
	s := startStack(t, env)
	setUpIdentityCenterApp(t, s)
	s.sim.AddIdentityCenterUser(qssim.User{UserName: "alice-idc", Email: "alice@example.com", Role: "AUTHOR"})
	add := s.sim.AddContextRole
	if plainRole {
		add = s.sim.AddRole
	}
	if err := add(idcRole); err != nil {
		t.Fatal(err)
	}
	return s
}

// setUpIdentityCenter puts the stack's simulator on Identity Center for
// s.env's application (setUpIdentityCenterApp) with idcRole trusting
// sts:SetContext; the Identity Center users are the caller's to add.
func setUpIdentityCenter(t testing.TB, s *stack) {
	t.Helper()
	setUpIdentityCenterApp(t, s)
	if err := s.sim.AddContextRole(idcRole); err != nil {
		t.Fatal(err)
	}
}

// setUpIdentityCenterApp puts the simulator's account on Identity Center,
// with the application of s.env trusting the stack's provider (issuer,
// client id as audience, keys from its JWKS).
func setUpIdentityCenterApp(t testing.TB, s *stack) {
	t.Helper()
	s.sim.SetAuthenticationType(qssim.AuthIAMIdentityCenter)
	if err := s.sim.AddIdentityCenterApplication(qssim.IdentityCenterApplication{
		ARN: s.env["QSGATE_IDC_APPLICATION_ARN"], Issuer: s.idp.Issuer(), Audience: s.idp.ClientID,
	}); err != nil {
		t.Fatal(err)
	}
}

var (
	aliceIDC = &mockoidc.MockUser{Subject: "sub-alice", Email: "alice@example.com", EmailVerified: true}
	noraIDC  = &mockoidc.MockUser{Subject: "sub-nora", Email: "nora@example.com", EmailVerified: true}
)

// TestIdentityCenterMode: signed in at the provider, the user gets the
// console of their Identity Center user, with no user mapping: the first
// view runs the chain (CreateTokenWithIAM with the provider's ID token,
// AssumeRole with the identity context, the embed call with identity), a
// warm view is one call.
func TestIdentityCenterMode(t *testing.T) {
	s := startIdentityCenterStack(t, false, nil)
	b := newBrowser(t)
	s.sim.Reset()
	p := s.signIn(b, aliceIDC, "/embed/start")
	if p.status != 200 {
		t.Fatalf("first view: %s\n%s", p, p.body)
	}
	first := callCounts(s.sim)
	want := map[string]int{"CreateTokenWithIAM": 1, "AssumeRole": 1, "GenerateEmbedUrlForRegisteredUserWithIdentity": 1}
	if !maps.Equal(first, want) {
		t.Errorf("first view calls = %v, want %v", first, want)
	}
	if page := openConsole(t, iframeSrc(t, p)); !strings.Contains(page, `id="qs-user-name">alice-idc<`) {
		t.Errorf("the console opened for someone else:\n%s", page)
	}
	s.sim.Reset()
	if p := b.get(s.url + "/embed/dashboards/d-1"); p.status != 200 && p.status != 404 {
		t.Fatalf("warm view: %s\n%s", p, p.body)
	}
	if warm := callCounts(s.sim); len(warm) != 1 || warm["GenerateEmbedUrlForRegisteredUserWithIdentity"] != 1 {
		t.Errorf("warm view calls = %v, want one GenerateEmbedUrlForRegisteredUserWithIdentity", warm)
	}
	for _, secret := range []string{"sts:identity_context", "aorAAAAA", "aoaAAAAA", "ASIA"} {
		if strings.Contains(s.logs.String(), secret) {
			t.Errorf("the log holds %q", secret)
		}
	}
	// The audit stream: the role assumed once, with the user's context,
	// and each view issued; every line in the schema, none with a token.
	got := summary(auditLines(t, s.out.String(), "aorAAAAA", "aoaAAAAA", "ASIA"))
	wantAudit := []string{"sign_in <nil> sub-alice", "role_assumed <nil> sub-alice", "embed_issued <nil> sub-alice", "embed_issued <nil> sub-alice"}
	if !slices.Equal(got, wantAudit) {
		t.Errorf("audit stream = %q, want %q", got, wantAudit)
	}
}

// TestIdentityCenterRefusalPages: each set-up problem gets its page in
// plain words, and the log line names what the operator must fix.
func TestIdentityCenterRefusalPages(t *testing.T) {
	tests := []struct {
		name      string
		plainRole bool
		who       *mockoidc.MockUser
		account   string
		status    int
		title     string
		hint      string
		audit     string // the access_refused reason, "" for none
	}{
		{"user not in Identity Center", false, noraIDC, qssim.AuthIAMIdentityCenter, 403, "Your account is not in IAM Identity Center", "add or enable the user", "not_in_identity_center"},
		{"role without sts:SetContext", true, aliceIDC, qssim.AuthIAMIdentityCenter, 502, "The portal cannot pass your identity to QuickSight", "sts:SetContext", ""},
		{"account not on Identity Center", false, aliceIDC, qssim.AuthIAMAndQuickSight, 502, "QuickSight is not set up for IAM Identity Center", "AuthenticationType", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startIdentityCenterStack(t, tt.plainRole, nil)
			s.sim.SetAuthenticationType(tt.account)
			p := s.signIn(newBrowser(t), tt.who, "/embed/start")
			if p.status != tt.status || !strings.Contains(p.body, tt.title) {
				t.Fatalf("view = %s, want %d %q:\n%s", p, tt.status, tt.title, p.body)
			}
			if !strings.Contains(s.logs.String(), tt.hint) {
				t.Errorf("no log line names %q:\n%s", tt.hint, s.logs)
			}
			refused := 0
			for _, l := range auditLines(t, s.out.String()) {
				if l["event"] == "access_refused" {
					refused++
					if l["reason"] != tt.audit {
						t.Errorf("access_refused reason = %v, want %q", l["reason"], tt.audit)
					}
				}
			}
			if want := min(1, len(tt.audit)); refused != want {
				t.Errorf("%d access_refused lines, want %d", refused, want)
			}
		})
	}
	t.Run("issuer not trusted", func(t *testing.T) {
		s := startIdentityCenterStack(t, false, nil)
		// The application trusts another audience than the gateway's client.
		if err := s.sim.AddIdentityCenterApplication(qssim.IdentityCenterApplication{
			ARN: s.env["QSGATE_IDC_APPLICATION_ARN"], Issuer: s.idp.Issuer(), Audience: "another-client",
		}); err != nil {
			t.Fatal(err)
		}
		p := s.signIn(newBrowser(t), aliceIDC, "/embed/start")
		if p.status != 502 || !strings.Contains(p.body, "QuickSight cannot confirm who you are") {
			t.Fatalf("view = %s, want 502 and the issuer page:\n%s", p, p.body)
		}
	})
}

// openConsole opens an embed URL as the browser would and returns the page.
func openConsole(t *testing.T, embedURL string) string {
	t.Helper()
	resp, err := http.Get(embedURL)
	if err != nil {
		t.Fatalf("open embed URL: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return string(body)
}
