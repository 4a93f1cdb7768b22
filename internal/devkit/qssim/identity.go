package qssim

// IAM Identity Center's trusted identity propagation, as far as embedding
// needs it: SSO OIDC CreateTokenWithIAM (ssooidc.go) exchanges a trusted
// token issuer's JWT for Identity Center tokens whose ID token carries an
// identity context (claim sts:identity_context); STS AssumeRole with that
// context in ProvidedContexts issues identity-enhanced credentials, which
// carry the Identity Center user; GenerateEmbedUrlForRegisteredUserWithIdentity
// embeds as that user and refuses any other credentials.
//
// The gateway side, with the real SDK clients:
//
//	ssooidc.CreateTokenWithIAM{ClientId: <application ARN>,
//	    GrantType: "urn:ietf:params:oauth:grant-type:jwt-bearer", Assertion: <the provider's ID token>}
//	  (or GrantType "refresh_token", RefreshToken) -> IdToken's "sts:identity_context" claim
//	sts.AssumeRole{RoleArn, RoleSessionName, ProvidedContexts: [{ProviderArn:
//	    "arn:aws:iam::aws:contextProvider/IdentityCenter", ContextAssertion: <the claim>}]}
//	quicksight.GenerateEmbedUrlForRegisteredUserWithIdentity, signed with those credentials
//
// quicksight.DescribeAccountSubscription (identity region) tells whether the
// account is on Identity Center, AuthenticationType IAM_IDENTITY_CENTER
// (SetAuthenticationType); without it the embed call is refused.
//
// All three clients take the simulator's URL as BaseEndpoint (or
// AWS_ENDPOINT_URL_SSO_OIDC, AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL_QUICKSIGHT).
//
// It is not Identity Center: there is one instance, applications are an ARN
// with one trusted token issuer each, users are QuickSight users of type
// IAM_IDENTITY_CENTER found by one claim of the assertion (no groups, no
// assignments, no SCIM), scopes are echoed, and access tokens are opaque
// strings nothing else accepts.

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
	lru "github.com/hashicorp/golang-lru/v2"
)

// IdentityCenterContextProvider is the ProviderArn of an Identity Center
// context in AssumeRole's ProvidedContexts.
const IdentityCenterContextProvider = "arn:aws:iam::aws:contextProvider/IdentityCenter"

// The simulator's one Identity Center instance: its id in application ARNs
// and the ID tokens' issuer, its ARN in DescribeAccountSubscription.
const (
	identityCenterInstanceID  = "ssoins-qssim0000000000"
	identityCenterInstanceARN = "arn:aws:sso:::instance/" + identityCenterInstanceID
)

// identityContextLifetime is how long an identity context, an access token
// and the credentials' link to the user last: Identity Center's one hour.
const identityContextLifetime = time.Hour

// IdentityCenterApplication is a customer-managed Identity Center
// application that trusts one token issuer for the jwt-bearer grant.
type IdentityCenterApplication struct {
	// ARN is the client id CreateTokenWithIAM is called with:
	// arn:aws:sso::<account>:application/ssoins-<id>/apl-<id>.
	ARN string
	// Issuer is the trusted token issuer's URL, the assertion's iss.
	Issuer string
	// Audience is the aud the assertion must carry (the issuer's client id
	// for the gateway).
	Audience string
	// Keys verify the assertion's signature. When nil, the issuer's
	// /.well-known/openid-configuration is fetched on first use and its
	// jwks_uri is used, as Identity Center does.
	Keys *jose.JSONWebKeySet
	// UserClaim is the assertion's claim that names the Identity Center
	// user, matched against User.Email. Default "email".
	UserClaim string
}

var applicationARNPattern = regexp.MustCompile(`^arn:aws[a-z-]*:sso::[0-9]{12}:application/ssoins-[a-zA-Z0-9]+/apl-[a-zA-Z0-9]+$`)

// identityCenter is the simulator's Identity Center state.
type identityCenter struct {
	signer jose.Signer // the ID tokens' signing key

	mu           sync.Mutex
	apps         map[string]*idcApp
	users        map[string]string // lower-cased UserClaim value -> QuickSight user ARN
	contextRoles map[string]bool   // roles whose trust policy allows sts:SetContext

	contexts *lru.Cache[string, idcSession] // identity context assertion -> who
	refresh  *lru.Cache[string, idcSession] // refresh token -> who
}

type idcApp struct {
	IdentityCenterApplication
	verifier *oidc.IDTokenVerifier // nil until the issuer's keys are known
}

// idcSession is the Identity Center user a token or context stands for.
type idcSession struct {
	userArn string // the QuickSight user of type IAM_IDENTITY_CENTER
	userID  string // the Identity Center user id (the ID token's sub)
	app     string
	scopes  []string
	expires time.Time
}

