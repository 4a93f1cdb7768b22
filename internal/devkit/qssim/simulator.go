// Package qssim is a QuickSight simulator: a real HTTP server that speaks the
// Amazon QuickSight REST-JSON wire protocol, and enough of the STS query
// protocol, for the unmodified aws-sdk-go-v2 quicksight and sts clients,
// pointed at it with BaseEndpoint or AWS_ENDPOINT_URL_QUICKSIGHT /
// AWS_ENDPOINT_URL_STS.
//
// It provides GetSessionEmbedUrl, GenerateEmbedUrlForRegisteredUser
// (QuickSightConsole and Dashboard experiences with their
// FeatureConfigurations, GenerativeQnA, DashboardVisual), DescribeUser, RegisterUser,
// ListUsers, SearchDashboards, SearchAnalyses, DescribeAccountSettings and
// DescribeAccountSubscription (account.go), and the STS operations
// AssumeRole and GetCallerIdentity. For IAM Identity
// Center's trusted identity propagation (identity.go) it also provides SSO
// OIDC CreateTokenWithIAM (POST /token?aws_iam=t, signing name sso-oauth;
// AWS_ENDPOINT_URL_SSO_OIDC), AssumeRole's ProvidedContexts, and
// GenerateEmbedUrlForRegisteredUserWithIdentity, which only identity-enhanced
// role sessions may call, in an account whose authentication method is
// IAM_IDENTITY_CENTER (SetAuthenticationType). Requests must
// carry a valid SigV4 signature, scoped to the endpoint region or the
// identity region, for the configured credentials or for temporary
// credentials AssumeRole issued (until they expire). User management and
// DescribeAccountSubscription answer only in the identity region, as
// QuickSight does; embedding and searches answer in both. GetSessionEmbedUrl
// without a user-arn, signed by a role session, signs in the QuickSight
// user "RoleName/SessionName". The constraints of the API reference are enforced; embed URLs are single-use,
// valid 5 minutes, and open a small HTML page that stands in for the console,
// the dashboard, Q&A or the visual, and lists the features asked for. That page ends itself (#qs-session-ended, and a
// {"qsgate":"session-ended"} message to its parent window) when its session
// lifetime passes or EndConsoleSessions is called: the simulator's stand-in
// for QuickSight's own "session expired" page, which sends no event. Test
// controls inject faults, latency and a rate limit, and record every call.
//
// It is not QuickSight: dashboards and analyses are names with a list of
// users who may see them (AddDashboard, AddAnalysis), for the searches only;
// there are no data sets, groups, folders or IAM policies. Embedding does not
// check per-dashboard permissions: any dashboard, analysis, visual or topic id
// of the right shape is accepted, added or not. Feature configurations are
// checked for shape and recorded, not applied: the page lists them, whatever
// the user's role (QuickSight gives the Amazon Q ones to Pro users only). Roles are a list of ARNs that every caller
// may assume, for up to 12 hours (session policies and tags are ignored); IAM
// users are not mapped to QuickSight users (their GetSessionEmbedUrl calls
// need a user-arn); users registered through the API are active at once (no
// invitation flow). AllowedDomains are checked and recorded, not enforced on
// the page (it may be framed anywhere).
// The credentials are a shared secret for local use: keep it on loopback.
package qssim

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Defaults for the zero fields of Config.
const (
	DefaultAccountID       = "111122223333"
	DefaultRegion          = "us-east-1"
	DefaultAccessKeyID     = "AKIAQSSIMULATOREXAMP"
	DefaultSecretAccessKey = "qssim-local-secret-access-key-not-for-aws"
)

// Config configures a Simulator. The zero value is usable.
type Config struct {
	// AccountID is the only account the simulator serves; 12 digits.
	// Default DefaultAccountID.
	AccountID string
	// Region is the region of the endpoint. Requests may be signed (SigV4
	// scope) for it or for IdentityRegion: the simulator answers for both
	// regional endpoints. Default DefaultRegion.
	Region string
	// IdentityRegion is the account's identity region: DescribeUser,
	// RegisterUser, ListUsers and DescribeAccountSubscription signed for any
	// other region are refused like QuickSight refuses them. It is also the
	// region in user ARNs. Default Region.
	IdentityRegion string
	// AccessKeyID and SecretAccessKey are the only credentials accepted. Set
	// both or neither. Default DefaultAccessKeyID and DefaultSecretAccessKey.
	AccessKeyID     string
	SecretAccessKey string
	// SessionToken, when set, must arrive in X-Amz-Security-Token (temporary
	// credentials). Default none, and then a request carrying one is refused.
	SessionToken string
	// CallerArn is who the configured credentials are, for GetCallerIdentity
	// and Call.Principal. Default "arn:aws:iam::<AccountID>:user/qssim".
	CallerArn string
	// Roles are the IAM role ARNs AssumeRole grants, each
	// "arn:aws:iam::<AccountID>:role/<name>" (a path is allowed). Default none.
	Roles []string
	// Edition is the Edition of DescribeAccountSettings and
	// DescribeAccountSubscription: ENTERPRISE, STANDARD or ENTERPRISE_AND_Q.
	// Default ENTERPRISE.
	Edition string
	// Now is the simulator's clock, used for the 15-minute SigV4 window, the
	// 5-minute life of embed URLs, the expiry of AssumeRole credentials, the
	// rate limit and Call.Time. Default time.Now.
	Now func() time.Time
	// Logger receives one record per API call and per embed URL opened. Codes
	// and embed URLs are never logged. Default discards.
	Logger *slog.Logger
}

