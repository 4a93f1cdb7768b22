package commands

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// A client's values reach the log bounded: a long path is cut, with its
// length, so one client cannot write megabytes of log a request.
func TestLogBoundsClientValues(t *testing.T) {
	s := startStack(t, nil)
	path := "/static/" + strings.Repeat("a", 50_000) // 404, logged by the request log and the error handler
	before := len(s.logs.String())
	resp, err := http.Get(s.url + path)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("GET a long path: %d, want 404", resp.StatusCode)
	}
	waitFor(func() bool { return strings.Contains(s.logs.String()[before:], "bytes)") })
	logged := s.logs.String()[before:]
	if n := len(logged); n > 4_000 {
		t.Errorf("a 50 KB path wrote %d bytes of log, want a few hundred a line", n)
	}
	if !strings.Contains(logged, "...(50008 bytes)") {
		t.Errorf("the cut path does not say its length:\n%s", logged)
	}
}

// A request's line and headers are bounded: qsgate's own cookies are a few
// KB, and 1 MB of headers from each of a few connections would take the
// memory of many.
func TestHeaderBytesBounded(t *testing.T) {
	s := startStack(t, nil)
	req, _ := http.NewRequest(http.MethodGet, s.url+"/healthz", nil)
	req.Header.Set("X-Big", strings.Repeat("b", 200_000))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("200 KB of headers: %d, want 431", resp.StatusCode)
	}
	req.Header.Set("X-Big", strings.Repeat("b", 16_000)) // a big company cookie jar still passes
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("16 KB of headers: %d, want 200", resp.StatusCode)
	}
}

// With every allowed connection held by idle keep-alive clients, a new
// client is still served: qsgate closes the idle ones instead of waiting
// for their idle timeout, says so in the log and counts it.
func TestConnectionLimitClosesIdleConnections(t *testing.T) {
	metricsAddr := freeAddr(t)
	s := startStack(t, map[string]string{"QSGATE_MAX_CONNECTIONS": "10", "QSGATE_METRICS_ADDR": metricsAddr})
	addr := strings.TrimPrefix(s.url, "http://")
	for i := range 10 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		// One request, answered, and the connection kept open and idle.
		fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("idle client %d: %v", i, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	client := &http.Client{Timeout: 30 * time.Second} // well under the 75 s idle timeout
	resp, err := client.Get(s.url + "/healthz")
	if err != nil {
		t.Fatalf("a new client while 10 idle connections are held: %v", err)
	}
	resp.Body.Close()
	if !strings.Contains(s.logs.String(), "connection limit reached") {
		t.Errorf("the log does not say the connection limit was reached:\n%s", s.logs)
	}
	resp, err = http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "qsgate_connections_limited_total 1") {
		t.Errorf("metrics lack qsgate_connections_limited_total 1:\n%s", grepLines(string(body), "qsgate_connections"))
	}
}

// Unset, the connection cap follows the memory limit: a third of it for
// connections still sending headers (80 KiB each), between 64 and 1,000.
func TestMaxConnectionsFromTheMemoryLimit(t *testing.T) {
	for _, tt := range []struct {
		limit int64
		want  int
	}{
		{math.MaxInt64, 1000}, // no limit
		{44_800 << 10, 186},   // the soft limit in a 64 MiB container
		{2 << 30, 1000},
		{4 << 20, 64},
	} {
		if got := maxConnections(tt.limit); got != tt.want {
			t.Errorf("maxConnections(%d) = %d, want %d", tt.limit, got, tt.want)
		}
	}
	s := startStack(t, nil)
	if !strings.Contains(s.logs.String(), "max_connections=") {
		t.Errorf("the start-up line does not say the connection cap:\n%s", s.logs)
	}
}
