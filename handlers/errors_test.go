package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/qsgate/qsgate/auth"
	"github.com/qsgate/qsgate/quicksight"
)

// Every error the handlers can meet has a page with a fitting status; a
// wrapped error finds the same page; nothing unknown leaks as anything but
// the generic 500.
func TestPageFor(t *testing.T) {
	tests := []struct {
		err    error
		status int
	}{
		{quicksight.ErrBadEntryPoint, 400},
		{errBadID, 400},
		{errCSRF, 403},
		{fmt.Errorf("map: %w", quicksight.ErrNoMapping), 403},
		{&quicksight.Error{Kind: quicksight.ErrUserNotFound}, 403},
		{&quicksight.Error{Kind: quicksight.ErrNotAuthor}, 403},
		{&quicksight.Error{Kind: quicksight.ErrResourceNotFound}, 404},
		{&quicksight.Error{Kind: quicksight.ErrThrottled}, 503},
		{&quicksight.Error{Kind: quicksight.ErrTimeout}, 504},
		{&quicksight.Error{Kind: quicksight.ErrAccessDenied}, 502},
		{&quicksight.Error{Kind: quicksight.ErrUnavailable}, 502},
		{&quicksight.Error{Kind: quicksight.ErrUnsupportedEdition}, 502},
		{&quicksight.Error{Kind: quicksight.ErrRejected}, 502},
		{&auth.SignInError{Kind: auth.ErrSignIn}, 400},
		{&auth.SignInError{Kind: auth.ErrProviderUnavailable}, 503},
		{echo.ErrNotFound, 404},
		{echo.ErrMethodNotAllowed, 405},
		{echo.NewHTTPError(http.StatusRequestEntityTooLarge), 413},
		{echo.NewHTTPError(http.StatusTeapot), 418},
		{errors.New("template exploded"), 500},
	}
	for _, tt := range tests {
		p := pageFor(tt.err)
		if p.Status != tt.status {
			t.Errorf("pageFor(%v).Status = %d, want %d", tt.err, p.Status, tt.status)
		}
		if p.Title == "" || p.Message == "" {
			t.Errorf("pageFor(%v) has no title or message", tt.err)
		}
	}
}

func TestWantsJSON(t *testing.T) {
	for accept, want := range map[string]bool{
		"application/json":                    true,
		"application/json; charset=utf-8":     true,
		"text/html,application/xhtml+xml,*/*": false,
		"application/json, text/html":         false,
		"application/json, */*;q=0.1":         false,
		"":                                    false,
		"garbage;;;,,":                        false,
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Accept", accept)
		if got := wantsJSON(r); got != want {
			t.Errorf("wantsJSON(%q) = %v, want %v", accept, got, want)
		}
	}
}
