// Package demo wires the parts qsgate needs to run with nothing else
// installed: the development OIDC provider (devidp) and the QuickSight
// simulator (qssim), both on loopback, with demo users in each, and the
// settings a gateway needs to use them. One Options.Mapping picks the
// user-mapping mode to show (template, lookup, register, iam,
// identity-center): it decides which QuickSight users the simulator holds
// and the QSGATE_USER_MAPPING settings (identity-center: no mapping, the
// simulator's account on IAM Identity Center trusting the demo provider).
// Options.API and Options.DashboardExperience pick the embedding API and
// what a dashboard opens in; with the registered-user API the demo also
// turns features on (Amazon Q's for admins only), offers Generative Q&A on
// the home page and can open one visual (Examples). In every mode the
// simulator holds a few dashboards and analyses shared with some of the
// users, so the home page lists something (but in identity-center mode,
// where the gateway knows no user ARN to list for). `qsgate demo` and the
// end-to-end tests use it. It is never for production: anyone can sign in
// as anyone.
package demo

import (
	"cmp"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/qsgate/qsgate/internal/devkit/idp"
	"github.com/qsgate/qsgate/internal/devkit/qssim"
)

// AccountID is the simulated QuickSight account.
const AccountID = "111122223333"

// ClientID is the gateway's client id at the demo provider.
const ClientID = "qsgate-demo"

// Options says where the gateway will be reached and how it maps users.
type Options struct {
	// PublicURL is the gateway's public URL, e.g. http://127.0.0.1:8080. Its
	// host must be loopback; the provider and simulator listen on it too.
	PublicURL string
	// Mapping is the user-mapping mode to show, one of Mappings(); ""
	// means MappingTemplate. It decides which QuickSight users the
	// simulator holds and the QSGATE_USER_MAPPING settings.
	Mapping string
	// API is QSGATE_QUICKSIGHT_API, one of APIs(); "" means APISession,
	// or APIRegisteredUser with MappingIdentityCenter (which refuses
	// APISession).
	API string
	// DashboardExperience is QSGATE_DASHBOARD_EXPERIENCE, one of
	// DashboardExperiences(); "" means ExperienceConsole.
	// ExperienceDashboard needs APIRegisteredUser.
	DashboardExperience string
	Logger              *slog.Logger // nil discards
}

// Embedding APIs, spelled as QSGATE_QUICKSIGHT_API spells them.
const (
	// APISession is GetSessionEmbedUrl, the gateway's default.
	APISession = "session"
	// APIRegisteredUser is GenerateEmbedUrlForRegisteredUser.
	APIRegisteredUser = "registered-user"
)

// APIs returns the values Options.API accepts, the default first.
func APIs() []string { return []string{APISession, APIRegisteredUser} }

// What /embed/dashboards/{id} opens, spelled as QSGATE_DASHBOARD_EXPERIENCE
// spells it.
const (
	// ExperienceConsole opens the console at the dashboard, the default.
	ExperienceConsole = "console"
	// ExperienceDashboard opens the read-only Dashboard experience, which
	// readers may use too.
	ExperienceDashboard = "dashboard"
)

// DashboardExperiences returns the values Options.DashboardExperience
// accepts, the default first.
func DashboardExperiences() []string { return []string{ExperienceConsole, ExperienceDashboard} }

// Stack is a running provider and simulator.
type Stack struct {
	// Settings are the QSGATE_* and AWS_* variables for a gateway at
	// PublicURL (all but QSGATE_LISTEN_ADDR), with fresh random secrets.
	Settings  map[string]string
	IssuerURL string
	Sim       *qssim.Server
	Mapping   string // the mode shown, never ""
	// API and DashboardExperience are the options in force, never "".
	API                 string
	DashboardExperience string
	// Users are Users(Mapping), who can sign in and what they see; with
	// ExperienceDashboard the readers' lines say they can open dashboards.
	Users []User
	idp   *http.Server
	// provider is the demo provider, for RotateProviderKey; hits counts
	// its requests by path.
	provider *idp.Handler
	hitsMu   sync.Mutex
	hits     map[string]int
}

// RotateProviderKey makes the demo provider sign with a new key (the old
// one stays published), as a real provider's key rotation does.
func (s *Stack) RotateProviderKey() error { return s.provider.RotateKey() }

// ProviderRequests is how many requests the provider answered for path
// (e.g. "/keys", "/.well-known/openid-configuration").
func (s *Stack) ProviderRequests(path string) int {
	s.hitsMu.Lock()
	defer s.hitsMu.Unlock()
	return s.hits[path]
}

