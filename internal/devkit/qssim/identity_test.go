package qssim_test

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/quicksight"
	qstypes "github.com/aws/aws-sdk-go-v2/service/quicksight/types"
	"github.com/aws/aws-sdk-go-v2/service/ssooidc"
	ssotypes "github.com/aws/aws-sdk-go-v2/service/ssooidc/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/qsgate/qsgate/internal/devkit/qssim"
)

// tokenIssuer is a trusted token issuer on loopback: discovery and a JWKS,
// and ID tokens signed with its key, as the company's provider gives them.
type tokenIssuer struct {
	url string
	key *rsa.PrivateKey
}

func newTokenIssuer(t *testing.T) *tokenIssuer {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	iss := &tokenIssuer{key: key}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{
			"issuer": iss.url, "jwks_uri": iss.url + "/keys",
			"authorization_endpoint": iss.url + "/authorize", "token_endpoint": iss.url + "/token",
			"id_token_signing_alg_values_supported": []string{"RS256"},
		})
	})
	mux.HandleFunc("GET /keys", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	iss.url = srv.URL
	return iss
}

// idToken is an ID token of iss for email, for audience, expiring at exp;
// signed with key (nil: the issuer's own).
func (iss *tokenIssuer) idToken(t *testing.T, key *rsa.PrivateKey, issuer, audience, email string, exp time.Time) string {
	t.Helper()
	if key == nil {
		key = iss.key
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "k1"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(signer).Claims(map[string]any{
		"iss": issuer, "aud": audience, "sub": "sub-" + email, "email": email,
		"iat": time.Now().Add(-time.Minute).Unix(), "exp": exp.Unix(),
	}).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

const idcAudience = "qsgate"

// identityCenterSim is a simulator whose account is on IAM Identity Center,
// with one application trusting iss, the Identity Center user alice (an
// author), a role trusting sts:SetContext and one that does not.
type identityCenterSim struct {
	srv                  *qssim.Server
	iss                  *tokenIssuer
	app, alice           string
	contextRole, oldRole string
}

func startIdentityCenter(t *testing.T) identityCenterSim {
	t.Helper()
	srv := startSim(t, nil)
	iss := newTokenIssuer(t)
	f := identityCenterSim{srv: srv, iss: iss, app: srv.IdentityCenterApplicationARN("qsgate"),
		contextRole: srv.RoleARN("qsgate-idc"), oldRole: srv.RoleARN("qsgate-plain")}
	srv.SetAuthenticationType("IAM_IDENTITY_CENTER")
	if err := srv.AddIdentityCenterApplication(qssim.IdentityCenterApplication{ARN: f.app, Issuer: iss.url, Audience: idcAudience}); err != nil {
		t.Fatal(err)
	}
	f.alice = srv.AddIdentityCenterUser(qssim.User{UserName: "alice", Email: "alice@example.com", Role: "AUTHOR"})
	if err := srv.AddContextRole(f.contextRole); err != nil {
		t.Fatal(err)
	}
	if err := srv.AddRole(f.oldRole); err != nil {
		t.Fatal(err)
	}
	return f
}

func ssoClient(url string) *ssooidc.Client {
	return ssooidc.NewFromConfig(awsConfig(oneAttempt), func(o *ssooidc.Options) { o.BaseEndpoint = aws.String(url) })
}

func (f identityCenterSim) createToken(t *testing.T, assertion string) (*ssooidc.CreateTokenWithIAMOutput, error) {
	t.Helper()
	return ssoClient(f.srv.URL()).CreateTokenWithIAM(t.Context(), &ssooidc.CreateTokenWithIAMInput{
		ClientId: aws.String(f.app), GrantType: aws.String("urn:ietf:params:oauth:grant-type:jwt-bearer"),
		Assertion: aws.String(assertion), Scope: []string{"quicksight:read"},
	})
}

// identityContext is the sts:identity_context claim of an Identity Center ID token.
func identityContext(t *testing.T, idToken string) string {
	t.Helper()
	tok, err := jwt.ParseSigned(idToken, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatalf("idToken: %v", err)
	}
	var claims map[string]any
	if err := tok.UnsafeClaimsWithoutVerification(&claims); err != nil {
		t.Fatal(err)
	}
	ctx, _ := claims["sts:identity_context"].(string)
	if ctx == "" {
		t.Fatalf("idToken claims %v have no sts:identity_context", claims)
	}
	return ctx
}

func assumeWithContext(t *testing.T, url, role, context string) (*sts.AssumeRoleOutput, error) {
	t.Helper()
	return stsClient(url, oneAttempt).AssumeRole(t.Context(), &sts.AssumeRoleInput{
		RoleArn: aws.String(role), RoleSessionName: aws.String("alice@example.com"),
		ProvidedContexts: []ststypes.ProvidedContext{{
			ProviderArn: aws.String(qssim.IdentityCenterContextProvider), ContextAssertion: aws.String(context),
		}},
	})
}

func embedWithIdentity(t *testing.T, url string, edit func(*aws.Config), lifetime int64) (*quicksight.GenerateEmbedUrlForRegisteredUserWithIdentityOutput, error) {
	t.Helper()
	return client(url, edit).GenerateEmbedUrlForRegisteredUserWithIdentity(t.Context(), &quicksight.GenerateEmbedUrlForRegisteredUserWithIdentityInput{
		AwsAccountId:             aws.String(testAccount),
		SessionLifetimeInMinutes: aws.Int64(lifetime),
		AllowedDomains:           []string{"https://portal.example.com"},
		ExperienceConfiguration: &qstypes.RegisteredUserEmbeddingExperienceConfiguration{
			QuickSightConsole: &qstypes.RegisteredUserQuickSightConsoleEmbeddingConfiguration{InitialPath: aws.String("/start")},
		},
	})
}

// The whole chain through the three real SDK clients: the provider's ID
// token -> CreateTokenWithIAM -> AssumeRole with the identity context ->
// the embed call with those credentials, which opens as the Identity
// Center user.
func TestIdentityCenterChain(t *testing.T) {
	f := startIdentityCenter(t)
	tok, err := f.createToken(t, f.iss.idToken(t, nil, f.iss.url, idcAudience, "Alice@Example.com", time.Now().Add(time.Hour)))
	if err != nil {
		t.Fatalf("CreateTokenWithIAM: %v", err)
	}
	if aws.ToString(tok.AccessToken) == "" || aws.ToString(tok.RefreshToken) == "" || tok.ExpiresIn != 3600 || !slices.Equal(tok.Scope, []string{"quicksight:read"}) {
		t.Fatalf("CreateTokenWithIAM = access %t, refresh %t, expiresIn %d, scope %v",
			tok.AccessToken != nil, tok.RefreshToken != nil, tok.ExpiresIn, tok.Scope)
	}
	role, err := assumeWithContext(t, f.srv.URL(), f.contextRole, identityContext(t, aws.ToString(tok.IdToken)))
	if err != nil {
		t.Fatalf("AssumeRole with ProvidedContexts: %v", err)
	}
	out, err := embedWithIdentity(t, f.srv.URL(), func(c *aws.Config) { oneAttempt(c); withRoleCreds(role.Credentials)(c) }, 60)
	if err != nil {
		t.Fatalf("GenerateEmbedUrlForRegisteredUserWithIdentity: %v", err)
	}
	if got := aws.ToString(out.EmbedUrl); !strings.Contains(got, "/embedding/") || !strings.Contains(got, "/start?") {
		t.Fatalf("EmbedUrl = %q, want a console URL on /embedding/.../start", got)
	}
	resp, err := http.Get(aws.ToString(out.EmbedUrl))
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), f.alice) || !strings.Contains(string(page), "GenerateEmbedUrlForRegisteredUserWithIdentity") {
		t.Fatalf("embed page: status %d, want 200 naming alice and the WithIdentity API:\n%s", resp.StatusCode, page)
	}

	var ops []string
	for _, c := range f.srv.Calls() {
		ops = append(ops, c.Operation)
	}
	want := []string{"CreateTokenWithIAM", "AssumeRole", "GenerateEmbedUrlForRegisteredUserWithIdentity"}
	if !slices.Equal(ops, want) {
		t.Fatalf("calls = %v, want %v", ops, want)
	}
	calls := f.srv.Calls()
	if c := calls[0]; c.UserArn != f.alice || c.Status != 200 || c.Principal == "" {
		t.Errorf("CreateTokenWithIAM call = %+v, want alice, 200, signed", c)
	}
	last := calls[2]
	if last.UserArn != f.alice || last.Experience != "QuickSightConsole" || last.SessionLifetime != 60 ||
		!slices.Equal(last.AllowedDomains, []string{"https://portal.example.com"}) || !strings.Contains(last.Principal, ":assumed-role/qsgate-idc/") {
		t.Errorf("embed call = %+v, want alice's console for 60 minutes, signed by the role session", last)
	}
}

