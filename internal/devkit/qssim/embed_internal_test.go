package qssim

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestSessionRetention: an opened session is kept for its whole lifetime
// (up to 10 hours), so its page is not told "ended" an hour in; unopened
// URLs are forgotten after an hour.
func TestSessionRetention(t *testing.T) {
	t0 := time.Now()
	opened := func(minutes int64) embedSession {
		return embedSession{embedRequest: embedRequest{lifetime: minutes}, issuedAt: t0, used: true, openedAt: t0.Add(time.Minute)}
	}
	tests := []struct {
		name  string
		sess  embedSession
		after time.Duration
		want  bool
	}{
		{"unopened, 59 minutes", embedSession{issuedAt: t0}, 59 * time.Minute, false},
		{"unopened, 61 minutes", embedSession{issuedAt: t0}, 61 * time.Minute, true},
		{"opened for 10 hours, 2 hours in", opened(600), 2 * time.Hour, false},
		{"opened for 10 hours, an hour after", opened(600), 11*time.Hour + time.Minute, false},
		{"opened for 10 hours, over an hour after", opened(600), 11*time.Hour + 2*time.Minute, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.sess.forgettable(t0.Add(tt.after)); got != tt.want {
				t.Errorf("forgettable after %v = %v, want %v", tt.after, got, tt.want)
			}
		})
	}
}

// TestIssuedURLsPruned: issuing keeps the map of sessions bounded. The
// sweep for forgettable ones runs at most once a minute, not on every
// issue (it reads every session under the lock).
func TestIssuedURLsPruned(t *testing.T) {
	now := time.Now()
	s, err := New(Config{AccountID: "123456789012", Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("POST", "/", nil)
	issue := func() {
		s.issueEmbedURL(r, userRecord{User: User{UserName: "u"}}, embedRequest{api: "GetSessionEmbedUrl", entryPoint: "/start"})
	}
	count := func() int { s.mu.Lock(); defer s.mu.Unlock(); return len(s.sessions) }

	issue()
	issue()
	now = now.Add(sessionRetention + time.Second) // both forgettable now
	issue()
	if got := count(); got != 1 {
		t.Fatalf("after an hour: %d sessions kept, want 1 (the new one)", got)
	}
	t0 := now                                       // the kept one's issue time
	now = t0.Add(sessionRetention - 10*time.Second) // a sweep; nothing forgettable yet
	issue()
	now = t0.Add(sessionRetention + 20*time.Second) // the first is forgettable, but 30 s since the sweep
	issue()
	if got := count(); got != 3 {
		t.Fatalf("%d sessions, want 3: no sweep within a minute of the last", got)
	}
	now = t0.Add(sessionRetention + 51*time.Second) // a minute since the sweep
	issue()
	if got := count(); got != 3 {
		t.Fatalf("%d sessions, want 3: the sweep dropped the forgettable one", got)
	}
}

// TestFeaturesRefusedUnlessModelled: members an experience's
// FeatureConfigurations does not have, and features without a boolean
// Enabled, are refused (the SDK never sends them).
func TestFeaturesRefusedUnlessModelled(t *testing.T) {
	tests := []struct {
		name, experience, features string
		want                       string // part of the message; "" for accepted
	}{
		{"console bookmarks", experienceConsole, `{"Bookmarks":{"Enabled":true}}`, `has no member "Bookmarks"`},
		{"dashboard data Q&A", experienceDashboard, `{"AmazonQInQuickSight":{"DataQnA":{"Enabled":true}}}`, `has no member "DataQnA"`},
		{"dashboard bookmarks", experienceDashboard, `{"Bookmarks":{"Enabled":true}}`, ""},
		{"no Enabled", experienceConsole, `{"StatePersistence":{}}`, "StatePersistence.Enabled is required"},
		{"Enabled a string", experienceConsole, `{"StatePersistence":{"Enabled":"true"}}`, "StatePersistence.Enabled is required"},
		{"a member beside Enabled", experienceConsole, `{"SharedView":{"Enabled":true,"Shared":1}}`, `has no member "Shared"`},
		{"not an object", experienceDashboard, `[1]`, "must be an object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, e := readFeatures(tt.experience, []byte(tt.features))
			switch {
			case tt.want == "" && e != nil:
				t.Errorf("readFeatures(%s) = %v, want it accepted", tt.features, e.message)
			case tt.want != "" && (e == nil || e.code != ErrInvalidParameterValue || !strings.Contains(e.message, tt.want)):
				t.Errorf("readFeatures(%s) = %+v, want InvalidParameterValueException saying %q", tt.features, e, tt.want)
			}
		})
	}
}
