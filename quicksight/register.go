package quicksight

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/quicksight"
	"github.com/aws/aws-sdk-go-v2/service/quicksight/types"

	"github.com/qsgate/qsgate/ttlcache"
)

// RegisterMapper is just-in-time provisioning: a lookup first, and when
// QuickSight has no user with the signed-in email, RegisterUser (identity
// type QUICKSIGHT) with the role the access policy picked. A registration
// that races another (ResourceExistsException) counts as done and is
// followed by a fresh lookup; a registered user is cached like a found one,
// so it is never registered twice. A failed registration is remembered for
// RegistrationRetry: the person's views get the same error meanwhile, not
// a RegisterUser call each.
type RegisterMapper struct {
	lookup      *LookupMapper
	names       *NameTemplate                  // nil: the user name is the email
	permissions string                         // CustomPermissionsName, optional
	failed      *ttlcache.Cache[string, error] // by cacheKey
}

// RegistrationRetry is how long a failed registration is remembered, for
// at most failedSize people (one pushed out costs one more RegisterUser).
const (
	RegistrationRetry = 30 * time.Second
	failedSize        = 4096
)

// NewRegisterMapper registers through lookup's directory; names and
// permissions are optional.
func NewRegisterMapper(lookup *LookupMapper, names *NameTemplate, permissions string) *RegisterMapper {
	return &RegisterMapper{lookup: lookup, names: names, permissions: permissions,
		failed: ttlcache.New[string, error](failedSize, RegistrationRetry)}
}

// Identity implements Mapper.
func (m *RegisterMapper) Identity(ctx context.Context, p Person) (Identity, error) {
	email, ns, err := lookupKey(p)
	if err != nil {
		return Identity{}, err
	}
	u, found, err := m.lookup.find(ctx, p, ns, email)
	if err != nil {
		return Identity{}, err
	}
	if !found {
		if u, err = m.register(ctx, p, ns, email); err != nil {
			return Identity{}, err
		}
	}
	return Identity{UserARN: u.ARN, Role: u.Role}, nil
}

// Find is Identity without the registration: a person QuickSight does not
// know yet is ErrUserNotFound, and nothing is created. Pages the person
// did not open QuickSight from (the home page, a link from another site)
// use it, so only a view they chose registers them.
func (m *RegisterMapper) Find(ctx context.Context, p Person) (Identity, error) {
	return m.lookup.Identity(ctx, p)
}

// rememberRegistration reports whether a failed registration is kept for
// a while: any failure QuickSight answered or did not answer in time, but
// not a call the gateway's own budget held back (it never reached
// QuickSight) or one whose caller went away.
func rememberRegistration(err error) bool {
	return !errors.Is(err, ErrOverloaded) && !errors.Is(err, ErrCanceled)
}

func (m *RegisterMapper) register(ctx context.Context, p Person, ns, email string) (User, error) {
	name := p.Claims.Claim("email")
	if m.names != nil {
		var err error
		if name, err = m.names.Fill(p.Claims); err != nil {
			return User{}, err
		}
	} else if !validClaimValue(name) {
		return User{}, fmt.Errorf("%w: the email cannot be a QuickSight user name", ErrNoMapping)
	}
	role := p.Role
	if role == "" {
		role = "READER"
	}
	key := cacheKey(ns, email)
	if err, ok := m.failed.Get(key); ok {
		return User{}, err
	}
	v, err := m.lookup.shared(ctx, "register\x00"+key, func(ctx context.Context) (any, error) {
		in := &quicksight.RegisterUserInput{
			IdentityType: types.IdentityTypeQuicksight,
			Email:        aws.String(p.Claims.Claim("email")),
			UserName:     aws.String(name),
			UserRole:     types.UserRole(role),
			Namespace:    aws.String(ns),
		}
		if m.permissions != "" {
			in.CustomPermissionsName = aws.String(m.permissions)
		}
		u, err := m.lookup.dir.Register(ctx, in)
		if errors.Is(err, ErrUserExists) {
			// Someone (another view, another instance) got there first.
			m.lookup.forget(ns, email)
			u, found, ferr := m.lookup.find(ctx, p, ns, email)
			if ferr != nil {
				return nil, ferr
			}
			if !found {
				m.lookup.missing.Add(cacheKey(ns, email), "a QuickSight user named "+name+" exists with another email")
				return nil, fmt.Errorf("%w: a QuickSight user named %s exists with another email", ErrNoMapping, name)
			}
			return u, nil
		}
		if err != nil {
			if rememberRegistration(err) {
				m.failed.Add(key, err)
			}
			return nil, err
		}
		m.lookup.forget(ns, email)
		m.lookup.found.Add(cacheKey(ns, email), u)
		m.lookup.toShared(ctx, ns, email, sharedEntry{User: &u}, m.lookup.ttl)
		return u, nil
	})
	if err != nil {
		return User{}, err
	}
	return v.(User), nil
}

// Forget drops what is cached about p (see LookupMapper.Forget).
func (m *RegisterMapper) Forget(p Person) { m.lookup.Forget(p) }

// Share makes the lookups and registrations visible to every instance
// (see LookupMapper.Share).
func (m *RegisterMapper) Share(c SharedCache) *RegisterMapper {
	m.lookup.Share(c)
	return m
}
