package handlers

import (
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/qsgate/qsgate/auth"
	"github.com/qsgate/qsgate/templates"
)

// signOutAuth's store cannot end sessions.
type signOutAuth struct {
	fakeAuth
	err error
}

func (s signOutAuth) SignOut(w http.ResponseWriter, r *http.Request) (string, error) {
	if s.err != nil {
		return "", s.err
	}
	http.SetCookie(w, &http.Cookie{Name: "qsgate_session", MaxAge: -1})
	return "/signed-out", nil
}

// POST /logout that could not end the session answers 503 and leaves the
// cookie alone; one that could, 303 with the cookie cleared.
func TestLogoutThatCannotEndTheSession(t *testing.T) {
	pages, err := templates.Parse()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name   string
		err    error
		status int
		cookie bool
	}{
		{"store down", errors.Join(auth.ErrSignOutIncomplete, auth.ErrStoreUnavailable), 503, false},
		{"done", nil, 303, true},
	} {
		e := echo.New()
		e.HTTPErrorHandler = errorHandler(Deps{Pages: pages, Logger: slog.New(slog.DiscardHandler)})
		e.POST("/logout", logout(signOutAuth{err: tt.err}))
		rec := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodPost, "/logout", nil)
		r.Header.Set("Accept", "text/html")
		e.ServeHTTP(rec, r)
		if rec.Code != tt.status || (rec.Header().Get("Set-Cookie") != "") != tt.cookie {
			t.Errorf("%s: %d, Set-Cookie %q; want %d, cookie changed %v", tt.name, rec.Code, rec.Header().Get("Set-Cookie"), tt.status, tt.cookie)
		}
	}
}
