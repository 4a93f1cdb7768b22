package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/qsgate/qsgate/ttlcache"
)

// Re-checking a session at the provider: once Config.Refresh has passed
// since the provider last vouched for it, the next request redeems the
// refresh token. A new ID token is verified as at sign-in and its claims
// replace the session's (then Authorize runs again); a refusal
// (invalid_grant: the user was disabled, the grant revoked) ends the
// session; a provider that cannot be reached is forgiven for
// Config.RefreshGrace, then requests are refused until it answers.
//
// Providers differ; what matters here:
//   - Whether a refresh token is sent at all: Keycloak sends one by default;
//     Entra ID, Okta and Auth0 only with the offline_access scope (add it to
//     the scopes); Google only with access_type=offline, which the gateway
//     does not ask for. Without one a session lasts to its end, and
//     sign-in logs event=refresh_unavailable.
//   - Rotation: Entra ID, Okta (when enabled), Auth0 (when enabled) and
//     Keycloak ("Revoke Refresh Token") answer with a new refresh token
//     and may refuse the old one; the new one is always kept. Requests
//     that raced the renewal reuse its outcome (recent), and with Redis an
//     instance refused for a token another instance just used takes the
//     session that instance stored. With the cookie store and several
//     instances, a strict single-use provider can still end a session when
//     two instances renew it at the same moment: prefer Redis, or the
//     provider's reuse grace period.
//   - A refreshed ID token may be absent (the claims then stay as they
//     were) and has no nonce; its sub must be the session's.

const (
	refreshTimeout = 10 * time.Second
	// How long an outcome is reused for requests that carry the same
	// refresh token: long enough for those that raced a rotation, short
	// enough that an outage is retried soon.
	recentKeep            = time.Minute
	recentKeepUnavailable = 5 * time.Second
	recentSize            = 10000
)

// refreshOutcome is what one re-check at the provider found.
type refreshOutcome struct {
	user         User   // the renewed claims, no Expires (the session's end does not move)
	refreshToken string // the one to use next (rotated or the same); "" on failure
	err          error  // nil, ErrSessionEnded or ErrProviderUnavailable
	at           time.Time
}

// recentRefreshes keeps outcomes by (a hash of) the refresh token they
// used: a request whose session still holds the old token, because it
// raced the one that renewed it, gets the same answer instead of
// redeeming a token a rotating provider now refuses.
type recentRefreshes struct {
	lru *ttlcache.Cache[string, refreshOutcome]
}

func newRecentRefreshes() *recentRefreshes {
	return &recentRefreshes{lru: ttlcache.New[string, refreshOutcome](recentSize, recentKeep)}
}

func (rr *recentRefreshes) get(key string, now time.Time) (refreshOutcome, bool) {
	o, ok := rr.lru.Get(key)
	keep := recentKeep
	if errors.Is(o.err, ErrProviderUnavailable) {
		keep = recentKeepUnavailable
	}
	if !ok || now.Sub(o.at) >= keep || now.Before(o.at) {
		return refreshOutcome{}, false
	}
	return o, true
}

// Renew re-checks the request's session at the provider now, whatever
// QSGATE_SESSION_REFRESH's schedule, for a mapper whose provider token has
// expired (identity-center mode), and returns the renewed user. It is
// ErrCannotRenew when the session holds no refresh token, else Session's
// errors; a provider that cannot be reached leaves the user as they were.
func (a *Auth) Renew(w http.ResponseWriter, r *http.Request) (User, error) {
	s, err := a.store.Load(r)
	if err != nil {
		return User{}, err
	}
	if s.RefreshToken == "" {
		return User{}, ErrCannotRenew
	}
	now := a.now()
	renewed, err := a.recheck(w, r, s, now)
	if err != nil {
		return User{}, err
	}
	if renewed {
		if err := a.store.Save(r.Context(), w, s); err != nil {
			return User{}, err
		}
	}
	return s.User, nil
}

// ErrCannotRenew means the session cannot be renewed at the provider: it
// holds no refresh token (QSGATE_SESSION_REFRESH is off, or the cookie had
// no room for it).
var ErrCannotRenew = errors.New("the session cannot be renewed at the provider")

func (a *Auth) recheckDue(s *Session, now time.Time) bool {
	return a.cfg.Refresh > 0 && s.RefreshToken != "" && now.Sub(s.Checked) >= a.cfg.Refresh
}

