package handlers

import (
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

// errCrossSite is an API call another site's page made.
var errCrossSite = errors.New("cross-site request to the API")

// apiHeader must accompany API calls: a custom header cannot be sent
// cross-origin without a CORS preflight, which qsgate never grants.
const apiHeader = "X-Qsgate-Fetch"

// sameSiteOnly refuses API calls another site could make: with a
// Sec-Fetch-Site other than same-origin, or without apiHeader.
func sameSiteOnly(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if site := r.Header.Get("Sec-Fetch-Site"); (site != "" && site != "same-origin") || r.Header.Get(apiHeader) != "1" {
			return errCrossSite
		}
		h := c.Response().Header()
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		return next(c)
	}
}

// embedURLAPI is GET /api/embed-url?entry-point=/dashboards/abc[&p.NAME=VALUE]:
// {"embedUrl","expiresAt"} for the signed-in user, made exactly as the page
// makes it (same checks, limits and errors, as JSON). Entry points are the
// pages' addresses after /embed: /start..., /dashboards/ID, /analyses/ID,
// /qna, /qna/TOPIC, /visual/DASHBOARD/SHEET/VISUAL. The embed page's
// script calls it to replace an ended console session.
func embedURLAPI(d Deps) echo.HandlerFunc {
	return func(c echo.Context) error {
		ep := c.QueryParam("entry-point")
		t, err := target(c, ep)
		if err == nil {
			err = supported(d, ep)
		}
		if err != nil {
			return refused(d, err)
		}
		emb, _, err := issue(c, d, t)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, struct {
			EmbedURL  string `json:"embedUrl"`
			ExpiresAt string `json:"expiresAt"`
		}{emb.URL, emb.ExpiresAt.UTC().Format(time.RFC3339)})
	}
}
