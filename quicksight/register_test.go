package quicksight

import (
	"errors"
	"testing"
	"time"

	"github.com/qsgate/qsgate/internal/devkit/qssim"
	"github.com/qsgate/qsgate/ttlcache"
)

// TestFailedRegistrationIsRememberedBriefly: RegisterUser failing for a
// person is not called again on each of their views for a short while;
// those views get the same error, and once the while is over the next view
// tries again.
func TestFailedRegistrationIsRememberedBriefly(t *testing.T) {
	t.Parallel()
	for _, code := range []string{qssim.ErrAccessDenied, qssim.ErrInternalFailure} {
		t.Run(code, func(t *testing.T) {
			t.Parallel()
			sim := startSim(t, qssim.Config{})
			dir, _ := newDirectory(sim, qssim.DefaultRegion, false)
			m := NewRegisterMapper(NewLookupMapper(dir, nil, time.Hour), nil, "")
			p := Person{Claims: claims{"email": "fay@corp.test"}, Role: "AUTHOR"}
			sim.FailUser(sim.UserARN("default", "fay@corp.test"), code)

			_, first := m.Identity(t.Context(), p)
			var qe *Error
			if !errors.As(first, &qe) || qe.Code != code {
				t.Fatalf("first view: %v, want the RegisterUser error %s", first, code)
			}
			attempts := ops(sim.Calls())["RegisterUser"] // the SDK retries a 5xx
			for i := range 40 {
				if _, err := m.Identity(t.Context(), p); !errors.Is(err, qe.Kind) || err.Error() != first.Error() {
					t.Fatalf("view %d: %v, want the remembered %v", i, err, first)
				}
			}
			if got := ops(sim.Calls())["RegisterUser"]; got != attempts {
				t.Errorf("40 views after a failed registration made %d more RegisterUser calls, want 0", got-attempts)
			}
		})
	}
}

// TestFailedRegistrationTriedAgainAfterAWhile: the memory of a failed
// registration is brief: once it is over, the next view registers.
func TestFailedRegistrationTriedAgainAfterAWhile(t *testing.T) {
	t.Parallel()
	sim := startSim(t, qssim.Config{})
	dir, _ := newDirectory(sim, qssim.DefaultRegion, false)
	m := NewRegisterMapper(NewLookupMapper(dir, nil, time.Hour), nil, "")
	m.failed = ttlcache.New[string, error](failedSize, 300*time.Millisecond)
	p := Person{Claims: claims{"email": "gus@corp.test"}, Role: "AUTHOR"}
	arn := sim.UserARN("default", "gus@corp.test")
	sim.FailUser(arn, qssim.ErrAccessDenied)
	if _, err := m.Identity(t.Context(), p); !errors.Is(err, ErrAccessDenied) {
		t.Fatalf("first view: %v, want ErrAccessDenied", err)
	}
	sim.FailUser(arn, "") // fixed at once; the memory still answers for a while
	if _, err := m.Identity(t.Context(), p); !errors.Is(err, ErrAccessDenied) {
		t.Errorf("view right after: %v, want the remembered ErrAccessDenied", err)
	}
	if !eventually(func() bool { id, err := m.Identity(t.Context(), p); return err == nil && id.UserARN == arn }) {
		t.Errorf("the registration was never tried again")
	}
	if got := ops(sim.Calls())["RegisterUser"]; got != 2 {
		t.Errorf("RegisterUser calls = %d, want 2 (the failure, then the registration after the memory)", got)
	}
}

// TestRegistrationNotRememberedWhenNoCallWasMade: a registration the
// gateway's own budget held back never reached QuickSight; the next view
// tries at once.
func TestRegistrationNotRememberedWhenNoCallWasMade(t *testing.T) {
	t.Parallel()
	for _, kind := range []error{ErrOverloaded, ErrCanceled} {
		if rememberRegistration(&Error{Kind: kind}) {
			t.Errorf("a registration that failed with %v is remembered, want tried again at once", kind)
		}
	}
	for _, kind := range []error{ErrAccessDenied, ErrUnavailable, ErrThrottled, ErrTimeout, ErrRejected} {
		if !rememberRegistration(&Error{Kind: kind}) {
			t.Errorf("a registration that failed with %v is not remembered, want it kept briefly", kind)
		}
	}
}

// TestFindDoesNotRegister: Find is the mapping without the registration, for
// pages the person did not open QuickSight from (the home page, a link from
// another site): a person QuickSight does not know is ErrUserNotFound and
// nothing is created.
func TestFindDoesNotRegister(t *testing.T) {
	t.Parallel()
	sim := startSim(t, qssim.Config{})
	known := sim.AddUser(qssim.User{UserName: "kim", Email: "kim@corp.test", Role: "AUTHOR"})
	dir, _ := newDirectory(sim, qssim.DefaultRegion, false)
	m := NewRegisterMapper(NewLookupMapper(dir, nil, time.Hour), nil, "")
	if id, err := m.Find(t.Context(), person("kim@corp.test")); err != nil || id.UserARN != known {
		t.Errorf("Find(known) = %+v, %v; want %s", id, err, known)
	}
	if _, err := m.Find(t.Context(), person("new@corp.test")); !errors.Is(err, ErrUserNotFound) {
		t.Errorf("Find(new) = %v, want ErrUserNotFound", err)
	}
	if got := ops(sim.Calls())["RegisterUser"]; got != 0 {
		t.Errorf("Find made %d RegisterUser calls, want 0", got)
	}
}
