package qssim

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// The account itself: its settings, its subscription and how its users
// authenticate.

// The account's fixed particulars, as DescribeAccountSettings and
// DescribeAccountSubscription report them.
const (
	accountName       = "qssim"
	notificationEmail = "admin@example.com"
)

// The authentication methods of a QuickSight account, as
// DescribeAccountSubscription reports them (AccountInfo.AuthenticationType).
const (
	AuthIAMAndQuickSight  = "IAM_AND_QUICKSIGHT"
	AuthIAMOnly           = "IAM_ONLY"
	AuthActiveDirectory   = "ACTIVE_DIRECTORY"
	AuthIAMIdentityCenter = "IAM_IDENTITY_CENTER"
)

var authenticationTypes = []string{AuthIAMAndQuickSight, AuthIAMOnly, AuthActiveDirectory, AuthIAMIdentityCenter}

// SetAuthenticationType sets the account's authentication method, one of
// IAM_AND_QUICKSIGHT (the default), IAM_ONLY, ACTIVE_DIRECTORY and
// IAM_IDENTITY_CENTER; "" restores the default. It panics on any other
// value. Only an IAM_IDENTITY_CENTER account answers
// GenerateEmbedUrlForRegisteredUserWithIdentity, and AddIdentityCenterApplication
// does not change the method (on AWS it is chosen when the account is
// subscribed): tests and the demo of Identity Center call
// SetAuthenticationType("IAM_IDENTITY_CENTER").
func (s *Simulator) SetAuthenticationType(t string) {
	if t == "" {
		t = AuthIAMAndQuickSight
	}
	if !slices.Contains(authenticationTypes, t) {
		panic(fmt.Sprintf("qssim: SetAuthenticationType(%q): want one of %s", t, strings.Join(authenticationTypes, ", ")))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.authType = t
}

func (s *Simulator) authenticationType() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.authType
}

// describeAccountSettings is DescribeAccountSettings: GET /accounts/{account}/settings
func (s *Simulator) describeAccountSettings(*http.Request, []byte, *Call) (map[string]any, *apiError) {
	return map[string]any{"AccountSettings": map[string]any{
		"AccountName":                  accountName,
		"Edition":                      s.cfg.Edition,
		"DefaultNamespace":             "default",
		"NotificationEmail":            notificationEmail,
		"PublicSharingEnabled":         false,
		"TerminationProtectionEnabled": false,
	}}, nil
}

// describeAccountSubscription is DescribeAccountSubscription: GET
// /account/{account} (singular "account", as the SDK sends it). Like user
// management it answers only in the identity region. The Identity Center
// instance ARN is there only for an IAM_IDENTITY_CENTER account.
func (s *Simulator) describeAccountSubscription(_ *http.Request, _ []byte, c *Call) (map[string]any, *apiError) {
	if e := s.checkIdentityRegion(c); e != nil {
		return nil, e
	}
	auth := s.authenticationType()
	info := map[string]any{
		"AccountName":               accountName,
		"Edition":                   s.cfg.Edition,
		"NotificationEmail":         notificationEmail,
		"AuthenticationType":        auth,
		"AccountSubscriptionStatus": "ACCOUNT_CREATED",
	}
	if auth == AuthIAMIdentityCenter {
		info["IAMIdentityCenterInstanceArn"] = identityCenterInstanceARN
	}
	return map[string]any{"AccountInfo": info}, nil
}

// checkIdentityCenterAccount refuses the WithIdentity embed call for an
// account that does not authenticate with IAM Identity Center. The message
// names "IAM Identity Center", which the refusal of credentials that are
// not identity-enhanced does not: the gateway tells the two apart by it.
func (s *Simulator) checkIdentityCenterAccount(c *Call) *apiError {
	if s.authenticationType() == AuthIAMIdentityCenter {
		return nil
	}
	return newError(ErrAccessDenied, fmt.Sprintf(
		"The QuickSight account %s does not use IAM Identity Center: %s needs an account subscribed with AuthenticationMethod IAM_IDENTITY_CENTER.",
		s.cfg.AccountID, c.Operation))
}
