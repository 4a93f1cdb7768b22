package commands

import (
	"context"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsqs "github.com/aws/aws-sdk-go-v2/service/quicksight"

	"github.com/qsgate/qsgate/internal/devkit/otlprecv"
	"github.com/qsgate/qsgate/internal/devkit/qssim"
	"github.com/qsgate/qsgate/internal/devkit/redistest"
)

// The benchmarks: one signed-in page view through the whole stack, the bare
// SDK call that is its floor, and the ratio of the two. Run them together,
// so the ratio compares figures taken under the same machine load:
//
//	go test -run '^$' -bench 'EmbedView|ViewOverBare|BareSDK' -benchmem -count=10 ./commands/
//
// BenchmarkViewOverBare is the headline figure: the gateway's work for a page
// view (Echo, session, mapping, the SDK call, render), called in process,
// against the bare call. BenchmarkEmbedPage and BenchmarkPageOverBare add
// the browser's HTTP round trip to the gateway. BenchmarkWarmView is the
// view in each mapping mode, and BenchmarkIdentityCenterOverTemplate
// alternates identity-center's with template's on the same API.
//
// docs/BENCHMARKS.md has the figures and the commands that produced them.

// unlimited lifts the AWS call budget (5 a second by default) to the most
// config allows, far above what one process can do here, and turns the
// sign-in limits off, so the benchmarks measure the gateway, not its
// admission control.
var unlimited = map[string]string{"QSGATE_LOG_LEVEL": "warn", "QSGATE_QUICKSIGHT_MAX_RPS": "10000", "QSGATE_QUICKSIGHT_MAX_INFLIGHT": "1000",
	"QSGATE_SIGNIN_RATE": "0", "QSGATE_SIGNIN_RATE_PER_ADDRESS": "0"}

// BenchmarkEmbedPage is one signed-in page view of /embed/start through the
// whole stack on loopback: session cookie check, user mapping, a signed
// GetSessionEmbedUrl to the simulator through the real AWS SDK, and the
// rendered page. The client, the gateway and the simulator all run in this
// process, so allocs/op counts all three.
func BenchmarkEmbedPage(b *testing.B) {
	benchPage(b, unlimited, "/embed/start")
}

// benchPage signs alice in to a stack with settings and times signed-in
// views of path through the browser.
func benchPage(b *testing.B, settings map[string]string, path string) {
	s := startStack(b, settings)
	br := newBrowser(b)
	s.signIn(br, alice, "/")
	for b.Loop() {
		if p := br.get(s.url + path); p.status != 200 {
			b.Fatalf("status %d", p.status)
		}
	}
}

// BenchmarkEmbedPageRedisStore is BenchmarkEmbedPage with the session in
// Redis (a real redis-server on loopback), for the cost of the store:
// go test -run '^$' -bench 'EmbedPage' -benchmem ./commands/ runs both.
func BenchmarkEmbedPageRedisStore(b *testing.B) {
	r := redistest.Start(b)
	settings := maps.Clone(unlimited)
	settings["QSGATE_SESSION_STORE"], settings["QSGATE_REDIS_URL"] = "redis", r.URL()
	benchPage(b, settings, "/embed/start")
}

// BenchmarkEmbedAPI is /api/embed-url, the JSON the embed page's script
// asks for when a console session ends: the same work as a page view but
// JSON instead of the template.
func BenchmarkEmbedAPI(b *testing.B) {
	s := startStack(b, unlimited)
	br := newBrowser(b)
	s.signIn(br, alice, "/")
	for b.Loop() {
		req, _ := http.NewRequest(http.MethodGet, s.url+"/api/embed-url?entry-point=/start", nil)
		req.Header.Set("X-Qsgate-Fetch", "1")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		resp, err := br.c.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), `"embedUrl"`) {
			b.Fatalf("status %d: %s", resp.StatusCode, body)
		}
	}
}

