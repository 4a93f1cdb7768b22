// Package access decides who may use the portal and what QuickSight gives
// them: the allowed email domains and groups, the role a user is registered
// with, and the namespace they live in. It is pure policy over a verified
// email and a list of groups: it does not sign anyone in (auth does) and
// makes no AWS call (quicksight does).
package access

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// ErrNotAllowed means the user signed in but the portal's policy does not
// let them in. The *Denied that wraps it says why, for the audit log.
var ErrNotAllowed = errors.New("this account is not allowed to use the portal")

// Denied is a refusal with its reason (for the log, never shown).
type Denied struct{ Reason string }

func (d *Denied) Error() string { return ErrNotAllowed.Error() + ": " + d.Reason }
func (d *Denied) Unwrap() error { return ErrNotAllowed }

// Roles a user can be registered with.
const (
	RoleReader = "READER"
	RoleAuthor = "AUTHOR"
	RoleAdmin  = "ADMIN"
)

// Rule sends users of an email domain or a group to a namespace.
type Rule struct {
	Kind      string // "domain" or "group"
	Value     string // domain lower-cased; group exact
	Namespace string
}

// Policy is the portal's access policy. The zero value lets everyone in,
// registers readers and uses the namespace "default".
type Policy struct {
	// Domains are the allowed email domains, lower-case; empty means any.
	Domains []string
	// Groups are the allowed groups (any one will do); empty means any.
	Groups []string
	// AdminGroups and AuthorGroups pick the role at registration.
	AdminGroups, AuthorGroups []string
	// DefaultRole is the role of a user in neither; "" means READER.
	DefaultRole string
	// Rules pick the namespace, first match wins; else DefaultNamespace.
	Rules            []Rule
	DefaultNamespace string
}

// Allow returns nil when a user with this verified email and these groups
// may enter, else a *Denied. With both domains and groups set, a user must
// pass both.
func (p *Policy) Allow(email string, groups []string) error {
	if len(p.Domains) > 0 {
		d, ok := Domain(email)
		switch {
		case email == "":
			return &Denied{Reason: "no verified email, and QSGATE_ALLOWED_EMAIL_DOMAINS is set"}
		case !ok:
			return &Denied{Reason: "the email is not a plain address with one @"}
		case !slices.Contains(p.Domains, d):
			return &Denied{Reason: fmt.Sprintf("email domain %q is not in QSGATE_ALLOWED_EMAIL_DOMAINS", d)}
		}
	}
	if len(p.Groups) > 0 && !anyIn(groups, p.Groups) {
		return &Denied{Reason: "in none of QSGATE_ALLOWED_GROUPS"}
	}
	return nil
}

// Role is the QuickSight role to register a user with: admin wins over
// author; neither gives DefaultRole.
func (p *Policy) Role(groups []string) string {
	switch {
	case anyIn(groups, p.AdminGroups):
		return RoleAdmin
	case anyIn(groups, p.AuthorGroups):
		return RoleAuthor
	case p.DefaultRole != "":
		return p.DefaultRole
	}
	return RoleReader
}

// Namespace is the QuickSight namespace of a user: the first rule that
// matches, else DefaultNamespace ("default" when unset).
func (p *Policy) Namespace(email string, groups []string) string {
	d, hasDomain := Domain(email)
	for _, r := range p.Rules {
		if (r.Kind == "domain" && hasDomain && r.Value == d) || (r.Kind == "group" && slices.Contains(groups, r.Value)) {
			return r.Namespace
		}
	}
	if p.DefaultNamespace == "" {
		return "default"
	}
	return p.DefaultNamespace
}

// GroupsUsed are the groups the policy looks at: the session keeps only
// these, so a provider that sends hundreds cannot bloat the cookie.
func (p *Policy) GroupsUsed() []string {
	var gs []string
	gs = append(gs, p.Groups...)
	gs = append(gs, p.AdminGroups...)
	gs = append(gs, p.AuthorGroups...)
	for _, r := range p.Rules {
		if r.Kind == "group" {
			gs = append(gs, r.Value)
		}
	}
	slices.Sort(gs)
	return slices.Compact(gs)
}

// Domain is the lower-cased domain of a plain ASCII address with exactly
// one "@" and something on each side; ok is false for anything else.
func Domain(email string) (string, bool) {
	local, domain, found := strings.Cut(email, "@")
	if !found || local == "" || domain == "" || strings.Contains(domain, "@") {
		return "", false
	}
	// ASCII only: Unicode case folding maps look-alikes (the Kelvin sign to
	// "k") onto the allowed domains.
	for i := 0; i < len(email); i++ {
		if email[i] <= ' ' || email[i] >= 0x7f {
			return "", false
		}
	}
	return strings.ToLower(domain), true
}

func anyIn(have, want []string) bool {
	for _, g := range have {
		if slices.Contains(want, g) {
			return true
		}
	}
	return false
}

var (
	namespaceRE = regexp.MustCompile(`^[a-zA-Z0-9._-]{1,64}$`)
	domainRE    = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$`)
)

// ValidNamespace reports whether ns is a QuickSight namespace name.
func ValidNamespace(ns string) bool { return namespaceRE.MatchString(ns) }

// ParseDomains reads QSGATE_ALLOWED_EMAIL_DOMAINS: comma-separated domain
// names, compared lower-case.
func ParseDomains(s string) ([]string, error) {
	var out []string
	for _, d := range List(s) {
		d = strings.ToLower(d)
		if !domainRE.MatchString(d) {
			return nil, fmt.Errorf("%q is not a domain name (e.g. example.com, without @ or wildcards)", d)
		}
		out = append(out, d)
	}
	return out, nil
}

// ParseRules reads QSGATE_NAMESPACE_RULES: comma-separated rules of the
// form domain:example.com=NAMESPACE or group:NAME=NAMESPACE.
func ParseRules(s string) ([]Rule, error) {
	var rules []Rule
	for _, item := range List(s) {
		kind, rest, ok := strings.Cut(item, ":")
		match, ns, ok2 := strings.Cut(rest, "=")
		match, ns = strings.TrimSpace(match), strings.TrimSpace(ns)
		if !ok || !ok2 || match == "" {
			return nil, fmt.Errorf("%q: want domain:DOMAIN=NAMESPACE or group:GROUP=NAMESPACE", item)
		}
		if !ValidNamespace(ns) {
			return nil, fmt.Errorf("%q: namespace %q must be 1-64 of letters, digits, '.', '_' or '-'", item, ns)
		}
		switch strings.TrimSpace(kind) {
		case "domain":
			match = strings.ToLower(match)
			if !domainRE.MatchString(match) {
				return nil, fmt.Errorf("%q: %q is not a domain name", item, match)
			}
			rules = append(rules, Rule{Kind: "domain", Value: match, Namespace: ns})
		case "group":
			rules = append(rules, Rule{Kind: "group", Value: match, Namespace: ns})
		default:
			return nil, fmt.Errorf("%q: the rule must start with domain: or group:", item)
		}
	}
	return rules, nil
}

// List splits a comma-separated setting, dropping blanks.
func List(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}
