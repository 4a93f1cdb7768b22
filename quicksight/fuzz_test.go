package quicksight

import (
	"errors"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// Fuzz targets for the parsers that take text from users and operators:
// entry points, deep-link parameters, the ARN template and the user map
// file. Seeds are the f.Add calls below and testdata/fuzz/FuzzXxx.

// FuzzCheckEntryPoint compares CheckEntryPoint with the forms the console
// accepts, written out without the package's regexp: a start page, or
// /dashboards/ or /analyses/ and an id of 1-512 letters, digits, _ or -;
// and the registered-user API's others: /qna, /qna/ and a topic id of at
// most 256 of those, /visual/ and three such ids; at most 1000 bytes.
func FuzzCheckEntryPoint(f *testing.F) {
	for _, ep := range []string{
		"/start", "/start/analyses", "/start/dashboards", "/start/favorites", "/start/",
		"/dashboards/abc-123_x", "/analyses/a", "/dashboards/", "/dashboards/a/b",
		"/dashboards/../start", "/dashboards/a%2Fb", "/dashboards/a?x=1", "/dashboards/é",
		"/dashboards/a\n", "/Dashboards/a", "/dashboards/" + strings.Repeat("a", 512),
		"/analyses/" + strings.Repeat("a", 513),
		"/qna", "/qna/", "/qna/t-1", "/qna/a/b", "/qna/" + strings.Repeat("t", 257),
		"/visual/d/s/v", "/visual/d/s", "/visual/d/s/v/", "/visual//s/v", "/visual/d/s%2Fv",
		"/visual/" + strings.Repeat("d", 512) + "/" + strings.Repeat("s", 480) + "/v",
	} {
		f.Add(ep)
	}
	f.Fuzz(func(t *testing.T, ep string) {
		err := CheckEntryPoint(ep)
		if err != nil && !errors.Is(err, ErrBadEntryPoint) {
			t.Fatalf("CheckEntryPoint(%q) = %v, want nil or ErrBadEntryPoint", ep, err)
		}
		if got, want := err == nil, consoleEntryPoint(ep); got != want {
			t.Fatalf("CheckEntryPoint(%q) accepts = %v, want %v", ep, got, want)
		}
	})
}

func consoleEntryPoint(ep string) bool {
	if len(ep) > 1000 {
		return false
	}
	switch ep {
	case "/start", "/start/analyses", "/start/dashboards", "/start/favorites", "/qna":
		return true
	}
	for _, prefix := range []string{"/dashboards/", "/analyses/"} {
		if id, ok := strings.CutPrefix(ep, prefix); ok && plainID(id, 512) {
			return true
		}
	}
	if id, ok := strings.CutPrefix(ep, "/qna/"); ok && plainID(id, 256) {
		return true
	}
	if ids, ok := strings.CutPrefix(ep, "/visual/"); ok {
		parts := strings.Split(ids, "/")
		return len(parts) == 3 && plainID(parts[0], 512) && plainID(parts[1], 512) && plainID(parts[2], 512)
	}
	return false
}

// plainID reports whether id is 1 to longest letters, digits, _ or -.
func plainID(id string, longest int) bool {
	if len(id) < 1 || len(id) > longest {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// FuzzParseParams parses a deep link's query as a browser sends it and
// checks what ParseParams accepts: every p.NAME value and nothing else,
// names and values of the documented shape, and a link made with QueryOf
// that gives the same parameters back.
func FuzzParseParams(f *testing.F) {
	for _, q := range []string{
		"", "p.Region=EU", "p.Region=EU&p.Region=US&p.Year=2024", "p.a=1&kind=x&rd=/",
		"p.=x", "p.a-b=1", "p.a=", "p.a=%00", "p.a=%7F", "p.a=x%0Ay",
		"p.a=" + strings.Repeat("v", 257), "p." + strings.Repeat("n", 65) + "=1",
		"p.a=1&p.a=2&p.a=3&p.a=4&p.a=5&p.a=6&p.a=7&p.a=8&p.a=9&p.a=10&p.a=11&p.a=12&p.a=13&p.a=14&p.a=15&p.a=16&p.a=17&p.a=18&p.a=19&p.a=20&p.a=21",
		"p.a=b+c%26d%3De", "p.a=%ZZ&p.b=1", "p.a=1;p.b=2", "P.a=1", "p.p.a=1",
	} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, _ := url.ParseQuery(raw) // as echo's QueryParams: bad pairs dropped
		params, err := ParseParams(q)
		if err != nil {
			if !errors.Is(err, ErrBadParams) {
				t.Fatalf("ParseParams(%q) = %v, want nil or ErrBadParams", raw, err)
			}
			return
		}
		want := 0
		for k, vs := range q {
			if strings.HasPrefix(k, "p.") {
				want += len(vs)
			}
		}
		if len(params) != want {
			t.Fatalf("ParseParams(%q) gave %d parameters, the query has %d", raw, len(params), want)
		}
		if len(params) > MaxParams {
			t.Fatalf("ParseParams(%q) gave %d parameters, want at most %d", raw, len(params), MaxParams)
		}
		for _, p := range params {
			if !plainParamName(p.Name) {
				t.Fatalf("ParseParams(%q): name %q, want 1-64 of [A-Za-z0-9_]", raw, p.Name)
			}
			if p.Value == "" || len(p.Value) > MaxParamValue {
				t.Fatalf("ParseParams(%q): value %q of %d bytes, want 1-%d", raw, p.Value, len(p.Value), MaxParamValue)
			}
			if i := strings.IndexFunc(p.Value, unicode.IsControl); i >= 0 {
				r, _ := utf8.DecodeRuneInString(p.Value[i:])
				t.Fatalf("ParseParams(%q): value %q holds the control character %U", raw, p.Value, r)
			}
		}
		link := QueryOf(params)
		back, err := url.ParseQuery(link)
		if err != nil {
			t.Fatalf("QueryOf(%v) = %q, which does not parse: %v", params, link, err)
		}
		again, err := ParseParams(back)
		if err != nil || !reflect.DeepEqual(again, params) {
			t.Fatalf("ParseParams(%q) = %v, but QueryOf gives %q, which parses as %v, %v", raw, params, link, again, err)
		}
	})
}

func plainParamName(s string) bool {
	if len(s) < 1 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// The configuration FuzzTemplateMapper fills templates with.
const (
	fuzzAccount = "123456789012"
	fuzzRegion  = "eu-west-1"
)

// FuzzTemplateMapper takes any template TemplateClaims and CheckTemplate
// accept (as start-up does) and any claim values: UserARN either refuses
// with ErrNoMapping or gives a QuickSight user ARN whose partition, region,
// account and namespace are those the configuration gives. A claim value
// must never change them.
func FuzzTemplateMapper(f *testing.F) {
	f.Add(DefaultARNTemplate, "default", "alice@example.com", "sub-1", "alice", "E42")
	f.Add("arn:aws:quicksight:{identity_region}:{account_id}:user/{namespace}/Embed/{sub}", "sales", "", "abc-123", "", "")
	f.Add("arn:aws:quicksight:us-east-1:{account_id}:user/default/{claim:employee_id}", "default", "", "", "", "E42")
	f.Add("arn:aws:quicksight:{identity_region}:{account_id}:user/{namespace}/{preferred_username}@{claim:tenant}", "default", "", "", "bob", "acme")
	f.Add(DefaultARNTemplate, "default", "x/../admin", "", "", "")
	f.Add(DefaultARNTemplate, "default", "a:b@example.com", "", "", "")
	f.Add(DefaultARNTemplate, "default", "a b", "", "", "")
	f.Fuzz(func(t *testing.T, tmpl, namespace, email, sub, username, other string) {
		names, err := TemplateClaims(tmpl)
		if err != nil {
			return
		}
		if !plainNamespace(namespace) || CheckTemplate(tmpl, fuzzAccount, namespace, fuzzRegion) != nil {
			return // start-up refuses these
		}
		m := NewTemplateMapper(tmpl, fuzzAccount, namespace, fuzzRegion)
		// What the configuration alone gives: every claim is a plain word.
		want, err := m.UserARN(anyClaim("user"))
		if err != nil {
			t.Fatalf("template %q: UserARN with plain claims: %v", tmpl, err)
		}
		wantHead, _, ok := readUserARN(want)
		if !ok {
			t.Fatalf("template %q gives %q with plain claims, not a QuickSight user ARN", tmpl, want)
		}
		c := claims{"email": email, "sub": sub, "preferred_username": username}
		for _, name := range names {
			if _, known := c[name]; !known {
				c[name] = other
			}
		}
		got, err := m.UserARN(c)
		if err != nil {
			if !errors.Is(err, ErrNoMapping) {
				t.Fatalf("template %q, claims %q: UserARN = %v, want nil or ErrNoMapping", tmpl, c, err)
			}
			return
		}
		head, _, ok := readUserARN(got)
		if !ok {
			t.Fatalf("template %q, claims %q: UserARN = %q, not a QuickSight user ARN", tmpl, c, got)
		}
		if head != wantHead {
			t.Fatalf("template %q, namespace %q, claims %q: UserARN = %q, want partition, region, account and namespace %q (claims must not change them)", tmpl, namespace, c, got, wantHead)
		}
	})
}

// anyClaim answers every claim with the same value.
type anyClaim string

func (a anyClaim) Claim(string) string { return string(a) }

// plainNamespace is QSGATE_QUICKSIGHT_NAMESPACE's rule.
func plainNamespace(s string) bool {
	if len(s) < 1 || len(s) > 64 {
		return false
	}
	return !strings.ContainsFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-')
	})
}

