package access

import (
	"errors"
	"strings"
	"testing"
)

func TestAllow(t *testing.T) {
	p := Policy{Domains: []string{"example.com", "corp.example"}, Groups: []string{"qs-users", "qs-admins"}}
	tests := []struct {
		name   string
		email  string
		groups []string
		reason string // "" means allowed
	}{
		{"domain and group", "alice@example.com", []string{"x", "qs-users"}, ""},
		{"domain case-insensitive", "Bob@CORP.Example", []string{"qs-admins"}, ""},
		{"other domain", "eve@partner.example", []string{"qs-users"}, `email domain "partner.example" is not in QSGATE_ALLOWED_EMAIL_DOMAINS`},
		{"subdomain is another domain", "eve@evil.example.com", []string{"qs-users"}, "is not in QSGATE_ALLOWED_EMAIL_DOMAINS"},
		{"suffix trick", "eve@notexample.com", []string{"qs-users"}, "is not in QSGATE_ALLOWED_EMAIL_DOMAINS"},
		{"two @", "a@evil.test@example.com", []string{"qs-users"}, "not a plain address with one @"},
		{"no email", "", []string{"qs-users"}, "no verified email"},
		{"no group", "alice@example.com", nil, "in none of QSGATE_ALLOWED_GROUPS"},
		{"group case matters", "alice@example.com", []string{"QS-USERS"}, "in none of QSGATE_ALLOWED_GROUPS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := p.Allow(tt.email, tt.groups)
			if tt.reason == "" {
				if err != nil {
					t.Fatalf("Allow = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, ErrNotAllowed) || !strings.Contains(err.Error(), tt.reason) {
				t.Fatalf("Allow = %v, want ErrNotAllowed saying %q", err, tt.reason)
			}
		})
	}
	if err := (&Policy{}).Allow("", nil); err != nil {
		t.Errorf("the zero policy refused: %v", err)
	}
	if err := (&Policy{Groups: []string{"g"}}).Allow("", []string{"g"}); err != nil {
		t.Errorf("groups only: refused a member without email: %v", err)
	}
}

// TestLookAlikeDomainRefused: a domain written with the Kelvin sign (U+212A)
// or a dotted capital I (U+0130) folds, under Unicode case mapping, to an
// ASCII domain; it neither passes QSGATE_ALLOWED_EMAIL_DOMAINS nor matches a
// domain: namespace rule for that domain. The mappers refuse non-ASCII
// addresses for the same reason (quicksight.emailKey), and the gate is at
// least as strict.
func TestLookAlikeDomainRefused(t *testing.T) {
	p := Policy{Domains: []string{"kompany.com", "info.example"}}
	for _, email := range []string{
		"mallory@\u212Aompany.com",  // KELVIN SIGN folds to "k"
		"mallory@\u0130nfo.example", // LATIN CAPITAL I WITH DOT ABOVE folds to "i"
	} {
		if err := p.Allow(email, nil); err == nil {
			t.Errorf("Allow(%q) = nil: a non-ASCII domain passes as %v", email, p.Domains)
		}
	}
	rules, err := ParseRules("domain:kompany.com=tenant-k")
	if err != nil {
		t.Fatal(err)
	}
	p = Policy{Rules: rules, DefaultNamespace: "default"}
	if ns := p.Namespace("mallory@\u212Aompany.com", nil); ns != "default" {
		t.Errorf("Namespace(Kelvin-sign domain) = %q, want default", ns)
	}
}

func TestRole(t *testing.T) {
	p := Policy{AdminGroups: []string{"admins"}, AuthorGroups: []string{"authors"}}
	for _, tt := range []struct {
		groups []string
		def    string
		want   string
	}{
		{[]string{"authors", "admins"}, "", RoleAdmin},
		{[]string{"authors"}, "", RoleAuthor},
		{[]string{"other"}, "", RoleReader},
		{nil, RoleAuthor, RoleAuthor},
		{[]string{"admins"}, RoleReader, RoleAdmin},
	} {
		p.DefaultRole = tt.def
		if got := p.Role(tt.groups); got != tt.want {
			t.Errorf("Role(%v) with default %q = %q, want %q", tt.groups, tt.def, got, tt.want)
		}
	}
}

func TestNamespace(t *testing.T) {
	rules, err := ParseRules("domain:Tenant-A.example=tenant-a, group:finance=fin, domain:example.com=main")
	if err != nil {
		t.Fatal(err)
	}
	p := Policy{Rules: rules, DefaultNamespace: "default"}
	for _, tt := range []struct {
		email  string
		groups []string
		want   string
	}{
		{"x@tenant-a.example", []string{"finance"}, "tenant-a"}, // first match wins
		{"x@example.com", []string{"finance"}, "fin"},
		{"x@example.com", nil, "main"},
		{"x@other.example", nil, "default"},
		{"a@b@tenant-a.example", nil, "default"},
	} {
		if got := p.Namespace(tt.email, tt.groups); got != tt.want {
			t.Errorf("Namespace(%q, %v) = %q, want %q", tt.email, tt.groups, got, tt.want)
		}
	}
	if got := (&Policy{}).Namespace("a@b.c", nil); got != "default" {
		t.Errorf("zero policy namespace = %q, want default", got)
	}
}

func TestGroupsUsed(t *testing.T) {
	rules, _ := ParseRules("group:fin=fin,domain:x.example=x")
	p := Policy{Groups: []string{"b", "a"}, AdminGroups: []string{"a"}, AuthorGroups: []string{"c"}, Rules: rules}
	if got, want := strings.Join(p.GroupsUsed(), ","), "a,b,c,fin"; got != want {
		t.Errorf("GroupsUsed = %s, want %s", got, want)
	}
}

func TestParse(t *testing.T) {
	d, err := ParseDomains(" Example.COM ,corp.example,")
	if err != nil || strings.Join(d, ",") != "example.com,corp.example" {
		t.Errorf("ParseDomains = %v, %v", d, err)
	}
	for _, bad := range []string{"@example.com", "*.example.com", "localhost", "a b.com", "example.com."} {
		if _, err := ParseDomains(bad); err == nil {
			t.Errorf("ParseDomains(%q) succeeded", bad)
		}
	}
	for _, bad := range []string{"example.com=x", "domain:=x", "group:g=", "group:g=a/b", "team:g=x", "domain:a_b=x"} {
		if _, err := ParseRules(bad); err == nil {
			t.Errorf("ParseRules(%q) succeeded", bad)
		}
	}
}
