package commands

import (
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oauth2-proxy/mockoidc"

	"github.com/qsgate/qsgate/internal/devkit/qssim"
)

// callCounts counts the simulator's calls by operation.
func callCounts(sim *qssim.Server) map[string]int {
	n := map[string]int{}
	for _, c := range sim.Calls() {
		n[c.Operation]++
	}
	return n
}

// member is a user whose ID token carries groups.
func member(u *mockoidc.MockUser, groups ...string) evilUser {
	gs := make([]any, len(groups))
	for i, g := range groups {
		gs[i] = g
	}
	return evilUser{MockUser: u, extra: map[string]any{"groups": gs}}
}

// In lookup mode the QuickSight user is found by email (names and case
// differ); the first view lists the namespace once, a warm view makes one
// AWS call: the embed.
func TestLookupMode(t *testing.T) {
	s := startStack(t, map[string]string{"QSGATE_USER_MAPPING": "lookup"})
	// Two QuickSight users with one email (checked below).
	s.sim.AddUser(qssim.User{UserName: "dana", Email: "dana@example.com", Role: "AUTHOR"})
	s.sim.AddUser(qssim.User{UserName: "dana-twin", Email: "DANA@example.com", Role: "AUTHOR"})
	s.sim.Reset()
	arn := s.sim.AddUser(qssim.User{UserName: "carol.author", Email: "Carol@Example.COM", Role: "AUTHOR"})
	carol := &mockoidc.MockUser{Subject: "sub-carol", Email: "carol@example.com", EmailVerified: true}
	b := newBrowser(t)
	p := s.signIn(b, carol, "/embed/start")
	if p.status != 200 {
		t.Fatalf("first view: %s\n%s", p, p.body)
	}
	if got := callCounts(s.sim); got["ListUsers"] != 1 || got["GetSessionEmbedUrl"] != 1 || len(got) != 2 {
		t.Errorf("first view calls = %v, want one ListUsers and one GetSessionEmbedUrl", got)
	}
	if c := embedCalls(s.sim); len(c) != 1 || c[0].UserArn != arn {
		t.Errorf("embed calls = %+v, want one for %s", c, arn)
	}
	s.sim.Reset()
	if p := b.get(s.url + "/embed/start"); p.status != 200 {
		t.Fatalf("warm view: %s", p)
	}
	if got := callCounts(s.sim); got["GetSessionEmbedUrl"] != 1 || len(got) != 1 {
		t.Errorf("warm view calls = %v, want exactly one GetSessionEmbedUrl", got)
	}

	// Someone QuickSight does not know by email: the 403 page.
	p = s.signIn(newBrowser(t), nobby, "/embed/start")
	if p.status != 403 || !strings.Contains(p.body, "You have no QuickSight user yet") {
		t.Errorf("unknown user: %s, want 403 'no QuickSight user yet'", p)
	}
	// Two QuickSight users with one email: neither is picked.
	p = s.signIn(newBrowser(t), &mockoidc.MockUser{Subject: "sub-dana", Email: "dana@example.com", EmailVerified: true}, "/embed/start")
	if p.status != 403 || !strings.Contains(p.body, "No QuickSight user for your account") {
		t.Errorf("ambiguous email: %s, want 403 'No QuickSight user for your account'", p)
	}
	// An address with two @ never reaches AWS.
	s.sim.Reset()
	twoAt := &mockoidc.MockUser{Subject: "sub-eve", Email: "alice@example.com@evil.test", EmailVerified: true}
	p = s.signIn(newBrowser(t), twoAt, "/embed/start")
	if p.status != 403 || !strings.Contains(p.body, "No QuickSight user for your account") {
		t.Errorf("two-@ email: %s, want 403 'No QuickSight user for your account'", p)
	}
	if n := len(s.sim.Calls()); n != 0 {
		t.Errorf("two-@ email made %d AWS calls, want 0", n)
	}
}

