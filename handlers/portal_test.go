package handlers

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qsgate/qsgate/access"
	"github.com/qsgate/qsgate/auth"
	"github.com/qsgate/qsgate/limit"
	"github.com/qsgate/qsgate/quicksight"
	"github.com/qsgate/qsgate/templates"
)

// TestHomeShowsTheNamespaceEmbedUses: in template mode with
// QSGATE_NAMESPACE_RULES, the home page previews the ARN in the person's
// namespace, the one the embed page opens, not the default namespace's: a
// tenant user is not shown another tenant's ARN, and the operator debugging
// "No QuickSight user" sees the ARN QuickSight is asked for.
func TestHomeShowsTheNamespaceEmbedUses(t *testing.T) {
	pages, err := templates.Parse()
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse("https://portal.example.com")
	rules, _ := access.ParseRules("domain:tenant-a.example=tenant-a")
	h := NewServer(Deps{
		Auth:      fakeAuth{auth.User{Subject: "s", Email: "ann@tenant-a.example"}},
		Mapper:    quicksight.NewTemplateMapper(quicksight.DefaultARNTemplate, "123456789012", "default", "us-east-1"),
		Access:    &access.Policy{Rules: rules, DefaultNamespace: "default"},
		Pages:     pages,
		Logger:    slog.New(slog.DiscardHandler),
		PublicURL: u,
	})
	resp := get(t, h, "/")
	body, _ := io.ReadAll(resp.Body)
	want := "user/tenant-a/ann@tenant-a.example"
	if !strings.Contains(string(body), want) {
		t.Errorf("home page does not show %s (the ARN the embed page uses); it shows the default namespace's", want)
	}
}

// registeringMapper is register mode as the handlers see it: Identity
// creates the user, Find does not; it counts both.
type registeringMapper struct {
	mu                sync.Mutex
	known             bool // QuickSight knows the person
	identities, finds int
	registrations     int
	deadlines         []time.Duration // time left on each call's context
}

func (m *registeringMapper) note(ctx context.Context) {
	if d, ok := ctx.Deadline(); ok {
		m.deadlines = append(m.deadlines, time.Until(d))
	}
}

func (m *registeringMapper) Identity(ctx context.Context, p quicksight.Person) (quicksight.Identity, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.identities++
	m.note(ctx)
	if !m.known {
		m.registrations++
		m.known = true
	}
	return quicksight.Identity{UserARN: "arn:aws:quicksight:us-east-1:123456789012:user/default/x", Role: "AUTHOR"}, nil
}

func (m *registeringMapper) Find(ctx context.Context, p quicksight.Person) (quicksight.Identity, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.finds++
	m.note(ctx)
	if !m.known {
		return quicksight.Identity{}, quicksight.ErrUserNotFound
	}
	return quicksight.Identity{UserARN: "arn:aws:quicksight:us-east-1:123456789012:user/default/x", Role: "AUTHOR"}, nil
}

// listing is a catalog that lists one dashboard, keeps what it listed by
// user as quicksight.Catalog does, and counts its calls.
type listing struct {
	mu     sync.Mutex
	calls  int
	listed map[string][]quicksight.Item
}

func (l *listing) For(ctx context.Context, userARN string) ([]quicksight.Item, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls++
	items := []quicksight.Item{{Kind: "dashboards", ID: "sales", Name: "Sales"}}
	if l.listed == nil {
		l.listed = map[string][]quicksight.Item{}
	}
	l.listed[userARN] = items
	return items, nil
}

func (l *listing) Cached(userARN string) ([]quicksight.Item, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	items, ok := l.listed[userARN]
	return items, ok
}

// refusing is a limit or a door with no room.
type refusing struct{ err error }

func (r refusing) Allow(string) error { return r.err }
func (r refusing) Enter(context.Context) (func(), error) {
	return nil, r.err
}

// portalServer is the handlers with mapper, catalog and limits as given.
func portalServer(t *testing.T, d Deps) http.Handler {
	t.Helper()
	pages, err := templates.Parse()
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse("https://portal.example.com")
	d.Auth = fakeAuth{auth.User{Subject: "s", Email: "new@example.com"}}
	d.Embeds, d.Pages, d.Logger, d.PublicURL = fixedEmbed{"https://qs.example.com/embed/x/start?code=c"}, pages, slog.New(slog.DiscardHandler), u
	return NewServer(d)
}

