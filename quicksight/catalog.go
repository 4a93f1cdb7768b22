package quicksight

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/quicksight"
	"github.com/aws/aws-sdk-go-v2/service/quicksight/types"
	"golang.org/x/sync/singleflight"

	"github.com/qsgate/qsgate/ttlcache"
)

// CatalogAPI is the part of the SDK client that lists content.
type CatalogAPI interface {
	SearchDashboards(ctx context.Context, in *quicksight.SearchDashboardsInput, opts ...func(*quicksight.Options)) (*quicksight.SearchDashboardsOutput, error)
	SearchAnalyses(ctx context.Context, in *quicksight.SearchAnalysesInput, opts ...func(*quicksight.Options)) (*quicksight.SearchAnalysesOutput, error)
}

// Item is a dashboard or an analysis a user may open.
type Item struct {
	Kind    string // "dashboards" or "analyses": the /embed path segment
	ID      string
	Name    string
	Updated time.Time
}

// Catalog lists the dashboards and analyses a user may open
// (SearchDashboards and SearchAnalyses filtered on the user's ARN, which
// counts permissions through groups and folders), cached per user for a
// few minutes. A listing runs detached from the page that asked: a page
// that stops waiting still gets the next view's answer from the cache.
type Catalog struct {
	api       CatalogAPI
	accountID string
	timeout   time.Duration
	cache     *ttlcache.Cache[string, []Item]
	failed    *ttlcache.Cache[string, error] // a failed listing, kept briefly
	flight    singleflight.Group
}

// Bounds of one user's listing.
const (
	CatalogTTL = 3 * time.Minute
	// catalogRetry is how long a failed listing is remembered, so a
	// missing permission does not cost two AWS calls on every home view.
	catalogRetry = time.Minute
	catalogPages = 10 // 1,000 dashboards and 1,000 analyses at most
	catalogUsers = 5000
)

// NewCatalog lists through api; each listing gets timeout.
func NewCatalog(api CatalogAPI, accountID string, timeout time.Duration) *Catalog {
	return &Catalog{api: api, accountID: accountID, timeout: timeout,
		cache:  ttlcache.New[string, []Item](catalogUsers, CatalogTTL),
		failed: ttlcache.New[string, error](catalogUsers, catalogRetry)}
}

// Cached is userARN's listing while the catalog keeps it; it lists
// nothing and asks AWS for nothing.
func (c *Catalog) Cached(userARN string) ([]Item, bool) { return c.cache.Peek(userARN) }

// For returns what userARN may open: dashboards then analyses, each by
// name. It waits for a listing only as long as ctx allows; errors are
// *Error, or the ctx's.
func (c *Catalog) For(ctx context.Context, userARN string) ([]Item, error) {
	if items, ok := c.cache.Get(userARN); ok {
		return items, nil
	}
	if err, ok := c.failed.Get(userARN); ok {
		return nil, err
	}
	ch := c.flight.DoChan(userARN, func() (any, error) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.timeout)
		defer cancel()
		items, err := c.list(ctx, userARN)
		if err != nil {
			c.failed.Add(userARN, err)
			return nil, err
		}
		c.cache.Add(userARN, items)
		return items, nil
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.([]Item), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (c *Catalog) list(ctx context.Context, userARN string) ([]Item, error) {
	var items []Item
	var next *string
	for range catalogPages {
		out, err := c.api.SearchDashboards(ctx, &quicksight.SearchDashboardsInput{
			AwsAccountId: aws.String(c.accountID), MaxResults: aws.Int32(100), NextToken: next,
			Filters: []types.DashboardSearchFilter{{Name: types.DashboardFilterAttributeQuicksightUser,
				Operator: types.FilterOperatorStringEquals, Value: aws.String(userARN)}},
		})
		if err != nil {
			return nil, classify("SearchDashboards", err)
		}
		for _, d := range out.DashboardSummaryList {
			items = append(items, Item{Kind: "dashboards", ID: aws.ToString(d.DashboardId), Name: aws.ToString(d.Name), Updated: aws.ToTime(d.LastUpdatedTime)})
		}
		if next = out.NextToken; aws.ToString(next) == "" {
			break
		}
	}
	next = nil
	for range catalogPages {
		out, err := c.api.SearchAnalyses(ctx, &quicksight.SearchAnalysesInput{
			AwsAccountId: aws.String(c.accountID), MaxResults: aws.Int32(100), NextToken: next,
			Filters: []types.AnalysisSearchFilter{{Name: types.AnalysisFilterAttributeQuicksightUser,
				Operator: types.FilterOperatorStringEquals, Value: aws.String(userARN)}},
		})
		if err != nil {
			return nil, classify("SearchAnalyses", err)
		}
		for _, a := range out.AnalysisSummaryList {
			if a.Status == types.ResourceStatusDeleted {
				continue
			}
			items = append(items, Item{Kind: "analyses", ID: aws.ToString(a.AnalysisId), Name: aws.ToString(a.Name), Updated: aws.ToTime(a.LastUpdatedTime)})
		}
		if next = out.NextToken; aws.ToString(next) == "" {
			break
		}
	}
	// Only ids that the embed routes accept are offered.
	items = slices.DeleteFunc(items, func(it Item) bool { return !ValidID(it.ID) })
	slices.SortStableFunc(items, func(a, b Item) int {
		return cmp.Or(cmp.Compare(b.Kind, a.Kind), cmp.Compare(a.Name, b.Name))
	})
	return items, nil
}
