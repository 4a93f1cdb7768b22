// Package telemetry is qsgate's tracing: the OpenTelemetry SDK built from
// the standard OTEL_* variables, the contrib instrumentations attached to
// the AWS SDK, the provider's HTTP client and Redis, the trace id in log
// lines, and Start for qsgate's own few spans (the mapping, the admission
// wait).
//
// Tracing is off unless OTEL_TRACES_EXPORTER names an exporter: then New
// returns nil, every method of a nil *Tracing installs nothing, and Start
// and Mapping allocate nothing. qsgate parses no OTEL_* variable beyond
// that switch: the SDK's own configuration code reads the exporter, the
// endpoint, the protocol, the sampler and the resource. It does not trace
// requests itself (handlers does, with Provider) and it never records a
// token, cookie, code or embed URL: nothing here sees one, and the
// instrumentations are set up not to record statements or propagate
// headers (docs/tracing.md).
package telemetry

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"strings"

	"go.opentelemetry.io/contrib/exporters/autoexport"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// Scope is the instrumentation scope of qsgate's own spans.
const Scope = "github.com/qsgate/qsgate"

// Tracing is the gateway's tracer provider; a nil *Tracing is tracing off.
type Tracing struct {
	tp *sdktrace.TracerProvider
}

// Enabled reports whether OTEL_TRACES_EXPORTER turns tracing on: set, and
// not "none" (OTEL_SDK_DISABLED=true turns it off too).
func Enabled() bool {
	exp := strings.TrimSpace(os.Getenv("OTEL_TRACES_EXPORTER"))
	return exp != "" && exp != "none" && !strings.EqualFold(os.Getenv("OTEL_SDK_DISABLED"), "true")
}

// maxAttribute bounds a span attribute's value, in characters, as the logs
// bound theirs.
const maxAttribute = 1024

// New builds the tracer provider from the process environment, or returns
// nil when tracing is off. The exporter (autoexport: otlp over
// http/protobuf or grpc, console), its endpoint, the sampler
// (OTEL_TRACES_SAMPLER, parent-based always-on by default), the batch
// processor and the resource (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES;
// service.name is qsgate when neither names one) are the SDK's. Export
// failures go to log. New makes no network call.
func New(ctx context.Context, log *slog.Logger) (*Tracing, error) {
	if !Enabled() {
		return nil, nil
	}
	exp, err := autoexport.NewSpanExporter(ctx)
	if err != nil {
		return nil, err
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(semconv.ServiceName("qsgate")),
		resource.WithTelemetrySDK(),
		resource.WithFromEnv(), // last: the environment's names win
	)
	if err != nil && !errors.Is(err, resource.ErrPartialResource) {
		return nil, err
	}
	// The handler is process-wide in the SDK; the last gateway built wins.
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		log.Warn("tracing: export failed", "err", err)
	}))
	// No attribute value longer than maxAttribute unless
	// OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT says otherwise: a span's values
	// come partly from clients.
	limits := sdktrace.NewSpanLimits()
	if limits.AttributeValueLengthLimit < 0 {
		limits.AttributeValueLengthLimit = maxAttribute
	}
	return &Tracing{tp: sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res),
		sdktrace.WithRawSpanLimits(limits))}, nil
}

// Provider is the tracer provider, nil when tracing is off.
func (t *Tracing) Provider() trace.TracerProvider {
	if t == nil {
		return nil
	}
	return t.tp
}

// Shutdown sends the spans still held and stops the exporter, within ctx.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if t == nil {
		return nil
	}
	return t.tp.Shutdown(ctx)
}

// Logger is log with the trace and span ids added to every line logged
// with a context that holds a span (handlers log with the request's);
// without tracing it is log itself.
func (t *Tracing) Logger(log *slog.Logger) *slog.Logger {
	if t == nil {
		return log
	}
	return slog.New(LogHandler(log.Handler()))
}

// LogHandler is h adding trace_id and span_id to the records whose
// context holds a valid span context.
func LogHandler(h slog.Handler) slog.Handler { return logHandler{h} }

type logHandler struct{ slog.Handler }

func (h logHandler) Handle(ctx context.Context, r slog.Record) error {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	return h.Handler.Handle(ctx, r)
}

func (h logHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return logHandler{h.Handler.WithAttrs(as)}
}
func (h logHandler) WithGroup(name string) slog.Handler { return logHandler{h.Handler.WithGroup(name)} }
