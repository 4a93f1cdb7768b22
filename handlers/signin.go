package handlers

import (
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/qsgate/qsgate/access"
	"github.com/qsgate/qsgate/auth"
	"github.com/qsgate/qsgate/limit"
	"github.com/qsgate/qsgate/quicksight"
	"github.com/qsgate/qsgate/ttlcache"
)

// login is GET /login?rd=PATH: start sign-in, coming back to rd (a local
// path; anything else means "/").
func login(a Authenticator) echo.HandlerFunc {
	return func(c echo.Context) error {
		return a.StartLogin(c.Response(), c.Request(), c.QueryParam("rd"))
	}
}

// SignInLimiter limits how often one key may sign in (limit.PerUser, or
// limit.SharedPerUser across instances). Allow returns nil or a
// *limit.RateError.
type SignInLimiter interface {
	Allow(key string) error
}

// errSignInRate is the kind of a refused sign-in. It wraps
// limit.ErrUserRate, which the error table answers with 429 and the
// limit's Retry-After.
var errSignInRate = fmt.Errorf("too many sign-ins: %w", limit.ErrUserRate)

// limitSignInsByAddress refuses a sign-in step (route: "login" for
// /login, "callback" for /auth/callback) past l's allowance for the
// client's address: c.RealIP(), the peer or, from a trusted proxy
// (QSGATE_TRUSTED_PROXIES), X-Forwarded-For. Each route has its own
// allowance, so one sign-in counts once against each. IPv6 addresses
// count by /64, what one host is usually given. A nil l limits nothing.
// A refused callback is audited as a refused sign-in (aud may be nil),
// once a minute per address: the refusals themselves come at any rate.
func limitSignInsByAddress(l SignInLimiter, route string, aud Auditor) echo.MiddlewareFunc {
	audited := ttlcache.New[string, struct{}](limitedAddresses, time.Minute)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		if l == nil {
			return next
		}
		return func(c echo.Context) error {
			address := addressKey(c.RealIP())
			if err := l.Allow("signin-address\x00" + route + "\x00" + address); err != nil {
				if _, done := audited.Get(address); route == "callback" && !done {
					audited.Add(address, struct{}{})
					recordSignInLimited(c, aud)
				}
				return signInRefused(err)
			}
			return next(c)
		}
	}
}

// limitedAddresses bounds the addresses whose refusal was audited in the
// last minute.
const limitedAddresses = 4096

// addressKey is an IPv4 address as it is, an IPv6 address as its /64.
func addressKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	if a = a.Unmap(); a.Is4() {
		return a.String()
	}
	p, _ := a.Prefix(64) // cannot fail for an IPv6 address
	return p.String()
}

// signInRefused gives a limit's refusal the sign-in kind, keeping its
// Retry-After.
func signInRefused(err error) error {
	var re *limit.RateError
	if errors.As(err, &re) {
		return &limit.RateError{Kind: errSignInRate, RetryAfter: re.RetryAfter}
	}
	return err
}

// callback is GET /auth/callback, the OIDC redirect target: it finishes
// sign-in and goes back to the page the user asked for. A refused callback
// from someone already signed in (the back button after signing in) goes
// to the portal instead of the error page; no session is changed.
func callback(a Authenticator, public *url.URL, rec Recorder) echo.HandlerFunc {
	return func(c echo.Context) error {
		rd, err := a.Finish(c.Response(), c.Request())
		err = signInRefused(err) // a per-subject limit's refusal, when Finish asks one
		if errors.Is(err, auth.ErrSignIn) {
			if _, signedIn := a.CurrentUser(c.Request()); signedIn {
				return c.Redirect(http.StatusFound, public.String()+"/")
			}
		}
		if rec != nil {
			rec.Login(loginResult(err))
		}
		if err != nil {
			return err
		}
		return c.Redirect(http.StatusFound, public.String()+rd)
	}
}

