package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/qsgate/qsgate/auth"
	"github.com/qsgate/qsgate/quicksight"
	"github.com/qsgate/qsgate/telemetry"
	"github.com/qsgate/qsgate/templates"
)

// tracedServer is newTestServer with tracing on, its spans recorded, and
// proxies trusted; its log lines go to logs.
func tracedServer(t *testing.T, proxies []*net.IPNet, logs *bytes.Buffer) (http.Handler, *tracetest.SpanRecorder) {
	t.Helper()
	pages, err := templates.Parse()
	if err != nil {
		t.Fatal(err)
	}
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	u, _ := url.Parse("https://portal.example.com")
	return NewServer(Deps{
		Auth:           fakeAuth{auth.User{Subject: "s", Email: "a@example.com"}},
		Embeds:         fixedEmbed{"https://us-east-1.quicksight.aws.amazon.com/embed/x?code=secret"},
		Mapper:         quicksight.NewTemplateMapper(quicksight.DefaultARNTemplate, "123456789012", "default", "us-east-1"),
		Pages:          pages,
		Logger:         slog.New(telemetry.LogHandler(slog.NewTextHandler(logs, nil))),
		PublicURL:      u,
		TrustedProxies: proxies,
		Tracing:        tp,
	}), rec
}

// A traceparent is continued only from a trusted proxy: from anyone else
// the request starts a trace of its own.
func TestTraceparentOnlyFromTrustedProxies(t *testing.T) {
	const parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	_, proxies, _ := net.ParseCIDR("10.0.0.0/8")
	cases := []struct {
		name, peer string
		continued  bool
	}{
		{"trusted proxy", "10.1.2.3:5000", true},
		{"anyone else", "192.0.2.7:5000", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h, rec := tracedServer(t, []*net.IPNet{proxies}, &bytes.Buffer{})
			req := httptest.NewRequest(http.MethodGet, "/signed-out", nil)
			req.RemoteAddr = tc.peer
			req.Header.Set("Traceparent", parent)
			h.ServeHTTP(httptest.NewRecorder(), req)
			spans := rec.Ended()
			if len(spans) != 1 {
				t.Fatalf("%d spans, want 1", len(spans))
			}
			s := spans[0]
			if got := s.Name(); got != "GET /signed-out" {
				t.Errorf("span name = %q, want %q", got, "GET /signed-out")
			}
			continued := s.SpanContext().TraceID().String() == "0af7651916cd43dd8448eb211c80319c" &&
				s.Parent().SpanID().String() == "b7ad6b7169203331"
			if continued != tc.continued {
				t.Errorf("trace continued = %v, want %v (trace %s, parent %s)", continued, tc.continued, s.SpanContext().TraceID(), s.Parent().SpanID())
			}
			if !tc.continued && s.Parent().IsValid() {
				t.Errorf("a request from an untrusted peer has a parent: %s", s.Parent().SpanID())
			}
		})
	}
}

// An error page shows the trace id beside the request id, and the log
// line of the refusal carries it; the request span records the status but
// never the query (the callback's holds the code).
func TestErrorPageAndLogsCarryTheTraceID(t *testing.T) {
	var logs bytes.Buffer
	h, rec := tracedServer(t, nil, &logs)
	req := httptest.NewRequest(http.MethodGet, "/embed/dashboards/..%2fx?code=abc", nil)
	req.Header.Set("Accept", "text/html")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusBadRequest {
		t.Fatalf("status = %d, want 400", w.Code)
	}
	spans := rec.Ended()
	var root sdktrace.ReadOnlySpan
	for _, s := range spans {
		if !s.Parent().IsValid() {
			root = s
		}
	}
	if root == nil {
		t.Fatalf("no request span among %d", len(spans))
	}
	id := root.SpanContext().TraceID().String()
	if !strings.Contains(w.Body.String(), "trace <code>"+id+"</code>") {
		t.Errorf("the error page does not show trace %s:\n%s", id, w.Body.String())
	}
	if !strings.Contains(logs.String(), "msg=\"request refused\"") || !strings.Contains(logs.String(), "trace_id="+id) {
		t.Errorf("the refusal's log line lacks trace_id=%s:\n%s", id, logs.String())
	}
	attrs := map[string]string{}
	for _, a := range root.Attributes() {
		attrs[string(a.Key)] = a.Value.String()
	}
	if got := attrs["http.response.status_code"]; got != "400" {
		t.Errorf("http.response.status_code = %q, want 400", got)
	}
	if got := attrs["http.route"]; got != "/embed/dashboards/:id" {
		t.Errorf("http.route = %q", got)
	}
	for k, v := range attrs {
		if strings.Contains(v, "abc") {
			t.Errorf("attribute %s holds the query: %q", k, v)
		}
	}
}

// The JSON errors of /api/ carry the trace id beside the request id.
func TestJSONErrorsCarryTheTraceID(t *testing.T) {
	h, rec := tracedServer(t, nil, &bytes.Buffer{})
	req := httptest.NewRequest(http.MethodGet, "/api/embed-url?entry-point=/start", nil)
	req.Header.Set("Accept", "application/json")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	var body map[string]string
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || w.Code < 400 {
		t.Fatalf("status %d, body %q: %v", w.Code, w.Body.String(), err)
	}
	spans := rec.Ended()
	if len(spans) != 1 {
		t.Fatalf("%d spans, want 1", len(spans))
	}
	if got, want := body["trace_id"], spans[0].SpanContext().TraceID().String(); got != want || body["request_id"] == "" {
		t.Errorf("trace_id = %q, want %q (request_id %q)", got, want, body["request_id"])
	}
}

// The health probes make no spans: a balancer polls them every few seconds.
func TestHealthProbesAreNotTraced(t *testing.T) {
	h, rec := tracedServer(t, nil, &bytes.Buffer{})
	for _, p := range []string{"/healthz", "/readyz"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, p, nil))
	}
	if n := len(rec.Ended()); n != 0 {
		t.Errorf("%d spans for the probes, want 0", n)
	}
}

// A made-up method (any token up to the header limit) is "_OTHER" in the
// span's name and attribute, and a path that is not UTF-8 is made valid:
// an OTLP exporter refuses a whole batch for one invalid string.
func TestSpanNamesAndPathsBounded(t *testing.T) {
	h, rec := tracedServer(t, nil, &bytes.Buffer{})
	huge := strings.Repeat("X", 60<<10)
	for _, r := range []*http.Request{
		httptest.NewRequest(huge, "/signed-out", nil),
		httptest.NewRequest(http.MethodGet, "/%ff"+strings.Repeat("é", 400), nil),
	} {
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	for _, s := range rec.Ended() {
		if len(s.Name()) > 100 {
			t.Errorf("span name of %d bytes", len(s.Name()))
		}
		for _, a := range s.Attributes() {
			v := a.Value.Emit()
			if !utf8.ValidString(v) || len(v) > maxSpanPath+3 {
				t.Errorf("attribute %s: %d bytes, valid UTF-8 %v", a.Key, len(v), utf8.ValidString(v))
			}
			if a.Key == "http.request.method" && v != "GET" && v != "_OTHER" {
				t.Errorf("method attribute %q", v)
			}
		}
	}
	if n := len(rec.Ended()); n != 2 {
		t.Errorf("%d spans, want 2", n)
	}
}
