package qssim

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
)

// caller is whoever signed a request: the configured credentials, or a role
// session whose temporary credentials AssumeRole issued.
type caller struct {
	secretAccessKey string
	sessionToken    string
	arn             string    // Call.Principal: CallerArn or an assumed-role ARN
	userID          string    // GetCallerIdentity's UserId
	expires         time.Time // zero for the configured credentials
	// identityUser is the QuickSight user ARN of the Identity Center user an
	// identity-enhanced role session carries (AssumeRole with
	// ProvidedContexts); "" for other credentials.
	identityUser string
}

// roleSession reports whether c holds temporary credentials from AssumeRole.
func (c caller) roleSession() bool { return !c.expires.IsZero() }

// lookupCaller finds the owner of an access key id. The configured key is
// compared in constant time; issued keys are looked up by value, as AWS
// does: an access key id is not a secret, the secret and token are, and
// verifySignature compares those in constant time.
func (s *Simulator) lookupCaller(accessKeyID string) (caller, bool) {
	if equalConstantTime(accessKeyID, s.cfg.AccessKeyID) {
		return caller{
			secretAccessKey: s.cfg.SecretAccessKey,
			sessionToken:    s.cfg.SessionToken,
			arn:             s.cfg.CallerArn,
			userID:          stableID("AIDA", s.cfg.CallerArn),
		}, true
	}
	return s.issued.get(accessKeyID)
}

// issuedCredentialsLimit bounds the temporary credentials remembered: past
// it the least recently used are forgotten, and then refused as unknown keys.
const issuedCredentialsLimit = 10_000

// issuedCredentials are the temporary credentials AssumeRole handed out, by
// access key id. Expired ones stay, to answer ExpiredToken, until the bound
// pushes them out. golang-lru's expirable cache would drop them on the wall
// clock; expiry here follows Config.Now, checked in verifySignature.
type issuedCredentials struct {
	byKey *lru.Cache[string, caller]
}

func newIssuedCredentials() *issuedCredentials {
	byKey, _ := lru.New[string, caller](issuedCredentialsLimit) // fails only for a size below 1
	return &issuedCredentials{byKey: byKey}
}

func (ic *issuedCredentials) get(accessKeyID string) (caller, bool) { return ic.byKey.Get(accessKeyID) }

// issue makes and remembers temporary credentials for who, returning the
// access key id.
func (ic *issuedCredentials) issue(who caller) (string, caller) {
	who.secretAccessKey = randomBase64(30) // 40 characters, like AWS secrets
	who.sessionToken = randomBase64(180)
	accessKeyID := "ASIA" + randomBase32(10) // 20 characters, like AWS keys
	ic.byKey.Add(accessKeyID, who)
	return accessKeyID, who
}

// roleARNPattern is an IAM role ARN: partition, account, role name (after
// an optional path).
var roleARNPattern = regexp.MustCompile(`^arn:(aws[a-z-]*):iam::([0-9]{12}):role/(?:[\w+=,.@-]+/)*([\w+=,.@-]{1,64})$`)

// checkRoleARN accepts an IAM role ARN of account.
func checkRoleARN(arn, account string) error {
	if m := roleARNPattern.FindStringSubmatch(arn); m == nil || m[2] != account {
		return fmt.Errorf("%q is not an IAM role ARN of account %s (arn:aws:iam::%s:role/<name>)", arn, account, account)
	}
	return nil
}

// assumedRole returns the ARN of session of role (an ARN checkRoleARN
// accepted) and the role's unique id.
func assumedRole(role, session string) (arn, roleID string) {
	m := roleARNPattern.FindStringSubmatch(role)
	return fmt.Sprintf("arn:%s:sts::%s:assumed-role/%s/%s", m[1], m[2], m[3], session), stableID("AROA", role)
}

// roleSessionUser returns "RoleName/SessionName", the QuickSight user name of
// an IAM role session, when principal is an assumed-role ARN.
func roleSessionUser(principal string) (string, bool) {
	_, name, ok := strings.Cut(principal, ":assumed-role/")
	return name, ok
}

// stableID is a unique id in the shape of AWS's (AIDA... for users, AROA...
// for roles): the same for the same ARN, as AWS's are for one principal.
func stableID(prefix, arn string) string {
	sum := sha256.Sum256([]byte(arn))
	return prefix + base32.StdEncoding.EncodeToString(sum[:])[:17]
}

func randomBase64(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.StdEncoding.EncodeToString(b)
}

func randomBase32(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base32.StdEncoding.EncodeToString(b)
}
