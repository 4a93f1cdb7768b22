package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// healthz is GET/HEAD /healthz: the process is alive.
func healthz() echo.HandlerFunc {
	return func(c echo.Context) error {
		return c.String(http.StatusOK, "ok\n")
	}
}

// readyz is GET/HEAD /readyz: OIDC discovery is done (the AWS configuration
// was loaded before the server started), Redis answers when one is
// configured, so sign-in and embedding can work, and the instance is not
// shutting down.
func readyz(d Deps) echo.HandlerFunc {
	return func(c echo.Context) error {
		if !d.Auth.Ready() {
			return c.String(http.StatusServiceUnavailable, "not ready: OIDC discovery pending\n")
		}
		if d.ClusterReady != nil {
			if err := d.ClusterReady(c.Request().Context()); err != nil {
				return c.String(http.StatusServiceUnavailable, "not ready: Redis (QSGATE_REDIS_URL) does not answer\n")
			}
		}
		if d.Draining != nil && d.Draining() {
			return c.String(http.StatusServiceUnavailable, "not ready: shutting down\n")
		}
		return c.String(http.StatusOK, "ready\n")
	}
}

// noContent answers 204: browsers ask for /favicon.ico on every site, and
// the portal has none worth a 404 line in the log.
func noContent() echo.HandlerFunc {
	return func(c echo.Context) error { return c.NoContent(http.StatusNoContent) }
}
