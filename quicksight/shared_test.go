package quicksight

import (
	"context"
	"encoding/json"
	"maps"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/qsgate/qsgate/internal/devkit/qssim"
)

// memShared is a SharedCache in memory, for planting entries.
type memShared struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (c *memShared) Get(_ context.Context, key string) ([]byte, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[key]
	return v, ok, nil
}

func (c *memShared) Set(_ context.Context, key string, value []byte, _ time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[key] = value
	return nil
}

func (c *memShared) Delete(_ context.Context, key string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, key)
	return nil
}

// A shared entry is believed only for the user it names: one whose email
// or namespace is not its key's (planted, or copied from another key) is
// dropped, and the user is looked up in QuickSight instead.
func TestSharedEntryMustMatchItsKey(t *testing.T) {
	t.Parallel()
	sim := startSim(t, qssim.Config{})
	alice := sim.AddUser(qssim.User{UserName: "alice", Email: "alice@corp.test", Role: "AUTHOR"})
	admin := sim.AddUser(qssim.User{UserName: "root", Email: "root@corp.test", Role: "ADMIN"})
	other := sim.AddUser(qssim.User{Namespace: "other", UserName: "alice", Email: "alice@corp.test", Role: "ADMIN"})
	for _, tt := range []struct {
		name  string
		entry User
	}{
		{"another user's entry under alice's key", User{ARN: admin, UserName: "root", Email: "root@corp.test", Role: "ADMIN"}},
		{"alice's email, another user's ARN in another namespace", User{ARN: other, UserName: "alice", Email: "alice@corp.test", Role: "ADMIN"}},
		{"no email", User{ARN: admin, UserName: "root", Role: "ADMIN"}},
		{"not an ARN", User{ARN: "root", UserName: "root", Email: "alice@corp.test", Role: "ADMIN"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir, _ := newDirectory(sim, qssim.DefaultRegion, false)
			shared := &memShared{m: map[string][]byte{}}
			raw, _ := json.Marshal(sharedEntry{User: &tt.entry})
			shared.m[sharedKey("default", "alice@corp.test")] = raw
			m := NewLookupMapper(dir, nil, time.Hour).Share(shared)
			n := len(sim.Calls())
			got, err := m.Identity(t.Context(), person("alice@corp.test"))
			if want := (Identity{UserARN: alice, Role: "AUTHOR"}); err != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("Identity = %+v, %v; want %+v (from QuickSight, not the planted entry)", got, err, want)
			}
			if calls := ops(since(sim, n)); !maps.Equal(calls, map[string]int{"ListUsers": 1}) {
				t.Errorf("calls = %v, want one ListUsers", calls)
			}
			var e sharedEntry
			if raw, ok := shared.m[sharedKey("default", "alice@corp.test")]; !ok || json.Unmarshal(raw, &e) != nil || e.User == nil || e.User.ARN != alice {
				t.Errorf("the shared entry is not alice's own after the lookup: %s", raw)
			}
		})
	}
}
