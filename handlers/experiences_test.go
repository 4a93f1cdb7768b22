package handlers

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qsgate/qsgate/auth"
	"github.com/qsgate/qsgate/quicksight"
	"github.com/qsgate/qsgate/templates"
)

// recordingEmbeds is an issuer that records what each call asked for and
// knows, as quicksight.Client does, which experiences its API has.
type recordingEmbeds struct {
	registeredUser bool
	mu             sync.Mutex
	calls          []recordedEmbed
}

type recordedEmbed struct {
	id quicksight.Identity
	t  quicksight.Target
}

func (r *recordingEmbeds) Supports(ep string) error {
	return (&quicksight.Client{RegisteredUser: r.registeredUser}).Supports(ep)
}

func (r *recordingEmbeds) EmbedURL(ctx context.Context, id quicksight.Identity, t quicksight.Target) (quicksight.Embed, error) {
	r.mu.Lock()
	r.calls = append(r.calls, recordedEmbed{id, t})
	r.mu.Unlock()
	if err := quicksight.CheckEntryPoint(t.EntryPoint); err != nil {
		return quicksight.Embed{}, err
	}
	return quicksight.Embed{URL: "https://us-east-1.quicksight.aws.amazon.com/embedding/x" + t.EntryPoint + "?code=c",
		RequestID: "req-1", ExpiresAt: time.Now().Add(quicksight.URLLifetime)}, nil
}

func (r *recordingEmbeds) recorded() []recordedEmbed {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.calls)
}

// experienceServer is the handlers with r as the issuer, signed in as u.
func experienceServer(t *testing.T, r *recordingEmbeds, u auth.User, qna bool) http.Handler {
	t.Helper()
	pages, err := templates.Parse()
	if err != nil {
		t.Fatal(err)
	}
	public, _ := url.Parse("https://portal.example.com")
	return NewServer(Deps{
		Auth: fakeAuth{u}, Embeds: r, QnA: qna,
		Mapper: quicksight.NewTemplateMapper(quicksight.DefaultARNTemplate, "123456789012", "default", "us-east-1"),
		Pages:  pages, Logger: slog.New(slog.DiscardHandler), PublicURL: public,
	})
}

// request is a GET of path as the portal's own script sends it (the API
// needs that; the pages do not mind).
func request(h http.Handler, path string) (int, string) {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.Header.Set("X-Qsgate-Fetch", "1")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	body, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, string(body)
}

var alice = auth.User{Subject: "s", Email: "a@example.com"}

// The Q&A and visual routes, and their /api/embed-url entry points, ask
// for that experience's entry point.
func TestExperienceRoutes(t *testing.T) {
	r := &recordingEmbeds{registeredUser: true}
	h := experienceServer(t, r, alice, false)
	for _, tt := range []struct{ path, entryPoint, title string }{
		{"/embed/qna", "/qna", "Q&amp;A"},
		{"/embed/qna/sales-topic_1", "/qna/sales-topic_1", "Q&amp;A: sales-topic_1"},
		{"/embed/visual/sales/sheet-1/visual_2", "/visual/sales/sheet-1/visual_2", "Visual visual_2"},
		{"/api/embed-url?entry-point=/qna", "/qna", ""},
		{"/api/embed-url?entry-point=/qna/t1", "/qna/t1", ""},
		{"/api/embed-url?entry-point=/visual/d/s/v", "/visual/d/s/v", ""},
	} {
		t.Run(tt.path, func(t *testing.T) {
			n := len(r.recorded())
			status, body := request(h, tt.path)
			if status != 200 {
				t.Fatalf("%s = %d, want 200:\n%s", tt.path, status, body)
			}
			calls := r.recorded()[n:]
			if len(calls) != 1 || calls[0].t.EntryPoint != tt.entryPoint {
				t.Fatalf("calls = %+v, want one for %s", calls, tt.entryPoint)
			}
			if strings.HasPrefix(tt.path, "/api/") {
				var out map[string]string
				if err := json.Unmarshal([]byte(body), &out); err != nil || !strings.Contains(out["embedUrl"], "/embedding/x"+tt.entryPoint) {
					t.Errorf("API answer %s, want the embed URL", body)
				}
				return
			}
			// The page frames the URL and renews it through the API at the
			// same entry point.
			if !strings.Contains(body, `/embedding/x`+tt.entryPoint+`?code=c"`) || !strings.Contains(body, url.QueryEscape(tt.entryPoint)) {
				t.Errorf("page does not frame the URL or renew it at %s:\n%s", tt.entryPoint, body)
			}
			if !strings.Contains(body, tt.title) {
				t.Errorf("page does not show the title %q", tt.title)
			}
		})
	}
}

