package config

import (
	"errors"
	"testing"
)

// problemFor reports whether Load refuses env with a problem on variable.
func problemFor(env map[string]string, variable string) bool {
	_, err := Load(getenv(env))
	var ps Problems
	if !errors.As(err, &ps) {
		return false
	}
	for _, p := range ps {
		if p.Var == variable {
			return true
		}
	}
	return false
}

// TestReviewRegisterNameFromEditableClaim: in register mode the QuickSight
// user name comes from QSGATE_USER_NAME_TEMPLATE, and a first view registers
// a name nobody has yet. With {preferred_username} (or any {claim:X}) a user
// who can edit that claim at the provider registers "bob" under their own
// email before Bob's first visit: Bob is then refused for good ("QuickSight
// user bob has another email") and everything shared with "bob" in QuickSight
// goes to the squatter. lookup mode checks the email; register cannot. Start-up
// must refuse such a template in register mode (or ask for an opt-in).
func TestReviewRegisterNameFromEditableClaim(t *testing.T) {
	for _, tmpl := range []string{"{preferred_username}", "{claim:nickname}"} {
		env := valid()
		env["QSGATE_USER_MAPPING"] = "register"
		env["QSGATE_ALLOWED_EMAIL_DOMAINS"] = "example.com"
		env["QSGATE_USER_NAME_TEMPLATE"] = tmpl
		if !problemFor(env, "QSGATE_USER_NAME_TEMPLATE") {
			t.Errorf("register mode with QSGATE_USER_NAME_TEMPLATE=%s starts: any user who edits that claim can pre-register another person's QuickSight name", tmpl)
		}
	}
	for _, tmpl := range []string{"{email}", "{sub}"} {
		env := valid()
		env["QSGATE_USER_MAPPING"] = "register"
		env["QSGATE_ALLOWED_EMAIL_DOMAINS"] = "example.com"
		env["QSGATE_USER_NAME_TEMPLATE"] = tmpl
		if problemFor(env, "QSGATE_USER_NAME_TEMPLATE") {
			t.Errorf("register mode with QSGATE_USER_NAME_TEMPLATE=%s refused; claims the user cannot edit must stay allowed", tmpl)
		}
	}
}

// TestReviewOpenRegistration: register mode (and iam with
// QSGATE_IAM_REGISTER) creates a QuickSight user for everyone the provider
// signs in. Without QSGATE_ALLOWED_EMAIL_DOMAINS or QSGATE_ALLOWED_GROUPS,
// "QuickSight decides" (the README's promise for no policy) no longer holds:
// the gateway itself registers them, with QSGATE_DEFAULT_ROLE (doctor
// suggests AUTHOR). With a provider that has open sign-up (Cognito, Auth0,
// a social login), anyone on the internet becomes a paid QuickSight user in
// the account. Like plain http and 0.0.0.0/0, this should need an opt-in.
func TestReviewOpenRegistration(t *testing.T) {
	for name, extra := range map[string]map[string]string{
		"register":       {"QSGATE_USER_MAPPING": "register", "QSGATE_DEFAULT_ROLE": "AUTHOR"},
		"iam + register": {"QSGATE_USER_MAPPING": "iam", "QSGATE_IAM_ROLE_ARN": "arn:aws:iam::123456789012:role/QuickSightEmbed", "QSGATE_IAM_REGISTER": "true"},
	} {
		env := valid()
		for k, v := range extra {
			env[k] = v
		}
		if _, err := Load(getenv(env)); err == nil {
			t.Errorf("%s with no QSGATE_ALLOWED_EMAIL_DOMAINS or QSGATE_ALLOWED_GROUPS loads: anyone the provider signs in is registered in QuickSight", name)
		}
	}
}
