package quicksight

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/quicksight"

	"github.com/qsgate/qsgate/audit"
)

// What quicksight writes to the audit stream (docs/audit.md): a user
// registered (RegisterUser, in register and iam modes) and a role assumed
// (iam mode, when a user's role session credentials are fetched, not when
// they come from the cache).

// Auditor records audit events (audit.Logger). Record never fails.
type Auditor interface {
	Record(ctx context.Context, e audit.Event)
}

// RecordTo makes d write user_registered to a (nil records nothing), and
// the IAM mapper that uses d write role_assumed.
func (d *Directory) RecordTo(a Auditor) *Directory {
	d.audit = a
	return d
}

// recordRegistered writes user_registered for a RegisterUser that made u.
func (d *Directory) recordRegistered(ctx context.Context, in *quicksight.RegisterUserInput, u User, requestID string) {
	if d.audit == nil {
		return
	}
	d.audit.Record(ctx, audit.Event{Event: audit.UserRegistered, Email: aws.ToString(in.Email), UserARN: u.ARN,
		Namespace: aws.ToString(in.Namespace), Role: u.Role, RoleARN: aws.ToString(in.IamArn), RoleSession: aws.ToString(in.SessionName),
		AWSRequestID: requestID})
}

// assumed is a role session's credentials provider (stscreds) that writes
// role_assumed each time it fetches: aws.CredentialsCache asks it only
// when it holds no good credentials, so cached views write nothing.
type assumed struct {
	aws.CredentialsProvider
	audit                Auditor
	role, session, email string
}

func (a assumed) Retrieve(ctx context.Context) (aws.Credentials, error) {
	creds, err := a.CredentialsProvider.Retrieve(ctx)
	if err == nil && a.audit != nil {
		a.audit.Record(ctx, audit.Event{Event: audit.RoleAssumed, Email: a.email, RoleARN: a.role, RoleSession: a.session})
	}
	return creds, err
}
