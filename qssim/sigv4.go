package qssim

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

const (
	signingService = "quicksight"
	amzDateFormat  = "20060102T150405Z"
	maxClockSkew   = 15 * time.Minute
)

// sigV4Auth is a parsed "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=..." header.
type sigV4Auth struct {
	accessKeyID, date, region, service string
	signedHeaders                      []string
	signature                          string
}

func parseAuthorization(h string) (sigV4Auth, bool) {
	var a sigV4Auth
	rest, ok := strings.CutPrefix(h, "AWS4-HMAC-SHA256 ")
	if !ok {
		return a, false
	}
	var credential, signedHeaders string
	for part := range strings.SplitSeq(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "Credential":
			credential = v
		case "SignedHeaders":
			signedHeaders = v
		case "Signature":
			a.signature = v
		}
	}
	scope := strings.Split(credential, "/")
	if len(scope) != 5 || scope[4] != "aws4_request" || signedHeaders == "" || a.signature == "" {
		return a, false
	}
	a.accessKeyID, a.date, a.region, a.service = scope[0], scope[1], scope[2], scope[3]
	a.signedHeaders = strings.Split(signedHeaders, ";")
	return a, true
}

// verifySignature checks r the way AWS does: known access key, scope, clock
// window, session token, then the signature itself. The signature is
// recomputed with the SDK's own signer over a copy of the request that holds
// only the headers the client signed, at the time the client signed.
func (s *Simulator) verifySignature(r *http.Request, body []byte, c *Call) *apiError {
	h := r.Header.Get("Authorization")
	if h == "" {
		return newError(ErrMissingAuthenticationToken, "Missing Authentication Token")
	}
	a, ok := parseAuthorization(h)
	if !ok {
		return newError(ErrIncompleteSignature, "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters. Authorization="+strings.SplitN(h, " ", 2)[0])
	}
	c.AccessKeyID, c.Region = a.accessKeyID, a.region

	if !equalConstantTime(a.accessKeyID, s.cfg.AccessKeyID) {
		return newError(ErrUnrecognizedClient, "The security token included in the request is invalid.")
	}
	if a.service != signingService {
		return newError(ErrInvalidSignature, fmt.Sprintf("Credential should be scoped to correct service: '%s'.", signingService))
	}
	if a.region != s.cfg.Region {
		return newError(ErrInvalidSignature, fmt.Sprintf("Credential should be scoped to a valid region, not '%s'.", a.region))
	}
	if !slices.Contains(a.signedHeaders, "host") {
		return newError(ErrInvalidSignature, "'Host' must be a 'SignedHeader' in the AWS Authorization.")
	}
	// Also refuses a token when none is configured, and none when one is.
	if !equalConstantTime(r.Header.Get("X-Amz-Security-Token"), s.cfg.SessionToken) {
		return newError(ErrUnrecognizedClient, "The security token included in the request is invalid.")
	}

	signedAt, err := time.Parse(amzDateFormat, r.Header.Get("X-Amz-Date"))
	if err != nil {
		return newError(ErrIncompleteSignature, "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
	}
	if signedAt.Format("20060102") != a.date {
		return newError(ErrInvalidSignature, "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP.")
	}
	now := s.now().UTC()
	if signedAt.Before(now.Add(-maxClockSkew)) {
		return newError(ErrInvalidSignature, fmt.Sprintf("Signature expired: %s is now earlier than %s (%s - 15 min.)",
			signedAt.Format(amzDateFormat), now.Add(-maxClockSkew).Format(amzDateFormat), now.Format(amzDateFormat)))
	}
	if signedAt.After(now.Add(maxClockSkew)) {
		return newError(ErrInvalidSignature, fmt.Sprintf("Signature not yet current: %s is still later than %s (%s + 15 min.)",
			signedAt.Format(amzDateFormat), now.Add(maxClockSkew).Format(amzDateFormat), now.Format(amzDateFormat)))
	}

	u := *r.URL
	u.Host = r.Host
	clone := &http.Request{Method: r.Method, URL: &u, Host: r.Host, Header: make(http.Header)}
	for _, name := range a.signedHeaders {
		switch name {
		case "host":
			// Go moves Host out of the header map; the signer reads req.Host.
		case "content-length":
			clone.ContentLength = r.ContentLength
		default:
			clone.Header[http.CanonicalHeaderKey(name)] = r.Header.Values(name)
		}
	}
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: s.cfg.AccessKeyID, SecretAccessKey: s.cfg.SecretAccessKey, SessionToken: s.cfg.SessionToken}
	if err := v4.NewSigner().SignHTTP(r.Context(), creds, clone, hex.EncodeToString(sum[:]), signingService, s.cfg.Region, signedAt); err != nil {
		return newError(ErrInternalFailure, "An internal failure occurred.")
	}
	want, _ := parseAuthorization(clone.Header.Get("Authorization"))
	if !equalConstantTime(a.signature, want.signature) {
		return newError(ErrInvalidSignature, "The request signature we calculated does not match the signature you provided. "+
			"Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")
	}
	return nil
}

func equalConstantTime(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
