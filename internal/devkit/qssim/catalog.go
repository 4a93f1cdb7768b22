package qssim

import (
	"fmt"
	"slices"
	"time"
)

// Dashboard is a dashboard the simulator knows, for SearchDashboards. The
// simulator has no dashboard content: a dashboard is a name and who may see
// it. Embedding does not look here (any id of the right shape embeds).
type Dashboard struct {
	// ID must match [\w-]{1,512}, the API's dashboard ids.
	ID   string
	Name string
	// LastUpdated is LastUpdatedTime and LastPublishedTime; zero means when
	// it was added, by Config.Now.
	LastUpdated time.Time
	// Viewers are the principals (QuickSight user ARNs; the simulator has no
	// groups) who may view the dashboard.
	Viewers []string
	// Owners may view it too, and are who the *_OWNER filters find.
	Owners []string
}

// Analysis is an analysis the simulator knows, for SearchAnalyses.
type Analysis struct {
	// ID must match [\w-]{1,512}, the API's analysis ids.
	ID   string
	Name string
	// LastUpdated is LastUpdatedTime; zero means when it was added.
	LastUpdated time.Time
	// Owners are the principals (QuickSight user ARNs) the analysis is
	// shared with; every search filter on a principal finds it for them.
	Owners []string
}

// contentRecord is a dashboard or an analysis as the searches see it.
type contentRecord struct {
	id, name string
	arn      string
	created  time.Time
	updated  time.Time
	version  int64    // dashboards: PublishedVersionNumber
	viewers  []string // may view: dashboards' Viewers and Owners
	owners   []string
}

// AddDashboard adds d, or replaces the dashboard of the same ID (a new
// published version, same CreatedTime), and returns its ARN. It panics if
// d.ID is not a valid dashboard id: that is a mistake in the test.
func (s *Simulator) AddDashboard(d Dashboard) string {
	mustBeID("dashboard", d.ID)
	s.mu.Lock()
	defer s.mu.Unlock()
	rec := s.putContentLocked(s.dashboards, "dashboard", d.ID, d.Name, d.LastUpdated)
	rec.version++
	rec.owners = slices.Clone(d.Owners)
	rec.viewers = slices.Concat(d.Viewers, d.Owners)
	return rec.arn
}

// AddAnalysis adds a, or replaces the analysis of the same ID, and returns
// its ARN. It panics if a.ID is not a valid analysis id.
func (s *Simulator) AddAnalysis(a Analysis) string {
	mustBeID("analysis", a.ID)
	s.mu.Lock()
	defer s.mu.Unlock()
	rec := s.putContentLocked(s.analyses, "analysis", a.ID, a.Name, a.LastUpdated)
	rec.owners = slices.Clone(a.Owners)
	rec.viewers = slices.Clone(a.Owners)
	return rec.arn
}

// putContentLocked stores the record of id in m, keeping the creation time
// and version of an earlier one; s.mu must be held.
func (s *Simulator) putContentLocked(m map[string]*contentRecord, kind, id, name string, updated time.Time) *contentRecord {
	now := s.now()
	if updated.IsZero() {
		updated = now
	}
	rec := &contentRecord{id: id, name: name, updated: updated, created: now,
		arn: fmt.Sprintf("arn:aws:quicksight:%s:%s:%s/%s", s.cfg.Region, s.cfg.AccountID, kind, id)}
	if old, ok := m[id]; ok {
		rec.created, rec.version = old.created, old.version
	}
	// Nothing is updated before it exists.
	if updated.Before(rec.created) {
		rec.created = updated
	}
	m[id] = rec
	return rec
}

func mustBeID(kind, id string) {
	if !idPattern.MatchString(id) {
		panic(fmt.Sprintf("qssim: %s id %q must match [\\w-]{1,512}", kind, id))
	}
}
