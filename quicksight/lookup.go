package quicksight

import (
	"context"
	"fmt"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/qsgate/qsgate/ttlcache"
)

// Cache bounds of the user lookups: at most this many answers each, and a
// "not found" is kept at most MaxMissingTTL, so a user added by hand gets in
// within a minute.
const (
	UserCacheSize = 20000
	MaxMissingTTL = time.Minute
)

// LookupMapper finds the QuickSight user whose email equals the signed-in
// user's verified email, case-insensitively: by DescribeUser when a user
// name template gives the name, else by listing the namespace. Answers,
// found and not found, are cached; concurrent first views of one user (or,
// when listing, of one namespace) share one lookup.
type LookupMapper struct {
	dir     *Directory
	names   *NameTemplate // nil: list the namespace
	found   *ttlcache.Cache[string, User]
	missing *ttlcache.Cache[string, string] // key -> why ("" not found, else the reason)
	// listed keeps each namespace's last listing (emails to users) as long
	// as a "not found": it answers every email it does not hold, so users
	// QuickSight does not know cost no new listing each.
	listed *ttlcache.Cache[string, map[string][]User]
	flight singleflight.Group
	// gone holds the ARNs an embed call said do not exist (Forget): a
	// listing made before no longer answers with them.
	gone *ttlcache.Cache[string, struct{}]
	// cluster, when set, is the cache shared by instances (shared.go).
	cluster    SharedCache
	ttl        time.Duration
	missingTTL time.Duration
}

// maxListedNamespaces bounds the listings kept.
const maxListedNamespaces = 16

// NewLookupMapper looks users up through dir; names may be nil.
func NewLookupMapper(dir *Directory, names *NameTemplate, ttl time.Duration) *LookupMapper {
	return &LookupMapper{
		dir:        dir,
		names:      names,
		ttl:        ttl,
		missingTTL: min(ttl, MaxMissingTTL),
		found:      ttlcache.New[string, User](UserCacheSize, ttl),
		missing:    ttlcache.New[string, string](UserCacheSize, min(ttl, MaxMissingTTL)),
		listed:     ttlcache.New[string, map[string][]User](maxListedNamespaces, min(ttl, MaxMissingTTL)),
		gone:       ttlcache.New[string, struct{}](goneSize, min(ttl, MaxMissingTTL)),
	}
}

// Identity implements Mapper.
func (m *LookupMapper) Identity(ctx context.Context, p Person) (Identity, error) {
	email, ns, err := lookupKey(p)
	if err != nil {
		return Identity{}, err
	}
	u, found, err := m.find(ctx, p, ns, email)
	switch {
	case err != nil:
		return Identity{}, err
	case !found:
		return Identity{}, fmt.Errorf("%w: no QuickSight user in namespace %s has this email", ErrUserNotFound, ns)
	}
	return Identity{UserARN: u.ARN, Role: u.Role}, nil
}

// lookupKey is the person's email, lower-cased, and namespace. An address
// without exactly one "@" is refused before any AWS call.
func lookupKey(p Person) (email, namespace string, err error) {
	email, ok := emailKey(p.Claims.Claim("email"))
	if !ok {
		return "", "", fmt.Errorf("%w: no verified plain email address with exactly one @", ErrNoMapping)
	}
	namespace = p.Namespace
	if namespace == "" {
		namespace = "default"
	}
	return email, namespace, nil
}

func cacheKey(namespace, email string) string { return namespace + "\x00" + email }

// find answers from the cache, else asks QuickSight once for everyone
// waiting on the same question.
func (m *LookupMapper) find(ctx context.Context, p Person, ns, email string) (User, bool, error) {
	key := cacheKey(ns, email)
	if _, ok := m.found.Peek(key); !ok {
		if _, ok := m.missing.Peek(key); !ok {
			m.fromShared(ctx, ns, email)
		}
	}
	if u, ok := m.found.Get(key); ok {
		return u, true, nil
	}
	if why, ok := m.missing.Get(key); ok {
		if why != "" {
			return User{}, false, fmt.Errorf("%w: %s", ErrNoMapping, why)
		}
		return User{}, false, nil
	}
	if m.names != nil {
		name, err := m.names.Fill(p.Claims)
		if err != nil {
			return User{}, false, err
		}
		return m.describe(ctx, ns, name, email)
	}
	byEmail, ok := m.listed.Get(ns)
	if !ok {
		v, err := m.shared(ctx, "list\x00"+ns, func(ctx context.Context) (any, error) {
			return m.listNamespace(ctx, ns)
		})
		if err != nil {
			return User{}, false, err
		}
		byEmail = v.(map[string][]User)
	}
	switch users := m.notGone(byEmail[email]); len(users) {
	case 0:
		m.missing.Add(key, "")
		m.toShared(ctx, ns, email, sharedEntry{Missing: true}, m.missingTTL)
		return User{}, false, nil
	case 1:
		m.toShared(ctx, ns, email, sharedEntry{User: &users[0]}, m.ttl)
		return users[0], true, nil
	default:
		why := fmt.Sprintf("%d QuickSight users in namespace %s have this email", len(users), ns)
		m.missing.Add(key, why)
		m.toShared(ctx, ns, email, sharedEntry{Missing: true, Why: why}, m.missingTTL)
		return User{}, false, fmt.Errorf("%w: %s", ErrNoMapping, why)
	}
}

