package handlers

import (
	"strings"

	"github.com/qsgate/qsgate/quicksight"
)

// cachedLister is a catalog that tells what it last listed for a user
// without listing again (quicksight.Catalog).
type cachedLister interface {
	Cached(userARN string) ([]quicksight.Item, bool)
}

// listedName is the name of the dashboard or analysis at entryPoint
// (/dashboards/ID or /analyses/ID) in the listing the home page was given
// for userARN, so the embed page's bar can name it instead of showing its
// id; "" when it is not known (no catalog, no listing kept, not listed). It
// asks AWS for nothing: a view costs one embed call, warm or not. A
// listing holds at most a few thousand items, so a scan costs a view
// microseconds at worst.
func listedName(catalog ContentLister, userARN, entryPoint string) string {
	cl, ok := catalog.(cachedLister)
	if !ok {
		return ""
	}
	kind, id, ok := strings.Cut(strings.TrimPrefix(entryPoint, "/"), "/")
	if !ok || (kind != "dashboards" && kind != "analyses") {
		return ""
	}
	items, ok := cl.Cached(userARN)
	if !ok {
		return ""
	}
	for _, it := range items {
		if it.ID == id && it.Kind == kind {
			return it.Name
		}
	}
	return ""
}
