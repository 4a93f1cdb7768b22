package audit

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.opentelemetry.io/otel/trace"
)

// schema is docs/audit.schema.json, compiled with its formats asserted.
func schema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	sch, err := c.Compile(filepath.Join("..", "docs", "audit.schema.json"))
	if err != nil {
		t.Fatalf("compile docs/audit.schema.json: %v", err)
	}
	return sch
}

// lines validates every line of out against sch and returns them decoded.
func lines(t *testing.T, sch *jsonschema.Schema, out string) []map[string]any {
	t.Helper()
	var got []map[string]any
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(sc.Bytes()))
		if err != nil {
			t.Fatalf("line is not JSON: %v\n%s", err, sc.Text())
		}
		if err := sch.Validate(inst); err != nil {
			t.Fatalf("line does not match docs/audit.schema.json: %v\n%s", err, sc.Text())
		}
		got = append(got, inst.(map[string]any))
	}
	return got
}

var clock = func() time.Time { return time.Date(2026, 12, 8, 9, 30, 0, 123456789, time.FixedZone("CET", 3600)) }

// samples is one event of each kind, as the emitters fill them.
var samples = []Event{
	{Event: SignIn, Subject: "sub-alice", Email: "alice@example.com"},
	{Event: SignInRefused, Reason: ReasonStateInvalid},
	{Event: SignInRefused, Reason: ReasonNotAllowed, Subject: "sub-eve", Email: "eve@partner.example"},
	{Event: AccessRefused, Reason: ReasonNotAllowed, Subject: "sub-eve", Path: "/embed/start"},
	{Event: AccessRefused, Reason: ReasonNotAuthor, Subject: "sub-rita", Email: "rita@example.com", EntryPoint: "/start"},
	{Event: UserRegistered, Email: "nora@example.com", UserARN: "arn:aws:quicksight:us-east-1:123456789012:user/default/nora@example.com",
		Namespace: "default", Role: "READER", AWSRequestID: "b0b1c2d3-0000-4000-8000-000000000000"},
	{Event: RoleAssumed, Subject: "sub-alice", Email: "alice@example.com", RoleARN: "arn:aws:iam::123456789012:role/QuickSightEmbed", RoleSession: "alice@example.com"},
	{Event: SessionRevoked, Reason: ReasonOperator, Email: "alice@example.com", Count: N(0)},
	{Event: SessionRevoked, Reason: ReasonSessionCap, Subject: "sub-alice", Count: N(2)},
	{Event: SignOut, Reason: ReasonUser, Subject: "sub-alice", Email: "alice@example.com"},
	{Event: EmbedIssued, Subject: "sub-alice", Email: "alice@example.com", UserARN: "arn:aws:quicksight:us-east-1:123456789012:user/default/alice@example.com",
		Namespace: "default", Role: "AUTHOR", Experience: "QuickSightConsole", EntryPoint: "/dashboards/sales-2026", AWSRequestID: "r-1"},
}

func TestEverySampleMatchesTheSchema(t *testing.T) {
	sch := schema(t)
	var buf bytes.Buffer
	l := New(&buf, nil, nil).WithClock(clock)
	ctx := WithRequest(context.Background(), Request{ClientIP: "192.0.2.7", RequestID: "req-1"})
	for _, e := range samples {
		l.Record(ctx, e)
	}
	got := lines(t, sch, buf.String())
	if len(got) != len(samples) {
		t.Fatalf("%d lines, want %d", len(got), len(samples))
	}
	for i, g := range got {
		if g["event"] != samples[i].Event || g["audit"] != true || g["version"] != json.Number("1") && g["version"] != float64(1) {
			t.Errorf("line %d = %v, want event %s, audit true, version 1", i, g, samples[i].Event)
		}
		if g["time"] != "2026-12-08T08:30:00.123456789Z" {
			t.Errorf("time = %v, want UTC 2026-12-08T08:30:00.123456789Z", g["time"])
		}
		if g["client_ip"] != "192.0.2.7" || g["request_id"] != "req-1" {
			t.Errorf("client_ip, request_id = %v, %v, want the request's", g["client_ip"], g["request_id"])
		}
		if _, ok := g["trace_id"]; ok {
			t.Errorf("trace_id set without a trace: %v", g["trace_id"])
		}
	}
}

// The schema must be able to fail: each of these breaks one rule.
func TestSchemaRefuses(t *testing.T) {
	sch := schema(t)
	for name, line := range map[string]string{
		"unknown event":       `{"audit":true,"version":1,"time":"2026-12-08T08:30:00Z","event":"login"}`,
		"other version":       `{"audit":true,"version":2,"time":"2026-12-08T08:30:00Z","event":"sign_in","sub":"s"}`,
		"extra field":         `{"audit":true,"version":1,"time":"2026-12-08T08:30:00Z","event":"embed_issued","sub":"s","user_arn":"arn:aws:quicksight:x","experience":"Dashboard","entry_point":"/start","embed_url":"https://x"}`,
		"reason not in list":  `{"audit":true,"version":1,"time":"2026-12-08T08:30:00Z","event":"sign_in_refused","reason":"state mismatch"}`,
		"refusal without why": `{"audit":true,"version":1,"time":"2026-12-08T08:30:00Z","event":"access_refused","sub":"s"}`,
		"bad time":            `{"audit":true,"version":1,"time":"yesterday","event":"sign_in","sub":"s"}`,
		"no marker":           `{"version":1,"time":"2026-12-08T08:30:00Z","event":"sign_in","sub":"s"}`,
	} {
		inst, err := jsonschema.UnmarshalJSON(strings.NewReader(line))
		if err != nil {
			t.Fatal(err)
		}
		if sch.Validate(inst) == nil {
			t.Errorf("%s: the schema accepted %s", name, line)
		}
	}
}

