package telemetry

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/redis/go-redis/extra/redisotel/v9"
	"github.com/redis/go-redis/v9"
	//lint:ignore SA1019 otelaws is the contrib instrumentation of the AWS SDK; the SDK's own tracing needs smithy-go's smithyoteltracing module, which the module proxy here does not serve (docs/tracing.md)
	"go.opentelemetry.io/contrib/instrumentation/github.com/aws/aws-sdk-go-v2/otelaws"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/embedded"
	"go.opentelemetry.io/otel/trace/noop"
)

// noPropagation sends no trace context to AWS or the provider: they do not
// read it, and a header the request did not have is one more thing to
// sign and log on their side.
var noPropagation = propagation.NewCompositeTextMapPropagator()

// AWS traces every call made with cfg: otelaws's span per operation
// (rpc.method such as QuickSight/GetSessionEmbedUrl, aws.region,
// aws.request_id, the HTTP status, the error), with an "attempt" event per
// HTTP attempt saying its number and whether QuickSight throttled it
// (aws.attempts, aws.throttled on the span). Call it after the HTTP client
// is set: the attempts are seen there. otelaws records no request or
// response member of the QuickSight and STS operations, so neither the
// embed URL nor the role's credentials reach a span.
func (t *Tracing) AWS(cfg *aws.Config) {
	if t == nil {
		return
	}
	otelaws.AppendMiddlewares(&cfg.APIOptions, otelaws.WithTracerProvider(recordingOnly{tp: t.tp}), otelaws.WithTextMapPropagator(noPropagation))
	cfg.HTTPClient = attempts{cfg.HTTPClient}
}

// attempts records each HTTP attempt of an AWS call on the call's span.
type attempts struct{ next aws.HTTPClient }

func (a attempts) Do(r *http.Request) (*http.Response, error) {
	span := trace.SpanFromContext(r.Context())
	if !span.IsRecording() {
		return a.next.Do(r)
	}
	if n, ok := r.Context().Value(callsKey{}).(*atomic.Int32); ok {
		n.Add(1)
	}
	attempt := attemptOf(r.Header.Get("Amz-Sdk-Request"))
	resp, err := a.next.Do(r)
	attrs := []attribute.KeyValue{attribute.Int("aws.attempt", attempt)}
	throttled := false
	if err == nil {
		throttled = resp.StatusCode == http.StatusTooManyRequests || resp.Header.Get("X-Amzn-Errortype") == "ThrottlingException"
		attrs = append(attrs, semconv.HTTPResponseStatusCode(resp.StatusCode), attribute.Bool("aws.throttled", throttled))
	} else {
		attrs = append(attrs, semconv.ErrorTypeKey.String("transport"))
	}
	span.AddEvent("attempt", trace.WithAttributes(attrs...))
	span.SetAttributes(attribute.Int("aws.attempts", attempt))
	if throttled {
		span.SetAttributes(attribute.Bool("aws.throttled", true))
	}
	return resp, err
}

// attemptOf reads the attempt number from the SDK's Amz-Sdk-Request
// header ("attempt=2; max=3"); 1 when absent.
func attemptOf(h string) int {
	for part := range strings.SplitSeq(h, ";") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(part), "attempt="); ok {
			if n, err := strconv.Atoi(v); err == nil {
				return n
			}
		}
	}
	return 1
}

// HTTPClient traces c's requests (the OIDC provider's discovery, token
// exchange, userinfo and keys) with otelhttp: one client span each, named
// "oidc METHOD PATH", with url.full (the endpoints' URLs carry no secret:
// the code and the tokens travel in bodies and headers, which otelhttp
// does not record). It changes c in place and returns it.
func (t *Tracing) HTTPClient(c *http.Client) *http.Client {
	if t == nil {
		return c
	}
	base := c.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	c.Transport = otelhttp.NewTransport(base, otelhttp.WithTracerProvider(recordingOnly{tp: t.tp}), otelhttp.WithPropagators(noPropagation),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return "oidc " + r.Method + " " + r.URL.Path }))
	return c
}

// Redis traces c's commands with redisotel: one span per command or
// pipeline, named for the command, without the statement (keys name
// session tickets, values hold sessions) and without the caller's source
// location.
func (t *Tracing) Redis(c *redis.Client) error {
	if t == nil || c == nil {
		return nil
	}
	return redisotel.InstrumentTracing(c, redisotel.WithTracerProvider(recordingOnly{tp: t.tp}), redisotel.WithDBStatement(false), redisotel.WithCallerEnabled(false))
}

// callsKey marks a context whose AWS attempts are counted (Mapping).
type callsKey struct{}

// countCalls returns ctx counting the AWS attempts made under it.
func countCalls(ctx context.Context) (context.Context, *atomic.Int32) {
	n := new(atomic.Int32)
	return context.WithValue(ctx, callsKey{}, n), n
}

// recordingOnly is the provider the instrumentations get: its tracers start
// a span only at the top of a trace or under a span that records. Under a
// span the sampler left out (9 views in 10 at a ratio of 0.1) the child
// would record nothing either (the samplers are parent-based or decide by
// trace id), so it is not made: no span, no context, nothing allocated for
// each AWS call and Redis command of an unsampled view.
type recordingOnly struct {
	embedded.TracerProvider
	tp trace.TracerProvider
}

func (p recordingOnly) Tracer(name string, opts ...trace.TracerOption) trace.Tracer {
	return recordingTracer{t: p.tp.Tracer(name, opts...)}
}

type recordingTracer struct {
	embedded.Tracer
	t trace.Tracer
}

func (t recordingTracer) Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	if parent := trace.SpanFromContext(ctx); parent.SpanContext().IsValid() && !parent.IsRecording() {
		return ctx, noop.Span{}
	}
	return t.t.Start(ctx, name, opts...)
}
