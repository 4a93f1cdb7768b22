package quicksight

import (
	"testing"
	"time"

	"github.com/qsgate/qsgate/audit"
	"github.com/qsgate/qsgate/internal/devkit/qssim"
)

// In iam mode with registration, a first view assumes the role once and
// registers once, however many views race it, and each is one event;
// a warm view records nothing.
func TestIAMRoleAssumedAndRegistrationAudited(t *testing.T) {
	t.Parallel()
	sim := startSim(t, qssim.Config{Roles: []string{testRole}})
	dir, _ := newDirectory(sim, qssim.DefaultRegion, false)
	rec := &audit.Memory{}
	dir.RecordTo(rec)
	m, err := NewIAMMapper(testRole, stsClient(sim), dir, true, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	p := Person{Claims: claims{"email": "bob@corp.test"}, Namespace: "default", Role: "AUTHOR"}
	if _, errs := atOnce(20, func(int) (Identity, error) { return m.Identity(t.Context(), p) }); errs[0] != nil {
		t.Fatal(errs[0])
	}
	got := map[string][]audit.Event{}
	for _, e := range rec.Take() {
		got[e.Event] = append(got[e.Event], e)
	}
	if len(got) != 2 || len(got[audit.RoleAssumed]) != 1 || len(got[audit.UserRegistered]) != 1 {
		t.Fatalf("events %+v, want one role_assumed and one user_registered", got)
	}
	if e := got[audit.RoleAssumed][0]; e.RoleARN != testRole || e.RoleSession != "bob@corp.test" || e.Email != "bob@corp.test" {
		t.Errorf("role_assumed = %+v, want %s, session bob@corp.test", e, testRole)
	}
	wantARN := sim.UserARN("default", "QuickSightEmbed/bob@corp.test")
	if e := got[audit.UserRegistered][0]; e.UserARN != wantARN || e.Role != "AUTHOR" || e.Namespace != "default" || e.Email != "bob@corp.test" ||
		e.RoleARN != testRole || e.AWSRequestID == "" {
		t.Errorf("user_registered = %+v, want %s, AUTHOR in default, with the role and QuickSight's request id", e, wantARN)
	}
	if _, err := m.Identity(t.Context(), p); err != nil {
		t.Fatal(err)
	}
	if l := rec.Take(); len(l) != 0 {
		t.Errorf("a warm view recorded %+v", l)
	}
}
