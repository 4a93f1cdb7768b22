package quicksight

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssooidc"
	ssotypes "github.com/aws/aws-sdk-go-v2/service/ssooidc/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/qsgate/qsgate/audit"
)

// Identity Center's failures, told apart so that each gets its own page.
var (
	// ErrIssuerNotTrusted means Identity Center refused the provider's
	// token as an assertion for the application: the application does not
	// trust the provider as a trusted token issuer (or the audience, or
	// the gateway's right to the application, is wrong).
	ErrIssuerNotTrusted = errors.New("IAM Identity Center does not accept the sign-in provider's token")
	// ErrNotInIdentityCenter means the assertion was good but names no
	// active Identity Center user.
	ErrNotInIdentityCenter = errors.New("the signed-in user is not an active IAM Identity Center user")
	// ErrRoleNoContext means STS refused to assume QSGATE_IDC_ROLE_ARN with
	// the user's identity context: the role's trust policy lacks
	// sts:SetContext (or sts:AssumeRole) for the gateway.
	ErrRoleNoContext = errors.New("the Identity Center role cannot be assumed with the user's identity")
	// ErrAccountNotIdentityCenter means QuickSight refused identity-enhanced
	// credentials because the account does not use IAM Identity Center.
	ErrAccountNotIdentityCenter = errors.New("the QuickSight account does not use IAM Identity Center")
	// ErrSignInAgain means the user's token from the provider has expired
	// (or the session holds none) and nothing else could renew the
	// identity: the user must sign in again, or the session be re-checked
	// at the provider.
	ErrSignInAgain = errors.New("the sign-in must be renewed to reach IAM Identity Center")
)

// The Identity Center chain's constants.
const (
	grantJWTBearer        = "urn:ietf:params:oauth:grant-type:jwt-bearer"
	grantRefreshToken     = "refresh_token"
	identityContextClaim  = "sts:identity_context"
	identityCenterContext = "arn:aws:iam::aws:contextProvider/IdentityCenter"
	quickSightScope       = "quicksight:read" // the application's scope for QuickSight
	// assertionMargin: a token this close to its expiry is not sent, as
	// it could expire on the way.
	assertionMargin = 30 * time.Second
)

// ApplicationARNRE is the shape of an Identity Center application ARN
// (QSGATE_IDC_APPLICATION_ARN).
var ApplicationARNRE = regexp.MustCompile(`^arn:aws[a-z-]*:sso::[0-9]{12}:application/ssoins-[a-zA-Z0-9]{1,64}/apl-[a-zA-Z0-9]{1,64}$`)

// TokenAPI is the part of the SSO OIDC client the chain uses.
type TokenAPI interface {
	CreateTokenWithIAM(ctx context.Context, in *ssooidc.CreateTokenWithIAMInput, opts ...func(*ssooidc.Options)) (*ssooidc.CreateTokenWithIAMOutput, error)
}

// ContextRoleAPI is the part of the STS client the chain uses.
type ContextRoleAPI interface {
	AssumeRole(ctx context.Context, in *sts.AssumeRoleInput, opts ...func(*sts.Options)) (*sts.AssumeRoleOutput, error)
}

// IdentityCenterMapper embeds as the IAM Identity Center user who signed
// in (trusted identity propagation), with no user mapping: the provider's
// ID token goes to SSO OIDC CreateTokenWithIAM (jwt-bearer) for the
// application; the identity context in Identity Center's ID token goes to
// STS AssumeRole (ProvidedContexts) on the role; the embed call
// (GenerateEmbedUrlForRegisteredUserWithIdentity) is signed with the
// identity-enhanced credentials that returns.
//
// The credentials are kept per user (by subject, never shared), at most
// UserCacheSize users, and renewed five minutes before they expire: with
// the provider's token while it is valid, else with Identity Center's
// refresh token (which rotates: each is used once), else ErrSignInAgain.
// Concurrent first views of one user share one chain.
type IdentityCenterMapper struct {
	appARN, roleARN string
	tokens          TokenAPI
	sts             ContextRoleAPI
	timeout         time.Duration
	now             func() time.Time
	users           *lru.Cache[string, *idcUser]
	audit           Auditor // role_assumed; nil records nothing
}

