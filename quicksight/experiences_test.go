package quicksight

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/qsgate/qsgate/internal/devkit/qssim"
)

// registeredClient is the registered-user client the gateway builds, aimed
// at sim.
func registeredClient(sim *qssim.Server) *Client {
	c := newClient(sim, qssim.DefaultRegion, nil)
	c.RegisteredUser = true
	return c
}

// Each feature name reaches the wire as the field it names, with Enabled
// true, and nothing else: through the real SDK to the simulator, which
// records the FeatureConfigurations it received.
func TestEachFeatureReachesTheWire(t *testing.T) {
	sim := startSim(t, qssim.Config{})
	author := sim.AddUser(qssim.User{UserName: "arthur", Role: "AUTHOR_PRO"})
	wire := map[string]string{
		"state-persistence":      "StatePersistence",
		"shared-view":            "SharedView",
		"bookmarks":              "Bookmarks",
		"schedules":              "Schedules",
		"recent-snapshots":       "RecentSnapshots",
		"threshold-alerts":       "ThresholdAlerts",
		"customization-summary":  "DashboardCustomizationSummary",
		"q-data-qna":             "AmazonQInQuickSight.DataQnA",
		"q-generative-authoring": "AmazonQInQuickSight.GenerativeAuthoring",
		"q-executive-summary":    "AmazonQInQuickSight.ExecutiveSummary",
		"q-data-stories":         "AmazonQInQuickSight.DataStories",
	}
	for _, exp := range []struct {
		name       string
		names      []string
		entryPoint string
		set        func(c *Client, names []string)
	}{
		{ExperienceConsole, ConsoleFeatureNames(), "/start", func(c *Client, n []string) { c.ConsoleFeatures = n }},
		{ExperienceDashboard, DashboardFeatureNames(), "/dashboards/sales", func(c *Client, n []string) { c.DashboardFeatures = n }},
	} {
		for _, name := range exp.names {
			t.Run(exp.name+" "+name, func(t *testing.T) {
				c := registeredClient(sim)
				c.DashboardExperience = true
				exp.set(c, []string{name})
				n := len(sim.Calls())
				emb, err := c.EmbedURL(t.Context(), Identity{UserARN: author}, Target{EntryPoint: exp.entryPoint})
				if err != nil || emb.Experience != exp.name {
					t.Fatalf("EmbedURL = %+v, %v; want the %s experience", emb, err, exp.name)
				}
				calls := since(sim, n)
				if len(calls) != 1 || calls[0].Experience != exp.name {
					t.Fatalf("calls = %+v, want one %s call", calls, exp.name)
				}
				if got, want := calls[0].Features, []string{wire[name]}; !slices.Equal(got, want) {
					t.Errorf("%s sent FeatureConfigurations %q, want %q", name, got, want)
				}
			})
		}
	}

	t.Run("every console feature at once, in one request", func(t *testing.T) {
		c := registeredClient(sim)
		c.ConsoleFeatures = ConsoleFeatureNames()
		n := len(sim.Calls())
		if _, err := c.EmbedURL(t.Context(), Identity{UserARN: author}, Target{EntryPoint: "/start"}); err != nil {
			t.Fatal(err)
		}
		if got := since(sim, n)[0].Features; len(got) != 10 || slices.ContainsFunc(got, func(f string) bool { return strings.HasSuffix(f, "=false") }) {
			t.Errorf("features = %q, want all 10 enabled", got)
		}
	})
	t.Run("no features: no FeatureConfigurations", func(t *testing.T) {
		c := registeredClient(sim)
		c.DashboardFeatures = []string{"bookmarks"} // the console's list is empty
		n := len(sim.Calls())
		if _, err := c.EmbedURL(t.Context(), Identity{UserARN: author}, Target{EntryPoint: "/dashboards/sales"}); err != nil {
			t.Fatal(err)
		}
		if got := since(sim, n)[0]; got.Experience != ExperienceConsole || got.Features != nil {
			t.Errorf("call = %s %q, want the console with no FeatureConfigurations", got.Experience, got.Features)
		}
	})
}

