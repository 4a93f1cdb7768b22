package quicksight

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsqs "github.com/aws/aws-sdk-go-v2/service/quicksight"
	"github.com/aws/aws-sdk-go-v2/service/quicksight/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/qsgate/qsgate/internal/devkit/qssim"
)

// testRole is the IAM role the gateway assumes in the iam tests.
const testRole = "arn:aws:iam::" + testAccount + ":role/QuickSightEmbed"

// stsClient is the real SDK STS client, aimed at sim.
func stsClient(sim *qssim.Server) *sts.Client {
	return sts.NewFromConfig(awsConfig(qssim.DefaultRegion), func(o *sts.Options) { o.BaseEndpoint = aws.String(sim.URL()) })
}

// wire is an SDK HTTP client that keeps the query of each request sent:
// the simulator records the user a role session resolves to as the call's
// UserArn, so only the wire shows whether the gateway sent one.
type wire struct {
	mu      sync.Mutex
	queries []string
}

func (w *wire) Do(r *http.Request) (*http.Response, error) {
	w.mu.Lock()
	w.queries = append(w.queries, r.URL.RawQuery)
	w.mu.Unlock()
	return awshttp.NewBuildableClient().Do(r)
}

func (w *wire) last() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.queries[len(w.queries)-1]
}

// stsSessionName is what STS accepts as a RoleSessionName.
var stsSessionName = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)

func TestRoleSessionName(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a", 90) + "@corp.test" // 100 characters, all allowed
	tests := []struct {
		email string
		// want is the name, or, ending in "=", the kept characters of a
		// derived name (24 hex digits follow).
		want string
	}{
		{"alice@corp.test", "alice@corp.test"},
		{"first.last+tag_1@corp-mail.test", "first.last+tag_1@corp-mail.test"},
		{"o'brien@x.com", "obrien@x.com="},
		{"a=b@x.com", "ab@x.com="},
		{"spaces in@x.com", "spacesin@x.com="},
		{"élise@x.com", "lise@x.com="},
		{long, long[:39] + "="},
		{"a@", "a@"}, // not an address, but the shortest name STS takes
		{"", "="},
	}
	for _, tt := range tests {
		got := RoleSessionName(tt.email)
		if !stsSessionName.MatchString(got) {
			t.Errorf("RoleSessionName(%q) = %q, which STS refuses", tt.email, got)
		}
		if again := RoleSessionName(tt.email); again != got {
			t.Errorf("RoleSessionName(%q) = %q, then %q; want it stable", tt.email, got, again)
		}
		if kept, derived := strings.CutSuffix(tt.want, "="); derived {
			if !regexp.MustCompile(`^` + regexp.QuoteMeta(kept) + `=[0-9a-f]{24}$`).MatchString(got) {
				t.Errorf("RoleSessionName(%q) = %q, want %q + \"=\" + 24 hex digits", tt.email, got, kept)
			}
		} else if got != tt.want {
			t.Errorf("RoleSessionName(%q) = %q, want %q", tt.email, got, tt.want)
		}
	}

	// Addresses that differ only in dropped characters, or past the cut,
	// must be different users.
	seen := map[string]string{}
	for _, email := range []string{
		"obrien@x.com", "o'brien@x.com", "o!brien@x.com", "ob'rien@x.com", "ab@x.com", "a=b@x.com", "a b@x.com",
		long, strings.Repeat("a", 89) + "b@corp.test", strings.Repeat("a", 89) + "=@corp.test",
	} {
		name := RoleSessionName(email)
		if other, dup := seen[name]; dup {
			t.Errorf("RoleSessionName(%q) = RoleSessionName(%q) = %q", email, other, name)
		}
		seen[name] = email
	}
}

