package e2e

import (
	"context"
	"fmt"
	"io"
	"log"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"text/template"
	"time"

	"github.com/qsgate/qsgate/internal/devkit/demo"
	"github.com/qsgate/qsgate/internal/devkit/redistest"
)

// TestLoadBalancer runs two gateways with the same settings behind nginx
// (round robin), as a production deployment does.
func TestLoadBalancer(t *testing.T) {
	tools := requireTools(t, nginxTool)
	bin := gatewayBinary(t)
	dir := testOutDir(t)
	lbAddr := freeAddr(t)
	public := "http://" + lbAddr
	st := startDemo(t, dir, demo.Options{PublicURL: public})
	qs := startGate(t, st.Sim.URL())
	st.Sim.SetBaseURL(qs.url) // embed URLs on the endpoint's origin: the portal frames no other (but QuickSight's)
	settings := maps.Clone(st.Settings)
	settings["AWS_ENDPOINT_URL_QUICKSIGHT"] = qs.url
	settings["QSGATE_TRUSTED_PROXIES"] = "127.0.0.1/32" // nginx
	// One user drives every page view here, far past a person's pace.
	settings["QSGATE_EMBED_RATE"] = "0"
	// The instances share sessions, limits and lookups in a real Redis, as
	// a production cluster does (the cookie store is the browser test's).
	redis := redistest.Start(t)
	settings["QSGATE_REDIS_URL"] = redis.URL()
	settings["QSGATE_SESSION_STORE"] = "redis"
	a := startGateway(t, "gateway-a", bin, freeAddr(t), dir, settings)
	b := startGateway(t, "gateway-b", bin, freeAddr(t), dir, settings)
	byAddr := map[string]*gateway{a.addr: a, b.addr: b}
	lb := startNginx(t, tools[0], lbAddr, dir, a.addr, b.addr)

	client, rec := newClient(t)

	ok := t.Run("sign-in starts on one instance and ends on the other", func(t *testing.T) {
		p := signIn(t, client, st.IssuerURL, public+"/embed/start", "alice")
		if p.Status != http.StatusOK || p.URL != public+"/embed/start" || !strings.Contains(p.Body, `id="qs-console"`) {
			t.Fatalf("after sign-in: %s, status %d; want the console page %s/embed/start, status 200", p.URL, p.Status, public)
		}
		login, callback := upstreamOf(t, rec.since(0), lbAddr, "/login"), upstreamOf(t, rec.since(0), lbAddr, "/auth/callback")
		if login == callback {
			t.Fatalf("/login and /auth/callback were both answered by %s; want one each (round robin)", login)
		}
		// The instances' own request logs say the same.
		for _, tc := range []struct{ addr, path string }{{login, "/login"}, {callback, "/auth/callback"}} {
			g := byAddr[tc.addr]
			if g == nil {
				t.Fatalf("X-Upstream %q is neither instance (%s, %s)", tc.addr, a.addr, b.addr)
			}
			for _, other := range []*gateway{a, b} {
				want := 0
				if other == g {
					want = 1
				}
				if got := strings.Count(other.logs(), "msg=request method=GET path="+tc.path+" "); got != want {
					t.Errorf("%s logged %d requests for %s, want %d", other.name, got, tc.path, want)
				}
			}
		}
	})
	if !ok {
		return
	}

	t.Run("page views alternate between instances", func(t *testing.T) {
		before := embedCalls(st)
		var ups []string
		for i := range 20 {
			p := fetch(t, client, http.MethodGet, public+"/embed/start", nil)
			if p.Status != http.StatusOK || !strings.Contains(p.Body, `id="qs-console"`) {
				t.Fatalf("page view %d: status %d at %s, want 200 and the console", i+1, p.Status, p.URL)
			}
			ups = append(ups, p.Header.Get("X-Upstream"))
		}
		for i := 1; i < len(ups); i++ {
			if ups[i] == ups[i-1] {
				t.Errorf("page views %d and %d both answered by %q, want alternation: %q", i, i+1, ups[i], ups)
				break
			}
		}
		for _, g := range []*gateway{a, b} {
			if n := countServedBy(ups, g.addr); n != 10 {
				t.Errorf("%s answered %d of 20 page views, want 10", g.name, n)
			}
		}
		if got := embedCalls(st) - before; got != 20 {
			t.Errorf("GetSessionEmbedUrl calls = %d, want 20 (one per page view)", got)
		}
	})

	t.Run("shutdown drains an in-flight request", func(t *testing.T) {
		// Straight to instance A, not through nginx, whose retry would hide
		// a request cut off by the shutdown.
		qs.hold()
		defer qs.release()
		result := make(chan page, 1)
		errc := make(chan error, 1)
		go func() {
			p, err := tryFetch(context.Background(), client, http.MethodGet, "http://"+a.addr+"/embed/start", nil)
			if err != nil {
				errc <- err
				return
			}
			result <- p
		}()
		select {
		case <-qs.arrived:
		case err := <-errc:
			t.Fatalf("request to %s: %v", a.name, err)
		case <-time.After(stepTimeout):
			t.Fatalf("the request to %s did not reach QuickSight within %v", a.name, stepTimeout)
		}
		// The request waits at QuickSight. Stop A, and wait until it takes
		// no new connection: it is shutting down with the request in flight.
		a.terminate(t)
		waitFor(t, stepTimeout, a.name+" to stop accepting connections", func() bool {
			c, err := net.Dial("tcp", a.addr)
			if err != nil {
				return true
			}
			c.Close()
			return false
		})
		qs.release()
		select {
		case p := <-result:
			if p.Status != http.StatusOK || !strings.Contains(p.Body, `id="qs-console"`) {
				t.Errorf("in-flight request: status %d at %s, want 200 and the console", p.Status, p.URL)
			}
		case err := <-errc:
			t.Errorf("in-flight request failed: %v; want it drained", err)
		case <-time.After(stepTimeout):
			t.Fatalf("in-flight request not answered within %v", stepTimeout)
		}
		if err := a.wait(t); err != nil {
			t.Errorf("%s exit: %v, want status 0 (graceful)", a.name, err)
		}
		// A's own log: the page view was answered after the shutdown began.
		logs := a.logs()
		if i := strings.LastIndex(logs, `msg="shutting down, draining requests"`); i < 0 ||
			!strings.Contains(logs[i:], "msg=request method=GET path=/embed/start status=200") {
			t.Errorf("%s's log shows no page view answered after \"shutting down\"", a.name)
		}
		a.start(t)
	})

	t.Run("rolling restart under load fails no request", func(t *testing.T) {
		// Four clients, so that requests are in flight on the instance when
		// it gets SIGTERM. Each instance in turn: stop, let traffic flow to
		// the other alone, start on the same port, wait for /readyz and for
		// it to answer page views again before the next one stops.
		ld := startLoad(t, client.Jar, public+"/embed/start", 4)
		waitFor(t, stepTimeout, "the first 20 page views", func() bool { return ld.served() >= 20 })
		for _, g := range []*gateway{a, b} {
			g.stop(t)
			n := ld.served()
			waitFor(t, stepTimeout, fmt.Sprintf("20 page views while %s is down", g.name), func() bool { return ld.served() >= n+20 })
			g.start(t)
			n = ld.servedBy(g.addr)
			waitFor(t, stepTimeout, g.name+" to answer page views again", func() bool { return ld.servedBy(g.addr) > n })
		}
		total, fails, retried := ld.stop()
		if len(fails) > 0 {
			t.Errorf("%d of %d page views failed during the rolling restart, want 0; the first:\n%s",
				len(fails), total, strings.Join(fails[:min(len(fails), 10)], "\n"))
		}
		t.Logf("%d page views during the rolling restart, %d failed, %d retried by nginx on the other instance", total, len(fails), retried)
	})

	t.Run("redirects ignore forged forwarding headers", func(t *testing.T) {
		for _, tc := range []struct{ name, start string }{
			{"through nginx", public},
			{"straight to an instance", "http://" + b.addr},
		} {
			t.Run(tc.name, func(t *testing.T) {
				c, rec := newClient(t)
				rec.forgeFor = map[string]bool{lbAddr: true, a.addr: true, b.addr: true}
				rec.forged = http.Header{
					"X-Forwarded-Host":   {"evil.example"},
					"X-Forwarded-Proto":  {"https"},
					"X-Forwarded-Port":   {"8443"},
					"X-Forwarded-Scheme": {"https"},
					"X-Forwarded-Ssl":    {"on"},
					"X-Url-Scheme":       {"https"},
					"X-Original-Host":    {"evil.example"},
					"X-Host":             {"evil.example"},
					"Forwarded":          {"for=203.0.113.9;host=evil.example;proto=https"},
				}
				rec.forgeHost = "evil.example"

				p := signIn(t, c, st.IssuerURL, tc.start+"/embed/dashboards/forged-1", "alice")
				if p.Status != http.StatusOK || p.URL != public+"/embed/dashboards/forged-1" {
					t.Fatalf("after sign-in: %s, status %d; want %s/embed/dashboards/forged-1, status 200", p.URL, p.Status, public)
				}
				if p := fetch(t, c, http.MethodGet, tc.start+"/open?kind=analyses&id=forged-2", nil); p.URL != public+"/embed/analyses/forged-2" {
					t.Errorf("/open ended at %s, want %s/embed/analyses/forged-2", p.URL, public)
				}
				if p := signOut(t, c, tc.start); p.URL != public+"/signed-out" {
					t.Errorf("sign-out ended at %s, want %s/signed-out", p.URL, public)
				}

				checked := map[string]bool{}
				for _, h := range rec.since(0) {
					if !rec.forgeFor[h.URL.Host] || h.Status < 300 || h.Status > 399 {
						continue
					}
					checked[h.URL.Path] = true
					if problem := badRedirect(h.Location, public, st.IssuerURL); problem != "" {
						t.Errorf("%s %s: Location %s: %s", h.Method, h.URL.Path, h.Location, problem)
					}
				}
				for _, path := range []string{"/embed/dashboards/forged-1", "/login", "/auth/callback", "/open", "/logout"} {
					if !checked[path] {
						t.Errorf("no redirect from %s was checked; the flow did not go as planned", path)
					}
				}
			})
		}
		// Proof that the forged headers reached nginx (which passes them on:
		// its configuration sets only Host and X-Forwarded-For).
		if log := lb.accessLog(); !strings.Contains(log, `xfh="evil.example"`) {
			t.Errorf("nginx's access log shows no forged X-Forwarded-Host; the test did not send it")
		}
	})
}

