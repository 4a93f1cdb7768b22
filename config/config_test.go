package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func valid() map[string]string {
	return map[string]string{
		"QSGATE_PUBLIC_URL":            "https://portal.example.com",
		"QSGATE_OIDC_ISSUER":           "https://idp.example.com/realms/x",
		"QSGATE_OIDC_CLIENT_ID":        "qsgate",
		"QSGATE_OIDC_CLIENT_SECRET":    "s3cret",
		"QSGATE_SESSION_KEYS":          strings.Repeat("k", 32),
		"QSGATE_QUICKSIGHT_ACCOUNT_ID": "123456789012",
	}
}

func getenv(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

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

func TestLoadDefaults(t *testing.T) {
	c, err := Load(getenv(valid()))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"ListenAddr", c.ListenAddr, ":8080"},
		{"PublicURL", c.PublicURL.String(), "https://portal.example.com"},
		{"RedirectURL", c.RedirectURL(), "https://portal.example.com/auth/callback"},
		{"Scopes", strings.Join(c.OIDCScopes, " "), "openid email profile"},
		{"SessionTTL", c.SessionTTL, 10 * time.Hour},
		{"Namespace", c.Namespace, "default"},
		{"IdentityRegion", c.IdentityRegion, ""},
		{"SessionLifetime", c.SessionLifetime, int64(600)},
		{"UserMapping", c.UserMapping, "template"},
		{"UserARNTemplate", c.UserARNTemplate, "arn:aws:quicksight:{identity_region}:{account_id}:user/{namespace}/{email}"},
		{"TemplateClaims", strings.Join(c.TemplateClaims, ","), "email"},
		{"AWSTimeout", c.AWSTimeout, 10 * time.Second},
		{"EmbedRate", c.EmbedRate.String(), "30/m"},
		{"MaxRPS", c.MaxRPS, 5.0},
		{"MaxInflight", c.MaxInflight, 20},
		{"AuditLog", c.AuditLog, "stdout"},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %v, want %v", ch.name, ch.got, ch.want)
		}
	}
}

func TestLoadScopesAndKeys(t *testing.T) {
	env := valid()
	env["QSGATE_OIDC_SCOPES"] = "openid,email groups"
	env["QSGATE_SESSION_KEYS"] = strings.Repeat("a", 32) + ", " + strings.Repeat("b", 40)
	env["QSGATE_PUBLIC_URL"] = "http://127.0.0.1:8080/"
	env["QSGATE_OIDC_ISSUER"] = "https://tenant.auth0.com/"
	c, err := Load(getenv(env))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if got, want := strings.Join(c.OIDCScopes, "|"), "openid|email|groups"; got != want {
		t.Errorf("scopes = %q, want %q", got, want)
	}
	if got, want := len(c.SessionKeys), 2; got != want {
		t.Errorf("len(SessionKeys) = %d, want %d", got, want)
	}
	if got, want := c.PublicURL.String(), "http://127.0.0.1:8080"; got != want {
		t.Errorf("PublicURL = %q, want %q", got, want)
	}
	if got, want := c.OIDCIssuer, "https://tenant.auth0.com/"; got != want {
		t.Errorf("issuer = %q, want %q exactly (go-oidc compares it byte for byte)", got, want)
	}
}