// RecordTo makes m write role_assumed to a (nil records nothing) each time
// it assumes the role for a user: a cold chain or a renewal, never a
// cached view.
func (m *IdentityCenterMapper) RecordTo(a Auditor) *IdentityCenterMapper {
	m.audit = a
	return m
}

// NewIdentityCenterMapper makes the chain for application appARN and role
// roleARN; timeout bounds each renewal (QSGATE_AWS_TIMEOUT).
func NewIdentityCenterMapper(appARN, roleARN string, tokens TokenAPI, stsAPI ContextRoleAPI, timeout time.Duration) (*IdentityCenterMapper, error) {
	if !ApplicationARNRE.MatchString(appARN) {
		return nil, fmt.Errorf("%q is not an IAM Identity Center application ARN", appARN)
	}
	if !RoleARNRE.MatchString(roleARN) {
		return nil, fmt.Errorf("%q is not an IAM role ARN", roleARN)
	}
	users, err := lru.New[string, *idcUser](UserCacheSize)
	if err != nil {
		return nil, err
	}
	return &IdentityCenterMapper{appARN: appARN, roleARN: roleARN, tokens: tokens, sts: stsAPI,
		timeout: timeout, now: time.Now, users: users}, nil
}

// Identity implements Mapper. The Identity has no UserARN: QuickSight
// learns the user from the credentials. A warm view makes no call here.
func (m *IdentityCenterMapper) Identity(ctx context.Context, p Person) (Identity, error) {
	sub := p.Claims.Claim("sub")
	if sub == "" {
		return Identity{}, fmt.Errorf("%w: the session has no subject", ErrNoMapping)
	}
	u := m.user(sub, p)
	u.src.offer(p.Token)
	if _, err := u.creds.Retrieve(ctx); err != nil {
		return Identity{}, m.explain(err)
	}
	return Identity{Creds: u.creds, WithIdentity: true, RoleARN: m.roleARN}, nil
}

// CarriesIdentity reports that the mapper names no QuickSight user:
// QuickSight learns the Identity Center user from the credentials.
func (m *IdentityCenterMapper) CarriesIdentity() bool { return true }

// Forget drops what is kept for p: the next view starts the chain again.
func (m *IdentityCenterMapper) Forget(p Person) {
	m.users.Remove(p.Claims.Claim("sub"))
}

// idcUser is one user's chain: the source of the credentials and their
// cache, which renews them (one renewal at a time).
type idcUser struct {
	src   *idcSource
	creds *aws.CredentialsCache
}

func (m *IdentityCenterMapper) user(sub string, p Person) *idcUser {
	if u, ok := m.users.Get(sub); ok {
		return u
	}
	email := p.Claims.Claim("email")
	src := &idcSource{m: m, session: RoleSessionName(cmp.Or(email, sub)), sub: sub, email: email}
	u := &idcUser{src: src, creds: aws.NewCredentialsCache(deadline{src, m.timeout}, func(o *aws.CredentialsCacheOptions) {
		o.ExpiryWindow = roleSessionRenew
	})}
	// Two first views at once must share one chain.
	if found, _ := m.users.ContainsOrAdd(sub, u); found {
		if prev, ok := m.users.Get(sub); ok {
			return prev
		}
	}
	return u
}

// idcSource is an aws.CredentialsProvider that runs the chain for one user.
// It holds secrets: the provider's token and Identity Center's refresh
// token; neither is ever logged.
type idcSource struct {
	m          *IdentityCenterMapper
	session    string // the role session name
	sub, email string // whose chain, for the audit stream

	mu        sync.Mutex
	assertion string    // the freshest provider ID token seen
	expires   time.Time // its expiry
	refresh   string    // Identity Center's refresh token, "" when none
}

