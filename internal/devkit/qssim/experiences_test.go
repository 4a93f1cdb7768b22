package qssim_test

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/quicksight/types"

	"github.com/qsgate/qsgate/internal/devkit/qssim"
)

var on = true

// Each feature configuration the SDK can send reaches the simulator as the
// field it names, and the call records exactly what was sent.
func TestFeatureConfigurationsRecorded(t *testing.T) {
	srv := startSim(t, nil)
	admin := srv.AddUser(qssim.User{UserName: "root", Role: "ADMIN_PRO"})
	qs := client(srv.URL(), oneAttempt)

	console := func(f *types.RegisteredUserConsoleFeatureConfigurations) *types.RegisteredUserEmbeddingExperienceConfiguration {
		return &types.RegisteredUserEmbeddingExperienceConfiguration{QuickSightConsole: &types.RegisteredUserQuickSightConsoleEmbeddingConfiguration{
			InitialPath: aws.String("/start"), FeatureConfigurations: f}}
	}
	dashboard := func(f *types.RegisteredUserDashboardFeatureConfigurations) *types.RegisteredUserEmbeddingExperienceConfiguration {
		return &types.RegisteredUserEmbeddingExperienceConfiguration{Dashboard: &types.RegisteredUserDashboardEmbeddingConfiguration{
			InitialDashboardId: aws.String("d-1"), FeatureConfigurations: f}}
	}
	tests := []struct {
		name string
		exp  *types.RegisteredUserEmbeddingExperienceConfiguration
		want []string // nil: no FeatureConfigurations on the wire
	}{
		{"console without features", console(nil), nil},
		{"console, empty", console(&types.RegisteredUserConsoleFeatureConfigurations{}), []string{}},
		{"console, every feature", console(&types.RegisteredUserConsoleFeatureConfigurations{
			StatePersistence:              &types.StatePersistenceConfigurations{Enabled: on},
			SharedView:                    &types.SharedViewConfigurations{Enabled: on},
			Schedules:                     &types.SchedulesConfigurations{Enabled: on},
			RecentSnapshots:               &types.RecentSnapshotsConfigurations{Enabled: on},
			ThresholdAlerts:               &types.ThresholdAlertsConfigurations{Enabled: on},
			DashboardCustomizationSummary: &types.DashboardCustomizationSummaryConfigurations{Enabled: on},
			AmazonQInQuickSight: &types.AmazonQInQuickSightConsoleConfigurations{
				DataQnA:             &types.DataQnAConfigurations{Enabled: on},
				DataStories:         &types.DataStoriesConfigurations{Enabled: on},
				ExecutiveSummary:    &types.ExecutiveSummaryConfigurations{Enabled: on},
				GenerativeAuthoring: &types.GenerativeAuthoringConfigurations{Enabled: on},
			},
		}), []string{
			"AmazonQInQuickSight.DataQnA", "AmazonQInQuickSight.DataStories", "AmazonQInQuickSight.ExecutiveSummary",
			"AmazonQInQuickSight.GenerativeAuthoring", "DashboardCustomizationSummary", "RecentSnapshots",
			"Schedules", "SharedView", "StatePersistence", "ThresholdAlerts",
		}},
		{"console, one off", console(&types.RegisteredUserConsoleFeatureConfigurations{
			StatePersistence: &types.StatePersistenceConfigurations{Enabled: false},
		}), []string{"StatePersistence=false"}},
		{"dashboard, every feature", dashboard(&types.RegisteredUserDashboardFeatureConfigurations{
			StatePersistence:              &types.StatePersistenceConfigurations{Enabled: on},
			SharedView:                    &types.SharedViewConfigurations{Enabled: on},
			Bookmarks:                     &types.BookmarksConfigurations{Enabled: on},
			Schedules:                     &types.SchedulesConfigurations{Enabled: on},
			RecentSnapshots:               &types.RecentSnapshotsConfigurations{Enabled: on},
			ThresholdAlerts:               &types.ThresholdAlertsConfigurations{Enabled: on},
			DashboardCustomizationSummary: &types.DashboardCustomizationSummaryConfigurations{Enabled: on},
			AmazonQInQuickSight:           &types.AmazonQInQuickSightDashboardConfigurations{ExecutiveSummary: &types.ExecutiveSummaryConfigurations{Enabled: on}},
		}), []string{
			"AmazonQInQuickSight.ExecutiveSummary", "Bookmarks", "DashboardCustomizationSummary", "RecentSnapshots",
			"Schedules", "SharedView", "StatePersistence", "ThresholdAlerts",
		}},
		{"dashboard, bookmarks only", dashboard(&types.RegisteredUserDashboardFeatureConfigurations{
			Bookmarks: &types.BookmarksConfigurations{Enabled: on},
		}), []string{"Bookmarks"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv.Reset()
			out, err := registeredEmbedURL(t, qs, admin, tt.exp, nil)
			if err != nil {
				t.Fatalf("GenerateEmbedUrlForRegisteredUser: %v", err)
			}
			calls := srv.Calls()
			if len(calls) != 1 {
				t.Fatalf("%d calls, want 1", len(calls))
			}
			if got := calls[0].Features; (got == nil) != (tt.want == nil) || !slices.Equal(got, tt.want) {
				t.Errorf("Features = %#v, want %#v", got, tt.want)
			}
			// The page lists what was asked for.
			_, _, body := get(t, aws.ToString(out.EmbedUrl))
			for _, f := range tt.want {
				if !strings.Contains(body, `<li data-feature="`+f+`">`) {
					t.Errorf("page does not list feature %s", f)
				}
			}
			if len(tt.want) == 0 && strings.Contains(body, `id="qs-features"`) {
				t.Errorf("page lists features, none were sent")
			}
		})
	}
}

