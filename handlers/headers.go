package handlers

import (
	"net/http"
	"strconv"
	"sync/atomic"

	"github.com/labstack/echo/v4"
	"github.com/qsgate/qsgate/auth"
)

// securityHeaders sets the headers every response carries. Pages are private
// and hold per-user data, so nothing is cached unless a route says so.
func securityHeaders(d Deps) echo.MiddlewareFunc {
	hsts := auth.Secure(d.PublicURL)
	csp := &policyCache{}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			h := c.Response().Header()
			h.Set("X-Content-Type-Options", "nosniff")
			h.Set("Referrer-Policy", "no-referrer")
			h.Set("X-Frame-Options", "SAMEORIGIN")
			h.Set("Content-Security-Policy", csp.header(d.Auth.LogoutOrigin(), "'none'"))
			h.Set("Cache-Control", "no-store")
			if hsts {
				h.Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
			}
			return next(c)
		}
	}
}

// contentSecurityPolicy allows our own static files (and our own scripts
// and fetches when script is set), forms to ourselves and to logoutOrigin
// (the logout form's redirect ends there; Chrome checks form-action along
// redirects), and frames from frameSrc. Never 'unsafe-inline'.
func contentSecurityPolicy(logoutOrigin, frameSrc string, script bool) string {
	formAction := "'self'"
	if logoutOrigin != "" {
		formAction += " " + logoutOrigin
	}
	scripts := ""
	if script {
		scripts = "; script-src 'self'; connect-src 'self'"
	}
	return "default-src 'none'; style-src 'self'; img-src 'self'" + scripts + "; frame-src " + frameSrc +
		"; frame-ancestors 'self'; form-action " + formAction + "; base-uri 'none'"
}

// policyCache keeps the last Content-Security-Policy it built: its inputs
// (the provider's logout origin, the console's origin) change only when
// discovery or the region does, and it is set on every response.
type policyCache struct {
	script bool
	last   atomic.Pointer[policy]
}

type policy struct{ logoutOrigin, frameSrc, header string }

func (p *policyCache) header(logoutOrigin, frameSrc string) string {
	if l := p.last.Load(); l != nil && l.logoutOrigin == logoutOrigin && l.frameSrc == frameSrc {
		return l.header
	}
	l := &policy{logoutOrigin, frameSrc, contentSecurityPolicy(logoutOrigin, frameSrc, p.script)}
	p.last.Store(l)
	return l.header
}

// cacheStatic lets successful static responses be cached: for a year when
// the URL carries this build's fingerprint (?v=, see static.URL), else for
// five minutes. A miss, or an old or future fingerprint (another build
// behind the same balancer during a deploy), is never cached, so a CDN
// cannot keep it.
func cacheStatic(version string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			v := c.QueryParam("v")
			res := c.Response()
			res.Before(func() {
				switch {
				case res.Status != http.StatusOK && res.Status != http.StatusNotModified:
				case v == version:
					res.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
				case v == "":
					res.Header().Set("Cache-Control", "public, max-age=300")
				}
			})
			return next(c)
		}
	}
}

// cacheFor lets a fixed answer be cached for seconds.
func cacheFor(seconds int) echo.MiddlewareFunc {
	v := "public, max-age=" + strconv.Itoa(seconds)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			c.Response().Header().Set("Cache-Control", v)
			return next(c)
		}
	}
}
