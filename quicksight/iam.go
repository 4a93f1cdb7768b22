package quicksight

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/quicksight"
	"github.com/aws/aws-sdk-go-v2/service/quicksight/types"
	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/sync/singleflight"

	"github.com/qsgate/qsgate/ttlcache"
)

// Role session credentials are asked for this long and renewed this long
// before they expire.
const (
	roleSessionDuration = time.Hour
	roleSessionRenew    = 5 * time.Minute
)

// IAMMapper serves IAM-federated QuickSight users: each signed-in user is a
// session of one IAM role (STS AssumeRole, session name from the email),
// and the embed call is signed with that session's credentials, without a
// UserArn. QuickSight knows such a user as "RoleName/SessionName". With
// registration on, a user QuickSight does not know is registered first
// (identity type IAM). Credentials are cached per user until five minutes
// before they expire.
type IAMMapper struct {
	roleARN, roleName, partition, accountID string
	sts                                     stscreds.AssumeRoleAPIClient
	dir                                     *Directory
	register                                bool
	creds                                   *lru.Cache[string, *aws.CredentialsCache]
	known                                   *ttlcache.Cache[string, User]
	failed                                  *ttlcache.Cache[string, error] // failed registrations, for RegistrationRetry
	flight                                  singleflight.Group
	byARN                                   bool
}

// ByARN makes the mapper name users by their QuickSight ARN and assume no
// role: GenerateEmbedUrlForRegisteredUser embeds any user, IAM-federated
// ones too, by ARN with the gateway's own credentials.
func (m *IAMMapper) ByARN() *IAMMapper {
	m.byARN = true
	return m
}

// RoleARNRE is the shape of an IAM role ARN (QSGATE_IAM_ROLE_ARN).
var RoleARNRE = regexp.MustCompile(`^arn:(aws[a-z-]*):iam::([0-9]{12}):role/(?:[\w+=,.@-]+/)*([\w+=,.@-]{1,64})$`)

// NewIAMMapper assumes roleARN through sts. dir makes the DescribeUser and
// RegisterUser calls when register is true; ttl bounds how long a known
// user is remembered.
func NewIAMMapper(roleARN string, sts stscreds.AssumeRoleAPIClient, dir *Directory, register bool, ttl time.Duration) (*IAMMapper, error) {
	m := RoleARNRE.FindStringSubmatch(roleARN)
	if m == nil {
		return nil, fmt.Errorf("%q is not an IAM role ARN", roleARN)
	}
	creds, err := lru.New[string, *aws.CredentialsCache](UserCacheSize)
	if err != nil {
		return nil, err
	}
	return &IAMMapper{
		roleARN: roleARN, partition: m[1], accountID: m[2], roleName: m[3],
		sts: sts, dir: dir, register: register, creds: creds,
		known:  ttlcache.New[string, User](UserCacheSize, ttl),
		failed: ttlcache.New[string, error](failedSize, RegistrationRetry),
	}, nil
}

// Identity implements Mapper. A warm view makes no call here: the
// credentials and the registration are cached.
func (m *IAMMapper) Identity(ctx context.Context, p Person) (Identity, error) {
	return m.identity(ctx, p, m.register)
}

// Find is Identity without registering: with registration on, a user
// QuickSight does not know yet is ErrUserNotFound. The home page and a
// link from another site use it.
func (m *IAMMapper) Find(ctx context.Context, p Person) (Identity, error) {
	return m.identity(ctx, p, false)
}

func (m *IAMMapper) identity(ctx context.Context, p Person, register bool) (Identity, error) {
	email, ns, err := lookupKey(p)
	if err != nil {
		return Identity{}, err
	}
	session := RoleSessionName(email)
	userName := m.roleName + "/" + session
	id := Identity{UserARN: fmt.Sprintf("arn:%s:quicksight:%s:%s:user/%s/%s", m.partition, m.dir.Region(), m.accountID, ns, userName)}
	if !m.byARN {
		id.Creds = m.sessionCreds(session, email)
		// Fetch the credentials now (cached when warm), so an STS refusal
		// is reported as such, not as a failed QuickSight call.
		if _, err := id.Creds.Retrieve(ctx); err != nil {
			return Identity{}, classify("AssumeRole", err)
		}
	}
	if m.register {
		u, err := m.ensureUser(ctx, p, ns, userName, session, register)
		if err != nil {
			return Identity{}, err
		}
		id.UserARN, id.Role = cmp.Or(u.ARN, id.UserARN), u.Role
	}
	return id, nil
}

