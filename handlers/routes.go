package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/qsgate/qsgate/auth"
	"github.com/qsgate/qsgate/static"
)

// routes is the table of contents: every URL qsgate answers.
func routes(e *echo.Echo, d Deps) {
	signedIn := []echo.MiddlewareFunc{requireUser(d.Auth), authorize(d)}
	csrf := csrfProtect(d)

	e.GET("/healthz", healthz())
	e.HEAD("/healthz", healthz())
	e.GET("/readyz", readyz(d))
	e.HEAD("/readyz", readyz(d))
	e.Group("/static", cacheStatic(static.Version)).StaticFS("/", static.Files)
	e.GET("/favicon.ico", with(noContent(), cacheFor(86400)))

	e.GET("/login", with(login(d.Auth), limitSignInsByAddress(d.SignInsPerAddress, "login", d.Audit)))
	e.GET("/auth/callback", with(callback(d.Auth, d.PublicURL, d.Metrics), limitSignInsByAddress(d.SignInsPerAddress, "callback", d.Audit)))
	e.POST("/logout", with(logout(d.Auth), csrf))
	e.GET("/signed-out", signedOut(d))

	e.GET("/", with(home(d), append(signedIn, csrf)...))
	e.GET("/open", with(openByID(d.PublicURL), signedIn...))
	page := append(signedIn, csrf) // the slim bar's sign-out form needs the token
	for _, ep := range []string{"/start", "/start/analyses", "/start/dashboards", "/start/favorites"} {
		e.GET("/embed"+ep, with(embed(d, fixedEntryPoint(ep)), page...))
	}
	e.GET("/embed/dashboards/:id", with(embed(d, itemEntryPoint("/dashboards/")), page...))
	e.GET("/embed/analyses/:id", with(embed(d, itemEntryPoint("/analyses/")), page...))
	e.GET("/embed/qna", with(embed(d, qnaEntryPoint(d)), page...))
	e.GET("/embed/qna/:topic", with(embed(d, qnaEntryPoint(d)), page...))
	e.GET("/embed/visual/:dashboard/:sheet/:visual", with(embed(d, visualEntryPoint(d)), page...))

	e.GET("/api/embed-url", with(embedURLAPI(d), append([]echo.MiddlewareFunc{sameSiteOnly}, signedIn...)...))
}

// with wraps h in route middleware once, when the route is made; Echo v4
// would wrap it again on every request. The first runs first.
func with(h echo.HandlerFunc, mw ...echo.MiddlewareFunc) echo.HandlerFunc {
	for i := len(mw) - 1; i >= 0; i-- {
		h = mw[i](h)
	}
	return h
}

// csrfProtect guards state-changing forms (logout) with a token tied to a
// cookie; Sec-Fetch-Site same-origin requests pass without one.
func csrfProtect(d Deps) echo.MiddlewareFunc {
	name := auth.CookieName(d.PublicURL, "qsgate_csrf")
	return middleware.CSRFWithConfig(middleware.CSRFConfig{
		TokenLookup:    "form:_csrf",
		CookieName:     name,
		CookiePath:     "/",
		CookieHTTPOnly: true,
		CookieSecure:   auth.Secure(d.PublicURL),
		CookieSameSite: http.SameSiteStrictMode,
		ErrorHandler: func(err error, c echo.Context) error {
			return errCSRF
		},
	})
}
