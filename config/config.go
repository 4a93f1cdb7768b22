// Package config reads qsgate's settings from the environment (and an
// optional env file), checks every one of them, and reports all problems at
// once. It does not talk to AWS or the OIDC provider; run does that.
package config

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/qsgate/qsgate/access"
	"github.com/qsgate/qsgate/cluster"
	"github.com/qsgate/qsgate/limit"
	"github.com/qsgate/qsgate/quicksight"
)

// Config is every setting qsgate reads, already checked.
type Config struct {
	ListenAddr string // QSGATE_LISTEN_ADDR
	// MetricsAddr is QSGATE_METRICS_ADDR: where /metrics is served, apart
	// from the public port; "" means no metrics.
	MetricsAddr string
	PublicURL   *url.URL // QSGATE_PUBLIC_URL, scheme and host only

	OIDCIssuer       string   // QSGATE_OIDC_ISSUER
	OIDCClientID     string   // QSGATE_OIDC_CLIENT_ID
	OIDCClientSecret string   // QSGATE_OIDC_CLIENT_SECRET
	OIDCScopes       []string // QSGATE_OIDC_SCOPES, always with "openid"
	// QSGATE_OIDC_TRUST_UNVERIFIED_EMAIL: use the email claim even without
	// email_verified: true.
	TrustUnverifiedEmail bool

	SessionKeys [][]byte      // QSGATE_SESSION_KEYS, first one signs
	SessionTTL  time.Duration // QSGATE_SESSION_TTL
	// SessionStore is QSGATE_SESSION_STORE: "cookie" or "redis".
	SessionStore string
	// RedisURL is QSGATE_REDIS_URL: sessions (with the redis store) and the
	// cluster's shared limits and lookup cache. Holds a password: never log.
	RedisURL       string
	SessionIdle    time.Duration // QSGATE_SESSION_IDLE; 0 is off
	SessionRefresh time.Duration // QSGATE_SESSION_REFRESH; 0 is off
	// RefreshGrace is QSGATE_SESSION_REFRESH_GRACE: how long past the
	// refresh interval a session lives while the provider cannot be reached.
	RefreshGrace time.Duration

	AccountID       string // QSGATE_QUICKSIGHT_ACCOUNT_ID
	Namespace       string // QSGATE_QUICKSIGHT_NAMESPACE
	IdentityRegion  string // QSGATE_QUICKSIGHT_IDENTITY_REGION; empty means the AWS region
	SessionLifetime int64  // QSGATE_QUICKSIGHT_SESSION_LIFETIME, minutes
	AWSTimeout      time.Duration

	// UserMapping is QSGATE_USER_MAPPING: template, file, lookup, register,
	// iam or identity-center.
	UserMapping     string
	UserARNTemplate string   // QSGATE_USER_ARN_TEMPLATE (template)
	TemplateClaims  []string // claims the ARN or user name template reads
	UserMapFile     string   // QSGATE_USER_MAP_FILE (file); read by run, not here
	// UserNameTemplate is QSGATE_USER_NAME_TEMPLATE (lookup, register): the
	// QuickSight user name from claims; empty means look up by listing.
	UserNameTemplate      string
	UserCacheTTL          time.Duration // QSGATE_USER_CACHE_TTL
	CustomPermissionsName string        // QSGATE_CUSTOM_PERMISSIONS_NAME (register)
	IAMRoleARN            string        // QSGATE_IAM_ROLE_ARN (iam)
	IAMRegister           bool          // QSGATE_IAM_REGISTER (iam)
	// IDCApplicationARN, IDCRoleARN and IDCRegion are QSGATE_IDC_APPLICATION_ARN,
	// QSGATE_IDC_ROLE_ARN and QSGATE_IDC_REGION (identity-center): the
	// Identity Center application that trusts the provider, the role
	// assumed with the user's identity context, and Identity Center's
	// region ("" means the AWS region).
	IDCApplicationARN, IDCRoleARN, IDCRegion string
	// FollowIdentityRegion is QSGATE_FOLLOW_IDENTITY_REGION: when QuickSight
	// names another identity region, retry there and remember it.
	FollowIdentityRegion bool

	// Access is who may enter and what they get: QSGATE_ALLOWED_EMAIL_DOMAINS,
	// QSGATE_ALLOWED_GROUPS, QSGATE_ADMIN_GROUPS, QSGATE_AUTHOR_GROUPS,
	// QSGATE_DEFAULT_ROLE, QSGATE_NAMESPACE_RULES (default namespace:
	// QSGATE_QUICKSIGHT_NAMESPACE).
	Access      access.Policy
	GroupsClaim string // QSGATE_OIDC_GROUPS_CLAIM

	// QuickSightAPI is QSGATE_QUICKSIGHT_API: "session" (GetSessionEmbedUrl)
	// or "registered-user" (GenerateEmbedUrlForRegisteredUser).
	QuickSightAPI string
	// AllowedDomains are sent as AllowedDomains with the registered-user
	// API: the public URL's origin plus QSGATE_ALLOWED_EMBED_DOMAINS.
	AllowedDomains []string
	// DashboardExperience is QSGATE_DASHBOARD_EXPERIENCE: "console" or
	// "dashboard" (read-only, open to readers; registered-user API only).
	DashboardExperience string
	// ConsoleFeatures and DashboardFeatures are QSGATE_CONSOLE_FEATURES and
	// QSGATE_DASHBOARD_FEATURES: what the registered-user API turns on in
	// the console and the Dashboard experience, in the documented order.
	ConsoleFeatures, DashboardFeatures []string
	// AmazonQGroups is QSGATE_AMAZON_Q_GROUPS: when set, only members of
	// these groups get the q-* features.
	AmazonQGroups []string
	// QnA is QSGATE_QNA: the home page offers Generative Q&A.
	QnA         bool
	PortalTitle string // QSGATE_PORTAL_TITLE
	// HomeList is QSGATE_HOME_LIST: the home page lists the user's
	// dashboards and analyses (SearchDashboards, SearchAnalyses).
	HomeList bool

	// EmbedRate is QSGATE_EMBED_RATE: embed URLs per user.
	EmbedRate limit.Rate
	// SignInRate and SignInRatePerAddress are QSGATE_SIGNIN_RATE (per
	// subject) and QSGATE_SIGNIN_RATE_PER_ADDRESS (per client address).
	SignInRate, SignInRatePerAddress limit.Rate
	// MaxSessionsPerUser is QSGATE_MAX_SESSIONS_PER_USER: the Redis store
	// keeps at most this many sessions of one subject, ending the oldest.
	MaxSessionsPerUser int
	// MaxConnections is QSGATE_MAX_CONNECTIONS: client connections held at
	// once; past it new ones wait in the kernel's queue. 0 (unset) means
	// serve sizes it from the memory limit.
	MaxConnections int
	// TrustEditableClaims is QSGATE_TRUST_EDITABLE_CLAIMS: the ARN template
	// may read claims other than email and sub.
	TrustEditableClaims bool
	// MaxRPS and MaxInflight are QSGATE_QUICKSIGHT_MAX_RPS and
	// QSGATE_QUICKSIGHT_MAX_INFLIGHT: the gateway's budget of AWS calls.
	MaxRPS      float64
	MaxInflight int

	TrustedProxies []*net.IPNet // QSGATE_TRUSTED_PROXIES
	// AllowInsecureHTTP (QSGATE_ALLOW_INSECURE_HTTP) accepts http public
	// and issuer URLs off loopback; AllowAnyProxy (QSGATE_ALLOW_ANY_PROXY)
	// accepts 0.0.0.0/0 in QSGATE_TRUSTED_PROXIES.
	AllowInsecureHTTP, AllowAnyProxy bool
	// AllowOpenRegistration (QSGATE_ALLOW_OPEN_REGISTRATION) lets register
	// modes run without an access policy.
	AllowOpenRegistration bool
	ShutdownDelay         time.Duration // QSGATE_SHUTDOWN_DELAY: /readyz fails this long before the listener closes
	ShutdownGrace         time.Duration // QSGATE_SHUTDOWN_GRACE
	LogLevel              slog.Level    // QSGATE_LOG_LEVEL
	LogFormat             string        // QSGATE_LOG_FORMAT: "text" or "json"
	// AuditLog is QSGATE_AUDIT_LOG: where the audit stream goes, "stdout"
	// (the default), "off", or an absolute file path (opened at start-up).
	AuditLog string
}

