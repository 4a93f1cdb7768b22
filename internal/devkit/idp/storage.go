package idp

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/subtle"
	"errors"
	"log/slog"
	"net/url"
	"slices"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

var _ op.Storage = (*storage)(nil)

// groupsClaim carries User.Groups with the "profile" scope. No standard
// claim exists for groups; "groups" is what Entra ID, Okta and Keycloak use
// and what the gateway reads by default.
const groupsClaim = "groups"

// Errors the sign-in page turns into friendly messages.
var (
	errUnknownRequest = errors.New("auth request unknown or expired")
	errAlreadySigned  = errors.New("auth request already signed in")
	errUnknownUser    = errors.New("user unknown")
)

// storage is the op.Storage of one provider, all in memory. Auth requests,
// codes and access tokens expire and are pruned as new ones are made; a code
// is spent the moment it is presented, so it works once at most.
type storage struct {
	clients map[string]*client // read-only after newStorage
	users   map[string]User    // read-only after newStorage
	logger  *slog.Logger
	now     func() time.Time

	mu       sync.Mutex
	keys     []*signingKey // the first signs; the others are still published
	requests map[string]*authRequest
	codes    map[string]issuedCode // code -> auth request id
	tokens   map[string]accessToken
}

type issuedCode struct {
	requestID string
	expires   time.Time
}

type accessToken struct {
	subject  string
	clientID string
	scopes   []string
	expires  time.Time
}

func newStorage(cfg Config, key *rsa.PrivateKey, loginURL string, logger *slog.Logger, now func() time.Time) *storage {
	s := &storage{
		clients:  make(map[string]*client, len(cfg.Clients)),
		users:    make(map[string]User, len(cfg.Users)),
		keys:     []*signingKey{{id: rand.Text(), key: key}},
		logger:   logger,
		now:      now,
		requests: make(map[string]*authRequest),
		codes:    make(map[string]issuedCode),
		tokens:   make(map[string]accessToken),
	}
	for _, c := range cfg.Clients {
		s.clients[c.ID] = &client{cfg: c, loginURL: loginURL}
	}
	for _, u := range cfg.Users {
		s.users[u.Subject] = u
	}
	return s
}

// pruneLocked drops everything expired; s.mu must be held.
func (s *storage) pruneLocked(now time.Time) {
	for id, r := range s.requests {
		if !now.Before(r.expires) {
			delete(s.requests, id)
		}
	}
	for code, c := range s.codes {
		if !now.Before(c.expires) {
			delete(s.codes, code)
		}
	}
	for id, t := range s.tokens {
		if !now.Before(t.expires) {
			delete(s.tokens, id)
		}
	}
}

// liveRequestLocked returns the auth request with this id if it exists and has not
// expired; s.mu must be held.
func (s *storage) liveRequestLocked(id string) (*authRequest, bool) {
	r, ok := s.requests[id]
	if !ok || !s.now().Before(r.expires) {
		return nil, false
	}
	return r, true
}

// waitingRequestLocked is a live auth request that no user has signed in
// for yet.
func (s *storage) waitingRequestLocked(id string) (*authRequest, error) {
	r, ok := s.liveRequestLocked(id)
	switch {
	case !ok:
		return nil, errUnknownRequest
	case r.done:
		return nil, errAlreadySigned
	}
	return r, nil
}

// pendingLogin returns the client the auth request id belongs to, if the
// request still waits for a user.
func (s *storage) pendingLogin(id string) (clientID string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.waitingRequestLocked(id)
	if err != nil {
		return "", err
	}
	return r.clientID, nil
}