// Simulator is the QuickSight simulator as an http.Handler. Its methods are
// safe for concurrent use. Embed URLs are built on the base URL set with
// SetBaseURL; without one, on the scheme and Host of the API request, so
// New plus httptest.NewServer works as is.
type Simulator struct {
	cfg Config
	log *slog.Logger
	mux *http.ServeMux

	// issued holds the credentials AssumeRole handed out, by access key id.
	issued *issuedCredentials
	// idc is IAM Identity Center: applications, users, contexts (identity.go).
	idc *identityCenter

	mu         sync.Mutex
	baseURL    string
	authType   string                 // the account's authentication method (account.go)
	users      map[string]*userRecord // by ARN
	roles      map[string]bool        // role ARNs AssumeRole grants
	sessions   map[string]*embedSession
	pruned     time.Time                 // the last sweep of sessions for forgettable ones
	dashboards map[string]*contentRecord // by id
	analyses   map[string]*contentRecord // by id
	calls      []Call
	userFaults map[string]string // user ARN -> error code
	failNext   int
	failCode   string
	breakNext  int
	breakHow   Break
	latency    time.Duration
	limiter    *rate.Limiter // the SetRateLimit token bucket; nil: no limit
}

type userRecord struct {
	User
	arn         string
	principalID string
}

var (
	accountPattern = regexp.MustCompile(`^[0-9]{12}$`)
	callerPattern  = regexp.MustCompile(`^arn:aws[a-z-]*:(iam|sts)::[0-9]{12}:.+$`)
	editions       = []string{"ENTERPRISE", "STANDARD", "ENTERPRISE_AND_Q"}
)

