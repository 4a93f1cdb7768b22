package auth

import (
	"net/url"
	"strings"
)

// maxRedirectLen bounds the return path kept through sign-in.
const maxRedirectLen = 600 // /embed/dashboards/ and a 512-character id fit

// maxDecodings is how many layers of percent-encoding a return path may
// have; no page of ours needs more than one.
const maxDecodings = 4

// SafeRedirect reports whether rd is a local path that is safe to send the
// browser to after sign-in: rd and every percent-decoding of it must pass
// localPath. Callers fall back to "/" when it is not.
func SafeRedirect(rd string) bool {
	if rd == "" || len(rd) > maxRedirectLen {
		return false
	}
	// Browsers and proxies may decode more than once: check every layer,
	// and refuse a path that still changes after the last one we check.
	for s, i := rd, 0; ; i++ {
		if !localPath(s) {
			return false
		}
		next, err := url.PathUnescape(s)
		if err != nil {
			return false
		}
		if next == s {
			break
		}
		if i == maxDecodings {
			return false
		}
		s = next
	}
	u, err := url.Parse(rd)
	return err == nil && u.Scheme == "" && u.Host == "" && u.User == nil && u.Opaque == ""
}

// localPath allows only a single leading "/" and a conservative alphabet:
// letters, digits and - . _ ~ / ? = & % + , ; with no "//" anywhere (not in
// the query either) and no ":" (so no scheme), "@", backslash, space,
// control, quote, angle bracket or non-ASCII character. qsgate's own pages
// need nothing more.
func localPath(s string) bool {
	if !strings.HasPrefix(s, "/") || strings.Contains(s, "//") {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-._~/?=&%+,;", r)) {
			return false
		}
	}
	return true
}
