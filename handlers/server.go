// Package handlers is qsgate's HTTP surface: the routes (routes.go), one
// file per page family, and one error handler that turns every error into a
// status and a page in plain words. It holds no state of its own.
package handlers

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"go.opentelemetry.io/otel/trace"

	"github.com/qsgate/qsgate/auth"
	"github.com/qsgate/qsgate/quicksight"
	"github.com/qsgate/qsgate/templates"
)

// Authenticator signs users in and out (auth.Auth).
type Authenticator interface {
	StartLogin(w http.ResponseWriter, r *http.Request, rd string) error
	// Finish returns the local path to go to, or an error wrapping
	// auth.ErrSignIn or auth.ErrProviderUnavailable.
	Finish(w http.ResponseWriter, r *http.Request) (string, error)
	Logout(w http.ResponseWriter, r *http.Request) string
	// Session returns the request's signed-in user after the session's
	// lifetime rules (it may set a cookie, so call it before any body).
	// Errors wrap auth.ErrSignedOut or auth.ErrSessionEnded (sign in
	// again), auth.ErrStoreUnavailable or auth.ErrProviderUnavailable
	// (503), or are the access policy's refusal of renewed claims.
	Session(w http.ResponseWriter, r *http.Request) (auth.User, error)
	// CurrentUser says who is signed in without renewing anything (the
	// callback's check); a session that cannot be checked is signed out.
	CurrentUser(r *http.Request) (auth.User, bool)
	LoginURL(rd string) string
	// LogoutOrigin is where logout redirects to ("" for none): the CSP's
	// form-action must allow it.
	LogoutOrigin() string
	Ready() bool
}

// EmbedURLIssuer asks QuickSight for a fresh embed URL (quicksight.Client).
// Errors wrap quicksight's Err values.
type EmbedURLIssuer interface {
	EmbedURL(ctx context.Context, id quicksight.Identity, t quicksight.Target) (quicksight.Embed, error)
}

// ContentLister lists what a user may open (quicksight.Catalog), waiting
// only as long as ctx allows.
type ContentLister interface {
	For(ctx context.Context, userARN string) ([]quicksight.Item, error)
}

// UserMapper gives the QuickSight identity of a signed-in user (one of
// quicksight's mappers). Errors wrap quicksight.ErrNoMapping or
// quicksight.ErrUserNotFound, or are *quicksight.Error.
type UserMapper interface {
	Identity(ctx context.Context, p quicksight.Person) (quicksight.Identity, error)
}

// AccessPolicy says who may enter and where they belong (access.Policy).
type AccessPolicy interface {
	// Allow returns nil or an error wrapping access.ErrNotAllowed.
	Allow(email string, groups []string) error
	Namespace(email string, groups []string) string
	Role(groups []string) string
}

// ViewLimiter limits how often one user may open QuickSight
// (limit.PerUser). Allow returns nil or a *limit.RateError.
type ViewLimiter interface {
	Allow(key string) error
}

// Admission lets a view start its AWS work when there is room
// (limit.Budget.Enter); the error, when there is none in time, is a
// *limit.RateError (503, busy).
type Admission interface {
	Enter(ctx context.Context) (release func(), err error)
}

// Recorder counts what happens for the metrics (metrics.Metrics).
type Recorder interface {
	Request(route, method string, code int, d time.Duration)
	Login(result string)
	Embed(result string, quicksight time.Duration)
}

// Deps is everything the handlers need.
type Deps struct {
	Auth   Authenticator
	Embeds EmbedURLIssuer
	Mapper UserMapper
	Access AccessPolicy // nil lets every signed-in user in
	Views  ViewLimiter  // nil means no per-user limit
	// SignInsPerAddress limits sign-ins per client address; nil means none.
	SignInsPerAddress SignInLimiter
	Admit             Admission     // nil lets every view start at once
	Catalog           ContentLister // nil means the home page lists nothing
	// ReadersSeeDashboards is true when dashboards open in the Dashboard
	// experience, which QuickSight allows readers.
	ReadersSeeDashboards bool
	// QnA is true when the home page offers Amazon Q's Generative Q&A
	// (QSGATE_QNA; the registered-user API only).
	QnA         bool
	PortalTitle string // the slim bar's name, and the home page's
	// SessionLifetime is the console session's length: the embed page
	// fetches a fresh URL when it ends.
	SessionLifetime time.Duration
	// ViewTimeout bounds a view's AWS work, the mapping and the embed call
	// together (QSGATE_AWS_TIMEOUT); 0 means no bound of its own.
	ViewTimeout    time.Duration
	Pages          *templates.Set
	Logger         *slog.Logger
	PublicURL      *url.URL
	TrustedProxies []*net.IPNet // peers whose X-Forwarded-For is believed
	Draining       func() bool  // true once shutdown began; nil means never
	// ClusterReady reports whether Redis answers; nil means no Redis.
	ClusterReady func(ctx context.Context) error
	Metrics      Recorder // nil means none
	// Audit records the audit stream's events (audit.Logger); nil records
	// nothing.
	Audit Auditor
	// FrameOrigins are the only origins an embed URL may have, the embed
	// page's frame-src (FrameOrigins computes them at start-up); an embed
	// URL elsewhere is refused with a 502. Empty trusts the embed URL's own
	// origin, as tests with a fake QuickSight do.
	FrameOrigins []string
	// Tracing is the tracer provider of the requests' spans; nil means
	// tracing is off (tracing.go).
	Tracing trace.TracerProvider
}

