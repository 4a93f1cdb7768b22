package handlers

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/qsgate/qsgate/access"
	"github.com/qsgate/qsgate/audit"
	"github.com/qsgate/qsgate/auth"
	"github.com/qsgate/qsgate/quicksight"
	"github.com/qsgate/qsgate/templates"
)

// noMapping is a mapper with no QuickSight user for anyone.
type noMapping struct{}

func (noMapping) Identity(context.Context, quicksight.Person) (quicksight.Identity, error) {
	return quicksight.Identity{}, fmt.Errorf("%w: nobody", quicksight.ErrNoMapping)
}

// A view issued, a view the policy refuses and a view with no QuickSight
// user are each one audit event with who, what and the request; the
// embed URL is in none.
func TestViewsAudited(t *testing.T) {
	pages, err := templates.Parse()
	if err != nil {
		t.Fatal(err)
	}
	public, _ := url.Parse("https://portal.example.com")
	const embedURL = "https://us-east-1.quicksight.aws.amazon.com/embed/0123/start?code=secret-code"
	rec := &audit.Memory{}
	serve := func(user auth.User, mapper UserMapper, path string) int {
		h := NewServer(Deps{
			Auth: fakeAuth{user}, Embeds: fixedEmbed{embedURL}, Mapper: mapper,
			Access: &access.Policy{Domains: []string{"example.com"}}, Audit: rec,
			Pages: pages, Logger: slog.New(slog.DiscardHandler), PublicURL: public,
		})
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.RemoteAddr = "192.0.2.9:4711"
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w.Code
	}
	template := quicksight.NewTemplateMapper(quicksight.DefaultARNTemplate, "123456789012", "default", "us-east-1")
	ann := auth.User{Subject: "sub-ann", Email: "ann@example.com"}

	tests := []struct {
		name   string
		user   auth.User
		mapper UserMapper
		status int
		want   audit.Event
	}{
		{"issued", ann, template, 200, audit.Event{Event: audit.EmbedIssued, Subject: "sub-ann", Email: "ann@example.com",
			UserARN: "arn:aws:quicksight:us-east-1:123456789012:user/default/ann@example.com", Namespace: "default",
			EntryPoint: "/dashboards/sales-2026", AWSRequestID: "req-1", ClientIP: "192.0.2.9"}},
		{"not allowed", auth.User{Subject: "sub-eve", Email: "eve@partner.example"}, template, 403, audit.Event{Event: audit.AccessRefused,
			Reason: audit.ReasonNotAllowed, Subject: "sub-eve", Email: "eve@partner.example", Path: "/embed/dashboards/sales-2026", ClientIP: "192.0.2.9"}},
		{"no mapping", ann, noMapping{}, 403, audit.Event{Event: audit.AccessRefused, Reason: audit.ReasonNoMapping,
			Subject: "sub-ann", Email: "ann@example.com", EntryPoint: "/dashboards/sales-2026", Path: "/embed/dashboards/sales-2026", ClientIP: "192.0.2.9"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := serve(tt.user, tt.mapper, "/embed/dashboards/sales-2026"); got != tt.status {
				t.Fatalf("status %d, want %d", got, tt.status)
			}
			got := rec.Take()
			if len(got) != 1 {
				t.Fatalf("%d events, want 1: %+v", len(got), got)
			}
			e := got[0]
			if e.RequestID == "" {
				t.Errorf("no request id in %+v", e)
			}
			e.RequestID = ""
			if fmt.Sprint(e) != fmt.Sprint(tt.want) {
				t.Errorf("recorded %+v\nwant     %+v", e, tt.want)
			}
			if s := fmt.Sprintf("%+v", e); strings.Contains(s, "secret-code") || strings.Contains(s, "quicksight.aws.amazon.com/embed") {
				t.Errorf("the embed URL is in the event: %s", s)
			}
		})
	}
	// A bad id is the operational log's, not an access refusal.
	if got := serve(ann, template, "/embed/dashboards/..%2f"); got != 400 {
		t.Fatalf("bad id: status %d, want 400", got)
	}
	if got := rec.Take(); len(got) != 0 {
		t.Errorf("a bad id was audited: %+v", got)
	}
}