// offer keeps token as the assertion when it is newer than the one held.
func (s *idcSource) offer(token string) {
	if token == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if token == s.assertion {
		return
	}
	exp, ok := tokenExpiry(token)
	if ok && exp.After(s.expires) {
		s.assertion, s.expires = token, exp
	}
}

// Retrieve runs the chain: Identity Center's identity context, then the
// role with it.
func (s *idcSource) Retrieve(ctx context.Context) (aws.Credentials, error) {
	identityContext, err := s.identityContext(ctx)
	if err != nil {
		return aws.Credentials{}, err
	}
	out, err := s.m.sts.AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn:         aws.String(s.m.roleARN),
		RoleSessionName: aws.String(s.session),
		DurationSeconds: aws.Int32(int32(roleSessionDuration.Seconds())),
		ProvidedContexts: []ststypes.ProvidedContext{{
			ProviderArn: aws.String(identityCenterContext), ContextAssertion: aws.String(identityContext),
		}},
	})
	if err != nil {
		return aws.Credentials{}, classifyChain("AssumeRole", err)
	}
	c := out.Credentials
	if c == nil || c.Expiration == nil {
		return aws.Credentials{}, classifyChain("AssumeRole", errors.New("STS answered without credentials"))
	}
	if s.m.audit != nil {
		s.m.audit.Record(ctx, audit.Event{Event: audit.RoleAssumed, Subject: s.sub, Email: s.email,
			RoleARN: s.m.roleARN, RoleSession: s.session})
	}
	return aws.Credentials{
		AccessKeyID: aws.ToString(c.AccessKeyId), SecretAccessKey: aws.ToString(c.SecretAccessKey),
		SessionToken: aws.ToString(c.SessionToken), Source: "IdentityCenter",
		CanExpire: true, Expires: *c.Expiration,
	}, nil
}

// identityContext asks Identity Center for the user's identity context:
// with the provider's token while it is valid, else with the refresh
// token from the last answer.
func (s *idcSource) identityContext(ctx context.Context) (string, error) {
	s.mu.Lock()
	assertion, expires, refresh := s.assertion, s.expires, s.refresh
	s.mu.Unlock()
	in := &ssooidc.CreateTokenWithIAMInput{ClientId: aws.String(s.m.appARN), Scope: []string{quickSightScope}}
	switch {
	case assertion != "" && s.m.now().Add(assertionMargin).Before(expires):
		in.GrantType, in.Assertion = aws.String(grantJWTBearer), aws.String(assertion)
	case refresh != "":
		in.GrantType, in.RefreshToken = aws.String(grantRefreshToken), aws.String(refresh)
	default:
		return "", fmt.Errorf("%w: the provider's token has expired and no Identity Center refresh token is held", ErrSignInAgain)
	}
	out, err := s.m.tokens.CreateTokenWithIAM(ctx, in)
	if err != nil {
		e := classifyChain("CreateTokenWithIAM", err)
		if aws.ToString(in.GrantType) == grantRefreshToken && (errors.Is(e, ErrIssuerNotTrusted) || errors.Is(e, ErrNotInIdentityCenter)) {
			// A refused refresh token: the user is out (disabled in
			// Identity Center), or it expired; either way only a new
			// sign-in can tell. One that failed on the way (a timeout,
			// throttling) is kept for the next try.
			s.mu.Lock()
			if s.refresh == refresh {
				s.refresh = ""
			}
			s.mu.Unlock()
			return "", fmt.Errorf("%w: Identity Center refused the refresh token (%w)", ErrSignInAgain, e)
		}
		return "", e
	}
	s.mu.Lock()
	if out.RefreshToken != nil {
		s.refresh = *out.RefreshToken
	}
	s.mu.Unlock()
	claim, err := claimOf(aws.ToString(out.IdToken), identityContextClaim)
	if err != nil || claim == "" {
		return "", &Error{Kind: ErrIssuerNotTrusted, Op: "CreateTokenWithIAM", Code: "NoIdentityContext",
			Hint: "Identity Center's ID token carries no sts:identity_context claim: check that QSGATE_IDC_APPLICATION_ARN is a customer-managed application with trusted identity propagation"}
	}
	return claim, nil
}

