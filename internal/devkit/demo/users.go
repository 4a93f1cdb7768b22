package demo

import (
	"fmt"
	"slices"
	"strings"

	"github.com/qsgate/qsgate/internal/devkit/qssim"
)

// Mapping modes the demo can show, spelled as QSGATE_USER_MAPPING spells
// them.
const (
	// MappingTemplate is the default: the QuickSight user name is the email.
	MappingTemplate = "template"
	// MappingLookup finds the QuickSight user whose Email is the signed-in
	// user's email; the names differ.
	MappingLookup = "lookup"
	// MappingRegister is MappingLookup, registering a missing user with a
	// role from their groups.
	MappingRegister = "register"
	// MappingIAM assumes an IAM role with the email as session name; the
	// QuickSight users are IAM users "<role name>/<email>".
	MappingIAM = "iam"
	// MappingIdentityCenter maps nobody: the simulator's account is on IAM
	// Identity Center, with an application that trusts the demo provider,
	// and the QuickSight users are Identity Center users found by email.
	MappingIdentityCenter = "identity-center"
)

// Mappings returns the values Options.Mapping accepts, the default first.
func Mappings() []string {
	return []string{MappingTemplate, MappingLookup, MappingRegister, MappingIAM, MappingIdentityCenter}
}

// Groups the demo users carry in the "groups" claim, and the gateway maps to
// QuickSight roles when it registers a user.
const (
	AuthorGroup = "qs-authors"
	AdminGroup  = "qs-admins"
)

// AllowedEmailDomain is the only domain the demo gateway lets in.
const AllowedEmailDomain = "example.com"

// IAMRoleName is the IAM role the gateway assumes in MappingIAM.
const IAMRoleName = "QuickSightEmbed"

// IdentityCenterRoleName is the role the gateway assumes with the user's
// identity context in MappingIdentityCenter, and IdentityCenterApplication
// the name of the Identity Center application (apl-...) that trusts the
// demo provider.
const (
	IdentityCenterRoleName    = "QuickSightIdentity"
	IdentityCenterApplication = "qsgatedemo"
)

// User is a demo account: who signs in, and what QuickSight holds for them
// in one mapping mode.
type User struct {
	Subject, Email, Name string
	Groups               []string // the "groups" claim
	// QuickSight is the user the simulator holds for them at the start, nil
	// for none.
	QuickSight  *qssim.User
	Description string // what they see in this mode; the sign-in page and the banner show it
}

// person is who signs in, the same in every mode.
type person struct {
	subject, email, name string
	groups               []string
	role                 string // ADMIN, AUTHOR, READER; "" for no QuickSight user
	lookupName           string // QuickSight user name in lookup and register modes
	lookupEmail          string // the stored email there: same address, other case
}

// people are the demo accounts, one of each kind a portal meets.
var people = []person{
	{"alice", "alice@example.com", "Alice Author", []string{AuthorGroup}, "AUTHOR", "alice.author", "Alice@Example.com"},
	{"adam", "adam@example.com", "Adam Admin", []string{AdminGroup}, "ADMIN", "adam.admin", "Adam@EXAMPLE.com"},
	{"rita", "rita@example.com", "Rita Reader", []string{"staff"}, "READER", "rita.reader", "RITA@example.com"},
	{"nora", "nora@example.com", "Nora Newcomer", []string{AuthorGroup}, "", "", ""},
	{"eve", "eve@partner.example", "Eve External", []string{AuthorGroup}, "", "", ""},
}

// notAllowed is eve's line in every mode: the gateway refuses her before
// QuickSight is asked anything.
const notAllowed = "outside the allowed email domain: sees the not-allowed page"

// Users returns the demo accounts for a mapping mode ("" is
// MappingTemplate), with what the simulator holds for each and what they
// see.
func Users(mapping string) ([]User, error) {
	mapping, err := checkMapping(mapping)
	if err != nil {
		return nil, err
	}
	return usersFor(mapping), nil
}

