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

// The SigV4 scope services the simulator answers for.
const (
	quickSightService = "quicksight"
	stsService        = "sts"
)

const (
	amzDateFormat = "20060102T150405Z"
	maxClockSkew  = 15 * time.Minute
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

// verifySignature checks r the way AWS does: known access key, scope
// (service, and the endpoint or identity region), session token, expiry of
// temporary credentials, clock window, then the signature itself. The
// signature is recomputed with the SDK's own signer, with the secret of the
// access key, over a copy of the request that holds only the headers the
// client signed, at the time the client signed. It returns who signed, and
// fills in c's AccessKeyID and Region (as claimed) and Principal (once proven).
func (s *Simulator) verifySignature(r *http.Request, body []byte, service string, c *Call) (caller, *apiError) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return caller{}, newError(ErrMissingAuthenticationToken, "Missing Authentication Token")
	}
	a, ok := parseAuthorization(h)
	if !ok {
		return caller{}, newError(ErrIncompleteSignature, "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters. Authorization="+strings.SplitN(h, " ", 2)[0])
	}
	c.AccessKeyID, c.Region = a.accessKeyID, a.region

	who, ok := s.lookupCaller(a.accessKeyID)
	if !ok {
		return caller{}, newError(ErrUnrecognizedClient, "The security token included in the request is invalid.")
	}
	if e := s.checkSignature(r, body, service, a, who); e != nil {
		return caller{}, e
	}
	c.Principal = who.arn
	return who, nil
}

// checkSignature checks what a claims for who, the owner of its access key.
func (s *Simulator) checkSignature(r *http.Request, body []byte, service string, a sigV4Auth, who caller) *apiError {
	if a.service != service {
		return newError(ErrInvalidSignature, fmt.Sprintf("Credential should be scoped to correct service: '%s'.", service))
	}
	if a.region != s.cfg.Region && a.region != s.cfg.IdentityRegion {
		return newError(ErrInvalidSignature, fmt.Sprintf("Credential should be scoped to a valid region, not '%s'.", a.region))
	}
	if !slices.Contains(a.signedHeaders, "host") {
		return newError(ErrInvalidSignature, "'Host' must be a 'SignedHeader' in the AWS Authorization.")
	}
	// Also refuses a token when none is expected, and none when one is.
	if !equalConstantTime(r.Header.Get("X-Amz-Security-Token"), who.sessionToken) {
		return newError(ErrUnrecognizedClient, "The security token included in the request is invalid.")
	}
	if !who.expires.IsZero() && !s.now().Before(who.expires) {
		return newError(ErrExpiredToken, "The security token included in the request is expired")
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
	creds := aws.Credentials{AccessKeyID: a.accessKeyID, SecretAccessKey: who.secretAccessKey, SessionToken: who.sessionToken}
	if err := v4.NewSigner().SignHTTP(r.Context(), creds, clone, hex.EncodeToString(sum[:]), service, a.region, signedAt); err != nil {
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
