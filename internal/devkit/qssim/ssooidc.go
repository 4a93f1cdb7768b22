package qssim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4/jwt"
)

// ssoOAuthService is SSO OIDC's SigV4 signing name.
const ssoOAuthService = "sso-oauth"

// The grant types of CreateTokenWithIAM the simulator takes.
const (
	grantJWTBearer    = "urn:ietf:params:oauth:grant-type:jwt-bearer"
	grantRefreshToken = "refresh_token"
)

// SSO OIDC error codes (X-Amzn-ErrorType); the body's "error" is the OAuth
// code beside each.
const (
	ErrSSOInvalidGrant         = "InvalidGrantException"
	ErrSSOInvalidClient        = "InvalidClientException"
	ErrSSOInvalidRequest       = "InvalidRequestException"
	ErrSSOUnsupportedGrantType = "UnsupportedGrantTypeException"
	ErrSSOAccessDenied         = "AccessDeniedException"
)

var ssoOAuthCodes = map[string]string{
	ErrSSOInvalidGrant:         "invalid_grant",
	ErrSSOInvalidClient:        "invalid_client",
	ErrSSOInvalidRequest:       "invalid_request",
	ErrSSOUnsupportedGrantType: "unsupported_grant_type",
	ErrSSOAccessDenied:         "access_denied",
}

// ssoErrorStatus is the HTTP status SSO OIDC answers each of its codes with
// (the SDK's httpError traits); the front door's codes keep QuickSight's
// (errorStatus), others answer 400.
var ssoErrorStatus = map[string]int{
	ErrSSOInvalidClient: 401,
	ErrSSOAccessDenied:  400, // QuickSight's AccessDeniedException is 401
}

