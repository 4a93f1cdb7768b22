// Package idp is a development OpenID Connect provider: it powers
// `qsgate demo` and the end-to-end browser tests, so the gateway can sign
// users in without any external service.
//
// It is built on zitadel/oidc's op package, which does the protocol work:
// discovery, JWKS, the authorization code flow with PKCE, the token endpoint
// (client_secret_basic), userinfo and RP-initiated logout (end_session). This
// package adds only in-memory storage, one RSA 2048 signing key generated per
// New call, a "groups" claim (with the profile scope, as Entra ID and Okta
// send group names) and a sign-in page that lists the configured users with
// one button each. There are no passwords: anyone who can reach the page can
// sign in as anyone.
//
// Routes, under the issuer's path:
//
//	/.well-known/openid-configuration  discovery (op)
//	/keys                              JWKS (op)
//	/authorize                         authorization endpoint; redirects to /login (op)
//	/login                             sign-in page: GET lists users, POST signs in
//	/authorize/callback                back from /login; redirects to the client with code and state (op)
//	/oauth/token                       token endpoint (op)
//	/userinfo                          userinfo (op)
//	/end_session                       RP-initiated logout (op)
//	/signed-out                        "You are signed out" page
//	/healthz, /ready                   probes (op)
//
// It is for development and tests only and must never face the internet.
// It keeps nothing on disk, offers no refresh tokens, no consent, no single
// sign-on session (every login shows the sign-in page) and no key rotation.
package idp

import (
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/op"
)

// User is an account offered on the sign-in page.
type User struct {
	Subject           string // the "sub" claim; letters, digits, '-' and '_' only, so it can be an HTML id
	Email             string // the "email" claim; always reported as verified
	Name              string
	PreferredUsername string
	Description       string // shown on the sign-in page, e.g. "author: can use the console"
	// Groups is the "groups" claim (a JSON array), sent with the "profile"
	// scope in the ID token and at userinfo, as Entra ID and Okta send group
	// names; shown on the sign-in page too.
	Groups []string
}

// Client is a relying party allowed to sign users in (client_secret_basic).
type Client struct {
	ID                     string
	Secret                 string
	RedirectURIs           []string // exact matches only
	PostLogoutRedirectURIs []string // exact matches only; used by end_session
}

// Config is what New needs to serve a provider.
type Config struct {
	// Issuer is the provider's public base URL, e.g. http://127.0.0.1:9000.
	// Plain http is accepted for loopback hosts only.
	Issuer  string
	Clients []Client
	Users   []User
	// Logger receives request lines (debug) and sign-in/sign-out events
	// (info); nil discards them. Codes and tokens are never logged. The op
	// library logs its protocol errors to slog.Default.
	Logger *slog.Logger
}

// Paths under the issuer served by this package; the op library serves the
// rest (/.well-known/openid-configuration, /authorize, /oauth/token,
// /userinfo, /end_session, /keys, /healthz, ...).
const (
	// LoginPath is the sign-in page (GET shows it, POST signs in).
	LoginPath = "/login"
	// SignedOutPath is where end_session lands without a registered
	// post_logout_redirect_uri.
	SignedOutPath = "/signed-out"
)

// Lifetimes. Short, as a real provider's, so a test that dawdles notices.
const (
	authRequestLifetime = 10 * time.Minute
	codeLifetime        = 2 * time.Minute
	accessTokenLifetime = time.Hour
	idTokenLifetime     = time.Hour
)

// New validates cfg and returns a handler (a *Handler) serving the
// provider under the issuer's path. The caller listens first (to learn its address), builds the
// issuer from it, then serves the handler on that listener.
func New(cfg Config) (http.Handler, error) {
	return newHandler(cfg, time.Now)
}

// newHandler is New with a clock, so tests can expire requests and codes.
func newHandler(cfg Config, now func() time.Time) (http.Handler, error) {
	issuer, err := validate(cfg)
	if err != nil {
		return nil, err
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}

	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("generate signing key: %w", err)
	}
	// The op library encrypts codes and opaque access tokens with this key.
	var cryptoKey [32]byte
	rand.Read(cryptoKey[:]) // crypto/rand.Read never returns an error

	prefix := strings.TrimSuffix(issuer.Path, "/")
	base := issuer.Scheme + "://" + issuer.Host + prefix
	store := newStorage(cfg, rsaKey, base+LoginPath, logger, now)

	provider, err := op.NewProvider(&op.Config{
		CryptoKey:                cryptoKey,
		CryptoKeyId:              rand.Text(),
		DefaultLogoutRedirectURI: base + SignedOutPath,
		CodeMethodS256:           true,
		SupportedScopes:          []string{"openid", "profile", "email"},
		SupportedClaims:          append(slices.Clone(op.DefaultSupportedClaims), groupsClaim),
	}, store, op.StaticIssuer(cfg.Issuer), op.WithAllowInsecure())
	if err != nil {
		return nil, fmt.Errorf("create provider: %w", err)
	}

	pages, err := newPages(cfg, store, provider, prefix, issuer.Scheme == "https", logger)
	if err != nil {
		return nil, err
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET "+prefix+LoginPath, pages.showLogin)
	mux.HandleFunc("POST "+prefix+LoginPath, pages.submitLogin)
	mux.HandleFunc("GET "+prefix+SignedOutPath, pages.signedOut)
	mux.Handle(prefix+"/", http.StripPrefix(prefix, provider))
	return &Handler{Handler: logRequests(logger, mux), store: store}, nil
}

