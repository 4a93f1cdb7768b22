package handlers

import (
	"context"
	"strings"

	"github.com/qsgate/qsgate/quicksight"
	"github.com/qsgate/qsgate/ttlcache"
)

// namedCatalog is the home page's catalog, keeping each user's last listing
// so the embed page's bar can name a dashboard or analysis instead of
// showing its id. It asks AWS for nothing itself: a view looks the name up
// in what the home page was already given (a view costs one embed call,
// warm or not), and a user who never opened the home page, or whose
// listing ended, sees the id as before. The slices are the catalog's own,
// not copies.
type namedCatalog struct {
	ContentLister
	listed *ttlcache.Cache[string, []quicksight.Item] // by user ARN
}

// namedUsers is as many users as quicksight.Catalog keeps listings for.
const namedUsers = 5000

func rememberNames(l ContentLister) *namedCatalog {
	return &namedCatalog{ContentLister: l, listed: ttlcache.New[string, []quicksight.Item](namedUsers, quicksight.CatalogTTL)}
}

// For is the catalog's For, remembering what it listed.
func (n *namedCatalog) For(ctx context.Context, userARN string) ([]quicksight.Item, error) {
	items, err := n.ContentLister.For(ctx, userARN)
	if err == nil {
		n.listed.Add(userARN, items)
	}
	return items, err
}

// name is the name of the dashboard or analysis at entryPoint
// (/dashboards/ID or /analyses/ID) in userARN's last listing; "" when it is
// not known (or n is nil: no catalog). A listing holds at most a few
// thousand items, so a scan costs a view microseconds at worst.
func (n *namedCatalog) name(userARN, entryPoint string) string {
	if n == nil {
		return ""
	}
	kind, id, ok := strings.Cut(strings.TrimPrefix(entryPoint, "/"), "/")
	if !ok || (kind != "dashboards" && kind != "analyses") {
		return ""
	}
	items, ok := n.listed.Get(userARN)
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
