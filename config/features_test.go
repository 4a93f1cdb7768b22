package config

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// registeredUser is valid() with the registered-user API and set.
func registeredUser(set map[string]string) map[string]string {
	env := valid()
	env["QSGATE_QUICKSIGHT_API"] = "registered-user"
	for k, v := range set {
		env[k] = v
	}
	return env
}

// The feature lists are read in the documented order, once each; Q's
// groups are kept by the session; nothing is on by default.
func TestFeatureSettings(t *testing.T) {
	c, err := Load(getenv(valid()))
	if err != nil {
		t.Fatal(err)
	}
	if c.ConsoleFeatures != nil || c.DashboardFeatures != nil || c.AmazonQGroups != nil || c.QnA {
		t.Errorf("defaults: features %q %q, Q groups %q, Q&A %v; want none and false", c.ConsoleFeatures, c.DashboardFeatures, c.AmazonQGroups, c.QnA)
	}

	c, err = Load(getenv(registeredUser(map[string]string{
		"QSGATE_CONSOLE_FEATURES":     " q-data-stories, state-persistence ,q-data-stories",
		"QSGATE_DASHBOARD_FEATURES":   "bookmarks,q-executive-summary",
		"QSGATE_DASHBOARD_EXPERIENCE": "dashboard",
		"QSGATE_AMAZON_Q_GROUPS":      "q-users, analysts",
		"QSGATE_ADMIN_GROUPS":         "admins",
		"QSGATE_QNA":                  "true",
	})))
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want []string
	}{
		{"ConsoleFeatures", c.ConsoleFeatures, []string{"state-persistence", "q-data-stories"}},
		{"DashboardFeatures", c.DashboardFeatures, []string{"bookmarks", "q-executive-summary"}},
		{"AmazonQGroups", c.AmazonQGroups, []string{"q-users", "analysts"}},
		{"GroupsKept", c.GroupsKept(), []string{"admins", "analysts", "q-users"}},
	}
	for _, ch := range checks {
		if !slices.Equal(ch.got, ch.want) {
			t.Errorf("%s = %q, want %q", ch.name, ch.got, ch.want)
		}
	}
	if !c.QnA {
		t.Errorf("QnA = false, want true")
	}
	summary := c.Summary()
	for _, want := range []string{
		"QSGATE_CONSOLE_FEATURES              state-persistence, q-data-stories (q-* only for members of q-users, analysts)",
		"QSGATE_DASHBOARD_FEATURES            bookmarks, q-executive-summary (q-* only for members of q-users, analysts)",
		"QSGATE_AMAZON_Q_GROUPS               q-users,analysts",
		"QSGATE_QNA                           true",
	} {
		if !strings.Contains(summary, want) {
			t.Errorf("summary lacks %q:\n%s", want, summary)
		}
	}
	if len(c.Warnings()) != 0 {
		t.Errorf("warnings %q, want none", c.Warnings())
	}
}

// An unknown feature, or a feature list or Q&A with the session API, stops
// start-up with a message naming the variable and what to do.
func TestFeatureProblems(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want []string // every problem, in order
	}{
		{"unknown console feature", registeredUser(map[string]string{"QSGATE_CONSOLE_FEATURES": "state-persistence,bookmarks"}), []string{
			`QSGATE_CONSOLE_FEATURES: unknown feature "bookmarks"; the names are state-persistence, shared-view, schedules, recent-snapshots, threshold-alerts, customization-summary, q-data-qna, q-generative-authoring, q-executive-summary, q-data-stories`,
		}},
		{"unknown dashboard feature", registeredUser(map[string]string{"QSGATE_DASHBOARD_FEATURES": "q-data-qna"}), []string{
			`QSGATE_DASHBOARD_FEATURES: unknown feature "q-data-qna"; the names are state-persistence, shared-view, bookmarks, schedules, recent-snapshots, threshold-alerts, customization-summary, q-executive-summary`,
		}},
		{"console features with the session API", map[string]string{"QSGATE_CONSOLE_FEATURES": "state-persistence"}, []string{
			"QSGATE_CONSOLE_FEATURES: needs QSGATE_QUICKSIGHT_API=registered-user: GetSessionEmbedUrl cannot turn features on; set QSGATE_QUICKSIGHT_API=registered-user, or leave QSGATE_CONSOLE_FEATURES empty",
		}},
		{"dashboard features with the session API, one unknown", map[string]string{"QSGATE_DASHBOARD_FEATURES": "bookmarks,stories"}, []string{
			"QSGATE_DASHBOARD_FEATURES: needs QSGATE_QUICKSIGHT_API=registered-user: GetSessionEmbedUrl cannot turn features on; set QSGATE_QUICKSIGHT_API=registered-user, or leave QSGATE_DASHBOARD_FEATURES empty",
			`QSGATE_DASHBOARD_FEATURES: unknown feature "stories"; the names are`,
		}},
		{"Q&A with the session API", map[string]string{"QSGATE_QNA": "true"}, []string{
			"QSGATE_QNA: needs QSGATE_QUICKSIGHT_API=registered-user (GetSessionEmbedUrl has only the console); set it, or QSGATE_QNA=false",
		}},
		{"Q&A not a boolean", registeredUser(map[string]string{"QSGATE_QNA": "maybe"}), []string{`QSGATE_QNA: must be true or false, got "maybe"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := valid()
			for k, v := range tt.env {
				env[k] = v
			}
			_, err := Load(getenv(env))
			var ps Problems
			if !errors.As(err, &ps) || len(ps) != len(tt.want) {
				t.Fatalf("Load = %v, want %d problem(s)", err, len(tt.want))
			}
			for i, want := range tt.want {
				if got := ps[i].Var + ": " + ps[i].Rule; !strings.HasPrefix(got, want) {
					t.Errorf("problem %d = %q, want %q", i, got, want)
				}
			}
		})
	}
}

// Dashboard features with dashboards opening in the console start, with a
// warning and a summary that says they are not used.
func TestDashboardFeaturesUnusedWarns(t *testing.T) {
	c, err := Load(getenv(registeredUser(map[string]string{"QSGATE_DASHBOARD_FEATURES": "bookmarks"})))
	if err != nil {
		t.Fatal(err)
	}
	if w := c.Warnings(); len(w) != 1 || !strings.Contains(w[0], "QSGATE_DASHBOARD_EXPERIENCE=console") {
		t.Errorf("warnings = %q, want one naming QSGATE_DASHBOARD_EXPERIENCE=console", w)
	}
	if s := c.Summary(); !strings.Contains(s, "bookmarks (not used: dashboards open in the console)") {
		t.Errorf("summary does not say the dashboard features are unused:\n%s", s)
	}
}
