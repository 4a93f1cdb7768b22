package quicksight

import (
	"errors"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Param is one dashboard parameter of a deep link: /embed/dashboards/{id}
// ?p.NAME=VALUE reaches QuickSight as #p.NAME=VALUE in the embed URL.
type Param struct{ Name, Value string }

// Bounds on deep-link parameters: QuickSight parameter names, and values
// short enough that a link stays a link.
const (
	MaxParams     = 20
	MaxParamValue = 256
)

var paramNameRE = regexp.MustCompile(`^[A-Za-z0-9_]{1,64}$`)

// ErrBadParams means a deep link's parameters do not validate; it is
// caught before any AWS call.
var ErrBadParams = errors.New("bad dashboard parameters")

// ParseParams takes the p.NAME=VALUE pairs of a query (other keys are not
// its business), in a stable order. A name of the wrong shape, an empty
// or too long value, or too many parameters is ErrBadParams. A name may
// repeat: QuickSight takes multi-value parameters that way.
func ParseParams(q url.Values) ([]Param, error) {
	var out []Param
	for key, values := range q {
		name, ok := strings.CutPrefix(key, "p.")
		if !ok {
			continue
		}
		if !paramNameRE.MatchString(name) {
			return nil, ErrBadParams
		}
		for _, v := range values {
			if v == "" || len(v) > MaxParamValue || !utf8.ValidString(v) || strings.ContainsFunc(v, unicode.IsControl) {
				return nil, ErrBadParams
			}
			out = append(out, Param{Name: name, Value: v})
		}
	}
	if len(out) > MaxParams {
		return nil, ErrBadParams
	}
	slices.SortStableFunc(out, func(a, b Param) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// Query is the parameters as p.NAME=VALUE query text, for links.
func QueryOf(params []Param) string {
	return encode(params)
}

func encode(params []Param) string {
	parts := make([]string, len(params))
	for i, p := range params {
		parts[i] = "p." + url.QueryEscape(p.Name) + "=" + url.QueryEscape(p.Value)
	}
	return strings.Join(parts, "&")
}

// withParams puts the parameters in the URL's fragment, where QuickSight's
// embedded dashboard reads them (they never reach a server).
func withParams(embedURL string, params []Param) string {
	if len(params) == 0 {
		return embedURL
	}
	base, _, _ := strings.Cut(embedURL, "#")
	return base + "#" + encode(params)
}
