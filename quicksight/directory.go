package quicksight

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/quicksight"
	"github.com/aws/aws-sdk-go-v2/service/quicksight/types"
)

// UsersAPI is the part of the SDK client that manages users. QuickSight
// answers these calls only in the account's identity region.
type UsersAPI interface {
	DescribeUser(ctx context.Context, in *quicksight.DescribeUserInput, opts ...func(*quicksight.Options)) (*quicksight.DescribeUserOutput, error)
	ListUsers(ctx context.Context, in *quicksight.ListUsersInput, opts ...func(*quicksight.Options)) (*quicksight.ListUsersOutput, error)
	RegisterUser(ctx context.Context, in *quicksight.RegisterUserInput, opts ...func(*quicksight.Options)) (*quicksight.RegisterUserOutput, error)
}

// Directory makes the user-management calls (DescribeUser, ListUsers,
// RegisterUser) of one account in its identity region. When QuickSight
// answers "your identity region is Y" it logs the setting to change and,
// with Follow, retries in Y and stays there.
type Directory struct {
	accountID string
	timeout   time.Duration
	follow    bool
	newAPI    func(region string) UsersAPI
	log       *slog.Logger
	current   atomic.Pointer[regionalAPI]
	audit     Auditor // nil records nothing (RecordTo)
}

type regionalAPI struct {
	region string
	api    UsersAPI
}

// NewDirectory makes user-management calls to region through newAPI(region).
// timeout bounds each call, retries included.
func NewDirectory(accountID, region string, timeout time.Duration, follow bool, newAPI func(region string) UsersAPI, log *slog.Logger) *Directory {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d := &Directory{accountID: accountID, timeout: timeout, follow: follow, newAPI: newAPI, log: log}
	d.current.Store(&regionalAPI{region: region, api: newAPI(region)})
	return d
}

// Region is the identity region the calls go to now.
func (d *Directory) Region() string { return d.current.Load().region }

// User is a QuickSight user as the directory reports it.
type User struct {
	ARN, UserName, Email, Role, IdentityType string
	Active                                   bool
}

func userOf(u *types.User) User {
	if u == nil {
		return User{}
	}
	return User{ARN: aws.ToString(u.Arn), UserName: aws.ToString(u.UserName), Email: aws.ToString(u.Email),
		Role: string(u.Role), IdentityType: string(u.IdentityType), Active: u.Active}
}

// Describe is DescribeUser; a user that does not exist is ErrUserNotFound.
func (d *Directory) Describe(ctx context.Context, namespace, userName string) (User, error) {
	out, err := call(ctx, d, "DescribeUser", func(ctx context.Context, api UsersAPI) (*quicksight.DescribeUserOutput, error) {
		return api.DescribeUser(ctx, &quicksight.DescribeUserInput{
			AwsAccountId: aws.String(d.accountID), Namespace: aws.String(namespace), UserName: aws.String(userName),
		})
	})
	if err != nil {
		// DescribeUser says ResourceNotFoundException for a missing user.
		if e, ok := err.(*Error); ok && e.Code == "ResourceNotFoundException" {
			e.Kind = ErrUserNotFound
		}
		return User{}, err
	}
	return userOf(out.User), nil
}

// List calls ListUsers page after page to the end and gives every user to
// each; the whole listing shares one deadline per page.
func (d *Directory) List(ctx context.Context, namespace string, each func(User)) error {
	var next *string
	for {
		out, err := call(ctx, d, "ListUsers", func(ctx context.Context, api UsersAPI) (*quicksight.ListUsersOutput, error) {
			return api.ListUsers(ctx, &quicksight.ListUsersInput{
				AwsAccountId: aws.String(d.accountID), Namespace: aws.String(namespace),
				MaxResults: aws.Int32(100), NextToken: next,
			})
		})
		if err != nil {
			return namespaceMissing(err, namespace)
		}
		for i := range out.UserList {
			each(userOf(&out.UserList[i]))
		}
		if aws.ToString(out.NextToken) == "" {
			return nil
		}
		next = out.NextToken
	}
}

// Register is RegisterUser. A user that exists already (a concurrent
// registration) is ErrUserExists.
func (d *Directory) Register(ctx context.Context, in *quicksight.RegisterUserInput) (User, error) {
	in.AwsAccountId = aws.String(d.accountID)
	out, err := call(ctx, d, "RegisterUser", func(ctx context.Context, api UsersAPI) (*quicksight.RegisterUserOutput, error) {
		return api.RegisterUser(ctx, in)
	})
	if err != nil {
		if e, ok := err.(*Error); ok && e.Code == "ResourceExistsException" {
			e.Kind = ErrUserExists
		}
		return User{}, namespaceMissing(err, aws.ToString(in.Namespace))
	}
	u := userOf(out.User)
	d.log.InfoContext(ctx, "quicksight user registered", "event", "user_registered", "user_arn", u.ARN,
		"role", u.Role, "identity_type", u.IdentityType, "aws_request_id", aws.ToString(out.RequestId))
	d.recordRegistered(ctx, in, u, aws.ToString(out.RequestId))
	return u, nil
}

// ErrUserExists means RegisterUser found the user already there.
var ErrUserExists = errors.New("the QuickSight user exists already")

// call runs one user-management call under the timeout and classifies its
// error. When QuickSight names another identity region and Follow is on, it
// switches to that region and tries once more.
func call[T any](ctx context.Context, d *Directory, op string, f func(context.Context, UsersAPI) (T, error)) (T, error) {
	cur := d.current.Load()
	out, e := attempt(ctx, d.timeout, cur.api, op, f)
	if e == nil {
		return out, nil
	}
	if e.IdentityRegion == "" || e.IdentityRegion == cur.region {
		return out, e
	}
	if !d.follow {
		d.log.Error("QuickSight user management is in another region", "aws_op", op,
			"identity_region", e.IdentityRegion, "called_region", cur.region,
			"fix", "set QSGATE_QUICKSIGHT_IDENTITY_REGION="+e.IdentityRegion+" (or QSGATE_FOLLOW_IDENTITY_REGION=true)")
		return out, e
	}
	next := &regionalAPI{region: e.IdentityRegion, api: d.newAPI(e.IdentityRegion)}
	if d.current.CompareAndSwap(cur, next) {
		d.log.Warn("following the QuickSight identity region", "from", cur.region, "to", next.region,
			"fix", "set QSGATE_QUICKSIGHT_IDENTITY_REGION="+next.region+" to skip this on start-up")
	}
	if out, e = attempt(ctx, d.timeout, d.current.Load().api, op, f); e != nil {
		return out, e
	}
	return out, nil
}

// attempt runs one call under the timeout and classifies its error, a
// timeout after throttling answers counting as throttling (throttle.go).
func attempt[T any](ctx context.Context, timeout time.Duration, api UsersAPI, op string, f func(context.Context, UsersAPI) (T, error)) (T, *Error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ctx, throttled := watchThrottling(ctx)
	out, err := f(ctx, api)
	if err != nil {
		return out, throttledTimeout(classify(op, err), throttled)
	}
	return out, nil
}

// namespaceMissing turns ListUsers' and RegisterUser's ResourceNotFound,
// which can only be the namespace, into a setup problem: not the "no such
// dashboard" page.
func namespaceMissing(err error, namespace string) error {
	if e, ok := err.(*Error); ok && e.Code == "ResourceNotFoundException" {
		e.Kind = ErrRejected
		e.Hint = "the QuickSight namespace " + namespace + " does not exist: create it, or fix QSGATE_NAMESPACE_RULES or QSGATE_QUICKSIGHT_NAMESPACE"
	}
	return err
}
