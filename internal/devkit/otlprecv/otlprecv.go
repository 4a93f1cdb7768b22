// Package otlprecv is an OpenTelemetry trace receiver for tests and the
// docs: OTLP over HTTP (POST /v1/traces, protobuf, gzip or not) and over
// gRPC (the TraceService), on loopback, built on the OTLP protobuf types
// (go.opentelemetry.io/proto/otlp). It keeps every span it receives and
// renders a trace as an indented text tree. It checks nothing for the
// caller and is not a collector: no processing, no forwarding.
package otlprecv

import (
	"cmp"
	"compress/gzip"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	collectorpb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
)

// Span is one received span, its ids in hex and every attribute as text.
type Span struct {
	Name, TraceID, SpanID, ParentID string
	Kind                            string // server, client, internal...
	Scope                           string // the instrumentation scope's name
	Start, End                      time.Time
	Attrs                           map[string]string
	Events                          []Event
	Status                          string // "", "ok" or "error: description"
	Resource                        map[string]string
}

// Event is a span event.
type Event struct {
	Name  string
	Attrs map[string]string
}

// Receiver is a running receiver.
type Receiver struct {
	http     *http.Server
	grpc     *grpc.Server
	httpAddr string
	grpcAddr string

	mu      sync.Mutex
	spans   []Span
	changed chan struct{} // closed and replaced when spans arrive
}

// Start listens on two free loopback ports, one for OTLP/HTTP, one for
// OTLP/gRPC.
func Start() (*Receiver, error) {
	hl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	gl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		hl.Close()
		return nil, err
	}
	r := &Receiver{httpAddr: hl.Addr().String(), grpcAddr: gl.Addr().String(), changed: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/traces", r.serveHTTP)
	r.http = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	r.grpc = grpc.NewServer()
	collectorpb.RegisterTraceServiceServer(r.grpc, traceService{r: r})
	go func() { _ = r.http.Serve(hl) }() // ends at Close
	go func() { _ = r.grpc.Serve(gl) }() // ends at Close
	return r, nil
}

// HTTPEndpoint is the OTEL_EXPORTER_OTLP_ENDPOINT for http/protobuf.
func (r *Receiver) HTTPEndpoint() string { return "http://" + r.httpAddr }

// GRPCEndpoint is the OTEL_EXPORTER_OTLP_ENDPOINT for grpc (plain text).
func (r *Receiver) GRPCEndpoint() string { return "http://" + r.grpcAddr }

// Close stops both listeners.
func (r *Receiver) Close() {
	r.grpc.Stop()
	_ = r.http.Close() // nothing to drain in a test
}

func (r *Receiver) serveHTTP(w http.ResponseWriter, req *http.Request) {
	var body io.Reader = http.MaxBytesReader(w, req.Body, 64<<20)
	if req.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = zr
	}
	b, err := io.ReadAll(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var in collectorpb.ExportTraceServiceRequest
	if err := proto.Unmarshal(b, &in); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.add(&in)
	out, _ := proto.Marshal(&collectorpb.ExportTraceServiceResponse{}) // an empty message marshals
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
}

type traceService struct {
	collectorpb.UnimplementedTraceServiceServer
	r *Receiver
}

func (s traceService) Export(_ context.Context, in *collectorpb.ExportTraceServiceRequest) (*collectorpb.ExportTraceServiceResponse, error) {
	s.r.add(in)
	return &collectorpb.ExportTraceServiceResponse{}, nil
}

func (r *Receiver) add(in *collectorpb.ExportTraceServiceRequest) {
	var got []Span
	for _, rs := range in.GetResourceSpans() {
		res := attrs(rs.GetResource().GetAttributes())
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				sp := Span{
					Name: s.GetName(), TraceID: hex.EncodeToString(s.GetTraceId()), SpanID: hex.EncodeToString(s.GetSpanId()),
					ParentID: hex.EncodeToString(s.GetParentSpanId()),
					Kind:     strings.ToLower(strings.TrimPrefix(s.GetKind().String(), "SPAN_KIND_")),
					Scope:    ss.GetScope().GetName(),
					Start:    time.Unix(0, int64(s.GetStartTimeUnixNano())), End: time.Unix(0, int64(s.GetEndTimeUnixNano())),
					Attrs: attrs(s.GetAttributes()), Resource: res,
				}
				for _, e := range s.GetEvents() {
					sp.Events = append(sp.Events, Event{Name: e.GetName(), Attrs: attrs(e.GetAttributes())})
				}
				switch s.GetStatus().GetCode() {
				case tracepb.Status_STATUS_CODE_OK:
					sp.Status = "ok"
				case tracepb.Status_STATUS_CODE_ERROR:
					sp.Status = "error: " + s.GetStatus().GetMessage()
				}
				got = append(got, sp)
			}
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.spans = append(r.spans, got...)
	close(r.changed)
	r.changed = make(chan struct{})
}