// BenchmarkBareSDK is the floor of a page view: the bare aws-sdk-go-v2
// GetSessionEmbedUrl call (SigV4, HTTP, JSON) to the same kind of
// simulator, with the same credentials and parameters the gateway sends.
// allocs/op counts the SDK and the simulator.
func BenchmarkBareSDK(b *testing.B) {
	sim, err := qssim.Start(qssim.Config{AccountID: testAccount})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { sim.Close() })
	call := bareCall(b, sim, sim.AddUser(qssim.User{UserName: "alice@example.com", Email: "alice@example.com", Role: "AUTHOR"}))
	for b.Loop() {
		call()
	}
}

// BenchmarkPageOverBare alternates a page view, a bare SDK call against the
// same simulator and a GET /healthz (the HTTP round trip between browser
// and gateway, which a page view adds to the SDK call whatever the gateway
// does), and reports each one's time and page/bare: machine load that comes
// and goes hits all three alike, so the ratio is steadier than dividing two
// separate benchmarks' ns/op. gateway-ns/op is what is left of a view:
// page - bare - hop. Its ns/op and allocs/op are the three together.
func BenchmarkPageOverBare(b *testing.B) {
	s := startStack(b, unlimited)
	br := newBrowser(b)
	s.signIn(br, alice, "/")
	call := bareCall(b, s.sim, arnOf(alice.Email))
	var page, bare, hop time.Duration
	for b.Loop() {
		t0 := time.Now()
		if p := br.get(s.url + "/embed/start"); p.status != 200 {
			b.Fatalf("status %d", p.status)
		}
		t1 := time.Now()
		call()
		t2 := time.Now()
		if p := br.get(s.url + "/healthz"); p.status != 200 {
			b.Fatalf("healthz: status %d", p.status)
		}
		page, bare, hop = page+t1.Sub(t0), bare+t2.Sub(t1), hop+time.Since(t2)
	}
	n := float64(b.N)
	b.ReportMetric(float64(page.Nanoseconds())/n, "page-ns/op")
	b.ReportMetric(float64(bare.Nanoseconds())/n, "bare-ns/op")
	b.ReportMetric(float64(hop.Nanoseconds())/n, "hop-ns/op")
	b.ReportMetric(float64((page-bare-hop).Nanoseconds())/n, "gateway-ns/op")
	b.ReportMetric(float64(page)/float64(bare), "page/bare")
}

// BenchmarkEmbedView is a signed-in page view of /embed/start handed to the
// gateway's handler in process, as net/http would hand it: Echo and its
// middleware, the session cookie, the access policy, the mapping, the
// signed GetSessionEmbedUrl to the simulator over loopback through the real
// SDK, and the rendered page. No browser round trip: that is the network's,
// not the gateway's (BenchmarkEmbedPage has it).
func BenchmarkEmbedView(b *testing.B) {
	request, view := inProcessView(b)
	for b.Loop() {
		view(request())
	}
}

// BenchmarkEmbedViewAudit alternates BenchmarkEmbedView's page view on two
// gateways built from one stack's settings, the audit stream off and on (a
// file, QSGATE_AUDIT_LOG=PATH: one embed_issued line a view, written
// before the page), and reports each and their difference: machine load
// that comes and goes hits both alike.
func BenchmarkEmbedViewAudit(b *testing.B) {
	request, views := inProcessViews(b, map[string]string{"QSGATE_AUDIT_LOG": "off"},
		map[string]string{"QSGATE_AUDIT_LOG": filepath.Join(b.TempDir(), "audit.log")})
	var off, on time.Duration
	for b.Loop() {
		r1, r2 := request(), request()
		t0 := time.Now()
		views[0](r1)
		t1 := time.Now()
		views[1](r2)
		off, on = off+t1.Sub(t0), on+time.Since(t1)
	}
	n := float64(b.N)
	b.ReportMetric(float64(off.Nanoseconds())/n, "off-ns/op")
	b.ReportMetric(float64(on.Nanoseconds())/n, "on-ns/op")
	b.ReportMetric(float64((on-off).Nanoseconds())/n, "audit-ns/op")
}

