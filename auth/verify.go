package auth

import (
	"context"
	"crypto/subtle"
	"fmt"
	"slices"
	"strings"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/qsgate/qsgate/audit"
	"golang.org/x/oauth2"
)

// verify checks the ID token of a sign-in (go-oidc: signature, iss, aud,
// exp) and what go-oidc leaves to us: nonce, iat, sub, azp; then merges
// userinfo. The User it returns has no Expires yet.
func (a *Auth) verify(ctx context.Context, p *provider, tok *oauth2.Token, nonce string) (User, error) {
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return User{}, refused("no id_token in the token response")
	}
	idt, claims, err := a.checkIDToken(ctx, p, raw)
	if err != nil {
		return User{}, err
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonce)) != 1 {
		return User{}, refused("id token nonce does not match")
	}
	if err := mergeUserinfo(ctx, p, tok, idt.Subject, claims); err != nil {
		return User{}, err
	}
	return a.userFrom(idt.Subject, claims, raw), nil
}

// verifyRefreshed checks the ID token a refresh returned as at sign-in
// (OIDC Core 12.2: same iss, sub and aud; a nonce is not required) and
// that it names the session's user, then merges userinfo.
func (a *Auth) verifyRefreshed(ctx context.Context, p *provider, tok *oauth2.Token, raw, sub string) (User, error) {
	idt, claims, err := a.checkIDToken(ctx, p, raw)
	if err != nil {
		return User{}, err
	}
	if subtle.ConstantTimeCompare([]byte(idt.Subject), []byte(sub)) != 1 {
		return User{}, refused("refreshed id token names another sub")
	}
	if err := mergeUserinfo(ctx, p, tok, idt.Subject, claims); err != nil {
		return User{}, err
	}
	return a.userFrom(idt.Subject, claims, raw), nil
}

// refused is a *SignInError for a token that must not be trusted.
func refused(format string, args ...any) error {
	return &SignInError{Kind: ErrSignIn, Reason: fmt.Sprintf(format, args...), Cause: audit.ReasonTokenInvalid}
}

// checkIDToken verifies raw and returns its claims.
func (a *Auth) checkIDToken(ctx context.Context, p *provider, raw string) (*oidc.IDToken, map[string]any, error) {
	idt, err := p.verifier.Verify(ctx, raw)
	if err != nil {
		return nil, nil, refused("id token rejected: %v", err)
	}
	if idt.IssuedAt.IsZero() || idt.IssuedAt.After(a.now().Add(clockSkew)) {
		return nil, nil, refused("id token iat missing or in the future")
	}
	if idt.Subject == "" {
		return nil, nil, refused("id token has no sub")
	}
	claims := map[string]any{}
	if err := idt.Claims(&claims); err != nil {
		return nil, nil, refused("id token claims: %v", err)
	}
	azp, hasAZP := claims["azp"].(string)
	if (hasAZP && azp != a.cfg.ClientID) || (!hasAZP && len(idt.Audience) > 1) {
		return nil, nil, refused("id token azp is missing or another client")
	}
	return idt, claims, nil
}

// mergeUserinfo adds the provider's userinfo claims the ID token lacks;
// its sub must be the ID token's.
func mergeUserinfo(ctx context.Context, p *provider, tok *oauth2.Token, sub string, claims map[string]any) error {
	if !p.userinfo {
		return nil
	}
	ui, err := p.oidc.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		return &SignInError{Kind: ErrProviderUnavailable, Reason: "userinfo failed: " + describe(err)}
	}
	if ui.Subject != sub {
		return refused("userinfo sub does not match the id token")
	}
	uiClaims := map[string]any{}
	if err := ui.Claims(&uiClaims); err != nil {
		return refused("userinfo claims: %v", err)
	}
	// email and email_verified travel as a pair from one source: the ID
	// token's when it names an email, else userinfo's. Neither source's
	// verification vouches for the other's address.
	if _, ok := claims["email"]; ok {
		delete(uiClaims, "email")
		delete(uiClaims, "email_verified")
	} else {
		delete(claims, "email_verified")
	}
	for k, v := range uiClaims {
		if _, ok := claims[k]; !ok { // the signed ID token wins
			claims[k] = v
		}
	}
	return nil
}

// userFrom keeps what the gateway needs of the claims.
func (a *Auth) userFrom(sub string, claims map[string]any, rawIDToken string) User {
	u := User{
		Subject:           sub,
		Email:             claimString(claims["email"]),
		Name:              claimString(claims["name"]),
		PreferredUsername: claimString(claims["preferred_username"]),
	}
	// Fail closed: only an explicit email_verified true (or the operator's
	// opt-in) lets the email pick a QuickSight user.
	if !a.cfg.TrustUnverifiedEmail && !isTrue(claims["email_verified"]) {
		u.Email = ""
	}
	u.Groups = keepGroups(claims[a.cfg.GroupsClaim], a.cfg.KeepGroups)
	for _, k := range a.cfg.KeepClaims {
		if wellKnownClaims[k] {
			continue // kept in their own fields, and checked there
		}
		if v := claimString(claims[k]); v != "" {
			if u.Extra == nil {
				u.Extra = map[string]string{}
			}
			u.Extra[k] = v
		}
	}
	if a.cfg.KeepIDToken || len(rawIDToken) <= maxIDTokenHint {
		u.IDToken = rawIDToken
	}
	return u
}

// keepGroups reads a groups claim (a list of strings or one string) and
// keeps the groups in keep, each once.
func keepGroups(claim any, keep []string) []string {
	var have []string
	switch v := claim.(type) {
	case string:
		have = []string{v}
	case []any:
		for _, g := range v {
			if s, ok := g.(string); ok {
				have = append(have, s)
			}
		}
	}
	var out []string
	for _, g := range have {
		if slices.Contains(keep, g) && !slices.Contains(out, g) {
			out = append(out, g)
		}
	}
	return out
}

var wellKnownClaims = map[string]bool{"sub": true, "email": true, "name": true, "preferred_username": true}

// maxClaim bounds each kept claim, so no provider value can overflow the
// session cookie.
const maxClaim = 256

// claimString is a string or number claim, "" when absent, another type or
// too long.
func claimString(v any) string {
	var s string
	switch v := v.(type) {
	case string:
		s = v
	case float64:
		s = fmt.Sprint(v)
	}
	if len(s) > maxClaim {
		return ""
	}
	return s
}

// isTrue accepts the boolean true and the string "true" (some providers
// send booleans as strings).
func isTrue(v any) bool {
	switch v := v.(type) {
	case bool:
		return v
	case string:
		return strings.EqualFold(v, "true")
	}
	return false
}