// signIn records that subject signed in for the auth request id.
func (s *storage) signIn(id, subject string) (clientID string, err error) {
	if _, ok := s.users[subject]; !ok {
		return "", errUnknownUser
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.waitingRequestLocked(id)
	if err != nil {
		return "", err
	}
	r.subject = subject
	r.authTime = s.now()
	r.done = true
	return r.clientID, nil
}

// CreateAuthRequest stores a validated authorization request. This provider
// keeps no session, so prompt=none cannot succeed, and it insists on PKCE
// with S256, as the gateway always sends it.
func (s *storage) CreateAuthRequest(_ context.Context, req *oidc.AuthRequest, _ string) (op.AuthRequest, error) {
	if slices.Contains(req.Prompt, oidc.PromptNone) {
		return nil, oidc.ErrLoginRequired().WithDescription("devidp keeps no session; sign in interactively")
	}
	if req.CodeChallenge == "" || req.CodeChallengeMethod != oidc.CodeChallengeMethodS256 {
		return nil, oidc.ErrInvalidRequest().WithDescription("PKCE with code_challenge_method S256 is required")
	}
	now := s.now()
	r := &authRequest{
		id:           rand.Text(), // 128 random bits: the login form's only reference to the flow
		clientID:     req.ClientID,
		redirectURI:  req.RedirectURI,
		state:        req.State,
		nonce:        req.Nonce,
		scopes:       slices.Clone(req.Scopes),
		responseType: req.ResponseType,
		responseMode: req.ResponseMode,
		codeChallenge: &oidc.CodeChallenge{
			Challenge: req.CodeChallenge,
			Method:    req.CodeChallengeMethod,
		},
		expires: now.Add(authRequestLifetime),
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pruneLocked(now)
	s.requests[r.id] = r
	return r.clone(), nil
}

// AuthRequestByID returns a copy, so the op library never shares memory
// with the sign-in page.
func (s *storage) AuthRequestByID(_ context.Context, id string) (op.AuthRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.liveRequestLocked(id)
	if !ok {
		return nil, errUnknownRequest
	}
	return r.clone(), nil
}

// AuthRequestByCode spends the code whatever happens next: a code presented
// with a wrong PKCE verifier or client secret is gone too.
func (s *storage) AuthRequestByCode(_ context.Context, code string) (op.AuthRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.codes[code]
	delete(s.codes, code)
	if !ok || !s.now().Before(c.expires) {
		return nil, errors.New("code unknown, used or expired")
	}
	r, ok := s.liveRequestLocked(c.requestID)
	if !ok {
		return nil, errUnknownRequest
	}
	return r.clone(), nil
}

// SaveAuthCode allows one code per signed-in request; the request then lives
// only as long as its code.
func (s *storage) SaveAuthCode(_ context.Context, id, code string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.liveRequestLocked(id)
	switch {
	case !ok:
		return errUnknownRequest
	case !r.done:
		return oidc.ErrInteractionRequired().WithDescription("the user has not signed in")
	case r.codeIssued:
		return oidc.ErrInvalidRequest().WithDescription("a code was already issued for this sign-in")
	}
	now := s.now()
	r.codeIssued = true
	r.expires = now.Add(codeLifetime)
	s.codes[code] = issuedCode{requestID: id, expires: r.expires}
	return nil
}

// DeleteAuthRequest is called once tokens were issued for the request.
func (s *storage) DeleteAuthRequest(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.requests, id)
	for code, c := range s.codes {
		if c.requestID == id {
			delete(s.codes, code)
		}
	}
	return nil
}

// CreateAccessToken records an opaque access token; the op library encrypts
// the returned id into the token the client sees.
func (s *storage) CreateAccessToken(_ context.Context, req op.TokenRequest) (string, time.Time, error) {
	r, ok := req.(*authRequest)
	if !ok {
		return "", time.Time{}, oidc.ErrUnsupportedGrantType().WithDescription("devidp supports the authorization code flow only")
	}
	now := s.now()
	id := rand.Text()
	t := accessToken{subject: r.subject, clientID: r.clientID, scopes: r.scopes, expires: now.Add(accessTokenLifetime)}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pruneLocked(now)
	s.tokens[id] = t
	s.logger.Info("devidp tokens issued", "sub", r.subject, "client_id", r.clientID)
	return id, t.expires, nil
}

// CreateAccessAndRefreshTokens is never reached: no client has the
// refresh_token grant.
func (s *storage) CreateAccessAndRefreshTokens(context.Context, op.TokenRequest, string) (string, string, time.Time, error) {
	return "", "", time.Time{}, oidc.ErrUnsupportedGrantType().WithDescription("devidp issues no refresh tokens")
}

// TokenRequestByRefreshToken refuses: there are no refresh tokens.
func (s *storage) TokenRequestByRefreshToken(context.Context, string) (op.RefreshTokenRequest, error) {
	return nil, op.ErrInvalidRefreshToken
}

// TerminateSession ends the user's access tokens for the client
// (end_session). There is no provider session to end.
func (s *storage) TerminateSession(_ context.Context, userID, clientID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, t := range s.tokens {
		if t.subject == userID && t.clientID == clientID {
			delete(s.tokens, id)
		}
	}
	s.logger.Info("devidp sign-out", "sub", userID, "client_id", clientID)
	return nil
}

// RevokeToken revokes an access token of the calling client.
func (s *storage) RevokeToken(_ context.Context, tokenID, _, clientID string) *oidc.Error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[tokenID]
	if !ok {
		return nil // unknown or already gone: revoked either way (RFC 7009)
	}
	if t.clientID != clientID {
		return oidc.ErrInvalidClient().WithDescription("token was not issued to this client")
	}
	delete(s.tokens, tokenID)
	return nil
}

