// Package auth signs users in with OpenID Connect (authorization code flow
// with state, nonce and PKCE), keeps them signed in with an encrypted session
// cookie, and signs them out (RP-initiated logout when the provider offers
// it). It does not decide what a user may see; handlers do that.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
	"golang.org/x/oauth2"
)

// Errors the handlers map to pages.
var (
	// ErrSignIn means the callback was refused (bad state, expired login,
	// provider error, token that fails verification). The user can retry.
	ErrSignIn = errors.New("sign-in could not be completed")
	// ErrProviderUnavailable means the OIDC provider could not be reached.
	ErrProviderUnavailable = errors.New("the sign-in provider is unavailable")
)

// SignInError says why a sign-in was refused. Reason is for the log only.
type SignInError struct {
	Kind   error // ErrSignIn or ErrProviderUnavailable
	Reason string
	// ProviderError is the provider's own error= code when it sent one,
	// already checked to be a short token safe to show.
	ProviderError string
}

func (e *SignInError) Error() string { return e.Kind.Error() + ": " + e.Reason }
func (e *SignInError) Unwrap() error { return e.Kind }

// Config is what Auth needs.
type Config struct {
	Issuer       string
	ClientID     string
	ClientSecret string
	Scopes       []string
	PublicURL    *url.URL
	SessionKeys  [][]byte
	SessionTTL   time.Duration
	KeepClaims   []string // extra ID token / userinfo claims kept in the session
	// TrustUnverifiedEmail uses the email claim even when the provider does
	// not say email_verified: true (some providers, such as Entra ID, never
	// send it). Off, an unverified email is dropped.
	TrustUnverifiedEmail bool
	// GroupsClaim names the claim that lists the user's groups (ID token
	// or userinfo; a list or a single string).
	GroupsClaim string
	// KeepGroups are the groups the portal's policy looks at: the session
	// keeps only these, however many the provider sends.
	KeepGroups []string
	// Authorize, when set, is asked before a session is made; an error
	// refuses the sign-in (no session) and is returned as it is.
	Authorize  func(User) error
	HTTPClient *http.Client // for the provider; nil means a client with a 15s timeout
	Logger     *slog.Logger
	Now        func() time.Time // nil means time.Now
}

// Auth is the sign-in side of the gateway.
type Auth struct {
	cfg        Config
	log        *slog.Logger
	now        func() time.Time
	secure     bool
	store      *sessions.CookieStore
	loginCodec []securecookie.Codec
	idp        atomic.Pointer[provider]
}

// provider is what discovery yields.
type provider struct {
	oidc       *oidc.Provider
	verifier   *oidc.IDTokenVerifier
	oauth      oauth2.Config
	endSession string
	// logoutOrigin is endSession's scheme://host, for the CSP.
	logoutOrigin string
	userinfo     bool
}

const (
	loginTTL        = 10 * time.Minute
	providerTimeout = 15 * time.Second
	// iat may be this far in the future (clock skew between us and the IdP).
	clockSkew = 2 * time.Minute
)

// New checks the configuration and builds Auth. It makes no network call;
// Discover does.
func New(cfg Config) (*Auth, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: providerTimeout}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	secure := cfg.PublicURL.Scheme == "https"
	store, err := newSessionStore(cfg.SessionKeys, cfg.SessionTTL, secure)
	if err != nil {
		return nil, err
	}
	lc, err := codecs(cfg.SessionKeys, "login", loginTTL)
	if err != nil {
		return nil, err
	}
	return &Auth{cfg: cfg, log: cfg.Logger, now: cfg.Now, secure: secure, store: store, loginCodec: lc}, nil
}