// BenchmarkViewOverBare alternates BenchmarkEmbedView's page view with a
// bare SDK call to the same simulator and reports each and view/bare (the
// goal is 1.15 or less): machine load that comes and goes hits both alike.
func BenchmarkViewOverBare(b *testing.B) {
	request, view := inProcessView(b)
	call := bareCall(b, sharedSim, arnOf(alice.Email))
	var page, bare time.Duration
	for b.Loop() {
		r := request() // what net/http parses off the wire; not timed
		t0 := time.Now()
		view(r)
		t1 := time.Now()
		call()
		page, bare = page+t1.Sub(t0), bare+time.Since(t1)
	}
	n := float64(b.N)
	b.ReportMetric(float64(page.Nanoseconds())/n, "view-ns/op")
	b.ReportMetric(float64(bare.Nanoseconds())/n, "bare-ns/op")
	b.ReportMetric(float64(page)/float64(bare), "view/bare")
}

// BenchmarkWarmView is BenchmarkEmbedView in each mapping mode, one
// sub-benchmark each, so that one run compares them under the same machine
// load: a warm view (the mapping's first view is made before the timer)
// is the same work in every mode, one embed call. identity-center's call
// is GenerateEmbedUrlForRegisteredUserWithIdentity, signed with the user's
// identity-enhanced role credentials, so "template, registered-user" (the
// same API with a user ARN) is the mode to hold it against.
//
//	go test -run '^$' -bench 'WarmView' -benchmem -count=5 ./commands/
func BenchmarkWarmView(b *testing.B) {
	for _, mode := range warmModes(b) {
		b.Run(mode.name, func(b *testing.B) {
			request, view := warmView(b, mode)
			s := sharedSim
			for b.Loop() {
				view(request())
			}
			// Every view was the one embed call.
			if calls := callCounts(s); len(calls) != 1 {
				b.Fatalf("AWS calls during the loop = %v, want only the embed call", calls)
			}
		})
	}
}

// BenchmarkIdentityCenterOverTemplate alternates a warm identity-center
// view with a warm template view on the same API (registered-user), each
// on its own stack in this process, and reports each one's time and
// idc/template: load that comes and goes hits both alike, which
// BenchmarkWarmView's sub-benchmarks, run one after the other, do not get.
func BenchmarkIdentityCenterOverTemplate(b *testing.B) {
	var template, idc warmMode
	for _, m := range warmModes(b) {
		switch m.name {
		case "template, registered-user":
			template = m
		case "identity-center":
			idc = m
		}
	}
	tRequest, tView := warmView(b, template)
	iRequest, iView := warmView(b, idc)
	var tTime, iTime time.Duration
	for b.Loop() {
		r1, r2 := tRequest(), iRequest()
		t0 := time.Now()
		tView(r1)
		t1 := time.Now()
		iView(r2)
		tTime, iTime = tTime+t1.Sub(t0), iTime+time.Since(t1)
	}
	n := float64(b.N)
	b.ReportMetric(float64(tTime.Nanoseconds())/n, "template-ns/op")
	b.ReportMetric(float64(iTime.Nanoseconds())/n, "idc-ns/op")
	b.ReportMetric(float64(iTime)/float64(tTime), "idc/template")
}

// A warmMode is a mapping mode's settings and what the simulator needs
// for alice in it.
type warmMode struct {
	name     string
	settings map[string]string
	prepare  func(*stack)
}

// warmModes are the modes BenchmarkWarmView compares.
func warmModes(b *testing.B) []warmMode {
	iamRole := "arn:aws:iam::" + testAccount + ":role/QuickSightEmbed"
	with := func(settings map[string]string) map[string]string {
		m := maps.Clone(unlimited)
		maps.Copy(m, settings)
		return m
	}
	return []warmMode{
		{"template", unlimited, nil},
		{"template, registered-user", with(map[string]string{"QSGATE_QUICKSIGHT_API": "registered-user"}), nil},
		{"lookup", with(map[string]string{"QSGATE_USER_MAPPING": "lookup"}), nil},
		{"iam", with(map[string]string{"QSGATE_USER_MAPPING": "iam", "QSGATE_IAM_ROLE_ARN": iamRole}), func(s *stack) {
			if err := s.sim.AddRole(iamRole); err != nil {
				b.Fatal(err)
			}
			s.sim.AddUser(qssim.User{UserName: "QuickSightEmbed/alice@example.com", Email: alice.Email, Role: "AUTHOR", IdentityType: "IAM"})
		}},
		{"identity-center", with(map[string]string{"QSGATE_USER_MAPPING": "identity-center", "QSGATE_IDC_APPLICATION_ARN": idcApp, "QSGATE_IDC_ROLE_ARN": idcRole}), func(s *stack) {
			setUpIdentityCenter(b, s)
			s.sim.AddIdentityCenterUser(qssim.User{UserName: "alice-idc", Email: alice.Email, Role: "AUTHOR"})
		}},
	}
}

