package handlers

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"

	"github.com/qsgate/qsgate/auth"
	"github.com/qsgate/qsgate/quicksight"
)

// home is GET /: who you are, the QuickSight user you map to, the entry
// points, a form to open a dashboard or analysis by id, and sign-out.
func home(d Deps) echo.HandlerFunc {
	return func(c echo.Context) error {
		u := currentUser(c)
		arn, err := d.Mapper.UserARN(u)
		if err != nil && !errors.Is(err, quicksight.ErrNoMapping) {
			return err
		}
		csrf, _ := c.Get("csrf").(string)
		return render(c, d, http.StatusOK, "home.html", struct {
			User auth.User
			ARN  string
			CSRF string
		}{u, arn, csrf})
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
