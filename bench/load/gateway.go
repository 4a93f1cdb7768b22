package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/qsgate/qsgate/internal/devkit/qssim"
)

// The gateway under test runs as a child process: `qsgate serve`, configured
// by environment only.

// secret is the gateway's client secret at the provider, fresh per run.
var secret = rand.Text()

// gatewayEnv is the gateway's whole configuration: it reaches the
// simulator and the provider above, with the per-user view rate off and the
// AWS call budget at the most config allows (one user per connection drives
// many views a second, and the gateway is measured, not its admission
// control).
func (s *stack) gatewayEnv(mapping, listen, metrics, logLevel string) map[string]string {
	env := map[string]string{
		"QSGATE_LISTEN_ADDR":             listen,
		"QSGATE_METRICS_ADDR":            metrics,
		"QSGATE_PUBLIC_URL":              s.gateway,
		"QSGATE_OIDC_ISSUER":             s.idpURL,
		"QSGATE_OIDC_CLIENT_ID":          clientID,
		"QSGATE_OIDC_CLIENT_SECRET":      secret,
		"QSGATE_SESSION_KEYS":            rand.Text() + rand.Text(),
		"QSGATE_QUICKSIGHT_ACCOUNT_ID":   accountID,
		"QSGATE_USER_MAPPING":            mapping,
		"QSGATE_ALLOWED_EMAIL_DOMAINS":   domain,
		"QSGATE_AUTHOR_GROUPS":           authorGroup,
		"QSGATE_EMBED_RATE":              "0",
		"QSGATE_QUICKSIGHT_MAX_RPS":      "10000", // the most config allows: the load measures the gateway, not its budget
		"QSGATE_QUICKSIGHT_MAX_INFLIGHT": "64",    // more than the 50-user latency level needs; -gateway-env to change
		"QSGATE_SHUTDOWN_GRACE":          "10s",
		"QSGATE_LOG_LEVEL":               logLevel,
		"AWS_REGION":                     qssim.DefaultRegion,
		"AWS_ACCESS_KEY_ID":              qssim.DefaultAccessKeyID,
		"AWS_SECRET_ACCESS_KEY":          qssim.DefaultSecretAccessKey,
		"AWS_ENDPOINT_URL_QUICKSIGHT":    s.simURL,
		"AWS_ENDPOINT_URL_STS":           s.simURL,
	}
	if mapping == "iam" {
		env["QSGATE_IAM_ROLE_ARN"] = "arn:aws:iam::" + accountID + ":role/" + iamRole
		env["QSGATE_IAM_REGISTER"] = "true"
	}
	return env
}

// startGateway runs `bin serve` with env (and nothing of this process's
// AWS_ or QSGATE_ settings) in an empty directory, logs to dir, and waits
// until /readyz answers 200. After stopGateway it may run again.
func (s *stack) startGateway(ctx context.Context, bin, dir string, env map[string]string) error {
	s.metrics = "http://" + env["QSGATE_METRICS_ADDR"] + "/metrics"
	s.cmd = exec.Command(bin, "serve")
	s.cmd.Dir = dir
	// Should this process die without stopping it, the gateway goes too.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") && !strings.HasPrefix(kv, "QSGATE_") {
			s.cmd.Env = append(s.cmd.Env, kv)
		}
	}
	for k, v := range env {
		s.cmd.Env = append(s.cmd.Env, k+"="+v)
	}
	s.logPath = filepath.Join(dir, "gateway.log")
	// Appended to: -hostile starts the gateway again for each scenario.
	logs, err := os.OpenFile(s.logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	// Through a pipe that this process copies to the file, as a container's
	// stdout goes to its runtime: the file's page cache is then not charged
	// to the gateway's memory cgroup (see "In a container").
	out := struct{ io.Writer }{logs}
	s.cmd.Stdout, s.cmd.Stderr = out, out
	if err := s.cmd.Start(); err != nil {
		return err
	}
	cmd, exited := s.cmd, make(chan error, 1)
	s.exited = exited
	go func() { exited <- cmd.Wait(); logs.Close() }()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		select {
		case err := <-s.exited:
			s.exited <- err
			return fmt.Errorf("the gateway exited: %v\n%s", err, tail(logs.Name()))
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if resp, err := http.Get(s.gateway + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
	}
	return fmt.Errorf("the gateway was not ready within a minute\n%s", tail(logs.Name()))
}

// tail is the end of a log file, for an error message.
func tail(path string) string {
	data, _ := os.ReadFile(path) // an unreadable log shows as empty
	return string(data[max(0, len(data)-4000):])
}

// pid is the gateway's process id.
func (s *stack) pid() int { return s.cmd.Process.Pid }

// stop ends the gateway and the servers.
func (s *stack) stop() {
	s.stopGateway()
	for _, srv := range s.servers {
		srv.Close()
	}
}

// stopGateway ends the gateway: SIGTERM, then a kill after 10 s.
func (s *stack) stopGateway() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM) // it may have exited already
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill() // it did not drain in time
		<-s.exited
	}
	s.cmd = nil
}

// freeAddr is a loopback address nothing listens on right now.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// buildGateway builds the module at root into dir, its version the
// commit it was built from.
func buildGateway(ctx context.Context, root, dir string) (string, error) {
	bin := filepath.Join(dir, "qsgate")
	cmd := exec.CommandContext(ctx, "go", "build", "-ldflags", "-X main.version="+describe(ctx, root), "-o", bin, ".")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
}

// describe names the code at root: the commit, "-dirty" with local edits.
func describe(ctx context.Context, root string) string {
	cmd := exec.CommandContext(ctx, "git", "describe", "--always", "--dirty")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}

// binVersion is what `bin version` prints: the commit a build made by
// buildGateway (or with -ldflags -X main.version=...) came from.
func binVersion(ctx context.Context, bin string) string {
	out, err := exec.CommandContext(ctx, bin, "version").Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}

// moduleRoot is the directory of the go.mod in force.
func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	gomod := strings.TrimSpace(string(out))
	if err != nil || gomod == "" || gomod == os.DevNull {
		return "", errors.New("run this inside the qsgate module (go run ./bench/load)")
	}
	return filepath.Dir(gomod), nil
}

// scrapeClient gives up on a gateway too busy to answer.
var scrapeClient = &http.Client{Timeout: 5 * time.Second}

// scrape reads one counter (the sum over its labels) from the gateway's
// metrics; -1 when it cannot.
func scrape(metricsURL, name string) float64 {
	resp, err := scrapeClient.Get(metricsURL)
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	var body strings.Builder
	if _, err := io.Copy(&body, resp.Body); err != nil {
		return -1
	}
	sum := 0.0
	for _, line := range strings.Split(body.String(), "\n") {
		if rest, ok := strings.CutPrefix(line, name); ok && (strings.HasPrefix(rest, " ") || strings.HasPrefix(rest, "{")) {
			f := strings.Fields(line)
			if v, err := strconv.ParseFloat(f[len(f)-1], 64); err == nil {
				sum += v
			}
		}
	}
	return sum
}