// explain turns a chain failure into the package's errors.
func (m *IdentityCenterMapper) explain(err error) error {
	var e *Error
	if errors.As(err, &e) || errors.Is(err, ErrSignInAgain) {
		return err
	}
	return classifyChain("AssumeRole", err)
}

// classifyChain is classify with the Identity Center chain's meanings.
func classifyChain(op string, err error) *Error {
	e := classify(op, err)
	if e.Message == "" {
		e.Message = oauthDescription(err) // SSO OIDC's errors carry it apart
	}
	switch {
	case op == "CreateTokenWithIAM" && (e.Code == "InvalidGrantException" || e.Code == "InvalidClientException" || e.Code == "UnauthorizedClientException"):
		if e.Code == "InvalidGrantException" && strings.Contains(strings.ToLower(e.Message), "user") {
			e.Kind, e.Hint = ErrNotInIdentityCenter, "Identity Center has no active user for the provider's token: add or enable the user in Identity Center (the trusted token issuer's attribute mapping names which claim must match), and assign them to the application"
		} else {
			e.Kind, e.Hint = ErrIssuerNotTrusted, "Identity Center refused the provider's token: QSGATE_IDC_APPLICATION_ARN must trust the provider (QSGATE_OIDC_ISSUER) as a trusted token issuer with the gateway's client id as audience, and allow the jwt-bearer grant"
		}
	case op == "CreateTokenWithIAM" && e.Code == "AccessDeniedException":
		e.Hint = "the gateway's AWS identity needs sso-oauth:CreateTokenWithIAM on QSGATE_IDC_APPLICATION_ARN, and the application must exist in QSGATE_IDC_REGION"
	case op == "AssumeRole" && e.Code == "AccessDenied":
		e.Kind, e.Hint = ErrRoleNoContext, "STS refused QSGATE_IDC_ROLE_ARN with the user's identity context: the role's trust policy must allow the gateway sts:AssumeRole and sts:SetContext, and the gateway's policy sts:AssumeRole and sts:SetContext on the role"
	}
	return e
}

// oauthDescription is an SSO OIDC error's error_description, "" when none.
func oauthDescription(err error) string {
	var grant *ssotypes.InvalidGrantException
	if errors.As(err, &grant) {
		return aws.ToString(grant.Error_description)
	}
	var client *ssotypes.InvalidClientException
	if errors.As(err, &client) {
		return aws.ToString(client.Error_description)
	}
	return ""
}

// tokenAlgorithms are the signature algorithms a provider's ID token may
// use; the token is only read here (the sign-in verified it).
var tokenAlgorithms = []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512,
	jose.ES256, jose.ES384, jose.ES512, jose.EdDSA, jose.HS256, jose.HS384, jose.HS512}

// tokenExpiry reads a JWT's exp without verifying it: the session's token
// was verified at sign-in, and Identity Center checks it again.
func tokenExpiry(raw string) (time.Time, bool) {
	tok, err := jwt.ParseSigned(raw, tokenAlgorithms)
	if err != nil {
		return time.Time{}, false
	}
	var c jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&c); err != nil || c.Expiry == nil {
		return time.Time{}, false
	}
	return c.Expiry.Time(), true
}

// claimOf reads one string claim of a JWT without verifying it: Identity
// Center's ID token comes straight from Identity Center over TLS, and STS
// checks the context it carries.
func claimOf(raw, name string) (string, error) {
	tok, err := jwt.ParseSigned(raw, tokenAlgorithms)
	if err != nil {
		return "", err
	}
	var claims map[string]any
	if err := tok.UnsafeClaimsWithoutVerification(&claims); err != nil {
		return "", err
	}
	s, _ := claims[name].(string)
	return s, nil
}
