package demo_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/quicksight"
	"github.com/aws/aws-sdk-go-v2/service/quicksight/types"

	"github.com/qsgate/qsgate/config"
	"github.com/qsgate/qsgate/internal/devkit/demo"
)

func TestEmbeddingChoices(t *testing.T) {
	t.Parallel()
	if got, want := demo.APIs(), []string{"session", "registered-user"}; !slices.Equal(got, want) {
		t.Errorf("APIs() = %q, want %q", got, want)
	}
	if got, want := demo.DashboardExperiences(), []string{"console", "dashboard"}; !slices.Equal(got, want) {
		t.Errorf("DashboardExperiences() = %q, want %q", got, want)
	}
}

// TestEmbeddingSettings checks Options.API and Options.DashboardExperience
// become QSGATE_QUICKSIGHT_API and QSGATE_DASHBOARD_EXPERIENCE, and that the
// reader is told what the dashboard experience lets her open.
func TestEmbeddingSettings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		api, experience         string // Options
		wantAPI, wantExperience string // settings and Stack
		wantReader              string // part of rita's description
	}{
		{"", "", "session", "console", "QuickSight refuses readers the console"},
		{"session", "console", "session", "console", "QuickSight refuses readers the console"},
		{"registered-user", "", "registered-user", "console", "QuickSight refuses readers the console"},
		{"registered-user", "dashboard", "registered-user", "dashboard", "opens shared dashboards in the Dashboard experience"},
	}
	for _, tt := range tests {
		t.Run(tt.api+" "+tt.experience, func(t *testing.T) {
			t.Parallel()
			st, err := demo.Start(demo.Options{PublicURL: publicURL, API: tt.api, DashboardExperience: tt.experience})
			if err != nil {
				t.Fatalf("Start: %v", err)
			}
			t.Cleanup(st.Close)
			if got := st.Settings["QSGATE_QUICKSIGHT_API"]; got != tt.wantAPI {
				t.Errorf("QSGATE_QUICKSIGHT_API = %q, want %q", got, tt.wantAPI)
			}
			if got := st.Settings["QSGATE_DASHBOARD_EXPERIENCE"]; got != tt.wantExperience {
				t.Errorf("QSGATE_DASHBOARD_EXPERIENCE = %q, want %q", got, tt.wantExperience)
			}
			if st.API != tt.wantAPI || st.DashboardExperience != tt.wantExperience {
				t.Errorf("Stack.API, DashboardExperience = %q, %q; want %q, %q", st.API, st.DashboardExperience, tt.wantAPI, tt.wantExperience)
			}
			for _, u := range st.Users {
				if u.Subject == "rita" && !strings.Contains(u.Description, tt.wantReader) {
					t.Errorf("rita's description = %q, want it to contain %q", u.Description, tt.wantReader)
				}
			}
		})
	}
}

func TestEmbeddingSettingsRefused(t *testing.T) {
	t.Parallel()
	tests := []struct {
		api, experience string
		want            []string // in the error
	}{
		{"Registered-User", "", []string{`"Registered-User"`, "session", "registered-user"}},
		{"embed", "", []string{`"embed"`, "session", "registered-user"}},
		{"", "Dashboard", []string{`"Dashboard"`, "console", "dashboard"}},
		{"session", "dashboard", []string{"dashboard", "needs the registered-user API"}},
		{"", "dashboard", []string{"dashboard", "needs the registered-user API"}},
	}
	for _, tt := range tests {
		t.Run(tt.api+" "+tt.experience, func(t *testing.T) {
			t.Parallel()
			st, err := demo.Start(demo.Options{PublicURL: publicURL, API: tt.api, DashboardExperience: tt.experience})
			if err == nil {
				st.Close()
				t.Fatalf("Start(API %q, DashboardExperience %q) succeeded, want an error", tt.api, tt.experience)
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error = %q, want it to say %q", err, want)
				}
			}
		})
	}
}

