package handlers

import (
	"io"
	"log/slog"
	"net/url"
	"strings"
	"testing"

	"github.com/qsgate/qsgate/access"
	"github.com/qsgate/qsgate/auth"
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
