package config_test

import (
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/qsgate/qsgate/config"
)

// The two files that list every setting for operators.
const (
	configurationDoc = "../docs/configuration.md"
	envExample       = "../.env.example"
)

// settingsRead calls config.Load over settings that reach every branch
// that reads a variable (each mapping mode, the redis store, the
// registered-user API, the opt-ins) and returns every variable it asked
// for. Each case must load cleanly, so that its branch really ran.
func settingsRead(t *testing.T) map[string]bool {
	t.Helper()
	base := map[string]string{
		"QSGATE_PUBLIC_URL":            "https://portal.example.com",
		"QSGATE_OIDC_ISSUER":           "https://idp.example.com/realms/x",
		"QSGATE_OIDC_CLIENT_ID":        "qsgate",
		"QSGATE_OIDC_CLIENT_SECRET":    "s3cret",
		"QSGATE_SESSION_KEYS":          strings.Repeat("k", 32),
		"QSGATE_QUICKSIGHT_ACCOUNT_ID": "123456789012",
	}
	cases := []struct {
		name string
		env  map[string]string
	}{
		{"defaults (template)", nil},
		{"template with a custom ARN", map[string]string{
			"QSGATE_USER_MAPPING":      "template",
			"QSGATE_USER_ARN_TEMPLATE": "arn:aws:quicksight:{identity_region}:{account_id}:user/{namespace}/QuickSightEmbed/{email}",
		}},
		{"file", map[string]string{"QSGATE_USER_MAPPING": "file", "QSGATE_USER_MAP_FILE": "/etc/qsgate/users.csv"}},
		{"lookup by name", map[string]string{"QSGATE_USER_MAPPING": "lookup", "QSGATE_USER_NAME_TEMPLATE": "{preferred_username}"}},
		{"register", map[string]string{
			"QSGATE_USER_MAPPING":            "register",
			"QSGATE_USER_NAME_TEMPLATE":      "{email}",
			"QSGATE_CUSTOM_PERMISSIONS_NAME": "authors-light",
			"QSGATE_ALLOWED_EMAIL_DOMAINS":   "example.com",
		}},
		{"iam with registration", map[string]string{
			"QSGATE_USER_MAPPING":            "iam",
			"QSGATE_IAM_ROLE_ARN":            "arn:aws:iam::123456789012:role/QuickSightEmbed",
			"QSGATE_IAM_REGISTER":            "true",
			"QSGATE_ALLOW_OPEN_REGISTRATION": "true",
		}},
		{"identity-center", map[string]string{
			"QSGATE_USER_MAPPING":        "identity-center",
			"QSGATE_IDC_APPLICATION_ARN": "arn:aws:sso::123456789012:application/ssoins-1234567890abcdef/apl-1234567890abcdef",
			"QSGATE_IDC_ROLE_ARN":        "arn:aws:iam::123456789012:role/QuickSightIdentity",
			"QSGATE_IDC_REGION":          "us-east-1",
		}},
		{"redis store, refresh", map[string]string{
			"QSGATE_SESSION_STORE":         "redis",
			"QSGATE_REDIS_URL":             "redis://:pw@127.0.0.1:6379/0",
			"QSGATE_SESSION_IDLE":          "30m",
			"QSGATE_SESSION_REFRESH":       "15m",
			"QSGATE_SESSION_REFRESH_GRACE": "5m",
		}},
		{"registered-user API", map[string]string{
			"QSGATE_QUICKSIGHT_API":        "registered-user",
			"QSGATE_ALLOWED_EMBED_DOMAINS": "https://*.example.com",
			"QSGATE_DASHBOARD_EXPERIENCE":  "dashboard",
			"QSGATE_CONSOLE_FEATURES":      "state-persistence,q-data-qna",
			"QSGATE_DASHBOARD_FEATURES":    "bookmarks",
			"QSGATE_AMAZON_Q_GROUPS":       "qs-pro",
			"QSGATE_QNA":                   "true",
		}},
		{"operations and opt-ins", map[string]string{
			"QSGATE_METRICS_ADDR":        "127.0.0.1:9090",
			"QSGATE_TRUSTED_PROXIES":     "0.0.0.0/0",
			"QSGATE_ALLOW_ANY_PROXY":     "true",
			"QSGATE_PUBLIC_URL":          "http://portal.internal",
			"QSGATE_ALLOW_INSECURE_HTTP": "true",
			"QSGATE_NAMESPACE_RULES":     "group:finance=finance",
			"QSGATE_ALLOWED_GROUPS":      "finance",
		}},
	}
	read := map[string]bool{}
	for _, c := range cases {
		env := maps.Clone(base)
		maps.Copy(env, c.env)
		_, err := config.Load(func(k string) string {
			read[k] = true
			return env[k]
		})
		if err != nil {
			t.Fatalf("case %q does not load, so its branch did not run: %v", c.name, err)
		}
	}
	return read
}

var (
	// settingRE is a variable's name wherever it is written.
	settingRE = regexp.MustCompile(`QSGATE_[A-Z0-9_]+`)
	// assignmentRE is a line of .env.example that sets a variable, commented
	// out or not.
	assignmentRE = regexp.MustCompile(`(?m)^#?[ \t]*(QSGATE_[A-Z0-9_]+)=`)
)

// documented returns the variables docs/configuration.md names in the first
// cell of a table row or in a heading.
func documented(doc string) map[string]bool {
	names := map[string]bool{}
	for line := range strings.SplitSeq(doc, "\n") {
		var where string
		switch {
		case strings.HasPrefix(line, "#"):
			where = line
		case strings.HasPrefix(line, "|"):
			where, _, _ = strings.Cut(strings.TrimPrefix(line, "|"), "|")
		}
		for _, n := range settingRE.FindAllString(where, -1) {
			names[n] = true
		}
	}
	return names
}

// assigned returns the variables .env.example sets (QSGATE_X= or
// # QSGATE_X=).
func assigned(env string) map[string]bool {
	names := map[string]bool{}
	for _, m := range assignmentRE.FindAllStringSubmatch(env, -1) {
		names[m[1]] = true
	}
	return names
}

// TestSettingsDocumented keeps the operators' lists in step with the code:
// every variable config.Load reads has a row (or heading) in
// docs/configuration.md and a line in .env.example, and neither lists a
// QSGATE_ variable Load does not read.
func TestSettingsDocumented(t *testing.T) {
	read := settingsRead(t)
	for _, f := range []struct {
		path  string
		names func(string) map[string]bool
		want  string
	}{
		{configurationDoc, documented, "table row or heading naming `%s`"},
		{envExample, assigned, "line `%s=` or `# %s=`"},
	} {
		src, err := os.ReadFile(f.path)
		if err != nil {
			t.Fatal(err)
		}
		have := f.names(string(src))
		for _, n := range slices.Sorted(maps.Keys(read)) {
			if !have[n] {
				t.Errorf("%s: config.Load reads it, but %s has no %s", n, f.path, strings.ReplaceAll(f.want, "%s", n))
			}
		}
		for _, n := range slices.Sorted(maps.Keys(have)) {
			if !read[n] {
				t.Errorf("%s: %s lists it, but config.Load never reads it (a typo, or a setting that was removed)", n, f.path)
			}
		}
	}
}