// RedirectURL is the OIDC redirect URI registered at the provider.
func (c Config) RedirectURL() string { return c.PublicURL.String() + "/auth/callback" }

// Problem is one bad setting.
type Problem struct {
	Var  string
	Rule string
}

// Problems is every bad setting found; it is the error Load returns.
type Problems []Problem

func (p Problems) Error() string {
	var b strings.Builder
	b.WriteString("invalid configuration:")
	for _, pr := range p {
		fmt.Fprintf(&b, "\n  %s: %s", pr.Var, pr.Rule)
	}
	return b.String()
}

// Add records a problem; run uses it for the AWS settings it checks itself.
func (p *Problems) Add(variable, format string, args ...any) {
	*p = append(*p, Problem{Var: variable, Rule: fmt.Sprintf(format, args...)})
}

// Minimum length of each QSGATE_SESSION_KEYS entry, in bytes.
const minKeyLen = 32

var (
	accountRE   = regexp.MustCompile(`^[0-9]{12}$`)
	namespaceRE = regexp.MustCompile(`^[a-zA-Z0-9._-]{1,64}$`)
	regionRE    = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)
	claimNameRE = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,64}$`)
	// permissionsRE is RegisterUser's CustomPermissionsName.
	permissionsRE = regexp.MustCompile(`^[a-zA-Z0-9+=,.@_-]{1,64}$`)
)

// mapping reads the settings of the chosen user mapping mode; a setting
// that belongs to another mode is ignored.
func (r reader) mapping(c *Config) {
	switch c.UserMapping {
	case "template":
		c.UserARNTemplate = r.str("QSGATE_USER_ARN_TEMPLATE", quicksight.DefaultARNTemplate)
		claims, err := quicksight.TemplateClaims(c.UserARNTemplate)
		if err != nil {
			r.p.Add("QSGATE_USER_ARN_TEMPLATE", "%v", err)
		}
		c.TemplateClaims = claims
		c.TrustEditableClaims = r.boolean("QSGATE_TRUST_EDITABLE_CLAIMS")
		if editable := EditableClaims(claims); len(editable) > 0 && !c.TrustEditableClaims {
			// The template names the QuickSight user: a claim the user can
			// edit at the provider would open someone else's console.
			r.p.Add("QSGATE_USER_ARN_TEMPLATE", "reads {%s}: users can often edit claims other than {email} and {sub} at the provider, and would open someone else's console; use {email} or {sub}, or set QSGATE_TRUST_EDITABLE_CLAIMS=true if no user can change %s at your provider",
				strings.Join(editable, "}, {"), strings.Join(editable, ", "))
		}
	case "file":
		c.UserMapFile = r.required("QSGATE_USER_MAP_FILE")
	case "lookup", "register":
		c.UserNameTemplate = r.str("QSGATE_USER_NAME_TEMPLATE", "")
		if c.UserNameTemplate != "" {
			t, err := quicksight.ParseNameTemplate(c.UserNameTemplate)
			switch {
			case err != nil:
				r.p.Add("QSGATE_USER_NAME_TEMPLATE", "%v", err)
			case c.UserMapping == "register" && len(EditableClaims(t.Claims())) > 0:
				// Registration takes the name first come, first served: a
				// claim the user can edit would let them take someone else's.
				r.p.Add("QSGATE_USER_NAME_TEMPLATE", "in register mode it may read only {email} and {sub}: users can often edit other claims at the provider and would register someone else's name first")
			default:
				c.TemplateClaims = t.Claims()
			}
		}
		if c.UserMapping == "register" {
			c.CustomPermissionsName = r.optionalMatch("QSGATE_CUSTOM_PERMISSIONS_NAME", permissionsRE, "must be 1-64 of letters, digits and +=,.@_-")
		}
	case "iam":
		c.IAMRoleARN = r.required("QSGATE_IAM_ROLE_ARN")
		if c.IAMRoleARN != "" && !quicksight.RoleARNRE.MatchString(c.IAMRoleARN) {
			r.p.Add("QSGATE_IAM_ROLE_ARN", "must be an IAM role ARN such as arn:aws:iam::123456789012:role/QuickSightEmbed, got %q", c.IAMRoleARN)
		}
		c.IAMRegister = r.boolean("QSGATE_IAM_REGISTER")
	case "identity-center":
		c.IDCApplicationARN = r.required("QSGATE_IDC_APPLICATION_ARN")
		if c.IDCApplicationARN != "" && !quicksight.ApplicationARNRE.MatchString(c.IDCApplicationARN) {
			r.p.Add("QSGATE_IDC_APPLICATION_ARN", "must be an IAM Identity Center application ARN such as arn:aws:sso::123456789012:application/ssoins-1234567890abcdef/apl-1234567890abcdef, got %q", c.IDCApplicationARN)
		}
		c.IDCRoleARN = r.required("QSGATE_IDC_ROLE_ARN")
		if c.IDCRoleARN != "" && !quicksight.RoleARNRE.MatchString(c.IDCRoleARN) {
			r.p.Add("QSGATE_IDC_ROLE_ARN", "must be an IAM role ARN such as arn:aws:iam::123456789012:role/QuickSightIdentity, got %q", c.IDCRoleARN)
		}
		c.IDCRegion = r.optionalMatch("QSGATE_IDC_REGION", regionRE, "must be an AWS region such as us-east-1")
		// Only GenerateEmbedUrlForRegisteredUserWithIdentity embeds an
		// Identity Center user: the registered-user API's call.
		switch strings.TrimSpace(r.getenv("QSGATE_QUICKSIGHT_API")) {
		case "":
			c.QuickSightAPI = "registered-user"
		case "session":
			r.p.Add("QSGATE_QUICKSIGHT_API", "identity-center mode embeds with GenerateEmbedUrlForRegisteredUserWithIdentity, a registered-user call: set it to registered-user or leave it unset")
		}
	}
}

// EditableClaims are the claims among claims a user may be able to change
// at their provider: all but email (used only when verified) and sub.
func EditableClaims(claims []string) []string {
	return slices.DeleteFunc(slices.Clone(claims), func(cl string) bool { return cl == "email" || cl == "sub" })
}

// Warnings are settings that are valid but take a risk the operator chose,
// or do nothing as set; serve logs each at start.
func (c Config) Warnings() []string {
	var w []string
	if len(c.DashboardFeatures) > 0 && c.DashboardExperience != "dashboard" {
		w = append(w, "QSGATE_DASHBOARD_FEATURES is set but QSGATE_DASHBOARD_EXPERIENCE=console: dashboards open in the console, "+
			"which takes QSGATE_CONSOLE_FEATURES; the Dashboard experience's features are not used")
	}
	if c.UserMapping == "identity-center" && c.SessionStore == "cookie" && c.SessionRefresh > 0 {
		w = append(w, "QSGATE_SESSION_REFRESH with identity-center mode and cookie sessions: the cookie keeps the provider's ID token first "+
			"and often has no room left for the refresh token, so such sessions are not re-checked at the provider (logged as refresh_unavailable); "+
			"set QSGATE_SESSION_STORE=redis")
	}
	if c.UserMapping == "template" && c.TrustEditableClaims {
		if editable := EditableClaims(c.TemplateClaims); len(editable) > 0 {
			w = append(w, "QSGATE_TRUST_EDITABLE_CLAIMS=true: the ARN template reads "+strings.Join(editable, ", ")+
				"; a user who can change it at the provider opens the console of the QuickSight user it names")
		}
	}
	return w
}

// sessions checks the session store's settings.
func (r reader) sessions(c *Config) {
	if c.RedisURL != "" {
		if err := cluster.CheckURL(c.RedisURL); err != nil {
			r.p.Add("QSGATE_REDIS_URL", "%v", err) // never echo it: it holds the password
		}
	} else if c.SessionStore == "redis" {
		r.p.Add("QSGATE_REDIS_URL", "missing: QSGATE_SESSION_STORE=redis keeps sessions there")
	}
	if c.SessionIdle != 0 && (c.SessionIdle < 2*time.Minute || c.SessionIdle > c.SessionTTL) {
		r.p.Add("QSGATE_SESSION_IDLE", "must be 0 (off) or between 2m and QSGATE_SESSION_TTL (%s), got %s", c.SessionTTL, c.SessionIdle)
	}
	if c.SessionRefresh != 0 && c.SessionRefresh < time.Minute {
		r.p.Add("QSGATE_SESSION_REFRESH", "must be 0 (off) or at least 1m, got %s", c.SessionRefresh)
	}
}

// RedactedRedisURL is QSGATE_REDIS_URL without its password.
func (c Config) RedactedRedisURL() string {
	u, err := url.Parse(c.RedisURL)
	if err != nil || c.RedisURL == "" {
		return ""
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "hidden")
	}
	return u.String()
}

// embedding checks the settings of the registered-user API.
func (r reader) embedding(c *Config) {
	extra := access.List(r.str("QSGATE_ALLOWED_EMBED_DOMAINS", ""))
	if c.DashboardExperience == "dashboard" && c.QuickSightAPI != "registered-user" {
		r.p.Add("QSGATE_DASHBOARD_EXPERIENCE", "dashboard needs QSGATE_QUICKSIGHT_API=registered-user (GetSessionEmbedUrl has only the console)")
	}
	if c.QuickSightAPI != "registered-user" {
		if len(extra) > 0 {
			r.p.Add("QSGATE_ALLOWED_EMBED_DOMAINS", "is sent only with QSGATE_QUICKSIGHT_API=registered-user; with the session API, allow the domains in QuickSight's console instead")
		}
		return
	}
	if c.PublicURL.Host != "" {
		c.AllowedDomains = append(c.AllowedDomains, c.PublicURL.String())
	}
	for _, d := range extra {
		if err := checkEmbedDomain(d); err != nil {
			r.p.Add("QSGATE_ALLOWED_EMBED_DOMAINS", "%q %v", d, err)
			continue
		}
		if !slices.Contains(c.AllowedDomains, d) {
			c.AllowedDomains = append(c.AllowedDomains, d)
		}
	}
	if len(c.AllowedDomains) > 3 {
		r.p.Add("QSGATE_ALLOWED_EMBED_DOMAINS", "QuickSight takes at most 3 domains, and QSGATE_PUBLIC_URL is one of them: got %d in all", len(c.AllowedDomains))
	}
}

// features reads the registered-user API's feature lists, Amazon Q's
// groups and QSGATE_QNA. They are read whatever the API, so that a list
// meant for the registered-user API is refused, not ignored, with the
// session API.
func (r reader) features(c *Config) {
	session := c.QuickSightAPI != "registered-user"
	for _, f := range []struct {
		name  string
		check func([]string) ([]string, error)
		to    *[]string
	}{
		{"QSGATE_CONSOLE_FEATURES", quicksight.CheckConsoleFeatures, &c.ConsoleFeatures},
		{"QSGATE_DASHBOARD_FEATURES", quicksight.CheckDashboardFeatures, &c.DashboardFeatures},
	} {
		names := access.List(r.str(f.name, ""))
		if len(names) == 0 {
			continue
		}
		if session {
			r.p.Add(f.name, "needs QSGATE_QUICKSIGHT_API=registered-user: GetSessionEmbedUrl cannot turn features on; set QSGATE_QUICKSIGHT_API=registered-user, or leave %s empty", f.name)
		}
		checked, err := f.check(names)
		if err != nil {
			r.p.Add(f.name, "%v", err)
		}
		*f.to = checked
	}
	c.AmazonQGroups = access.List(r.str("QSGATE_AMAZON_Q_GROUPS", ""))
	c.QnA = r.boolean("QSGATE_QNA")
	if c.QnA && session {
		r.p.Add("QSGATE_QNA", "needs QSGATE_QUICKSIGHT_API=registered-user (GetSessionEmbedUrl has only the console); set it, or QSGATE_QNA=false")
	}
}

// GroupsKept are the groups a session keeps of the groups claim: those the
// access policy looks at and QSGATE_AMAZON_Q_GROUPS.
func (c Config) GroupsKept() []string {
	gs := append(c.Access.GroupsUsed(), c.AmazonQGroups...)
	slices.Sort(gs)
	return slices.Compact(gs)
}

// embedDomainRE is an https origin, or a wildcard subdomain origin as
// QuickSight allows (https://*.example.com).
var embedDomainRE = regexp.MustCompile(`^https://(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+(:[0-9]{1,5})?$`)