// Generative Q&A and one visual are open to readers, answer /embedding/
// URLs, and check their ids as the API reference does.
func TestQnAAndVisualExperiences(t *testing.T) {
	srv := startSim(t, nil)
	reader := srv.AddUser(qssim.User{UserName: "rita", Role: "READER"})
	qs := client(srv.URL(), oneAttempt)

	qna := func(topic *string) *types.RegisteredUserEmbeddingExperienceConfiguration {
		return &types.RegisteredUserEmbeddingExperienceConfiguration{GenerativeQnA: &types.RegisteredUserGenerativeQnAEmbeddingConfiguration{InitialTopicId: topic}}
	}
	visual := func(d, s, v string) *types.RegisteredUserEmbeddingExperienceConfiguration {
		return &types.RegisteredUserEmbeddingExperienceConfiguration{DashboardVisual: &types.RegisteredUserDashboardVisualEmbeddingConfiguration{
			InitialDashboardVisualId: &types.DashboardVisualId{DashboardId: aws.String(d), SheetId: aws.String(s), VisualId: aws.String(v)}}}
	}
	tests := []struct {
		name           string
		exp            *types.RegisteredUserEmbeddingExperienceConfiguration
		wantExperience string
		wantPath       string
		wantCode       string
		wantPage       []string
	}{
		{"Q&A, every topic", qna(nil), "GenerativeQnA", "/q/generative", "",
			[]string{`<h1>Embedded Generative Q&amp;A</h1>`, `id="qs-topic-id"><`, `id="qs-role">READER<`}},
		{"Q&A, one topic", qna(aws.String("sales_topic-1")), "GenerativeQnA", "/q/generative/topics/sales_topic-1", "",
			[]string{`id="qs-topic-id">sales_topic-1<`}},
		{"Q&A, a topic id with . and +", qna(aws.String("a.b+c")), "GenerativeQnA", "/q/generative/topics/a.b+c", "", nil},
		{"Q&A, topic with a slash", qna(aws.String("a/b")), "GenerativeQnA", "", qssim.ErrInvalidParameterValue, nil},
		{"Q&A, topic ..", qna(aws.String("..")), "GenerativeQnA", "", qssim.ErrInvalidParameterValue, nil},
		{"Q&A, topic of 257", qna(aws.String(strings.Repeat("t", 257))), "GenerativeQnA", "", qssim.ErrInvalidParameterValue, nil},
		{"visual", visual("sales", "sheet_1", "visual-9"), "DashboardVisual", "/dashboards/sales/sheets/sheet_1/visuals/visual-9", "",
			[]string{`<h1>Embedded visual</h1>`, `id="qs-visual-dashboard-id">sales<`, `id="qs-sheet-id">sheet_1<`, `id="qs-visual-id">visual-9<`}},
		{"visual, bad sheet", visual("sales", "a b", "v"), "DashboardVisual", "", qssim.ErrInvalidParameterValue, nil},
		{"visual, empty visual", visual("sales", "s", ""), "DashboardVisual", "", qssim.ErrInvalidParameterValue, nil},
		{"visual, id of 513", visual(strings.Repeat("d", 513), "s", "v"), "DashboardVisual", "", qssim.ErrInvalidParameterValue, nil},
	}
	shape := regexp.MustCompile(`^http://127\.0\.0\.1:\d+/embedding/[0-9a-f]{32}(/[\w/.+-]+)\?code=[A-Za-z0-9_-]{20,}&identityprovider=quicksight&isauthcode=true$`)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv.Reset()
			out, err := registeredEmbedURL(t, qs, reader, tt.exp, nil)
			if got := apiCode(t, err); got != tt.wantCode {
				t.Fatalf("error code = %q (%v), want %q", got, err, tt.wantCode)
			}
			calls := srv.Calls()
			if len(calls) != 1 || calls[0].Experience != tt.wantExperience {
				t.Fatalf("Calls() = %+v, want one call with Experience %s", calls, tt.wantExperience)
			}
			if err != nil {
				return
			}
			if calls[0].EntryPoint != tt.wantPath {
				t.Errorf("EntryPoint = %q, want %q", calls[0].EntryPoint, tt.wantPath)
			}
			url := aws.ToString(out.EmbedUrl)
			if m := shape.FindStringSubmatch(url); m == nil || m[1] != tt.wantPath {
				t.Errorf("EmbedUrl = %q, want %s/embedding/{32 hex}%s?code=...", url, srv.URL(), tt.wantPath)
			}
			if !embedURLShape.MatchString(url) {
				t.Errorf("EmbedUrl %q does not match the embedding SDK pattern", url)
			}
			status, _, body := get(t, url)
			if status != 200 {
				t.Fatalf("open = %d, want 200: %s", status, body)
			}
			if !strings.Contains(body, `id="qs-experience">`+tt.wantExperience+`<`) {
				t.Errorf("page does not name the %s experience", tt.wantExperience)
			}
			for _, want := range tt.wantPage {
				if !strings.Contains(body, want) {
					t.Errorf("page does not contain %q", want)
				}
			}
			if strings.Contains(body, `id="qs-parameters"`) {
				t.Errorf("page reads dashboard parameters; only dashboards take them")
			}
		})
	}

	t.Run("the console is still refused to readers", func(t *testing.T) {
		_, err := registeredEmbedURL(t, qs, reader, consoleAt("/start"), nil)
		if got := apiCode(t, err); got != qssim.ErrAccessDenied {
			t.Errorf("reader's console: %q, want %s", got, qssim.ErrAccessDenied)
		}
	})
}