// readUserARN reads arn:PARTITION:quicksight:REGION:ACCOUNT:user/NAMESPACE/NAME
// without the package's regexp. head is everything up to NAME.
func readUserARN(arn string) (head, name string, ok bool) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || !strings.HasPrefix(parts[1], "aws") || parts[2] != "quicksight" || parts[3] == "" {
		return "", "", false
	}
	if len(parts[4]) != 12 || strings.Trim(parts[4], "0123456789") != "" {
		return "", "", false
	}
	rest, isUser := strings.CutPrefix(parts[5], "user/")
	ns, name, found := strings.Cut(rest, "/")
	// The name: 1-256 characters, none of them ASCII white space (RE2's \s).
	n := utf8.RuneCountInString(name)
	if !isUser || !found || !plainNamespace(ns) || n < 1 || n > 256 || strings.ContainsAny(name, " \t\n\f\r") {
		return "", "", false
	}
	return strings.Join(parts[:5], ":") + ":user/" + ns + "/", name, true
}

// FuzzReadUserMap parses any file as CSV and as YAML: no panic, every
// accepted file maps only to QuickSight user ARNs, every email row is found
// by the email in any ASCII case and never by its subject, and a probe
// email matches a row only through ASCII case folding.
func FuzzReadUserMap(f *testing.F) {
	f.Add(false, []byte("key,arn\nalice-sub,arn:aws:quicksight:us-east-1:123456789012:user/default/alice\nBob@Example.com,arn:aws:quicksight:us-east-1:123456789012:user/default/bob\n"), "bob@example.COM")
	f.Add(false, []byte("# comment\n\"a,b\", arn:aws:quicksight:us-east-1:123456789012:user/default/ab\n"), "a,b")
	f.Add(false, []byte("x,y,z\n"), "")
	f.Add(false, []byte("\"unterminated,arn\n"), "")
	f.Add(true, []byte("alice-sub: arn:aws:quicksight:us-east-1:123456789012:user/default/alice\nBob@Example.com: arn:aws:quicksight:us-east-1:123456789012:user/sales/bob\n"), "BOB@example.com")
	f.Add(true, []byte("kelvin@example.com: arn:aws:quicksight:us-east-1:123456789012:user/default/k\n"), "\u212aelvin@example.com")
	f.Add(true, []byte("a: &x arn:aws:quicksight:us-east-1:123456789012:user/default/a\nb: *x\n"), "")
	f.Add(true, []byte("- a\n- b\n"), "")
	f.Add(true, []byte("a: [1, 2]\n"), "")
	f.Fuzz(func(t *testing.T, yaml bool, data []byte, probe string) {
		name := "users.csv"
		if yaml {
			name = "users.yaml"
		}
		m, err := ReadUserMap(name, data)
		if err != nil {
			return
		}
		if m.Len() == 0 {
			t.Fatalf("ReadUserMap(%s, %q) accepted a file with no rows", name, data)
		}
		for key, arn := range m.bySub {
			if _, _, ok := readUserARN(arn); !ok {
				t.Fatalf("ReadUserMap(%s, %q): subject %q maps to %q, not a QuickSight user ARN", name, data, key, arn)
			}
			if got, err := m.UserARN(claims{"sub": key}); err != nil || got != arn {
				t.Fatalf("ReadUserMap(%s, %q): subject %q finds %q, %v, want %q", name, data, key, got, err, arn)
			}
			if got, err := m.UserARN(claims{"email": key}); !errors.Is(err, ErrNoMapping) {
				t.Fatalf("ReadUserMap(%s, %q): the email claim %q finds the subject row (%q, %v)", name, data, key, got, err)
			}
		}
		for key, arn := range m.byEmail {
			if _, _, ok := readUserARN(arn); !ok {
				t.Fatalf("ReadUserMap(%s, %q): email %q maps to %q, not a QuickSight user ARN", name, data, key, arn)
			}
			for _, email := range []string{key, strings.ToUpper(key), mixedCase(key)} {
				if got, err := m.UserARN(claims{"email": email}); err != nil || got != arn {
					t.Fatalf("ReadUserMap(%s, %q): email %q finds %q, %v, want %q (the row's key is %q)", name, data, email, got, err, arn, key)
				}
			}
			if got, err := m.UserARN(claims{"sub": key}); !errors.Is(err, ErrNoMapping) {
				t.Fatalf("ReadUserMap(%s, %q): the subject claim %q finds the email row (%q, %v)", name, data, key, got, err)
			}
		}
		got, err := m.UserARN(claims{"email": probe})
		if err != nil {
			if !errors.Is(err, ErrNoMapping) {
				t.Fatalf("UserARN(email %q) = %v, want nil or ErrNoMapping", probe, err)
			}
			return
		}
		matched := false
		for key, arn := range m.byEmail {
			matched = matched || (arn == got && isASCII(probe) && strings.EqualFold(key, probe))
		}
		if !matched {
			t.Fatalf("ReadUserMap(%s, %q): email %q finds %q, but no row's key equals it in ASCII case", name, data, probe, got)
		}
	})
}

// mixedCase upper-cases every other ASCII letter.
func mixedCase(s string) string {
	b := []byte(s)
	for i, c := range b {
		if i%2 == 0 && c >= 'a' && c <= 'z' {
			b[i] = c - ('a' - 'A')
		}
	}
	return string(b)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
