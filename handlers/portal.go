package handlers

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"

	"github.com/qsgate/qsgate/auth"
	"github.com/qsgate/qsgate/quicksight"
)

// arnPreviewer is a mapper that knows the ARN without calling AWS.
type arnPreviewer interface {
	UserARN(c quicksight.Claims) (string, error)
}

// home is GET /: who you are, the QuickSight user you map to, the entry
// points, a form to open a dashboard or analysis by id, and sign-out.
func home(d Deps) echo.HandlerFunc {
	return func(c echo.Context) error {
		u := currentUser(c)
		// Only a mapper that needs no AWS call shows the ARN here (template,
		// file); the others find the user when QuickSight is opened.
		var arn string
		preview, canPreview := d.Mapper.(arnPreviewer)
		if canPreview {
			var err error
			if arn, err = preview.UserARN(u); err != nil && !errors.Is(err, quicksight.ErrNoMapping) {
				return err
			}
		}
		csrf, _ := c.Get("csrf").(string)
		return render(c, d, http.StatusOK, "home.html", struct {
			User   auth.User
			ARN    string
			Lookup bool
			CSRF   string
		}{u, arn, !canPreview, csrf})
	}
}

// openByID is GET /open?kind=dashboards|analyses&id=ID, the home page's
// form: it checks the id and goes to the embed page.
func openByID(public *url.URL) echo.HandlerFunc {
	return func(c echo.Context) error {
		kind, id := c.QueryParam("kind"), c.QueryParam("id")
		if kind != "dashboards" && kind != "analyses" {
			return errBadKind
		}
		if !quicksight.ValidID(id) {
			return errBadID
		}
		return c.Redirect(http.StatusSeeOther, public.String()+"/embed/"+kind+"/"+id)
	}
}
