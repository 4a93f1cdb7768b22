package quicksight

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/arn"
)

// SharedCache is a cache every instance of the gateway sees (cluster's
// Cache on Redis). An error means it could not answer; the mapper then
// asks QuickSight as it would alone.
type SharedCache interface {
	Get(ctx context.Context, key string) ([]byte, bool, error)
	Set(ctx context.Context, key string, value []byte, ttl time.Duration) error
	Delete(ctx context.Context, key string) error
}

// Share makes the lookups' answers, found and not found, visible to every
// instance: a user looked up by one is not looked up again by the next.
// The per-instance caches stay in front of it.
func (m *LookupMapper) Share(c SharedCache) *LookupMapper {
	m.cluster = c
	return m
}

// sharedEntry is one answer in the shared cache.
type sharedEntry struct {
	User    *User  `json:"user,omitempty"`
	Missing bool   `json:"missing,omitempty"`
	Why     string `json:"why,omitempty"`
}

func sharedKey(ns, email string) string { return ns + "/" + email }

// fromShared fills the local caches from the shared one, if it knows.
func (m *LookupMapper) fromShared(ctx context.Context, ns, email string) bool {
	if m.cluster == nil {
		return false
	}
	raw, ok, err := m.cluster.Get(ctx, sharedKey(ns, email))
	var e sharedEntry
	if err != nil || !ok || json.Unmarshal(raw, &e) != nil {
		return false
	}
	key := cacheKey(ns, email)
	switch {
	case e.User != nil:
		// An entry names the user it was written for: one whose email or
		// namespace is not its key's was not written by this lookup, and
		// is dropped.
		if got, ok := emailKey(e.User.Email); !ok || got != email || userARNNamespace(e.User.ARN) != ns {
			_ = m.cluster.Delete(context.WithoutCancel(ctx), sharedKey(ns, email))
			return false
		}
		m.found.Add(key, *e.User)
	case e.Missing:
		m.missing.Add(key, e.Why)
	default:
		return false
	}
	return true
}

// toShared records an answer for the other instances; a failure only
// means they will ask QuickSight themselves.
func (m *LookupMapper) toShared(ctx context.Context, ns, email string, e sharedEntry, ttl time.Duration) {
	if m.cluster == nil {
		return
	}
	if raw, err := json.Marshal(e); err == nil {
		_ = m.cluster.Set(context.WithoutCancel(ctx), sharedKey(ns, email), raw, ttl)
	}
}

// userARNNamespace is the namespace of a QuickSight user ARN
// (arn:aws:quicksight:REGION:ACCOUNT:user/NAMESPACE/NAME), or "".
func userARNNamespace(s string) string {
	a, err := arn.Parse(s)
	if err != nil || a.Service != "quicksight" {
		return ""
	}
	rest, ok := strings.CutPrefix(a.Resource, "user/")
	if !ok {
		return ""
	}
	ns, _, ok := strings.Cut(rest, "/")
	if !ok {
		return ""
	}
	return ns
}
