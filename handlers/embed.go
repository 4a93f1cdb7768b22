package handlers

import (
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/qsgate/qsgate/access"
	"github.com/qsgate/qsgate/limit"
	"github.com/qsgate/qsgate/quicksight"
)

// entryPointFunc gives the QuickSight entry point a request asks for.
type entryPointFunc func(c echo.Context) (entryPoint, title string, err error)

func fixedEntryPoint(ep string) entryPointFunc {
	titles := map[string]string{
		"/start": "Start", "/start/analyses": "Analyses",
		"/start/dashboards": "Dashboards", "/start/favorites": "Favorites",
	}
	return func(echo.Context) (string, string, error) { return ep, titles[ep], nil }
}

// itemEntryPoint is "/dashboards/" or "/analyses/" plus the :id parameter,
// which must be a plain id: no traversal, encoded slash, query or spaces.
func itemEntryPoint(prefix string) entryPointFunc {
	return func(c echo.Context) (string, string, error) {
		id := c.Param("id")
		if !quicksight.ValidID(id) {
			return "", "", errBadID
		}
		return prefix + id, id, nil
	}
}

// embedResult names an embed outcome for the metrics: ok, the AWS error
// code, or why no call was made. The set is small and fixed.
func embedResult(err error) string {
	var qe *quicksight.Error
	switch {
	case err == nil:
		return "ok"
	case errors.As(err, &qe):
		if quicksight.KnownCode(qe.Code) {
			return qe.Code
		}
		return "other"
	case errors.Is(err, quicksight.ErrNoMapping):
		return "no_mapping"
	case errors.Is(err, quicksight.ErrUserNotFound):
		return "no_user"
	case errors.Is(err, access.ErrNotAllowed):
		return "not_allowed"
	case errors.Is(err, limit.ErrUserRate):
		return "user_rate"
	case errors.Is(err, errBadID), errors.Is(err, quicksight.ErrBadEntryPoint):
		return "bad_request"
	}
	return "other"
}

// embed is GET /embed/{entry point}: a fresh GetSessionEmbedUrl for this
// user and entry point (the client refuses a malformed entry point before
// calling AWS), rendered into a full-window iframe. The URL is single-use,
// so it is never cached, stored or logged.
func embed(d Deps, entryPoint entryPointFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		var took time.Duration
		if d.Metrics != nil {
			defer func() { d.Metrics.Embed(embedResult(err), took) }()
		}
		ep, title, err := entryPoint(c)
		if err != nil {
			return err
		}
		u := currentUser(c)
		if d.Views != nil {
			if err := d.Views.Allow(u.Subject); err != nil {
				return err
			}
		}
		ctx := c.Request().Context()
		start := time.Now()
		id, err := d.Mapper.Identity(ctx, person(d, u))
		if err != nil {
			return err
		}
		emb, err := d.Embeds.SessionEmbedURL(ctx, id, ep)
		took = time.Since(start)
		if err != nil {
			return err
		}
		src, err := url.Parse(emb.URL)
		if err != nil || (src.Scheme != "https" && src.Scheme != "http") || src.Host == "" {
			return errBadEmbedURL
		}
		d.Logger.Info("embed url issued", "event", "embed_url_issued", "sub", u.Subject, "email", u.Email,
			"user_arn", id.UserARN, "entry_point", ep, "aws_request_id", emb.RequestID,
			"request_id", c.Response().Header().Get(echo.HeaderXRequestID))
		h := c.Response().Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy(d.Auth.LogoutOrigin(), src.Scheme+"://"+src.Host))
		h.Set("Cross-Origin-Opener-Policy", "same-origin-allow-popups")
		h.Set("Pragma", "no-cache")
		return render(c, d, http.StatusOK, "embed.html", struct{ URL, Title string }{emb.URL, title})
	}
}
