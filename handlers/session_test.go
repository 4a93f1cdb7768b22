package handlers

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/qsgate/qsgate/access"
	"github.com/qsgate/qsgate/auth"
	"github.com/qsgate/qsgate/quicksight"
	"github.com/qsgate/qsgate/templates"
)

func (f fakeAuth) Session(w http.ResponseWriter, r *http.Request) (auth.User, error) {
	return f.user, nil
}

// sessionErrAuth is signed in as nobody: every session check fails with err.
type sessionErrAuth struct {
	fakeAuth
	err error
}

func (s sessionErrAuth) Session(w http.ResponseWriter, r *http.Request) (auth.User, error) {
	return auth.User{}, s.err
}

func (s sessionErrAuth) LoginURL(rd string) string { return "/login?rd=" + url.QueryEscape(rd) }

// Each way a session check can fail leads where the user can act on it:
// sign in again, a page that retries by itself, or the not-allowed page;
// never a 500, never through.
func TestRequireUserSessionErrors(t *testing.T) {
	pages, err := templates.Parse()
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse("https://portal.example.com")
	for _, tt := range []struct {
		name       string
		err        error
		path       string
		json       bool
		status     int
		location   string
		retryAfter string
		body       string
	}{
		{"signed out", auth.ErrSignedOut, "/embed/start", false, 302, "/login?rd=%2Fembed%2Fstart", "", ""},
		{"refused by the provider", auth.ErrSessionEnded, "/", false, 302, "/login?rd=%2F", "", ""},
		{"signed out, JSON", auth.ErrSignedOut, "/api/embed-url", true, 401, "", "", `"unauthenticated"`},
		{"store down", fmt.Errorf("load: %w", auth.ErrStoreUnavailable), "/embed/start", false, 503, "", "5", "Sign-in is temporarily unavailable"},
		{"store down, JSON", auth.ErrStoreUnavailable, "/api/embed-url", true, 503, "", "5", `"Sign-in is temporarily unavailable"`},
		{"provider down past grace", &auth.SignInError{Kind: auth.ErrProviderUnavailable}, "/", false, 503, "", "10", "The sign-in service is unavailable"},
		{"renewed claims refused", &access.Denied{Reason: "domain"}, "/", false, 403, "", "", "not allowed to use this portal"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := NewServer(Deps{
				Auth: sessionErrAuth{err: tt.err}, Embeds: fixedEmbed{"https://qs.example.com/x"},
				Mapper: quicksight.NewTemplateMapper(quicksight.DefaultARNTemplate, "123456789012", "default", "us-east-1"),
				Pages:  pages, Logger: slog.New(slog.DiscardHandler), PublicURL: u,
			})
			req := httptest.NewRequest(http.MethodGet, tt.path, nil)
			req.Header.Set("Sec-Fetch-Site", "same-origin")
			req.Header.Set(apiHeader, "1")
			if tt.json {
				req.Header.Set("Accept", "application/json")
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			body, _ := io.ReadAll(rec.Result().Body)
			if rec.Code != tt.status {
				t.Fatalf("status = %d, want %d\n%s", rec.Code, tt.status, body)
			}
			if got := rec.Header().Get("Location"); got != tt.location {
				t.Errorf("Location = %q, want %q", got, tt.location)
			}
			if got := rec.Header().Get("Retry-After"); got != tt.retryAfter {
				t.Errorf("Retry-After = %q, want %q", got, tt.retryAfter)
			}
			if !strings.Contains(string(body), tt.body) {
				t.Errorf("body lacks %q:\n%s", tt.body, body)
			}
			if errors.Is(tt.err, auth.ErrStoreUnavailable) && !tt.json && !strings.Contains(string(body), "try again by itself") {
				t.Errorf("the store-down page does not retry by itself:\n%s", body)
			}
		})
	}
}
