package handlers

import (
	"net"
	"net/http"
	"strings"
	"unicode/utf8"

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
			method := spanMethod(r.Method)
			name := method
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
			status, path := c.Response().Status, spanPath(r.URL.Path)
			span.SetAttributes(semconv.HTTPRequestMethodKey.String(method), semconv.HTTPRoute(c.Path()), semconv.URLPath(path),
				semconv.ClientAddress(c.RealIP()), semconv.HTTPResponseStatusCode(status),
				attribute.String("qsgate.request_id", c.Response().Header().Get(echo.HeaderXRequestID)))
			if status >= 500 {
				span.SetStatus(codes.Error, "")
			}
			return err
		}
	}
}

// spanMethod is method when it is one of HTTP's, else "_OTHER" (the
// OpenTelemetry convention): a client may send any token as a method, up
// to the header limit, and each would be a new span name.
func spanMethod(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace:
		return method
	}
	return "_OTHER"
}

// spanPath is path as valid UTF-8 (an OTLP exporter refuses a whole batch
// for one invalid string), cut to maxSpanPath bytes.
func spanPath(path string) string {
	path = strings.ToValidUTF8(path, "\uFFFD")
	if len(path) <= maxSpanPath {
		return path
	}
	cut := maxSpanPath
	for cut > 0 && !utf8.RuneStart(path[cut]) {
		cut--
	}
	return path[:cut] + "..."
}
