package quicksight

import (
	"errors"
	"testing"
	"time"

	"github.com/qsgate/qsgate/internal/devkit/qssim"
)

// viewOnce is one view as the handlers make it: the mapping, the embed
// call, and Forget when the embed call says the user does not exist.
func viewOnce(t *testing.T, m Mapper, f interface{ Forget(Person) }, c *Client, p Person) error {
	t.Helper()
	id, err := m.Identity(t.Context(), p)
	if err != nil {
		return err
	}
	if _, err = c.EmbedURL(t.Context(), id, Target{EntryPoint: "/start"}); errors.Is(err, ErrUserNotFound) {
		f.Forget(p)
	}
	return err
}

// TestEmbedUserNotFoundKeepsTheNamespaceListing: QuickSight's embed call
// says a user the listing found does not exist (deleted meanwhile). The
// mapper forgets that user only: their next views cost no ListUsers (nor
// an embed call: the user is "not found" at once), and the namespace's
// other users are still answered from the listing.
func TestEmbedUserNotFoundKeepsTheNamespaceListing(t *testing.T) {
	t.Parallel()
	sim := startSim(t, qssim.Config{})
	gone := sim.AddUser(qssim.User{UserName: "gone", Email: "gone@corp.test", Role: "AUTHOR"})
	other := sim.AddUser(qssim.User{UserName: "other", Email: "other@corp.test", Role: "AUTHOR"})
	dir, _ := newDirectory(sim, qssim.DefaultRegion, false)
	m := NewLookupMapper(dir, nil, time.Hour)
	c := newClient(sim, qssim.DefaultRegion, dir)
	sim.FailUser(gone, qssim.ErrQuickSightUserNotFound)

	for i := range 10 {
		if err := viewOnce(t, m, m, c, person("gone@corp.test")); !errors.Is(err, ErrUserNotFound) {
			t.Fatalf("view %d of the deleted user: %v, want ErrUserNotFound", i, err)
		}
	}
	calls := ops(sim.Calls())
	if calls["ListUsers"] != 1 {
		t.Errorf("10 views of a user the embed call does not find cost %d ListUsers, want 1 (the first listing)", calls["ListUsers"])
	}
	if calls["GetSessionEmbedUrl"] != 1 {
		t.Errorf("10 views of a user the embed call does not find cost %d embed calls, want 1: once forgotten, the listing no longer offers them", calls["GetSessionEmbedUrl"])
	}
	n := len(sim.Calls())
	if id, err := m.Identity(t.Context(), person("other@corp.test")); err != nil || id.UserARN != other {
		t.Errorf("another user of the namespace = %+v, %v; want %s", id, err, other)
	}
	if got := ops(since(sim, n))["ListUsers"]; got != 0 {
		t.Errorf("another user of the namespace cost %d ListUsers, want 0: the listing is kept", got)
	}
}

// TestForgottenUserFoundByTheNextListing: a user forgotten after the embed
// call did not find them, and back in QuickSight, is found by the
// namespace's next listing (the old one kept no longer answers for them).
func TestForgottenUserFoundByTheNextListing(t *testing.T) {
	t.Parallel()
	sim := startSim(t, qssim.Config{})
	arn := sim.AddUser(qssim.User{UserName: "back", Email: "back@corp.test", Role: "AUTHOR"})
	dir, _ := newDirectory(sim, qssim.DefaultRegion, false)
	m := NewLookupMapper(dir, nil, 50*time.Millisecond) // listing and "not found" kept 50 ms
	c := newClient(sim, qssim.DefaultRegion, dir)
	sim.FailUser(arn, qssim.ErrQuickSightUserNotFound)
	if err := viewOnce(t, m, m, c, person("back@corp.test")); !errors.Is(err, ErrUserNotFound) {
		t.Fatalf("view while the embed call fails: %v, want ErrUserNotFound", err)
	}
	sim.FailUser(arn, "")
	ok := eventually(func() bool {
		return viewOnce(t, m, m, c, person("back@corp.test")) == nil
	})
	if !ok {
		t.Errorf("the user never got back in after the embed call found them again")
	}
}

// TestEmbedUserNotFoundRegistersAgain: in register mode, a registered user
// deleted in QuickSight is registered again on their next view, without a
// new listing of the namespace.
func TestEmbedUserNotFoundRegistersAgain(t *testing.T) {
	t.Parallel()
	sim := startSim(t, qssim.Config{})
	old := sim.AddUser(qssim.User{UserName: "old-name", Email: "ren@corp.test", Role: "AUTHOR"})
	dir, _ := newDirectory(sim, qssim.DefaultRegion, false)
	m := NewRegisterMapper(NewLookupMapper(dir, nil, time.Hour), nil, "")
	c := newClient(sim, qssim.DefaultRegion, dir)
	sim.FailUser(old, qssim.ErrQuickSightUserNotFound)
	p := Person{Claims: claims{"email": "ren@corp.test"}, Role: "AUTHOR"}
	if err := viewOnce(t, m, m, c, p); !errors.Is(err, ErrUserNotFound) {
		t.Fatalf("first view: %v, want ErrUserNotFound from the embed call", err)
	}
	n := len(sim.Calls())
	if err := viewOnce(t, m, m, c, p); err != nil {
		t.Fatalf("second view: %v, want the user registered again and embedded", err)
	}
	if got, want := ops(since(sim, n)), map[string]int{"RegisterUser": 1, "GetSessionEmbedUrl": 1}; got["RegisterUser"] != 1 || got["ListUsers"] != 0 {
		t.Errorf("second view calls = %v, want %v", got, want)
	}
}
