// Package redistest starts a real Redis (Debian's redis-server) on a free
// loopback port for tests, and can stop and restart it on the same port to
// test outages. It is for tests only. Without redis-server the test is
// skipped with a message, unless QSGATE_E2E is set (CI): then it fails.
package redistest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Server is a running redis-server.
type Server struct {
	t    testing.TB
	bin  string
	dir  string
	port int
	pass string

	mu  sync.Mutex
	cmd *exec.Cmd
}

// Start starts redis-server on 127.0.0.1 with a password, no persistence,
// stopped when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("QSGATE_E2E") != "" {
			t.Fatalf("redis-server not found (apt-get install -y redis-server); QSGATE_E2E requires it")
		}
		t.Skip("redis-server not found: apt-get install -y redis-server (set QSGATE_E2E=1 to make this a failure)")
	}
	s := &Server{t: t, bin: bin, dir: t.TempDir(), port: freePort(t), pass: "redistest-" + strconv.Itoa(os.Getpid())}
	s.Restart()
	t.Cleanup(s.Stop)
	return s
}

// URL is the redis:// URL with the password, for QSGATE_REDIS_URL.
func (s *Server) URL() string {
	return fmt.Sprintf("redis://:%s@127.0.0.1:%d/0", s.pass, s.port)
}

// Addr is host:port.
func (s *Server) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

// Stop kills the server (as a crash would: no save).
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}

// Restart starts the server again on the same port (empty: no persistence)
// and waits until it answers.
func (s *Server) Restart() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return
	}
	cmd := exec.Command(s.bin, "--port", strconv.Itoa(s.port), "--bind", "127.0.0.1", "--requirepass", s.pass,
		"--save", "", "--appendonly", "no", "--dir", s.dir, "--logfile", filepath.Join(s.dir, "redis.log"))
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("start redis-server: %v", err)
	}
	s.cmd = cmd
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if ping(s.Addr(), s.pass) {
			return
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(s.dir, "redis.log"))
			s.t.Fatalf("redis-server did not answer on %s:\n%s", s.Addr(), log)
		}
	}
}

// ping speaks just enough RESP to see the server up.
func ping(addr, pass string) bool {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	fmt.Fprintf(c, "*2\r\n$4\r\nAUTH\r\n$%d\r\n%s\r\n*1\r\n$4\r\nPING\r\n", len(pass), pass)
	buf := make([]byte, 64)
	n, _ := c.Read(buf)
	got := string(buf[:n])
	if !strings.Contains(got, "+PONG") {
		m, _ := c.Read(buf)
		got += string(buf[:m])
	}
	return strings.Contains(got, "+PONG")
}

// freePort is a free port below the kernel's ephemeral range, so no
// outgoing connection takes it between our check and redis binding it.
var (
	portMu   sync.Mutex
	nextPort = 32000 - os.Getpid()%4000
)

func freePort(t testing.TB) int {
	portMu.Lock()
	defer portMu.Unlock()
	for ; nextPort > 20000; nextPort -= 7 {
		port := nextPort
		if ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port)); err == nil {
			ln.Close()
			nextPort -= 7 // parallel tests in this process get other ports
			return port
		}
	}
	t.Fatal("no free port")
	return 0
}
