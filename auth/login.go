package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/gorilla/securecookie"
	"golang.org/x/oauth2"

	"github.com/qsgate/qsgate/audit"
)

// loginState travels in a short-lived encrypted cookie from /login to the
// callback. Each login has its own cookie, named after its state, so two tabs
// signing in at once both work.
type loginState struct {
	State, Nonce, Verifier, RD string
}

func (a *Auth) loginCookieName(state string) string {
	sum := sha256.Sum256([]byte(state))
	return a.cookieName("qsgate_login_" + hex.EncodeToString(sum[:6]))
}

func (a *Auth) loginCookie(name, value string, maxAge int) *http.Cookie {
	return newCookie(name, value, maxAge, a.secure)
}

// StartLogin sends the browser to the provider with a fresh state, nonce and
// PKCE challenge; rd is the local path to return to ("/" when unsafe).
func (a *Auth) StartLogin(w http.ResponseWriter, r *http.Request, rd string) error {
	p, err := a.provider()
	if err != nil {
		return err
	}
	if !SafeRedirect(rd) {
		rd = "/"
	}
	a.expireStaleLogins(w, r)
	ls := loginState{State: randomToken(), Nonce: randomToken(), Verifier: oauth2.GenerateVerifier(), RD: rd}
	name := a.loginCookieName(ls.State)
	value, err := securecookie.EncodeMulti(name, ls, a.loginCodec...)
	if err != nil {
		return fmt.Errorf("encode login cookie: %w", err)
	}
	http.SetCookie(w, a.loginCookie(name, value, int(loginTTL.Seconds())))
	target := p.oauth.AuthCodeURL(ls.State, oidc.Nonce(ls.Nonce), oauth2.S256ChallengeOption(ls.Verifier))
	http.Redirect(w, r, target, http.StatusFound)
	return nil
}

// Bounds on the login cookies one browser holds; past them the pending
// ones are dropped (their tabs just sign in again), so abandoned logins,
// even forced by another site, cannot grow the Cookie header past what
// proxies accept (nginx and Apache stop near 8 KB).
const (
	maxPendingLogins     = 3
	maxPendingLoginBytes = 3000
)

func (a *Auth) expireStaleLogins(w http.ResponseWriter, r *http.Request) {
	prefix := a.cookieName("qsgate_login_")
	var pending []string
	size := 0
	for _, c := range r.Cookies() {
		if strings.HasPrefix(c.Name, prefix) {
			pending = append(pending, c.Name)
			size += len(c.Name) + len(c.Value)
		}
	}
	if len(pending) < maxPendingLogins && size < maxPendingLoginBytes {
		return
	}
	for _, name := range pending {
		http.SetCookie(w, a.loginCookie(name, "", -1))
	}
}