// The refresh token gives a new identity context once; refresh tokens rotate.
func TestIdentityCenterRefreshToken(t *testing.T) {
	f := startIdentityCenter(t)
	tok, err := f.createToken(t, f.iss.idToken(t, nil, f.iss.url, idcAudience, "alice@example.com", time.Now().Add(time.Hour)))
	if err != nil {
		t.Fatal(err)
	}
	refresh := func() (*ssooidc.CreateTokenWithIAMOutput, error) {
		return ssoClient(f.srv.URL()).CreateTokenWithIAM(t.Context(), &ssooidc.CreateTokenWithIAMInput{
			ClientId: aws.String(f.app), GrantType: aws.String("refresh_token"), RefreshToken: tok.RefreshToken,
		})
	}
	renewed, err := refresh()
	if err != nil {
		t.Fatalf("refresh_token grant: %v", err)
	}
	if _, err := assumeWithContext(t, f.srv.URL(), f.contextRole, identityContext(t, aws.ToString(renewed.IdToken))); err != nil {
		t.Fatalf("AssumeRole with the renewed context: %v", err)
	}
	if _, err := refresh(); !isA[*ssotypes.InvalidGrantException](err) {
		t.Fatalf("second use of a refresh token: %v, want InvalidGrantException", err)
	}

	// A user disabled in Identity Center is out at the next renewal.
	tok = renewed
	f.srv.AddIdentityCenterUser(qssim.User{UserName: "alice", Email: "alice@example.com", Role: "AUTHOR", Inactive: true})
	if _, err := refresh(); !isA[*ssotypes.InvalidGrantException](err) {
		t.Fatalf("renewal for a disabled user: %v, want InvalidGrantException", err)
	}
}