// warmView is inProcessViewOf for mode, after the mapping's first view
// (the role, the Identity Center chain, the lookup), with the simulator's
// record of calls emptied.
func warmView(b *testing.B, mode warmMode) (request func() *http.Request, view func(*http.Request)) {
	request, view = inProcessViewOf(b, mode.settings, mode.prepare)
	view(request())
	sharedSim.Reset()
	return request, view
}

// sharedSim is the simulator of the stack inProcessView last started.
var sharedSim *qssim.Server

// inProcessView starts the stack, signs alice in through it, builds a
// second gateway from the same settings (same keys, same simulator) and
// returns a signed-in request for /embed/start and its page view, the
// request handed to the gateway's handler.
func inProcessView(b *testing.B) (request func() *http.Request, view func(*http.Request)) {
	b.Helper()
	return inProcessViewOf(b, unlimited, nil)
}

// inProcessViewOf is inProcessView with settings, and prepare (when not
// nil) setting the simulator up before alice signs in.
func inProcessViewOf(b *testing.B, settings map[string]string, prepare func(*stack)) (request func() *http.Request, view func(*http.Request)) {
	b.Helper()
	request, views := inProcessViewsOf(b, settings, prepare, nil)
	return request, views[0]
}

// inProcessViews is inProcessView with one gateway per override of the
// stack's settings, each built from them with the override on top.
func inProcessViews(b *testing.B, overrides ...map[string]string) (request func() *http.Request, views []func(*http.Request)) {
	b.Helper()
	return inProcessViewsOf(b, unlimited, nil, overrides...)
}

// inProcessViewsOf starts the stack with settings, lets prepare (when not
// nil) set the simulator up, signs alice in, and builds one gateway per
// override of the stack's settings.
func inProcessViewsOf(b *testing.B, settings map[string]string, prepare func(*stack), overrides ...map[string]string) (request func() *http.Request, views []func(*http.Request)) {
	b.Helper()
	s := startStack(b, settings)
	if prepare != nil {
		prepare(s)
	}
	br := newBrowser(b)
	s.signIn(br, alice, "/")
	sharedSim = s.sim
	base, _ := url.Parse(s.url)
	cookies := br.c.Jar.Cookies(base)
	req := httptest.NewRequest(http.MethodGet, s.url+"/embed/start", nil)
	req.Header.Set("Accept", "text/html")
	for _, c := range cookies {
		req.AddCookie(c)
	}
	request = func() *http.Request { return req.Clone(context.Background()) }
	for _, o := range overrides {
		env := maps.Clone(s.env)
		maps.Copy(env, o)
		g, err := build(context.Background(), func(k string) string { return env[k] }, io.Discard)
		if err != nil {
			b.Fatal(err)
		}
		views = append(views, func(r *http.Request) {
			w := &sink{header: http.Header{}}
			g.server.ServeHTTP(w, r)
			if w.status != http.StatusOK || w.n == 0 {
				b.Fatalf("status %d, %d bytes", w.status, w.n)
			}
		})
	}
	return request, views
}

// sink is the ResponseWriter the in-process view writes to: it keeps the
// status and counts the body, as a connection would send it
// (httptest.ResponseRecorder copies the headers and the body, which no
// server does).
type sink struct {
	header http.Header
	status int
	n      int
}

func (s *sink) Header() http.Header { return s.header }

func (s *sink) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
}

func (s *sink) Write(p []byte) (int, error) {
	s.WriteHeader(http.StatusOK)
	s.n += len(p)
	return len(p), nil
}

