package telemetry

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/qsgate/qsgate/internal/devkit/otlprecv"
)

// Without OTEL_TRACES_EXPORTER, or with "none", there is no provider, the
// logger is the one given, and qsgate's spans allocate nothing.
func TestOffByDefault(t *testing.T) {
	for _, exp := range []string{"", "none"} {
		t.Setenv("OTEL_TRACES_EXPORTER", exp)
		tr, err := New(context.Background(), slog.New(slog.DiscardHandler))
		if err != nil || tr != nil {
			t.Fatalf("OTEL_TRACES_EXPORTER=%q: New = %v, %v; want nil, nil", exp, tr, err)
		}
		if tr.Provider() != nil {
			t.Errorf("OTEL_TRACES_EXPORTER=%q: a provider", exp)
		}
		log := slog.New(slog.DiscardHandler)
		if tr.Logger(log) != log {
			t.Errorf("OTEL_TRACES_EXPORTER=%q: the logger was wrapped", exp)
		}
	}
	ctx := context.Background()
	allocs := testing.AllocsPerRun(100, func() {
		c, span := Start(ctx, "x")
		End(span, nil)
		_, mapped := Mapping(c)
		mapped(nil)
		_ = TraceID(c)
	})
	if allocs != 0 {
		t.Errorf("spans with tracing off: %v allocations, want 0", allocs)
	}
}

// The exporter, its protocol and endpoint, the sampler and the resource
// come from the standard variables, read by the SDK: spans reach an OTLP
// receiver over HTTP and over gRPC, with the service name and resource
// attributes the environment gives.
func TestExportFromTheEnvironment(t *testing.T) {
	recv, err := otlprecv.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(recv.Close)
	for _, proto := range []string{"http/protobuf", "grpc"} {
		t.Run(proto, func(t *testing.T) {
			endpoint := recv.HTTPEndpoint()
			if proto == "grpc" {
				endpoint = recv.GRPCEndpoint()
			}
			t.Setenv("OTEL_TRACES_EXPORTER", "otlp")
			t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", proto)
			t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
			t.Setenv("OTEL_EXPORTER_OTLP_INSECURE", "true")
			t.Setenv("OTEL_SERVICE_NAME", "qsgate-"+proto)
			t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment.name=test")
			t.Setenv("OTEL_TRACES_SAMPLER", "always_on")
			tr, err := New(context.Background(), slog.New(slog.DiscardHandler))
			if err != nil || tr == nil {
				t.Fatalf("New = %v, %v", tr, err)
			}
			ctx, root := tr.Provider().Tracer("test").Start(context.Background(), "root-"+proto)
			_, child := Start(ctx, "child-"+proto)
			End(child, nil)
			root.End()
			sctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := tr.Shutdown(sctx); err != nil {
				t.Fatalf("Shutdown: %v", err)
			}
			spans, ok := recv.Wait(sctx, func(s []otlprecv.Span) bool {
				return len(otlprecv.Trace(s, root.SpanContext().TraceID().String())) == 2
			})
			if !ok {
				t.Fatalf("the receiver did not get both spans: %+v", spans)
			}
			for _, s := range otlprecv.Trace(spans, root.SpanContext().TraceID().String()) {
				if got := s.Resource["service.name"]; got != "qsgate-"+proto {
					t.Errorf("%s: service.name = %q", s.Name, got)
				}
				if got := s.Resource["deployment.environment.name"]; got != "test" {
					t.Errorf("%s: deployment.environment.name = %q", s.Name, got)
				}
				if s.Name == "child-"+proto && s.ParentID != root.SpanContext().SpanID().String() {
					t.Errorf("the child's parent = %s, want %s", s.ParentID, root.SpanContext().SpanID())
				}
			}
		})
	}
}

// OTEL_TRACES_SAMPLER is the SDK's: a ratio of 0 records
// nothing, and Start under a span the sampler left out records nothing.
func TestDefaultsAndSampler(t *testing.T) {
	t.Setenv("OTEL_TRACES_EXPORTER", "console")
	t.Setenv("OTEL_SERVICE_NAME", "")
	t.Setenv("OTEL_TRACES_SAMPLER", "traceidratio")
	t.Setenv("OTEL_TRACES_SAMPLER_ARG", "0")
	tr, err := New(context.Background(), slog.New(slog.DiscardHandler))
	if err != nil || tr == nil {
		t.Fatalf("New = %v, %v", tr, err)
	}
	defer tr.Shutdown(context.Background())
	ctx, root := tr.Provider().Tracer("test").Start(context.Background(), "root")
	if root.IsRecording() {
		t.Fatal("sampled at ratio 0")
	}
	if _, child := Start(ctx, "child"); child.IsRecording() {
		t.Error("a child of an unsampled span records")
	}
	if TraceID(ctx) == "" {
		t.Error("no trace id under an unsampled span: the logs and pages would lose it")
	}
}

// Log lines made with a span's context carry its trace and span ids.
func TestLogLinesCarryTheTraceID(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(LogHandler(slog.NewTextHandler(&buf, nil))).With("k", "v")
	sc := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{1, 2, 3}, SpanID: trace.SpanID{4, 5}, TraceFlags: trace.FlagsSampled,
	})
	log.InfoContext(trace.ContextWithSpanContext(context.Background(), sc), "with")
	log.Info("without")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines:\n%s", len(lines), buf.String())
	}
	if !strings.Contains(lines[0], "trace_id="+sc.TraceID().String()) || !strings.Contains(lines[0], "span_id="+sc.SpanID().String()) {
		t.Errorf("line with a span: %s", lines[0])
	}
	if strings.Contains(lines[1], "trace_id") {
		t.Errorf("line without a span: %s", lines[1])
	}
}

func TestAttemptOf(t *testing.T) {
	for h, want := range map[string]int{"attempt=1; max=3": 1, "attempt=3; max=3": 3, "": 1, "ttl=x; attempt=2; max=3": 2, "attempt=x": 1} {
		if got := attemptOf(h); got != want {
			t.Errorf("attemptOf(%q) = %d, want %d", h, got, want)
		}
	}
}
