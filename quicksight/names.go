package quicksight

import (
	"errors"
	"fmt"
	"strings"
)

// NameTemplate gives a QuickSight user name from claims, e.g. "{email}" or
// "{preferred_username}" (QSGATE_USER_NAME_TEMPLATE).
type NameTemplate struct {
	tmpl   string
	filled claimTemplate
}

// ParseNameTemplate checks a user name template: the placeholders are
// {email}, {sub}, {preferred_username} and {claim:NAME}; at least one.
func ParseNameTemplate(tmpl string) (*NameTemplate, error) {
	if strings.TrimSpace(tmpl) == "" {
		return nil, errors.New("empty template")
	}
	n := 0
	for _, p := range placeholderRE.FindAllString(tmpl, -1) {
		switch {
		case userClaims[p] != "":
		case strings.HasPrefix(p, "{claim:") && claimNameRE.MatchString(strings.TrimSuffix(strings.TrimPrefix(p, "{claim:"), "}")):
		default:
			return nil, fmt.Errorf("unknown placeholder %s (known: {email}, {sub}, {preferred_username}, {claim:NAME})", p)
		}
		n++
	}
	if n == 0 {
		return nil, errors.New("the template reads no claim, so every user would get the same QuickSight user")
	}
	rest := placeholderRE.ReplaceAllString(tmpl, "")
	if strings.ContainsAny(rest, "{}") {
		return nil, errors.New("unbalanced { or }")
	}
	if rest != "" && !validClaimValue(rest) {
		return nil, fmt.Errorf("the fixed text %q has characters a QuickSight user name cannot hold", rest)
	}
	return &NameTemplate{tmpl: tmpl, filled: splitClaims(tmpl)}, nil
}

// Claims are the claim names the template reads.
func (t *NameTemplate) Claims() []string {
	var out []string
	for _, p := range placeholderRE.FindAllString(t.tmpl, -1) {
		if c := userClaims[p]; c != "" {
			out = append(out, c)
		} else {
			out = append(out, strings.TrimSuffix(strings.TrimPrefix(p, "{claim:"), "}"))
		}
	}
	return out
}

// Fill gives the user name; a claim that is missing or holds a character a
// user name cannot (a slash, a space) is ErrNoMapping.
func (t *NameTemplate) Fill(c Claims) (string, error) {
	name, err := t.filled.fill(c, "", "a QuickSight user name")
	if err != nil {
		return "", err
	}
	if !validClaimValue(name) {
		return "", fmt.Errorf("%w: the user name template gives an unusable name", ErrNoMapping)
	}
	return name, nil
}
