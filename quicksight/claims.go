package quicksight

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// ErrNoMapping means the signed-in user has no QuickSight user ARN: the
// template needs a claim the user does not have, or the map file has no row.
var ErrNoMapping = errors.New("no QuickSight user for this sign-in")

// Claims is what the mapper reads about the signed-in user. auth.User
// implements it; an empty string means the claim is absent.
type Claims interface {
	Claim(name string) string
}

var (
	placeholderRE = regexp.MustCompile(`\{[^{}]*\}`)
	claimNameRE   = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,64}$`)
)

// userClaims are the placeholders filled from the ID token or userinfo.
var userClaims = map[string]string{
	"{email}":              "email",
	"{sub}":                "sub",
	"{preferred_username}": "preferred_username",
}

// claimTemplate is a template split at its placeholders when it is made,
// so filling it for a user is a few appends (it is filled on every view).
type claimTemplate []templatePart

// templatePart is fixed text, a claim, or {namespace}.
type templatePart struct {
	text  string // the fixed text, or the claim's name
	claim bool
	ns    bool // {namespace}
}

// splitClaims splits a template at {namespace} and its claims ({email},
// {sub}, {preferred_username}, {claim:NAME}).
func splitClaims(tmpl string) claimTemplate {
	var t claimTemplate
	last := 0
	for _, loc := range placeholderRE.FindAllStringIndex(tmpl, -1) {
		p := tmpl[loc[0]:loc[1]]
		part := templatePart{text: userClaims[p], claim: true}
		switch {
		case p == "{namespace}":
			part = templatePart{ns: true}
		case part.text == "": // {claim:NAME}; TemplateClaims refused any other
			part.text = strings.TrimSuffix(strings.TrimPrefix(p, "{claim:"), "}")
		}
		if loc[0] > last {
			t = append(t, templatePart{text: tmpl[last:loc[0]]})
		}
		t = append(t, part)
		last = loc[1]
	}
	if last < len(tmpl) {
		t = append(t, templatePart{text: tmpl[last:]})
	}
	return t
}

// fill fills the claims ({email}, {sub}, {preferred_username},
// {claim:NAME}) and {namespace}. A claim that is missing or holds a
// character that could change what it is part of (for: "an ARN", "a
// QuickSight user name") is ErrNoMapping.
func (t claimTemplate) fill(c Claims, namespace, what string) (string, error) {
	var b strings.Builder
	for _, p := range t {
		switch {
		case p.ns:
			b.WriteString(namespace)
		case p.claim:
			v := c.Claim(p.text)
			if !validClaimValue(v) {
				return "", fmt.Errorf("%w: claim %q is missing or not usable in %s", ErrNoMapping, p.text, what)
			}
			b.WriteString(v)
		default:
			b.WriteString(p.text)
		}
	}
	return b.String(), nil
}

// emailKey lower-cases an address for lookup. Only ASCII is accepted:
// Unicode case folding maps look-alikes (the Kelvin sign to "k") onto
// other people's addresses.
func emailKey(s string) (string, bool) {
	if strings.Count(s, "@") != 1 || strings.HasPrefix(s, "@") || strings.HasSuffix(s, "@") {
		return "", false
	}
	b := []byte(s)
	for i, ch := range b {
		switch {
		case ch >= 'A' && ch <= 'Z':
			b[i] = ch + ('a' - 'A')
		case ch <= ' ' || ch >= 0x7f:
			return "", false
		}
	}
	return string(b), true
}