// GetRefreshTokenInfo refuses: there are no refresh tokens.
func (s *storage) GetRefreshTokenInfo(context.Context, string, string) (string, string, error) {
	return "", "", op.ErrInvalidRefreshToken
}

// SigningKey returns the provider's current key.
func (s *storage) SigningKey(context.Context) (op.SigningKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.keys[0], nil
}

// rotate makes key the signing key; the previous one stays published (as
// a real provider does during a rotation), older ones are dropped.
func (s *storage) rotate(key *rsa.PrivateKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = []*signingKey{{id: rand.Text(), key: key}, s.keys[0]}
}

// SignatureAlgorithms lists RS256 only.
func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.RS256}, nil
}

// KeySet publishes the public halves of the keys (JWKS).
func (s *storage) KeySet(context.Context) ([]op.Key, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := make([]op.Key, len(s.keys))
	for i, k := range s.keys {
		keys[i] = publicKey{k}
	}
	return keys, nil
}

// GetClientByClientID returns a plain error for an unknown client, as op
// expects (a server_error would answer 500).
func (s *storage) GetClientByClientID(_ context.Context, clientID string) (op.Client, error) {
	c, ok := s.clients[clientID]
	if !ok {
		return nil, errors.New("client not found")
	}
	return c, nil
}

// AuthorizeClientIDSecret checks a client's secret in constant time.
func (s *storage) AuthorizeClientIDSecret(_ context.Context, clientID, secret string) error {
	c, ok := s.clients[clientID]
	if !ok || subtle.ConstantTimeCompare([]byte(c.cfg.Secret), []byte(secret)) != 1 {
		return errors.New("wrong client id or secret")
	}
	return nil
}

// SetUserinfoFromScopes is deprecated in op and left empty, as op asks;
// SetUserinfoFromRequest fills the ID token instead.
func (s *storage) SetUserinfoFromScopes(context.Context, *oidc.UserInfo, string, string, []string) error {
	return nil
}

// SetUserinfoFromRequest fills the ID token's user claims.
func (s *storage) SetUserinfoFromRequest(_ context.Context, info *oidc.UserInfo, req op.IDTokenRequest, scopes []string) error {
	return s.setUserinfo(info, req.GetSubject(), scopes)
}

// SetUserinfoFromToken answers the userinfo endpoint for a live access token.
func (s *storage) SetUserinfoFromToken(_ context.Context, info *oidc.UserInfo, tokenID, subject, _ string) error {
	s.mu.Lock()
	t, ok := s.tokens[tokenID]
	s.mu.Unlock()
	if !ok || !s.now().Before(t.expires) || t.subject != subject {
		return errors.New("access token unknown or expired")
	}
	return s.setUserinfo(info, t.subject, t.scopes)
}

// SetIntrospectionFromToken refuses: the gateway has no use for
// introspection, so devidp does not offer it.
func (s *storage) SetIntrospectionFromToken(context.Context, *oidc.IntrospectionResponse, string, string, string) error {
	return errors.New("devidp does not support token introspection")
}

