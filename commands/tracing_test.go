package commands

import (
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oauth2-proxy/mockoidc"

	"github.com/qsgate/qsgate/internal/devkit/otlprecv"
	"github.com/qsgate/qsgate/internal/devkit/qssim"
	"github.com/qsgate/qsgate/internal/devkit/redistest"
)

// traceTo points the OpenTelemetry SDK at recv over OTLP/HTTP, every trace
// sampled and spans sent within 50 ms. The variables are the process's:
// the SDK reads them there, at start-up.
func traceTo(t *testing.T, recv *otlprecv.Receiver) {
	t.Setenv("OTEL_TRACES_EXPORTER", "otlp")
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", recv.HTTPEndpoint())
	t.Setenv("OTEL_SERVICE_NAME", "qsgate-test")
	t.Setenv("OTEL_TRACES_SAMPLER", "always_on")
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "50")
}

// providerSecrets is provider middleware that keeps what the provider hands
// out on its token endpoint (the authorization code sent to it, the tokens
// it answers with): none of it may reach a span.
type providerSecrets struct {
	mu      sync.Mutex
	secrets []string
}

func (p *providerSecrets) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, mockoidc.TokenEndpoint) {
			next.ServeHTTP(w, r)
			return
		}
		_ = r.ParseForm() // the provider reads r.Form, which stays parsed
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		var body map[string]any
		_ = json.Unmarshal(rec.Body.Bytes(), &body)
		p.mu.Lock()
		p.secrets = append(p.secrets, r.Form.Get("code"), r.Form.Get("refresh_token"))
		for _, k := range []string{"access_token", "id_token", "refresh_token"} {
			if s, ok := body[k].(string); ok {
				p.secrets = append(p.secrets, s)
			}
		}
		p.mu.Unlock()
		maps.Copy(w.Header(), rec.Header())
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	})
}

func (p *providerSecrets) all() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.DeleteFunc(slices.Clone(p.secrets), func(s string) bool { return s == "" })
}