func checkEmbedDomain(d string) error {
	if !embedDomainRE.MatchString(d) {
		return errors.New("must be an https origin such as https://portal.example.com or https://*.example.com (no path, no http, a wildcard only as the first label)")
	}
	return nil
}

// crossChecks refuses combinations that work on a laptop and hurt in
// production, unless the operator opts in.
func (r reader) crossChecks(c *Config) {
	if c.ShutdownGrace < c.AWSTimeout {
		r.p.Add("QSGATE_SHUTDOWN_GRACE", "%s is shorter than QSGATE_AWS_TIMEOUT (%s): every deploy would cut page views off mid-call; make it at least as long", c.ShutdownGrace, c.AWSTimeout)
	}
	c.AllowInsecureHTTP = r.boolean("QSGATE_ALLOW_INSECURE_HTTP")
	insecureOK := c.AllowInsecureHTTP
	for _, v := range []struct{ name, raw string }{{"QSGATE_PUBLIC_URL", c.PublicURL.String()}, {"QSGATE_OIDC_ISSUER", c.OIDCIssuer}} {
		name, raw := v.name, v.raw
		u, err := url.Parse(raw)
		if err == nil && u.Scheme == "http" && !isLoopback(u.Hostname()) && !insecureOK {
			r.p.Add(name, "%q is plain http on a host that is not loopback: sessions and tokens would cross the network in clear; use https, or set QSGATE_ALLOW_INSECURE_HTTP=true for a network you trust", raw)
		}
	}
	c.AllowOpenRegistration = r.boolean("QSGATE_ALLOW_OPEN_REGISTRATION")
	registers := c.UserMapping == "register" || (c.UserMapping == "iam" && c.IAMRegister)
	if registers && len(c.Access.Domains) == 0 && len(c.Access.Groups) == 0 && !c.AllowOpenRegistration {
		r.p.Add("QSGATE_ALLOWED_EMAIL_DOMAINS", "%s mode registers everyone the provider signs in as a QuickSight user: set QSGATE_ALLOWED_EMAIL_DOMAINS or QSGATE_ALLOWED_GROUPS, or QSGATE_ALLOW_OPEN_REGISTRATION=true if every account at the provider should get one", c.UserMapping)
	}
	c.AllowAnyProxy = r.boolean("QSGATE_ALLOW_ANY_PROXY")
	anyOK := c.AllowAnyProxy
	for _, n := range c.TrustedProxies {
		if ones, _ := n.Mask.Size(); ones == 0 && !anyOK {
			r.p.Add("QSGATE_TRUSTED_PROXIES", "%s trusts every address, so any client can forge X-Forwarded-For; list your load balancers' ranges, or set QSGATE_ALLOW_ANY_PROXY=true when the gateway is reachable only through them", n)
		}
	}
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// policy reads the access settings.
func (r reader) policy(defaultNamespace string) access.Policy {
	p := access.Policy{
		Groups:           access.List(r.str("QSGATE_ALLOWED_GROUPS", "")),
		AdminGroups:      access.List(r.str("QSGATE_ADMIN_GROUPS", "")),
		AuthorGroups:     access.List(r.str("QSGATE_AUTHOR_GROUPS", "")),
		DefaultRole:      r.oneOf("QSGATE_DEFAULT_ROLE", access.RoleReader, access.RoleReader, access.RoleAuthor, access.RoleAdmin),
		DefaultNamespace: defaultNamespace,
	}
	var err error
	if p.Domains, err = access.ParseDomains(r.str("QSGATE_ALLOWED_EMAIL_DOMAINS", "")); err != nil {
		r.p.Add("QSGATE_ALLOWED_EMAIL_DOMAINS", "%v", err)
	}
	if p.Rules, err = access.ParseRules(r.str("QSGATE_NAMESPACE_RULES", "")); err != nil {
		r.p.Add("QSGATE_NAMESPACE_RULES", "%v", err)
	}
	return p
}

// Load reads and checks every setting through getenv. On any problem it
// returns Problems listing all of them.
func Load(getenv func(string) string) (Config, error) {
	var p Problems
	r := reader{getenv: getenv, p: &p}
	c := Config{
		ListenAddr:           r.hostPort("QSGATE_LISTEN_ADDR", ":8080"),
		MetricsAddr:          r.hostPort("QSGATE_METRICS_ADDR", ""),
		PublicURL:            r.publicURL("QSGATE_PUBLIC_URL"),
		OIDCIssuer:           r.absURL("QSGATE_OIDC_ISSUER"),
		OIDCClientID:         r.required("QSGATE_OIDC_CLIENT_ID"),
		OIDCClientSecret:     r.required("QSGATE_OIDC_CLIENT_SECRET"),
		OIDCScopes:           r.scopes("QSGATE_OIDC_SCOPES"),
		TrustUnverifiedEmail: r.boolean("QSGATE_OIDC_TRUST_UNVERIFIED_EMAIL"),
		SessionKeys:          r.keys("QSGATE_SESSION_KEYS"),
		SessionTTL:           r.duration("QSGATE_SESSION_TTL", 10*time.Hour, 5*time.Minute, 30*24*time.Hour),
		SessionStore:         r.oneOf("QSGATE_SESSION_STORE", "cookie", "cookie", "redis"),
		RedisURL:             r.str("QSGATE_REDIS_URL", ""),
		SessionIdle:          r.duration("QSGATE_SESSION_IDLE", 0, 0, 30*24*time.Hour),
		SessionRefresh:       r.duration("QSGATE_SESSION_REFRESH", 0, 0, 24*time.Hour),
		RefreshGrace:         r.duration("QSGATE_SESSION_REFRESH_GRACE", 15*time.Minute, 0, 24*time.Hour),
		AccountID:            r.match("QSGATE_QUICKSIGHT_ACCOUNT_ID", "", accountRE, "must be 12 digits"),
		Namespace:            r.match("QSGATE_QUICKSIGHT_NAMESPACE", "default", namespaceRE, "must be 1-64 of letters, digits, '.', '_' or '-'"),
		IdentityRegion:       r.optionalMatch("QSGATE_QUICKSIGHT_IDENTITY_REGION", regionRE, "must be an AWS region such as us-east-1"),
		SessionLifetime:      r.integer("QSGATE_QUICKSIGHT_SESSION_LIFETIME", 600, 15, 600),
		AWSTimeout:           r.duration("QSGATE_AWS_TIMEOUT", 10*time.Second, time.Second, 2*time.Minute),
		UserMapping:          r.oneOf("QSGATE_USER_MAPPING", "template", "template", "file", "lookup", "register", "iam", "identity-center"),
		UserCacheTTL:         r.duration("QSGATE_USER_CACHE_TTL", 10*time.Minute, 10*time.Second, 24*time.Hour),
		FollowIdentityRegion: r.boolean("QSGATE_FOLLOW_IDENTITY_REGION"),
		GroupsClaim:          r.match("QSGATE_OIDC_GROUPS_CLAIM", "groups", claimNameRE, "must be a claim name (letters, digits, '_', '.', ':' or '-')"),
		QuickSightAPI:        r.oneOf("QSGATE_QUICKSIGHT_API", "session", "session", "registered-user"),
		DashboardExperience:  r.oneOf("QSGATE_DASHBOARD_EXPERIENCE", "console", "console", "dashboard"),
		PortalTitle:          r.title("QSGATE_PORTAL_TITLE", "QuickSight portal"),
		HomeList:             r.booleanDefault("QSGATE_HOME_LIST", true),
		EmbedRate:            r.rate("QSGATE_EMBED_RATE", "30/m"),
		SignInRate:           r.rate("QSGATE_SIGNIN_RATE", "10/m"),
		SignInRatePerAddress: r.rate("QSGATE_SIGNIN_RATE_PER_ADDRESS", "300/m"),
		MaxSessionsPerUser:   int(r.integer("QSGATE_MAX_SESSIONS_PER_USER", 20, 1, 1000)),
		MaxConnections:       int(r.integer("QSGATE_MAX_CONNECTIONS", 0, 10, 100000)),
		MaxRPS:               r.number("QSGATE_QUICKSIGHT_MAX_RPS", 5, 0.1, 10000),
		MaxInflight:          int(r.integer("QSGATE_QUICKSIGHT_MAX_INFLIGHT", 20, 1, 1000)),
		TrustedProxies:       r.cidrs("QSGATE_TRUSTED_PROXIES"),
		ShutdownDelay:        r.duration("QSGATE_SHUTDOWN_DELAY", 0, 0, 5*time.Minute),
		ShutdownGrace:        r.duration("QSGATE_SHUTDOWN_GRACE", 15*time.Second, 0, 10*time.Minute),
		LogLevel:             r.level("QSGATE_LOG_LEVEL"),
		LogFormat:            r.oneOf("QSGATE_LOG_FORMAT", "text", "text", "json"),
		AuditLog:             r.auditLog("QSGATE_AUDIT_LOG"),
	}
	if c.MetricsAddr != "" && c.MetricsAddr == c.ListenAddr {
		p.Add("QSGATE_METRICS_ADDR", "must differ from QSGATE_LISTEN_ADDR: metrics are not for the public port")
	}
	r.mapping(&c)
	c.Access = r.policy(c.Namespace)
	r.crossChecks(&c)
	r.embedding(&c)
	r.features(&c)
	r.sessions(&c)
	if len(p) > 0 {
		return Config{}, p
	}
	return c, nil
}

// Summary describes the configuration for check-config, without secrets.
func (c Config) Summary() string {
	var b strings.Builder
	line := func(k, v string) { fmt.Fprintf(&b, "  %-36s %s\n", k, v) }
	b.WriteString("configuration is valid:\n")
	line("QSGATE_LISTEN_ADDR", c.ListenAddr)
	line("QSGATE_METRICS_ADDR", cmp.Or(c.MetricsAddr, "(off)"))
	line("QSGATE_PUBLIC_URL", c.PublicURL.String())
	line("QSGATE_OIDC_ISSUER", c.OIDCIssuer)
	line("QSGATE_OIDC_CLIENT_ID", c.OIDCClientID)
	line("QSGATE_OIDC_CLIENT_SECRET", "(set, hidden)")
	line("QSGATE_OIDC_SCOPES", strings.Join(c.OIDCScopes, " "))
	line("QSGATE_OIDC_TRUST_UNVERIFIED_EMAIL", strconv.FormatBool(c.TrustUnverifiedEmail))
	line("QSGATE_SESSION_KEYS", fmt.Sprintf("%d key(s), hidden", len(c.SessionKeys)))
	line("QSGATE_SESSION_TTL", c.SessionTTL.String())
	line("QSGATE_SESSION_STORE", c.SessionStore)
	line("QSGATE_REDIS_URL", cmp.Or(c.RedactedRedisURL(), "(none: every instance keeps its own state)"))
	if c.SessionStore == "redis" {
		line("QSGATE_MAX_SESSIONS_PER_USER", strconv.Itoa(c.MaxSessionsPerUser))
	}
	line("QSGATE_SESSION_IDLE", cmp.Or(durationOrOff(c.SessionIdle), "off"))
	line("QSGATE_SESSION_REFRESH", cmp.Or(durationOrOff(c.SessionRefresh), "off"))
	if c.SessionRefresh > 0 {
		line("QSGATE_SESSION_REFRESH_GRACE", c.RefreshGrace.String())
	}
	line("QSGATE_QUICKSIGHT_ACCOUNT_ID", c.AccountID)
	line("QSGATE_QUICKSIGHT_NAMESPACE", c.Namespace)
	line("QSGATE_QUICKSIGHT_IDENTITY_REGION", cmp.Or(c.IdentityRegion, "(the AWS region)"))
	line("QSGATE_QUICKSIGHT_SESSION_LIFETIME", strconv.FormatInt(c.SessionLifetime, 10)+" minutes")
	line("QSGATE_AWS_TIMEOUT", c.AWSTimeout.String())
	line("QSGATE_USER_MAPPING", c.UserMapping)
	switch c.UserMapping {
	case "template":
		line("QSGATE_USER_ARN_TEMPLATE", c.UserARNTemplate)
		line("QSGATE_TRUST_EDITABLE_CLAIMS", strconv.FormatBool(c.TrustEditableClaims))
	case "file":
		line("QSGATE_USER_MAP_FILE", c.UserMapFile)
	case "lookup", "register":
		line("QSGATE_USER_NAME_TEMPLATE", cmp.Or(c.UserNameTemplate, "(none: list the namespace, match by email)"))
		line("QSGATE_USER_CACHE_TTL", c.UserCacheTTL.String())
		if c.UserMapping == "register" {
			line("QSGATE_CUSTOM_PERMISSIONS_NAME", cmp.Or(c.CustomPermissionsName, "(none)"))
		}
	case "iam":
		line("QSGATE_IAM_ROLE_ARN", c.IAMRoleARN)
		line("QSGATE_IAM_REGISTER", strconv.FormatBool(c.IAMRegister))
		line("QSGATE_USER_CACHE_TTL", c.UserCacheTTL.String())
	case "identity-center":
		line("QSGATE_IDC_APPLICATION_ARN", c.IDCApplicationARN)
		line("QSGATE_IDC_ROLE_ARN", c.IDCRoleARN)
		line("QSGATE_IDC_REGION", cmp.Or(c.IDCRegion, "(the AWS region)"))
	}
	line("QSGATE_FOLLOW_IDENTITY_REGION", strconv.FormatBool(c.FollowIdentityRegion))
	any := "(anyone the provider signs in)"
	line("QSGATE_ALLOWED_EMAIL_DOMAINS", cmp.Or(strings.Join(c.Access.Domains, ","), any))
	line("QSGATE_ALLOWED_GROUPS", cmp.Or(strings.Join(c.Access.Groups, ","), any))
	line("QSGATE_OIDC_GROUPS_CLAIM", c.GroupsClaim)
	line("QSGATE_ADMIN_GROUPS", cmp.Or(strings.Join(c.Access.AdminGroups, ","), "(none)"))
	line("QSGATE_AUTHOR_GROUPS", cmp.Or(strings.Join(c.Access.AuthorGroups, ","), "(none)"))
	line("QSGATE_DEFAULT_ROLE", c.Access.DefaultRole)
	rules := make([]string, len(c.Access.Rules))
	for i, ru := range c.Access.Rules {
		rules[i] = ru.Kind + ":" + ru.Value + "=" + ru.Namespace
	}
	line("QSGATE_NAMESPACE_RULES", cmp.Or(strings.Join(rules, ","), "(none: everyone in "+c.Namespace+")"))
	proxies := make([]string, len(c.TrustedProxies))
	for i, n := range c.TrustedProxies {
		proxies[i] = n.String()
	}
	line("QSGATE_TRUSTED_PROXIES", cmp.Or(strings.Join(proxies, ","), "(none: the peer address is the client)"))
	line("QSGATE_QUICKSIGHT_API", c.QuickSightAPI)
	if c.QuickSightAPI == "registered-user" {
		line("AllowedDomains", strings.Join(c.AllowedDomains, " "))
	}
	line("QSGATE_DASHBOARD_EXPERIENCE", c.DashboardExperience)
	if c.QuickSightAPI == "registered-user" {
		for _, l := range c.FeatureLines() {
			line(l[0], l[1])
		}
		line("QSGATE_QNA", strconv.FormatBool(c.QnA))
	}
	line("QSGATE_PORTAL_TITLE", c.PortalTitle)
	line("QSGATE_HOME_LIST", strconv.FormatBool(c.HomeList))
	line("QSGATE_EMBED_RATE", c.EmbedRate.String()+" per user")
	line("QSGATE_SIGNIN_RATE", c.SignInRate.String()+" per user")
	line("QSGATE_SIGNIN_RATE_PER_ADDRESS", c.SignInRatePerAddress.String()+" per client address")
	if c.MaxConnections == 0 {
		line("QSGATE_MAX_CONNECTIONS", "(from the memory limit)")
	} else {
		line("QSGATE_MAX_CONNECTIONS", strconv.Itoa(c.MaxConnections))
	}
	line("QSGATE_QUICKSIGHT_MAX_RPS", strconv.FormatFloat(c.MaxRPS, 'g', -1, 64)+" AWS calls a second")
	line("QSGATE_QUICKSIGHT_MAX_INFLIGHT", strconv.Itoa(c.MaxInflight)+" AWS calls at once")
	line("QSGATE_ALLOW_INSECURE_HTTP", strconv.FormatBool(c.AllowInsecureHTTP))
	line("QSGATE_ALLOW_ANY_PROXY", strconv.FormatBool(c.AllowAnyProxy))
	line("QSGATE_ALLOW_OPEN_REGISTRATION", strconv.FormatBool(c.AllowOpenRegistration))
	line("QSGATE_SHUTDOWN_DELAY", c.ShutdownDelay.String())
	line("QSGATE_SHUTDOWN_GRACE", c.ShutdownGrace.String())
	line("QSGATE_LOG_LEVEL", c.LogLevel.String())
	line("QSGATE_LOG_FORMAT", c.LogFormat)
	line("QSGATE_AUDIT_LOG", c.AuditLog)
	return b.String()
}

// FeatureLines are the features per experience, as check-config and
// doctor print them: the setting, then what it turns on and for whom.
func (c Config) FeatureLines() [][2]string {
	describe := func(names []string) string {
		if len(names) == 0 {
			return "(none: QuickSight's defaults, newer features off)"
		}
		s := strings.Join(names, ", ")
		if len(c.AmazonQGroups) > 0 && slices.ContainsFunc(names, quicksight.IsAmazonQFeature) {
			s += " (q-* only for members of " + strings.Join(c.AmazonQGroups, ", ") + ")"
		}
		return s
	}
	dashboard := describe(c.DashboardFeatures)
	if len(c.DashboardFeatures) > 0 && c.DashboardExperience != "dashboard" {
		dashboard += " (not used: dashboards open in the console)"
	}
	return [][2]string{
		{"QSGATE_CONSOLE_FEATURES", describe(c.ConsoleFeatures)},
		{"QSGATE_DASHBOARD_FEATURES", dashboard},
		{"QSGATE_AMAZON_Q_GROUPS", cmp.Or(strings.Join(c.AmazonQGroups, ","), "(none: the q-* features for everyone)")},
	}
}

func durationOrOff(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return d.String()
}

// reader reads one variable at a time and records what is wrong with it.
type reader struct {
	getenv func(string) string
	p      *Problems
}

func (r reader) str(name, def string) string {
	if v := strings.TrimSpace(r.getenv(name)); v != "" {
		return v
	}
	return def
}

// auditLog is where the audit stream goes: "stdout" (the default), "off",
// or an absolute file path. Whether the file opens is checked at start-up.
func (r reader) auditLog(name string) string {
	v := r.str(name, "stdout")
	if v != "stdout" && v != "off" && !filepath.IsAbs(v) {
		r.p.Add(name, "must be stdout, off or an absolute file path, got %q", v)
	}
	return v
}

// hostPort is a listen address: [host]:port.
func (r reader) hostPort(name, def string) string {
	v := r.str(name, def)
	if v == "" {
		return ""
	}
	_, port, err := net.SplitHostPort(v)
	if n, perr := strconv.Atoi(port); err != nil || perr != nil || n < 0 || n > 65535 {
		r.p.Add(name, "must be HOST:PORT or :PORT, got %q", v)
	}
	return v
}

func (r reader) required(name string) string {
	v := r.str(name, "")
	if v == "" {
		r.p.Add(name, "missing")
	}
	return v
}

func (r reader) match(name, def string, re *regexp.Regexp, rule string) string {
	v := r.str(name, def)
	if v == "" {
		r.p.Add(name, "missing")
	} else if v != def && !re.MatchString(v) {
		r.p.Add(name, "%s, got %q", rule, v)
	}
	return v
}

// optionalMatch is a setting with no default: empty is fine, anything else
// must match re.
func (r reader) optionalMatch(name string, re *regexp.Regexp, rule string) string {
	v := r.str(name, "")
	if v != "" && !re.MatchString(v) {
		r.p.Add(name, "%s, got %q", rule, v)
	}
	return v
}

func (r reader) oneOf(name, def string, allowed ...string) string {
	v := r.str(name, def)
	if !slices.Contains(allowed, v) {
		r.p.Add(name, "must be one of %s, got %q", strings.Join(allowed, ", "), v)
	}
	return v
}

func (r reader) absURL(name string) string {
	v := r.required(name)
	if v == "" {
		return ""
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		r.p.Add(name, "must be an absolute http(s) URL, got %q", v)
	}
	return v // exactly as given: go-oidc compares the issuer byte for byte
}

func (r reader) publicURL(name string) *url.URL {
	v := r.required(name)
	if v == "" {
		return &url.URL{}
	}
	u, err := url.Parse(v)
	switch {
	case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "":
		r.p.Add(name, "must be an absolute http(s) URL, got %q", v)
	case strings.Trim(u.Path, "/") != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil:
		r.p.Add(name, "must be scheme and host only (qsgate serves from the root), got %q", v)
	default:
		return &url.URL{Scheme: u.Scheme, Host: u.Host}
	}
	return &url.URL{}
}

func (r reader) scopes(name string) []string {
	v := r.str(name, "openid email profile")
	scopes := strings.FieldsFunc(v, func(c rune) bool { return c == ' ' || c == ',' })
	if !slices.Contains(scopes, "openid") {
		r.p.Add(name, "must include openid, got %q", v)
	}
	return scopes
}

func (r reader) keys(name string) [][]byte {
	v := r.required(name)
	if v == "" {
		return nil
	}
	var keys [][]byte
	for i, k := range strings.Split(v, ",") {
		k = strings.TrimSpace(k)
		if len(k) < minKeyLen {
			// Never echo the key itself.
			r.p.Add(name, "key %d is %d bytes, each key must be at least %d (try: openssl rand -base64 32)", i+1, len(k), minKeyLen)
			continue
		}
		keys = append(keys, []byte(k))
	}
	return keys
}

func (r reader) duration(name string, def, lo, hi time.Duration) time.Duration {
	v := r.str(name, "")
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		r.p.Add(name, "must be a Go duration such as 10h or 90m, got %q", v)
		return def
	}
	if d < lo || d > hi {
		r.p.Add(name, "must be between %s and %s, got %s", lo, hi, d)
	}
	return d
}

