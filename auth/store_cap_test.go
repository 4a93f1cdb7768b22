package auth

import (
	"errors"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// One account signing in again and again (a script, while its provider
// session lasts) keeps at most MaxSessionsPerUser sessions in Redis: each
// sign-in past it ends the oldest. The zero value is the default, 20.
func TestSessionsPerUserCapped(t *testing.T) {
	h := newHarness(t, true, nil)
	const n = defaultMaxSessionsPerUser
	bob := h.signIn(bob())
	var browsers []*browser
	for range n + 5 {
		h.clock.Add(time.Second) // created times apart, as real sign-ins are
		browsers = append(browsers, h.signIn(alice()))
	}
	for i, b := range browsers[:5] {
		if u, err := b.visit(); !errors.Is(err, ErrSignedOut) {
			t.Errorf("sign-in %d of %d (among the oldest): %q, %v; want ended", i+1, n+5, u.Subject, err)
		}
	}
	for _, b := range browsers[5:] {
		mustUser(t, b, "sub-alice")
	}
	mustUser(t, bob, "sub-bob") // another user's sessions are not counted
	list, err := h.a.Sessions(t.Context(), "alice@example.com")
	if err != nil || len(list) != n {
		t.Fatalf("alice's sessions = %d, %v; want %d", len(list), err, n)
	}
	if keys := h.keys(t); len(keys) != n+1 {
		t.Errorf("%d sessions in Redis, want %d of alice's and bob's", len(keys), n)
	}
	for _, idx := range indexKeys("sub-alice", "alice@example.com") {
		if got := h.rdb.SCard(t.Context(), idx).Val(); got != n {
			t.Errorf("index %s names %d sessions, want %d (the ended ones dropped)", idx, got, n)
		}
	}
	if got := strings.Count(h.logs.String(), "event=sessions_capped"); got != 5 {
		t.Errorf("%d sessions_capped log lines, want 5", got)
	}
}

// Sign-ins of one user at the same moment, on any number of instances,
// never leave more than the cap, not even for an instant.
func TestConcurrentSignInsNeverExceedTheCap(t *testing.T) {
	const max, workers, each = 5, 8, 25
	h := newHarness(t, true, func(c *Config) { c.MaxSessionsPerUser = max })
	instances := []*Auth{h.a, h.newAuth(nil), h.newAuth(nil)}
	stop := make(chan struct{})
	var most atomic.Int64
	var sampler sync.WaitGroup
	sampler.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			keys, _ := h.rdb.Keys(t.Context(), redisSessionPrefix+"*").Result() // an error only misses a sample
			if n := int64(len(keys)); n > most.Load() {
				most.Store(n)
			}
		}
	})
	var wg sync.WaitGroup
	for w := range workers {
		a := instances[w%len(instances)]
		wg.Go(func() {
			for range each {
				if err := a.store.Save(t.Context(), httptest.NewRecorder(), newSessionFor(h, "sub-alice", "alice@example.com")); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	sampler.Wait()
	if got := len(h.keys(t)); got != max {
		t.Errorf("after %d concurrent sign-ins: %d sessions, want %d", workers*each, got, max)
	}
	if got := most.Load(); got > max {
		t.Errorf("at one point %d sessions existed, want at most %d", got, max)
	}
}

func TestNegativeSessionCapRefused(t *testing.T) {
	h := newHarness(t, true, nil)
	cfg := h.cfg
	cfg.MaxSessionsPerUser = -1
	if _, err := New(cfg); err == nil {
		t.Fatal("New accepted MaxSessionsPerUser -1")
	}
}

// An operator's revoke racing sign-ins of the same user: every session
// that existed when the revoke began is ended, and a session made while
// it ran is never left where no revoke or list can find it (a session
// key without its index entries).
func TestRevokeRacingSignIns(t *testing.T) {
	h := newHarness(t, true, func(c *Config) { c.MaxSessionsPerUser = 10000 })
	other := h.newAuth(nil)
	var mu sync.Mutex
	var saved []string // keys of sessions whose Save returned
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				s := newSessionFor(h, "sub-alice", "Alice@Example.com")
				if err := other.store.Save(t.Context(), httptest.NewRecorder(), s); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				saved = append(saved, redisKey(s.id))
				mu.Unlock()
			}
		})
	}
	for range 30 {
		mu.Lock()
		before := append([]string(nil), saved...)
		mu.Unlock()
		if _, err := h.a.Revoke(t.Context(), "sub-alice", ""); err != nil {
			t.Fatal(err)
		}
		if n := h.rdb.Exists(t.Context(), before...).Val(); len(before) > 0 && n != 0 {
			t.Fatalf("%d of the %d sessions made before the revoke survived it", n, len(before))
		}
	}
	close(stop)
	wg.Wait()
	for _, key := range h.keys(t) {
		for _, idx := range indexKeys("sub-alice", "alice@example.com") {
			if !h.rdb.SIsMember(t.Context(), idx, key).Val() {
				t.Fatalf("session %s is missing from %s: no revoke or list would find it", key, idx)
			}
		}
	}
	if _, err := h.a.Revoke(t.Context(), "", "alice@example.com"); err != nil {
		t.Fatal(err)
	}
	if keys := h.keys(t); len(keys) != 0 {
		t.Errorf("%d sessions left after the last revoke", len(keys))
	}
	t.Logf("%d sessions made during 30 revokes", len(saved))
}

// newSessionFor is a fresh session as sign-in makes it, not yet saved.
func newSessionFor(h *harness, sub, email string) *Session {
	now := h.clock.Now()
	return &Session{User: User{Subject: sub, Email: email, Expires: now.Add(testTTL)}, Created: now, LastSeen: now, Checked: now}
}

// Sessions the cap ends leave the email's index too, for an address with
// letters beyond ASCII (Go lower-cases them, Redis's Lua would not), and
// the email's index drops sessions that ended by themselves.
func TestCapKeepsTheEmailIndexExact(t *testing.T) {
	h := newHarness(t, true, func(c *Config) { c.MaxSessionsPerUser = 2 })
	jorg := func() *idpUser { return newIdPUser("sub-jorg", "JÖRG@Example.com") }
	for range 6 {
		h.clock.Add(time.Second)
		h.signIn(jorg())
	}
	for _, idx := range indexKeys("sub-jorg", "JÖRG@Example.com") {
		if got := h.rdb.SCard(t.Context(), idx).Val(); got != 2 {
			t.Errorf("index %s names %d sessions, want the 2 alive", idx, got)
		}
	}
	// A session that ended by itself (gone from Redis, still indexed) is
	// dropped from the email's index at the next sign-in.
	emailIdx := indexKeys("", "JÖRG@Example.com")[0]
	h.rdb.SAdd(t.Context(), emailIdx, redisSessionPrefix+"gone")
	h.clock.Add(time.Second)
	h.signIn(jorg())
	if got := h.rdb.SIsMember(t.Context(), emailIdx, redisSessionPrefix+"gone").Val(); got {
		t.Errorf("the email's index still names a session that is gone")
	}
}