// With QSGATE_AMAZON_Q_GROUPS set, only members get the q-* features;
// everyone gets the rest. Without it, everyone gets all of them.
func TestAmazonQGroupsGate(t *testing.T) {
	sim := startSim(t, qssim.Config{})
	author := sim.AddUser(qssim.User{UserName: "arthur", Role: "AUTHOR_PRO"})
	tests := []struct {
		name   string
		gate   []string
		groups []string
		want   []string
	}{
		{"no gate", nil, nil, []string{"AmazonQInQuickSight.DataQnA", "StatePersistence"}},
		{"member", []string{"q-users", "q-admins"}, []string{"finance", "q-admins"}, []string{"AmazonQInQuickSight.DataQnA", "StatePersistence"}},
		{"not a member", []string{"q-users"}, []string{"finance"}, []string{"StatePersistence"}},
		{"no groups kept", []string{"q-users"}, nil, []string{"StatePersistence"}},
		{"a group of another case", []string{"q-users"}, []string{"Q-Users"}, []string{"StatePersistence"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := registeredClient(sim)
			c.ConsoleFeatures, c.AmazonQGroups = []string{"state-persistence", "q-data-qna"}, tt.gate
			n := len(sim.Calls())
			if _, err := c.EmbedURL(t.Context(), Identity{UserARN: author, Groups: tt.groups}, Target{EntryPoint: "/start"}); err != nil {
				t.Fatal(err)
			}
			if got := since(sim, n)[0].Features; !slices.Equal(got, tt.want) {
				t.Errorf("features = %q, want %q", got, tt.want)
			}
		})
	}
	t.Run("only q-* features, not a member: none sent", func(t *testing.T) {
		c := registeredClient(sim)
		c.ConsoleFeatures, c.AmazonQGroups = []string{"q-data-qna"}, []string{"q-users"}
		n := len(sim.Calls())
		if _, err := c.EmbedURL(t.Context(), Identity{UserARN: author}, Target{EntryPoint: "/start"}); err != nil {
			t.Fatal(err)
		}
		if got := since(sim, n)[0].Features; got != nil {
			t.Errorf("features = %q, want no FeatureConfigurations", got)
		}
	})
}

