package auth

import (
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/qsgate/qsgate/audit"
)

// User is the signed-in user as the session keeps it: only what the
// gateway needs, no access or refresh token.
type User struct {
	Subject           string
	Email             string // empty when the provider says it is not verified
	Name              string
	PreferredUsername string
	Extra             map[string]string // claims the ARN template reads
	Groups            []string          // the groups the access policy looks at, and only those
	// IDToken is the provider's ID token: the id_token_hint at logout, and
	// with Config.KeepIDToken what the mapper sends on. Omitted when large
	// unless kept. A secret: never logged.
	IDToken string
	Expires time.Time // absolute end of the session
}

// Claim returns a claim by its OIDC name, "" when absent. It makes User a
// quicksight.Claims.
func (u User) Claim(name string) string {
	switch name {
	case "sub":
		return u.Subject
	case "email":
		return u.Email
	case "name":
		return u.Name
	case "preferred_username":
		return u.PreferredUsername
	}
	return u.Extra[name]
}

// Display is the name to greet the user with.
func (u User) Display() string {
	for _, s := range []string{u.Name, u.Email, u.PreferredUsername} {
		if s != "" {
			return s
		}
	}
	return u.Subject
}

func init() { gob.Register(User{}) }

// maxIDTokenHint keeps the session cookie well under the browser's 4096 bytes.
const maxIDTokenHint = 1200

// Session is one sign-in as a store keeps it. Handlers see only its User.
type Session struct {
	User     User
	Created  time.Time // the sign-in
	LastSeen time.Time // the last use, written at most every touchEvery
	// Checked is when the provider last vouched for the session: the
	// sign-in, then each successful re-check.
	Checked time.Time
	// RefreshToken re-checks the session at the provider; "" when it
	// cannot (re-checks off, none sent, no room in the cookie). A secret:
	// never logged.
	RefreshToken string
	id           string // the Redis store's id, which the cookie carries; never logged
}

// touchEvery is how often a session's last use is written, so an idle
// timeout ends a session up to this much early.
const touchEvery = time.Minute

// Session returns the request's signed-in user, applying the session's
// lifetime rules: its absolute end, the idle timeout and the re-check at
// the provider (which may rewrite the cookie, so it needs w before any
// body is written). Errors: ErrSignedOut (no live session),
// ErrStoreUnavailable (it cannot be checked), ErrSessionEnded (the provider
// refused to renew it), one wrapping ErrProviderUnavailable (the provider
// has been unreachable for longer than the grace period), or the
// Authorize hook's error (the renewed claims are no longer allowed).
func (a *Auth) Session(w http.ResponseWriter, r *http.Request) (User, error) {
	s, err := a.store.Load(r)
	if err != nil {
		return User{}, err
	}
	now := a.now()
	if why := a.over(s, now); why != "" {
		a.end(w, r, s, why)
		return User{}, ErrSignedOut
	}
	renewed := false
	if a.recheckDue(s, now) {
		if renewed, err = a.recheck(w, r, s, now); err != nil {
			return User{}, err
		}
	}
	// The cookie store rewrites the cookie to touch, so only when idle
	// timeouts need it; Redis also shows last use in session lists.
	touched := now.Sub(s.LastSeen) >= touchEvery && (a.cfg.Idle > 0 || a.cfg.Redis != nil)
	if touched {
		s.LastSeen = now
	}
	switch {
	case renewed:
		err = a.store.Save(r.Context(), w, s)
	case touched:
		err = a.store.Touch(r.Context(), w, s)
	}
	switch {
	case errors.Is(err, ErrSignedOut): // ended meanwhile, by a logout or revoke elsewhere
		_ = a.store.Delete(r.Context(), w, nil) // clears the cookie; nothing is left to delete
		return User{}, ErrSignedOut
	case errors.Is(err, ErrStoreUnavailable) && renewed:
		// The renewed session (maybe a rotated refresh token) was not
		// kept: refuse, so the retry keeps it (recent remembers it).
		return User{}, err
	case err != nil && renewed: // the renewed claims do not fit in a cookie
		a.end(w, r, s, "renewed session not saved: "+err.Error())
		return User{}, ErrSessionEnded
	case err != nil:
		a.log.WarnContext(r.Context(), "session last use not recorded", "sub", s.User.Subject, "err", err)
	case renewed && s.RefreshToken == "":
		a.log.WarnContext(r.Context(), "session will not be re-checked at the provider again; it lasts until its expiry",
			"event", "refresh_unavailable", "sub", s.User.Subject, "reason", "the renewed refresh token does not fit in the session cookie")
	}
	return s.User, nil
}

// CurrentUser returns the signed-in user without renewing anything: no
// re-check at the provider, no write. A missing, tampered, foreign-key,
// expired or idle session, or a store that cannot answer, means "signed
// out", never an error. Page views use Session.
func (a *Auth) CurrentUser(r *http.Request) (User, bool) {
	s, err := a.store.Load(r)
	if err != nil || a.over(s, a.now()) != "" {
		return User{}, false
	}
	return s.User, true
}