func newIdentityCenter() *identityCenter {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader) // crypto/rand never fails (Go 1.24+)
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		panic(fmt.Sprintf("qssim: ID token signer: %v", err)) // only for an unusable key, which GenerateKey does not give
	}
	contexts, _ := lru.New[string, idcSession](issuedCredentialsLimit) // fails only for a size below 1
	refresh, _ := lru.New[string, idcSession](issuedCredentialsLimit)
	return &identityCenter{
		signer:       signer,
		apps:         make(map[string]*idcApp),
		users:        make(map[string]string),
		contextRoles: make(map[string]bool),
		contexts:     contexts,
		refresh:      refresh,
	}
}

// IdentityCenterApplicationARN returns an application ARN of the
// simulator's account, the shape AddIdentityCenterApplication takes.
func (s *Simulator) IdentityCenterApplicationARN(name string) string {
	return fmt.Sprintf("arn:aws:sso::%s:application/%s/apl-%s", s.cfg.AccountID, identityCenterInstanceID, name)
}

// AddIdentityCenterApplication adds app, or replaces the one of the same ARN.
func (s *Simulator) AddIdentityCenterApplication(app IdentityCenterApplication) error {
	var problems []string
	if !applicationARNPattern.MatchString(app.ARN) {
		problems = append(problems, fmt.Sprintf("ARN: %q is not an Identity Center application ARN (arn:aws:sso::ACCOUNT:application/ssoins-ID/apl-ID)", app.ARN))
	}
	if app.Issuer == "" {
		problems = append(problems, "Issuer: missing")
	}
	if app.Audience == "" {
		problems = append(problems, "Audience: missing")
	}
	if len(problems) > 0 {
		return fmt.Errorf("qssim: invalid Identity Center application:\n  %s", strings.Join(problems, "\n  "))
	}
	if app.UserClaim == "" {
		app.UserClaim = "email"
	}
	a := &idcApp{IdentityCenterApplication: app}
	if app.Keys != nil {
		keys := &oidc.StaticKeySet{}
		for _, k := range app.Keys.Keys {
			keys.PublicKeys = append(keys.PublicKeys, k.Key)
		}
		a.verifier = oidc.NewVerifier(app.Issuer, keys, s.verifierConfig(app.Audience))
	}
	s.idc.mu.Lock()
	defer s.idc.mu.Unlock()
	s.idc.apps[app.ARN] = a
	return nil
}

func (s *Simulator) verifierConfig(audience string) *oidc.Config {
	return &oidc.Config{
		ClientID:             audience,
		Now:                  s.cfg.Now,
		SupportedSigningAlgs: []string{oidc.RS256, oidc.RS384, oidc.RS512, oidc.ES256, oidc.ES384, oidc.ES512, oidc.PS256, oidc.EdDSA},
	}
}

// AddIdentityCenterUser adds u as an Identity Center user, known to the
// applications' trusted token issuers by u.Email (their UserClaim), and as
// the QuickSight user of type IAM_IDENTITY_CENTER it signs in as. It
// returns the QuickSight user's ARN.
func (s *Simulator) AddIdentityCenterUser(u User) string {
	u.IdentityType = "IAM_IDENTITY_CENTER"
	arn := s.AddUser(u)
	s.idc.mu.Lock()
	defer s.idc.mu.Unlock()
	s.idc.users[strings.ToLower(u.Email)] = arn
	return arn
}

// AddContextRole lets AssumeRole grant roleARN, with or without an
// Identity Center context: its trust policy allows sts:AssumeRole and
// sts:SetContext. A role added with AddRole or Config.Roles only refuses
// ProvidedContexts.
func (s *Simulator) AddContextRole(roleARN string) error {
	if err := s.AddRole(roleARN); err != nil {
		return err
	}
	s.idc.mu.Lock()
	defer s.idc.mu.Unlock()
	s.idc.contextRoles[roleARN] = true
	return nil
}

// providedContext reads AssumeRole's ProvidedContexts: none, or one
// Identity Center context for a role that trusts sts:SetContext. It returns
// the QuickSight user ARN the credentials will carry ("" for none).
func (s *Simulator) providedContext(form url.Values, role string, who caller) (string, *apiError) {
	provider, assertion := form.Get("ProvidedContexts.member.1.ProviderArn"), form.Get("ProvidedContexts.member.1.ContextAssertion")
	if provider == "" && assertion == "" {
		return "", nil
	}
	if form.Has("ProvidedContexts.member.2.ProviderArn") {
		return "", newError(ErrSTSValidation, "1 validation error detected: Value at 'providedContexts' failed to satisfy constraint: Member must have length less than or equal to 1")
	}
	if provider != IdentityCenterContextProvider {
		return "", newError(ErrSTSValidation, fmt.Sprintf("The provided context provider %q is not supported: use %s.", provider, IdentityCenterContextProvider))
	}
	s.idc.mu.Lock()
	trusts := s.idc.contextRoles[role]
	s.idc.mu.Unlock()
	if !trusts {
		return "", newError(ErrSTSAccessDenied, fmt.Sprintf("User: %s is not authorized to perform: sts:SetContext on resource: %s", who.arn, role))
	}
	sess, ok := s.idc.contexts.Get(assertion)
	if !ok || !s.now().Before(sess.expires) {
		return "", newError(ErrSTSAccessDenied, "The provided context assertion is not valid or has expired.")
	}
	return sess.userArn, nil
}
