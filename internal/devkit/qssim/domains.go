package qssim

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/publicsuffix"
)

// maxAllowedDomains is how many AllowedDomains one call may send.
const maxAllowedDomains = 3

// checkAllowedDomains enforces GenerateEmbedUrlForRegisteredUser's
// AllowedDomains as the QuickSight user guide ("Allow listing domains at
// runtime") describes them: at most 3, each an https origin (scheme, host,
// optional port; no path, not even "/") whose host is a domain name below a
// public suffix (https://example-1.com, https://www.アマゾンドメイン.jp; not
// https://co.uk, not an IP address), or a wildcard subdomain origin
// (https://*.sapp.amazon.com; not https://example.com.*.example-1.co.uk).
// Plain http is accepted for localhost, which the guide allows for
// development, and, a simulator convenience the guide does not mention, for
// loopback addresses (http://127.0.0.1:8080), where local tests listen.
func checkAllowedDomains(domains []string) *apiError {
	if len(domains) > maxAllowedDomains {
		return newError(ErrInvalidParameterValue, fmt.Sprintf("AllowedDomains can list at most %d domains, got %d.", maxAllowedDomains, len(domains)))
	}
	for _, d := range domains {
		if problem := allowedDomainProblem(d); problem != "" {
			return newError(ErrInvalidParameterValue, fmt.Sprintf(
				"AllowedDomains: %q is not valid: %s. Use an https origin such as https://portal.example.com, "+
					"a wildcard subdomain such as https://*.example.com, or http://localhost.", d, problem))
		}
	}
	return nil
}

// allowedDomainProblem says what is wrong with one AllowedDomains entry, or "".
func allowedDomainProblem(d string) string {
	scheme, hostport, ok := strings.Cut(d, "://")
	if !ok {
		return "it has no scheme"
	}
	if scheme != "https" && scheme != "http" {
		return "the scheme must be https"
	}
	if i := strings.IndexAny(hostport, "/?#"); i >= 0 {
		return "an origin has no path, query or fragment"
	}
	if strings.Contains(hostport, "@") {
		return "an origin has no user name"
	}
	host := hostport
	if h, port, err := net.SplitHostPort(hostport); err == nil {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return "the port must be 1-65535"
		}
		host = h
	} else if strings.Contains(hostport, ":") && !strings.HasPrefix(hostport, "[") {
		return "the port is not valid"
	}
	host = strings.ToLower(host)
	bracketed := strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]")
	if bracketed {
		host = host[1 : len(host)-1]
	}
	ip := net.ParseIP(host)
	switch {
	case bracketed && ip == nil:
		return "only an IPv6 address goes in brackets"
	case host == "localhost" || ip != nil && ip.IsLoopback():
		return ""
	case scheme != "https":
		return "plain http is allowed only for localhost"
	case ip != nil:
		return "an IP address is not a domain"
	}
	domain, wildcard := strings.CutPrefix(host, "*.")
	if strings.Contains(domain, "*") {
		return "a wildcard must be the whole first label (https://*.example.com)"
	}
	if len(domain) > 253 {
		return "the host name is longer than 253 characters"
	}
	for label := range strings.SplitSeq(domain, ".") {
		if !validLabel(label) {
			return fmt.Sprintf("%q is not a valid host name label", label)
		}
	}
	if tld := domain[strings.LastIndex(domain, ".")+1:]; strings.Trim(tld, "0123456789") == "" {
		return "the host is not a registrable domain: its top-level label is a number"
	}
	if _, err := publicsuffix.EffectiveTLDPlusOne(domain); err != nil {
		if wildcard {
			return "a wildcard must be followed by a registrable domain, not a public suffix"
		}
		return "the host is a public suffix or a single label, not a registrable domain"
	}
	return ""
}

// validLabel accepts a host name label: 1-63 bytes of letters (any script),
// digits and hyphens, not starting or ending with a hyphen.
func validLabel(label string) bool {
	if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
		return false
	}
	for _, r := range label {
		ascii := r < utf8.RuneSelf
		if ascii && !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}