// usersFor is Users for a checked mode.
func usersFor(mapping string) []User {
	users := make([]User, 0, len(people))
	for _, p := range people {
		u := User{Subject: p.subject, Email: p.email, Name: p.name, Groups: slices.Clone(p.groups)}
		role := strings.ToLower(p.role)
		switch {
		case !allowed(p):
			u.Description = notAllowed
		case p.role == "":
			u.Description = newcomer(mapping)
		default:
			u.QuickSight, u.Description = quickSightUser(mapping, p, role)
		}
		users = append(users, u)
	}
	return users
}

// allowed reports whether the gateway lets p in at all (the email domain).
func allowed(p person) bool {
	return strings.HasSuffix(p.email, "@"+AllowedEmailDomain)
}

// quickSightUser is what the simulator holds for someone with a role, and
// what they see.
func quickSightUser(mapping string, p person, role string) (*qssim.User, string) {
	sees := "opens the console"
	if p.role == "READER" {
		sees = "QuickSight refuses readers the console"
	}
	switch mapping {
	case MappingLookup, MappingRegister:
		return &qssim.User{UserName: p.lookupName, Email: p.lookupEmail, Role: p.role, IdentityType: "QUICKSIGHT"},
			fmt.Sprintf("%s, found by email as QuickSight user %q: %s", role, p.lookupName, sees)
	case MappingIAM:
		name := IAMRoleName + "/" + p.email
		return &qssim.User{UserName: name, Email: p.email, Role: p.role, IdentityType: "IAM"},
			fmt.Sprintf("%s, IAM role session QuickSight user %q: %s", role, name, sees)
	case MappingIdentityCenter:
		if p.role == "READER" {
			// The gateway learns no role in this mode, so it cannot say
			// why QuickSight refused: the generic 502 page.
			sees += " (the gateway cannot tell it is the role here: sees the 502 page)"
		}
		return &qssim.User{UserName: p.email, Email: p.email, Role: p.role, IdentityType: "IAM_IDENTITY_CENTER"},
			fmt.Sprintf("%s, IAM Identity Center user %q: %s", role, p.email, sees)
	default:
		return &qssim.User{UserName: p.email, Email: p.email, Role: p.role, IdentityType: "QUICKSIGHT"},
			fmt.Sprintf("%s: %s", role, sees)
	}
}

// newcomer is what someone without a QuickSight user sees.
func newcomer(mapping string) string {
	switch mapping {
	case MappingLookup:
		return "no QuickSight user has her email: sees the 403 page"
	case MappingRegister:
		return "no QuickSight user yet: registered as author on first view"
	case MappingIAM:
		return "no QuickSight user yet: registered as author (IAM) on first view"
	case MappingIdentityCenter:
		return "not in IAM Identity Center: sees the 403 page"
	default:
		return "no QuickSight user yet: sees the 403 page"
	}
}

// MappingSummary is one line on what a mapping mode does, for the banner.
func MappingSummary(mapping string) string {
	switch mapping {
	case MappingLookup:
		return "finds the QuickSight user whose email is the signed-in email (ListUsers)"
	case MappingRegister:
		return "finds the QuickSight user by email, registers a missing one with a role from their groups"
	case MappingIAM:
		return "assumes IAM role " + IAMRoleName + " with the email as session name, registers missing users"
	case MappingIdentityCenter:
		return "no mapping: the provider's ID token goes to IAM Identity Center (CreateTokenWithIAM), role " + IdentityCenterRoleName + " is assumed with the user's identity, QuickSight opens as the Identity Center user"
	case MappingTemplate, "":
		return "the QuickSight user name is the email"
	}
	return ""
}

// checkMapping returns the mode mapping names, "" being MappingTemplate,
// or an error naming the allowed values.
func checkMapping(mapping string) (string, error) {
	if mapping == "" {
		return MappingTemplate, nil
	}
	if !slices.Contains(Mappings(), mapping) {
		return "", fmt.Errorf("demo: unknown user mapping %q; want one of %s", mapping, strings.Join(Mappings(), ", "))
	}
	return mapping, nil
}