// NewServer builds the Echo application with its middleware and routes.
func NewServer(d Deps) *echo.Echo {
	if d.PortalTitle == "" {
		d.PortalTitle = "QuickSight portal"
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.Logger.SetOutput(discard{}) // everything is logged through d.Logger
	e.IPExtractor = ipExtractor(d.TrustedProxies)
	e.HTTPErrorHandler = errorHandler(d)

	if d.Tracing != nil {
		e.Use(traceRequests(d.Tracing, d.TrustedProxies)) // first: the span holds the rest, and the log lines know it
	}
	e.Use(
		trustedRequestID(d.TrustedProxies),
		middleware.RequestID(),
	)
	if d.Audit != nil {
		e.Use(auditRequest)
	}
	e.Use(
		requestLog(d.Logger, d.Metrics),
		middleware.RecoverWithConfig(middleware.RecoverConfig{
			LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
				d.Logger.ErrorContext(c.Request().Context(), "panic", "err", err, "path", c.Request().URL.Path, "stack", string(stack))
				return err
			},
		}),
		middleware.BodyLimit("64K"),
		securityHeaders(d),
		onlyGetHeadPost, // after the headers and the log, so refusals get both
	)
	routes(e, d)
	return e
}

// onlyGetHeadPost refuses every other method: qsgate serves no CORS, so
// OPTIONS (which Echo's router would answer 204) is a 405 too.
func onlyGetHeadPost(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		switch c.Request().Method {
		case http.MethodGet, http.MethodHead, http.MethodPost:
			return next(c)
		}
		return echo.ErrMethodNotAllowed
	}
}

// requestIDRE is what an X-Request-Id from a proxy must look like to be
// kept: it is echoed in a header and written to every log line.
var requestIDRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// trustedRequestID drops the client's X-Request-Id unless the peer is one
// of the trusted proxies and the id is plain; the RequestID middleware then
// makes a fresh one.
func trustedRequestID(trusted []*net.IPNet) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			if id := r.Header.Get(echo.HeaderXRequestID); id != "" && !(requestIDRE.MatchString(id) && fromProxy(r, trusted)) {
				r.Header.Del(echo.HeaderXRequestID)
			}
			return next(c)
		}
	}
}

// fromProxy reports whether the direct peer is a trusted proxy.
func fromProxy(r *http.Request, trusted []*net.IPNet) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	ip := net.ParseIP(host)
	if err != nil || ip == nil {
		return false
	}
	for _, n := range trusted {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}

// ipExtractor believes X-Forwarded-For only from the configured proxies.
func ipExtractor(trusted []*net.IPNet) echo.IPExtractor {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, n := range trusted {
		opts = append(opts, echo.TrustIPRange(n))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}

// requestLog logs one line per request: the path only, never the query
// (the callback's query holds the authorization code). It also feeds the
// request metrics, labelled by route template.
func requestLog(log *slog.Logger, rec Recorder) echo.MiddlewareFunc {
	return middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
		LogMethod: true, LogURIPath: true, LogRoutePath: true, LogStatus: true, LogLatency: true,
		LogRemoteIP: true, LogRequestID: true, HandleError: true,
		LogValuesFunc: func(c echo.Context, v middleware.RequestLoggerValues) error {
			if rec != nil {
				rec.Request(v.RoutePath, v.Method, v.Status, v.Latency)
			}
			log.LogAttrs(c.Request().Context(), slog.LevelInfo, "request", slog.String("method", v.Method),
				slog.String("path", v.URIPath), slog.Int("status", v.Status), slog.Int64("duration_ms", v.Latency.Milliseconds()),
				slog.String("client_ip", v.RemoteIP), slog.String("request_id", v.RequestID))
			return nil
		},
	})
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
