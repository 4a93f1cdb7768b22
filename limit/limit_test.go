package limit

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestParseRate(t *testing.T) {
	for in, want := range map[string]string{"30/m": "30/m", "2/s": "2/s", " 100/h ": "100/h", "0": "0 (off)"} {
		r, err := ParseRate(in)
		if err != nil || r.String() != want {
			t.Errorf("ParseRate(%q) = %v, %v; want %s", in, r, err, want)
		}
	}
	for _, bad := range []string{"", "30", "30/d", "-1/s", "0/s", "x/m", "30/", "/m", "1.5/s"} {
		if _, err := ParseRate(bad); err == nil {
			t.Errorf("ParseRate(%q) succeeded", bad)
		}
	}
}

// A user gets a small burst, then is refused with a time to come back;
// a refusal does not eat into the allowance; users are apart.
func TestPerUser(t *testing.T) {
	p := NewPerUser(Rate{N: 2, Per: time.Hour})
	for i := range 2 {
		if err := p.Allow("alice"); err != nil {
			t.Fatalf("view %d refused: %v", i+1, err)
		}
	}
	err := p.Allow("alice")
	var re *RateError
	if !errors.As(err, &re) || !errors.Is(err, ErrUserRate) || re.RetryAfter <= 0 || re.RetryAfter > 30*time.Minute || re.RetryAfterSeconds() < 1 {
		t.Fatalf("third view: %v, want ErrUserRate with a retry-after within half an hour", err)
	}
	again := p.Allow("alice").(*RateError)
	if again.RetryAfter > re.RetryAfter+time.Second {
		t.Errorf("a refused view pushed the next one back: %s, then %s", re.RetryAfter, again.RetryAfter)
	}
	if err := p.Allow("bob"); err != nil {
		t.Errorf("bob refused because of alice: %v", err)
	}
	var off *PerUser = NewPerUser(Rate{})
	for range 100 {
		if err := off.Allow("x"); err != nil {
			t.Fatalf("an off limit refused: %v", err)
		}
	}
}

// The budget sheds a call that cannot get a token before its deadline,
// at once, and counts it; a caller that goes away is not counted.
func TestBudget(t *testing.T) {
	b := NewBudget(1, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	release, err := b.Acquire(ctx)
	if err != nil {
		t.Fatalf("first call: %v", err)
	}
	_, err = b.Acquire(ctx) // the bucket is empty for a second: past the deadline
	var re *RateError
	if !errors.As(err, &re) || !errors.Is(err, ErrBudget) || re.RetryAfter <= 0 || b.Shed() != 1 {
		t.Fatalf("second call: %v, shed %d; want ErrBudget with a retry-after, shed 1", err, b.Shed())
	}
	release()

	// The concurrency cap: a token is free but the one slot is held.
	b = NewBudget(1000, 1)
	hold, err := b.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel2()
	if _, err := b.Acquire(ctx2); !errors.Is(err, ErrBudget) {
		t.Errorf("over the inflight cap: %v, want ErrBudget", err)
	}
	gone, goneNow := context.WithCancel(context.Background())
	goneNow()
	if _, err := b.Acquire(gone); !errors.Is(err, context.Canceled) || b.Shed() != 1 {
		t.Errorf("a caller that went away: %v, shed %d; want context.Canceled, not counted", err, b.Shed())
	}
	hold()
	if _, err := b.Acquire(context.Background()); err != nil {
		t.Errorf("after release: %v", err)
	}
}

// Enter lets in as many views as calls may run at once; the next waits at
// the door for one to leave, or gets ErrBudget when its deadline comes
// first. A caller that went away is not counted as shed.
func TestBudgetDoor(t *testing.T) {
	b := NewBudget(1000, 2)
	first, err1 := b.Enter(context.Background())
	second, err2 := b.Enter(context.Background())
	if err1 != nil || err2 != nil {
		t.Fatalf("the first two: %v, %v", err1, err2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := b.Enter(ctx); !errors.Is(err, ErrBudget) || b.Shed() != 1 {
		t.Fatalf("a third while two are in: %v, shed %d; want ErrBudget, shed 1", err, b.Shed())
	}
	gone, goneNow := context.WithCancel(context.Background())
	goneNow()
	if _, err := b.Enter(gone); !errors.Is(err, context.Canceled) || b.Shed() != 1 {
		t.Errorf("a caller that went away: %v, shed %d; want context.Canceled, not counted", err, b.Shed())
	}

	entered := make(chan error, 1)
	go func() {
		release, err := b.Enter(context.Background())
		if err == nil {
			release()
		}
		entered <- err
	}()
	waitUntil(t, func() bool { return b.Waiting() == 1 })
	first()
	if err := <-entered; err != nil {
		t.Fatalf("the waiting view, once one left: %v", err)
	}
	second()
	// The door does not hold calls: with views inside, calls still run.
	release, err := b.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	release()
}

// waitUntil polls cond for up to a minute: a bound, not a timing assertion.
func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition never came true")
		}
	}
}