// Finish handles the callback: state first, then the code exchange, then the
// ID token, then userinfo. On success it starts a session (setting its
// cookie) and returns the local path to go to. A refused callback is a
// *SignInError and sets no session; a session store that cannot answer is
// ErrStoreUnavailable.
func (a *Auth) Finish(w http.ResponseWriter, r *http.Request) (rd string, err error) {
	var u User
	var refusal string // the audit reason of a refusal the error does not carry
	defer func() { a.recordSignIn(r.Context(), u, refusal, err) }()
	q := r.URL.Query()
	state := q.Get("state")
	if state == "" {
		return "", &SignInError{Kind: ErrSignIn, Reason: "missing state", Cause: audit.ReasonStateInvalid}
	}
	name := a.loginCookieName(state)
	ck, err := r.Cookie(name)
	if err != nil {
		return "", &SignInError{Kind: ErrSignIn, Reason: "no login cookie for this state (expired, replayed or started elsewhere)", Cause: audit.ReasonStateInvalid}
	}
	// The login cookie is single use: clear it before anything else is
	// written, whatever happens next.
	http.SetCookie(w, a.loginCookie(name, "", -1))
	var ls loginState
	if err := securecookie.DecodeMulti(name, ck.Value, &ls, a.loginCodec...); err != nil {
		return "", &SignInError{Kind: ErrSignIn, Reason: "login cookie invalid or expired", Cause: audit.ReasonStateInvalid}
	}
	if subtle.ConstantTimeCompare([]byte(ls.State), []byte(state)) != 1 {
		return "", &SignInError{Kind: ErrSignIn, Reason: "state mismatch", Cause: audit.ReasonStateInvalid}
	}
	if e := q.Get("error"); e != "" {
		return "", &SignInError{Kind: ErrSignIn, Reason: "provider returned an error", ProviderError: safeToken(e), Cause: audit.ReasonProviderError}
	}
	code := q.Get("code")
	if code == "" {
		return "", &SignInError{Kind: ErrSignIn, Reason: "missing code", Cause: audit.ReasonCodeInvalid}
	}
	p, err := a.provider()
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(oidc.ClientContext(r.Context(), a.cfg.HTTPClient), providerTimeout)
	defer cancel()
	tok, err := p.oauth.Exchange(ctx, code, oauth2.VerifierOption(ls.Verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.Response != nil && re.Response.StatusCode < 500 {
			return "", &SignInError{Kind: ErrSignIn, Reason: "code exchange refused: " + safeToken(re.ErrorCode), Cause: audit.ReasonCodeInvalid}
		}
		return "", &SignInError{Kind: ErrProviderUnavailable, Reason: "code exchange failed: " + describe(err)}
	}
	if u, err = a.verify(ctx, p, tok, ls.Nonce); err != nil {
		return "", err
	}
	if a.cfg.Authorize != nil {
		if err := a.cfg.Authorize(u); err != nil {
			a.log.InfoContext(ctx, "login denied", "event", "login_denied", "sub", u.Subject, "email", u.Email, "reason", err.Error())
			refusal = audit.ReasonNotAllowed
			return "", err
		}
	}
	if l := a.cfg.SignInsPerUser; l != nil {
		if err := l.Allow("signin-subject\x00" + u.Subject); err != nil {
			a.log.InfoContext(ctx, "login refused: too many sign-ins", "event", "login_limited", "sub", u.Subject, "email", u.Email)
			refusal = audit.ReasonRateLimited
			return "", err
		}
	}
	if err := a.startSession(w, r, u, tok.RefreshToken); err != nil {
		return "", err
	}
	a.log.InfoContext(ctx, "login", "event", "login", "sub", u.Subject, "email", u.Email)
	if !SafeRedirect(ls.RD) {
		return "/", nil
	}
	return ls.RD, nil
}

// recordSignIn writes a callback's outcome to the audit stream: sign_in, or
// sign_in_refused with the reason err (or refusal) names. u is whom the
// provider vouched for, when it got that far.
func (a *Auth) recordSignIn(ctx context.Context, u User, refusal string, err error) {
	e := audit.Event{Event: audit.SignIn, Subject: u.Subject, Email: u.Email}
	if err != nil {
		e.Event, e.Reason = audit.SignInRefused, signInCause(refusal, err)
	}
	a.record(ctx, e)
}

// signInCause is a refused sign-in's reason in the audit stream's words.
func signInCause(refusal string, err error) string {
	var se *SignInError
	switch {
	case refusal != "":
		return refusal
	case errors.As(err, &se) && se.Cause != "":
		return se.Cause
	case errors.Is(err, ErrProviderUnavailable):
		return audit.ReasonProviderUnavailable
	case errors.Is(err, ErrStoreUnavailable):
		return audit.ReasonStoreUnavailable
	}
	return audit.ReasonOther
}

// startSession saves a new session (never one decoded from the request, so
// nothing from before sign-in survives; a session the browser still had is
// ended). The refresh token is kept only when sessions are re-checked.
func (a *Auth) startSession(w http.ResponseWriter, r *http.Request, u User, refreshToken string) error {
	now := a.now()
	u.Expires = now.Add(a.cfg.SessionTTL)
	s := &Session{User: u, Created: now, LastSeen: now, Checked: now}
	if a.cfg.Refresh > 0 {
		s.RefreshToken = refreshToken
	}
	if old, err := a.store.Load(r); err == nil {
		// Best effort: the old one ends at its own expiry anyway.
		_ = a.store.Delete(r.Context(), nil, old)
	}
	if err := a.store.Save(r.Context(), w, s); err != nil {
		if errors.Is(err, ErrStoreUnavailable) {
			return err
		}
		return &SignInError{Kind: ErrSignIn, Reason: err.Error(), Cause: audit.ReasonSessionNotSaved}
	}
	if a.cfg.Refresh > 0 && s.RefreshToken == "" {
		reason := "the provider sent no refresh token (it may need the offline_access scope)"
		if refreshToken != "" {
			reason = "the refresh token does not fit in the session cookie"
		}
		a.log.Warn("session will not be re-checked at the provider; it lasts until its expiry",
			"event", "refresh_unavailable", "sub", u.Subject, "reason", reason)
	}
	return nil
}