// serveSSOOIDC serves POST /token?aws_iam=t, CreateTokenWithIAM: the front
// door for sso-oauth, JSON answers and errors ({"error", "error_description"}
// with X-Amzn-ErrorType), the call record and the log.
func (s *Simulator) serveSSOOIDC(w http.ResponseWriter, r *http.Request) {
	c := Call{Operation: "CreateTokenWithIAM", RequestID: newRequestID()}
	out, apiErr := s.handleSSOOIDC(r, &c)
	if r.Context().Err() != nil {
		s.record(r.Context(), "sso-oidc call", c)
		return
	}
	status := http.StatusOK
	if apiErr != nil {
		status = apiErr.status()
		if st, ok := ssoErrorStatus[apiErr.code]; ok {
			status = st
		}
		c.ErrorCode = apiErr.code
		w.Header().Set("X-Amzn-ErrorType", apiErr.code)
		out = map[string]any{"error_description": apiErr.message}
		if oauth, ok := ssoOAuthCodes[apiErr.code]; ok {
			out["error"] = oauth
		} else {
			out["message"] = apiErr.message
		}
	}
	c.Status = status
	s.record(r.Context(), "sso-oidc call", c)
	body, err := json.Marshal(out)
	if err != nil {
		panic(fmt.Sprintf("qssim: encode SSO OIDC response: %v", err)) // only strings, numbers and string lists
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-Requestid", c.RequestID)
	w.WriteHeader(status)
	_, _ = w.Write(body) // a client that hung up does not need the body
}

func (s *Simulator) handleSSOOIDC(r *http.Request, c *Call) (map[string]any, *apiError) {
	if r.URL.Query().Get("aws_iam") != "t" {
		c.Operation = ""
		return nil, newError(ErrUnknownOperation, "The simulator implements only CreateTokenWithIAM (POST /token?aws_iam=t) of SSO OIDC.")
	}
	body, _, e := s.admit(r, ssoOAuthService, c)
	if e != nil {
		return nil, e
	}
	var in struct {
		ClientID     string   `json:"clientId"`
		GrantType    string   `json:"grantType"`
		Assertion    string   `json:"assertion"`
		RefreshToken string   `json:"refreshToken"`
		Scope        []string `json:"scope"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, newError(ErrSSOInvalidRequest, "The request body is not valid JSON.")
	}
	s.idc.mu.Lock()
	app, ok := s.idc.apps[in.ClientID]
	s.idc.mu.Unlock()
	if !ok {
		return nil, newError(ErrSSOAccessDenied, fmt.Sprintf("The application %q does not exist or the caller may not use it.", in.ClientID))
	}
	var sess idcSession
	switch in.GrantType {
	case grantJWTBearer:
		if in.Assertion == "" {
			return nil, newError(ErrSSOInvalidRequest, "The jwt-bearer grant needs an assertion.")
		}
		sess, e = s.verifyAssertion(r.Context(), app, in.Assertion)
		if e != nil {
			return nil, e
		}
		sess.scopes = in.Scope
	case grantRefreshToken:
		old, ok := s.idc.refresh.Get(in.RefreshToken)
		if !ok || old.app != app.ARN {
			return nil, newError(ErrSSOInvalidGrant, "The refresh token is not valid.")
		}
		if !s.identityUserActive(old.userArn) {
			return nil, newError(ErrSSOInvalidGrant, "The user of the refresh token is no longer active.")
		}
		s.idc.refresh.Remove(in.RefreshToken) // refresh tokens rotate
		sess = old
		if len(in.Scope) > 0 {
			sess.scopes = in.Scope
		}
	default:
		return nil, newError(ErrSSOUnsupportedGrantType, fmt.Sprintf("The grant type %q is not supported: use %s or %s.", in.GrantType, grantJWTBearer, grantRefreshToken))
	}
	c.UserArn = sess.userArn
	return s.issueIdentityTokens(app, sess)
}

// verifyAssertion checks the trusted token issuer's JWT as Identity Center
// does: signature (the issuer's JWKS), issuer, audience, expiry; then finds
// its user by the application's UserClaim.
func (s *Simulator) verifyAssertion(ctx context.Context, app *idcApp, assertion string) (idcSession, *apiError) {
	verifier, e := s.assertionVerifier(ctx, app)
	if e != nil {
		return idcSession{}, e
	}
	tok, err := verifier.Verify(ctx, assertion)
	if err != nil {
		var expired *oidc.TokenExpiredError
		if errors.As(err, &expired) {
			return idcSession{}, newError(ErrSSOInvalidGrant, "The assertion has expired.")
		}
		return idcSession{}, newError(ErrSSOInvalidGrant, "The assertion is not valid for this application's trusted token issuer: "+err.Error())
	}
	var claims map[string]any
	if err := tok.Claims(&claims); err != nil {
		return idcSession{}, newError(ErrSSOInvalidGrant, "The assertion's claims could not be read.")
	}
	name, _ := claims[app.UserClaim].(string)
	s.idc.mu.Lock()
	userArn, ok := s.idc.users[strings.ToLower(name)]
	s.idc.mu.Unlock()
	if name == "" || !ok || !s.identityUserActive(userArn) {
		return idcSession{}, newError(ErrSSOInvalidGrant, fmt.Sprintf("No active Identity Center user has the %s %q of the assertion.", app.UserClaim, name))
	}
	return idcSession{userArn: userArn, userID: stableID("idc-", userArn), app: app.ARN}, nil
}

// assertionVerifier returns app's verifier, discovering the issuer's keys
// on first use when the application was given none.
func (s *Simulator) assertionVerifier(ctx context.Context, app *idcApp) (*oidc.IDTokenVerifier, *apiError) {
	s.idc.mu.Lock()
	v := app.verifier
	s.idc.mu.Unlock()
	if v != nil {
		return v, nil
	}
	// The key set keeps the context for later fetches: not the request's.
	p, err := oidc.NewProvider(context.WithoutCancel(ctx), app.Issuer)
	if err != nil {
		return nil, newError(ErrSSOInvalidGrant, "The trusted token issuer's OpenID configuration could not be read: "+err.Error())
	}
	v = p.Verifier(s.verifierConfig(app.Audience))
	s.idc.mu.Lock()
	app.verifier = v
	s.idc.mu.Unlock()
	return v, nil
}

// identityUserActive reports whether the QuickSight user arn exists and is active.
func (s *Simulator) identityUserActive(arn string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[arn]
	return ok && !u.Inactive
}

// issueIdentityTokens answers CreateTokenWithIAM for sess: an opaque access
// token, a refresh token, and an ID token whose sts:identity_context claim
// is the context AssumeRole takes.
func (s *Simulator) issueIdentityTokens(app *idcApp, sess idcSession) (map[string]any, *apiError) {
	now := s.now()
	sess.expires = now.Add(identityContextLifetime)
	identityContext := randomBase64(96)
	refresh := "aorAAAAA" + randomBase64(96)
	s.idc.contexts.Add(identityContext, sess)
	s.idc.refresh.Add(refresh, idcSession{userArn: sess.userArn, userID: sess.userID, app: sess.app, scopes: sess.scopes})
	claims := map[string]any{
		"iss":                  "https://identitycenter.amazonaws.com/" + identityCenterInstanceID,
		"sub":                  sess.userID,
		"aud":                  app.ARN,
		"iat":                  now.Unix(),
		"exp":                  sess.expires.Unix(),
		"sts:identity_context": identityContext,
	}
	idToken, err := jwt.Signed(s.idc.signer).Claims(claims).Serialize()
	if err != nil {
		return nil, newError(ErrInternalFailure, "An internal failure occurred.")
	}
	out := map[string]any{
		"accessToken":     "aoaAAAAA" + randomBase64(96),
		"tokenType":       "Bearer",
		"expiresIn":       int(identityContextLifetime.Seconds()),
		"refreshToken":    refresh,
		"idToken":         idToken,
		"issuedTokenType": "urn:ietf:params:oauth:token-type:refresh_token",
	}
	if len(sess.scopes) > 0 {
		out["scope"] = sess.scopes
	}
	return out, nil
}

// generateEmbedURLWithIdentity is GenerateEmbedUrlForRegisteredUserWithIdentity:
// POST /accounts/{account}/embed-url/registered-user-with-identity, the
// registered-user call for the Identity Center user the caller's
// identity-enhanced role session carries (AssumeRole with ProvidedContexts).
// An account not on IAM Identity Center (SetAuthenticationType), and then
// other credentials, are refused with AccessDeniedException.
func (s *Simulator) generateEmbedURLWithIdentity(r *http.Request, body []byte, c *Call) (map[string]any, *apiError) {
	if e := s.checkIdentityCenterAccount(c); e != nil {
		return nil, e
	}
	who, _ := s.issued.get(c.AccessKeyID) // the front door proved the key
	if who.identityUser == "" {
		return nil, newError(ErrAccessDenied, fmt.Sprintf(
			"%s is not an identity-enhanced role session: GenerateEmbedUrlForRegisteredUserWithIdentity needs credentials "+
				"from AssumeRole with an Identity Center context (ProvidedContexts).", c.Principal))
	}
	var in map[string]json.RawMessage
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, newError(ErrInvalidParameterValue, "The request body is not valid JSON.")
	}
	if _, ok := in["UserArn"]; ok {
		return nil, newError(ErrInvalidParameterValue, "UserArn is not a member of GenerateEmbedUrlForRegisteredUserWithIdentity.")
	}
	in["UserArn"], _ = json.Marshal(who.identityUser) // a string always encodes
	withUser, _ := json.Marshal(in)                   // raw JSON already checked
	return s.generateEmbedURLForRegisteredUser(r, withUser, c)
}