// CreateTokenWithIAM passes the same front door: SigV4 for sso-oauth, and
// injected faults.
func TestCreateTokenWithIAMFrontDoor(t *testing.T) {
	f := startIdentityCenter(t)
	assertion := f.iss.idToken(t, nil, f.iss.url, idcAudience, "alice@example.com", time.Now().Add(time.Hour))
	in := &ssooidc.CreateTokenWithIAMInput{
		ClientId: aws.String(f.app), GrantType: aws.String("urn:ietf:params:oauth:grant-type:jwt-bearer"), Assertion: aws.String(assertion),
	}
	badSecret := ssooidc.NewFromConfig(awsConfig(func(c *aws.Config) { oneAttempt(c); withCreds(testKey, "wrong", "")(c) }),
		func(o *ssooidc.Options) { o.BaseEndpoint = aws.String(f.srv.URL()) })
	_, err := badSecret.CreateTokenWithIAM(t.Context(), in)
	if got := apiCode(t, err); got != qssim.ErrInvalidSignature || httpStatus(err) != 403 {
		t.Errorf("wrong secret: %q %d, want %s 403", got, httpStatus(err), qssim.ErrInvalidSignature)
	}
	f.srv.FailNext(1, qssim.ErrSSOInvalidClient)
	_, err = ssoClient(f.srv.URL()).CreateTokenWithIAM(t.Context(), in)
	if !isA[*ssotypes.InvalidClientException](err) || httpStatus(err) != 401 {
		t.Errorf("injected InvalidClientException: %v (%d)", err, httpStatus(err))
	}
	if _, err := ssoClient(f.srv.URL()).CreateTokenWithIAM(t.Context(), in); err != nil {
		t.Errorf("after the fault: %v", err)
	}
	calls := f.srv.Calls()
	if len(calls) != 3 || calls[0].ErrorCode != qssim.ErrInvalidSignature || calls[1].ErrorCode != qssim.ErrSSOInvalidClient || calls[2].Status != 200 {
		t.Errorf("calls = %+v", calls)
	}
}

