package handlers

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/qsgate/qsgate/access"
	"github.com/qsgate/qsgate/auth"
	"github.com/qsgate/qsgate/limit"
	"github.com/qsgate/qsgate/quicksight"
	"github.com/qsgate/qsgate/templates"
)

// TestReviewHomeShowsTheNamespaceEmbedUses: in template mode with
// QSGATE_NAMESPACE_RULES, the embed page uses the person's namespace
// (Identity) but the home page previews UserARN, which always fills the
// default namespace: a tenant user is shown another tenant's ARN (not the
// one QuickSight will open), which also misleads the operator debugging
// "No QuickSight user".
func TestReviewHomeShowsTheNamespaceEmbedUses(t *testing.T) {
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

// TestReviewClientGoneAtTheDoor: a browser that leaves while its view waits
// at the door (every slot taken) is a 499 at info, as when it leaves during
// the AWS call, not a 500 and an error line.
func TestReviewClientGoneAtTheDoor(t *testing.T) {
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