// Handler is the provider New returns: an http.Handler that can also
// rotate its signing key, for tests of relying parties.
type Handler struct {
	http.Handler
	store *storage
}

// RotateKey makes a new RSA key the signing key. The previous key stays in
// the JWKS, as during a real provider's rotation; tokens signed from now on
// carry the new key's id, unknown to relying parties that cached the JWKS.
func (h *Handler) RotateKey() error {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	h.store.rotate(key)
	return nil
}

// logRequests logs method and path only: query strings carry codes,
// id_token_hint and auth request ids.
func logRequests(logger *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		logger.DebugContext(r.Context(), "devidp request", "method", r.Method, "path", r.URL.Path)
		next.ServeHTTP(w, r)
	})
}

// validate checks cfg, reporting every problem at once, and returns the
// parsed issuer.
func validate(cfg Config) (*url.URL, error) {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	issuer, err := url.Parse(cfg.Issuer)
	switch {
	case cfg.Issuer == "":
		add("Issuer: missing")
	case err != nil || issuer.Host == "" || (issuer.Scheme != "http" && issuer.Scheme != "https"):
		add("Issuer: must be an absolute http or https URL, got %q", cfg.Issuer)
	case issuer.RawQuery != "" || issuer.Fragment != "":
		add("Issuer: must not have a query or fragment, got %q", cfg.Issuer)
	case issuer.Scheme == "http" && !isLoopback(issuer.Hostname()):
		add("Issuer: http is allowed on loopback only (localhost, 127.0.0.0/8, ::1), got %q", cfg.Issuer)
	}

	if len(cfg.Clients) == 0 {
		add("Clients: at least one client is required")
	}
	clientIDs := make(map[string]bool)
	for i, c := range cfg.Clients {
		switch {
		case c.ID == "":
			add("Clients[%d].ID: missing", i)
		case clientIDs[c.ID]:
			add("Clients[%d].ID: duplicate %q", i, c.ID)
		}
		clientIDs[c.ID] = true
		if c.Secret == "" {
			add("Clients[%d].Secret: missing", i)
		}
		if len(c.RedirectURIs) == 0 {
			add("Clients[%d].RedirectURIs: at least one is required", i)
		}
		for j, u := range c.RedirectURIs {
			if !isAbsoluteHTTP(u) {
				add("Clients[%d].RedirectURIs[%d]: must be an absolute http or https URL, got %q", i, j, u)
			}
		}
		for j, u := range c.PostLogoutRedirectURIs {
			if !isAbsoluteHTTP(u) {
				add("Clients[%d].PostLogoutRedirectURIs[%d]: must be an absolute http or https URL, got %q", i, j, u)
			}
		}
	}

	if len(cfg.Users) == 0 {
		add("Users: at least one user is required")
	}
	subjects := make(map[string]bool)
	for i, u := range cfg.Users {
		switch {
		case u.Subject == "":
			add("Users[%d].Subject: missing", i)
		case !isSafeSubject(u.Subject):
			add("Users[%d].Subject: only letters, digits, '-' and '_' are allowed, got %q", i, u.Subject)
		case subjects[u.Subject]:
			add("Users[%d].Subject: duplicate %q", i, u.Subject)
		}
		subjects[u.Subject] = true
		if u.Email == "" {
			add("Users[%d].Email: missing", i)
		}
		for j, g := range u.Groups {
			if strings.TrimSpace(g) == "" {
				add("Users[%d].Groups[%d]: empty group name", i, j)
			}
		}
	}

	if len(problems) > 0 {
		return nil, fmt.Errorf("invalid devidp configuration:\n  %s", strings.Join(problems, "\n  "))
	}
	return issuer, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func isAbsoluteHTTP(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// isSafeSubject keeps subjects usable as HTML ids and CSS selectors
// (#login-alice) and free of ':', which the op library uses as a separator
// inside opaque access tokens.
func isSafeSubject(s string) bool {
	for _, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_'
		if !ok {
			return false
		}
	}
	return s != ""
}