// recheck renews s at the provider and reports whether s changed and must
// be saved. Its errors are Session's.
func (a *Auth) recheck(w http.ResponseWriter, r *http.Request, s *Session, now time.Time) (bool, error) {
	o := a.refresh(r.Context(), s)
	switch {
	case o.err == nil:
		u := o.user
		u.Groups, u.Extra, u.Expires = slices.Clone(u.Groups), maps.Clone(u.Extra), s.User.Expires // the outcome is shared
		if a.cfg.Authorize != nil {
			if err := a.cfg.Authorize(u); err != nil {
				a.end(w, r, s, "not allowed after re-check: "+err.Error())
				return false, err
			}
		}
		s.User, s.RefreshToken, s.Checked = u, o.refreshToken, now
		a.log.InfoContext(r.Context(), "session re-checked at the provider", "event", "session_refreshed", "sub", u.Subject, "email", u.Email)
		return true, nil
	case errors.Is(o.err, ErrSessionEnded):
		// Another instance may have renewed it first, with a rotating
		// provider now refusing the old token: take what it stored.
		if cur, err := a.store.Load(r); err == nil && cur.RefreshToken != s.RefreshToken && cur.Checked.After(s.Checked) {
			*s = *cur
			return false, nil
		}
		a.end(w, r, s, "refused by the provider: "+o.err.Error())
		return false, ErrSessionEnded
	}
	if o.refreshToken != "" && o.refreshToken != s.RefreshToken {
		// Redeemed, then userinfo failed: keep the rotated token.
		s.RefreshToken = o.refreshToken
		if err := a.store.Save(r.Context(), w, s); err != nil {
			a.log.WarnContext(r.Context(), "rotated refresh token not saved", "sub", s.User.Subject, "err", err)
		}
	}
	if now.Before(s.Checked.Add(a.cfg.Refresh + a.cfg.RefreshGrace)) {
		return false, nil // within the grace period; refreshAtProvider logged the failure
	}
	return false, fmt.Errorf("session not re-checked for %s: %w", now.Sub(s.Checked).Round(time.Second), o.err)
}

// refresh runs one re-check per refresh token at a time (singleflight),
// and reuses a recent outcome for the same token.
func (a *Auth) refresh(ctx context.Context, s *Session) refreshOutcome {
	sum := sha256.Sum256([]byte(s.RefreshToken))
	key := hex.EncodeToString(sum[:])
	if o, ok := a.recent.get(key, a.now()); ok {
		return o
	}
	v, _, _ := a.refreshes.Do(key, func() (any, error) {
		if o, ok := a.recent.get(key, a.now()); ok { // finished just before this call joined
			return o, nil
		}
		// Not the first caller's cancellation: others may be waiting.
		o := a.refreshAtProvider(context.WithoutCancel(ctx), s.RefreshToken, s.User)
		a.recent.lru.Add(key, o)
		return o, nil
	})
	return v.(refreshOutcome)
}

// refreshAtProvider redeems the refresh token and checks what comes back.
func (a *Auth) refreshAtProvider(ctx context.Context, refreshToken string, prev User) refreshOutcome {
	o := refreshOutcome{at: a.now(), user: prev}
	ctx, cancel := context.WithTimeout(oidc.ClientContext(ctx, a.cfg.HTTPClient), refreshTimeout)
	defer cancel()
	p, err := a.provider()
	if err != nil {
		o.err = err
		return o
	}
	tok, err := p.oauth.TokenSource(ctx, &oauth2.Token{RefreshToken: refreshToken}).Token()
	var re *oauth2.RetrieveError
	switch {
	case errors.As(err, &re) && re.ErrorCode == "invalid_grant":
		o.err = fmt.Errorf("%w: refresh token refused (invalid_grant)", ErrSessionEnded)
		return o
	case err != nil:
		o.err = &SignInError{Kind: ErrProviderUnavailable, Reason: "refresh failed: " + describe(err)}
		a.log.WarnContext(ctx, "session re-check at the provider failed", "event", "refresh_failed", "sub", prev.Subject, "err", o.err)
		return o
	}
	o.refreshToken = tok.RefreshToken // the old one when the provider sent none
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return o // nothing new to believe: the claims stay
	}
	u, err := a.verifyRefreshed(ctx, p, tok, raw, prev.Subject)
	switch {
	case errors.Is(err, ErrProviderUnavailable):
		o.err = err
		a.log.WarnContext(ctx, "session re-check at the provider failed", "event", "refresh_failed", "sub", prev.Subject, "err", err)
	case err != nil:
		o.err = fmt.Errorf("%w: %w", ErrSessionEnded, err)
	default:
		o.user = u
	}
	return o
}