// Each assertion Identity Center's trusted token issuer refuses is an
// InvalidGrantException ("invalid_grant"); an unknown application is an
// AccessDeniedException.
func TestCreateTokenWithIAMRefusals(t *testing.T) {
	f := startIdentityCenter(t)
	other := newTokenIssuer(t)
	hour := time.Now().Add(time.Hour)
	tests := []struct {
		name      string
		app       string
		assertion string
		check     func(error) bool
		want      string
	}{
		{"untrusted issuer", f.app, other.idToken(t, nil, other.url, idcAudience, "alice@example.com", hour), isA[*ssotypes.InvalidGrantException], "invalid_grant"},
		{"bad signature", f.app, f.iss.idToken(t, other.key, f.iss.url, idcAudience, "alice@example.com", hour), isA[*ssotypes.InvalidGrantException], "invalid_grant"},
		{"wrong audience", f.app, f.iss.idToken(t, nil, f.iss.url, "someone-else", "alice@example.com", hour), isA[*ssotypes.InvalidGrantException], "invalid_grant"},
		{"expired assertion", f.app, f.iss.idToken(t, nil, f.iss.url, idcAudience, "alice@example.com", time.Now().Add(-time.Minute)), isA[*ssotypes.InvalidGrantException], "invalid_grant"},
		{"unknown user", f.app, f.iss.idToken(t, nil, f.iss.url, idcAudience, "mallory@example.com", hour), isA[*ssotypes.InvalidGrantException], "invalid_grant"},
		{"not a JWT", f.app, "not-a-jwt", isA[*ssotypes.InvalidGrantException], "invalid_grant"},
		{"unknown application", f.srv.IdentityCenterApplicationARN("nope"), f.iss.idToken(t, nil, f.iss.url, idcAudience, "alice@example.com", hour), isA[*ssotypes.AccessDeniedException], "access_denied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ssoClient(f.srv.URL()).CreateTokenWithIAM(t.Context(), &ssooidc.CreateTokenWithIAMInput{
				ClientId: aws.String(tt.app), GrantType: aws.String("urn:ietf:params:oauth:grant-type:jwt-bearer"), Assertion: aws.String(tt.assertion),
			})
			if !tt.check(err) {
				t.Fatalf("err = %v, want %s", err, tt.want)
			}
			var oauth string
			var ig *ssotypes.InvalidGrantException
			var ad *ssotypes.AccessDeniedException
			switch {
			case errorsAs(err, &ig):
				oauth = aws.ToString(ig.Error_)
			case errorsAs(err, &ad):
				oauth = aws.ToString(ad.Error_)
			}
			if oauth != tt.want || httpStatus(err) != 400 {
				t.Fatalf("error = %q, status %d, want %q, 400", oauth, httpStatus(err), tt.want)
			}
			calls := f.srv.Calls()
			if c := calls[len(calls)-1]; c.Operation != "CreateTokenWithIAM" || c.ErrorCode != apiCode(t, err) {
				t.Fatalf("last call = %+v, want CreateTokenWithIAM with %s", c, apiCode(t, err))
			}
		})
	}
}

