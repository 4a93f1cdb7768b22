package handlers

import (
	"context"
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

// countingMapper records who it was asked about.
type countingMapper struct{ asked []quicksight.Person }

func (m *countingMapper) Identity(_ context.Context, p quicksight.Person) (quicksight.Identity, error) {
	m.asked = append(m.asked, p)
	return quicksight.Identity{UserARN: "arn:aws:quicksight:us-east-1:123456789012:user/" + p.Namespace + "/x"}, nil
}

// A session made before the policy changed is refused on every signed-in
// page, before any mapping or AWS call.
func TestSessionsRecheckedAgainstPolicy(t *testing.T) {
	pages, err := templates.Parse()
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse("https://portal.example.com")
	mapper := &countingMapper{}
	rules, _ := access.ParseRules("group:fin=finance")
	policy := &access.Policy{Domains: []string{"example.com"}, AuthorGroups: []string{"authors"}, Rules: rules}
	newServer := func(user auth.User) *countingMapper {
		*mapper = countingMapper{}
		h := NewServer(Deps{
			Auth: fakeAuth{user}, Embeds: fixedEmbed{"https://qs.example.com/embed/x"}, Mapper: mapper, Access: policy,
			Pages: pages, Logger: slog.New(slog.DiscardHandler), PublicURL: u,
		})
		for _, path := range []string{"/", "/embed/start", "/open?kind=dashboards&id=abc"} {
			resp := get(t, h, path)
			body, _ := io.ReadAll(resp.Body)
			want := 200
			if path == "/open?kind=dashboards&id=abc" {
				want = 303
			}
			if !strings.HasSuffix(user.Email, "@example.com") {
				want = 403
				if !strings.Contains(string(body), "Your account is not allowed to use this portal") {
					t.Errorf("%s: page does not say the account is not allowed", path)
				}
			}
			if resp.StatusCode != want {
				t.Errorf("%s for %s = %d, want %d", path, user.Email, resp.StatusCode, want)
			}
		}
		return mapper
	}
	if m := newServer(auth.User{Subject: "e", Email: "eve@partner.example", Groups: []string{"authors"}}); len(m.asked) != 0 {
		t.Errorf("the mapper was asked about a refused user: %+v", m.asked)
	}
	m := newServer(auth.User{Subject: "a", Email: "ann@example.com", Groups: []string{"fin", "authors"}})
	if len(m.asked) != 1 || m.asked[0].Namespace != "finance" || m.asked[0].Role != "AUTHOR" {
		t.Errorf("mapper asked %+v, want one person in namespace finance with role AUTHOR", m.asked)
	}
}
