package quicksight

import (
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws/arn"
)

// The shape checks a page view makes (each claim put into an ARN or a user
// name, the ARN a template gives) are byte tables and arn.Parse, not
// regular expressions: two regexp matches cost 2-3 µs of the gateway's own
// 45-60 µs a view in BenchmarkViewOverBare (docs/BENCHMARKS.md). Each check is written from a regular expression,
// kept in shape_test.go, that FuzzShapes holds it to.

// byteSet is a set of ASCII bytes.
type byteSet [256]bool

// newByteSet is the bytes of chars and of each range ("az": a to z).
func newByteSet(chars string, ranges ...string) *byteSet {
	var s byteSet
	for i := 0; i < len(chars); i++ {
		s[chars[i]] = true
	}
	for _, r := range ranges {
		for c := int(r[0]); c <= int(r[1]); c++ {
			s[c] = true
		}
	}
	return &s
}

// holds reports whether s is from shortest to longest bytes long, every
// one of them in the set.
func (set *byteSet) holds(s string, shortest, longest int) bool {
	if len(s) < shortest || len(s) > longest {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !set[s[i]] {
			return false
		}
	}
	return true
}

var (
	// userNameChars is the QuickSight user-name alphabet: a value taken
	// from a claim must not be able to change the shape of the ARN (no
	// "/", ":" or spaces).
	userNameChars  = newByteSet("+=,.@_-", "AZ", "az", "09")
	namespaceChars = newByteSet("._-", "AZ", "az", "09")
	regionChars    = newByteSet("-", "az", "09")
	partitionTail  = newByteSet("-", "az")
	digits         = newByteSet("", "09")
)

// validClaimValue reports whether v may go into an ARN or a user name:
// 1-256 characters of the user-name alphabet.
func validClaimValue(v string) bool { return userNameChars.holds(v, 1, 256) }

// isUserARN reports whether s has the shape of a QuickSight user ARN:
// arn:aws[-partition]:quicksight:REGION:ACCOUNT:user/NAMESPACE/NAME, with a
// 12-digit account, a namespace of 1-64 letters, digits, '.', '_' or '-',
// and a name of 1-256 characters, none of them a space.
func isUserARN(s string) bool {
	a, err := arn.Parse(s)
	if err != nil || a.Service != "quicksight" {
		return false
	}
	tail, ok := strings.CutPrefix(a.Partition, "aws")
	if !ok || !partitionTail.holds(tail, 0, len(tail)) || !regionChars.holds(a.Region, 1, len(a.Region)) || !digits.holds(a.AccountID, 12, 12) {
		return false
	}
	user, ok := strings.CutPrefix(a.Resource, "user/")
	if !ok {
		return false
	}
	namespace, name, ok := strings.Cut(user, "/")
	if !ok || !namespaceChars.holds(namespace, 1, 64) {
		return false
	}
	n := utf8.RuneCountInString(name)
	return n >= 1 && n <= 256 && !strings.ContainsAny(name, "\t\n\f\r ")
}
