package handlers

import (
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// What the embed page may frame. QuickSight's embed URLs point at its
// console in the account's region, https://REGION.quicksight.aws.amazon.com
// (GetSessionEmbedUrl's /embed/ and GenerateEmbedUrlForRegisteredUser's
// /embedding/ alike). An embed URL is the one thing in the page that comes
// from the API's answer: were its origin taken on trust, whoever answers in
// QuickSight's place (a misconfigured or compromised endpoint, a proxy on
// the way) could put any site in the portal's frame, under the portal's
// name, or open it in a new tab. So the origins are fixed at start-up and an
// embed URL elsewhere is refused.

// consoleHost is the host of QuickSight's console in a region, after the
// region: the commercial partition's, the only one QUICKSIGHT-API.md
// documents.
const consoleHost = ".quicksight.aws.amazon.com"

// OutsideCommercialPartition reports whether region is in an AWS
// partition other than the commercial one (GovCloud, China, the isolated
// regions), where consoleHost does not name QuickSight's console.
func OutsideCommercialPartition(region string) bool {
	for _, prefix := range []string{"us-gov-", "cn-", "us-iso", "eu-iso"} {
		if strings.HasPrefix(region, prefix) {
			return true
		}
	}
	return false
}

// regionRE is an AWS region name, e.g. us-east-1, ap-southeast-2,
// us-gov-west-1.
var regionRE = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)

// FrameOrigins are the origins embed URLs may have: QuickSight's console
// in each of regions (the AWS region, and the identity region when it
// differs), and, when endpoint is set (AWS_ENDPOINT_URL_QUICKSIGHT or
// AWS_ENDPOINT_URL), that endpoint's origin too: the QuickSight simulator
// hands out embed URLs on its own origin. Real QuickSight's origins stay
// allowed alongside an endpoint, so one set for a VPC endpoint or a proxy
// keeps working. Empty regions, regions that are not region names, and an
// endpoint that is not an absolute http(s) URL add nothing (the SDK cannot
// call such an endpoint either). A region outside the commercial partition
// gives none at all: its console's host is not known here, so the page
// frames the embed URL's own origin, as it does when no origin is fixed
// (serve says so at start-up).
func FrameOrigins(endpoint string, regions ...string) []string {
	if slices.ContainsFunc(regions, OutsideCommercialPartition) {
		return nil
	}
	var out []string
	add := func(o string) {
		if !slices.Contains(out, o) {
			out = append(out, o)
		}
	}
	if u, err := url.Parse(endpoint); endpoint != "" && err == nil {
		if o, ok := originOf(u); ok {
			add(o)
		}
	}
	for _, r := range regions {
		if regionRE.MatchString(r) {
			add("https://" + r + consoleHost)
		}
	}
	return out
}

// originOf is u's origin as a browser writes it (and matches it against
// frame-src): scheme and host in lower case, without a default port; false
// unless u is an absolute http or https URL.
func originOf(u *url.URL) (string, bool) {
	scheme := strings.ToLower(u.Scheme)
	if (scheme != "https" && scheme != "http") || u.Host == "" || u.Opaque != "" {
		return "", false
	}
	host := strings.ToLower(u.Host)
	if port := u.Port(); (scheme == "https" && port == "443") || (scheme == "http" && port == "80") {
		host = strings.TrimSuffix(host, ":"+port)
	}
	return scheme + "://" + host, true
}

// foreignOriginError is an embed URL on an origin the page may not frame:
// the 502 page of errBadEmbedURL, with the origin in the log.
type foreignOriginError struct{ origin string }

func (e *foreignOriginError) Error() string {
	return "QuickSight returned an embed URL on " + e.origin + ", which is not one of QuickSight's origins for the configured regions or endpoint"
}

func (e *foreignOriginError) Is(target error) bool { return target == errBadEmbedURL }
