// Package auth signs users in with OpenID Connect (authorization code flow
// with state, nonce and PKCE), keeps them signed in with a session (in an
// encrypted cookie, or in Redis behind a random id in the cookie), re-checks
// sessions at the provider with the refresh token when asked to, and signs
// them out (RP-initiated logout when the provider offers it). It does not
// decide what a user may see; handlers do that.
//
// The files: provider.go (discovery), login.go (sign-in), verify.go (token
// checks and claims), session.go (a session's lifetime on each request),
// refresh.go (the re-check at the provider), store.go with store_cookie.go
// and store_redis.go (where sessions live), admin.go (the operator's API).
package auth

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/singleflight"

	"github.com/qsgate/qsgate/audit"
)

// Errors the handlers map to pages.
var (
	// ErrSignIn means the callback was refused (bad state, expired login,
	// provider error, token that fails verification). The user can retry.
	ErrSignIn = errors.New("sign-in could not be completed")
	// ErrProviderUnavailable means the OIDC provider could not be reached.
	ErrProviderUnavailable = errors.New("the sign-in provider is unavailable")
	// ErrSignedOut means the request has no live session: no cookie, a
	// tampered, foreign or expired one, or one whose session was ended.
	ErrSignedOut = errors.New("not signed in")
	// ErrSessionEnded means the provider refused to renew the session (the
	// user was disabled or the grant revoked): it is over, sign in again.
	ErrSessionEnded = errors.New("the sign-in provider ended the session")
	// ErrStoreUnavailable means the session store could not answer, so the
	// session could not be checked. Never treat it as signed in.
	ErrStoreUnavailable = errors.New("the session store is unavailable")
)

// SignInError says why a sign-in was refused. Reason is for the log only.
type SignInError struct {
	Kind   error // ErrSignIn or ErrProviderUnavailable
	Reason string
	// Cause is the refusal in the audit stream's words (audit.Reason...):
	// a fixed vocabulary, where Reason is free text.
	Cause string
	// ProviderError is the provider's own error= code when it sent one,
	// already checked to be a short token safe to show.
	ProviderError string
}

func (e *SignInError) Error() string { return e.Kind.Error() + ": " + e.Reason }
func (e *SignInError) Unwrap() error { return e.Kind }

// SignInLimiter limits sign-ins by key (limit.PerUser, limit.SharedPerUser):
// Allow returns a *limit.RateError past the rate.
type SignInLimiter interface {
	Allow(key string) error
}

// Config is what Auth needs.
type Config struct {
	Issuer       string
	ClientID     string
	ClientSecret string
	Scopes       []string
	PublicURL    *url.URL
	SessionKeys  [][]byte
	SessionTTL   time.Duration
	KeepClaims   []string // extra ID token / userinfo claims kept in the session
	// TrustUnverifiedEmail uses the email claim even when the provider does
	// not say email_verified: true (some providers, such as Entra ID, never
	// send it). Off, an unverified email is dropped.
	TrustUnverifiedEmail bool
	// KeepIDToken keeps the provider's ID token in the session whatever its
	// size (User.IDToken), for a mapper that sends it on (identity-center
	// mode). A cookie too small for everything then drops the refresh
	// token, and refuses the sign-in when the ID token still does not fit.
	KeepIDToken bool
	// GroupsClaim names the claim that lists the user's groups (ID token
	// or userinfo; a list or a single string).
	GroupsClaim string
	// KeepGroups are the groups the portal's policy looks at: the session
	// keeps only these, however many the provider sends.
	KeepGroups []string
	// Authorize, when set, is asked before a session is made and again
	// after every re-check at the provider; an error refuses the sign-in
	// (or ends the session) and is returned as it is.
	Authorize func(User) error

	// Redis, when set, keeps sessions in Redis and the cookie carries only
	// a random id; nil keeps the whole session in the cookie.
	Redis redis.UniversalClient
	// RedisTimeout bounds every Redis call; 0 means one second.
	RedisTimeout time.Duration
	// MaxSessionsPerUser is how many sessions the Redis store keeps for one
	// subject: a sign-in past it ends that subject's oldest session first,
	// so one account cannot fill Redis. 0 means 20. The cookie store keeps
	// nothing on the server and has no cap.
	MaxSessionsPerUser int
	// SignInsPerUser, when set, limits sign-ins per subject (limit.PerUser,
	// or limit.SharedPerUser across instances: QSGATE_SIGNIN_RATE). Finish
	// asks it once the provider vouched for the user and the access policy
	// let them in, before the session is made; a refusal (a
	// *limit.RateError) is returned as it is and makes no session. nil
	// limits nothing.
	SignInsPerUser SignInLimiter
	// Idle ends a session unused this long; 0 means never. Last use is
	// recorded at most once a minute.
	Idle time.Duration
	// Refresh re-checks a session at the provider (refresh token grant)
	// once this long has passed since sign-in or the last re-check; 0 means
	// never.
	Refresh time.Duration
	// RefreshGrace is how long past Refresh a session keeps working while
	// the provider cannot be reached; then requests fail until it answers.
	// 0 means 15 minutes.
	RefreshGrace time.Duration

	// HTTPClient is for the provider; nil means a client with a 15s
	// timeout that keeps providerIdleConns idle connections to it.
	HTTPClient *http.Client
	Logger     *slog.Logger
	// Audit records sign-ins, refused sign-ins, sign-outs and revoked
	// sessions (audit.Logger); nil records nothing.
	Audit Auditor
	Now   func() time.Time // nil means time.Now
}