// New returns a Simulator for cfg, or an error naming every invalid field.
func New(cfg Config) (*Simulator, error) {
	if cfg.AccountID == "" {
		cfg.AccountID = DefaultAccountID
	}
	if cfg.Region == "" {
		cfg.Region = DefaultRegion
	}
	if cfg.IdentityRegion == "" {
		cfg.IdentityRegion = cfg.Region
	}
	if cfg.AccessKeyID == "" && cfg.SecretAccessKey == "" {
		cfg.AccessKeyID, cfg.SecretAccessKey = DefaultAccessKeyID, DefaultSecretAccessKey
	}
	if cfg.CallerArn == "" {
		cfg.CallerArn = fmt.Sprintf("arn:aws:iam::%s:user/qssim", cfg.AccountID)
	}
	if cfg.Edition == "" {
		cfg.Edition = "ENTERPRISE"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	var problems []string
	if !accountPattern.MatchString(cfg.AccountID) {
		problems = append(problems, fmt.Sprintf("AccountID: must be 12 digits, got %q", cfg.AccountID))
	}
	if cfg.AccessKeyID == "" || cfg.SecretAccessKey == "" {
		problems = append(problems, "AccessKeyID, SecretAccessKey: set both or neither")
	}
	if !callerPattern.MatchString(cfg.CallerArn) {
		problems = append(problems, fmt.Sprintf("CallerArn: must be an IAM or STS ARN, got %q", cfg.CallerArn))
	}
	for _, role := range cfg.Roles {
		if err := checkRoleARN(role, cfg.AccountID); err != nil {
			problems = append(problems, "Roles: "+err.Error())
		}
	}
	if !slices.Contains(editions, cfg.Edition) {
		problems = append(problems, fmt.Sprintf("Edition: must be one of %s, got %q", strings.Join(editions, ", "), cfg.Edition))
	}
	if len(problems) > 0 {
		return nil, errors.New("qssim: invalid configuration:\n  " + strings.Join(problems, "\n  "))
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Simulator{
		cfg:        cfg,
		log:        log,
		issued:     newIssuedCredentials(),
		idc:        newIdentityCenter(),
		users:      make(map[string]*userRecord),
		roles:      make(map[string]bool),
		sessions:   make(map[string]*embedSession),
		dashboards: make(map[string]*contentRecord),
		analyses:   make(map[string]*contentRecord),
		userFaults: make(map[string]string),
		authType:   AuthIAMAndQuickSight,
	}
	for _, role := range cfg.Roles {
		s.roles[role] = true
	}
	s.mux = s.routes()
	return s, nil
}

// routes is the table of contents: the real QuickSight paths, STS (POST / of
// the query protocol), then the pages that stand in for the console and the
// dashboard (/embed/ and /embedding/, as QuickSight's URLs) and the status
// those pages poll.
func (s *Simulator) routes() *http.ServeMux {
	unknown := s.api("", func(*http.Request, []byte, *Call) (map[string]any, *apiError) {
		return nil, newError(ErrUnknownOperation, "The simulator does not implement this operation.")
	})
	mux := http.NewServeMux()
	mux.Handle("GET /accounts/{account}/session-embed-url", s.api("GetSessionEmbedUrl", s.getSessionEmbedURL))
	mux.Handle("POST /accounts/{account}/embed-url/registered-user", s.api("GenerateEmbedUrlForRegisteredUser", s.generateEmbedURLForRegisteredUser))
	mux.Handle("POST /accounts/{account}/embed-url/registered-user-with-identity", s.api("GenerateEmbedUrlForRegisteredUserWithIdentity", s.generateEmbedURLWithIdentity))
	mux.Handle("GET /accounts/{account}/namespaces/{namespace}/users/{user}", s.api("DescribeUser", s.describeUser))
	mux.Handle("POST /accounts/{account}/namespaces/{namespace}/users", s.api("RegisterUser", s.registerUser))
	mux.Handle("GET /accounts/{account}/namespaces/{namespace}/users", s.api("ListUsers", s.listUsers))
	mux.Handle("POST /accounts/{account}/search/dashboards", s.api("SearchDashboards", s.searchDashboards))
	mux.Handle("POST /accounts/{account}/search/analyses", s.api("SearchAnalyses", s.searchAnalyses))
	mux.Handle("GET /accounts/{account}/settings", s.api("DescribeAccountSettings", s.describeAccountSettings))
	mux.Handle("GET /account/{account}", s.api("DescribeAccountSubscription", s.describeAccountSubscription))
	mux.Handle("POST /{$}", s.stsOr(unknown))
	mux.HandleFunc("POST /token", s.serveSSOOIDC)
	mux.Handle("GET /embed/{session}/{path...}", s.openEmbedURL("embed"))
	mux.Handle("GET /embedding/{session}/{path...}", s.openEmbedURL("embedding"))
	mux.HandleFunc("GET /embed-status/{session}", s.embedStatus)
	mux.Handle("/", unknown)
	return mux
}

// ServeHTTP serves the QuickSight API and the embed pages.
func (s *Simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mux.ServeHTTP(w, r)
}

// SetBaseURL sets the origin of the embed URLs, e.g. "http://127.0.0.1:8443".
// Empty means: take it from each API request.
func (s *Simulator) SetBaseURL(u string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.baseURL = strings.TrimSuffix(u, "/")
}

// UserARN returns the ARN QuickSight gives userName in namespace.
func (s *Simulator) UserARN(namespace, userName string) string {
	if namespace == "" {
		namespace = "default"
	}
	return fmt.Sprintf("arn:aws:quicksight:%s:%s:user/%s/%s", s.cfg.IdentityRegion, s.cfg.AccountID, namespace, userName)
}

// RoleARN returns the ARN of the IAM role name in the simulator's account,
// the shape Config.Roles and AddRole take.
func (s *Simulator) RoleARN(name string) string {
	return fmt.Sprintf("arn:aws:iam::%s:role/%s", s.cfg.AccountID, name)
}

// AddRole lets AssumeRole grant roleARN, an IAM role of the simulator's account.
func (s *Simulator) AddRole(roleARN string) error {
	if err := checkRoleARN(roleARN, s.cfg.AccountID); err != nil {
		return fmt.Errorf("qssim: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.roles[roleARN] = true
	return nil
}

// AddUser adds u, or replaces the user of the same namespace and name, and
// returns its ARN.
func (s *Simulator) AddUser(u User) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.putUserLocked(u).arn
}

// putUserLocked applies the User defaults and stores u; s.mu must be held.
func (s *Simulator) putUserLocked(u User) *userRecord {
	if u.Namespace == "" {
		u.Namespace = "default"
	}
	if u.Role == "" {
		u.Role = "READER"
	}
	if u.IdentityType == "" {
		u.IdentityType = "QUICKSIGHT"
	}
	rec := &userRecord{User: u, arn: s.UserARN(u.Namespace, u.UserName), principalID: "qssim/" + randomHex(8)}
	s.users[rec.arn] = rec
	return rec
}
