package quicksight

import (
	"context"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// Person is the signed-in user as a mapper sees them: the session's claims
// plus what the access policy decided.
type Person struct {
	Claims    Claims // sub, email (verified only), preferred_username, kept claims
	Namespace string // the QuickSight namespace the user belongs in
	Role      string // the role to register the user with (register and iam modes)
	// Token is the user's ID token from the provider, which identity-center
	// mode sends to Identity Center as its assertion; "" when the session
	// keeps none. A secret: never logged.
	Token string
}

// Identity is who QuickSight opens the console for.
type Identity struct {
	// UserARN is the QuickSight user. It goes to GetSessionEmbedUrl as
	// UserArn unless Creds is set, and to the logs either way.
	UserARN string
	// Role is the user's QuickSight role when the mapper learned it
	// (lookup, register, iam with registration), else "".
	Role string
	// Creds, in iam mode, are the role session's credentials: the embed
	// call is signed with them and sends no UserArn.
	Creds aws.CredentialsProvider
	// WithIdentity, in identity-center mode, means Creds are an
	// identity-enhanced role session that carries the Identity Center
	// user: the embed call is GenerateEmbedUrlForRegisteredUserWithIdentity,
	// and UserARN is "".
	WithIdentity bool
	// RoleARN, in identity-center mode, is the role whose identity-enhanced
	// session signs the embed call (for the audit stream).
	RoleARN string
	// Groups are the signed-in user's groups (those the session keeps),
	// which Client.AmazonQGroups reads. Mappers leave it empty: the
	// handlers fill it in for the embed call.
	Groups []string
}

// Mapper finds the QuickSight identity of a signed-in user. Errors wrap
// ErrNoMapping (no usable claim), ErrUserNotFound (QuickSight has no such
// user) or are *Error (a failed AWS call).
type Mapper interface {
	Identity(ctx context.Context, p Person) (Identity, error)
}

// readerRoles are the roles QuickSight refuses the console.
var readerRoles = []string{"READER", "RESTRICTED_READER", "READER_PRO"}

// IsReader reports whether role is one of the reader roles.
func IsReader(role string) bool { return slices.Contains(readerRoles, role) }