// TestSettingsLoad gives every combination of mode, API and experience to
// the gateway's own configuration loader: the demo never hands the gateway
// settings it refuses.
func TestSettingsLoad(t *testing.T) {
	t.Parallel()
	for _, mapping := range demo.Mappings() {
		for _, opts := range []demo.Options{
			{},
			{API: "registered-user"},
			{API: "registered-user", DashboardExperience: "dashboard"},
		} {
			t.Run(mapping+" "+opts.API+" "+opts.DashboardExperience, func(t *testing.T) {
				t.Parallel()
				opts.PublicURL, opts.Mapping = publicURL, mapping
				st, err := demo.Start(opts)
				if err != nil {
					t.Fatalf("Start: %v", err)
				}
				t.Cleanup(st.Close)
				cfg, err := config.Load(func(k string) string { return st.Settings[k] })
				if err != nil {
					t.Fatalf("the gateway refuses the demo's settings: %v", err)
				}
				if cfg.QuickSightAPI != st.API || cfg.DashboardExperience != st.DashboardExperience {
					t.Errorf("gateway API, experience = %q, %q; want %q, %q", cfg.QuickSightAPI, cfg.DashboardExperience, st.API, st.DashboardExperience)
				}
				if st.API == "registered-user" && !slices.Equal(cfg.AllowedDomains, []string{publicURL}) {
					t.Errorf("gateway AllowedDomains = %q, want [%s]", cfg.AllowedDomains, publicURL)
				}
				// The registered-user API shows features, Q&A and a visual;
				// the session API none of them.
				registered := st.API == "registered-user"
				if got := len(cfg.ConsoleFeatures) > 0 && cfg.QnA && len(st.Examples()) == 2; got != registered {
					t.Errorf("console features %q, Q&A %v, examples %q; want them all only with the registered-user API", cfg.ConsoleFeatures, cfg.QnA, st.Examples())
				}
				if got := len(cfg.DashboardFeatures) > 0; got != (cfg.DashboardExperience == "dashboard") {
					t.Errorf("dashboard features %q with the %s experience", cfg.DashboardFeatures, cfg.DashboardExperience)
				}
				if w := cfg.Warnings(); len(w) > 0 {
					t.Errorf("the demo's settings warn: %q", w)
				}
			})
		}
	}
}

// TestRegisteredUserSettingsWork does what a gateway on the newer API does,
// with the real SDK and the settings: the portal's origin as the allowed
// domain, the Dashboard experience for rita (a reader) and the console for
// alice. QuickSight (the simulator) refuses rita the console.
func TestRegisteredUserSettingsWork(t *testing.T) {
	t.Parallel()
	st, err := demo.Start(demo.Options{PublicURL: publicURL, API: "registered-user", DashboardExperience: "dashboard"})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(st.Close)
	client := quickSightClient(st)
	dashboard := types.RegisteredUserEmbeddingExperienceConfiguration{
		Dashboard: &types.RegisteredUserDashboardEmbeddingConfiguration{InitialDashboardId: aws.String("sales-2026")}}
	console := types.RegisteredUserEmbeddingExperienceConfiguration{
		QuickSightConsole: &types.RegisteredUserQuickSightConsoleEmbeddingConfiguration{InitialPath: aws.String("/start")}}
	for _, tt := range []struct {
		user   string
		exp    types.RegisteredUserEmbeddingExperienceConfiguration
		what   string
		wantOK bool
	}{
		{"rita@example.com", dashboard, "the dashboard", true},
		{"alice@example.com", console, "the console", true},
		{"rita@example.com", console, "the console", false},
	} {
		_, err := client.GenerateEmbedUrlForRegisteredUser(t.Context(), &quicksight.GenerateEmbedUrlForRegisteredUserInput{
			AwsAccountId:            aws.String(demo.AccountID),
			UserArn:                 aws.String(st.Sim.UserARN("default", tt.user)),
			AllowedDomains:          []string{st.Settings["QSGATE_PUBLIC_URL"]},
			ExperienceConfiguration: &tt.exp,
		})
		if got := err == nil; got != tt.wantOK {
			t.Errorf("%s opens %s: err = %v, want success %t", tt.user, tt.what, err, tt.wantOK)
		}
	}
}