// span finds the one span of spans named name (under parent when parent
// is not ""), failing the test otherwise.
func span(t *testing.T, spans []otlprecv.Span, name, parent string) otlprecv.Span {
	t.Helper()
	var found []otlprecv.Span
	for _, s := range spans {
		if s.Name == name && (parent == "" || s.ParentID == parent) {
			found = append(found, s)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d spans named %q under %q, want 1; the trace:\n%s", len(found), name, parent, otlprecv.Render(spans))
	}
	return found[0]
}

func wantAttr(t *testing.T, s otlprecv.Span, key, want string) {
	t.Helper()
	if got := s.Attrs[key]; got != want {
		t.Errorf("%s: %s = %q, want %q", s.Name, key, got, want)
	}
}

var traceRefRE = regexp.MustCompile(`trace <code>([0-9a-f]{32})</code>`)

// One sign-in and two views with tracing on, exported over OTLP/HTTP to a
// real receiver on loopback: the view's trace continues the trusted
// proxy's traceparent and holds the admission wait, the user mapping (a
// cache miss calling ListUsers, then a hit), the embed call with its AWS
// request id, its attempts and QuickSight's throttling, and the Redis
// commands of the session store; the sign-in's holds the token exchange
// and userinfo. The trace id is in the view's log lines and on an error
// page. No exported span, attribute, event or resource holds a token, the
// authorization code, a cookie, an embed URL or a configured secret.
func TestTracingOfASignInAndViews(t *testing.T) {
	recv, err := otlprecv.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(recv.Close)
	traceTo(t, recv)
	r := redistest.Start(t)
	secrets := &providerSecrets{}
	settings := map[string]string{
		"QSGATE_USER_MAPPING": "lookup", "QSGATE_SESSION_STORE": "redis", "QSGATE_REDIS_URL": r.URL(),
		"QSGATE_TRUSTED_PROXIES": "127.0.0.1/32",
	}
	maps.Copy(settings, noSignInLimits)
	s := startStack(t, settings, secrets.middleware)
	br := newBrowser(t)
	// Signed in to a page that maps nobody (the home page would), so the
	// first view's mapping is a miss.
	if p := s.signIn(br, alice, "/login?rd=%2Fsigned-out"); p.status != 200 {
		t.Fatalf("sign-in: %v", p)
	}

	// The load balancer (a trusted proxy: loopback) sends a traceparent.
	const lbTrace, lbSpan = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	view := func(traceparent string) page {
		req, _ := http.NewRequest(http.MethodGet, s.url+"/embed/start", nil)
		req.Header.Set("Accept", "text/html")
		if traceparent != "" {
			req.Header.Set("Traceparent", traceparent)
		}
		resp, err := br.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return page{status: resp.StatusCode, url: resp.Request.URL.String(), body: string(body), header: resp.Header}
	}
	first := view("00-" + lbTrace + "-" + lbSpan + "-01")
	embedURLs := []string{iframeSrc(t, first)}
	s.sim.FailNext(1, qssim.ErrThrottling) // the second view's embed call is throttled once, then retried
	second := view("")
	embedURLs = append(embedURLs, iframeSrc(t, second))
	bad := br.get(s.url + "/embed/dashboards/a%20b")
	if bad.status != http.StatusBadRequest {
		t.Fatalf("bad id: %v", bad)
	}
	m := traceRefRE.FindStringSubmatch(bad.body)
	if m == nil {
		t.Fatalf("the error page shows no trace id:\n%s", bad.body)
	}
	badTrace := m[1]

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	spans, ok := recv.Wait(ctx, func(spans []otlprecv.Span) bool {
		names := map[string]int{}
		for _, s := range spans {
			names[s.Name]++
		}
		return names["GET /embed/start"] == 2 && names["GET /embed/dashboards/:id"] == 1 && names["GET /auth/callback"] == 1
	})
	if !ok {
		t.Fatalf("the receiver did not get the views' spans; got:\n%s", otlprecv.Render(spans))
	}

	// The first view: the load balancer's trace, continued.
	v1 := otlprecv.Trace(spans, lbTrace)
	t.Logf("the first view's trace:\n%s", otlprecv.Render(v1))
	root := span(t, v1, "GET /embed/start", lbSpan)
	if root.Kind != "server" {
		t.Errorf("the request span's kind = %q", root.Kind)
	}
	wantAttr(t, root, "http.route", "/embed/start")
	wantAttr(t, root, "http.response.status_code", "200")
	if root.Attrs["qsgate.request_id"] == "" || root.Resource["service.name"] != "qsgate-test" {
		t.Errorf("request id %q, service %q", root.Attrs["qsgate.request_id"], root.Resource["service.name"])
	}
	span(t, v1, "qsgate.admission", root.SpanID)
	mapping := span(t, v1, "qsgate.map_user", root.SpanID)
	wantAttr(t, mapping, "qsgate.cache", "miss")
	list := span(t, v1, "QuickSight.ListUsers", mapping.SpanID)
	wantAttr(t, list, "rpc.method", "QuickSight/ListUsers")
	embed := span(t, v1, "QuickSight.GetSessionEmbedUrl", root.SpanID)
	wantAttr(t, embed, "aws.attempts", "1")
	wantAttr(t, embed, "http.response.status_code", "200")
	calls := embedCalls(s.sim)
	if len(calls) != 3 {
		t.Fatalf("%d embed calls answered, want 3 (the first view's, the second's throttled and retried)", len(calls))
	}
	wantAttr(t, embed, "aws.request_id", calls[0].RequestID)
	if list.Attrs["aws.request_id"] == "" || list.Attrs["aws.region"] != "us-east-1" {
		t.Errorf("ListUsers: request id %q, region %q", list.Attrs["aws.request_id"], list.Attrs["aws.region"])
	}
	redisSpans := 0
	for _, sp := range v1 {
		if sp.Attrs["db.system"] == "redis" && sp.ParentID == root.SpanID {
			redisSpans++
		}
	}
	if redisSpans == 0 {
		t.Errorf("no Redis command under the request span:\n%s", otlprecv.Render(v1))
	}

	// The second view: a new trace (no traceparent), the mapping from the
	// cache, the embed call throttled once and retried.
	var v2 []otlprecv.Span
	for _, sp := range spans {
		if sp.Name == "GET /embed/start" && sp.TraceID != lbTrace {
			v2 = otlprecv.Trace(spans, sp.TraceID)
		}
	}
	t.Logf("the second view's trace:\n%s", otlprecv.Render(v2))
	root2 := span(t, v2, "GET /embed/start", "")
	if root2.ParentID != "" {
		t.Errorf("a view without a traceparent has a parent %s", root2.ParentID)
	}
	wantAttr(t, span(t, v2, "qsgate.map_user", root2.SpanID), "qsgate.cache", "hit")
	embed2 := span(t, v2, "QuickSight.GetSessionEmbedUrl", root2.SpanID)
	wantAttr(t, embed2, "aws.attempts", "2")
	wantAttr(t, embed2, "aws.throttled", "true")
	if n := len(embed2.Events); n != 2 || embed2.Events[0].Attrs["aws.throttled"] != "true" || embed2.Events[0].Attrs["http.response.status_code"] != "429" {
		t.Errorf("the throttled call's attempts: %+v", embed2.Events)
	}

	// The sign-in: the callback's token exchange and userinfo are its
	// children, through the provider's HTTP client.
	var cb otlprecv.Span
	for _, sp := range spans {
		if sp.Name == "GET /auth/callback" {
			cb = sp
		}
	}
	signIn := otlprecv.Trace(spans, cb.TraceID)
	t.Logf("the sign-in's callback:\n%s", otlprecv.Render(signIn))
	// oauth2 finds the provider's client authentication by trying: the
	// exchange may be two POSTs, the last one answered 200.
	exchanged := false
	for _, sp := range signIn {
		exchanged = exchanged || (sp.Name == "oidc POST "+mockoidc.TokenEndpoint && sp.ParentID == cb.SpanID && sp.Attrs["http.response.status_code"] == "200")
	}
	if !exchanged {
		t.Error("no token exchange under the callback's span")
	}
	span(t, signIn, "oidc GET "+mockoidc.UserinfoEndpoint, cb.SpanID)
	jwks := false
	for _, sp := range spans {
		jwks = jwks || sp.Name == "oidc GET "+mockoidc.JWKSEndpoint
	}
	if !jwks {
		t.Error("no span for the provider's keys (JWKS)")
	}

	// The error page's trace id is its request's.
	badRoot := span(t, otlprecv.Trace(spans, badTrace), "GET /embed/dashboards/:id", "")
	wantAttr(t, badRoot, "http.response.status_code", "400")

	// The view's log lines carry its trace id.
	for _, msg := range []string{`msg="embed url issued"`, `msg=request`} {
		found := false
		for line := range strings.SplitSeq(s.logs.String(), "\n") {
			found = found || (strings.Contains(line, msg) && strings.Contains(line, "trace_id="+lbTrace) && strings.Contains(line, "request_id="+root.Attrs["qsgate.request_id"]))
		}
		if !found {
			t.Errorf("no %s line with trace_id=%s and the view's request id", msg, lbTrace)
		}
	}

	// No secret anywhere in what was exported.
	base, _ := url.Parse(s.url)
	never := secrets.all()
	if len(never) < 3 {
		t.Fatalf("the provider handed out %d secrets, want the code and tokens", len(never))
	}
	for _, c := range br.c.Jar.Cookies(base) {
		never = append(never, c.Value)
	}
	for _, u := range embedURLs {
		eu, _ := url.Parse(u)
		never = append(never, u, eu.RawQuery)
	}
	never = append(never, s.env["QSGATE_OIDC_CLIENT_SECRET"], s.env["QSGATE_SESSION_KEYS"], s.env["AWS_SECRET_ACCESS_KEY"])
	checked := 0
	for _, sp := range spans {
		texts := []string{sp.Name, sp.Status}
		for _, m := range []map[string]string{sp.Attrs, sp.Resource} {
			texts = slices.AppendSeq(texts, maps.Values(m))
			texts = slices.AppendSeq(texts, maps.Keys(m))
		}
		for _, e := range sp.Events {
			texts = append(texts, e.Name)
			texts = slices.AppendSeq(texts, maps.Values(e.Attrs))
		}
		for _, text := range texts {
			checked++
			for _, secret := range never {
				if strings.Contains(text, secret) {
					t.Errorf("span %q holds a secret (%.12s...): %q", sp.Name, secret, text)
				}
			}
			if strings.Contains(text, "eyJ") || strings.Contains(text, "code=") {
				t.Errorf("span %q holds what looks like a token or code: %q", sp.Name, text)
			}
		}
	}
	t.Logf("%d spans, %d exported texts checked against %d secrets", len(spans), checked, len(never))
}

// tracedDemoView runs the demo in mapping mode, traced to a receiver on
// loopback, signs alice in to /embed/start, and returns every span
// received, her view's trace, the demo's URL and her browser.
func tracedDemoView(t *testing.T, mapping string) (spans, view []otlprecv.Span, base string, br *browser) {
	t.Helper()
	recv, err := otlprecv.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(recv.Close)
	traceTo(t, recv)
	base, _ = startDemoCommand(t, "--mapping", mapping)
	br = newBrowser(t)
	if p := demoSignIn(t, br, base, "/embed/start", "alice"); p.status != 200 {
		t.Fatalf("alice's view: %v", p)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// The view that opened the console, not the first one, which sent
	// alice to sign in: their spans may come in separate batches.
	isView := func(s otlprecv.Span) bool {
		return s.Name == "GET /embed/start" && s.Attrs["http.response.status_code"] == "200"
	}
	spans, ok := recv.Wait(ctx, func(spans []otlprecv.Span) bool { return slices.ContainsFunc(spans, isView) })
	if !ok {
		t.Fatalf("no view span; got:\n%s", otlprecv.Render(spans))
	}
	for _, s := range spans {
		if isView(s) {
			view = otlprecv.Trace(spans, s.TraceID)
		}
	}
	return spans, view, base, br
}

// The demo (`qsgate demo --mapping iam`) traced: alice signs in and opens
// the console; her view's trace holds the mapping with STS's AssumeRole
// under it and the embed call. -v prints the trace as docs/tracing.md
// shows it.
func TestDemoTrace(t *testing.T) {
	t.Setenv("OTEL_SERVICE_NAME", "qsgate-demo")
	spans, view, _, _ := tracedDemoView(t, "iam")
	root := span(t, view, "GET /embed/start", "")
	mapping := span(t, view, "qsgate.map_user", root.SpanID)
	wantAttr(t, mapping, "qsgate.cache", "miss")
	wantAttr(t, span(t, view, "STS.AssumeRole", mapping.SpanID), "rpc.method", "STS/AssumeRole")
	span(t, view, "QuickSight.GetSessionEmbedUrl", root.SpanID)
	t.Logf("the view's trace:\n%s", otlprecv.Render(view, "db.connection_string", "server.port", "network.protocol.version"))
	var cb []otlprecv.Span
	for _, s := range spans {
		if s.Name == "GET /auth/callback" {
			cb = otlprecv.Trace(spans, s.TraceID)
		}
	}
	t.Logf("the sign-in's callback:\n%s", otlprecv.Render(cb, "db.connection_string", "server.port", "network.protocol.version"))
}

// A tracing variable the SDK would refuse, or quietly replace with its
// default, is a start-up problem named like a setting's, among the others.
func TestBadTracingSettingsRefused(t *testing.T) {
	for _, tc := range []struct{ exporter, protocol, sampler, want string }{
		{"jaeger", "", "", "OTEL_TRACES_EXPORTER: must be otlp, console or none"},
		{"otlp", "thrift", "", "OTEL_EXPORTER_OTLP_PROTOCOL: must be http/protobuf or grpc"},
		{"otlp", "", "traceidratio_parentbased", "OTEL_TRACES_SAMPLER: must be one of"},
	} {
		t.Setenv("OTEL_TRACES_EXPORTER", tc.exporter)
		t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", tc.protocol)
		t.Setenv("OTEL_TRACES_SAMPLER", tc.sampler)
		env := validOffline()
		env["QSGATE_SESSION_TTL"] = "forever"
		_, err := build(context.Background(), func(k string) string { return env[k] }, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "QSGATE_SESSION_TTL") {
			t.Errorf("exporter %q, protocol %q, sampler %q: build error = %v, want %q beside the other problems", tc.exporter, tc.protocol, tc.sampler, err, tc.want)
		}
	}
}

// In identity-center mode the mapper sends the provider's ID token to
// AWS (CreateTokenWithIAM) and gets tokens back: the spans of those calls
// hold neither.
func TestIdentityCenterTraceHoldsNoToken(t *testing.T) {
	spans, view, base, br := tracedDemoView(t, "identity-center")
	mapping := span(t, view, "qsgate.map_user", "")
	span(t, view, "SSO OIDC.CreateTokenWithIAM", mapping.SpanID)
	u, _ := url.Parse(base)
	var cookies []string
	for _, c := range br.c.Jar.Cookies(u) {
		cookies = append(cookies, c.Value)
	}
	for _, s := range spans {
		for k, v := range s.Attrs {
			if strings.Contains(v, "eyJ") || slices.ContainsFunc(cookies, func(c string) bool { return strings.Contains(v, c) }) {
				t.Errorf("span %q, %s holds a token or cookie: %q", s.Name, k, v)
			}
		}
		if strings.Contains(s.Status, "eyJ") {
			t.Errorf("span %q's status holds a token: %q", s.Name, s.Status)
		}
	}
	t.Logf("the view's trace:\n%s", otlprecv.Render(view))
}
