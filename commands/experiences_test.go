package commands

import (
	"io"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/oauth2-proxy/mockoidc"

	"github.com/qsgate/qsgate/internal/devkit/qssim"
)

// registeredUserCalls are the GenerateEmbedUrlForRegisteredUser calls.
func registeredUserCalls(sim *qssim.Server) []qssim.Call {
	var out []qssim.Call
	for _, c := range sim.Calls() {
		if c.Operation == "GenerateEmbedUrlForRegisteredUser" {
			out = append(out, c)
		}
	}
	return out
}

// The whole program sends the features the settings name, and only to
// their experience, with QSGATE_AMAZON_Q_GROUPS keeping the q-* ones to
// its members; a warm view is still one AWS call.
func TestFeaturesThroughTheWholeProgram(t *testing.T) {
	s := startStack(t, map[string]string{
		"QSGATE_QUICKSIGHT_API":       "registered-user",
		"QSGATE_DASHBOARD_EXPERIENCE": "dashboard",
		"QSGATE_CONSOLE_FEATURES":     "state-persistence,shared-view,schedules,recent-snapshots,threshold-alerts,customization-summary,q-data-qna,q-generative-authoring,q-executive-summary,q-data-stories",
		"QSGATE_DASHBOARD_FEATURES":   "bookmarks,state-persistence,q-executive-summary",
		"QSGATE_AMAZON_Q_GROUPS":      "qs-pro",
		// qs-pro is in no other setting: the session keeps it for Q alone.
		"QSGATE_ALLOWED_GROUPS": "qs-users",
	})
	allConsole := []string{
		"AmazonQInQuickSight.DataQnA", "AmazonQInQuickSight.DataStories", "AmazonQInQuickSight.ExecutiveSummary",
		"AmazonQInQuickSight.GenerativeAuthoring", "DashboardCustomizationSummary", "RecentSnapshots",
		"Schedules", "SharedView", "StatePersistence", "ThresholdAlerts",
	}
	plainConsole := slices.DeleteFunc(slices.Clone(allConsole), func(f string) bool { return strings.HasPrefix(f, "AmazonQ") })
	tests := []struct {
		name      string
		who       mockoidc.User
		path      string
		wantExp   string
		wantFeats []string
	}{
		{"Pro member, console", member(alice, "qs-users", "qs-pro"), "/embed/start", "QuickSightConsole", allConsole},
		{"other member, console", member(alice, "qs-users"), "/embed/start", "QuickSightConsole", plainConsole},
		{"Pro member, dashboard", member(alice, "qs-pro", "qs-users"), "/embed/dashboards/sales", "Dashboard",
			[]string{"AmazonQInQuickSight.ExecutiveSummary", "Bookmarks", "StatePersistence"}},
		{"other member, dashboard", member(rita, "qs-users"), "/embed/dashboards/sales", "Dashboard", []string{"Bookmarks", "StatePersistence"}},
		{"Q&A carries no features", member(rita, "qs-users", "qs-pro"), "/embed/qna", "GenerativeQnA", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBrowser(t)
			s.sim.Reset()
			if p := s.signIn(b, tt.who, tt.path); p.status != 200 {
				t.Fatalf("first view: %s\n%s", p, p.body)
			}
			calls := registeredUserCalls(s.sim)
			if len(calls) != 1 {
				t.Fatalf("%d embed calls, want 1", len(calls))
			}
			if c := calls[0]; c.Experience != tt.wantExp || !slices.Equal(c.Features, tt.wantFeats) || (tt.wantFeats == nil) != (c.Features == nil) {
				t.Errorf("call = %s %q, want %s %q", c.Experience, c.Features, tt.wantExp, tt.wantFeats)
			}
			s.sim.Reset()
			if p := b.get(s.url + tt.path); p.status != 200 {
				t.Fatalf("warm view: %s", p)
			}
			if got := callCounts(s.sim); got["GenerateEmbedUrlForRegisteredUser"] != 1 || len(got) != 1 {
				t.Errorf("warm view calls = %v, want exactly one GenerateEmbedUrlForRegisteredUser", got)
			}
		})
	}
}