func (r reader) boolean(name string) bool { return r.booleanDefault(name, false) }

func (r reader) booleanDefault(name string, def bool) bool {
	v := r.str(name, strconv.FormatBool(def))
	b, err := strconv.ParseBool(v)
	if err != nil {
		r.p.Add(name, "must be true or false, got %q", v)
	}
	return b
}

func (r reader) integer(name string, def, lo, hi int64) int64 {
	v := r.str(name, "")
	if v == "" {
		return def
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < lo || n > hi {
		r.p.Add(name, "must be a whole number from %d to %d, got %q", lo, hi, v)
		return def
	}
	return n
}

// title is a short line of plain text.
func (r reader) title(name, def string) string {
	v := r.str(name, def)
	if len(v) > 80 || strings.ContainsFunc(v, func(c rune) bool { return c < ' ' || c == 0x7f }) {
		r.p.Add(name, "must be one line of at most 80 characters")
		return def
	}
	return v
}

func (r reader) rate(name, def string) limit.Rate {
	v := r.str(name, def)
	rt, err := limit.ParseRate(v)
	if err != nil {
		r.p.Add(name, "%v", err)
	}
	return rt
}

func (r reader) number(name string, def, lo, hi float64) float64 {
	v := r.str(name, "")
	if v == "" {
		return def
	}
	n, err := strconv.ParseFloat(v, 64)
	if err != nil || n < lo || n > hi {
		r.p.Add(name, "must be a number from %g to %g, got %q", lo, hi, v)
		return def
	}
	return n
}

func (r reader) cidrs(name string) []*net.IPNet {
	var nets []*net.IPNet
	for _, s := range strings.FieldsFunc(r.str(name, ""), func(c rune) bool { return c == ' ' || c == ',' }) {
		if ip := net.ParseIP(s); ip != nil { // a bare address is a /32 or /128
			bits := 8 * len(ip.To16())
			if ip.To4() != nil {
				ip, bits = ip.To4(), 32
			}
			nets = append(nets, &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)})
			continue
		}
		_, n, err := net.ParseCIDR(s)
		if err != nil {
			r.p.Add(name, "must be IP addresses or CIDR ranges, got %q", s)
			continue
		}
		nets = append(nets, n)
	}
	return nets
}

func (r reader) level(name string) slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(r.str(name, "info"))); err != nil {
		r.p.Add(name, "must be debug, info, warn or error, got %q", r.str(name, ""))
	}
	return l
}