func attrs(kvs []*commonpb.KeyValue) map[string]string {
	m := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		m[kv.GetKey()] = value(kv.GetValue())
	}
	return m
}

func value(v *commonpb.AnyValue) string {
	switch x := v.GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		return x.StringValue
	case *commonpb.AnyValue_BoolValue:
		return strconv.FormatBool(x.BoolValue)
	case *commonpb.AnyValue_IntValue:
		return strconv.FormatInt(x.IntValue, 10)
	case *commonpb.AnyValue_DoubleValue:
		return strconv.FormatFloat(x.DoubleValue, 'g', -1, 64)
	case *commonpb.AnyValue_BytesValue:
		return hex.EncodeToString(x.BytesValue)
	case *commonpb.AnyValue_ArrayValue:
		var parts []string
		for _, e := range x.ArrayValue.GetValues() {
			parts = append(parts, value(e))
		}
		return "[" + strings.Join(parts, ",") + "]"
	case *commonpb.AnyValue_KvlistValue:
		var parts []string
		for _, kv := range x.KvlistValue.GetValues() {
			parts = append(parts, kv.GetKey()+"="+value(kv.GetValue()))
		}
		return "{" + strings.Join(parts, ",") + "}"
	}
	return ""
}

// Spans is every span received so far.
func (r *Receiver) Spans() []Span {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.spans)
}

// Wait returns the spans received once ok says they are enough, or the
// spans so far and false when ctx ends first.
func (r *Receiver) Wait(ctx context.Context, ok func([]Span) bool) ([]Span, bool) {
	for {
		r.mu.Lock()
		spans, changed := slices.Clone(r.spans), r.changed
		r.mu.Unlock()
		if ok(spans) {
			return spans, true
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return spans, false
		}
	}
}

// Trace is the spans of one trace.
func Trace(spans []Span, traceID string) []Span {
	var out []Span
	for _, s := range spans {
		if s.TraceID == traceID {
			out = append(out, s)
		}
	}
	return out
}

// Render draws the spans of one trace as a tree: each span under its
// parent, in start order, with its duration, kind and attributes (sorted;
// keys in skip left out), its events and its status. A span whose parent
// is not among them is drawn at the top.
func Render(spans []Span, skip ...string) string {
	byParent := map[string][]Span{}
	ids := map[string]bool{}
	for _, s := range spans {
		ids[s.SpanID] = true
	}
	var roots []Span
	for _, s := range spans {
		if s.ParentID == "" || !ids[s.ParentID] {
			roots = append(roots, s)
			continue
		}
		byParent[s.ParentID] = append(byParent[s.ParentID], s)
	}
	var b strings.Builder
	var draw func(s Span, depth int)
	draw = func(s Span, depth int) {
		pad := strings.Repeat("  ", depth)
		fmt.Fprintf(&b, "%s%s  [%s, %s]", pad, s.Name, s.Kind, s.End.Sub(s.Start).Round(10*time.Microsecond))
		if s.Status != "" {
			fmt.Fprintf(&b, "  %s", s.Status)
		}
		b.WriteString("\n")
		for _, k := range sortedKeys(s.Attrs) {
			if !slices.Contains(skip, k) {
				fmt.Fprintf(&b, "%s    %s=%s\n", pad, k, s.Attrs[k])
			}
		}
		for _, e := range s.Events {
			fmt.Fprintf(&b, "%s    event %s", pad, e.Name)
			for _, k := range sortedKeys(e.Attrs) {
				fmt.Fprintf(&b, " %s=%s", k, e.Attrs[k])
			}
			b.WriteString("\n")
		}
		kids := byParent[s.SpanID]
		sort.SliceStable(kids, func(i, j int) bool { return kids[i].Start.Before(kids[j].Start) })
		for _, k := range kids {
			draw(k, depth+1)
		}
	}
	slices.SortStableFunc(roots, func(a, b Span) int { return cmp.Compare(a.Start.UnixNano(), b.Start.UnixNano()) })
	for _, r := range roots {
		draw(r, 0)
	}
	return b.String()
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