// badRedirect says what is wrong with a gateway's Location, or "". Every
// redirect goes to the public URL, or to the provider with the public URL as
// the return address; nothing of the forged headers may appear.
func badRedirect(loc, public, issuer string) string {
	u, err := url.Parse(loc)
	if err != nil || !u.IsAbs() {
		return "not an absolute URL"
	}
	// The forged port shows as a wrong origin below.
	decoded, _ := url.QueryUnescape(loc)
	if strings.Contains(loc+decoded, "evil.example") || strings.Contains(loc+decoded, "https:") {
		return "carries a forged value"
	}
	origin := u.Scheme + "://" + u.Host
	switch origin {
	case public:
		return ""
	case issuer:
		for _, k := range []string{"redirect_uri", "post_logout_redirect_uri"} {
			if v := u.Query().Get(k); v != "" && !strings.HasPrefix(v, public+"/") {
				return fmt.Sprintf("%s = %s, want under %s", k, v, public)
			}
		}
		return ""
	}
	return "goes to " + origin + ", want " + public + " or the provider " + issuer
}

// TestBadRedirect shows the Location check can fail; it needs nothing
// installed.
func TestBadRedirect(t *testing.T) {
	const public, issuer = "http://127.0.0.1:4000", "http://127.0.0.1:5000"
	for _, tc := range []struct {
		loc  string
		want string // "" for a good redirect, else part of the problem
	}{
		{public + "/login?rd=%2Fembed%2Fstart", ""},
		{public + "/embed/analyses/x", ""},
		{issuer + "/authorize?client_id=c&redirect_uri=" + url.QueryEscape(public+"/auth/callback"), ""},
		{issuer + "/end_session?post_logout_redirect_uri=" + url.QueryEscape(public+"/signed-out"), ""},
		{"/embed/start", "not an absolute URL"},
		{"http://evil.example/login", "forged"},
		{"https://127.0.0.1:4000/login", "forged"},
		{"http://127.0.0.1:8443/login", "goes to http://127.0.0.1:8443"},
		{"http://127.0.0.1:40001/login", "goes to http://127.0.0.1:40001"},
		{issuer + "/authorize?redirect_uri=" + url.QueryEscape("http://evil.example/auth/callback"), "forged"},
		{issuer + "/authorize?redirect_uri=" + url.QueryEscape("http://127.0.0.1:40001/auth/callback"), "redirect_uri = http://127.0.0.1:40001/auth/callback"},
		{issuer + "/end_session?post_logout_redirect_uri=" + url.QueryEscape("http://127.0.0.1:8443/signed-out"), "post_logout_redirect_uri"},
	} {
		got := badRedirect(tc.loc, public, issuer)
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("badRedirect(%q) = %q, want %q", tc.loc, got, tc.want)
		}
	}
}

