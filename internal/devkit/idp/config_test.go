package idp_test

import (
	"strings"
	"testing"

	"github.com/qsgate/qsgate/internal/devkit/idp"
)

func TestNewRejectsBadConfig(t *testing.T) {
	t.Parallel()
	valid := func() idp.Config {
		return idp.Config{
			Issuer:  "http://127.0.0.1:9000",
			Clients: []idp.Client{{ID: "qsgate", Secret: "s", RedirectURIs: []string{"http://127.0.0.1:8080/auth/callback"}}},
			Users:   []idp.User{{Subject: "alice", Email: "alice@example.com"}},
		}
	}
	tests := []struct {
		name string
		edit func(c *idp.Config)
		want []string // each must appear in the error
	}{
		{"missing issuer", func(c *idp.Config) { c.Issuer = "" }, []string{"Issuer: missing"}},
		{"relative issuer", func(c *idp.Config) { c.Issuer = "/idp" }, []string{`Issuer: must be an absolute http or https URL, got "/idp"`}},
		{"http off loopback", func(c *idp.Config) { c.Issuer = "http://idp.example.com" }, []string{"Issuer: http is allowed on loopback only"}},
		{"issuer with query", func(c *idp.Config) { c.Issuer = "http://127.0.0.1:9000/?a=b" }, []string{"Issuer: must not have a query or fragment"}},
		{"no clients", func(c *idp.Config) { c.Clients = nil }, []string{"Clients: at least one client is required"}},
		{"client without id, secret, redirect", func(c *idp.Config) { c.Clients = []idp.Client{{}} }, []string{
			"Clients[0].ID: missing", "Clients[0].Secret: missing", "Clients[0].RedirectURIs: at least one is required",
		}},
		{"duplicate client", func(c *idp.Config) { c.Clients = append(c.Clients, c.Clients[0]) }, []string{`Clients[1].ID: duplicate "qsgate"`}},
		{"relative redirect URIs", func(c *idp.Config) {
			c.Clients[0].RedirectURIs = []string{"/cb"}
			c.Clients[0].PostLogoutRedirectURIs = []string{"/bye"}
		}, []string{`Clients[0].RedirectURIs[0]: must be an absolute http or https URL, got "/cb"`, `Clients[0].PostLogoutRedirectURIs[0]: must be an absolute http or https URL, got "/bye"`}},
		{"no users", func(c *idp.Config) { c.Users = nil }, []string{"Users: at least one user is required"}},
		{"user without subject or email", func(c *idp.Config) { c.Users = []idp.User{{}} }, []string{"Users[0].Subject: missing", "Users[0].Email: missing"}},
		{"subject unfit for an HTML id", func(c *idp.Config) { c.Users[0].Subject = "alice@example.com" }, []string{`Users[0].Subject: only letters, digits, '-' and '_' are allowed, got "alice@example.com"`}},
		{"empty group name", func(c *idp.Config) { c.Users[0].Groups = []string{"staff", " "} }, []string{"Users[0].Groups[1]: empty group name"}},
		{"duplicate subject", func(c *idp.Config) { c.Users = append(c.Users, c.Users[0]) }, []string{`Users[1].Subject: duplicate "alice"`}},
		{"every problem at once", func(c *idp.Config) { *c = idp.Config{} }, []string{
			"invalid devidp configuration:", "Issuer: missing", "Clients: at least one client is required", "Users: at least one user is required",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := valid()
			tt.edit(&cfg)
			_, err := idp.New(cfg)
			if err == nil {
				t.Fatalf("New succeeded, want an error containing %q", tt.want)
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error = %q, want it to contain %q", err, want)
				}
			}
		})
	}
}

func TestNewAcceptsLoopbackAndHTTPS(t *testing.T) {
	t.Parallel()
	for _, issuer := range []string{"http://127.0.0.1:9000", "http://localhost:9000/idp", "http://[::1]:9000", "https://idp.example.com"} {
		t.Run(issuer, func(t *testing.T) {
			t.Parallel()
			_, err := idp.New(idp.Config{
				Issuer:  issuer,
				Clients: []idp.Client{{ID: "qsgate", Secret: "s", RedirectURIs: []string{"http://127.0.0.1:8080/auth/callback"}}},
				Users:   []idp.User{{Subject: "alice", Email: "alice@example.com"}},
			})
			if err != nil {
				t.Fatalf("New(%q): %v", issuer, err)
			}
		})
	}
}