// bareCall returns a function making one GetSessionEmbedUrl for userARN
// with a plain SDK client (default transport and retryer, as LoadDefaultConfig
// makes them), as the gateway would ask for the start page.
func bareCall(b *testing.B, sim *qssim.Server, userARN string) func() {
	b.Helper()
	cfg, err := awsconfig.LoadDefaultConfig(context.Background(),
		awsconfig.WithRegion("us-east-1"),
		awsconfig.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(qssim.DefaultAccessKeyID, qssim.DefaultSecretAccessKey, "")))
	if err != nil {
		b.Fatal(err)
	}
	client := awsqs.NewFromConfig(cfg, func(o *awsqs.Options) { o.BaseEndpoint = aws.String(sim.URL()) })
	in := &awsqs.GetSessionEmbedUrlInput{
		AwsAccountId:             aws.String(testAccount),
		EntryPoint:               aws.String("/start"),
		SessionLifetimeInMinutes: aws.Int64(60), // startStack's QSGATE_QUICKSIGHT_SESSION_LIFETIME
		UserArn:                  aws.String(userARN),
	}
	return func() {
		out, err := client.GetSessionEmbedUrl(context.Background(), in)
		if err != nil || aws.ToString(out.EmbedUrl) == "" {
			b.Fatalf("GetSessionEmbedUrl: %v", err)
		}
	}
}

// BenchmarkHomePage is a signed-in view of / (no AWS call): the gateway's
// own cost per page.
func BenchmarkHomePage(b *testing.B) {
	benchPage(b, unlimited, "/")
}

// BenchmarkSignIn is a whole sign-in: /login, the provider, the callback
// (code exchange, ID token verification, userinfo) and the page after.
func BenchmarkSignIn(b *testing.B) {
	s := startStack(b, unlimited)
	for b.Loop() {
		br := newBrowser(b)
		if p := s.signIn(br, alice, "/"); p.status != 200 {
			b.Fatalf("status %d", p.status)
		}
	}
}

// traceSampled turns tracing on for the gateways built after it, as an
// operator would with 1-in-10 sampling, exporting over OTLP/HTTP to a
// receiver on loopback in this process (whose work counts in allocs/op).
func traceSampled(b *testing.B) {
	b.Helper()
	recv, err := otlprecv.Start()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(recv.Close)
	b.Setenv("OTEL_TRACES_EXPORTER", "otlp")
	b.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
	b.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", recv.HTTPEndpoint())
	b.Setenv("OTEL_TRACES_SAMPLER", "parentbased_traceidratio")
	b.Setenv("OTEL_TRACES_SAMPLER_ARG", "0.1")
}

// BenchmarkEmbedViewTraced is BenchmarkEmbedView with tracing on, 1 view
// in 10 sampled: its allocs/op against BenchmarkEmbedView's is what
// tracing costs a view.
func BenchmarkEmbedViewTraced(b *testing.B) {
	traceSampled(b)
	request, view := inProcessView(b)
	for b.Loop() {
		view(request())
	}
}

// BenchmarkTracedOverOff alternates BenchmarkEmbedView's page view on two
// gateways of one stack, one with tracing off, one with it on at 1 in 10
// (traceSampled), and reports each and traced/off (the goal is 1.10 or
// less): machine load that comes and goes hits both alike, and each goes
// first in every other pair.
func BenchmarkTracedOverOff(b *testing.B) {
	offRequest, offView := inProcessView(b)
	traceSampled(b)
	onRequest, onView := inProcessView(b)
	var off, on time.Duration
	timed := func(view func(*http.Request), r *http.Request) time.Duration {
		t0 := time.Now()
		view(r)
		return time.Since(t0)
	}
	first := true // which goes first alternates: the second of a pair runs warmer
	for b.Loop() {
		r1, r2 := offRequest(), onRequest()
		if first {
			off += timed(offView, r1)
			on += timed(onView, r2)
		} else {
			on += timed(onView, r2)
			off += timed(offView, r1)
		}
		first = !first
	}
	n := float64(b.N)
	b.ReportMetric(float64(off.Nanoseconds())/n, "off-ns/op")
	b.ReportMetric(float64(on.Nanoseconds())/n, "traced-ns/op")
	b.ReportMetric(float64(on)/float64(off), "traced/off")
}