// upstreamOf returns the instance that answered the request for path
// through nginx at lbAddr.
func upstreamOf(t *testing.T, hops []hop, lbAddr, path string) string {
	t.Helper()
	for _, h := range hops {
		if h.URL.Host == lbAddr && h.URL.Path == path {
			if h.Upstream == "" {
				t.Fatalf("%s: no X-Upstream header from nginx", path)
			}
			return h.Upstream
		}
	}
	t.Fatalf("no request for %s through nginx", path)
	return ""
}

// countServedBy counts the X-Upstream values whose answering instance (the
// last one tried) is addr.
func countServedBy(ups []string, addr string) int {
	n := 0
	for _, u := range ups {
		if answeredBy(u) == addr {
			n++
		}
	}
	return n
}

func answeredBy(upstream string) string {
	parts := strings.Split(upstream, ", ")
	return parts[len(parts)-1]
}

// A load is clients loading a page without pause, counting failures: any
// status but 200, a page without the console, or a transport error.
type load struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	ok      int
	by      map[string]int // answering instance -> page views
	retried int            // answered after nginx tried the other instance
	fails   []string
}

// startLoad starts n clients sharing the cookie jar (the signed-in user)
// loading target, each on its own connection to nginx.
func startLoad(t *testing.T, jar http.CookieJar, target string, n int) *load {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ld := &load{cancel: cancel, by: map[string]int{}}
	t.Cleanup(func() { ld.stop() })
	for range n {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		c := &http.Client{Jar: jar, Transport: tr, Timeout: stepTimeout}
		ld.wg.Go(func() {
			defer tr.CloseIdleConnections()
			for ctx.Err() == nil {
				p, err := tryFetch(ctx, c, http.MethodGet, target, nil)
				if ctx.Err() != nil {
					return // stopped mid-request: not the gateway's failure
				}
				ld.record(p, err)
			}
		})
	}
	return ld
}