// over says why a session has ended by itself ("" when it has not).
func (a *Auth) over(s *Session, now time.Time) string {
	switch {
	case !now.Before(s.User.Expires):
		return "expired"
	case a.cfg.Idle > 0 && now.Sub(s.LastSeen) >= a.cfg.Idle:
		return "idle"
	case a.cfg.Refresh > 0 && s.RefreshToken == "" && now.Sub(s.Checked) >= a.cfg.Refresh+a.cfg.RefreshGrace:
		// Re-checks are on, but this session cannot be re-checked (the
		// provider sent no refresh token, or it did not fit in the cookie):
		// fail closed after the interval and its grace, as a session whose
		// provider cannot be reached does, instead of living to its end.
		return "not re-checkable"
	}
	return ""
}

// end ends a session the gateway decided is over, and clears its cookie.
func (a *Auth) end(w http.ResponseWriter, r *http.Request, s *Session, why string) {
	a.log.InfoContext(r.Context(), "session ended", "event", "session_ended", "reason", why, "sub", s.User.Subject, "email", s.User.Email)
	if err := a.store.Delete(r.Context(), w, s); err != nil {
		a.log.WarnContext(r.Context(), "ended session not deleted from the store; it expires by itself", "sub", s.User.Subject, "err", err)
	}
}

// ErrSignOutIncomplete means sign-out could not end the session: the
// session store did not answer. The session lives on and the cookie was
// kept; the user must be told to sign out again. It comes with
// ErrStoreUnavailable.
var ErrSignOutIncomplete = errors.New("sign-out could not be completed")

// SignOut is sign-out as the user asks for it (POST /logout): it ends the
// session in the store, then clears the cookie (written before any body),
// and returns where to send the browser, as Logout does. When the store
// cannot end the session it changes nothing, neither the store nor the
// cookie, and returns an error wrapping ErrSignOutIncomplete and
// ErrStoreUnavailable: clearing the cookie then would look like a done
// sign-out while a copy of the cookie kept working.
func (a *Auth) SignOut(w http.ResponseWriter, r *http.Request) (string, error) {
	s, err := a.store.Load(r)
	switch {
	case errors.Is(err, ErrStoreUnavailable):
		return "", a.signOutFailed(nil, err)
	case err != nil:
		s = nil // nothing to end (no, tampered or ended session): clearing the cookie is all
	}
	if s != nil {
		if err := a.store.Delete(r.Context(), nil, s); err != nil {
			return "", a.signOutFailed(s, err)
		}
	}
	_ = a.store.Delete(r.Context(), w, nil) // with no session it only clears the cookie, and cannot fail
	return a.signedOut(r.Context(), s, audit.ReasonUser), nil
}

func (a *Auth) signOutFailed(s *Session, err error) error {
	var sub string
	if s != nil {
		sub = s.User.Subject
	}
	a.log.Warn("sign-out not completed: the session store did not answer; the session lives on and the user is asked to try again",
		"event", "logout_failed", "sub", sub, "err", err)
	return fmt.Errorf("%w: %w", ErrSignOutIncomplete, err)
}

// Logout ends the session the gateway decided to end (the access policy
// no longer lets the user in): the Set-Cookie is written before any body
// and the cookie is cleared even when the store cannot answer (then the
// session ends at its own expiry, and an ERROR says so). It returns where
// to send the browser: the provider's end_session_endpoint when it has
// one, else the local signed-out page. Sign-out the user asks for is
// SignOut, which never pretends.
func (a *Auth) Logout(w http.ResponseWriter, r *http.Request) string {
	s, err := a.store.Load(r)
	if err != nil {
		s = nil
	}
	if derr := a.store.Delete(r.Context(), w, s); derr != nil || errors.Is(err, ErrStoreUnavailable) {
		a.log.ErrorContext(r.Context(), "logout could not end the session in the store: copies of the cookie work until it expires",
			"err", errors.Join(err, derr))
	}
	return a.signedOut(r.Context(), s, audit.ReasonPolicy)
}

// signedOut writes the log and audit lines for an ended session (reason:
// audit.ReasonUser or audit.ReasonPolicy) and returns where the browser
// goes next: the provider's end_session_endpoint when it has one (so the
// provider ends its own session), else the signed-out page.
func (a *Auth) signedOut(ctx context.Context, s *Session, reason string) string {
	var u User
	if s != nil && a.over(s, a.now()) == "" {
		u = s.User
		a.log.Info("logout", "event", "logout", "sub", u.Subject, "email", u.Email)
		a.record(ctx, audit.Event{Event: audit.SignOut, Reason: reason, Subject: u.Subject, Email: u.Email})
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
	if u.IDToken != "" && len(u.IDToken) <= maxIDTokenHint { // a kept token may be long for a URL
		q.Set("id_token_hint", u.IDToken)
	}
	end.RawQuery = q.Encode()
	return end.String()
}