// describe is DescribeUser by name. The user found must have the signed-in
// email: a name taken from a claim the user can edit must not open someone
// else's QuickSight user.
func (m *LookupMapper) describe(ctx context.Context, ns, name, email string) (User, bool, error) {
	key := cacheKey(ns, email)
	v, err := m.shared(ctx, "describe\x00"+ns+"\x00"+name, func(ctx context.Context) (any, error) {
		return m.dir.Describe(ctx, ns, name)
	})
	switch {
	case isKind(err, ErrUserNotFound):
		m.missing.Add(key, "")
		m.toShared(ctx, ns, email, sharedEntry{Missing: true}, m.missingTTL)
		return User{}, false, nil
	case err != nil:
		return User{}, false, err
	}
	u := v.(User)
	if got, _ := emailKey(u.Email); got != email {
		why := fmt.Sprintf("QuickSight user %s has another email", name)
		m.missing.Add(key, why)
		m.toShared(ctx, ns, email, sharedEntry{Missing: true, Why: why}, m.missingTTL)
		return User{}, false, fmt.Errorf("%w: %s", ErrNoMapping, why)
	}
	m.found.Add(key, u)
	m.toShared(ctx, ns, email, sharedEntry{User: &u}, m.ttl)
	return u, true, nil
}

// listNamespace lists every user of ns and caches each one whose email is
// theirs alone, so one pass serves everyone it finds.
func (m *LookupMapper) listNamespace(ctx context.Context, ns string) (map[string][]User, error) {
	byEmail := map[string][]User{}
	err := m.dir.List(ctx, ns, func(u User) {
		if email, ok := emailKey(u.Email); ok {
			byEmail[email] = append(byEmail[email], u)
		}
	})
	if err != nil {
		return nil, err
	}
	for email, users := range byEmail {
		if len(users) == 1 {
			m.found.Add(cacheKey(ns, email), users[0])
		}
	}
	if gone := m.gone; gone.Len() > 0 {
		// Users found gone whom QuickSight lists again: this listing,
		// newer than the embed call, may answer with them.
		for _, users := range byEmail {
			for _, u := range users {
				gone.Remove(u.ARN)
			}
		}
	}
	m.listed.Add(ns, byEmail)
	return byEmail, nil
}

// shared runs fn once for all callers with the same key. fn runs detached
// from any one caller's cancellation (the directory's own timeout bounds
// it); each caller still stops waiting when its own request ends.
func (m *LookupMapper) shared(ctx context.Context, key string, fn func(context.Context) (any, error)) (any, error) {
	ch := m.flight.DoChan(key, func() (any, error) { return fn(context.WithoutCancel(ctx)) })
	select {
	case r := <-ch:
		return r.Val, r.Err
	case <-ctx.Done():
		return nil, classify("lookup", ctx.Err())
	}
}

// forget drops what is cached about one user, and the namespace's
// listing, which no longer tells the truth about them.
func (m *LookupMapper) forget(ns, email string) {
	m.found.Remove(cacheKey(ns, email))
	m.missing.Remove(cacheKey(ns, email))
	m.listed.Remove(ns)
	if m.cluster != nil {
		_ = m.cluster.Delete(context.Background(), sharedKey(ns, email))
	}
}

// Forget drops what is cached about p: QuickSight's embed call said their
// user does not exist (deleted, or re-emailed), so the next view looks
// again. The namespace's listing is kept for everyone else (dropping it
// made each such view cost a ListUsers); until the next listing it no
// longer answers for p with the user QuickSight did not find.
func (m *LookupMapper) Forget(p Person) {
	email, ns, err := lookupKey(p)
	if err != nil {
		return
	}
	key := cacheKey(ns, email)
	// The user the view was given: from found, where every answer goes,
	// else from the listing.
	gone := m.gone
	if u, ok := m.found.Peek(key); ok {
		gone.Add(u.ARN, struct{}{})
	} else if byEmail, ok := m.listed.Peek(ns); ok {
		for _, u := range byEmail[email] {
			gone.Add(u.ARN, struct{}{})
		}
	}
	m.found.Remove(key)
	m.missing.Remove(key)
	if m.cluster != nil {
		_ = m.cluster.Delete(context.Background(), sharedKey(ns, email))
	}
}

// notGone is users less those an embed call found gone since the
// listing they come from was made. The listing's own slice is not touched:
// other views read it.
func (m *LookupMapper) notGone(users []User) []User {
	gone := m.gone
	if gone.Len() == 0 {
		return users
	}
	var kept []User
	for _, u := range users {
		if _, isGone := gone.Peek(u.ARN); !isGone {
			kept = append(kept, u)
		}
	}
	return kept
}

// goneSize bounds the ARNs kept as gone: each is a user QuickSight lost
// since a listing, few in practice; one pushed out costs one embed call.
const goneSize = 4096

// isKind reports whether err is an *Error of kind.
func isKind(err error, kind error) bool {
	e, ok := err.(*Error)
	return ok && e.Kind == kind
}