// Auditor records audit events (audit.Logger). Record never fails: a
// line that cannot be written is the Auditor's to count.
type Auditor interface {
	Record(ctx context.Context, e audit.Event)
}

// record writes e to the audit stream when there is one.
func (a *Auth) record(ctx context.Context, e audit.Event) {
	if a.cfg.Audit != nil {
		a.cfg.Audit.Record(ctx, e)
	}
}

// Auth is the sign-in side of the gateway.
type Auth struct {
	cfg        Config
	log        *slog.Logger
	now        func() time.Time
	secure     bool
	store      SessionStore
	loginCodec []securecookie.Codec
	idp        atomic.Pointer[provider]
	// refreshes makes one re-check per session at a time; recent keeps
	// its outcome a little while for the requests that raced it.
	refreshes singleflight.Group
	recent    *recentRefreshes
}

const (
	loginTTL        = 10 * time.Minute
	providerTimeout = 15 * time.Second
	// providerIdleConns is how many idle connections to the provider are
	// kept for the next sign-ins (token, userinfo, keys).
	providerIdleConns = 64
	// iat may be this far in the future (clock skew between us and the IdP).
	clockSkew           = 2 * time.Minute
	defaultRedisTimeout = time.Second
	defaultRefreshGrace = 15 * time.Minute
)

// ProviderClient is the HTTP client for the provider when Config.HTTPClient
// is nil: a 15s timeout, and providerIdleConns idle connections kept. Go's
// default keeps 2 idle connections per host: with more sign-ins at once,
// each one past the second would close its connection and the next would
// dial (and handshake TLS) again (TestProviderConnectionsReused).
func ProviderClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = providerIdleConns
	return &http.Client{Timeout: providerTimeout, Transport: tr}
}

// New checks the configuration and builds Auth. It makes no network call;
// Discover does.
func New(cfg Config) (*Auth, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = ProviderClient()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.RedisTimeout <= 0 {
		cfg.RedisTimeout = defaultRedisTimeout
	}
	if cfg.RefreshGrace <= 0 {
		cfg.RefreshGrace = defaultRefreshGrace
	}
	if cfg.Idle < 0 || cfg.Refresh < 0 {
		return nil, errors.New("auth: Idle and Refresh must not be negative")
	}
	if isNilClient(cfg.Redis) {
		cfg.Redis = nil
	}
	if cfg.Redis != nil && !boundedByContext(cfg.Redis) {
		return nil, errors.New("auth: make the Redis client with ContextTimeoutEnabled: true, so RedisTimeout bounds every call")
	}
	secure := Secure(cfg.PublicURL)
	a := &Auth{cfg: cfg, log: cfg.Logger, now: cfg.Now, secure: secure, recent: newRecentRefreshes()}
	store, err := newStore(cfg, a.cookieName("qsgate_session"), secure)
	if err != nil {
		return nil, err
	}
	lc, err := codecs(cfg.SessionKeys, "login", loginTTL)
	if err != nil {
		return nil, err
	}
	a.store, a.loginCodec = store, lc
	return a, nil
}

// newStore picks the session store the configuration asks for.
func newStore(cfg Config, cookieName string, secure bool) (SessionStore, error) {
	if cfg.Redis != nil {
		return newRedisStore(cfg, cookieName, secure)
	}
	return newCookieStore(cfg, cookieName, secure)
}

// publicURL joins a local path to the configured public URL: redirects are
// never built from request headers.
// CloseIdleConnections closes the idle connections to the provider, at
// shutdown: the provider need not wait for them to time out.
func (a *Auth) CloseIdleConnections() { a.cfg.HTTPClient.CloseIdleConnections() }

func (a *Auth) publicURL(path string) string {
	return a.cfg.PublicURL.String() + path
}

// LoginURL is where RequireUser sends a signed-out browser.
func (a *Auth) LoginURL(rd string) string {
	if !SafeRedirect(rd) || rd == "/" {
		return a.publicURL("/login")
	}
	return a.publicURL("/login?rd=" + url.QueryEscape(rd))
}

func (a *Auth) cookieName(base string) string { return CookieName(a.cfg.PublicURL, base) }

// Secure reports whether qsgate is served over https at publicURL. It is
// the one place that decides: over https, cookies carry Secure and the
// __Host- prefix (CookieName) and responses carry HSTS.
func Secure(publicURL *url.URL) bool { return publicURL.Scheme == "https" }

// CookieName is the name a cookie of qsgate's takes at publicURL: over
// https, base with the __Host- prefix (the browser then keeps it to this
// host, path / and https); otherwise base.
func CookieName(publicURL *url.URL, base string) string {
	if Secure(publicURL) {
		return "__Host-" + base
	}
	return base
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b)
}