// In register mode a user QuickSight does not know is registered on the
// first view with the role their groups give, once.
func TestRegisterMode(t *testing.T) {
	s := startStack(t, map[string]string{
		"QSGATE_USER_MAPPING":          "register",
		"QSGATE_ALLOWED_EMAIL_DOMAINS": "example.com",
		"QSGATE_AUTHOR_GROUPS":         "qs-authors",
		"QSGATE_ADMIN_GROUPS":          "qs-admins",
	})
	s.sim.Reset()
	b := newBrowser(t)
	p := s.signIn(b, member(nobby, "staff", "qs-authors"), "/embed/start")
	if p.status != 200 {
		t.Fatalf("first view: %s\n%s", p, p.body)
	}
	if got := callCounts(s.sim); got["ListUsers"] != 1 || got["RegisterUser"] != 1 || got["GetSessionEmbedUrl"] != 1 {
		t.Errorf("first view calls = %v, want ListUsers, RegisterUser, GetSessionEmbedUrl once each", got)
	}
	s.sim.Reset()
	for range 3 {
		if p := b.get(s.url + "/embed/start"); p.status != 200 {
			t.Fatalf("warm view: %s", p)
		}
	}
	if got := callCounts(s.sim); got["GetSessionEmbedUrl"] != 3 || len(got) != 1 {
		t.Errorf("three warm views: calls = %v, want three GetSessionEmbedUrl and nothing else", got)
	}
	if !strings.Contains(s.logs.String(), "event=user_registered") || !strings.Contains(s.logs.String(), "role=AUTHOR") {
		t.Errorf("no audit line for the registration as AUTHOR:\n%s", s.logs)
	}

	// No group: registered as a reader, who then gets the reader page
	// without a DescribeUser (the mapper knows the role).
	s.sim.Reset()
	reader := &mockoidc.MockUser{Subject: "sub-rex", Email: "rex@example.com", EmailVerified: true}
	p = s.signIn(newBrowser(t), reader, "/embed/start")
	if p.status != 403 || !strings.Contains(p.body, "An author or admin role is needed") {
		t.Errorf("new reader: %s, want the reader page", p)
	}
	if got := callCounts(s.sim); got["DescribeUser"] != 0 || got["RegisterUser"] != 1 {
		t.Errorf("new reader calls = %v, want one RegisterUser and no DescribeUser", got)
	}
}

// Who may enter: domains and groups, checked at sign-in (no session, no
// AWS call) with an audit line.
func TestAccessPolicy(t *testing.T) {
	s := startStack(t, map[string]string{
		"QSGATE_ALLOWED_EMAIL_DOMAINS": "Example.com",
		"QSGATE_ALLOWED_GROUPS":        "qs-users,qs-admins",
	})
	s.sim.Reset()
	for _, tt := range []struct {
		name string
		who  mockoidc.User
		want int
	}{
		{"member", member(alice, "qs-users"), 200},
		{"groups as one string", evilUser{MockUser: alice, extra: map[string]any{"groups": "qs-admins"}}, 200},
		{"groups from userinfo", evilUser{MockUser: alice, userinfo: map[string]any{"sub": alice.Subject, "groups": []string{"qs-users"}}}, 200},
		{"no groups", alice, 403},
		{"other group", member(alice, "staff"), 403},
		{"other domain", member(&mockoidc.MockUser{Subject: "sub-eve", Email: "eve@partner.example", EmailVerified: true}, "qs-users"), 403},
		{"lookalike domain", member(&mockoidc.MockUser{Subject: "sub-eve", Email: "eve@example.com.evil.test", EmailVerified: true}, "qs-users"), 403},
		{"unverified email", member(&mockoidc.MockUser{Subject: "sub-eve", Email: "eve@example.com"}, "qs-users"), 403},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := newBrowser(t)
			p := s.signIn(b, tt.who, "/embed/start")
			if p.status != tt.want {
				t.Fatalf("status = %d, want %d\n%s", p.status, tt.want, p.body)
			}
			if tt.want == 403 {
				if !strings.Contains(p.body, "Your account is not allowed to use this portal") {
					t.Errorf("403 page does not say the account is not allowed:\n%s", p.body)
				}
				// No session was made: the portal still asks to sign in.
				if p := b.do(b.noFollow(), "GET", s.url+"/", nil); p.status != 302 {
					t.Errorf("after a refused sign-in / = %d, want a redirect to sign in", p.status)
				}
			}
		})
	}
	if got := callCounts(s.sim)["GetSessionEmbedUrl"]; got != 3 {
		t.Errorf("embed calls = %d, want 3 (the refused made none)", got)
	}
	if !strings.Contains(s.logs.String(), "event=login_denied") || !strings.Contains(s.logs.String(), `partner.example\" is not in QSGATE_ALLOWED_EMAIL_DOMAINS`) {
		t.Errorf("no login_denied audit line with its reason:\n%s", s.logs)
	}
}