// TestHomeGoesThroughTheViewLimitAndTheDoor: the home page's AWS work
// (the mapping and the listing) takes from the per-user view limit and
// waits at the admission door, as a view does, within the view timeout.
// Refused, the page still answers, without the list and without an AWS call.
func TestHomeGoesThroughTheViewLimitAndTheDoor(t *testing.T) {
	busy := &limit.RateError{Kind: limit.ErrBudget, RetryAfter: time.Second}
	tooMany := &limit.RateError{Kind: limit.ErrUserRate, RetryAfter: time.Second}
	for _, tt := range []struct {
		name       string
		views      ViewLimiter
		admit      Admission
		wantListed bool
	}{
		{"past the view limit", refusing{tooMany}, nil, false},
		{"no room at the door", nil, refusing{busy}, false},
		{"room", refusing{nil}, nil, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := &registeringMapper{known: true}
			cat := &listing{}
			h := portalServer(t, Deps{Mapper: m, Catalog: cat, Views: tt.views, Admit: tt.admit, ViewTimeout: time.Second})
			resp := get(t, h, "/")
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != 200 {
				t.Fatalf("status = %d, want 200", resp.StatusCode)
			}
			if got := strings.Contains(string(body), `id="content-list"`); got != tt.wantListed {
				t.Errorf("list shown = %v, want %v", got, tt.wantListed)
			}
			if asked := m.identities + m.finds + cat.calls; !tt.wantListed && asked != 0 {
				t.Errorf("refused home page asked the mapper or the catalog %d times, want 0", asked)
			}
			for _, left := range m.deadlines {
				if left > time.Second {
					t.Errorf("the mapping had %v, want at most the view timeout (1s)", left)
				}
			}
		})
	}
}

// TestHomeInRegisterModeRegistersNobody: the home page of a person
// QuickSight does not know yet lists nothing ("nothing is shared with
// you") and registers nobody; opening QuickSight does.
func TestHomeInRegisterModeRegistersNobody(t *testing.T) {
	m := &registeringMapper{}
	h := portalServer(t, Deps{Mapper: m, Catalog: &listing{}})
	for range 40 {
		resp := get(t, h, "/")
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || !strings.Contains(string(body), `id="content-empty"`) {
			t.Fatalf("home of a person QuickSight does not know: %d, want 200 saying nothing is shared yet", resp.StatusCode)
		}
	}
	if m.registrations != 0 {
		t.Errorf("40 home pages registered the person %d times, want 0", m.registrations)
	}
	if resp := get(t, h, "/embed/start"); resp.StatusCode != 200 || m.registrations != 1 {
		t.Errorf("first view: %d with %d registrations, want 200 and 1", resp.StatusCode, m.registrations)
	}
}

// TestHomeHasItsOwnAllowanceAtTheViewRate: home loads past the view rate
// show no list and ask nobody, but spend none of the user's views (going
// back to the portal between dashboards is not a view).
func TestHomeHasItsOwnAllowanceAtTheViewRate(t *testing.T) {
	m := &registeringMapper{known: true}
	cat := &listing{}
	h := portalServer(t, Deps{Mapper: m, Catalog: cat, Views: limit.NewPerUser(limit.Rate{N: 2, Per: time.Hour})})
	for i := range 5 {
		body, _ := io.ReadAll(get(t, h, "/").Body)
		if got, want := strings.Contains(string(body), `id="content-list"`), i < 2; got != want {
			t.Errorf("home load %d: list shown = %v, want %v", i+1, got, want)
		}
	}
	if cat.calls != 2 {
		t.Errorf("5 home loads at 2 an hour listed %d times, want 2", cat.calls)
	}
	for i := range 2 {
		if resp := get(t, h, "/embed/start"); resp.StatusCode != 200 {
			t.Errorf("view %d after the home loads: %d, want 200 (home loads spend no views)", i+1, resp.StatusCode)
		}
	}
	if resp := get(t, h, "/embed/start"); resp.StatusCode != 429 {
		t.Errorf("third view: %d, want 429", resp.StatusCode)
	}
}

// TestViewFromAnotherSiteAsksBeforeRegistering: in register mode, a view
// reached from another site (Sec-Fetch-Site: cross-site) of a person
// QuickSight does not know yet registers nobody and answers a page with one
// link to the same view; the link followed (same-origin) registers them.
// A view of a known person from another site goes straight through.
func TestViewFromAnotherSiteAsksBeforeRegistering(t *testing.T) {
	m := &registeringMapper{}
	h := portalServer(t, Deps{Mapper: m})
	view := func(site string) (int, string) {
		req := httptest.NewRequest(http.MethodGet, "/embed/dashboards/sales?p.Region=EMEA&other=x", nil)
		req.Header.Set("Sec-Fetch-Site", site)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code, rec.Body.String()
	}
	status, body := view("cross-site")
	if status != 200 || !strings.Contains(body, `href="/embed/dashboards/sales?p.Region=EMEA"`) || strings.Contains(body, "qs-console") {
		t.Fatalf("cross-site first view: %d, want 200 with a link to the checked view and no console\n%s", status, body)
	}
	if m.registrations != 0 {
		t.Errorf("cross-site first view registered the person")
	}
	if status, body = view("same-origin"); status != 200 || !strings.Contains(body, "qs-console") || m.registrations != 1 {
		t.Errorf("the link followed: %d, %d registrations; want the console and 1", status, m.registrations)
	}
	if status, body = view("cross-site"); status != 200 || !strings.Contains(body, "qs-console") {
		t.Errorf("cross-site view of a known person: %d, want the console at once", status)
	}
}