func TestTraceIDFromTheContext(t *testing.T) {
	sc := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36},
		SpanID:  trace.SpanID{0, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7}, TraceFlags: trace.FlagsSampled,
	})
	var buf bytes.Buffer
	New(&buf, nil, nil).Record(trace.ContextWithSpanContext(context.Background(), sc), samples[0])
	got := lines(t, schema(t), buf.String())
	if want := "4bf92f3577b34da6a3ce929d0e0e4736"; got[0]["trace_id"] != want {
		t.Fatalf("trace_id = %v, want %s", got[0]["trace_id"], want)
	}
}

func TestLongValuesAreCut(t *testing.T) {
	var buf bytes.Buffer
	New(&buf, nil, nil).Record(context.Background(), Event{Event: AccessRefused, Reason: ReasonNotAllowed, Subject: "s",
		Path: "/" + strings.Repeat("é", 5000)})
	got := lines(t, schema(t), buf.String())
	if p := got[0]["path"].(string); len(p) > maxValue || !strings.HasPrefix(p, "/é") {
		t.Fatalf("path is %d bytes, want at most %d", len(p), maxValue)
	}
}

// Lines written at once from many goroutines come out whole, one a line.
func TestConcurrentRecordsStayWhole(t *testing.T) {
	var buf bytes.Buffer
	l := New(&buf, nil, nil)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for range 50 {
				l.Record(context.Background(), samples[len(samples)-1])
			}
		})
	}
	wg.Wait()
	if got := len(lines(t, schema(t), buf.String())); got != 16*50 {
		t.Fatalf("%d whole lines, want %d", got, 16*50)
	}
}

type brokenWriter struct{}

func (brokenWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// A write that fails is counted, not returned or panicked on.
func TestFailedWritesAreCounted(t *testing.T) {
	l := New(brokenWriter{}, nil, nil)
	for range 3 {
		l.Record(context.Background(), samples[0])
	}
	if got := l.Failed(); got != 3 {
		t.Fatalf("Failed() = %d, want 3", got)
	}
}

func TestOpen(t *testing.T) {
	if l, err := Open(Off, os.Stdout, nil); l != nil || err != nil {
		t.Fatalf("Open(off) = %v, %v, want nil, nil", l, err)
	}
	var out bytes.Buffer
	l, err := Open(Stdout, &out, nil)
	if err != nil {
		t.Fatal(err)
	}
	l.Record(context.Background(), samples[0])
	if !strings.Contains(out.String(), `"event":"sign_in"`) {
		t.Fatalf("stdout got %q", out.String())
	}

	path := filepath.Join(t.TempDir(), "audit.log")
	for range 2 { // the second Open appends
		l, err := Open(path, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		l.Record(context.Background(), samples[0])
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	data, _ := os.ReadFile(path)
	if got := len(lines(t, schema(t), string(data))); got != 2 {
		t.Errorf("%d lines in the file, want 2 (appended)", got)
	}

	for _, bad := range []string{"relative.log", "", t.TempDir(), filepath.Join(t.TempDir(), "missing", "audit.log")} {
		if l, err := Open(bad, nil, nil); err == nil {
			l.Close()
			t.Errorf("Open(%q) worked, want an error", bad)
		}
	}
}

// BenchmarkRecord is one embed_issued line, as a view writes it: to a file
// (the write system call included) and to io.Discard (the encoding alone).
func BenchmarkRecord(b *testing.B) {
	f, err := os.OpenFile(filepath.Join(b.TempDir(), "audit.log"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	ctx := WithRequest(context.Background(), Request{ClientIP: "192.0.2.7", RequestID: "rZnAGquozapcrEBwcnKZrgaXFBAxHiRW"})
	for name, l := range map[string]*Logger{"file": New(f, nil, nil), "discard": New(io.Discard, nil, nil)} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				l.Record(ctx, samples[len(samples)-1])
			}
		})
	}
}

// docs/audit.md's examples match the schema, and it has a section for
// every event.
func TestDocMatchesTheSchema(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "audit.md"))
	if err != nil {
		t.Fatal(err)
	}
	sch := schema(t)
	var examples []string
	for _, block := range strings.Split(string(doc), "```json\n")[1:] {
		examples = append(examples, strings.TrimSpace(block[:strings.Index(block, "```")]))
	}
	if got := len(lines(t, sch, strings.Join(examples, "\n"))); got < 5 {
		t.Errorf("%d examples in docs/audit.md, want one for most events", got)
	}
	for _, e := range []string{SignIn, SignInRefused, AccessRefused, UserRegistered, RoleAssumed, SessionRevoked, SignOut, EmbedIssued} {
		if !strings.Contains(string(doc), "### `"+e+"`") {
			t.Errorf("docs/audit.md has no section for %s", e)
		}
	}
}

// TestReopen: after a rotation moved the file away, Reopen makes the next
// events go to a new file at the path (0600); the moved file keeps the
// earlier ones. Stdout and off need nothing.
func TestReopen(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.log")
	l, err := Open(path, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.Record(context.Background(), samples[0])
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	if err := l.Reopen(); err != nil {
		t.Fatal(err)
	}
	l.Record(context.Background(), samples[1])
	for name, want := range map[string]int{path + ".1": 1, path: 1} {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(string(data), "\n"); n != want {
			t.Errorf("%s has %d lines, want %d", name, n, want)
		}
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("reopened file: %v, %v; want mode 0600", fi, err)
	}
	var none *Logger
	s, _ := Open(Stdout, io.Discard, nil)
	if none.Reopen() != nil || s.Reopen() != nil || s.Path() != "" {
		t.Error("Reopen of stdout or off did something")
	}
}
