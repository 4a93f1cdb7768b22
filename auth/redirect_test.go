package auth

import (
	"bufio"
	"net/url"
	"os"
	"path/filepath"
	"testing"
)

func TestSafeRedirectAccepts(t *testing.T) {
	for _, rd := range []string{
		"/",
		"/embed/start",
		"/embed/start/analyses",
		"/embed/dashboards/abc-123_x",
		"/embed/analyses/a",
		"/open?kind=dashboards&id=abc",
		"/embed/dashboards/a%2541", // two layers, settles
	} {
		if !SafeRedirect(rd) {
			t.Errorf("SafeRedirect(%q) = false, want true", rd)
		}
	}
}

// Our own cases, including the advisories SECURITY.md names.
func TestSafeRedirectRejects(t *testing.T) {
	for _, rd := range []string{
		"",
		"//evil.com",
		"///evil.com",
		"/\\evil.com",          // CVE-2020-5233
		"/\t/evil.com",         // CVE-2020-11053
		"/%09/evil.com",        // the same, still encoded
		"/%0a/evil.com",        //
		"/%0b/evil.com",        //
		"/%0d/evil.com",        //
		"/\\t/\\t\\evil.com",   //
		"/./\\evil.com",        // CVE-2020-4037
		"/%2f%2fevil.com",      // decodes to ///evil.com
		"/%252f%252fevil.com",  // double-encoded
		"/%5cevil.com",         // encoded backslash
		"https://evil.com",     //
		"http:/evil.com",       //
		"evil.com",             //
		"javascript:alert(1)",  //
		"/javascript:alert(1)", //
		"/%68%74%74%70%3a%2f%2fevil.com",
		"/ évil",
		"/\x00",
		"/%00",
		"/%zz", // not decodable
		" /embed/start",
		"/embed/start ",
		"/embed/start?x=a%3Ab", // decodes to a colon
		"/a?next=//evil.com",
		"/<script>",
		"/@evil.com",
		"/%2525252f%2525252fevil.com", // five layers: "//" appears only after the fifth decoding
		"/x%2525252541",               // still changing after the last layer checked
	} {
		if SafeRedirect(rd) {
			t.Errorf("SafeRedirect(%q) = true, want false", rd)
		}
	}
}

// Every payload of oauth2-proxy's open-redirect list, URL-unescaped, must be
// rejected. testdata/openredirects.txt is a copy of the list kept beside the
// repository (../shared/testdata), so the test runs wherever the repo is.
func TestSafeRedirectOpenRedirectList(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "openredirects.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		n++
		rd, err := url.QueryUnescape(line)
		if err != nil {
			rd = line // not unescapable: test it as it is
		}
		if SafeRedirect(rd) {
			t.Errorf("SafeRedirect(%q) = true (payload %q), want false", rd, line)
		}
		if SafeRedirect(line) {
			t.Errorf("SafeRedirect(%q) = true (raw payload), want false", line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("reading the list: %v", err)
	}
	if n < 558 {
		t.Fatalf("read %d payloads, want the whole list (558)", n)
	}
}
