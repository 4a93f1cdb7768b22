package handlers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/qsgate/qsgate/access"
	"github.com/qsgate/qsgate/auth"
	"github.com/qsgate/qsgate/limit"
	"github.com/qsgate/qsgate/quicksight"
	"github.com/qsgate/qsgate/templates"
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
		{&quicksight.Error{Kind: quicksight.ErrUnreachable}, 502},
		{&quicksight.Error{Kind: quicksight.ErrUnsupportedEdition}, 502},
		{&quicksight.Error{Kind: quicksight.ErrRejected}, 502},
		{fmt.Errorf("%w: expired", quicksight.ErrSignInAgain), 401},
		{fmt.Errorf("%w: refresh refused (%w)", quicksight.ErrSignInAgain, &quicksight.Error{Kind: quicksight.ErrNotInIdentityCenter}), 401},
		{&quicksight.Error{Kind: quicksight.ErrNotInIdentityCenter}, 403},
		{&quicksight.Error{Kind: quicksight.ErrIssuerNotTrusted}, 502},
		{&quicksight.Error{Kind: quicksight.ErrRoleNoContext}, 502},
		{&quicksight.Error{Kind: quicksight.ErrAccountNotIdentityCenter}, 502},
		{&access.Denied{Reason: "domain"}, 403},
		{fmt.Errorf("lookup: %w", quicksight.ErrUserNotFound), 403},
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

// errEmbed fails every embed with one error.
type errEmbed struct{ err error }

func (e errEmbed) EmbedURL(context.Context, quicksight.Identity, quicksight.Target) (quicksight.Embed, error) {
	return quicksight.Embed{}, e.err
}

// A browser that went away during the AWS call is not a 504: it is logged
// at info as 499, and nothing is rendered.
func TestClientGoneIsNotATimeout(t *testing.T) {
	pages, _ := templates.Parse()
	u, _ := url.Parse("https://portal.example.com")
	var logs strings.Builder
	h := NewServer(Deps{
		Auth: fakeAuth{auth.User{Subject: "s", Email: "a@example.com"}}, Embeds: errEmbed{&quicksight.Error{Kind: quicksight.ErrCanceled, Code: "Canceled"}},
		Mapper: quicksight.NewTemplateMapper(quicksight.DefaultARNTemplate, "123456789012", "default", "us-east-1"),
		Pages:  pages, Logger: slog.New(slog.NewTextHandler(&logs, nil)), PublicURL: u,
	})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/embed/start", nil))
	if rec.Body.Len() != 0 {
		t.Errorf("rendered %d bytes for a client that went away", rec.Body.Len())
	}
	if strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "status=499") {
		t.Errorf("want an info line with status 499 and no error:\n%s", logs.String())
	}
}

// TestClientGoneAtTheDoorIs499: a browser that leaves while its view waits
// at the door (every slot taken) is a 499 at info, as when it leaves during
// the AWS call, not a 500 and an error line.
func TestClientGoneAtTheDoorIs499(t *testing.T) {
	pages, err := templates.Parse()
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse("https://portal.example.com")
	b := limit.NewBudget(100, 1)
	hold, err := b.Enter(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer hold()
	var logs strings.Builder
	h := NewServer(Deps{
		Auth:   fakeAuth{auth.User{Subject: "s", Email: "a@example.com"}},
		Embeds: fixedEmbed{"https://q.example/e"},
		Mapper: quicksight.NewTemplateMapper(quicksight.DefaultARNTemplate, "123456789012", "default", "us-east-1"),
		Admit:  b, Pages: pages, Logger: slog.New(slog.NewTextHandler(&logs, nil)), PublicURL: u,
	})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/embed/start", nil).WithContext(ctx))
	if strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "status=499") {
		t.Errorf("a client gone at the door; logs:\n%s", logs.String())
	}
}