func (m *IAMMapper) sessionCreds(session, email string) *aws.CredentialsCache {
	if c, ok := m.creds.Get(session); ok {
		return c
	}
	assume := stscreds.NewAssumeRoleProvider(m.sts, m.roleARN, func(o *stscreds.AssumeRoleOptions) {
		o.RoleSessionName = session
		o.Duration = roleSessionDuration
	})
	audited := assumed{assume, m.dir.audit, m.roleARN, session, email}
	c := aws.NewCredentialsCache(deadline{audited, m.dir.timeout}, func(o *aws.CredentialsCacheOptions) { o.ExpiryWindow = roleSessionRenew })
	// Two first views at once must share one cache, so one AssumeRole.
	if found, _ := m.creds.ContainsOrAdd(session, c); found {
		if prev, ok := m.creds.Get(session); ok {
			return prev
		}
	}
	return c
}

// deadline bounds a credentials provider: aws.CredentialsCache calls it
// with a context stripped of the caller's deadline, and a hung STS must
// not hold a slot of the gateway's AWS call budget for ever.
type deadline struct {
	aws.CredentialsProvider
	timeout time.Duration
}

func (d deadline) Retrieve(ctx context.Context) (aws.Credentials, error) {
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	return d.CredentialsProvider.Retrieve(ctx)
}

// Forget drops what is cached about p's registration (QuickSight said the
// user does not exist); the role credentials stay, they are still good.
func (m *IAMMapper) Forget(p Person) {
	if email, ns, err := lookupKey(p); err == nil {
		m.known.Remove(ns + "\x00" + m.roleName + "/" + RoleSessionName(email))
	}
}

// ensureUser makes sure QuickSight knows the role session's user:
// DescribeUser, and when register is set RegisterUser (identity type IAM)
// when missing. A failed registration is remembered for RegistrationRetry,
// as in register mode.
func (m *IAMMapper) ensureUser(ctx context.Context, p Person, ns, userName, session string, register bool) (User, error) {
	key := ns + "\x00" + userName
	if u, ok := m.known.Get(key); ok {
		return u, nil
	}
	if err, ok := m.failed.Get(key); ok && register {
		return User{}, err
	}
	flight := key
	if !register {
		flight += "\x00find" // a lookup must not wait on, or share, a registration
	}
	ch := m.flight.DoChan(flight, func() (any, error) {
		ctx := context.WithoutCancel(ctx)
		u, err := m.dir.Describe(ctx, ns, userName)
		if isKind(err, ErrUserNotFound) && register {
			role := p.Role
			if role == "" {
				role = "READER"
			}
			u, err = m.dir.Register(ctx, &quicksight.RegisterUserInput{
				IdentityType: types.IdentityTypeIam,
				IamArn:       aws.String(m.roleARN),
				SessionName:  aws.String(session),
				Email:        aws.String(p.Claims.Claim("email")),
				UserRole:     types.UserRole(role),
				Namespace:    aws.String(ns),
			})
			if errors.Is(err, ErrUserExists) {
				u, err = m.dir.Describe(ctx, ns, userName)
			} else if err != nil && rememberRegistration(err) {
				m.failed.Add(key, err)
			}
		}
		if err != nil {
			return nil, err
		}
		m.known.Add(key, u)
		return u, nil
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return User{}, r.Err
		}
		return r.Val.(User), nil
	case <-ctx.Done():
		return User{}, classify("DescribeUser", ctx.Err())
	}
}

// sessionNameRE is what STS accepts as a RoleSessionName, less "=", which
// marks a derived name (below).
var sessionNameRE = regexp.MustCompile(`^[\w+,.@-]{2,64}$`)

// RoleSessionName derives the STS session name of a user from their email
// (lower-cased). An address that already fits STS's rules ([\w+=,.@-],
// 2-64 characters) and holds no "=" is used as it is. Any other keeps its
// allowed characters, cut to 39, and ends in "=" and 24 hex digits (96
// bits) of the address's SHA-256: stable for one user, and two addresses that differ only
// in dropped characters get different names. No as-is name contains "=",
// so no address can take the derived name of another.
func RoleSessionName(email string) string {
	if sessionNameRE.MatchString(email) {
		return email
	}
	var b strings.Builder
	for _, r := range email {
		if sessionRune(r) {
			b.WriteRune(r)
		}
	}
	kept := b.String()
	if len(kept) > 39 {
		kept = kept[:39]
	}
	sum := sha256.Sum256([]byte(email))
	return kept + "=" + hex.EncodeToString(sum[:12])
}

// sessionRune is one of [\w+,.@-] (ASCII), the allowed characters but "=".
func sessionRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("_+,.@-", r)
}