// Namespace rules pick where the template puts a user.
func TestNamespaceRules(t *testing.T) {
	s := startStack(t, map[string]string{"QSGATE_NAMESPACE_RULES": "group:tenant-a-users=tenant-a"})
	arn := s.sim.AddUser(qssim.User{UserName: "alice@example.com", Email: "alice@example.com", Role: "AUTHOR", Namespace: "tenant-a"})
	s.sim.Reset()
	if p := s.signIn(newBrowser(t), member(alice, "tenant-a-users"), "/embed/start"); p.status != 200 {
		t.Fatalf("tenant user: %s\n%s", p, p.body)
	}
	if c := embedCalls(s.sim); len(c) != 1 || c[0].UserArn != arn {
		t.Errorf("embed calls = %+v, want one for %s", c, arn)
	}
}

// Settings that can only be checked with the files and the AWS region in
// hand stop start-up too, naming the variable.
func TestBuildProblems(t *testing.T) {
	dir := t.TempDir()
	badCSV := filepath.Join(dir, "users.csv")
	os.WriteFile(badCSV, []byte("# key,arn\nalice@example.com,arn:aws:quicksight:us-east-1:123456789012:user/default/alice\nbob@example.com,not-an-arn\n"), 0o600)
	badYAML := filepath.Join(dir, "users.yaml")
	os.WriteFile(badYAML, []byte("alice@example.com: arn:aws:quicksight:us-east-1:123456789012:user/default/alice\nbob: [1, 2]\n"), 0o600)
	base := validOffline()
	for _, tt := range []struct {
		name string
		set  map[string]string
		want string
	}{
		{"map file missing", map[string]string{"QSGATE_USER_MAPPING": "file", "QSGATE_USER_MAP_FILE": filepath.Join(dir, "nope.csv")}, "QSGATE_USER_MAP_FILE: cannot use " + filepath.Join(dir, "nope.csv")},
		{"map file bad csv row", map[string]string{"QSGATE_USER_MAPPING": "file", "QSGATE_USER_MAP_FILE": badCSV}, `QSGATE_USER_MAP_FILE: cannot use ` + badCSV + `: line 3: "not-an-arn" is not a QuickSight user ARN`},
		{"map file bad yaml row", map[string]string{"QSGATE_USER_MAPPING": "file", "QSGATE_USER_MAP_FILE": badYAML}, `QSGATE_USER_MAP_FILE: cannot use ` + badYAML + `: line 2: want "subject-or-email: arn"`},
		{"region that cannot be in an ARN", map[string]string{"AWS_REGION": "US_EAST_1"}, `QSGATE_USER_ARN_TEMPLATE: gives "arn:aws:quicksight:US_EAST_1:123456789012:user/default/user"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			env := maps.Clone(base)
			maps.Copy(env, tt.set)
			_, err := build(t.Context(), func(k string) string { return env[k] }, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "invalid configuration:") {
				t.Fatalf("build error = %v\nwant it to contain %q", err, tt.want)
			}
		})
	}
}

// TestCallsPerView counts, with the simulator, the AWS calls of a user's
// first page view and of a warm one in every mapping mode; the table in
// docs/user-mapping.md comes from its -v output. A warm view is exactly one
// call: the embed (GenerateEmbedUrlForRegisteredUserWithIdentity in
// identity-center mode, GetSessionEmbedUrl in the others).
func TestCallsPerView(t *testing.T) {
	mapFile := filepath.Join(t.TempDir(), "users.csv")
	os.WriteFile(mapFile, []byte("carol@example.com,"+arnOf("carol@example.com")+"\n"), 0o600)
	role := "arn:aws:iam::" + testAccount + ":role/QuickSightEmbed"
	modes := []struct {
		name     string
		settings map[string]string
		register bool // the user is new to QuickSight
	}{
		{"template", nil, false},
		{"file", map[string]string{"QSGATE_USER_MAPPING": "file", "QSGATE_USER_MAP_FILE": mapFile}, false},
		{"lookup (list)", map[string]string{"QSGATE_USER_MAPPING": "lookup"}, false},
		{"lookup (name template)", map[string]string{"QSGATE_USER_MAPPING": "lookup", "QSGATE_USER_NAME_TEMPLATE": "{email}"}, false},
		{"register (new user)", map[string]string{"QSGATE_USER_MAPPING": "register", "QSGATE_DEFAULT_ROLE": "AUTHOR", "QSGATE_ALLOWED_EMAIL_DOMAINS": "example.com"}, true},
		{"iam", map[string]string{"QSGATE_USER_MAPPING": "iam", "QSGATE_IAM_ROLE_ARN": role}, false},
		{"iam + register (new user)", map[string]string{"QSGATE_USER_MAPPING": "iam", "QSGATE_IAM_ROLE_ARN": role, "QSGATE_IAM_REGISTER": "true", "QSGATE_DEFAULT_ROLE": "AUTHOR", "QSGATE_ALLOWED_EMAIL_DOMAINS": "example.com"}, true},
		{"identity-center", map[string]string{"QSGATE_USER_MAPPING": "identity-center", "QSGATE_IDC_APPLICATION_ARN": idcApp, "QSGATE_IDC_ROLE_ARN": idcRole}, false},
	}
	carol := &mockoidc.MockUser{Subject: "sub-carol", Email: "carol@example.com", EmailVerified: true}
	var table strings.Builder
	table.WriteString("| mode | first view | warm view |\n|---|---|---|\n")
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			s := startStackSim(t, qssim.Config{AccountID: testAccount, Roles: []string{role}}, m.settings)
			embed := "GetSessionEmbedUrl"
			switch {
			case m.name == "identity-center":
				embed = "GenerateEmbedUrlForRegisteredUserWithIdentity"
				setUpIdentityCenter(t, s)
				s.sim.AddIdentityCenterUser(qssim.User{UserName: "carol@example.com", Email: "carol@example.com", Role: "AUTHOR"})
			case !m.register:
				name := "carol@example.com"
				typ := "QUICKSIGHT"
				if strings.HasPrefix(m.name, "iam") {
					name, typ = "QuickSightEmbed/carol@example.com", "IAM"
				}
				s.sim.AddUser(qssim.User{UserName: name, Email: "carol@example.com", Role: "AUTHOR", IdentityType: typ})
			}
			s.sim.Reset()
			b := newBrowser(t)
			if p := s.signIn(b, carol, "/embed/start"); p.status != 200 {
				t.Fatalf("first view: %s\n%s", p, p.body)
			}
			first := callCounts(s.sim)
			s.sim.Reset()
			if p := b.get(s.url + "/embed/start"); p.status != 200 {
				t.Fatalf("warm view: %s", p)
			}
			warm := callCounts(s.sim)
			if warm[embed] != 1 || len(warm) != 1 {
				t.Errorf("warm view calls = %v, want exactly one %s", warm, embed)
			}
			fmt.Fprintf(&table, "| %s | %s | %s |\n", m.name, describeCalls(first), describeCalls(warm))
		})
	}
	t.Logf("AWS calls per page view, counted by the simulator:\n%s", table.String())
}

// describeCalls is "3: ListUsers, GetSessionEmbedUrl, ..." in a fixed order.
func describeCalls(n map[string]int) string {
	total := 0
	var parts []string
	for _, op := range []string{"CreateTokenWithIAM", "AssumeRole", "ListUsers", "DescribeUser", "RegisterUser", "GetSessionEmbedUrl", "GenerateEmbedUrlForRegisteredUserWithIdentity"} {
		if n[op] > 0 {
			total += n[op]
			part := op
			if n[op] > 1 {
				part = fmt.Sprintf("%d× %s", n[op], op)
			}
			parts = append(parts, part)
		}
	}
	return fmt.Sprintf("%d: %s", total, strings.Join(parts, ", "))
}

// User management goes to the identity region: a wrong one gives the 502
// page and a log line naming the setting; with follow on, the gateway
// retries there and stays.
func TestIdentityRegion(t *testing.T) {
	simCfg := qssim.Config{AccountID: testAccount, Region: "eu-west-1", IdentityRegion: "us-east-1"}
	carol := &mockoidc.MockUser{Subject: "sub-carol", Email: "carol@example.com", EmailVerified: true}
	t.Run("wrong region", func(t *testing.T) {
		s := startStackSim(t, simCfg, map[string]string{"QSGATE_USER_MAPPING": "lookup"})
		s.sim.AddUser(qssim.User{UserName: "carol", Email: "carol@example.com", Role: "AUTHOR"})
		p := s.signIn(newBrowser(t), carol, "/embed/start")
		if p.status != 502 || !strings.Contains(p.body, "QuickSight refused the portal") {
			t.Errorf("view: %s, want the 502 page\n%s", p, p.body)
		}
		if !strings.Contains(s.logs.String(), `fix="set QSGATE_QUICKSIGHT_IDENTITY_REGION=us-east-1`) {
			t.Errorf("the log does not say which setting to change:\n%s", s.logs)
		}
	})
	t.Run("follow", func(t *testing.T) {
		s := startStackSim(t, simCfg, map[string]string{"QSGATE_USER_MAPPING": "lookup", "QSGATE_FOLLOW_IDENTITY_REGION": "true"})
		s.sim.AddUser(qssim.User{UserName: "carol", Email: "carol@example.com", Role: "AUTHOR"})
		s.sim.Reset()
		if p := s.signIn(newBrowser(t), carol, "/embed/start"); p.status != 200 {
			t.Fatalf("view: %s\n%s", p, p.body)
		}
		var regions []string
		for _, c := range s.sim.Calls() {
			regions = append(regions, c.Operation+"@"+c.Region)
		}
		want := "ListUsers@eu-west-1 ListUsers@us-east-1 GetSessionEmbedUrl@eu-west-1"
		if got := strings.Join(regions, " "); got != want {
			t.Errorf("calls = %s, want %s", got, want)
		}
		s.sim.Reset()
		if p := s.signIn(newBrowser(t), &mockoidc.MockUser{Subject: "sub-x", Email: "x@example.com", EmailVerified: true}, "/embed/start"); p.status != 403 {
			t.Errorf("unknown user: %s, want 403", p)
		}
		// The namespace's listing (from us-east-1) answers for a minute.
		for _, c := range s.sim.Calls() {
			if c.Operation == "ListUsers" {
				t.Errorf("the next lookup listed again: %+v", c)
			}
		}
	})
}
