package handlers

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/qsgate/qsgate/auth"
	"github.com/qsgate/qsgate/quicksight"
	"github.com/qsgate/qsgate/templates"
)

func TestFrameOrigins(t *testing.T) {
	for _, tt := range []struct {
		name     string
		endpoint string
		regions  []string
		want     []string
	}{
		{"one region", "", []string{"us-east-1"}, []string{"https://us-east-1.quicksight.aws.amazon.com"}},
		{"identity region elsewhere", "", []string{"eu-west-1", "us-east-1"},
			[]string{"https://eu-west-1.quicksight.aws.amazon.com", "https://us-east-1.quicksight.aws.amazon.com"}},
		{"identity region the same", "", []string{"eu-west-1", "eu-west-1"}, []string{"https://eu-west-1.quicksight.aws.amazon.com"}},
		{"endpoint (the simulator)", "http://127.0.0.1:41234", []string{"us-east-1"},
			[]string{"http://127.0.0.1:41234", "https://us-east-1.quicksight.aws.amazon.com"}},
		{"endpoint with a path and a default port", "HTTPS://VPCE-1.QuickSight.example:443/x/", []string{"us-east-1"},
			[]string{"https://vpce-1.quicksight.example", "https://us-east-1.quicksight.aws.amazon.com"}},
		{"endpoint not a URL", "127.0.0.1:41234", []string{"us-east-1"}, []string{"https://us-east-1.quicksight.aws.amazon.com"}},
		{"endpoint not http", "ftp://x.example", []string{"us-east-1"}, []string{"https://us-east-1.quicksight.aws.amazon.com"}},
		{"not region names", "", []string{"", "evil.example/", "us-east-1.evil.example#", "US-EAST-1"}, nil},
		// Not pinned where the console's host is not known: the page frames
		// the embed URL's origin, as before.
		{"GovCloud", "", []string{"us-gov-west-1"}, nil},
		{"China, with an endpoint", "https://vpce.example", []string{"cn-north-1"}, nil},
		{"an identity region in GovCloud", "", []string{"us-east-1", "us-gov-east-1"}, nil},
	} {
		if got := FrameOrigins(tt.endpoint, tt.regions...); !slices.Equal(got, tt.want) {
			t.Errorf("%s: FrameOrigins(%q, %q) = %q, want %q", tt.name, tt.endpoint, tt.regions, got, tt.want)
		}
	}
}

// framedServer is the handlers with QuickSight pinned to us-east-1 and
// QuickSight answering with embedURL; its log goes to logs.
func framedServer(t *testing.T, embedURL string, logs io.Writer) http.Handler {
	t.Helper()
	pages, err := templates.Parse()
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse("https://portal.example.com")
	return NewServer(Deps{
		Auth:         fakeAuth{auth.User{Subject: "s", Email: "a@example.com"}},
		Embeds:       fixedEmbed{embedURL},
		Mapper:       quicksight.NewTemplateMapper(quicksight.DefaultARNTemplate, "123456789012", "default", "us-east-1"),
		Pages:        pages,
		Logger:       slog.New(slog.NewTextHandler(logs, nil)),
		PublicURL:    u,
		FrameOrigins: FrameOrigins("", "us-east-1"),
	})
}

// TestEmbedURLOnAForeignOriginIsRefused: an embed URL whose origin is not
// QuickSight's for the configured region is neither framed nor handed to the
// page's script: the page is the 502 "could not open" page, the API a 502
// without a URL, and the log names the origin (never the URL).
func TestEmbedURLOnAForeignOriginIsRefused(t *testing.T) {
	for _, foreign := range []string{
		"https://evil.example/embed/0123/start?code=secret",
		"https://us-east-1.quicksight.aws.amazon.com.evil.example/embed/0123/start?code=secret",
		"https://eu-west-1.quicksight.aws.amazon.com/embed/0123/start?code=secret", // QuickSight, not the region configured
		"http://us-east-1.quicksight.aws.amazon.com/embed/0123/start?code=secret",  // not https
		"https://us-east-1.quicksight.aws.amazon.com:8443/embed/0123/start?code=secret",
	} {
		var logs strings.Builder
		h := framedServer(t, foreign, &logs)
		resp := get(t, h, "/embed/start")
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusBadGateway || !strings.Contains(string(body), "QuickSight could not open this page") {
			t.Errorf("%.60s: page status %d, want 502 with the could-not-open page", foreign, resp.StatusCode)
		}
		if strings.Contains(string(body), "secret") || strings.Contains(string(body), "<iframe") {
			t.Errorf("%.60s: the refusal page frames or shows the URL:\n%s", foreign, body)
		}

		req := httptest.NewRequest(http.MethodGet, "/api/embed-url?entry-point=/start", nil)
		req.Header.Set("X-Qsgate-Fetch", "1")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		var api map[string]string
		if err := json.Unmarshal(rec.Body.Bytes(), &api); err != nil || rec.Code != http.StatusBadGateway || api["embedUrl"] != "" {
			t.Errorf("%.60s: API %d %s, want 502 JSON without a URL", foreign, rec.Code, rec.Body)
		}

		origin := foreign[:strings.Index(foreign, "/embed/")]
		if n := strings.Count(logs.String(), "event=embed_url_refused origin="+origin+" "); n != 2 {
			t.Errorf("%.60s: %d embed_url_refused lines naming %s, want 2 (page and API):\n%s", foreign, n, origin, logs.String())
		}
		if strings.Contains(logs.String(), "secret") {
			t.Errorf("%.60s: the embed URL reached the log:\n%s", foreign, logs.String())
		}
	}
}

// TestEmbedPageFramesOnlyQuickSight: an embed URL on QuickSight's origin
// for the region is framed, and the page's frame-src names that origin only,
// as a browser writes it (lower case, no default port).
func TestEmbedPageFramesOnlyQuickSight(t *testing.T) {
	for _, src := range []string{
		"https://us-east-1.quicksight.aws.amazon.com/embed/0123/start?code=c",
		"https://us-east-1.quicksight.aws.amazon.com/embedding/0123/start?code=c",
		"HTTPS://US-EAST-1.quicksight.aws.amazon.com:443/embed/0123/start?code=c",
	} {
		resp := get(t, framedServer(t, src, io.Discard), "/embed/start")
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: status %d, want 200", src, resp.StatusCode)
			continue
		}
		csp := resp.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "; frame-src https://us-east-1.quicksight.aws.amazon.com; ") {
			t.Errorf("%s: Content-Security-Policy = %q, want frame-src https://us-east-1.quicksight.aws.amazon.com alone", src, csp)
		}
	}
}