// Q&A and one visual open for readers with the registered-user API; ids
// are checked before any call; the session API refuses them before any
// call.
func TestQnAAndVisualEmbeds(t *testing.T) {
	sim := startSim(t, qssim.Config{})
	reader := sim.AddUser(qssim.User{UserName: "rita", Role: "READER"})
	tests := []struct {
		name, entryPoint string
		wantExperience   string
		wantPath         string // the simulator's entry point
		wantErr          error
	}{
		{"Q&A", "/qna", ExperienceQnA, "/q/generative", nil},
		{"Q&A at a topic", "/qna/sales-topic_1", ExperienceQnA, "/q/generative/topics/sales-topic_1", nil},
		{"visual", "/visual/sales/sheet-1/visual_2", ExperienceVisual, "/dashboards/sales/sheets/sheet-1/visuals/visual_2", nil},
		{"topic with a dot", "/qna/a.b", "", "", ErrBadEntryPoint},
		{"topic of 257", "/qna/" + strings.Repeat("t", 257), "", "", ErrBadEntryPoint},
		{"Q&A with a slash", "/qna/", "", "", ErrBadEntryPoint},
		{"visual of two ids", "/visual/sales/sheet-1", "", "", ErrBadEntryPoint},
		{"visual of four ids", "/visual/sales/sheet-1/v/x", "", "", ErrBadEntryPoint},
		{"visual, encoded slash", "/visual/sales/sheet%2F1/v", "", "", ErrBadEntryPoint},
		{"visual, traversal", "/visual/../sheet/v", "", "", ErrBadEntryPoint},
	}
	c := registeredClient(sim)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := len(sim.Calls())
			emb, err := c.EmbedURL(t.Context(), Identity{UserARN: reader, Role: "READER"}, Target{EntryPoint: tt.entryPoint})
			calls := since(sim, n)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || len(calls) != 0 {
					t.Fatalf("EmbedURL(%q) = %v after %d calls, want %v and no call", tt.entryPoint, err, len(calls), tt.wantErr)
				}
				return
			}
			if err != nil || emb.Experience != tt.wantExperience || emb.Dashboard {
				t.Fatalf("EmbedURL(%q) = %+v, %v; want the %s experience", tt.entryPoint, emb, err, tt.wantExperience)
			}
			if len(calls) != 1 || calls[0].Experience != tt.wantExperience || calls[0].EntryPoint != tt.wantPath || calls[0].Features != nil {
				t.Errorf("calls = %+v, want one %s call at %s without features", calls, tt.wantExperience, tt.wantPath)
			}
			if !strings.Contains(emb.URL, "/embedding/") {
				t.Errorf("URL %q is not an /embedding/ URL", emb.URL)
			}
			if page := openEmbed(t, emb.URL); !strings.Contains(page, `id="qs-experience">`+tt.wantExperience+`<`) {
				t.Errorf("the URL does not open the %s experience", tt.wantExperience)
			}
		})
	}

	t.Run("dashboard parameters only for dashboards", func(t *testing.T) {
		_, err := c.EmbedURL(t.Context(), Identity{UserARN: reader}, Target{EntryPoint: "/visual/d/s/v", Params: []Param{{Name: "Region", Value: "EU"}}})
		if !errors.Is(err, ErrBadParams) {
			t.Errorf("visual with parameters: %v, want ErrBadParams", err)
		}
	})

	t.Run("the session API refuses them before any call", func(t *testing.T) {
		session := newClient(sim, qssim.DefaultRegion, nil)
		for _, ep := range []string{"/qna", "/qna/t", "/visual/d/s/v"} {
			n := len(sim.Calls())
			if err := session.Supports(ep); !errors.Is(err, ErrNeedsRegisteredUser) {
				t.Errorf("Supports(%q) = %v, want ErrNeedsRegisteredUser", ep, err)
			}
			if _, err := session.EmbedURL(t.Context(), Identity{UserARN: reader}, Target{EntryPoint: ep}); !errors.Is(err, ErrNeedsRegisteredUser) {
				t.Errorf("EmbedURL(%q) = %v, want ErrNeedsRegisteredUser", ep, err)
			}
			if got := len(since(sim, n)); got != 0 {
				t.Errorf("%s: %d AWS calls, want none", ep, got)
			}
		}
		for _, ep := range []string{"/start", "/dashboards/d"} {
			if err := session.Supports(ep); err != nil {
				t.Errorf("Supports(%q) = %v, want nil", ep, err)
			}
		}
	})

	t.Run("a refused reader is not told to become an author", func(t *testing.T) {
		sim.FailUser(reader, qssim.ErrAccessDenied)
		defer sim.ClearFaults()
		_, err := c.EmbedURL(t.Context(), Identity{UserARN: reader, Role: "READER"}, Target{EntryPoint: "/qna"})
		if !errors.Is(err, ErrAccessDenied) || errors.Is(err, ErrNotAuthor) {
			t.Errorf("reader's Q&A refused: %v, want ErrAccessDenied, not ErrNotAuthor", err)
		}
	})
}

func TestCheckFeatures(t *testing.T) {
	got, err := CheckConsoleFeatures([]string{"q-data-qna", "state-persistence", "q-data-qna"})
	if want := []string{"state-persistence", "q-data-qna"}; err != nil || !slices.Equal(got, want) {
		t.Errorf("CheckConsoleFeatures = %q, %v; want %q (documented order, once each)", got, err, want)
	}
	for _, tt := range []struct {
		name  string
		check func([]string) ([]string, error)
		list  []string
		want  string
	}{
		{"bookmarks in the console", CheckConsoleFeatures, []string{"bookmarks"}, `unknown feature "bookmarks"`},
		{"data Q&A in a dashboard", CheckDashboardFeatures, []string{"q-data-qna", "q-data-stories"}, `unknown feature "q-data-qna", "q-data-stories"`},
		{"another case", CheckConsoleFeatures, []string{"State-Persistence"}, `unknown feature "State-Persistence"`},
	} {
		if _, err := tt.check(tt.list); err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "state-persistence, shared-view") {
			t.Errorf("%s: %v, want an error saying %s and naming the features", tt.name, err, tt.want)
		}
	}
}
