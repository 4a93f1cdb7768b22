package handlers

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/qsgate/qsgate/auth"
	"github.com/qsgate/qsgate/quicksight"
)

// arnPreviewer is a mapper that knows the ARN without calling AWS.
type arnPreviewer interface {
	PreviewARN(p quicksight.Person) (string, error)
}

// catalogWait is how long the home page waits for the user's list of
// dashboards and analyses; a slower listing finishes in the background and
// serves the next view from the cache.
const catalogWait = 1500 * time.Millisecond

// home is GET /: who you are, the QuickSight user you map to, the
// dashboards and analyses you may open (when the listing answers in time),
// the entry points (Q&A too when d.QnA), a form to open a dashboard or
// analysis by id, and sign-out.
func home(d Deps) echo.HandlerFunc {
	csp := &policyCache{script: true}
	return func(c echo.Context) error {
		u := currentUser(c)
		// Only a mapper that needs no AWS call shows the ARN here (template,
		// file); the others find the user when QuickSight is opened.
		var arn string
		preview, canPreview := d.Mapper.(arnPreviewer)
		if canPreview {
			var err error
			if arn, err = preview.PreviewARN(person(d, u)); err != nil && !errors.Is(err, quicksight.ErrNoMapping) {
				return err
			}
		}
		items, listed, role := listContent(c, d, u)
		csrf, _ := c.Get("csrf").(string)
		c.Response().Header().Set("Content-Security-Policy", csp.header(d.Auth.LogoutOrigin(), "'none'"))
		return render(c, d, http.StatusOK, "home.html", struct {
			User   auth.User
			ARN    string
			Lookup bool
			// IdentityCenter: QuickSight opens as the user's Identity
			// Center user, whom the session carries.
			IdentityCenter bool
			CSRF           string
			Portal         string
			Items          []quicksight.Item
			Listed         bool // false: the list is unavailable (or not configured)
			Catalog        bool
			// ReaderNote: the user is a reader and dashboards open in the
			// console, which refuses readers.
			ReaderNote bool
			QnA        bool // offer Generative Q&A
		}{u, arn, !canPreview, carriesIdentity(d.Mapper), csrf, d.PortalTitle, items, listed, d.Catalog != nil,
			quicksight.IsReader(role) && !d.ReadersSeeDashboards, d.QnA})
	}
}

// identityCarrier is a mapper that names no QuickSight user: QuickSight
// learns the user from the credentials (identity-center mode).
type identityCarrier interface{ CarriesIdentity() bool }

func carriesIdentity(m UserMapper) bool {
	c, ok := m.(identityCarrier)
	return ok && c.CarriesIdentity()
}

// listContent asks the catalog within catalogWait; any failure means "the
// list is unavailable", never a failed page.
func listContent(c echo.Context, d Deps, u auth.User) (items []quicksight.Item, listed bool, role string) {
	if d.Catalog == nil {
		return nil, false, ""
	}
	items, role, err := content(c, d, u)
	switch {
	case err == nil:
		return items, true, role
	case errors.Is(err, quicksight.ErrUserNotFound) && canRegister(d.Mapper):
		// A person QuickSight does not know yet has nothing shared with
		// them; their first view registers them.
		return nil, true, ""
	}
	d.Logger.InfoContext(c.Request().Context(), "content list unavailable", "sub", u.Subject, "err", err.Error(),
		"request_id", c.Response().Header().Get(echo.HeaderXRequestID))
	return nil, false, ""
}

// content is the user's list. Its AWS work (the mapping, the listing) goes
// through the per-user view limit and the admission door, as a view does,
// and ends within the view timeout; a mapper that can register is only
// asked to find the user: the home page registers nobody. The mapping and
// the listing run on past the page when they must (they are shared and
// detached from the request); the door covers the page's wait.
//
// The home page has an allowance of its own in the view limit, at the same
// rate (homeLimitKey): it bounds a reload loop on / as tightly as one on a
// view, while going back to the portal between dashboards spends no view
// (QSGATE_EMBED_RATE counts embed URLs).
func content(c echo.Context, d Deps, u auth.User) ([]quicksight.Item, string, error) {
	if d.Views != nil {
		if err := d.Views.Allow(homeLimitKey(u.Subject)); err != nil {
			return nil, "", err
		}
	}
	wait := catalogWait
	if d.ViewTimeout > 0 {
		wait = min(wait, d.ViewTimeout)
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), wait)
	defer cancel()
	if d.Admit != nil {
		release, err := d.Admit.Enter(ctx)
		if err != nil {
			return nil, "", err
		}
		defer release()
	}
	find := d.Mapper.Identity
	if f, ok := d.Mapper.(finder); ok {
		find = f.Find
	}
	id, err := find(ctx, person(d, u))
	if err != nil {
		return nil, "", err
	}
	items, err := d.Catalog.For(ctx, id.UserARN)
	return items, id.Role, err
}

// homeLimitKey is the home page's key in the view limit, apart from the
// subject's own (a subject is the provider's, and none starts with NUL).
func homeLimitKey(subject string) string { return "home\x00" + subject }

// openByID is GET /open?kind=dashboards|analyses&id=ID[&params=a=1&b=2],
// the home page's form: it checks the id and the dashboard filters and goes
// to the embed page.
func openByID(public *url.URL) echo.HandlerFunc {
	return func(c echo.Context) error {
		kind, id := c.QueryParam("kind"), c.QueryParam("id")
		if kind != "dashboards" && kind != "analyses" {
			return errBadKind
		}
		if !quicksight.ValidID(id) {
			return errBadID
		}
		target := public.String() + "/embed/" + kind + "/" + id
		raw := strings.TrimSpace(c.QueryParam("params"))
		if raw == "" {
			return c.Redirect(http.StatusSeeOther, target)
		}
		if kind != "dashboards" {
			return quicksight.ErrBadParams
		}
		q, err := url.ParseQuery(raw)
		if err != nil {
			return quicksight.ErrBadParams
		}
		prefixed := url.Values{}
		for k, vs := range q {
			prefixed["p."+k] = vs
		}
		params, err := quicksight.ParseParams(prefixed)
		if err != nil {
			return err
		}
		return c.Redirect(http.StatusSeeOther, target+"?"+quicksight.QueryOf(params))
	}
}
