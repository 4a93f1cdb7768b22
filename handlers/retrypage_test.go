package handlers

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/qsgate/qsgate/quicksight"
	"github.com/qsgate/qsgate/templates"
)

// A page that retries itself counts down in a script of our own, with a
// Stop button, instead of a meta refresh the user cannot stop (WCAG 2.2.1,
// axe-core's meta-refresh); its policy lets our own script run.
func TestRetryingPageCanBeStopped(t *testing.T) {
	pages, err := templates.Parse()
	if err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	e.HTTPErrorHandler = errorHandler(Deps{Pages: pages, Logger: slog.New(slog.DiscardHandler)})
	e.GET("/embed/start", func(echo.Context) error {
		return &quicksight.Error{Kind: quicksight.ErrThrottled, Op: "GetSessionEmbedUrl", Code: "ThrottlingException"}
	})
	e.GET("/embed/dashboards/:id", func(echo.Context) error { return errBadID })
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodGet, "/embed/start", nil)
	r.Header.Set("Accept", "text/html")
	e.ServeHTTP(w, r)
	body := w.Body.String()
	if w.Code != 503 || !strings.Contains(body, "QuickSight is busy") {
		t.Fatalf("status %d, want the 503 busy page\n%s", w.Code, body)
	}
	if strings.Contains(body, "http-equiv") {
		t.Errorf("the page refreshes itself with a meta refresh:\n%s", body)
	}
	for _, want := range []string{`id="auto-retry" data-seconds="5"`, `id="auto-retry-stop"`, `src="/static/js/retry.js?v=`} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %s\n%s", want, body)
		}
	}
	if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
		t.Errorf("Content-Security-Policy = %q, want our own scripts allowed", csp)
	}

	w = httptest.NewRecorder()
	r = httptest.NewRequest(http.MethodGet, "/embed/dashboards/x", nil)
	r.Header.Set("Accept", "text/html")
	e.ServeHTTP(w, r)
	if strings.Contains(w.Body.String(), "retry.js") || strings.Contains(w.Header().Get("Content-Security-Policy"), "script-src") {
		t.Errorf("a page that does not retry loads the countdown or allows scripts")
	}
}
