package quicksight

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/qsgate/qsgate/internal/devkit/qssim"
)

// Review tests: each one fails on the code under review and passes once the
// finding it names is fixed.

// hangingSTS is an STS that never answers: it reports whether the call had a
// deadline and waits for it (or gives up after a second, for the test's sake).
type hangingSTS struct{ sawDeadline chan bool }

func (h hangingSTS) AssumeRole(ctx context.Context, _ *sts.AssumeRoleInput, _ ...func(*sts.Options)) (*sts.AssumeRoleOutput, error) {
	_, ok := ctx.Deadline()
	h.sawDeadline <- ok
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(time.Second):
		return nil, errors.New("STS never answered")
	}
}

// TestReviewAssumeRoleHasDeadline: in iam mode the AssumeRole call runs under
// aws.CredentialsCache's suppressed context (no deadline, no cancel) and the
// embed handler passes the request context (no deadline either), so a slow or
// hung STS holds a slot of the gateway-wide budget (QSGATE_QUICKSIGHT_MAX_INFLIGHT)
// and a token reservation with no bound: MAX_INFLIGHT first views of new users
// against a hung STS shed every AWS call of the instance, for everyone.
// The call must carry a deadline (QSGATE_AWS_TIMEOUT).
func TestReviewAssumeRoleHasDeadline(t *testing.T) {
	t.Parallel()
	dir := NewDirectory(testAccount, qssim.DefaultRegion, 200*time.Millisecond, false, func(string) UsersAPI { return nil }, nil)
	fake := hangingSTS{sawDeadline: make(chan bool, 4)}
	m, err := NewIAMMapper(testRole, fake, dir, false, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	// As the embed handler calls it: the request's context, no deadline.
	_, err = m.Identity(t.Context(), person("alice@corp.test"))
	if err == nil {
		t.Fatal("Identity succeeded against an STS that never answers")
	}
	if ok := <-fake.sawDeadline; !ok {
		t.Errorf("AssumeRole was called without a deadline: a hung STS holds a budget slot forever (want QSGATE_AWS_TIMEOUT)")
	}
}

// TestReviewUnknownUsersShareOneListing: in lookup mode (listing), every
// signed-in user QuickSight does not know costs a whole ListUsers pass of
// the namespace (users/100 pages) per minute: the listing that just proved
// they are absent is thrown away except for the found users. In a company
// whose portal is open to every employee (QSGATE_ALLOWED_EMAIL_DOMAINS), a
// handful of people without a QuickSight user spend the whole
// QSGATE_QUICKSIGHT_MAX_RPS budget (20,000 users = 200 calls = 40 s of the
// default 5/s budget each), and everyone else gets the 503 page. A listing
// younger than MaxMissingTTL should answer "not found" for any email it
// does not hold.
func TestReviewUnknownUsersShareOneListing(t *testing.T) {
	t.Parallel()
	sim := startSim(t, qssim.Config{})
	for i := range 250 {
		sim.AddUser(qssim.User{UserName: fmt.Sprintf("user-%03d", i), Email: fmt.Sprintf("user%03d@corp.test", i)})
	}
	dir, _ := newDirectory(sim, qssim.DefaultRegion, false)
	m := NewLookupMapper(dir, nil, time.Hour)
	n := len(sim.Calls())
	for i := range 5 {
		if _, err := m.Identity(t.Context(), person(fmt.Sprintf("stranger%d@corp.test", i))); !errors.Is(err, ErrUserNotFound) {
			t.Fatalf("stranger %d: %v, want ErrUserNotFound", i, err)
		}
	}
	if got := ops(since(sim, n))["ListUsers"]; got > 3 {
		t.Errorf("5 unknown users in a minute cost %d ListUsers calls (a full pass each), want one pass (3)", got)
	}
}
