package auth

import (
	"bufio"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzSafeRedirect checks what SafeRedirect promises about every return
// path it accepts, at every layer of percent-decoding a browser or proxy
// might apply: it stays on our site. Seeds: our own cases, the open-redirect
// list's local-looking payloads, and testdata/fuzz/FuzzSafeRedirect.
func FuzzSafeRedirect(f *testing.F) {
	for _, rd := range []string{
		"/", "/embed/start", "/embed/dashboards/a%2541", "/open?kind=dashboards&id=abc",
		"//evil.com", "/\\evil.com", "/%2f%2fevil.com", "/%252f%252fevil.com", "/%5cevil.com",
		"/%2525252f%2525252fevil.com", "/x%2525252541", "https://evil.com", "/a?next=//evil.com",
	} {
		f.Add(rd)
	}
	list, err := os.Open(filepath.Join("testdata", "openredirects.txt"))
	if err != nil {
		f.Fatal(err)
	}
	defer list.Close()
	// Only the payloads that get past the first "/": the others teach the
	// fuzzer nothing new, and each seed costs time out of CI's bounded run.
	// TestSafeRedirectOpenRedirectList checks every one of them.
	for sc := bufio.NewScanner(list); sc.Scan(); {
		rd, err := url.QueryUnescape(sc.Text())
		if err != nil {
			rd = sc.Text()
		}
		for _, s := range []string{sc.Text(), rd} {
			if strings.HasPrefix(s, "/") && !strings.HasPrefix(s, "//") {
				f.Add(s)
			}
		}
	}

	site, _ := url.Parse("https://portal.example.com/embed/start")
	f.Fuzz(func(t *testing.T, rd string) {
		if !SafeRedirect(rd) {
			return
		}
		if len(rd) > maxRedirectLen {
			t.Fatalf("SafeRedirect(%q) = true for %d bytes, want at most %d", rd, len(rd), maxRedirectLen)
		}
		u, err := url.Parse(rd)
		if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
			t.Fatalf("SafeRedirect(%q) = true, but it parses as %#v (err %v), want a relative path", rd, u, err)
		}
		// Decode until nothing changes: that must happen within 5 layers,
		// and no layer may leave the site.
		layer := rd
		for depth := 0; ; depth++ {
			if !strings.HasPrefix(layer, "/") || strings.Contains(layer, "//") || strings.Contains(layer, `\`) {
				t.Fatalf("SafeRedirect(%q) = true, but decoding layer %d is %q (want one leading /, no // and no backslash)", rd, depth, layer)
			}
			lu, err := url.Parse(layer)
			if err != nil || lu.Scheme != "" || lu.Host != "" || lu.User != nil || lu.Opaque != "" {
				t.Fatalf("SafeRedirect(%q) = true, but decoding layer %d %q parses as %#v (err %v)", rd, depth, layer, lu, err)
			}
			if to := site.ResolveReference(lu); to.Scheme != site.Scheme || to.Host != site.Host || to.User != nil {
				t.Fatalf("SafeRedirect(%q) = true, but decoding layer %d sends the browser to %q", rd, depth, to)
			}
			// A path that is safe stays safe however far it is decoded.
			if !SafeRedirect(layer) {
				t.Fatalf("SafeRedirect(%q) = true, but its decoding layer %d %q is refused", rd, depth, layer)
			}
			next, err := url.PathUnescape(layer)
			if err != nil {
				t.Fatalf("SafeRedirect(%q) = true, but decoding layer %d %q fails: %v", rd, depth, layer, err)
			}
			if next == layer {
				break
			}
			if depth == 4 {
				t.Fatalf("SafeRedirect(%q) = true, but it still changes after 5 decodings", rd)
			}
			layer = next
		}
	})
}