// Discover fetches the provider's discovery document, retrying with backoff
// until it succeeds or ctx ends. Until then Ready is false and sign-in
// answers 503.
func (a *Auth) Discover(ctx context.Context) error {
	for wait := 500 * time.Millisecond; ; wait = min(2*wait, 30*time.Second) {
		err := a.discover(ctx)
		if err == nil {
			a.log.Info("oidc discovery done", "issuer", a.cfg.Issuer)
			return nil
		}
		a.log.Warn("oidc discovery failed, will retry", "issuer", a.cfg.Issuer, "err", err, "retry_in", wait)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}

func (a *Auth) discover(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(oidc.ClientContext(ctx, a.cfg.HTTPClient), providerTimeout)
	defer cancel()
	p, err := oidc.NewProvider(ctx, a.cfg.Issuer)
	if err != nil {
		return err
	}
	var extra struct {
		EndSession string `json:"end_session_endpoint"`
	}
	if err := p.Claims(&extra); err != nil {
		return err
	}
	endSession := extra.EndSession
	if origin(endSession) == "" {
		endSession = "" // not an absolute http(s) URL: the CSP could not allow it
	}
	a.idp.Store(&provider{
		oidc:     p,
		verifier: p.Verifier(&oidc.Config{ClientID: a.cfg.ClientID, Now: a.now}),
		oauth: oauth2.Config{
			ClientID:     a.cfg.ClientID,
			ClientSecret: a.cfg.ClientSecret,
			Endpoint:     p.Endpoint(),
			RedirectURL:  a.cfg.PublicURL.String() + "/auth/callback",
			Scopes:       a.cfg.Scopes,
		},
		endSession:   endSession,
		logoutOrigin: origin(endSession),
		userinfo:     p.UserInfoEndpoint() != "",
	})
	return nil
}

// LogoutOrigin is the origin of the provider's end_session_endpoint, where
// the logout form's redirect ends ("" before discovery or without one).
func (a *Auth) LogoutOrigin() string {
	if p := a.idp.Load(); p != nil {
		return p.logoutOrigin
	}
	return ""
}

// origin is an absolute URL's scheme://host, "" for anything else.
func origin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// Ready reports whether discovery is done.
func (a *Auth) Ready() bool { return a.idp.Load() != nil }

func (a *Auth) provider() (*provider, error) {
	if p := a.idp.Load(); p != nil {
		return p, nil
	}
	return nil, &SignInError{Kind: ErrProviderUnavailable, Reason: "oidc discovery not done yet"}
}

// publicURL joins a local path to the configured public URL: redirects are
// never built from request headers.
func (a *Auth) publicURL(path string) string {
	return a.cfg.PublicURL.String() + path
}

// LoginURL is where RequireUser sends a signed-out browser.
func (a *Auth) LoginURL(rd string) string {
	if !SafeRedirect(rd) || rd == "/" {
		return a.publicURL("/login")
	}
	return a.publicURL("/login?rd=" + url.QueryEscape(rd))
}

func (a *Auth) cookieName(base string) string {
	if a.secure {
		return "__Host-" + base
	}
	return base
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b)
}

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
	return &http.Cookie{
		Name: name, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: a.secure, SameSite: http.SameSiteLaxMode,
	}
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
// ID token, then userinfo. On success it sets the session cookie and returns
// the local path to go to. Every failure is a *SignInError and sets no
// session.
func (a *Auth) Finish(w http.ResponseWriter, r *http.Request) (string, error) {
	q := r.URL.Query()
	state := q.Get("state")
	if state == "" {
		return "", &SignInError{Kind: ErrSignIn, Reason: "missing state"}
	}
	name := a.loginCookieName(state)
	ck, err := r.Cookie(name)
	if err != nil {
		return "", &SignInError{Kind: ErrSignIn, Reason: "no login cookie for this state (expired, replayed or started elsewhere)"}
	}
	// The login cookie is single use: clear it before anything else is
	// written, whatever happens next.
	http.SetCookie(w, a.loginCookie(name, "", -1))
	var ls loginState
	if err := securecookie.DecodeMulti(name, ck.Value, &ls, a.loginCodec...); err != nil {
		return "", &SignInError{Kind: ErrSignIn, Reason: "login cookie invalid or expired"}
	}
	if subtle.ConstantTimeCompare([]byte(ls.State), []byte(state)) != 1 {
		return "", &SignInError{Kind: ErrSignIn, Reason: "state mismatch"}
	}
	if e := q.Get("error"); e != "" {
		return "", &SignInError{Kind: ErrSignIn, Reason: "provider returned an error", ProviderError: safeToken(e)}
	}
	code := q.Get("code")
	if code == "" {
		return "", &SignInError{Kind: ErrSignIn, Reason: "missing code"}
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
			return "", &SignInError{Kind: ErrSignIn, Reason: "code exchange refused: " + safeToken(re.ErrorCode)}
		}
		return "", &SignInError{Kind: ErrProviderUnavailable, Reason: "code exchange failed: " + describe(err)}
	}
	u, err := a.verify(ctx, p, tok, ls.Nonce)
	if err != nil {
		return "", err
	}
	if a.cfg.Authorize != nil {
		if err := a.cfg.Authorize(u); err != nil {
			a.log.Info("login denied", "event", "login_denied", "sub", u.Subject, "email", u.Email, "reason", err.Error())
			return "", err
		}
	}
	if err := a.saveSession(w, u); err != nil {
		return "", err
	}
	a.log.Info("login", "event", "login", "sub", u.Subject, "email", u.Email)
	if !SafeRedirect(ls.RD) {
		return "/", nil
	}
	return ls.RD, nil
}