// Start starts the provider and the simulator on free loopback ports. An
// unknown Mapping, API or DashboardExperience is an error naming the
// allowed values.
func Start(opts Options) (*Stack, error) {
	mapping, err := checkMapping(opts.Mapping)
	if err != nil {
		return nil, err
	}
	if mapping == MappingIdentityCenter {
		// Only the registered-user API embeds an Identity Center user.
		if opts.API == APISession {
			return nil, fmt.Errorf("demo: the %s mapping embeds with the %s API (GenerateEmbedUrlForRegisteredUserWithIdentity), not %s", mapping, APIRegisteredUser, APISession)
		}
		opts.API = APIRegisteredUser
	}
	api, experience, err := checkEmbedding(opts.API, opts.DashboardExperience)
	if err != nil {
		return nil, err
	}
	users := usersFor(mapping)
	if experience == ExperienceDashboard {
		for i, u := range users {
			if u.QuickSight != nil && u.QuickSight.Role == "READER" {
				users[i].Description += "; opens shared dashboards in the Dashboard experience"
			}
		}
	}
	pub, err := url.Parse(opts.PublicURL)
	if err != nil || pub.Host == "" {
		return nil, fmt.Errorf("demo: bad public URL %q", opts.PublicURL)
	}
	host := pub.Hostname()
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("demo: the demo runs on loopback only (127.0.0.1 or localhost), got %q", host)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}

	simCfg := qssim.Config{
		AccountID:       AccountID,
		AccessKeyID:     "AKIADEMO" + strings.ToUpper(hex.EncodeToString(randomBytes(6))),
		SecretAccessKey: randomString(30),
		Logger:          log.With("component", "qssim"),
	}
	roleARN := "arn:aws:iam::" + AccountID + ":role/" + IAMRoleName
	if mapping == MappingIAM {
		simCfg.Roles = []string{roleARN}
	}
	sim, err := qssim.StartAt(net.JoinHostPort(host, "0"), simCfg)
	if err != nil {
		return nil, err
	}
	for _, u := range users {
		switch {
		case u.QuickSight == nil:
		case mapping == MappingIdentityCenter:
			sim.AddIdentityCenterUser(*u.QuickSight)
		default:
			sim.AddUser(*u.QuickSight)
		}
	}
	seedContent(sim, mapping)

	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		sim.Close()
		return nil, err
	}
	issuer := "http://" + net.JoinHostPort(host, strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
	secret := randomString(32)
	var idpUsers []idp.User
	for _, u := range users {
		idpUsers = append(idpUsers, idp.User{Subject: u.Subject, Email: u.Email, Name: u.Name,
			PreferredUsername: u.Subject, Description: u.Description, Groups: u.Groups})
	}
	public := pub.Scheme + "://" + pub.Host
	handler, err := idp.New(idp.Config{
		Issuer: issuer,
		Clients: []idp.Client{{ID: ClientID, Secret: secret,
			RedirectURIs: []string{public + "/auth/callback"}, PostLogoutRedirectURIs: []string{public + "/signed-out"}}},
		Users:  idpUsers,
		Logger: log.With("component", "devidp"),
	})
	if err != nil {
		ln.Close()
		sim.Close()
		return nil, err
	}
	st := &Stack{provider: handler.(*idp.Handler), hits: map[string]int{}}
	counted := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st.hitsMu.Lock()
		st.hits[r.URL.Path]++
		st.hitsMu.Unlock()
		handler.ServeHTTP(w, r)
	})
	idpServer := &http.Server{Handler: counted, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := idpServer.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("demo provider stopped", "err", err)
		}
	}()

	settings := map[string]string{
		"QSGATE_PUBLIC_URL":            public,
		"QSGATE_OIDC_ISSUER":           issuer,
		"QSGATE_OIDC_CLIENT_ID":        ClientID,
		"QSGATE_OIDC_CLIENT_SECRET":    secret,
		"QSGATE_SESSION_KEYS":          randomString(32),
		"QSGATE_QUICKSIGHT_ACCOUNT_ID": AccountID,
		"QSGATE_USER_MAPPING":          mapping,
		"QSGATE_QUICKSIGHT_API":        api,
		"QSGATE_DASHBOARD_EXPERIENCE":  experience,
		"QSGATE_ALLOWED_EMAIL_DOMAINS": AllowedEmailDomain,
		"QSGATE_AUTHOR_GROUPS":         AuthorGroup,
		"QSGATE_ADMIN_GROUPS":          AdminGroup,
		"AWS_REGION":                   qssim.DefaultRegion,
		"AWS_ACCESS_KEY_ID":            simCfg.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY":        simCfg.SecretAccessKey,
		"AWS_ENDPOINT_URL_QUICKSIGHT":  sim.URL(),
	}
	if api == APIRegisteredUser {
		for k, v := range registeredUserSettings(experience) {
			settings[k] = v
		}
	}
	if mapping == MappingIAM {
		settings["QSGATE_IAM_ROLE_ARN"] = roleARN
		settings["QSGATE_IAM_REGISTER"] = "true"
		settings["AWS_ENDPOINT_URL_STS"] = sim.URL() // the simulator answers STS too
	}
	if mapping == MappingIdentityCenter {
		idc, err := identityCenter(sim, issuer)
		if err != nil {
			idpServer.Close()
			sim.Close()
			return nil, err
		}
		for k, v := range idc {
			settings[k] = v
		}
	}
	st.Settings, st.IssuerURL, st.Sim, st.Mapping = settings, issuer, sim, mapping
	st.API, st.DashboardExperience, st.Users, st.idp = api, experience, users, idpServer
	return st, nil
}