// Malformed ids get the 400 page (JSON from the API) and no call.
func TestExperienceIDsCheckedBeforeAnyCall(t *testing.T) {
	r := &recordingEmbeds{registeredUser: true}
	h := experienceServer(t, r, alice, false)
	for _, path := range []string{
		"/embed/qna/a.b", "/embed/qna/a%2Fb", "/embed/qna/%2e%2e", "/embed/qna/a%20b", "/embed/qna/" + strings.Repeat("t", 257),
		"/embed/qna/caf%C3%A9",
		"/embed/visual/d/s%2Fx/v", "/embed/visual/d/s/v%3Fx", "/embed/visual/d/s/v/x", "/embed/visual/d/../v", "/embed/visual/" + strings.Repeat("d", 512) + "/" + strings.Repeat("s", 512) + "/v",
		"/api/embed-url?entry-point=/qna/a.b", "/api/embed-url?entry-point=/qna/", "/api/embed-url?entry-point=/visual/d/s",
		"/api/embed-url?entry-point=/visual/d/s/v/x", "/api/embed-url?entry-point=/visual/d/s/v&p.Region=EU",
	} {
		status, body := request(h, path)
		if status != 400 && status != 404 {
			t.Errorf("%s = %d, want 400 (or 404 for no such route):\n%s", path, status, body)
		}
	}
	if calls := r.recorded(); len(calls) != 0 {
		t.Errorf("bad ids made %d calls, want none: %+v", len(calls), calls)
	}
	// A route with too few ids is no page at all.
	for _, path := range []string{"/embed/visual/d/s", "/embed/visual/d"} {
		if status, _ := request(h, path); status != 404 {
			t.Errorf("%s = %d, want 404", path, status)
		}
	}
}

// Under the session API the new routes are a 404 page in plain words (and
// 404 JSON from the API), before the mapping and any AWS call.
func TestExperiencesNeedTheRegisteredUserAPI(t *testing.T) {
	r := &recordingEmbeds{registeredUser: false}
	h := experienceServer(t, r, alice, false)
	for _, path := range []string{"/embed/qna", "/embed/qna/t1", "/embed/visual/d/s/v", "/api/embed-url?entry-point=/qna", "/api/embed-url?entry-point=/visual/d/s/v"} {
		status, body := request(h, path)
		if status != 404 || !strings.Contains(body, "registered-user") {
			t.Errorf("%s = %d, want 404 saying the registered-user API is needed:\n%s", path, status, body)
		}
	}
	if calls := r.recorded(); len(calls) != 0 {
		t.Errorf("%d calls, want none", len(calls))
	}
	// The console still opens.
	if status, _ := request(h, "/embed/start"); status != 200 {
		t.Errorf("/embed/start = %d, want 200", status)
	}
}

// The signed-in user's groups (those the session keeps) reach the embed
// call, where QSGATE_AMAZON_Q_GROUPS reads them.
func TestUserGroupsReachTheEmbedCall(t *testing.T) {
	r := &recordingEmbeds{registeredUser: true}
	u := alice
	u.Groups = []string{"finance", "qs-pro"}
	h := experienceServer(t, r, u, false)
	for _, path := range []string{"/embed/start", "/api/embed-url?entry-point=/dashboards/d"} {
		if status, body := request(h, path); status != 200 {
			t.Fatalf("%s = %d:\n%s", path, status, body)
		}
	}
	for _, c := range r.recorded() {
		if !slices.Equal(c.id.Groups, u.Groups) || c.id.UserARN == "" {
			t.Errorf("identity = %+v, want the user's ARN and groups %q", c.id, u.Groups)
		}
	}
}

// The home page offers Q&A only when QSGATE_QNA is on.
func TestHomeOffersQnA(t *testing.T) {
	for _, qna := range []bool{true, false} {
		h := experienceServer(t, &recordingEmbeds{registeredUser: true}, alice, qna)
		status, body := request(h, "/")
		if status != 200 {
			t.Fatalf("home = %d", status)
		}
		if got := strings.Contains(body, `<a id="go-qna" href="/embed/qna">`); got != qna {
			t.Errorf("QnA %v: home links Q&A = %v, want %v", qna, got, qna)
		}
	}
}
