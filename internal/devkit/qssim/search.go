package qssim

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// A searchKind is what differs between SearchDashboards and SearchAnalyses.
type searchKind struct {
	op         string // the operation, also in the next token
	nameFilter string // the filter on the name, with StringLike
}

var (
	dashboardSearch = searchKind{op: "SearchDashboards", nameFilter: "DASHBOARD_NAME"}
	analysisSearch  = searchKind{op: "SearchAnalyses", nameFilter: "ANALYSIS_NAME"}

	// principalFilters are the filter names that take a principal's ARN,
	// with StringEquals. Without groups or folders, the DIRECT_ ones find
	// what the others find.
	principalFilters = []string{
		"QUICKSIGHT_USER", "QUICKSIGHT_VIEWER_OR_OWNER", "DIRECT_QUICKSIGHT_VIEWER_OR_OWNER",
		"QUICKSIGHT_OWNER", "DIRECT_QUICKSIGHT_OWNER", "DIRECT_QUICKSIGHT_SOLE_OWNER",
	}
	principalPattern = regexp.MustCompile(`^arn:aws[a-z-]*:quicksight:[a-z0-9-]+:[0-9]{12}:(user|group)/[^/]+/.+$`)
)

// searchQuery is a checked Filters list: one principal filter, at most one
// name filter.
type searchQuery struct {
	filter    string // the principal filter's name
	principal string
	name      string // substring of the name, "" for any
}

// searchDashboards is SearchDashboards: POST /accounts/{account}/search/dashboards
func (s *Simulator) searchDashboards(_ *http.Request, body []byte, c *Call) (map[string]any, *apiError) {
	page, next, e := s.search(body, c, dashboardSearch, s.dashboards)
	if e != nil {
		return nil, e
	}
	list := make([]map[string]any, 0, len(page))
	for _, d := range page {
		list = append(list, map[string]any{
			"Arn": d.arn, "DashboardId": d.id, "Name": d.name,
			"CreatedTime": epochSeconds(d.created), "LastUpdatedTime": epochSeconds(d.updated),
			"LastPublishedTime": epochSeconds(d.updated), "PublishedVersionNumber": d.version,
		})
	}
	return withNextToken(map[string]any{"DashboardSummaryList": list}, next), nil
}

// searchAnalyses is SearchAnalyses: POST /accounts/{account}/search/analyses
func (s *Simulator) searchAnalyses(_ *http.Request, body []byte, c *Call) (map[string]any, *apiError) {
	page, next, e := s.search(body, c, analysisSearch, s.analyses)
	if e != nil {
		return nil, e
	}
	list := make([]map[string]any, 0, len(page))
	for _, a := range page {
		list = append(list, map[string]any{
			"Arn": a.arn, "AnalysisId": a.id, "Name": a.name, "Status": "CREATION_SUCCESSFUL",
			"CreatedTime": epochSeconds(a.created), "LastUpdatedTime": epochSeconds(a.updated),
		})
	}
	return withNextToken(map[string]any{"AnalysisSummaryList": list}, next), nil
}

