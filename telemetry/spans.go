package telemetry

import (
	"context"
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Start starts a span of qsgate's own under ctx's span, with the same
// provider. Under no span, or one not recording (tracing off, or a trace
// the sampler left out), it returns ctx and a span that records nothing,
// allocating nothing: a view without tracing costs what it did before.
func Start(ctx context.Context, name string, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	parent := trace.SpanFromContext(ctx)
	if !parent.IsRecording() {
		return ctx, noop.Span{}
	}
	return parent.TracerProvider().Tracer(Scope).Start(ctx, name, trace.WithAttributes(attrs...))
}

// End ends span, marking it failed when err is not nil. The error's text
// is qsgate's own (mapping, admission): it holds no secret.
func End(span trace.Span, err error) {
	if err != nil && span.IsRecording() {
		span.SetStatus(codes.Error, bounded(err.Error()))
	}
	span.End()
}

// Mapping starts the span of a view's user mapping, qsgate.map_user;
// mapped ends it with qsgate.cache: "hit" when the mapper answered without
// an AWS call (its own cache, the shared cache in Redis, or a lookup
// another view made at the same moment), "miss" when it called AWS (the
// calls are the span's children).
func Mapping(ctx context.Context) (_ context.Context, mapped func(error)) {
	ctx, span := Start(ctx, "qsgate.map_user")
	if !span.IsRecording() {
		return ctx, noMapping
	}
	ctx, calls := countCalls(ctx)
	return ctx, func(err error) {
		cache := "hit"
		if calls.Load() > 0 {
			cache = "miss"
		}
		span.SetAttributes(attribute.String("qsgate.cache", cache), attribute.Int("qsgate.aws_attempts", int(calls.Load())))
		End(span, err)
	}
}

func noMapping(error) {}

// TraceID is the trace id of ctx's span, "" when there is none (tracing
// off): the error pages show it beside the request id.
func TraceID(ctx context.Context) string {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return ""
	}
	return sc.TraceID().String()
}

// maxStatus bounds a span's status description, as the logs bound values.
const maxStatus = 256

func bounded(s string) string {
	if len(s) <= maxStatus {
		return s
	}
	cut := maxStatus
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}
