package handlers

import (
	"errors"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/qsgate/qsgate/auth"
)

// login is GET /login?rd=PATH: start sign-in, coming back to rd (a local
// path; anything else means "/").
func login(a Authenticator) echo.HandlerFunc {
	return func(c echo.Context) error {
		return a.StartLogin(c.Response(), c.Request(), c.QueryParam("rd"))
	}
}

// callback is GET /auth/callback, the OIDC redirect target: it finishes
// sign-in and goes back to the page the user asked for.
func callback(a Authenticator, public *url.URL, rec Recorder) echo.HandlerFunc {
	return func(c echo.Context) error {
		rd, err := a.Finish(c.Response(), c.Request())
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
	}
	return "refused"
}

// logout is POST /logout (CSRF-checked): end the session, then let the
// provider end its own when it can.
func logout(a Authenticator) echo.HandlerFunc {
	return func(c echo.Context) error {
		return c.Redirect(http.StatusSeeOther, a.Logout(c.Response(), c.Request()))
	}
}

// signedOut is GET /signed-out, where logout ends.
func signedOut(d Deps) echo.HandlerFunc {
	return func(c echo.Context) error {
		return render(c, d, http.StatusOK, "signed_out.html", nil)
	}
}

// requireUser lets signed-in users through. Others are sent to sign-in and
// back to the same page, except requests that accept only JSON, which get
// 401.
func requireUser(a Authenticator) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if u, ok := a.CurrentUser(c.Request()); ok {
				c.Set("user", u)
				return next(c)
			}
			if wantsJSON(c.Request()) {
				return c.JSON(http.StatusUnauthorized, map[string]string{"error": "unauthenticated", "login": "/login"})
			}
			return c.Redirect(http.StatusFound, a.LoginURL(c.Request().URL.RequestURI()))
		}
	}
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
