package handlers

import (
	"net"
	"strings"

	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/qsgate/qsgate/telemetry"
)

// maxSpanPath bounds the url.path a request span carries, as the logs
// bound their values.
const maxSpanPath = 512

// traceRequests starts each request's server span, named for its route
// ("GET /embed/dashboards/:id"). A W3C traceparent is continued only from
// a trusted proxy (QSGATE_TRUSTED_PROXIES), as X-Request-Id and
// X-Forwarded-For are believed; from anyone else the request starts a new
// trace. The span holds the method, the route, the path (never the query:
// the callback's holds the authorization code), the status, the client
// address and the request id; nothing of the headers or the cookies.
// The health probes get no span.
func traceRequests(tp trace.TracerProvider, trusted []*net.IPNet) echo.MiddlewareFunc {
	tracer := tp.Tracer(telemetry.Scope)
	var tc propagation.TraceContext
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if p := c.Path(); p == "/healthz" || p == "/readyz" {
				return next(c) // the balancers' probes, every few seconds: no trace
			}
			r := c.Request()
			ctx := r.Context()
			if fromProxy(r, trusted) {
				ctx = tc.Extract(ctx, propagation.HeaderCarrier(r.Header))
			}
			name := r.Method
			if route := c.Path(); route != "" {
				name += " " + route
			}
			ctx, span := tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindServer))
			defer span.End()
			c.SetRequest(r.WithContext(ctx)) // sampled or not: the trace id goes in the logs
			err := next(c)
			if !span.IsRecording() {
				return err // attributes are for spans the sampler kept
			}
			status, path := c.Response().Status, r.URL.Path
			if len(path) > maxSpanPath {
				path = strings.ToValidUTF8(path[:maxSpanPath], "") + "..."
			}
			span.SetAttributes(semconv.HTTPRequestMethodKey.String(r.Method), semconv.HTTPRoute(c.Path()), semconv.URLPath(path),
				semconv.ClientAddress(c.RealIP()), semconv.HTTPResponseStatusCode(status),
				attribute.String("qsgate.request_id", c.Response().Header().Get(echo.HeaderXRequestID)))
			if status >= 500 {
				span.SetStatus(codes.Error, "")
			}
			return err
		}
	}
}
