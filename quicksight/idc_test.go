package quicksight

import (
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssooidc"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/qsgate/qsgate/internal/devkit/qssim"
)

const (
	idcIssuer   = "https://login.corp.test"
	idcAudience = "qsgate"
	idcRole     = "arn:aws:iam::" + testAccount + ":role/QuickSightIdentity"
	plainRole   = "arn:aws:iam::" + testAccount + ":role/QuickSightPlain"
)

// idcFixture is a simulator with an Identity Center application trusting
// the test's provider key, the Identity Center users alice and bob, a role
// trusting sts:SetContext and one that does not; and the gateway's side:
// the mapper and the embed client, through the real SDK clients.
type idcFixture struct {
	sim        *qssim.Server
	key        *rsa.PrivateKey
	app        string
	alice, bob string
	mapper     *IdentityCenterMapper
	client     *Client
}

func startIdentityCenter(t *testing.T, role string) *idcFixture {
	t.Helper()
	sim := startSim(t, qssim.Config{})
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	f := &idcFixture{sim: sim, key: key, app: sim.IdentityCenterApplicationARN("qsgate")}
	sim.SetAuthenticationType(qssim.AuthIAMIdentityCenter)
	err = sim.AddIdentityCenterApplication(qssim.IdentityCenterApplication{ARN: f.app, Issuer: idcIssuer, Audience: idcAudience,
		Keys: &jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}}})
	if err != nil {
		t.Fatal(err)
	}
	f.alice = sim.AddIdentityCenterUser(qssim.User{UserName: "alice", Email: "alice@corp.test", Role: "AUTHOR"})
	f.bob = sim.AddIdentityCenterUser(qssim.User{UserName: "bob", Email: "bob@corp.test", Role: "AUTHOR"})
	if err := sim.AddContextRole(idcRole); err != nil {
		t.Fatal(err)
	}
	if err := sim.AddRole(plainRole); err != nil {
		t.Fatal(err)
	}
	sso := ssooidc.NewFromConfig(awsConfig(qssim.DefaultRegion), func(o *ssooidc.Options) { o.BaseEndpoint = aws.String(sim.URL()) })
	f.mapper, err = NewIdentityCenterMapper(f.app, role, sso, stsClient(sim), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	f.client = newClient(sim, qssim.DefaultRegion, nil)
	f.client.RegisteredUser = true
	return f
}