// identityCenter puts the simulator's account on IAM Identity Center, with
// an application that trusts the demo provider (issuer, the gateway's
// client id as audience, its keys found through its discovery document, as
// Identity Center finds a trusted token issuer's) and a role that trusts
// sts:SetContext, and returns the settings that point the gateway at them.
// The Identity Center users are added with the others (usersFor).
func identityCenter(sim *qssim.Server, issuer string) (map[string]string, error) {
	sim.SetAuthenticationType(qssim.AuthIAMIdentityCenter)
	app := sim.IdentityCenterApplicationARN(IdentityCenterApplication)
	if err := sim.AddIdentityCenterApplication(qssim.IdentityCenterApplication{ARN: app, Issuer: issuer, Audience: ClientID}); err != nil {
		return nil, err
	}
	role := sim.RoleARN(IdentityCenterRoleName)
	if err := sim.AddContextRole(role); err != nil {
		return nil, err
	}
	return map[string]string{
		"QSGATE_IDC_APPLICATION_ARN": app,
		"QSGATE_IDC_ROLE_ARN":        role,
		"QSGATE_IDC_REGION":          qssim.DefaultRegion,
		"AWS_ENDPOINT_URL_SSO_OIDC":  sim.URL(), // the simulator answers SSO OIDC
		"AWS_ENDPOINT_URL_STS":       sim.URL(), // and STS
	}, nil
}

// registeredUserSettings are the features the demo turns on with the
// registered-user API: the console keeps its state and offers Amazon Q's
// Q&A and authoring to admins (QSGATE_AMAZON_Q_GROUPS); the Dashboard
// experience keeps its state and has bookmarks. The simulator's page lists
// the features each URL asked for.
func registeredUserSettings(experience string) map[string]string {
	s := map[string]string{
		"QSGATE_CONSOLE_FEATURES": "state-persistence,shared-view,q-data-qna,q-generative-authoring",
		"QSGATE_AMAZON_Q_GROUPS":  AdminGroup,
		"QSGATE_QNA":              "true",
	}
	if experience == ExperienceDashboard {
		s["QSGATE_DASHBOARD_FEATURES"] = "state-persistence,bookmarks"
	}
	return s
}

// Examples are pages of the registered-user API's other experiences to
// open in the demo (none with the session API, which lacks them): Generative
// Q&A, and one visual of the Sales 2026 dashboard (the simulator takes any
// sheet and visual id).
func (s *Stack) Examples() []string {
	if s.API != APIRegisteredUser {
		return nil
	}
	return []string{"/embed/qna", "/embed/visual/sales-2026/sheet-1/visual-1"}
}

// checkEmbedding returns the API and dashboard experience named, "" being
// the defaults, or an error naming the allowed values.
func checkEmbedding(api, experience string) (string, string, error) {
	api = cmp.Or(api, APISession)
	experience = cmp.Or(experience, ExperienceConsole)
	switch {
	case !slices.Contains(APIs(), api):
		return "", "", fmt.Errorf("demo: unknown QuickSight API %q; want one of %s", api, strings.Join(APIs(), ", "))
	case !slices.Contains(DashboardExperiences(), experience):
		return "", "", fmt.Errorf("demo: unknown dashboard experience %q; want one of %s", experience, strings.Join(DashboardExperiences(), ", "))
	case experience == ExperienceDashboard && api != APIRegisteredUser:
		return "", "", fmt.Errorf("demo: the %s experience needs the %s API (%s has only the console)", ExperienceDashboard, APIRegisteredUser, APISession)
	}
	return api, experience, nil
}

// Close stops the provider and the simulator.
func (s *Stack) Close() {
	s.idp.Close()
	s.Sim.Close()
}

// randomString is n random bytes, base64url: fresh per run, so a demo's
// keys and secrets are never the same twice.
func randomString(n int) string {
	return base64.RawURLEncoding.EncodeToString(randomBytes(n))
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return b
}
