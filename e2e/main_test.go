package e2e

import (
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/qsgate/qsgate/internal/devkit/demo"
	"github.com/qsgate/qsgate/internal/devkit/qssim"
)

// outDir is where screenshots and logs go, relative to this package's folder
// (go test runs tests there). It is ignored by git (/e2e/out/).
const outDir = "out"

// Bounds on the waits: long enough for a loaded CI runner with -race, short
// enough that a stuck step fails with a message instead of the test timeout.
const (
	startTimeout = 60 * time.Second // a process becomes ready
	stepTimeout  = 30 * time.Second // one browser step, one request
)

// raceEnabled is set by race_test.go when the tests run with -race; the
// gateway binary is then built with -race too.
var raceEnabled bool

// build is the gateway binary, built once per run by the first test that
// needs it, so that a run that skips everything builds nothing.
var build struct {
	once sync.Once
	dir  string // removed by TestMain
	path string
	err  error
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "qsgate-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	build.dir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// gatewayBinary returns the path of the qsgate binary, building it on first
// use (with -race when the tests run with -race).
func gatewayBinary(t *testing.T) string {
	t.Helper()
	build.once.Do(func() {
		// go test puts its own GOROOT/bin first in the test's PATH.
		goTool, err := exec.LookPath("go")
		if err != nil {
			build.err = err
			return
		}
		build.path = filepath.Join(build.dir, "qsgate")
		args := []string{"build", "-o", build.path}
		if raceEnabled {
			args = append(args, "-race")
		}
		args = append(args, "github.com/qsgate/qsgate")
		out, err := exec.Command(goTool, args...).CombinedOutput()
		if err != nil {
			build.err = fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
			return
		}
		t.Logf("built the gateway: go %s", strings.Join(args, " "))
	})
	if build.err != nil {
		t.Fatalf("building the gateway: %v", build.err)
	}
	return build.path
}

// testOutDir is e2e/out/logs/{test name}, created empty.
func testOutDir(t *testing.T) string {
	t.Helper()
	name := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())
	dir := filepath.Join(outDir, "logs", name)
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// freeAddr returns a loopback address with a port that was free a moment
// ago. The gateway and nginx need their port before they start (it is in
// QSGATE_PUBLIC_URL and in nginx's configuration), so a port taken by
// another process in between fails the start, with its log.
func freeAddr(t *testing.T) string {
	t.Helper()
	// Below the kernel's ephemeral range (32768 and up on Linux), so no
	// outgoing connection can take the port while an instance is down for
	// its restart, and no port-0 listener of another test can take it
	// before the instance binds it. The range differs from the root
	// package's (20000-31999), which may run at the same time.
	for range 100 {
		addr := fmt.Sprintf("127.0.0.1:%d", 10000+rand.IntN(10000))
		if ln, err := net.Listen("tcp", addr); err == nil {
			ln.Close()
			return addr
		}
	}
	t.Fatal("no free port in 10000-19999")
	return ""
}

// startDemo starts the development OIDC provider and the QuickSight
// simulator for a gateway reached at opts.PublicURL, logging to
// dir/demo.log.
func startDemo(t *testing.T, dir string, opts demo.Options) *demo.Stack {
	t.Helper()
	f, err := os.Create(filepath.Join(dir, "demo.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	opts.Logger = slog.New(slog.NewTextHandler(f, nil))
	st, err := demo.Start(opts)
	if err != nil {
		t.Fatalf("demo.Start: %v", err)
	}
	t.Cleanup(st.Close)
	return st
}

// embedOperations are the QuickSight calls that issue an embed URL, by
// QSGATE_QUICKSIGHT_API.
var embedOperations = map[string]string{
	demo.APISession:        "GetSessionEmbedUrl",
	demo.APIRegisteredUser: "GenerateEmbedUrlForRegisteredUser",
}

// embedCalls counts the embed calls (either API) the simulator answered
// with an embed URL.
func embedCalls(st *demo.Stack) int {
	n := 0
	for _, c := range st.Sim.Calls() {
		if isEmbedCall(c) && c.Status == http.StatusOK {
			n++
		}
	}
	return n
}

func isEmbedCall(c qssim.Call) bool {
	return c.Operation == embedOperations[demo.APISession] || c.Operation == embedOperations[demo.APIRegisteredUser]
}

// A gateway is one `qsgate serve` process, started and stopped by the test.
// Stopping and starting again reuses the address, as a restart does.
type gateway struct {
	name    string
	bin     string
	addr    string // 127.0.0.1:port
	env     []string
	logPath string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	err  error         // Wait's result, set before done closes
}

// startGateway starts `qsgate serve` on addr with settings (QSGATE_* and
// AWS_*; QSGATE_LISTEN_ADDR is added) and waits until /readyz answers 200.
// Its log (stderr) goes to dir/{name}.log. The process is killed at the end
// of the test if it still runs.
func startGateway(t *testing.T, name, bin, addr, dir string, settings map[string]string) *gateway {
	t.Helper()
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for _, k := range slices.Sorted(maps.Keys(settings)) {
		env = append(env, k+"="+settings[k])
	}
	env = append(env, "QSGATE_LISTEN_ADDR="+addr)
	g := &gateway{name: name, bin: bin, addr: addr, env: env, logPath: filepath.Join(dir, name+".log")}
	t.Cleanup(func() {
		g.kill()
		if t.Failed() {
			t.Logf("%s log (%s), last lines:\n%s", g.name, g.logPath, tail(g.logs(), 40))
		}
	})
	g.start(t)
	return g
}

// start starts the process (appending to its log) and waits until ready.
func (g *gateway) start(t *testing.T) {
	t.Helper()
	logf, err := os.OpenFile(g.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(logf, "--- e2e: starting %s on %s\n", g.name, g.addr)
	cmd := exec.Command(g.bin, "serve", "--env-file", "/dev/null")
	cmd.Env = g.env
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own process group, so cleanup can kill everything it started; and
	// killed if the test binary dies without cleaning up (a test timeout).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("start %s: %v", g.name, err)
	}
	done := make(chan struct{})
	g.mu.Lock()
	g.cmd, g.done = cmd, done
	g.mu.Unlock()
	go func() {
		err := cmd.Wait()
		logf.Close()
		g.mu.Lock()
		g.err = err
		g.mu.Unlock()
		close(done)
	}()
	g.waitReady(t)
}

// waitReady polls /readyz until it answers 200.
func (g *gateway) waitReady(t *testing.T) {
	t.Helper()
	g.mu.Lock()
	done := g.done
	g.mu.Unlock()
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(startTimeout)
	for {
		resp, err := client.Get("http://" + g.addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-done:
			t.Fatalf("%s exited before it was ready (%v); log:\n%s", g.name, g.exitErr(), tail(g.logs(), 40))
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready after %v (last: %v); log:\n%s", g.name, startTimeout, err, tail(g.logs(), 40))
		}
	}
}

// terminate sends SIGTERM, as an orchestrator does to stop an instance.
func (g *gateway) terminate(t *testing.T) {
	t.Helper()
	g.mu.Lock()
	cmd := g.cmd
	g.mu.Unlock()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM %s: %v", g.name, err)
	}
}

// wait waits for the process to exit and returns Wait's error: nil means it
// exited with status 0.
func (g *gateway) wait(t *testing.T) error {
	t.Helper()
	g.mu.Lock()
	done := g.done
	g.mu.Unlock()
	select {
	case <-done:
		return g.exitErr()
	case <-time.After(startTimeout):
		t.Fatalf("%s still running %v after SIGTERM; log:\n%s", g.name, startTimeout, tail(g.logs(), 40))
		return nil
	}
}

// stop sends SIGTERM and fails the test unless the process exits cleanly
// (status 0: every request drained within QSGATE_SHUTDOWN_GRACE).
func (g *gateway) stop(t *testing.T) {
	t.Helper()
	g.terminate(t)
	if err := g.wait(t); err != nil {
		t.Fatalf("%s exit after SIGTERM: %v, want status 0 (graceful shutdown); log:\n%s", g.name, err, tail(g.logs(), 40))
	}
}

func (g *gateway) exitErr() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.err
}

// kill kills the process group if the process still runs.
func (g *gateway) kill() {
	g.mu.Lock()
	cmd, done := g.cmd, g.done
	g.mu.Unlock()
	if cmd == nil {
		return
	}
	select {
	case <-done:
		return
	default:
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // ESRCH: it just exited
	<-done
}

func (g *gateway) logs() string {
	b, err := os.ReadFile(g.logPath)
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// waitFor polls cond until it holds, failing the test with what after
// timeout.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