// token is the provider's ID token for email, expiring at exp, signed with
// key (nil: the trusted one).
func (f *idcFixture) token(t *testing.T, key *rsa.PrivateKey, audience, email string, exp time.Time) string {
	t.Helper()
	if key == nil {
		key = f.key
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "k1"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(signer).Claims(map[string]any{
		"iss": idcIssuer, "aud": audience, "sub": "sub-" + email, "email": email,
		"iat": time.Now().Add(-time.Minute).Unix(), "exp": exp.Unix(),
	}).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// person is the signed-in user email with a token valid for an hour.
func (f *idcFixture) person(t *testing.T, email string) Person {
	return Person{Claims: claims{"sub": "sub-" + email, "email": email}, Token: f.token(t, nil, idcAudience, email, time.Now().Add(time.Hour))}
}

// view maps p and opens the console, returning the QuickSight user name the
// console shows.
func (f *idcFixture) view(t *testing.T, p Person) (string, error) {
	t.Helper()
	id, err := f.mapper.Identity(t.Context(), p)
	if err != nil {
		return "", err
	}
	if id.UserARN != "" || !id.WithIdentity {
		t.Fatalf("Identity = %+v; want identity-enhanced credentials and no user ARN", id)
	}
	emb, err := f.client.EmbedURL(t.Context(), id, Target{EntryPoint: "/start"})
	if err != nil {
		return "", err
	}
	page := openEmbed(t, emb.URL)
	_, rest, _ := strings.Cut(page, `id="qs-user-name">`)
	name, _, _ := strings.Cut(rest, "<")
	return name, nil
}

// TestIdentityCenterMapper: the first view runs the chain once
// (CreateTokenWithIAM, AssumeRole with the context, the embed call with
// identity); a warm view is the embed call alone; the console opens for
// the Identity Center user; another user gets their own chain.
func TestIdentityCenterMapper(t *testing.T) {
	t.Parallel()
	f := startIdentityCenter(t, idcRole)
	steps := []struct {
		name, email, want string
		calls             map[string]int
	}{
		{"first view", "alice@corp.test", "alice", map[string]int{"CreateTokenWithIAM": 1, "AssumeRole": 1, "GenerateEmbedUrlForRegisteredUserWithIdentity": 1}},
		{"warm view", "alice@corp.test", "alice", map[string]int{"GenerateEmbedUrlForRegisteredUserWithIdentity": 1}},
		{"another user", "bob@corp.test", "bob", map[string]int{"CreateTokenWithIAM": 1, "AssumeRole": 1, "GenerateEmbedUrlForRegisteredUserWithIdentity": 1}},
		{"first user again", "alice@corp.test", "alice", map[string]int{"GenerateEmbedUrlForRegisteredUserWithIdentity": 1}},
	}
	for _, s := range steps {
		n := len(f.sim.Calls())
		name, err := f.view(t, f.person(t, s.email))
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if name != s.want {
			t.Errorf("%s: the console opened for %q, want %q", s.name, name, s.want)
		}
		calls := since(f.sim, n)
		if got := ops(calls); !maps.Equal(got, s.calls) {
			t.Errorf("%s: calls = %v, want %v", s.name, got, s.calls)
		}
		for _, c := range calls {
			if c.Operation == "GenerateEmbedUrlForRegisteredUserWithIdentity" && !strings.Contains(c.Principal, ":assumed-role/QuickSightIdentity/") {
				t.Errorf("%s: the embed call was signed by %s; want the identity-enhanced role session", s.name, c.Principal)
			}
		}
	}
}

// TestIdentityCenterFirstViewsShareOneChain: fifty concurrent first views
// of one user make one CreateTokenWithIAM and one AssumeRole.
func TestIdentityCenterFirstViewsShareOneChain(t *testing.T) {
	t.Parallel()
	f := startIdentityCenter(t, idcRole)
	p := f.person(t, "alice@corp.test")
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for range 50 {
		wg.Go(func() {
			if _, err := f.mapper.Identity(t.Context(), p); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got := ops(f.sim.Calls()); got["CreateTokenWithIAM"] != 1 || got["AssumeRole"] != 1 {
		t.Errorf("calls = %v, want one CreateTokenWithIAM and one AssumeRole", got)
	}
}

// expire makes the user's credentials due for renewal and moves the
// mapper's clock to when the provider's token has expired.
func (f *idcFixture) expire(t *testing.T, email string) {
	t.Helper()
	u, ok := f.mapper.users.Get("sub-" + email)
	if !ok {
		t.Fatalf("no chain kept for %s", email)
	}
	u.creds.Invalidate()
	f.mapper.now = func() time.Time { return time.Now().Add(2 * time.Hour) }
}

// TestIdentityCenterRenewal: credentials due for renewal after the
// provider's token expired are renewed with Identity Center's refresh
// token, which rotates (a second renewal needs the new one); a fresher
// provider token is used when the session brings one.
func TestIdentityCenterRenewal(t *testing.T) {
	t.Parallel()
	f := startIdentityCenter(t, idcRole)
	p := f.person(t, "alice@corp.test")
	if _, err := f.view(t, p); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		f.expire(t, "alice@corp.test")
		n := len(f.sim.Calls())
		if name, err := f.view(t, p); err != nil || name != "alice" {
			t.Fatalf("renewal %d: %q, %v; want the console for alice", i+1, name, err)
		}
		calls := since(f.sim, n)
		if got := ops(calls); got["CreateTokenWithIAM"] != 1 || got["AssumeRole"] != 1 {
			t.Errorf("renewal %d: calls = %v, want one CreateTokenWithIAM and one AssumeRole", i+1, got)
		}
		for _, c := range calls {
			if c.ErrorCode != "" {
				t.Errorf("renewal %d: %s failed with %s", i+1, c.Operation, c.ErrorCode)
			}
		}
	}
}

// TestIdentityCenterSignInAgain: when the provider's token has expired and
// Identity Center's refresh token is refused (the user was disabled) or
// none is held, the user must sign in again: no embed call is made. A
// disabled user who signs in again is told they are not in Identity Center.
func TestIdentityCenterSignInAgain(t *testing.T) {
	t.Parallel()
	f := startIdentityCenter(t, idcRole)
	expired := Person{Claims: claims{"sub": "sub-bob@corp.test", "email": "bob@corp.test"},
		Token: f.token(t, nil, idcAudience, "bob@corp.test", time.Now().Add(-time.Minute))}
	n := len(f.sim.Calls())
	if _, err := f.mapper.Identity(t.Context(), expired); !errors.Is(err, ErrSignInAgain) {
		t.Errorf("expired token, no refresh token: err = %v, want ErrSignInAgain", err)
	}
	if calls := since(f.sim, n); len(calls) != 0 {
		t.Errorf("calls = %v, want none", trace(calls))
	}

	p := f.person(t, "alice@corp.test")
	if _, err := f.view(t, p); err != nil {
		t.Fatal(err)
	}
	f.sim.AddIdentityCenterUser(qssim.User{UserName: "alice", Email: "alice@corp.test", Role: "AUTHOR", Inactive: true})
	f.expire(t, "alice@corp.test")
	if _, err := f.mapper.Identity(t.Context(), p); !errors.Is(err, ErrSignInAgain) {
		t.Errorf("disabled user at renewal: err = %v, want ErrSignInAgain", err)
	}
	f.mapper.now = time.Now
	if _, err := f.mapper.Identity(t.Context(), f.person(t, "alice@corp.test")); !errors.Is(err, ErrNotInIdentityCenter) {
		t.Errorf("disabled user signing in again: err = %v, want ErrNotInIdentityCenter", err)
	}
}

// TestIdentityCenterRefusals: each set-up problem is its own error with a
// hint naming what to fix.
func TestIdentityCenterRefusals(t *testing.T) {
	t.Parallel()
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		role string
		p    func(f *idcFixture) Person
		want error
		hint string
	}{
		{"token of an issuer not trusted", idcRole, func(f *idcFixture) Person {
			return Person{Claims: claims{"sub": "s"}, Token: f.token(t, other, idcAudience, "alice@corp.test", time.Now().Add(time.Hour))}
		}, ErrIssuerNotTrusted, "trusted token issuer"},
		{"token for another audience", idcRole, func(f *idcFixture) Person {
			return Person{Claims: claims{"sub": "s"}, Token: f.token(t, nil, "someone-else", "alice@corp.test", time.Now().Add(time.Hour))}
		}, ErrIssuerNotTrusted, "QSGATE_IDC_APPLICATION_ARN"},
		{"user not in Identity Center", idcRole, func(f *idcFixture) Person { return f.person(t, "carol@corp.test") },
			ErrNotInIdentityCenter, "add or enable the user"},
		{"role not trusting sts:SetContext", plainRole, func(f *idcFixture) Person { return f.person(t, "alice@corp.test") },
			ErrRoleNoContext, "sts:SetContext"},
		{"account not on Identity Center", idcRole, func(f *idcFixture) Person {
			f.sim.SetAuthenticationType(qssim.AuthIAMAndQuickSight)
			return f.person(t, "alice@corp.test")
		}, ErrAccountNotIdentityCenter, "AuthenticationType"},
		{"no subject", idcRole, func(f *idcFixture) Person { return Person{Claims: claims{}} }, ErrNoMapping, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := startIdentityCenter(t, tt.role)
			_, err := f.view(t, tt.p(f))
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			var e *Error
			if tt.hint != "" && (!errors.As(err, &e) || !strings.Contains(e.Hint, tt.hint)) {
				t.Errorf("hint = %q, want it to name %q", e.Hint, tt.hint)
			}
		})
	}
}

func TestNewIdentityCenterMapperRefusesBadARNs(t *testing.T) {
	app := "arn:aws:sso::123456789012:application/ssoins-abc/apl-def"
	for _, tt := range []struct{ app, role string }{
		{"arn:aws:iam::123456789012:role/R", idcRole},
		{app, "arn:aws:sso::123456789012:application/ssoins-abc/apl-def"},
		{"", idcRole},
	} {
		if _, err := NewIdentityCenterMapper(tt.app, tt.role, nil, nil, time.Second); err == nil {
			t.Errorf("NewIdentityCenterMapper(%q, %q) accepted", tt.app, tt.role)
		}
	}
	if _, err := NewIdentityCenterMapper(app, idcRole, nil, nil, time.Second); err != nil {
		t.Errorf("good ARNs refused: %v", err)
	}
}
