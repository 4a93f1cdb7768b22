package commands

import (
	"context"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
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
// the browser's HTTP round trip to the gateway.
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

// sharedSim is the simulator of the stack inProcessView last started.
var sharedSim *qssim.Server

// inProcessView starts the stack, signs alice in through it, builds a
// second gateway from the same settings (same keys, same simulator) and
// returns a signed-in request for /embed/start and its page view, the
// request handed to the gateway's handler.
func inProcessView(b *testing.B) (request func() *http.Request, view func(*http.Request)) {
	b.Helper()
	s := startStack(b, unlimited)
	br := newBrowser(b)
	s.signIn(br, alice, "/")
	g, err := build(context.Background(), func(k string) string { return s.env[k] }, io.Discard)
	if err != nil {
		b.Fatal(err)
	}
	sharedSim = s.sim
	base, _ := url.Parse(s.url)
	cookies := br.c.Jar.Cookies(base)
	req := httptest.NewRequest(http.MethodGet, s.url+"/embed/start", nil)
	req.Header.Set("Accept", "text/html")
	for _, c := range cookies {
		req.AddCookie(c)
	}
	request = func() *http.Request { return req.Clone(context.Background()) }
	view = func(r *http.Request) {
		w := &sink{header: http.Header{}}
		g.server.ServeHTTP(w, r)
		if w.status != http.StatusOK || w.n == 0 {
			b.Fatalf("status %d, %d bytes", w.status, w.n)
		}
	}
	return request, view
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