func loginResult(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, auth.ErrProviderUnavailable):
		return "provider_error"
	case errors.Is(err, access.ErrNotAllowed):
		return "denied"
	case errors.Is(err, errSignInRate):
		return "limited"
	}
	return "refused"
}

// signOuter is an Authenticator whose sign-out can say it did not happen
// (auth.Auth.SignOut): the error wraps auth.ErrSignOutIncomplete and
// auth.ErrStoreUnavailable, and the cookie is then left as it was.
type signOuter interface {
	SignOut(w http.ResponseWriter, r *http.Request) (string, error)
}

// logout is POST /logout (CSRF-checked): end the session, then let the
// provider end its own when it can. A session the store could not end is
// an error page saying so (503), never a sign-out that only looks done.
func logout(a Authenticator) echo.HandlerFunc {
	return func(c echo.Context) error {
		so, ok := a.(signOuter)
		if !ok {
			return c.Redirect(http.StatusSeeOther, a.Logout(c.Response(), c.Request()))
		}
		to, err := so.SignOut(c.Response(), c.Request())
		if err != nil {
			return err
		}
		return c.Redirect(http.StatusSeeOther, to)
	}
}

// signedOut is GET /signed-out, where logout ends.
func signedOut(d Deps) echo.HandlerFunc {
	return func(c echo.Context) error {
		return render(c, d, http.StatusOK, "signed_out.html", nil)
	}
}

// requireUser lets signed-in users through. Others (no session, or one
// that ended: expired, idle, signed out elsewhere, refused by the provider)
// are sent to sign-in and back to the same page, except requests that
// accept only JSON, which get 401. A session that cannot be checked (the
// session store or, past its grace period, the provider is down) or whose
// renewed claims are refused is an error page, never a way in.
func requireUser(a Authenticator) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			u, err := a.Session(c.Response(), c.Request())
			switch {
			case err == nil:
				c.Set("user", u)
				return next(c)
			case !errors.Is(err, auth.ErrSignedOut) && !errors.Is(err, auth.ErrSessionEnded):
				return err
			}
			if wantsJSON(c.Request()) || strings.HasPrefix(c.Request().URL.Path, "/api/") {
				return c.JSON(http.StatusUnauthorized, map[string]string{"error": "unauthenticated", "login": "/login"})
			}
			return c.Redirect(http.StatusFound, a.LoginURL(c.Request().URL.RequestURI()))
		}
	}
}

// authorize lets in only the users the access policy allows; the others
// get the "not allowed" page and an audit line, and no AWS call is made.
// Sign-in already refuses them; this catches sessions made before the
// policy changed.
func authorize(d Deps) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if d.Access == nil {
				return next(c)
			}
			u := currentUser(c)
			if err := d.Access.Allow(u.Email, u.Groups); err != nil {
				d.Logger.InfoContext(c.Request().Context(), "access denied", "event", "access_denied", "sub", u.Subject, "email", u.Email,
					"reason", err.Error(), "path", c.Request().URL.Path)
				recordRefusal(c, d, u, "", err)
				// The session predates the policy: end it, so the user is
				// not stuck signed in to a portal they may not use.
				d.Auth.Logout(c.Response(), c.Request())
				return err
			}
			return next(c)
		}
	}
}

// person is the signed-in user as the mapper needs them: claims, and the
// namespace and registration role the policy gives.
func person(d Deps, u auth.User) quicksight.Person {
	p := quicksight.Person{Claims: u, Token: u.IDToken}
	if d.Access != nil {
		p.Namespace, p.Role = d.Access.Namespace(u.Email, u.Groups), d.Access.Role(u.Groups)
	}
	return p
}

// currentUser is the user requireUser found.
func currentUser(c echo.Context) auth.User {
	u, _ := c.Get("user").(auth.User)
	return u
}

// wantsJSON reports whether the client accepts JSON and not HTML.
func wantsJSON(r *http.Request) bool {
	json := false
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		switch mt {
		case "application/json":
			json = true
		case "text/html", "*/*", "text/*":
			return false
		}
	}
	return json
}