// GetPrivateClaimsFromScopes adds nothing: access tokens are opaque.
func (s *storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

// GetKeyByIDAndClientID refuses: no client authenticates with a JWT.
func (s *storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errors.New("devidp does not support JWT client authentication")
}

// ValidateJWTProfileScopes refuses: there is no JWT profile grant.
func (s *storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, errors.New("devidp does not support the JWT profile grant")
}

// Health always reports healthy: everything is in memory.
func (s *storage) Health(context.Context) error { return nil }

// setUserinfo sets the claims the scopes ask for (OpenID Connect Core 5.4).
func (s *storage) setUserinfo(info *oidc.UserInfo, subject string, scopes []string) error {
	u, ok := s.users[subject]
	if !ok {
		return errors.New("user not found")
	}
	info.Subject = u.Subject
	for _, scope := range scopes {
		switch scope {
		case oidc.ScopeEmail:
			info.Email = u.Email
			info.EmailVerified = oidc.Bool(true)
		case oidc.ScopeProfile:
			info.Name = u.Name
			info.PreferredUsername = u.PreferredUsername
			// Always an array, [] for none, so a relying party meets one shape.
			info.AppendClaims(groupsClaim, append([]string{}, u.Groups...))
		}
	}
	return nil
}

// authRequest is an op.AuthRequest. The storage keeps the original and hands
// out clones.
type authRequest struct {
	id            string
	clientID      string
	redirectURI   string
	state         string
	nonce         string
	scopes        []string
	responseType  oidc.ResponseType
	responseMode  oidc.ResponseMode
	codeChallenge *oidc.CodeChallenge
	expires       time.Time

	subject    string // set by the sign-in page
	authTime   time.Time
	done       bool
	codeIssued bool
}

func (r *authRequest) clone() *authRequest {
	c := *r
	return &c
}

func (r *authRequest) GetID() string                         { return r.id }
func (r *authRequest) GetACR() string                        { return "" }
func (r *authRequest) GetAMR() []string                      { return nil }
func (r *authRequest) GetAudience() []string                 { return []string{r.clientID} }
func (r *authRequest) GetAuthTime() time.Time                { return r.authTime }
func (r *authRequest) GetClientID() string                   { return r.clientID }
func (r *authRequest) GetCodeChallenge() *oidc.CodeChallenge { return r.codeChallenge }
func (r *authRequest) GetNonce() string                      { return r.nonce }
func (r *authRequest) GetRedirectURI() string                { return r.redirectURI }
func (r *authRequest) GetResponseType() oidc.ResponseType    { return r.responseType }
func (r *authRequest) GetResponseMode() oidc.ResponseMode    { return r.responseMode }
func (r *authRequest) GetScopes() []string                   { return r.scopes }
func (r *authRequest) GetState() string                      { return r.state }
func (r *authRequest) GetSubject() string                    { return r.subject }
func (r *authRequest) Done() bool                            { return r.done }

// LogValue is what op logs when it answers an auth request with an error:
// never the request id, state or nonce.
func (r *authRequest) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("client_id", r.clientID),
		slog.String("redirect_uri", r.redirectURI),
		slog.Any("scopes", r.scopes),
	)
}

// client is an op.Client: a confidential web client using the code flow
// with client_secret_basic.
type client struct {
	cfg      Client
	loginURL string
}

func (c *client) GetID() string                       { return c.cfg.ID }
func (c *client) RedirectURIs() []string              { return c.cfg.RedirectURIs }
func (c *client) PostLogoutRedirectURIs() []string    { return c.cfg.PostLogoutRedirectURIs }
func (c *client) ApplicationType() op.ApplicationType { return op.ApplicationTypeWeb }
func (c *client) AuthMethod() oidc.AuthMethod         { return oidc.AuthMethodBasic }
func (c *client) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}
func (c *client) GrantTypes() []oidc.GrantType { return []oidc.GrantType{oidc.GrantTypeCode} }
func (c *client) LoginURL(id string) string {
	return c.loginURL + "?" + url.Values{"authRequestID": {id}}.Encode()
}
func (c *client) AccessTokenType() op.AccessTokenType { return op.AccessTokenTypeBearer }
func (c *client) IDTokenLifetime() time.Duration      { return idTokenLifetime }
func (c *client) DevMode() bool                       { return false }
func (c *client) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(scopes []string) []string { return scopes }
}
func (c *client) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(scopes []string) []string { return scopes }
}
func (c *client) IsScopeAllowed(string) bool { return false }

// IDTokenUserinfoClaimsAssertion puts email and profile claims in the ID
// token even though an access token is issued too, as Entra ID and Cognito
// do; the gateway reads them from the ID token.
func (c *client) IDTokenUserinfoClaimsAssertion() bool { return true }
func (c *client) ClockSkew() time.Duration             { return 0 }

// signingKey is the provider's RSA key, an op.SigningKey.
type signingKey struct {
	id  string
	key *rsa.PrivateKey
}

func (k *signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k *signingKey) Key() any                                    { return k.key }
func (k *signingKey) ID() string                                  { return k.id }

// publicKey is the public half of signingKey, an op.Key for the JWKS.
type publicKey struct{ k *signingKey }

func (p publicKey) ID() string                         { return p.k.id }
func (p publicKey) Algorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (p publicKey) Use() string                        { return "sig" }
func (p publicKey) Key() any                           { return &p.k.key.PublicKey }
