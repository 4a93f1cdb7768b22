package handlers

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/qsgate/qsgate/access"
	"github.com/qsgate/qsgate/auth"
	"github.com/qsgate/qsgate/quicksight"
	"github.com/qsgate/qsgate/templates"
)

// renewingAuth is fakeAuth whose session renews at the provider to a user
// with a fresh ID token, or not at all when err is set.
type renewingAuth struct {
	fakeAuth
	renewed auth.User
	err     error
	calls   *atomic.Int32
}

func (a renewingAuth) Renew(http.ResponseWriter, *http.Request) (auth.User, error) {
	a.calls.Add(1)
	return a.renewed, a.err
}

// tokenMapper is an identity-center mapper in miniature: a user whose ID
// token is "fresh" maps, any other must sign in again.
type tokenMapper struct{ calls *atomic.Int32 }

func (m tokenMapper) Identity(_ context.Context, p quicksight.Person) (quicksight.Identity, error) {
	m.calls.Add(1)
	if p.Token != "fresh" {
		return quicksight.Identity{}, quicksight.ErrSignInAgain
	}
	return quicksight.Identity{WithIdentity: true}, nil
}

func renewServer(t *testing.T, a renewingAuth, m tokenMapper) http.Handler {
	t.Helper()
	pages, err := templates.Parse()
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse("https://portal.example.com")
	return NewServer(Deps{Auth: a, Embeds: fixedEmbed{"https://us-east-1.quicksight.aws.amazon.com/embed/x/start?code=c"},
		Mapper: m, Pages: pages, Logger: slog.New(slog.DiscardHandler), PublicURL: u})
}

// TestExpiredProviderTokenRenewsTheSession: when the mapper's copy of the
// provider's token has expired, the view renews the session at the
// provider once and maps again; when the session cannot be renewed, the
// user gets a page that signs in again and comes back to the view.
func TestExpiredProviderTokenRenewsTheSession(t *testing.T) {
	stale := auth.User{Subject: "s", Email: "a@example.com", IDToken: "stale"}
	t.Run("renewed", func(t *testing.T) {
		renews, maps := &atomic.Int32{}, &atomic.Int32{}
		fresh := stale
		fresh.IDToken = "fresh"
		h := renewServer(t, renewingAuth{fakeAuth: fakeAuth{stale}, renewed: fresh, calls: renews}, tokenMapper{maps})
		if resp := get(t, h, "/embed/start"); resp.StatusCode != http.StatusOK {
			t.Fatalf("status = %d, want 200", resp.StatusCode)
		}
		if renews.Load() != 1 || maps.Load() != 2 {
			t.Errorf("renewals = %d, mappings = %d; want 1 and 2", renews.Load(), maps.Load())
		}
	})
	t.Run("renewal refused", func(t *testing.T) {
		renews, maps := &atomic.Int32{}, &atomic.Int32{}
		h := renewServer(t, renewingAuth{fakeAuth: fakeAuth{stale}, err: access.ErrNotAllowed, calls: renews}, tokenMapper{maps})
		if resp := get(t, h, "/embed/start"); resp.StatusCode != http.StatusForbidden {
			t.Errorf("status = %d, want 403: the policy's refusal of the renewed user, not 'sign in again'", resp.StatusCode)
		}
	})
	t.Run("cannot renew", func(t *testing.T) {
		renews, maps := &atomic.Int32{}, &atomic.Int32{}
		h := renewServer(t, renewingAuth{fakeAuth: fakeAuth{stale}, err: auth.ErrCannotRenew, calls: renews}, tokenMapper{maps})
		resp := get(t, h, "/embed/dashboards/d-1?p.region=EU")
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(string(body), "Please sign in again") {
			t.Fatalf("status = %d, want 401 and the sign-in-again page:\n%s", resp.StatusCode, body)
		}
		if want := `href="/login?rd=%2Fembed%2Fdashboards%2Fd-1%3Fp.region%3DEU"`; !strings.Contains(string(body), want) {
			t.Errorf("page has no link %s:\n%s", want, body)
		}
		if renews.Load() != 1 || maps.Load() != 1 {
			t.Errorf("renewals = %d, mappings = %d; want 1 and 1", renews.Load(), maps.Load())
		}
	})
}