func (ld *load) record(p page, err error) {
	ld.mu.Lock()
	defer ld.mu.Unlock()
	up := p.Header.Get("X-Upstream")
	switch {
	case err != nil:
		ld.fails = append(ld.fails, fmt.Sprintf("error: %v", err))
	case p.Status != http.StatusOK || !strings.Contains(p.Body, `id="qs-console"`):
		ld.fails = append(ld.fails, fmt.Sprintf("status %d at %s from %q: %.120s", p.Status, p.URL, up, strings.Join(strings.Fields(p.Body), " ")))
	default:
		ld.ok++
		ld.by[answeredBy(up)]++
		if strings.Contains(up, ", ") {
			ld.retried++
		}
	}
}

func (ld *load) served() int {
	ld.mu.Lock()
	defer ld.mu.Unlock()
	return ld.ok
}

func (ld *load) servedBy(addr string) int {
	ld.mu.Lock()
	defer ld.mu.Unlock()
	return ld.by[addr]
}

// stop stops the clients and returns the page views, the failures and how
// many nginx retried on the other instance.
func (ld *load) stop() (total int, fails []string, retried int) {
	ld.cancel()
	ld.wg.Wait()
	ld.mu.Lock()
	defer ld.mu.Unlock()
	return ld.ok + len(ld.fails), ld.fails, ld.retried
}

// A quicksightGate is a reverse proxy in front of the simulator's API that
// the test can close: requests then wait at the gate, so the test knows a
// gateway request is in flight and for how long.
type quicksightGate struct {
	url     string
	proxy   *httputil.ReverseProxy
	arrived chan struct{} // a request is waiting at the closed gate

	mu     sync.Mutex
	closed chan struct{} // nil when open; closing it releases the waiters
}

func startGate(t *testing.T, simURL string) *quicksightGate {
	t.Helper()
	target, err := url.Parse(simURL)
	if err != nil {
		t.Fatal(err)
	}
	// The Director keeps the incoming Host, which the gateway signed
	// (SigV4), so the simulator's signature check still passes.
	g := &quicksightGate{proxy: httputil.NewSingleHostReverseProxy(target), arrived: make(chan struct{}, 16)}
	// A gateway that gives up on a request (a stop, its AWS timeout) makes
	// the proxy log "context canceled": not news.
	g.proxy.ErrorLog = log.New(io.Discard, "", 0)
	srv := httptest.NewServer(g)
	g.url = srv.URL
	t.Cleanup(func() {
		g.release()
		srv.Close()
	})
	return g
}

