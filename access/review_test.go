package access

import "testing"

// TestReviewDomainIsASCIIOnly: Domain lower-cases with Unicode case mapping,
// so a domain written with the Kelvin sign (U+212A) or a dotted capital I
// (U+0130) passes QSGATE_ALLOWED_EMAIL_DOMAINS and matches a domain: namespace
// rule for the ASCII domain it folds to. The mappers refuse non-ASCII
// addresses for exactly this reason (quicksight.emailKey); the gate must be
// at least as strict.
func TestReviewDomainIsASCIIOnly(t *testing.T) {
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
