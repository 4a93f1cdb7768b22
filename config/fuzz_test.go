package config

import (
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// fuzzVars are the variables FuzzLoad sets, chosen by index: append new
// ones at the end so the committed corpus keeps its meaning.
// TestFuzzVarsCoverLoad keeps the list complete.
var fuzzVars = []string{
	"QSGATE_LISTEN_ADDR", "QSGATE_METRICS_ADDR", "QSGATE_PUBLIC_URL",
	"QSGATE_OIDC_ISSUER", "QSGATE_OIDC_CLIENT_ID", "QSGATE_OIDC_CLIENT_SECRET",
	"QSGATE_OIDC_SCOPES", "QSGATE_OIDC_TRUST_UNVERIFIED_EMAIL", "QSGATE_SESSION_KEYS",
	"QSGATE_SESSION_TTL", "QSGATE_SESSION_STORE", "QSGATE_REDIS_URL",
	"QSGATE_SESSION_IDLE", "QSGATE_SESSION_REFRESH", "QSGATE_SESSION_REFRESH_GRACE",
	"QSGATE_QUICKSIGHT_ACCOUNT_ID", "QSGATE_QUICKSIGHT_NAMESPACE", "QSGATE_QUICKSIGHT_IDENTITY_REGION",
	"QSGATE_QUICKSIGHT_SESSION_LIFETIME", "QSGATE_AWS_TIMEOUT", "QSGATE_USER_MAPPING",
	"QSGATE_USER_CACHE_TTL", "QSGATE_FOLLOW_IDENTITY_REGION", "QSGATE_OIDC_GROUPS_CLAIM",
	"QSGATE_QUICKSIGHT_API", "QSGATE_DASHBOARD_EXPERIENCE", "QSGATE_PORTAL_TITLE",
	"QSGATE_HOME_LIST", "QSGATE_EMBED_RATE", "QSGATE_QUICKSIGHT_MAX_RPS",
	"QSGATE_QUICKSIGHT_MAX_INFLIGHT", "QSGATE_TRUSTED_PROXIES", "QSGATE_SHUTDOWN_DELAY",
	"QSGATE_SHUTDOWN_GRACE", "QSGATE_LOG_LEVEL", "QSGATE_LOG_FORMAT",
	"QSGATE_USER_ARN_TEMPLATE", "QSGATE_USER_MAP_FILE", "QSGATE_USER_NAME_TEMPLATE",
	"QSGATE_CUSTOM_PERMISSIONS_NAME", "QSGATE_IAM_ROLE_ARN", "QSGATE_IAM_REGISTER",
	"QSGATE_ALLOWED_EMBED_DOMAINS", "QSGATE_ALLOW_INSECURE_HTTP", "QSGATE_ALLOW_OPEN_REGISTRATION",
	"QSGATE_ALLOW_ANY_PROXY", "QSGATE_ALLOWED_GROUPS", "QSGATE_ADMIN_GROUPS",
	"QSGATE_AUTHOR_GROUPS", "QSGATE_DEFAULT_ROLE", "QSGATE_ALLOWED_EMAIL_DOMAINS",
	"QSGATE_NAMESPACE_RULES", "QSGATE_SIGNIN_RATE", "QSGATE_SIGNIN_RATE_PER_ADDRESS",
	"QSGATE_MAX_SESSIONS_PER_USER", "QSGATE_MAX_CONNECTIONS", "QSGATE_TRUST_EDITABLE_CLAIMS",
	"QSGATE_CONSOLE_FEATURES", "QSGATE_DASHBOARD_FEATURES", "QSGATE_AMAZON_Q_GROUPS",
	"QSGATE_QNA", "QSGATE_IDC_APPLICATION_ARN", "QSGATE_IDC_ROLE_ARN", "QSGATE_IDC_REGION",
	"QSGATE_AUDIT_LOG",
}

// fuzzVar is name's index in fuzzVars, for seeds.
func fuzzVar(name string) byte { return byte(slices.Index(fuzzVars, name)) }

// TestFuzzVarsCoverLoad: every variable Load reads, in every mapping mode
// and with either embedding API, is one FuzzLoad can set.
func TestFuzzVarsCoverLoad(t *testing.T) {
	for _, mode := range []string{"template", "file", "lookup", "register", "iam", "identity-center"} {
		for _, api := range []string{"session", "registered-user"} {
			env := valid()
			env["QSGATE_USER_MAPPING"] = mode
			env["QSGATE_QUICKSIGHT_API"] = api
			env["QSGATE_USER_NAME_TEMPLATE"] = "{email}"
			Load(func(name string) string {
				if !slices.Contains(fuzzVars, name) {
					t.Errorf("Load reads %s (mode %s, API %s), which FuzzLoad never sets: append it to fuzzVars", name, mode, api)
				}
				return env[name]
			})
		}
	}
}

// FuzzLoad sets three variables and the three secrets to fuzzed values
// over a valid configuration. Load must not panic; each problem it reports
// names a variable it read; and neither a problem nor check-config's
// summary may repeat QSGATE_SESSION_KEYS, QSGATE_OIDC_CLIENT_SECRET or the
// password in QSGATE_REDIS_URL.
func FuzzLoad(f *testing.F) {
	key := strings.Repeat("k", 32)
	f.Add(fuzzVar("QSGATE_PORTAL_TITLE"), "Reports", fuzzVar("QSGATE_SESSION_STORE"), "redis", fuzzVar("QSGATE_HOME_LIST"), "false", "client-secret-value", key+","+strings.Repeat("o", 40), "redis://:hunter2-password@localhost:6379/0")
	f.Add(fuzzVar("QSGATE_USER_MAPPING"), "register", fuzzVar("QSGATE_DEFAULT_ROLE"), "AUTHOR", fuzzVar("QSGATE_PORTAL_TITLE"), "Reports", "client-secret-value", key, "")
	f.Add(fuzzVar("QSGATE_SESSION_STORE"), "redis", fuzzVar("QSGATE_SESSION_TTL"), "1h", fuzzVar("QSGATE_SESSION_IDLE"), "2h", "client-secret-value", key, "redis://:hunter2-password@localhost:notaport/0")
	f.Add(fuzzVar("QSGATE_SESSION_STORE"), "redis", fuzzVar("QSGATE_LOG_LEVEL"), "loud", fuzzVar("QSGATE_LOG_FORMAT"), "xml", "client-secret-value", key, "rediss://user:hunter2-password@cache.internal:6379/1")
	f.Add(fuzzVar("QSGATE_OIDC_SCOPES"), "email", fuzzVar("QSGATE_PUBLIC_URL"), "http://portal.example.com/app", fuzzVar("QSGATE_OIDC_ISSUER"), "idp", "   ", key+",short-key-secret", "")
	f.Add(fuzzVar("QSGATE_USER_ARN_TEMPLATE"), "arn:aws:quicksight:{identity_region}:{account_id}:user/{namespace}/{nickname}", fuzzVar("QSGATE_QUICKSIGHT_ACCOUNT_ID"), "12345", fuzzVar("QSGATE_QUICKSIGHT_IDENTITY_REGION"), "mars-1", "client-secret-value", "", "")
	f.Add(fuzzVar("QSGATE_USER_MAPPING"), "iam", fuzzVar("QSGATE_IAM_ROLE_ARN"), "arn:aws:iam::123456789012:user/bob", fuzzVar("QSGATE_TRUSTED_PROXIES"), "0.0.0.0/0,10.0.0.300", "client-secret-value", key, "")
	f.Add(fuzzVar("QSGATE_QUICKSIGHT_API"), "registered-user", fuzzVar("QSGATE_ALLOWED_EMBED_DOMAINS"), "https://a.example.com,http://b.example.com,https://*.c.example.com", fuzzVar("QSGATE_DASHBOARD_EXPERIENCE"), "dashboard", "client-secret-value", key, "")
	f.Add(fuzzVar("QSGATE_QUICKSIGHT_API"), "registered-user", fuzzVar("QSGATE_CONSOLE_FEATURES"), "state-persistence,bookmarks", fuzzVar("QSGATE_AMAZON_Q_GROUPS"), "qs-pro, ,qs-pro", "client-secret-value", key, "")
	f.Add(fuzzVar("QSGATE_DASHBOARD_FEATURES"), "bookmarks", fuzzVar("QSGATE_QNA"), "true", fuzzVar("QSGATE_DASHBOARD_EXPERIENCE"), "console", "client-secret-value", key, "")
	f.Fuzz(func(t *testing.T, i1 byte, v1 string, i2 byte, v2 string, i3 byte, v3 string, secret, keys, redisURL string) {
		env := valid()
		env["QSGATE_OIDC_CLIENT_SECRET"] = secret
		env["QSGATE_SESSION_KEYS"] = keys
		env["QSGATE_REDIS_URL"] = redisURL
		for _, s := range []struct {
			i byte
			v string
		}{{i1, v1}, {i2, v2}, {i3, v3}} {
			env[fuzzVars[int(s.i)%len(fuzzVars)]] = s.v
		}

		read := map[string]bool{}
		c, err := Load(func(name string) string { read[name] = true; return env[name] })
		text := loadText(t, env, c, err, read)
		// The same configuration with every secret byte replaced, keeping
		// lengths, separators and white space: secret text that shows in
		// text but not in this one came from the secret.
		masked := maskedSecrets(env)
		mc, merr := Load(getenv(masked))
		maskedText := loadText(t, masked, mc, merr, nil)
		for _, s := range secretsOf(env) {
			if strings.Contains(text, s.value) && !strings.Contains(maskedText, s.value) {
				t.Fatalf("%s %q shows in what Load reports:\n%s", s.what, s.value, text)
			}
		}
	})
}

// loadText checks Load's answer and returns what an operator would see: the
// problems, or check-config's summary. read, when given, is every variable
// Load read.
func loadText(t *testing.T, env map[string]string, c Config, err error, read map[string]bool) string {
	t.Helper()
	if err == nil {
		if len(c.SessionKeys) == 0 || slices.ContainsFunc(c.SessionKeys, func(k []byte) bool { return len(k) < minKeyLen }) {
			t.Fatalf("Load(%q) accepted session keys shorter than %d bytes", env, minKeyLen)
		}
		if c.PublicURL == nil || c.PublicURL.Host == "" || (c.PublicURL.Scheme != "https" && c.PublicURL.Scheme != "http") {
			t.Fatalf("Load(%q) accepted public URL %v", env, c.PublicURL)
		}
		return c.Summary()
	}
	var ps Problems
	if !errors.As(err, &ps) || len(ps) == 0 {
		t.Fatalf("Load(%q) = %v, want Problems", env, err)
	}
	for _, p := range ps {
		if !strings.HasPrefix(p.Var, "QSGATE_") && !strings.HasPrefix(p.Var, "AWS_") {
			t.Fatalf("Load(%q): problem %q names no QSGATE_ or AWS_ variable", env, p)
		}
		if read != nil && !read[p.Var] {
			t.Fatalf("Load(%q): problem %q names %s, a variable Load did not read", env, p, p.Var)
		}
		if strings.TrimSpace(p.Rule) == "" {
			t.Fatalf("Load(%q): problem for %s says nothing", env, p.Var)
		}
	}
	return err.Error()
}

type secret struct{ what, value string }

// secretsOf is every secret in env long enough to recognise (8 bytes) and
// not also part of another variable's value, which Load may rightly echo.
func secretsOf(env map[string]string) []secret {
	var all []secret
	add := func(variable, what, value string) {
		if len(value) < 8 {
			return
		}
		for k, v := range env {
			if k != variable && strings.Contains(v, value) {
				return
			}
		}
		all = append(all, secret{what, value})
	}
	add("QSGATE_OIDC_CLIENT_SECRET", "QSGATE_OIDC_CLIENT_SECRET", strings.TrimSpace(env["QSGATE_OIDC_CLIENT_SECRET"]))
	for _, k := range strings.Split(env["QSGATE_SESSION_KEYS"], ",") {
		add("QSGATE_SESSION_KEYS", "a key of QSGATE_SESSION_KEYS", strings.TrimSpace(k))
	}
	if u, err := url.Parse(strings.TrimSpace(env["QSGATE_REDIS_URL"])); err == nil {
		if pw, ok := u.User.Password(); ok {
			add("QSGATE_REDIS_URL", "the QSGATE_REDIS_URL password", pw)
		}
	}
	return all
}

// maskedSecrets is env with the secrets' characters replaced ("x", or "y"
// for an "x") byte for byte; commas and white space stay, so Load sees keys
// of the same lengths and the same empty or present values.
func maskedSecrets(env map[string]string) map[string]string {
	out := make(map[string]string, len(env))
	for k, v := range env {
		out[k] = v
	}
	out["QSGATE_OIDC_CLIENT_SECRET"] = mask(env["QSGATE_OIDC_CLIENT_SECRET"])
	out["QSGATE_SESSION_KEYS"] = mask(env["QSGATE_SESSION_KEYS"])
	if u, err := url.Parse(strings.TrimSpace(env["QSGATE_REDIS_URL"])); err == nil {
		if pw, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), mask(pw))
			out["QSGATE_REDIS_URL"] = u.String()
		}
	}
	return out
}

func mask(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, w := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == ',' || (r != utf8.RuneError && unicode.IsSpace(r)):
			b.WriteString(s[i : i+w])
		case r == 'x':
			b.WriteByte('y')
		default:
			b.WriteString(strings.Repeat("x", w))
		}
		i += w
	}
	return b.String()
}