// maxCookie keeps name=value well under what every browser stores (4096)
// and the sign-in response's headers under nginx's default 4 KB
// proxy_buffer_size.
const maxCookie = 3000

// saveSession writes a new session (never one decoded from the request, so
// nothing from before sign-in survives). When the ID token makes the cookie
// too large it is left out: it only serves as id_token_hint at logout.
func (a *Auth) saveSession(w http.ResponseWriter, u User) error {
	name := a.cookieName("qsgate_session")
	for {
		value, err := securecookie.EncodeMulti(name, map[any]any{"user": u}, a.store.Codecs...)
		if err == nil && len(name)+len(value) <= maxCookie {
			opts := *a.store.Options
			http.SetCookie(w, sessions.NewCookie(name, value, &opts))
			return nil
		}
		if u.IDToken == "" {
			reason := "the user's claims do not fit in a session cookie"
			if err != nil {
				reason = "encode session: " + err.Error()
			}
			return &SignInError{Kind: ErrSignIn, Reason: reason}
		}
		u.IDToken = ""
	}
}

// verify checks the ID token (go-oidc: signature, iss, aud, exp) and what
// go-oidc leaves to us: nonce, iat, sub, azp; then merges userinfo.
func (a *Auth) verify(ctx context.Context, p *provider, tok *oauth2.Token, nonce string) (User, error) {
	bad := func(format string, args ...any) (User, error) {
		return User{}, &SignInError{Kind: ErrSignIn, Reason: fmt.Sprintf(format, args...)}
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return bad("no id_token in the token response")
	}
	idt, err := p.verifier.Verify(ctx, raw)
	if err != nil {
		return bad("id token rejected: %v", err)
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonce)) != 1 {
		return bad("id token nonce does not match")
	}
	if idt.IssuedAt.IsZero() || idt.IssuedAt.After(a.now().Add(clockSkew)) {
		return bad("id token iat missing or in the future")
	}
	if idt.Subject == "" {
		return bad("id token has no sub")
	}
	claims := map[string]any{}
	if err := idt.Claims(&claims); err != nil {
		return bad("id token claims: %v", err)
	}
	azp, hasAZP := claims["azp"].(string)
	if (hasAZP && azp != a.cfg.ClientID) || (!hasAZP && len(idt.Audience) > 1) {
		return bad("id token azp is missing or another client")
	}
	if p.userinfo {
		ui, err := p.oidc.UserInfo(ctx, oauth2.StaticTokenSource(tok))
		if err != nil {
			return User{}, &SignInError{Kind: ErrProviderUnavailable, Reason: "userinfo failed: " + describe(err)}
		}
		if ui.Subject != idt.Subject {
			return bad("userinfo sub does not match the id token")
		}
		uiClaims := map[string]any{}
		if err := ui.Claims(&uiClaims); err != nil {
			return bad("userinfo claims: %v", err)
		}
		// email and email_verified travel as a pair from one source, so
		// userinfo's verification never vouches for the token's address.
		if _, ok := claims["email"]; ok {
			delete(uiClaims, "email")
			delete(uiClaims, "email_verified")
		}
		for k, v := range uiClaims {
			if _, ok := claims[k]; !ok { // the signed ID token wins
				claims[k] = v
			}
		}
	}
	u := User{
		Subject:           idt.Subject,
		Email:             claimString(claims["email"]),
		Name:              claimString(claims["name"]),
		PreferredUsername: claimString(claims["preferred_username"]),
		Expires:           a.now().Add(a.cfg.SessionTTL),
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
	if len(raw) <= maxIDTokenHint {
		u.IDToken = raw
	}
	return u, nil
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

// describe says what went wrong talking to the provider without its
// response body or full URLs, which can echo codes and secrets.
func describe(err error) string {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response != nil {
		return fmt.Sprintf("HTTP %d %s", re.Response.StatusCode, safeToken(re.ErrorCode))
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		target := ue.URL
		if u, perr := url.Parse(ue.URL); perr == nil {
			target = u.Scheme + "://" + u.Host + u.Path
		}
		return ue.Op + " " + target + ": " + ue.Err.Error()
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "timed out"
	}
	// go-oidc's userinfo error is "STATUS: BODY"; keep the status only.
	status, _, _ := strings.Cut(err.Error(), ":")
	if len(status) > 40 {
		status = status[:40]
	}
	return status
}

// safeToken keeps an OAuth error code only when it is a short plain word, so
// it can be shown and logged without carrying anything else.
func safeToken(s string) string {
	if len(s) > 64 {
		return "invalid"
	}
	for _, r := range s {
		if !(r == '_' || r == '-' || r == '.' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')) {
			return "invalid"
		}
	}
	return s
}

// CurrentUser returns the signed-in user. A missing, tampered, foreign-key or
// expired cookie means "signed out", never an error.
func (a *Auth) CurrentUser(r *http.Request) (User, bool) {
	sess, err := a.store.New(r, a.cookieName("qsgate_session"))
	if err != nil {
		return User{}, false
	}
	u, ok := sess.Values["user"].(User)
	if !ok || u.Subject == "" || !a.now().Before(u.Expires) {
		return User{}, false
	}
	return u, true
}

// Logout clears the session (the Set-Cookie is written before any body) and
// returns where to send the browser: the provider's end_session_endpoint
// when it has one, else the local signed-out page.
func (a *Auth) Logout(w http.ResponseWriter, r *http.Request) string {
	u, signedIn := a.CurrentUser(r)
	http.SetCookie(w, &http.Cookie{
		Name: a.cookieName("qsgate_session"), Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: a.secure, SameSite: http.SameSiteLaxMode,
	})
	if signedIn {
		a.log.Info("logout", "event", "logout", "sub", u.Subject, "email", u.Email)
	}
	done := a.publicURL("/signed-out")
	p := a.idp.Load()
	if p == nil || p.endSession == "" {
		return done
	}
	end, err := url.Parse(p.endSession)
	if err != nil {
		return done
	}
	q := end.Query()
	q.Set("client_id", a.cfg.ClientID)
	q.Set("post_logout_redirect_uri", done)
	if u.IDToken != "" {
		q.Set("id_token_hint", u.IDToken)
	}
	end.RawQuery = q.Encode()
	return end.String()
}