// search checks the request and returns one page of what the principal may
// see, sorted by name then id, and the next token ("" on the last page).
// c.UserArn becomes the principal filtered on, so FailUser applies.
func (s *Simulator) search(body []byte, c *Call, kind searchKind, all map[string]*contentRecord) ([]contentRecord, string, *apiError) {
	var in struct {
		Filters []struct {
			Operator, Name string
			Value          *string
		}
		MaxResults *int64
		NextToken  *string
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, "", newError(ErrInvalidParameterValue, "The request body is not valid JSON.")
	}
	var q searchQuery
	var problem *apiError
	names := 0
	for _, f := range in.Filters {
		value := ""
		if f.Value != nil {
			value = *f.Value
		}
		switch {
		case f.Operator != "StringEquals" && f.Operator != "StringLike":
			problem = cmp.Or(problem, newError(ErrInvalidParameterValue, fmt.Sprintf("Filter operator %q is not valid: use StringEquals or StringLike.", f.Operator)))
		case f.Name == kind.nameFilter:
			names++
			q.name = value
			if f.Operator != "StringLike" || value == "" {
				problem = cmp.Or(problem, newError(ErrInvalidParameterValue, fmt.Sprintf("The %s filter takes the StringLike operator and a non-empty Value.", kind.nameFilter)))
			}
		case slices.Contains(principalFilters, f.Name):
			if q.filter != "" {
				problem = cmp.Or(problem, newError(ErrInvalidParameterValue, fmt.Sprintf(
					"Filters can hold only one filter on a principal (%s); got %s and %s.", strings.Join(principalFilters, ", "), q.filter, f.Name)))
				continue
			}
			q.filter, q.principal = f.Name, value
			if f.Operator != "StringEquals" || !principalPattern.MatchString(value) {
				problem = cmp.Or(problem, newError(ErrInvalidParameterValue, fmt.Sprintf(
					"The %s filter takes the StringEquals operator and a QuickSight user or group ARN as Value, got %s %q.", f.Name, f.Operator, value)))
			}
		default:
			problem = cmp.Or(problem, newError(ErrInvalidParameterValue, fmt.Sprintf(
				"Filter name %q is not valid for %s: use one of %s, or %s.", f.Name, kind.op, strings.Join(principalFilters, ", "), kind.nameFilter)))
		}
	}
	c.UserArn = q.principal
	if e := s.userFault(c.UserArn); e != nil {
		return nil, "", e
	}
	switch {
	case problem != nil:
		return nil, "", problem
	case names > 1:
		return nil, "", newError(ErrInvalidParameterValue, fmt.Sprintf("Filters can hold only one %s filter.", kind.nameFilter))
	case q.filter == "":
		return nil, "", newError(ErrInvalidParameterValue, fmt.Sprintf(
			"Filters must hold one filter on a principal (%s) with the StringEquals operator: the simulator searches for a user.", strings.Join(principalFilters, ", ")))
	}
	limit := int64(100)
	if in.MaxResults != nil {
		if *in.MaxResults < 1 || *in.MaxResults > 100 {
			return nil, "", newError(ErrInvalidParameterValue, "MaxResults must be between 1 and 100.")
		}
		limit = *in.MaxResults
	}
	var from [2]string // name and id of the first item of this page
	if tok := deref(in.NextToken); tok != "" {
		b, err := base64.RawURLEncoding.DecodeString(tok)
		rest, ok := strings.CutPrefix(string(b), "qssim:"+kind.op+":")
		if err != nil || !ok || json.Unmarshal([]byte(rest), &from) != nil {
			return nil, "", newError(ErrInvalidNextToken, "The NextToken is not valid.")
		}
	}

	s.mu.Lock()
	var found []contentRecord
	for _, rec := range all {
		if q.matches(rec) && cmp.Or(cmp.Compare(rec.name, from[0]), cmp.Compare(rec.id, from[1])) >= 0 {
			found = append(found, *rec)
		}
	}
	s.mu.Unlock()
	slices.SortFunc(found, func(a, b contentRecord) int { return cmp.Or(cmp.Compare(a.name, b.name), cmp.Compare(a.id, b.id)) })
	if int64(len(found)) <= limit {
		return found, "", nil
	}
	key, _ := json.Marshal([2]string{found[limit].name, found[limit].id}) // two strings always encode
	return found[:limit], base64.RawURLEncoding.EncodeToString(append([]byte("qssim:"+kind.op+":"), key...)), nil
}

// matches reports whether the query finds rec.
func (q searchQuery) matches(rec *contentRecord) bool {
	if q.name != "" && !strings.Contains(strings.ToLower(rec.name), strings.ToLower(q.name)) {
		return false
	}
	switch q.filter {
	case "QUICKSIGHT_OWNER", "DIRECT_QUICKSIGHT_OWNER":
		return slices.Contains(rec.owners, q.principal)
	case "DIRECT_QUICKSIGHT_SOLE_OWNER":
		return len(rec.owners) > 0 && !slices.ContainsFunc(rec.owners, func(o string) bool { return o != q.principal })
	}
	return slices.Contains(rec.viewers, q.principal)
}

// epochSeconds is a timestamp as the REST-JSON protocol sends it: seconds
// since the epoch, a JSON number with a fraction.
func epochSeconds(t time.Time) json.Number {
	return json.Number(strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', -1, 64))
}

func withNextToken(out map[string]any, next string) map[string]any {
	if next != "" {
		out["NextToken"] = next
	}
	return out
}

// deref is the value of an optional string: "" for nil.
func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