// A role whose trust policy lacks sts:SetContext, and a context Identity
// Center did not issue, are AccessDenied; credentials that are not
// identity-enhanced cannot call the WithIdentity API.
func TestIdentityEnhancedCredentialsRequired(t *testing.T) {
	f := startIdentityCenter(t)
	tok, err := f.createToken(t, f.iss.idToken(t, nil, f.iss.url, idcAudience, "alice@example.com", time.Now().Add(time.Hour)))
	if err != nil {
		t.Fatal(err)
	}
	ctx := identityContext(t, aws.ToString(tok.IdToken))

	_, err = assumeWithContext(t, f.srv.URL(), f.oldRole, ctx)
	if got := apiCode(t, err); got != qssim.ErrSTSAccessDenied || !strings.Contains(apiMessage(err), "sts:SetContext") {
		t.Errorf("role without SetContext: %q %q, want AccessDenied naming sts:SetContext", got, apiMessage(err))
	}
	_, err = assumeWithContext(t, f.srv.URL(), f.contextRole, "forged")
	if got := apiCode(t, err); got != qssim.ErrSTSAccessDenied {
		t.Errorf("forged context: %q, want AccessDenied", got)
	}

	plain := assumeRole(t, stsClient(f.srv.URL(), nil), f.contextRole, "no-context", 900)
	for name, edit := range map[string]func(*aws.Config){
		"plain role session":      withRoleCreds(plain.Credentials),
		"configured IAM user key": nil,
	} {
		_, err := embedWithIdentity(t, f.srv.URL(), func(c *aws.Config) {
			oneAttempt(c)
			if edit != nil {
				edit(c)
			}
		}, 60)
		// The gateway tells this refusal from the account's by "IAM Identity Center".
		if msg := apiMessage(err); !isA[*qstypes.AccessDeniedException](err) || !strings.Contains(msg, "identity-enhanced") || strings.Contains(msg, "IAM Identity Center") {
			t.Errorf("%s: %v, want AccessDeniedException saying identity-enhanced, not naming IAM Identity Center", name, err)
		}
	}

	// The registered-user checks apply: a lifetime out of range.
	role, err := assumeWithContext(t, f.srv.URL(), f.contextRole, ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, err = embedWithIdentity(t, f.srv.URL(), func(c *aws.Config) { oneAttempt(c); withRoleCreds(role.Credentials)(c) }, 5)
	if !isA[*qstypes.SessionLifetimeInMinutesInvalidException](err) {
		t.Errorf("lifetime 5: %v, want SessionLifetimeInMinutesInvalidException", err)
	}
}

// An account not on IAM Identity Center refuses the WithIdentity embed call,
// even with identity-enhanced credentials, until SetAuthenticationType
// puts it there; adding an application does not.
func TestIdentityCenterAccountRequired(t *testing.T) {
	f := startIdentityCenter(t)
	tok, err := f.createToken(t, f.iss.idToken(t, nil, f.iss.url, idcAudience, "alice@example.com", time.Now().Add(time.Hour)))
	if err != nil {
		t.Fatal(err)
	}
	role, err := assumeWithContext(t, f.srv.URL(), f.contextRole, identityContext(t, aws.ToString(tok.IdToken)))
	if err != nil {
		t.Fatal(err)
	}
	embed := func() error {
		_, err := embedWithIdentity(t, f.srv.URL(), func(c *aws.Config) { oneAttempt(c); withRoleCreds(role.Credentials)(c) }, 60)
		return err
	}
	want := "The QuickSight account " + testAccount + " does not use IAM Identity Center: GenerateEmbedUrlForRegisteredUserWithIdentity " +
		"needs an account subscribed with AuthenticationMethod IAM_IDENTITY_CENTER."
	for _, auth := range []string{"IAM_AND_QUICKSIGHT", "IAM_ONLY", "ACTIVE_DIRECTORY"} {
		f.srv.SetAuthenticationType(auth)
		err := embed()
		if !isA[*qstypes.AccessDeniedException](err) || httpStatus(err) != 401 || apiMessage(err) != want {
			t.Errorf("account on %s: %v (HTTP %d), want AccessDeniedException 401 %q", auth, err, httpStatus(err), want)
		}
	}
	calls := f.srv.Calls()
	if c := calls[len(calls)-1]; c.Operation != "GenerateEmbedUrlForRegisteredUserWithIdentity" || c.ErrorCode != qssim.ErrAccessDenied || c.Status != 401 {
		t.Errorf("last call = %+v, want the refused embed call, AccessDeniedException, 401", c)
	}

	// A fresh simulator is not on Identity Center, whatever its applications.
	srv := startSim(t, nil)
	if err := srv.AddIdentityCenterApplication(qssim.IdentityCenterApplication{ARN: srv.IdentityCenterApplicationARN("x"), Issuer: f.iss.url, Audience: idcAudience}); err != nil {
		t.Fatal(err)
	}
	out, err := client(srv.URL(), oneAttempt).DescribeAccountSubscription(t.Context(), &quicksight.DescribeAccountSubscriptionInput{AwsAccountId: aws.String(testAccount)})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(out.AccountInfo.AuthenticationType); got != "IAM_AND_QUICKSIGHT" {
		t.Errorf("AuthenticationType after AddIdentityCenterApplication = %q, want IAM_AND_QUICKSIGHT (unchanged)", got)
	}

	f.srv.SetAuthenticationType("IAM_IDENTITY_CENTER")
	if err := embed(); err != nil {
		t.Fatalf("account on IAM_IDENTITY_CENTER: %v", err)
	}
}

// The application may be given its issuer's keys instead of discovering them.
func TestIdentityCenterStaticKeys(t *testing.T) {
	srv := startSim(t, nil)
	iss := newTokenIssuer(t)
	app := srv.IdentityCenterApplicationARN("static")
	keys := &jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &iss.key.PublicKey, KeyID: "k1", Algorithm: "RS256"}}}
	if err := srv.AddIdentityCenterApplication(qssim.IdentityCenterApplication{ARN: app, Issuer: "https://idp.example.com", Audience: idcAudience, Keys: keys}); err != nil {
		t.Fatal(err)
	}
	srv.AddIdentityCenterUser(qssim.User{UserName: "bob", Email: "bob@example.com"})
	_, err := ssoClient(srv.URL()).CreateTokenWithIAM(t.Context(), &ssooidc.CreateTokenWithIAMInput{
		ClientId: aws.String(app), GrantType: aws.String("urn:ietf:params:oauth:grant-type:jwt-bearer"),
		Assertion: aws.String(iss.idToken(t, nil, "https://idp.example.com", idcAudience, "bob@example.com", time.Now().Add(time.Hour))),
	})
	if err != nil {
		t.Fatalf("CreateTokenWithIAM with static keys: %v", err)
	}
	if err := srv.AddIdentityCenterApplication(qssim.IdentityCenterApplication{ARN: "arn:aws:sso::1:application/x"}); err == nil ||
		!strings.Contains(err.Error(), "ARN:") || !strings.Contains(err.Error(), "Issuer: missing") || !strings.Contains(err.Error(), "Audience: missing") {
		t.Errorf("bad application: %v, want ARN, Issuer and Audience named", err)
	}
}

func errorsAs[T error](err error, target *T) bool { return errors.As(err, target) }