// A feature list, or Q&A, with the session API stops start-up, naming the
// variable; so does an unknown feature.
func TestFeatureSettingsRefusedAtStartUp(t *testing.T) {
	base := validOffline()
	for _, tt := range []struct {
		name string
		set  map[string]string
		want string
	}{
		{"console features, session API", map[string]string{"QSGATE_CONSOLE_FEATURES": "state-persistence"},
			"QSGATE_CONSOLE_FEATURES: needs QSGATE_QUICKSIGHT_API=registered-user"},
		{"dashboard features, session API", map[string]string{"QSGATE_DASHBOARD_FEATURES": "bookmarks"},
			"QSGATE_DASHBOARD_FEATURES: needs QSGATE_QUICKSIGHT_API=registered-user"},
		{"Q&A, session API", map[string]string{"QSGATE_QNA": "true"}, "QSGATE_QNA: needs QSGATE_QUICKSIGHT_API=registered-user"},
		{"unknown feature", map[string]string{"QSGATE_QUICKSIGHT_API": "registered-user", "QSGATE_CONSOLE_FEATURES": "bookmarks"},
			`QSGATE_CONSOLE_FEATURES: unknown feature "bookmarks"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			env := maps.Clone(base)
			maps.Copy(env, tt.set)
			_, err := build(t.Context(), func(k string) string { return env[k] }, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("build error = %v, want it to contain %q", err, tt.want)
			}
			var out strings.Builder
			if err := Run(t.Context(), "dev", []string{"check-config", "--env-file", "/dev/null"}, func(k string) string { return env[k] }, &out, io.Discard); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("check-config = %v, want it to refuse with %q", err, tt.want)
			}
		})
	}
}

// Readers open Q&A and one visual with the registered-user API; bad ids
// make no AWS call; under the session API the routes are a 404 page and
// make none either.
func TestQnAAndVisualThroughTheWholeProgram(t *testing.T) {
	t.Run("registered-user", func(t *testing.T) {
		s := startStack(t, map[string]string{"QSGATE_QUICKSIGHT_API": "registered-user", "QSGATE_QNA": "true"})
		b := newBrowser(t)
		home := s.signIn(b, rita, "/")
		if !strings.Contains(home.body, `href="/embed/qna"`) {
			t.Errorf("home page does not offer Q&A:\n%s", home.body)
		}
		for _, tt := range []struct{ path, experience, simPath string }{
			{"/embed/qna", "GenerativeQnA", "/q/generative"},
			{"/embed/qna/sales-topic", "GenerativeQnA", "/q/generative/topics/sales-topic"},
			{"/embed/visual/sales/sheet-1/visual-7", "DashboardVisual", "/dashboards/sales/sheets/sheet-1/visuals/visual-7"},
		} {
			s.sim.Reset()
			p := b.get(s.url + tt.path)
			if p.status != 200 {
				t.Fatalf("%s: %s\n%s", tt.path, p, p.body)
			}
			if src := iframeSrc(t, p); !strings.HasPrefix(src, s.sim.URL()+"/embedding/") || !strings.Contains(src, tt.simPath+"?") {
				t.Errorf("%s: iframe src %q, want the simulator's /embedding/ URL at %s", tt.path, src, tt.simPath)
			}
			calls := registeredUserCalls(s.sim)
			if len(calls) != 1 || calls[0].Experience != tt.experience || calls[0].UserArn != arnOf(rita.Email) {
				t.Errorf("%s: calls = %+v, want one %s call for rita", tt.path, calls, tt.experience)
			}
		}
		if logs := s.logs.String(); !strings.Contains(logs, "experience=GenerativeQnA") || !strings.Contains(logs, "experience=DashboardVisual") {
			t.Errorf("the audit lines do not name the experience:\n%s", grepLines(logs, "time="))
		}
		s.sim.Reset()
		for _, bad := range []string{"/embed/qna/a.b", "/embed/visual/d/s%2Fx/v", "/embed/visual/d/s/v%20x"} {
			if p := b.get(s.url + bad); p.status != 400 {
				t.Errorf("%s = %d, want 400", bad, p.status)
			}
		}
		if n := len(s.sim.Calls()); n != 0 {
			t.Errorf("bad ids made %d AWS calls, want 0", n)
		}
	})
	t.Run("session", func(t *testing.T) {
		s := startStack(t, nil)
		b := newBrowser(t)
		p := s.signIn(b, alice, "/embed/qna")
		if p.status != 404 || !strings.Contains(p.body, "registered-user") {
			t.Errorf("/embed/qna under the session API: %s, want the 404 page naming the registered-user API\n%s", p, p.body)
		}
		if p := b.get(s.url + "/embed/visual/d/s/v"); p.status != 404 {
			t.Errorf("/embed/visual under the session API: %s, want 404", p)
		}
		status, _, body := apiGet(t, b, s.url+"/api/embed-url?entry-point=/qna")
		if status != 404 || body["error"] == "" {
			t.Errorf("API /qna under the session API: %d %v, want 404 JSON", status, body)
		}
		if n := len(s.sim.Calls()); n != 0 {
			t.Errorf("%d AWS calls, want none: %+v", n, s.sim.Calls())
		}
	})
}

// doctor and check-config print the features each experience gets, and
// doctor notes a user whose role is not a Pro one when q-* features are on.
func TestDoctorAndCheckConfigPrintFeatures(t *testing.T) {
	w := newDoctorWorld(t, qssim.Config{})
	settings := map[string]string{
		"QSGATE_QUICKSIGHT_API":     "registered-user",
		"QSGATE_CONSOLE_FEATURES":   "state-persistence,q-data-qna",
		"QSGATE_DASHBOARD_FEATURES": "bookmarks",
		"QSGATE_AMAZON_Q_GROUPS":    "qs-pro",
	}
	out, err := w.doctor(t, settings, alice.Email)
	if err != nil {
		t.Fatalf("doctor = %v\n%s", err, out)
	}
	for _, want := range []string{
		"info QSGATE_CONSOLE_FEATURES: state-persistence, q-data-qna (q-* only for members of qs-pro)",
		"info QSGATE_DASHBOARD_FEATURES: bookmarks (not used: dashboards open in the console)",
		"info QSGATE_AMAZON_Q_GROUPS: qs-pro",
		"info alice@example.com is AUTHOR, not a Pro role: QuickSight gives the Amazon Q features (q-data-qna) to Pro users only",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("doctor output lacks %q:\n%s", want, out)
		}
	}
	// Without features, nothing about them.
	if out, _ := w.doctor(t, nil, alice.Email); strings.Contains(out, "FEATURES") || strings.Contains(out, "Pro role") {
		t.Errorf("doctor without features mentions them:\n%s", out)
	}

	env := maps.Clone(w.env)
	maps.Copy(env, settings)
	var summary strings.Builder
	if err := Run(t.Context(), "dev", []string{"check-config", "--env-file", "/dev/null"}, func(k string) string { return env[k] }, &summary, io.Discard); err != nil {
		t.Fatalf("check-config = %v", err)
	}
	for _, want := range []string{"QSGATE_CONSOLE_FEATURES              state-persistence, q-data-qna (q-* only for members of qs-pro)", "QSGATE_QNA                           false"} {
		if !strings.Contains(summary.String(), want) {
			t.Errorf("check-config lacks %q:\n%s", want, summary.String())
		}
	}
}