// TestIAMMapper: each user is a session of the role; the embed call is
// signed by that session, without a user-arn, and QuickSight opens the
// console for "RoleName/SessionName". A warm view assumes nothing.
func TestIAMMapper(t *testing.T) {
	t.Parallel()
	sim := startSim(t, qssim.Config{Roles: []string{testRole}})
	userARN := sim.AddUser(qssim.User{UserName: "QuickSightEmbed/alice@corp.test", Email: "alice@corp.test", Role: "AUTHOR", IdentityType: "IAM"})
	dir, _ := newDirectory(sim, qssim.DefaultRegion, false)
	m, err := NewIAMMapper(testRole, stsClient(sim), dir, false, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(sim, qssim.DefaultRegion, dir)
	sent := &wire{}
	cfg := awsConfig(qssim.DefaultRegion)
	cfg.HTTPClient = sent
	c.API = awsqs.NewFromConfig(cfg, func(o *awsqs.Options) { o.BaseEndpoint = aws.String(sim.URL()) })
	principal := "arn:aws:sts::" + testAccount + ":assumed-role/QuickSightEmbed/alice@corp.test"

	steps := []struct {
		name, email string
		wantCalls   map[string]int
	}{
		{"first view", "alice@corp.test", map[string]int{"AssumeRole": 1, "GetSessionEmbedUrl": 1}},
		{"second view, email in another case", "Alice@Corp.Test", map[string]int{"GetSessionEmbedUrl": 1}},
	}
	for _, s := range steps {
		n := len(sim.Calls())
		id, err := m.Identity(t.Context(), person(s.email))
		if err != nil || id.UserARN != userARN || id.Creds == nil {
			t.Fatalf("%s: Identity = %+v, %v; want %s with role credentials", s.name, id, err, userARN)
		}
		embed, err := c.EmbedURL(t.Context(), id, Target{EntryPoint: "/start"})
		if err != nil {
			t.Fatalf("%s: EmbedURL: %v", s.name, err)
		}
		calls := since(sim, n)
		if got := ops(calls); !maps.Equal(got, s.wantCalls) {
			t.Errorf("%s: calls = %v, want %v", s.name, got, s.wantCalls)
		}
		if q := sent.last(); strings.Contains(q, "user-arn") {
			t.Errorf("%s: GetSessionEmbedUrl sent %q; want no user-arn", s.name, q)
		}
		embedCall := calls[len(calls)-1]
		if embedCall.Principal != principal || !strings.HasPrefix(embedCall.AccessKeyID, "ASIA") {
			t.Errorf("%s: GetSessionEmbedUrl signed by %s (key %s); want %s with temporary credentials",
				s.name, embedCall.Principal, embedCall.AccessKeyID, principal)
		}
		if page := openEmbed(t, embed.URL); !strings.Contains(page, `id="qs-user-name">QuickSightEmbed/alice@corp.test<`) {
			t.Errorf("%s: the console opened for someone else:\n%s", s.name, page)
		}
	}
}

// TestIAMMapperRegister: with registration on, fifty first views of a user
// QuickSight does not know assume the role once and register the user once
// (identity type IAM); a known user is only described.
func TestIAMMapperRegister(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		existing  *qssim.User
		wantRole  string
		wantCalls map[string]int
	}{
		{"new user", nil, "AUTHOR", map[string]int{"AssumeRole": 1, "DescribeUser": 1, "RegisterUser": 1}},
		{"known user", &qssim.User{UserName: "QuickSightEmbed/bob@corp.test", Email: "bob@corp.test", Role: "ADMIN", IdentityType: "IAM"},
			"ADMIN", map[string]int{"AssumeRole": 1, "DescribeUser": 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sim := startSim(t, qssim.Config{Roles: []string{testRole}})
			if tt.existing != nil {
				sim.AddUser(*tt.existing)
			}
			sim.SetLatency(50 * time.Millisecond)
			dir, regs := newDirectory(sim, qssim.DefaultRegion, false)
			m, err := NewIAMMapper(testRole, stsClient(sim), dir, true, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			p := Person{Claims: claims{"email": "bob@corp.test"}, Role: "AUTHOR"}
			wantARN := sim.UserARN("default", "QuickSightEmbed/bob@corp.test")

			ids, errs := atOnce(50, func(int) (Identity, error) { return m.Identity(t.Context(), p) })
			for i := range ids {
				if errs[i] != nil || ids[i].UserARN != wantARN || ids[i].Role != tt.wantRole || ids[i].Creds == nil {
					t.Errorf("view %d = %+v, %v; want %s, role %s, with credentials", i, ids[i], errs[i], wantARN, tt.wantRole)
				}
			}
			if got := ops(sim.Calls()); !maps.Equal(got, tt.wantCalls) {
				t.Errorf("first views' calls = %v, want %v", got, tt.wantCalls)
			}
			if tt.existing == nil {
				ins := regs.all()
				if len(ins) != 1 {
					t.Fatalf("RegisterUser sent %d times, want once", len(ins))
				}
				in := ins[0]
				if in.IdentityType != types.IdentityTypeIam || aws.ToString(in.IamArn) != testRole || aws.ToString(in.SessionName) != "bob@corp.test" || in.UserRole != "AUTHOR" {
					t.Errorf("RegisterUser(IdentityType %s, IamArn %s, SessionName %s, UserRole %s); want IAM, %s, bob@corp.test, AUTHOR",
						in.IdentityType, aws.ToString(in.IamArn), aws.ToString(in.SessionName), in.UserRole, testRole)
				}
			}
			sim.SetLatency(0)
			stored, err := dir.Describe(t.Context(), "default", "QuickSightEmbed/bob@corp.test")
			if err != nil || stored.ARN != wantARN || stored.IdentityType != "IAM" || stored.Role != tt.wantRole || stored.Email != "bob@corp.test" {
				t.Errorf("QuickSight holds %+v, %v; want %s, IAM, %s, bob@corp.test", stored, err, wantARN, tt.wantRole)
			}

			n := len(sim.Calls())
			if id, err := m.Identity(t.Context(), p); err != nil || id.UserARN != wantARN {
				t.Errorf("warm view = %+v, %v; want %s", id, err, wantARN)
			}
			if calls := since(sim, n); len(calls) != 0 {
				t.Errorf("warm view calls = %v, want none", trace(calls))
			}
		})
	}
}

// TestIAMMapperRoleRefused: a role the gateway may not assume is reported
// as STS's refusal, with what to grant, and QuickSight is not called.
func TestIAMMapperRoleRefused(t *testing.T) {
	t.Parallel()
	sim := startSim(t, qssim.Config{Roles: []string{testRole}})
	dir, _ := newDirectory(sim, qssim.DefaultRegion, false)
	m, err := NewIAMMapper("arn:aws:iam::"+testAccount+":role/NotGranted", stsClient(sim), dir, true, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	id, err := m.Identity(t.Context(), person("alice@corp.test"))
	var e *Error
	if !errors.As(err, &e) || e.Op != "AssumeRole" || !errors.Is(err, ErrAccessDenied) || !strings.Contains(e.Hint, "sts:AssumeRole") {
		t.Errorf("Identity = %+v, %v; want *Error of AssumeRole, kind ErrAccessDenied, hint naming sts:AssumeRole", id, err)
	}
	if got, want := ops(sim.Calls()), map[string]int{"AssumeRole": 1}; !maps.Equal(got, want) {
		t.Errorf("calls = %v, want %v", got, want)
	}
}

// hangingSTS is an STS that never answers: it reports whether the call had a
// deadline and waits for it (or gives up after a second, for the test's sake).
type hangingSTS struct{ sawDeadline chan bool }

func (h hangingSTS) AssumeRole(ctx context.Context, _ *sts.AssumeRoleInput, _ ...func(*sts.Options)) (*sts.AssumeRoleOutput, error) {
	_, ok := ctx.Deadline()
	h.sawDeadline <- ok
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(time.Second):
		return nil, errors.New("STS never answered")
	}
}

// TestIAMMapperAssumeRoleHasDeadline: in iam mode the AssumeRole call runs
// under aws.CredentialsCache's suppressed context (no deadline, no cancel)
// and the embed handler passes the request context (no deadline either).
// Without a deadline of its own (QSGATE_AWS_TIMEOUT), a slow or hung STS
// would hold a slot of the gateway-wide budget (QSGATE_QUICKSIGHT_MAX_INFLIGHT)
// and a token reservation with no bound: MAX_INFLIGHT first views of new
// users against a hung STS would shed every AWS call of the instance.
func TestIAMMapperAssumeRoleHasDeadline(t *testing.T) {
	t.Parallel()
	dir := NewDirectory(testAccount, qssim.DefaultRegion, 200*time.Millisecond, false, func(string) UsersAPI { return nil }, nil)
	fake := hangingSTS{sawDeadline: make(chan bool, 4)}
	m, err := NewIAMMapper(testRole, fake, dir, false, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	// As the embed handler calls it: the request's context, no deadline.
	_, err = m.Identity(t.Context(), person("alice@corp.test"))
	if err == nil {
		t.Fatal("Identity succeeded against an STS that never answers")
	}
	if ok := <-fake.sawDeadline; !ok {
		t.Errorf("AssumeRole was called without a deadline: a hung STS holds a budget slot forever (want QSGATE_AWS_TIMEOUT)")
	}
}

// TestIAMMapperReader: a role session user whose QuickSight role is a
// reader is told so; the diagnosis finds "RoleName/SessionName" (a name
// with a slash) by DescribeUser in the identity region.
func TestIAMMapperReader(t *testing.T) {
	t.Parallel()
	sim := startSim(t, qssim.Config{Region: "eu-west-1", IdentityRegion: "us-east-1", Roles: []string{testRole}})
	sim.AddUser(qssim.User{UserName: "QuickSightEmbed/rita@corp.test", Email: "rita@corp.test", Role: "READER", IdentityType: "IAM"})
	dir, _ := newDirectory(sim, "us-east-1", false)
	m, err := NewIAMMapper(testRole, stsClient(sim), dir, false, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	id, err := m.Identity(t.Context(), person("rita@corp.test"))
	if err != nil {
		t.Fatalf("Identity: %v", err)
	}
	n := len(sim.Calls())
	if _, err := newClient(sim, "eu-west-1", dir).EmbedURL(t.Context(), id, Target{EntryPoint: "/start"}); !errors.Is(err, ErrNotAuthor) {
		t.Errorf("EmbedURL = %v, want ErrNotAuthor", err)
	}
	if got, want := trace(since(sim, n)), []string{"GetSessionEmbedUrl eu-west-1 AccessDeniedException", "DescribeUser us-east-1"}; !slices.Equal(got, want) {
		t.Errorf("calls = %q, want %q", got, want)
	}
}

// TestIAMMapperFindDoesNotRegister: Find looks the role session's user up
// and registers nobody (the home page, a link from another site); Identity
// then registers as before.
func TestIAMMapperFindDoesNotRegister(t *testing.T) {
	t.Parallel()
	sim := startSim(t, qssim.Config{Roles: []string{testRole}})
	dir, regs := newDirectory(sim, qssim.DefaultRegion, false)
	m, err := NewIAMMapper(testRole, stsClient(sim), dir, true, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	p := Person{Claims: claims{"email": "bob@corp.test"}, Role: "AUTHOR"}
	for range 3 {
		if _, err := m.Find(t.Context(), p); !errors.Is(err, ErrUserNotFound) {
			t.Fatalf("Find of a user QuickSight does not know = %v, want ErrUserNotFound", err)
		}
	}
	if n := len(regs.all()); n != 0 {
		t.Fatalf("Find registered %d users, want none", n)
	}
	id, err := m.Identity(t.Context(), p)
	if want := sim.UserARN("default", "QuickSightEmbed/bob@corp.test"); err != nil || id.UserARN != want || len(regs.all()) != 1 {
		t.Fatalf("Identity after Find = %+v, %v, %d registrations; want %s, one", id, err, len(regs.all()), want)
	}
	if found, err := m.Find(t.Context(), p); err != nil || found.UserARN != id.UserARN {
		t.Errorf("Find once registered = %+v, %v; want %s", found, err, id.UserARN)
	}
}

// TestIAMMapperFailedRegistrationIsRememberedBriefly: as in register mode,
// a failed RegisterUser is not called again on every view.
func TestIAMMapperFailedRegistrationIsRememberedBriefly(t *testing.T) {
	t.Parallel()
	sim := startSim(t, qssim.Config{Roles: []string{testRole}})
	dir, _ := newDirectory(sim, qssim.DefaultRegion, false)
	m, err := NewIAMMapper(testRole, stsClient(sim), dir, true, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	// A role QuickSight does not take: DescribeUser answers, RegisterUser
	// refuses (InvalidParameterValueException).
	p := Person{Claims: claims{"email": "fay@corp.test"}, Role: "OWNER"}
	_, first := m.Identity(t.Context(), p)
	var qe *Error
	if !errors.As(first, &qe) || qe.Op != "RegisterUser" {
		t.Fatalf("first view: %v, want the RegisterUser refusal", first)
	}
	before := ops(sim.Calls())
	for i := range 20 {
		if _, err := m.Identity(t.Context(), p); err == nil || err.Error() != first.Error() {
			t.Fatalf("view %d: %v, want the remembered %v", i, err, first)
		}
	}
	if after := ops(sim.Calls()); !maps.Equal(after, before) {
		t.Errorf("20 views after a failed registration made calls: %v, then %v; want none more", before, after)
	}
}
