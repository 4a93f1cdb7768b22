package quicksight

import (
	"regexp"
	"strings"
	"testing"
)

// The regular expressions the shape checks in shape.go are written from:
// what a claim value may hold (the QuickSight user-name alphabet), and a
// QuickSight user ARN.
var (
	claimValueRE = regexp.MustCompile(`^[A-Za-z0-9+=,.@_-]{1,256}$`)
	userARNRE    = regexp.MustCompile(`^arn:aws[a-z-]*:quicksight:[a-z0-9-]+:[0-9]{12}:user/[A-Za-z0-9._-]{1,64}/[^\s]{1,256}$`)
)

// FuzzShapes holds validClaimValue and isUserARN to their regular
// expressions, for any string.
func FuzzShapes(f *testing.F) {
	for _, s := range []string{
		"", "alice@example.com", "a+b=c,d.e@f_g-h", "a/b", "a:b", "a b", "é", strings.Repeat("a", 256), strings.Repeat("a", 257),
		"arn:aws:quicksight:us-east-1:123456789012:user/default/alice@example.com",
		"arn:aws-cn:quicksight:cn-north-1:123456789012:user/ns.1_x-y/a/b:c",
		"arn:aws-us-gov:quicksight:us-gov-west-1:123456789012:user/default/AssumedRole/session",
		"arn:aws:quicksight:us-east-1:12345678901:user/default/a",
		"arn:aws:quicksight:us-east-1:1234567890123:user/default/a",
		"arn:aws:quicksight::123456789012:user/default/a",
		"arn:aws:quicksight:US-EAST-1:123456789012:user/default/a",
		"arn:awsx:quicksight:us-east-1:123456789012:user/default/a",
		"arn:AWS:quicksight:us-east-1:123456789012:user/default/a",
		"arn:aws:quicksight:us-east-1:123456789012:group/default/a",
		"arn:aws:quicksight:us-east-1:123456789012:user/default/",
		"arn:aws:quicksight:us-east-1:123456789012:user//a",
		"arn:aws:quicksight:us-east-1:123456789012:user/default",
		"arn:aws:quicksight:us-east-1:123456789012:user/" + strings.Repeat("n", 65) + "/a",
		"arn:aws:quicksight:us-east-1:123456789012:user/default/" + strings.Repeat("é", 256),
		"arn:aws:quicksight:us-east-1:123456789012:user/default/" + strings.Repeat("é", 257),
		"arn:aws:quicksight:us-east-1:123456789012:user/default/a b",
		"arn:aws:quicksight:us-east-1:123456789012:user/default/a\tb",
		"arn:aws:quicksight:us-east-1:123456789012:user/default/a\vb",
		"arn:aws:quicksight:us-east-1:123456789012:user/default/a\xffb",
		"arn:aws:quicksight:us-east-1:123456789012:user/default/a\n",
		"arn:aws:s3:us-east-1:123456789012:user/default/a",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := validClaimValue(s), claimValueRE.MatchString(s); got != want {
			t.Errorf("validClaimValue(%q) = %v, its regexp says %v", s, got, want)
		}
		if got, want := isUserARN(s), userARNRE.MatchString(s); got != want {
			t.Errorf("isUserARN(%q) = %v, its regexp says %v", s, got, want)
		}
	})
}