func (g *quicksightGate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	closed := g.closed
	g.mu.Unlock()
	if closed != nil {
		select {
		case g.arrived <- struct{}{}:
		default:
		}
		select {
		case <-closed:
		case <-r.Context().Done():
			return
		}
	}
	g.proxy.ServeHTTP(w, r)
}

// hold closes the gate.
func (g *quicksightGate) hold() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed == nil {
		g.closed = make(chan struct{})
	}
}

// release opens the gate and lets the waiting requests through.
func (g *quicksightGate) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed != nil {
		close(g.closed)
		g.closed = nil
	}
}

// nginxConf is the load balancer: round robin over the instances, with a
// retry on the other instance when one cannot take a request.
var nginxConf = template.Must(template.New("nginx.conf").Parse(`# Written by qsgate's e2e tests.
{{if .Root}}user root;{{end}}
worker_processes 1;
error_log {{.Logs}}/nginx-error.log info;
pid {{.Run}}/nginx.pid;
events { worker_connections 512; }
http {
  log_format upstream '$remote_addr "$request" $status upstream="$upstream_addr" upstream_status="$upstream_status" xfh="$http_x_forwarded_host"';
  access_log {{.Logs}}/nginx-access.log upstream;
  client_body_temp_path {{.Run}}/client_body;
  proxy_temp_path {{.Run}}/proxy;
  fastcgi_temp_path {{.Run}}/fastcgi;
  uwsgi_temp_path {{.Run}}/uwsgi;
  scgi_temp_path {{.Run}}/scgi;

  upstream qsgate {
    # max_fails=0: never mark an instance down. With the default
    # (max_fails=1 fail_timeout=10s) one refused connection takes an
    # instance out for 10 seconds, even once it is back; stopping the other
    # one within those 10 seconds leaves nginx with "no live upstreams" (502).
    {{range .Upstreams}}server {{.}} max_fails=0;
    {{end}}keepalive 16;
  }
  server {
    listen {{.Listen}};
    location / {
      proxy_pass http://qsgate;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      # Host as the browser sent it, and the client address. Nothing else:
      # X-Forwarded-Host and -Proto from the client pass through unchanged,
      # which the forged-header test relies on.
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_next_upstream error timeout;
      proxy_buffer_size 8k;
      proxy_connect_timeout 2s;
      proxy_send_timeout 30s;
      proxy_read_timeout 30s;
      add_header X-Upstream $upstream_addr always;
    }
  }
}
`))

// An nginx is a running nginx, stopped at the end of the test.
type nginx struct {
	logs string // folder of its logs
}

func startNginx(t *testing.T, path, listen, logs string, upstreams ...string) *nginx {
	t.Helper()
	run := t.TempDir()
	conf := filepath.Join(logs, "nginx.conf")
	f, err := os.Create(conf)
	if err != nil {
		t.Fatal(err)
	}
	err = nginxConf.Execute(f, map[string]any{
		"Root": os.Geteuid() == 0, "Logs": logs, "Run": run, "Listen": listen, "Upstreams": upstreams,
	})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	out, err := os.Create(filepath.Join(logs, "nginx-stderr.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(path, "-p", run, "-c", conf, "-e", filepath.Join(logs, "nginx-error.log"), "-g", "daemon off;")
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		out.Close()
		t.Fatalf("start nginx: %v", err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait() // its exit status says nothing the logs do not
		out.Close()
		close(done)
	}()
	n := &nginx{logs: logs}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM) // fast shutdown of master and worker
		select {
		case <-done:
		case <-time.After(10 * time.Second):
		}
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // whatever is left of the group; ESRCH when none
		<-done
		if t.Failed() {
			t.Logf("nginx error log (%s/nginx-error.log), last lines:\n%s", logs, readTail(filepath.Join(logs, "nginx-error.log"), 30))
		}
	})

	client := &http.Client{Timeout: time.Second}
	waitFor(t, startTimeout, "nginx to answer /healthz", func() bool {
		select {
		case <-done:
			t.Fatalf("nginx exited at start; its output:\n%s\n%s", readTail(out.Name(), 20), readTail(filepath.Join(logs, "nginx-error.log"), 20))
		default:
		}
		resp, err := client.Get("http://" + listen + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return n
}

func (n *nginx) accessLog() string {
	b, err := os.ReadFile(filepath.Join(n.logs, "nginx-access.log"))
	if err != nil {
		return err.Error()
	}
	return string(b)
}
