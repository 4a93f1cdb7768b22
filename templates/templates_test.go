package templates

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/qsgate/qsgate/static"
)

func parse(t testing.TB) *Set {
	t.Helper()
	s, err := Parse()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var sampleEmbed = Embed{
	URL:   "https://us-east-1.quicksight.aws.amazon.com/embed/0123456789abcdef0123456789abcdef/start?isauthcode=true&identityprovider=quicksight&code=AYABeF-_abc",
	Title: "Start", Portal: "Acme analytics", CSRF: "abcdefghijklmnopqrstuvwxyz012345",
	API: "/api/embed-url?entry-point=%2Fstart", Login: "/login?rd=%2Fembed%2Fstart",
	Origin: "https://us-east-1.quicksight.aws.amazon.com", SessionSeconds: 3600,
}

// full is the whole page rendered at once, the reference RenderEmbed must match.
func full(t testing.TB, s *Set, p Embed) string {
	t.Helper()
	var b bytes.Buffer
	if err := s.Render(&b, "embed.html", p); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func fromShell(t testing.TB, s *Set, p Embed) string {
	t.Helper()
	var b bytes.Buffer
	if err := s.RenderEmbed(&b, p); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestEmbedShellMatchesFullRender: the embed page from its cached shell is
// byte for byte the page rendered whole, for values that need escaping in
// every hole and field, a URL html/template refuses, and values that
// contain the shell's own marks; the second render of each comes from the
// cache.
func TestEmbedShellMatchesFullRender(t *testing.T) {
	s := parse(t)
	with := func(f func(*Embed)) Embed { p := sampleEmbed; f(&p); return p }
	cases := map[string]Embed{
		"plain":             sampleEmbed,
		"deep link":         with(func(p *Embed) { p.URL += "#p.Region=North%20%26%20South" }),
		"quotes and tags":   with(func(p *Embed) { p.URL = `https://x.example/"><script>alert(1)</script>`; p.CSRF = `"><b>'&` }),
		"javascript scheme": with(func(p *Embed) { p.URL = "javascript:alert(1)" }),
		"unicode and space": with(func(p *Embed) { p.URL = "https://x.example/ä b\u2028c"; p.Title = "Bücher & <Co>" }),
		"empty values":      {},
		"another title": with(func(p *Embed) {
			p.Title, p.API, p.Login = "d-1", "/api/embed-url?entry-point=%2Fdashboards%2Fd-1", "/login?rd=%2Fembed%2Fdashboards%2Fd-1"
		}),
		"mark in a field": with(func(p *Embed) { p.Title = s.mark }),
		"mark as the URL": with(func(p *Embed) { p.URL, p.CSRF = s.mark, s.mark }),
		"another browser": with(func(p *Embed) { p.CSRF = "zyxwvutsrqponmlkjihgfedcba543210" }),
		// The byte table's edges (embed.go): what it writes, and what it
		// leaves to the hole template.
		"every ASCII byte":  with(func(p *Embed) { p.URL = urlSamples[2] }),
		"percent escapes":   with(func(p *Embed) { p.URL = "https://x.example/a%2Fb%zz%4%" }),
		"upper-case scheme": with(func(p *Embed) { p.URL = "HTTPS://x.example/a&b" }),
		"http":              with(func(p *Embed) { p.URL = "http://x.example/a&b" }),
		"scheme only":       with(func(p *Embed) { p.URL = "https://" }),
		"tricky scheme":     with(func(p *Embed) { p.URL = "https:javascript:alert(1)" }),
	}
	for name, p := range cases {
		want := full(t, s, p)
		for i := range 2 {
			if got := fromShell(t, s, p); got != want {
				t.Errorf("%s, render %d:\n got %s\nwant %s", name, i+1, got, want)
			}
		}
	}
	if !strings.Contains(full(t, s, cases["javascript scheme"]), `src="#ZgotmplZ"`) {
		t.Error("html/template let a javascript: URL into the iframe")
	}
}

// TestURLBytesUsed: a QuickSight URL goes through the byte table, and it
// writes what the hole template does.
func TestURLBytesUsed(t *testing.T) {
	s := parse(t)
	if s.urlBytes == nil {
		t.Fatal("the byte table was not learned: html/template's escaping of the hole changed (embed.go)")
	}
	for _, u := range append([]string{sampleEmbed.URL, "https://x/\"<>'&\x00\x7f", "http://x/a&b"}, urlSamples...) {
		var got bytes.Buffer
		if !s.urlBytes.write(&got, u) {
			t.Fatalf("%q did not go through the byte table", u)
		}
		var want strings.Builder
		if err := s.hole.Execute(&want, u); err != nil {
			t.Fatal(err)
		}
		if w := strings.TrimSuffix(strings.TrimPrefix(want.String(), holeHead), holeTail); got.String() != w {
			t.Errorf("%q: the byte table wrote %q, the hole template %q", u, got.String(), w)
		}
	}
	for _, u := range []string{"https://x/%41", "https://x/é", "HTTPS://x/", "http:/x", "javascript:alert(1)", "data:text/html,x"} {
		if s.urlBytes.write(new(bytes.Buffer), u) {
			t.Errorf("%q went through the byte table; it is the hole template's", u)
		}
	}
}

// FuzzRenderEmbed: whatever the values, the shell and the whole render agree.
func FuzzRenderEmbed(f *testing.F) {
	f.Add(sampleEmbed.URL, sampleEmbed.CSRF, sampleEmbed.Title, sampleEmbed.API, sampleEmbed.Origin)
	f.Add(`javascript:x`, `"'<>&`, "a\x00b", "/api?x=1&y=<2>", "data:text/html,x")
	f.Add(urlSamples[2], "c", "t", "/api", "https://x")
	f.Add(urlSamples[1], "c", "t", "/api", "http://127.0.0.1:8443")
	f.Add("https://x/a%2Fb%zz&<é", "c", "t", "/api", "https://x")
	s := parse(f)
	f.Fuzz(func(t *testing.T, url, csrf, title, api, origin string) {
		p := Embed{URL: url, CSRF: csrf, Title: title, API: api, Origin: origin, Portal: "P", Login: "/login", SessionSeconds: 60}
		if got, want := fromShell(t, s, p), full(t, s, p); got != want {
			t.Fatalf("shell render differs:\n got %q\nwant %q", got, want)
		}
	})
}

// Asset URLs are written into the pages, fingerprinted.
func TestAssetURLsWrittenIn(t *testing.T) {
	s := parse(t)
	page := full(t, s, sampleEmbed)
	for _, name := range []string{"css/app.css", "js/embed.js"} {
		if !strings.Contains(page, `"`+static.URL(name)+`"`) {
			t.Errorf("embed.html does not link %s as %s", name, static.URL(name))
		}
	}
	if strings.Contains(page, "{{") {
		t.Error("a template action was left in the page")
	}
}

// Render writes nothing when the page fails to render.
func TestRenderAllOrNothing(t *testing.T) {
	s := parse(t)
	var w countingWriter
	if err := s.Render(&w, "home.html", 42); err == nil || w.writes != 0 {
		t.Errorf("a failed render: err %v, %d writes; want an error and none", err, w.writes)
	}
	if err := s.Render(&w, "embed.html", sampleEmbed); err != nil || w.writes != 1 {
		t.Errorf("a good render: err %v, %d writes; want one", err, w.writes)
	}
}

type countingWriter struct{ writes int }

func (c *countingWriter) Write(p []byte) (int, error) { c.writes++; return len(p), nil }

var _ io.Writer = (*countingWriter)(nil)

// BenchmarkRenderEmbed: the embed page from its shell, as a view renders it.
func BenchmarkRenderEmbed(b *testing.B) {
	s := parse(b)
	for b.Loop() {
		if err := s.RenderEmbed(io.Discard, sampleEmbed); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRenderEmbedWhole: the same page rendered whole, for comparison.
func BenchmarkRenderEmbedWhole(b *testing.B) {
	s := parse(b)
	for b.Loop() {
		if err := s.Render(io.Discard, "embed.html", sampleEmbed); err != nil {
			b.Fatal(err)
		}
	}
}

// A page whose other values are long is rendered whole and not kept: one
// request cannot park megabytes in the cache.
func TestLongValuesNotKept(t *testing.T) {
	s := parse(t)
	p := sampleEmbed
	p.Login = "/login?rd=" + strings.Repeat("%2522", 20_000)
	p.CSRF = strings.Repeat(`"`, 10_000)
	if got, want := fromShell(t, s, p), full(t, s, p); got != want {
		t.Fatal("the long page differs from its whole render")
	}
	if n := s.embed.Len(); n != 0 {
		t.Fatalf("%d shells kept for a page with long values, want 0", n)
	}
	fromShell(t, s, sampleEmbed)
	for _, k := range s.embed.Keys() {
		sh, _ := s.embed.Peek(k)
		if size := cap(sh[0]) + cap(sh[1]); size > 8<<10 {
			t.Errorf("a shell holds %d bytes, want the page's size", size)
		}
	}
}