// One row per invalid setting: the message must name the variable and the rule.
func TestLoadProblems(t *testing.T) {
	tests := []struct {
		name string
		set  map[string]string
		want string
	}{
		{"bad listen addr", map[string]string{"QSGATE_LISTEN_ADDR": "not-an-addr"}, `QSGATE_LISTEN_ADDR: must be HOST:PORT or :PORT, got "not-an-addr"`},
		{"metrics on the public port", map[string]string{"QSGATE_LISTEN_ADDR": ":8080", "QSGATE_METRICS_ADDR": ":8080"}, "QSGATE_METRICS_ADDR: must differ from QSGATE_LISTEN_ADDR"},
		{"missing public url", map[string]string{"QSGATE_PUBLIC_URL": ""}, "QSGATE_PUBLIC_URL: missing"},
		{"relative audit log", map[string]string{"QSGATE_AUDIT_LOG": "audit.log"}, `QSGATE_AUDIT_LOG: must be stdout, off or an absolute file path, got "audit.log"`},
		{"audit log to stderr", map[string]string{"QSGATE_AUDIT_LOG": "stderr"}, `QSGATE_AUDIT_LOG: must be stdout, off or an absolute file path, got "stderr"`},
		{"relative public url", map[string]string{"QSGATE_PUBLIC_URL": "portal.example.com"}, `QSGATE_PUBLIC_URL: must be an absolute http(s) URL, got "portal.example.com"`},
		{"public url with path", map[string]string{"QSGATE_PUBLIC_URL": "https://x.example.com/qs"}, "QSGATE_PUBLIC_URL: must be scheme and host only"},
		{"missing issuer", map[string]string{"QSGATE_OIDC_ISSUER": ""}, "QSGATE_OIDC_ISSUER: missing"},
		{"issuer not a url", map[string]string{"QSGATE_OIDC_ISSUER": "idp"}, `QSGATE_OIDC_ISSUER: must be an absolute http(s) URL, got "idp"`},
		{"missing client id", map[string]string{"QSGATE_OIDC_CLIENT_ID": ""}, "QSGATE_OIDC_CLIENT_ID: missing"},
		{"missing client secret", map[string]string{"QSGATE_OIDC_CLIENT_SECRET": ""}, "QSGATE_OIDC_CLIENT_SECRET: missing"},
		{"scopes without openid", map[string]string{"QSGATE_OIDC_SCOPES": "email"}, `QSGATE_OIDC_SCOPES: must include openid, got "email"`},
		{"missing keys", map[string]string{"QSGATE_SESSION_KEYS": ""}, "QSGATE_SESSION_KEYS: missing"},
		{"short key", map[string]string{"QSGATE_SESSION_KEYS": strings.Repeat("k", 32) + ",short"}, "QSGATE_SESSION_KEYS: key 2 is 5 bytes, each key must be at least 32"},
		{"bad ttl", map[string]string{"QSGATE_SESSION_TTL": "ten hours"}, `QSGATE_SESSION_TTL: must be a Go duration such as 10h or 90m, got "ten hours"`},
		{"ttl too short", map[string]string{"QSGATE_SESSION_TTL": "1m"}, "QSGATE_SESSION_TTL: must be between 5m0s and 720h0m0s, got 1m0s"},
		{"missing account", map[string]string{"QSGATE_QUICKSIGHT_ACCOUNT_ID": ""}, "QSGATE_QUICKSIGHT_ACCOUNT_ID: missing"},
		{"short account", map[string]string{"QSGATE_QUICKSIGHT_ACCOUNT_ID": "12345"}, `QSGATE_QUICKSIGHT_ACCOUNT_ID: must be 12 digits, got "12345"`},
		{"bad namespace", map[string]string{"QSGATE_QUICKSIGHT_NAMESPACE": "a/b"}, `QSGATE_QUICKSIGHT_NAMESPACE: must be 1-64 of letters, digits, '.', '_' or '-', got "a/b"`},
		{"bad identity region", map[string]string{"QSGATE_QUICKSIGHT_IDENTITY_REGION": "mars"}, `QSGATE_QUICKSIGHT_IDENTITY_REGION: must be an AWS region such as us-east-1, got "mars"`},
		{"lifetime too low", map[string]string{"QSGATE_QUICKSIGHT_SESSION_LIFETIME": "14"}, `QSGATE_QUICKSIGHT_SESSION_LIFETIME: must be a whole number from 15 to 600, got "14"`},
		{"lifetime too high", map[string]string{"QSGATE_QUICKSIGHT_SESSION_LIFETIME": "601"}, `QSGATE_QUICKSIGHT_SESSION_LIFETIME: must be a whole number from 15 to 600, got "601"`},
		{"lifetime not a number", map[string]string{"QSGATE_QUICKSIGHT_SESSION_LIFETIME": "1h"}, `QSGATE_QUICKSIGHT_SESSION_LIFETIME: must be a whole number from 15 to 600, got "1h"`},
		{"unknown mapping", map[string]string{"QSGATE_USER_MAPPING": "ldap"}, `QSGATE_USER_MAPPING: must be one of template, file, lookup, register, iam, identity-center, got "ldap"`},
		{"bad name template", map[string]string{"QSGATE_USER_MAPPING": "lookup", "QSGATE_USER_NAME_TEMPLATE": "{mail}"}, "QSGATE_USER_NAME_TEMPLATE: unknown placeholder {mail}"},
		{"open registration", map[string]string{"QSGATE_USER_MAPPING": "register"}, "QSGATE_ALLOWED_EMAIL_DOMAINS: register mode registers everyone the provider signs in"},
		{"name template without claim", map[string]string{"QSGATE_USER_MAPPING": "register", "QSGATE_USER_NAME_TEMPLATE": "bob"}, "QSGATE_USER_NAME_TEMPLATE: the template reads no claim"},
		{"name template with a slash", map[string]string{"QSGATE_USER_MAPPING": "register", "QSGATE_USER_NAME_TEMPLATE": "x/{email}"}, `QSGATE_USER_NAME_TEMPLATE: the fixed text "x/" has characters`},
		{"bad cache ttl", map[string]string{"QSGATE_USER_CACHE_TTL": "1s"}, "QSGATE_USER_CACHE_TTL: must be between 10s and 24h0m0s, got 1s"},
		{"bad custom permissions", map[string]string{"QSGATE_USER_MAPPING": "register", "QSGATE_CUSTOM_PERMISSIONS_NAME": "no spaces"}, `QSGATE_CUSTOM_PERMISSIONS_NAME: must be 1-64 of letters, digits and +=,.@_-, got "no spaces"`},
		{"iam without role", map[string]string{"QSGATE_USER_MAPPING": "iam"}, "QSGATE_IAM_ROLE_ARN: missing"},
		{"iam bad role", map[string]string{"QSGATE_USER_MAPPING": "iam", "QSGATE_IAM_ROLE_ARN": "arn:aws:iam::123456789012:user/bob"}, `QSGATE_IAM_ROLE_ARN: must be an IAM role ARN such as`},
		{"iam bad register", map[string]string{"QSGATE_USER_MAPPING": "iam", "QSGATE_IAM_ROLE_ARN": "arn:aws:iam::123456789012:role/QS", "QSGATE_IAM_REGISTER": "yes please"}, `QSGATE_IAM_REGISTER: must be true or false, got "yes please"`},
		{"identity-center without settings", map[string]string{"QSGATE_USER_MAPPING": "identity-center"}, "QSGATE_IDC_APPLICATION_ARN: missing"},
		{"identity-center without role", map[string]string{"QSGATE_USER_MAPPING": "identity-center"}, "QSGATE_IDC_ROLE_ARN: missing"},
		{"identity-center bad application", map[string]string{"QSGATE_USER_MAPPING": "identity-center", "QSGATE_IDC_APPLICATION_ARN": "apl-123", "QSGATE_IDC_ROLE_ARN": "arn:aws:iam::123456789012:role/QS"}, `QSGATE_IDC_APPLICATION_ARN: must be an IAM Identity Center application ARN`},
		{"identity-center bad role", map[string]string{"QSGATE_USER_MAPPING": "identity-center", "QSGATE_IDC_APPLICATION_ARN": idcApp, "QSGATE_IDC_ROLE_ARN": "QS"}, `QSGATE_IDC_ROLE_ARN: must be an IAM role ARN`},
		{"identity-center bad region", map[string]string{"QSGATE_USER_MAPPING": "identity-center", "QSGATE_IDC_APPLICATION_ARN": idcApp, "QSGATE_IDC_ROLE_ARN": "arn:aws:iam::123456789012:role/QS", "QSGATE_IDC_REGION": "mars"}, `QSGATE_IDC_REGION: must be an AWS region`},
		{"identity-center with the session API", map[string]string{"QSGATE_USER_MAPPING": "identity-center", "QSGATE_IDC_APPLICATION_ARN": idcApp, "QSGATE_IDC_ROLE_ARN": "arn:aws:iam::123456789012:role/QS", "QSGATE_QUICKSIGHT_API": "session"}, `QSGATE_QUICKSIGHT_API: identity-center mode embeds with GenerateEmbedUrlForRegisteredUserWithIdentity`},
		{"bad follow", map[string]string{"QSGATE_FOLLOW_IDENTITY_REGION": "sometimes"}, `QSGATE_FOLLOW_IDENTITY_REGION: must be true or false, got "sometimes"`},
		{"bad domain", map[string]string{"QSGATE_ALLOWED_EMAIL_DOMAINS": "example.com,@corp.example"}, `QSGATE_ALLOWED_EMAIL_DOMAINS: "@corp.example" is not a domain name`},
		{"wildcard domain", map[string]string{"QSGATE_ALLOWED_EMAIL_DOMAINS": "*.example.com"}, `QSGATE_ALLOWED_EMAIL_DOMAINS: "*.example.com" is not a domain name`},
		{"bad groups claim", map[string]string{"QSGATE_OIDC_GROUPS_CLAIM": "my groups"}, `QSGATE_OIDC_GROUPS_CLAIM: must be a claim name`},
		{"bad default role", map[string]string{"QSGATE_DEFAULT_ROLE": "OWNER"}, `QSGATE_DEFAULT_ROLE: must be one of READER, AUTHOR, ADMIN, got "OWNER"`},
		{"rule without kind", map[string]string{"QSGATE_NAMESPACE_RULES": "example.com=tenant"}, `QSGATE_NAMESPACE_RULES: "example.com=tenant": want domain:DOMAIN=NAMESPACE or group:GROUP=NAMESPACE`},
		{"rule unknown kind", map[string]string{"QSGATE_NAMESPACE_RULES": "team:x=tenant"}, `QSGATE_NAMESPACE_RULES: "team:x=tenant": the rule must start with domain: or group:`},
		{"rule bad namespace", map[string]string{"QSGATE_NAMESPACE_RULES": "group:fin=a/b"}, `QSGATE_NAMESPACE_RULES: "group:fin=a/b": namespace "a/b" must be`},
		{"rule bad domain", map[string]string{"QSGATE_NAMESPACE_RULES": "domain:not a domain=t"}, `QSGATE_NAMESPACE_RULES: "domain:not a domain=t": "not a domain" is not a domain name`},
		{"unknown placeholder", map[string]string{"QSGATE_USER_ARN_TEMPLATE": "arn:aws:quicksight:us-east-1:{account_id}:user/default/{mail}"}, "QSGATE_USER_ARN_TEMPLATE: unknown placeholder {mail}"},
		{"template not an ARN", map[string]string{"QSGATE_USER_ARN_TEMPLATE": "arn:aws:quicksight:us-east-1:{account_id}:usr/default/{email}"}, "QSGATE_USER_ARN_TEMPLATE: does not give a QuickSight user ARN"},
		{"template without claim", map[string]string{"QSGATE_USER_ARN_TEMPLATE": "arn:aws:quicksight:us-east-1:{account_id}:user/default/bob"}, "QSGATE_USER_ARN_TEMPLATE: the template reads no user claim"},
		{"map file missing", map[string]string{"QSGATE_USER_MAPPING": "file"}, "QSGATE_USER_MAP_FILE: missing"},
		{"grace shorter than the AWS timeout", map[string]string{"QSGATE_SHUTDOWN_GRACE": "5s", "QSGATE_AWS_TIMEOUT": "10s"}, "QSGATE_SHUTDOWN_GRACE: 5s is shorter than QSGATE_AWS_TIMEOUT (10s)"},
		{"http public url off loopback", map[string]string{"QSGATE_PUBLIC_URL": "http://portal.example.com"}, `QSGATE_PUBLIC_URL: "http://portal.example.com" is plain http on a host that is not loopback`},
		{"http issuer off loopback", map[string]string{"QSGATE_OIDC_ISSUER": "http://10.0.0.5/realms/x"}, `QSGATE_OIDC_ISSUER: "http://10.0.0.5/realms/x" is plain http`},
		{"bad insecure opt-in", map[string]string{"QSGATE_ALLOW_INSECURE_HTTP": "yes"}, `QSGATE_ALLOW_INSECURE_HTTP: must be true or false, got "yes"`},
		{"every proxy trusted", map[string]string{"QSGATE_TRUSTED_PROXIES": "10.0.0.0/8, 0.0.0.0/0"}, "QSGATE_TRUSTED_PROXIES: 0.0.0.0/0 trusts every address"},
		{"every v6 proxy trusted", map[string]string{"QSGATE_TRUSTED_PROXIES": "::/0"}, "QSGATE_TRUSTED_PROXIES: ::/0 trusts every address"},
		{"unknown api", map[string]string{"QSGATE_QUICKSIGHT_API": "anonymous"}, `QSGATE_QUICKSIGHT_API: must be one of session, registered-user, got "anonymous"`},
		{"dashboard experience needs the new api", map[string]string{"QSGATE_DASHBOARD_EXPERIENCE": "dashboard"}, "QSGATE_DASHBOARD_EXPERIENCE: dashboard needs QSGATE_QUICKSIGHT_API=registered-user"},
		{"unknown experience", map[string]string{"QSGATE_DASHBOARD_EXPERIENCE": "story"}, `QSGATE_DASHBOARD_EXPERIENCE: must be one of console, dashboard, got "story"`},
		{"embed domains with the session api", map[string]string{"QSGATE_ALLOWED_EMBED_DOMAINS": "https://a.example.com"}, "QSGATE_ALLOWED_EMBED_DOMAINS: is sent only with QSGATE_QUICKSIGHT_API=registered-user"},
		{"http embed domain", map[string]string{"QSGATE_QUICKSIGHT_API": "registered-user", "QSGATE_ALLOWED_EMBED_DOMAINS": "http://a.example.com"}, `QSGATE_ALLOWED_EMBED_DOMAINS: "http://a.example.com" must be an https origin`},
		{"embed domain with a path", map[string]string{"QSGATE_QUICKSIGHT_API": "registered-user", "QSGATE_ALLOWED_EMBED_DOMAINS": "https://a.example.com/portal"}, `QSGATE_ALLOWED_EMBED_DOMAINS: "https://a.example.com/portal" must be an https origin`},
		{"embed domain wildcard inside", map[string]string{"QSGATE_QUICKSIGHT_API": "registered-user", "QSGATE_ALLOWED_EMBED_DOMAINS": "https://a.*.example.com"}, `must be an https origin`},
		{"bare wildcard", map[string]string{"QSGATE_QUICKSIGHT_API": "registered-user", "QSGATE_ALLOWED_EMBED_DOMAINS": "https://*"}, `must be an https origin`},
		{"four embed domains", map[string]string{"QSGATE_QUICKSIGHT_API": "registered-user", "QSGATE_ALLOWED_EMBED_DOMAINS": "https://a.example.com,https://b.example.com,https://*.c.example.com"}, "QSGATE_ALLOWED_EMBED_DOMAINS: QuickSight takes at most 3 domains, and QSGATE_PUBLIC_URL is one of them: got 4 in all"},
		{"title with a newline", map[string]string{"QSGATE_PORTAL_TITLE": "Sales\nPortal"}, "QSGATE_PORTAL_TITLE: must be one line of at most 80 characters"},
		{"redis store without url", map[string]string{"QSGATE_SESSION_STORE": "redis"}, "QSGATE_REDIS_URL: missing: QSGATE_SESSION_STORE=redis keeps sessions there"},
		{"unknown store", map[string]string{"QSGATE_SESSION_STORE": "memcached"}, `QSGATE_SESSION_STORE: must be one of cookie, redis, got "memcached"`},
		{"bad redis url", map[string]string{"QSGATE_REDIS_URL": "http://:s3cr3t-pass@redis:6379"}, "QSGATE_REDIS_URL: must be redis://"},
		{"idle too short", map[string]string{"QSGATE_SESSION_IDLE": "10s"}, "QSGATE_SESSION_IDLE: must be 0 (off) or between 2m and QSGATE_SESSION_TTL"},
		{"idle past the ttl", map[string]string{"QSGATE_SESSION_IDLE": "11h"}, "QSGATE_SESSION_IDLE: must be 0 (off) or between 2m and QSGATE_SESSION_TTL (10h0m0s), got 11h0m0s"},
		{"refresh too often", map[string]string{"QSGATE_SESSION_REFRESH": "5s"}, "QSGATE_SESSION_REFRESH: must be 0 (off) or at least 1m, got 5s"},
		{"bad embed rate", map[string]string{"QSGATE_EMBED_RATE": "30 per minute"}, `QSGATE_EMBED_RATE: want N/s, N/m or N/h (N from 1 to 1000000), or 0 for no limit, got "30 per minute"`},
		{"embed rate unit", map[string]string{"QSGATE_EMBED_RATE": "30/d"}, `QSGATE_EMBED_RATE: want N/s, N/m or N/h`},
		{"bad max rps", map[string]string{"QSGATE_QUICKSIGHT_MAX_RPS": "0"}, `QSGATE_QUICKSIGHT_MAX_RPS: must be a number from 0.1 to 10000, got "0"`},
		{"bad max inflight", map[string]string{"QSGATE_QUICKSIGHT_MAX_INFLIGHT": "many"}, `QSGATE_QUICKSIGHT_MAX_INFLIGHT: must be a whole number from 1 to 1000, got "many"`},
		{"bad proxies", map[string]string{"QSGATE_TRUSTED_PROXIES": "10.0.0.0/8,nope"}, `QSGATE_TRUSTED_PROXIES: must be IP addresses or CIDR ranges, got "nope"`},
		{"bad bool", map[string]string{"QSGATE_OIDC_TRUST_UNVERIFIED_EMAIL": "maybe"}, `QSGATE_OIDC_TRUST_UNVERIFIED_EMAIL: must be true or false, got "maybe"`},
		{"bad log level", map[string]string{"QSGATE_LOG_LEVEL": "loud"}, `QSGATE_LOG_LEVEL: must be debug, info, warn or error, got "loud"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := valid()
			for k, v := range tt.set {
				env[k] = v
			}
			_, err := Load(getenv(env))
			if err == nil {
				t.Fatalf("Load succeeded, want an error containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %q\nwant it to contain %q", err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "invalid configuration:\n  ") {
				t.Errorf("error = %q, want it to start with the header", err)
			}
		})
	}
}

// The opt-ins let an operator keep what the cross-checks refuse.
func TestLoadOptIns(t *testing.T) {
	env := valid()
	env["QSGATE_PUBLIC_URL"] = "http://portal.internal"
	env["QSGATE_OIDC_ISSUER"] = "http://idp.internal/x"
	env["QSGATE_TRUSTED_PROXIES"] = "0.0.0.0/0"
	env["QSGATE_ALLOW_INSECURE_HTTP"] = "true"
	env["QSGATE_ALLOW_ANY_PROXY"] = "true"
	if _, err := Load(getenv(env)); err != nil {
		t.Fatalf("Load with the opt-ins: %v", err)
	}
	for _, local := range []string{"http://127.0.0.1:8080", "http://localhost:8080", "http://[::1]:8080"} {
		env := valid()
		env["QSGATE_PUBLIC_URL"] = local
		if _, err := Load(getenv(env)); err != nil {
			t.Errorf("loopback %s refused: %v", local, err)
		}
	}
}

// TestRegisterRefusesEditableNameClaims: in register mode the QuickSight
// user name comes from QSGATE_USER_NAME_TEMPLATE, and a first view registers
// a name nobody has yet. With {preferred_username} (or any {claim:X}) a user
// who can edit that claim at the provider could register "bob" under their
// own email before Bob's first visit: Bob would be refused for good
// ("QuickSight user bob has another email") and everything shared with "bob"
// in QuickSight would go to the squatter. lookup mode checks the email;
// register cannot, so start-up refuses such a template in register mode.
func TestRegisterRefusesEditableNameClaims(t *testing.T) {
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

// TestRegistrationNeedsAPolicy: register mode (and iam with
// QSGATE_IAM_REGISTER) creates a QuickSight user for everyone the provider
// signs in. Without QSGATE_ALLOWED_EMAIL_DOMAINS or QSGATE_ALLOWED_GROUPS,
// "QuickSight decides" (the README's promise for no policy) does not hold:
// the gateway itself registers them, with QSGATE_DEFAULT_ROLE (doctor
// suggests AUTHOR), and with a provider that has open sign-up (Cognito,
// Auth0, a social login) anyone on the internet would become a paid
// QuickSight user in the account. Like plain http and 0.0.0.0/0, it needs
// an opt-in (QSGATE_ALLOW_OPEN_REGISTRATION).
// idcApp is a well-formed Identity Center application ARN.
const idcApp = "arn:aws:sso::123456789012:application/ssoins-1234567890abcdef/apl-1234567890abcdef"

// TestIdentityCenterSettings: identity-center mode reads its three
// settings and uses the registered-user API without being told.
func TestIdentityCenterSettings(t *testing.T) {
	env := valid()
	env["QSGATE_USER_MAPPING"] = "identity-center"
	env["QSGATE_IDC_APPLICATION_ARN"] = idcApp
	env["QSGATE_IDC_ROLE_ARN"] = "arn:aws:iam::123456789012:role/QuickSightIdentity"
	env["QSGATE_IDC_REGION"] = "eu-west-1"
	c, err := Load(getenv(env))
	if err != nil {
		t.Fatal(err)
	}
	if c.IDCApplicationARN != idcApp || c.IDCRoleARN != env["QSGATE_IDC_ROLE_ARN"] || c.IDCRegion != "eu-west-1" || c.QuickSightAPI != "registered-user" {
		t.Errorf("Load = %+v", c)
	}
}

func TestRegistrationNeedsAPolicy(t *testing.T) {
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

func TestLoadAccessSettings(t *testing.T) {
	env := valid()
	env["QSGATE_USER_MAPPING"] = "register"
	env["QSGATE_ALLOWED_EMAIL_DOMAINS"] = "Example.com, corp.example"
	env["QSGATE_ALLOWED_GROUPS"] = "qs-users"
	env["QSGATE_ADMIN_GROUPS"] = "qs-admins"
	env["QSGATE_AUTHOR_GROUPS"] = "qs-authors,analysts"
	env["QSGATE_DEFAULT_ROLE"] = "AUTHOR"
	env["QSGATE_NAMESPACE_RULES"] = "group:fin=finance"
	env["QSGATE_OIDC_GROUPS_CLAIM"] = "cognito:groups"
	env["QSGATE_USER_NAME_TEMPLATE"] = "{sub}"
	c, err := Load(getenv(env))
	if err != nil {
		t.Fatal(err)
	}
	a := c.Access
	if strings.Join(a.Domains, ",") != "example.com,corp.example" || strings.Join(a.AuthorGroups, ",") != "qs-authors,analysts" ||
		a.DefaultRole != "AUTHOR" || a.Namespace("x@y.z", []string{"fin"}) != "finance" || a.Namespace("x@y.z", nil) != "default" ||
		c.GroupsClaim != "cognito:groups" || strings.Join(c.TemplateClaims, ",") != "sub" {
		t.Errorf("loaded %+v, groups claim %q, template claims %v", a, c.GroupsClaim, c.TemplateClaims)
	}
	if !strings.Contains(c.Summary(), "QSGATE_NAMESPACE_RULES") || !strings.Contains(c.Summary(), "group:fin=finance") {
		t.Errorf("summary lacks the namespace rules:\n%s", c.Summary())
	}
}

func TestLoadEmbedding(t *testing.T) {
	env := valid()
	env["QSGATE_QUICKSIGHT_API"] = "registered-user"
	env["QSGATE_DASHBOARD_EXPERIENCE"] = "dashboard"
	env["QSGATE_ALLOWED_EMBED_DOMAINS"] = "https://intranet.example.com, https://*.apps.example.com:8443,https://portal.example.com"
	env["QSGATE_PORTAL_TITLE"] = "Sales analytics"
	c, err := Load(getenv(env))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(c.AllowedDomains, " "), "https://portal.example.com https://intranet.example.com https://*.apps.example.com:8443"; got != want {
		t.Errorf("AllowedDomains = %s, want %s (the public URL once, first)", got, want)
	}
	if c.PortalTitle != "Sales analytics" || c.DashboardExperience != "dashboard" {
		t.Errorf("title %q, experience %q", c.PortalTitle, c.DashboardExperience)
	}
}

// The Redis URL's password never reaches a message or the summary.
func TestRedisPasswordHidden(t *testing.T) {
	env := valid()
	env["QSGATE_REDIS_URL"] = "http://:s3cr3t-pass@redis:6379"
	if _, err := Load(getenv(env)); err == nil || strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("error = %v; want a problem that does not show the password", err)
	}
	env["QSGATE_REDIS_URL"] = "rediss://:s3cr3t-pass@redis.internal:6380/2"
	env["QSGATE_SESSION_STORE"] = "redis"
	c, err := Load(getenv(env))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(c.Summary(), "s3cr3t") || !strings.Contains(c.Summary(), "rediss://:hidden@redis.internal:6380/2") {
		t.Errorf("summary:\n%s", c.Summary())
	}
}

func TestLoadReportsEveryProblemAtOnce(t *testing.T) {
	_, err := Load(getenv(map[string]string{"QSGATE_QUICKSIGHT_ACCOUNT_ID": "12345", "QSGATE_SESSION_KEYS": "short"}))
	if err == nil {
		t.Fatal("Load succeeded on an empty environment")
	}
	for _, v := range []string{"QSGATE_PUBLIC_URL", "QSGATE_OIDC_ISSUER", "QSGATE_OIDC_CLIENT_ID", "QSGATE_OIDC_CLIENT_SECRET", "QSGATE_SESSION_KEYS", "QSGATE_QUICKSIGHT_ACCOUNT_ID"} {
		if !strings.Contains(err.Error(), "\n  "+v+": ") {
			t.Errorf("error does not name %s:\n%s", v, err)
		}
	}
	if strings.Contains(err.Error(), "short") {
		t.Errorf("error echoes a session key:\n%s", err)
	}
}

func TestWithEnvFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "qsgate.env")
	os.WriteFile(path, []byte("# comment\nQSGATE_A=from-file\nQSGATE_B=\"quoted value\"\n"), 0o600)
	real := map[string]string{"QSGATE_A": "from-env"}
	getenv, used, err := WithEnvFile(path, func(k string) (string, bool) { v, ok := real[k]; return v, ok })
	if err != nil || used != path {
		t.Fatalf("WithEnvFile = %q, %v; want %q read", used, err, path)
	}
	if got, want := getenv("QSGATE_A"), "from-env"; got != want {
		t.Errorf("QSGATE_A = %q, want %q (the environment wins)", got, want)
	}
	if got, want := getenv("QSGATE_B"), "quoted value"; got != want {
		t.Errorf("QSGATE_B = %q, want %q", got, want)
	}
	if _, _, err := WithEnvFile(filepath.Join(t.TempDir(), "missing.env"), os.LookupEnv); err == nil {
		t.Error("an explicit missing env file gave no error")
	}
	t.Chdir(t.TempDir()) // no .env here
	if _, used, err := WithEnvFile("", os.LookupEnv); err != nil || used != "" {
		t.Errorf("no .env: read %q, %v; want none", used, err)
	}
}

// The ARN template names the QuickSight user whose console opens: a claim
// the user can edit at the provider (preferred_username, any custom claim)
// would let them open someone else's. Only {email} and {sub} pass unless
// the operator opts in, and the opt-in is warned about at start.
func TestTemplateModeRefusesEditableClaims(t *testing.T) {
	arn := func(name string) string {
		return "arn:aws:quicksight:{identity_region}:{account_id}:user/{namespace}/" + name
	}
	for _, name := range []string{"{preferred_username}", "{claim:nickname}", "{email}-{claim:employee_id}"} {
		env := valid()
		env["QSGATE_USER_ARN_TEMPLATE"] = arn(name)
		if !problemFor(env, "QSGATE_USER_ARN_TEMPLATE") {
			t.Errorf("QSGATE_USER_ARN_TEMPLATE with %s starts: a user who edits that claim opens another user's console", name)
		}
		env["QSGATE_TRUST_EDITABLE_CLAIMS"] = "true"
		c, err := Load(getenv(env))
		if err != nil {
			t.Errorf("with QSGATE_TRUST_EDITABLE_CLAIMS=true, %s: %v", name, err)
			continue
		}
		if w := c.Warnings(); len(w) != 1 || !strings.Contains(w[0], "QSGATE_TRUST_EDITABLE_CLAIMS") {
			t.Errorf("with QSGATE_TRUST_EDITABLE_CLAIMS=true, %s: warnings = %q, want one naming the setting", name, w)
		}
	}
	for _, name := range []string{"{email}", "{sub}", "QuickSightEmbed/{email}"} {
		env := valid()
		env["QSGATE_USER_ARN_TEMPLATE"] = arn(name)
		c, err := Load(getenv(env))
		if err != nil {
			t.Errorf("QSGATE_USER_ARN_TEMPLATE with %s refused: %v", name, err)
			continue
		}
		if w := c.Warnings(); len(w) != 0 {
			t.Errorf("%s: warnings = %q, want none", name, w)
		}
	}
	env := valid()
	env["QSGATE_USER_ARN_TEMPLATE"] = arn("{preferred_username}")
	_, err := Load(getenv(env))
	if err == nil || !strings.Contains(err.Error(), "QSGATE_TRUST_EDITABLE_CLAIMS=true") || !strings.Contains(err.Error(), "{preferred_username}") {
		t.Errorf("the refusal does not name the claim and the opt-in: %v", err)
	}
}

// TestEnvFileExportsTracing: the env file's OTEL_* variables reach the process
// environment, where the OpenTelemetry SDK reads them, unless the process
// has its own; no other variable is exported.
func TestEnvFileExportsTracing(t *testing.T) {
	t.Setenv("OTEL_SERVICE_NAME", "")
	t.Setenv("OTEL_TRACES_SAMPLER", "")
	t.Setenv("QSGATE_PORTAL_TITLE", "")
	path := filepath.Join(t.TempDir(), "qsgate.env")
	os.WriteFile(path, []byte("OTEL_SERVICE_NAME=portal-eu\nOTEL_TRACES_SAMPLER=always_on\nQSGATE_PORTAL_TITLE=Reports\n"), 0o600)
	process := map[string]string{"OTEL_TRACES_SAMPLER": "parentbased_traceidratio"}
	if _, _, err := WithEnvFile(path, func(k string) (string, bool) { v, ok := process[k]; return v, ok }); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"OTEL_SERVICE_NAME": "portal-eu", "OTEL_TRACES_SAMPLER": "", "QSGATE_PORTAL_TITLE": ""} {
		if got := os.Getenv(name); got != want {
			t.Errorf("%s = %q in the process, want %q", name, got, want)
		}
	}
}
