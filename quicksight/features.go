package quicksight

import (
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/quicksight/types"
)

// Feature configurations of the registered-user API: GenerateEmbedUrlForRegisteredUser
// turns every newer capability of the console and the Dashboard experience
// off unless the request turns it on. The names are QSGATE_CONSOLE_FEATURES'
// and QSGATE_DASHBOARD_FEATURES'; each sets one field of the SDK's feature
// configurations to {Enabled: true}. The q-* features are Amazon Q's: they
// need Pro users, and Client.AmazonQGroups may keep them to some users.

// featureTable maps each name a list accepts to the field it turns on, in
// the order the settings document them.
type featureTable[T any] []struct {
	name string
	on   func(*T)
}

var consoleFeatures = featureTable[types.RegisteredUserConsoleFeatureConfigurations]{
	{"state-persistence", func(f *types.RegisteredUserConsoleFeatureConfigurations) {
		f.StatePersistence = &types.StatePersistenceConfigurations{Enabled: true}
	}},
	{"shared-view", func(f *types.RegisteredUserConsoleFeatureConfigurations) {
		f.SharedView = &types.SharedViewConfigurations{Enabled: true}
	}},
	{"schedules", func(f *types.RegisteredUserConsoleFeatureConfigurations) {
		f.Schedules = &types.SchedulesConfigurations{Enabled: true}
	}},
	{"recent-snapshots", func(f *types.RegisteredUserConsoleFeatureConfigurations) {
		f.RecentSnapshots = &types.RecentSnapshotsConfigurations{Enabled: true}
	}},
	{"threshold-alerts", func(f *types.RegisteredUserConsoleFeatureConfigurations) {
		f.ThresholdAlerts = &types.ThresholdAlertsConfigurations{Enabled: true}
	}},
	{"customization-summary", func(f *types.RegisteredUserConsoleFeatureConfigurations) {
		f.DashboardCustomizationSummary = &types.DashboardCustomizationSummaryConfigurations{Enabled: true}
	}},
	{"q-data-qna", func(f *types.RegisteredUserConsoleFeatureConfigurations) {
		consoleQ(f).DataQnA = &types.DataQnAConfigurations{Enabled: true}
	}},
	{"q-generative-authoring", func(f *types.RegisteredUserConsoleFeatureConfigurations) {
		consoleQ(f).GenerativeAuthoring = &types.GenerativeAuthoringConfigurations{Enabled: true}
	}},
	{"q-executive-summary", func(f *types.RegisteredUserConsoleFeatureConfigurations) {
		consoleQ(f).ExecutiveSummary = &types.ExecutiveSummaryConfigurations{Enabled: true}
	}},
	{"q-data-stories", func(f *types.RegisteredUserConsoleFeatureConfigurations) {
		consoleQ(f).DataStories = &types.DataStoriesConfigurations{Enabled: true}
	}},
}

var dashboardFeatures = featureTable[types.RegisteredUserDashboardFeatureConfigurations]{
	{"state-persistence", func(f *types.RegisteredUserDashboardFeatureConfigurations) {
		f.StatePersistence = &types.StatePersistenceConfigurations{Enabled: true}
	}},
	{"shared-view", func(f *types.RegisteredUserDashboardFeatureConfigurations) {
		f.SharedView = &types.SharedViewConfigurations{Enabled: true}
	}},
	{"bookmarks", func(f *types.RegisteredUserDashboardFeatureConfigurations) {
		f.Bookmarks = &types.BookmarksConfigurations{Enabled: true}
	}},
	{"schedules", func(f *types.RegisteredUserDashboardFeatureConfigurations) {
		f.Schedules = &types.SchedulesConfigurations{Enabled: true}
	}},
	{"recent-snapshots", func(f *types.RegisteredUserDashboardFeatureConfigurations) {
		f.RecentSnapshots = &types.RecentSnapshotsConfigurations{Enabled: true}
	}},
	{"threshold-alerts", func(f *types.RegisteredUserDashboardFeatureConfigurations) {
		f.ThresholdAlerts = &types.ThresholdAlertsConfigurations{Enabled: true}
	}},
	{"customization-summary", func(f *types.RegisteredUserDashboardFeatureConfigurations) {
		f.DashboardCustomizationSummary = &types.DashboardCustomizationSummaryConfigurations{Enabled: true}
	}},
	{"q-executive-summary", func(f *types.RegisteredUserDashboardFeatureConfigurations) {
		if f.AmazonQInQuickSight == nil {
			f.AmazonQInQuickSight = &types.AmazonQInQuickSightDashboardConfigurations{}
		}
		f.AmazonQInQuickSight.ExecutiveSummary = &types.ExecutiveSummaryConfigurations{Enabled: true}
	}},
}

func consoleQ(f *types.RegisteredUserConsoleFeatureConfigurations) *types.AmazonQInQuickSightConsoleConfigurations {
	if f.AmazonQInQuickSight == nil {
		f.AmazonQInQuickSight = &types.AmazonQInQuickSightConsoleConfigurations{}
	}
	return f.AmazonQInQuickSight
}

// ConsoleFeatureNames are the names QSGATE_CONSOLE_FEATURES accepts, in
// the documented order.
func ConsoleFeatureNames() []string { return consoleFeatures.names() }

// DashboardFeatureNames are the names QSGATE_DASHBOARD_FEATURES accepts, in
// the documented order.
func DashboardFeatureNames() []string { return dashboardFeatures.names() }

// CheckConsoleFeatures returns names in the documented order, each once,
// or an error naming every one the console experience does not have.
func CheckConsoleFeatures(names []string) ([]string, error) { return consoleFeatures.check(names) }

// CheckDashboardFeatures is CheckConsoleFeatures for the Dashboard
// experience.
func CheckDashboardFeatures(names []string) ([]string, error) { return dashboardFeatures.check(names) }

// IsAmazonQFeature reports whether a feature is one of Amazon Q's (q-*),
// which need Pro users.
func IsAmazonQFeature(name string) bool { return strings.HasPrefix(name, "q-") }

func (ft featureTable[T]) names() []string {
	out := make([]string, len(ft))
	for i, f := range ft {
		out[i] = f.name
	}
	return out
}

func (ft featureTable[T]) check(names []string) ([]string, error) {
	known := ft.names()
	var unknown []string
	for _, n := range names {
		if !slices.Contains(known, n) {
			unknown = append(unknown, fmt.Sprintf("%q", n))
		}
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("unknown feature %s; the names are %s", strings.Join(unknown, ", "), strings.Join(known, ", "))
	}
	return slices.DeleteFunc(known, func(n string) bool { return !slices.Contains(names, n) }), nil
}

// build is the feature configuration that turns on names (checked ones)
// and nothing else, leaving the q-* features out unless amazonQ; nil when
// that leaves none, so the request carries no FeatureConfigurations at all.
func (ft featureTable[T]) build(names []string, amazonQ bool) *T {
	var out *T
	for _, f := range ft {
		if !slices.Contains(names, f.name) || (IsAmazonQFeature(f.name) && !amazonQ) {
			continue
		}
		if out == nil {
			out = new(T)
		}
		f.on(out)
	}
	return out
}
