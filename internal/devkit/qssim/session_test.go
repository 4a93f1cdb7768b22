package qssim_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/qsgate/qsgate/internal/devkit/qssim"
)

// embedState is what GET /embed-status/{session} answers for embedURL.
func embedState(t *testing.T, srv *qssim.Server, embedURL string) (int, map[string]string) {
	t.Helper()
	m := embedURLShape.FindStringSubmatch(embedURL)
	if m == nil {
		t.Fatalf("embed URL %q has no session id", embedURL)
	}
	resp, err := http.Get(srv.URL() + "/embed-status/" + m[3])
	if err != nil {
		t.Fatalf("GET /embed-status: %v", err)
	}
	defer resp.Body.Close()
	var out map[string]string
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("decode /embed-status: %v", err)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", cc)
	}
	return resp.StatusCode, out
}

// TestEmbedSessionStatus: the state an open page polls, through a session's
// life: active, then ended by EndConsoleSessions or expired by its lifetime.
func TestEmbedSessionStatus(t *testing.T) {
	clock := newFakeClock()
	srv := startSim(t, func(c *qssim.Config) { c.Now = clock.Now })
	arn := srv.AddUser(qssim.User{UserName: "alice", Role: "AUTHOR"})
	qs := client(srv.URL(), nil)
	issue := func(lifetime int64) string {
		t.Helper()
		out, err := sessionEmbedURL(t.Context(), qs, arn, "/start", lifetime)
		if err != nil {
			t.Fatalf("GetSessionEmbedUrl: %v", err)
		}
		return aws.ToString(out.EmbedUrl)
	}
	wantState := func(url string, wantStatus int, want string) map[string]string {
		t.Helper()
		status, got := embedState(t, srv, url)
		if status != wantStatus || got["state"] != want {
			t.Errorf("status = %d %v, want %d state %q", status, got, wantStatus, want)
		}
		return got
	}

	opened := issue(60)
	wantState(opened, 200, "unopened")
	if status, _, body := get(t, opened); status != 200 || !strings.Contains(body, `"/embed-status/`) {
		t.Fatalf("open = %d, want 200 and a page that polls /embed-status/; body %s", status, body)
	}
	got := wantState(opened, 200, "active")
	if want := clock.Now().Add(time.Hour).UTC().Format(time.RFC3339); got["expiresAt"] != want {
		t.Errorf("expiresAt = %q, want %q (opened + 60 minutes)", got["expiresAt"], want)
	}

	unopened := issue(60)
	srv.EndConsoleSessions()
	wantState(opened, 200, "ended")
	// A URL not yet opened is no session yet: it still opens, and lives.
	if status, _, _ := get(t, unopened); status != 200 {
		t.Errorf("open a URL issued before EndConsoleSessions = %d, want 200", status)
	}
	wantState(unopened, 200, "active")
	if status, _, _ := get(t, opened); status != 401 {
		t.Errorf("reopen an ended session's URL = %d, want 401", status)
	}

	short := issue(15)
	get(t, short)
	clock.Advance(15*time.Minute - time.Second)
	wantState(short, 200, "active")
	clock.Advance(time.Second)
	wantState(short, 200, "expired")
	srv.EndConsoleSessions() // an expired session stays expired
	wantState(short, 200, "expired")
	clock.Advance(-15 * time.Minute)

	_, unknown := embedState(t, srv, srv.URL()+"/embed/"+strings.Repeat("0", 32)+"/start?code=x")
	if unknown["state"] != "unknown" {
		t.Errorf("unknown session state = %q, want unknown", unknown["state"])
	}
	if status, _ := embedState(t, srv, srv.URL()+"/embed/"+strings.Repeat("0", 32)+"/start?code=x"); status != 404 {
		t.Errorf("unknown session status = %d, want 404", status)
	}
	if n := len(srv.Calls()); n != 3 {
		t.Errorf("calls = %d, want the 3 GetSessionEmbedUrl only (status polls are no API calls)", n)
	}
}
