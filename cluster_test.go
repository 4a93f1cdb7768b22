package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/oauth2-proxy/mockoidc"

	"github.com/qsgate/qsgate/qssim"
	"github.com/qsgate/qsgate/redistest"
)

// startTwin runs a second gateway with s's settings (same provider,
// simulator, keys and Redis) on its own port, until the test ends, and
// returns its URL. A browser's cookies go to both: same host, other port.
func startTwin(t *testing.T, s *stack) string {
	t.Helper()
	addr := freeAddr(t)
	env := maps.Clone(s.env)
	env["QSGATE_LISTEN_ADDR"] = addr
	env["QSGATE_PUBLIC_URL"] = "http://" + addr
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	logs := &syncBuffer{}
	go func() {
		done <- run(ctx, []string{"serve", "--env-file", "/dev/null"}, func(k string) string { return env[k] }, io.Discard, logs)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		if t.Failed() {
			t.Logf("twin logs:\n%s", logs)
		}
	})
	url := "http://" + addr
	if !waitFor(func() bool { return httpStatus(url+"/readyz") == 200 }) {
		t.Fatalf("the twin never became ready:\n%s", logs)
	}
	return url
}

// With Redis, two instances hold one per-user view limit and one AWS call
// budget, counted by the simulator.
func TestClusterWideLimits(t *testing.T) {
	r := redistest.Start(t)
	s := startStack(t, map[string]string{"QSGATE_REDIS_URL": r.URL(), "QSGATE_EMBED_RATE": "3/h"})
	twin := startTwin(t, s)
	b := newBrowser(t)
	s.signIn(b, alice, "/")
	for i, base := range []string{s.url, twin, s.url} {
		if p := b.get(base + "/embed/start"); p.status != 200 {
			t.Fatalf("view %d: %s", i+1, p)
		}
	}
	if p := b.get(twin + "/embed/start"); p.status != 429 {
		t.Errorf("fourth view on the other instance: %s, want 429 (one limit for the cluster)", p)
	}
}

func TestClusterWideBudget(t *testing.T) {
	r := redistest.Start(t)
	s := startStack(t, map[string]string{"QSGATE_REDIS_URL": r.URL(), "QSGATE_QUICKSIGHT_MAX_RPS": "2", "QSGATE_AWS_TIMEOUT": "1s", "QSGATE_SHUTDOWN_GRACE": "10s"})
	twin := startTwin(t, s)
	const views = 12
	browsers := make([]*browser, views)
	for i := range browsers {
		email := fmt.Sprintf("crowd%02d@example.com", i)
		s.sim.AddUser(qssim.User{UserName: email, Email: email, Role: "AUTHOR"})
		browsers[i] = newBrowser(t)
		s.signIn(browsers[i], mockUser(email), "/")
	}
	s.sim.Reset()
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, b := range browsers {
		base := []string{s.url, twin}[i%2]
		wg.Go(func() {
			<-start
			b.get(base + "/embed/start")
		})
	}
	close(start)
	wg.Wait()
	// One budget of 2 a second (burst 2) for ~0.75 s of waiting: about 3
	// calls; two budgets would let about 7 through.
	if n := len(embedCalls(s.sim)); n < 1 || n > 5 {
		t.Errorf("QuickSight saw %d embed calls from two instances, want the one budget's 1-5", n)
	}
}

// Redis down: the instance is not ready and its limits fall back to its
// own; Redis back: ready again, by itself.
func TestRedisOutage(t *testing.T) {
	r := redistest.Start(t)
	s := startStack(t, map[string]string{"QSGATE_REDIS_URL": r.URL(), "QSGATE_METRICS_ADDR": freeAddr(t)})
	b := newBrowser(t)
	s.signIn(b, alice, "/")
	r.Stop()
	if !waitFor(func() bool { return httpStatus(s.url+"/readyz") == 503 }) {
		t.Fatal("/readyz stayed 200 with Redis down")
	}
	if p := b.get(s.url + "/embed/start"); p.status != 200 {
		t.Errorf("a view with Redis down (cookie sessions, local limits): %s", p)
	}
	metrics := httpBody(t, "http://"+s.env["QSGATE_METRICS_ADDR"]+"/metrics")
	if !strings.Contains(metrics, "qsgate_redis_up 0") || strings.Contains(metrics, "qsgate_limit_fallbacks_total 0") {
		t.Errorf("metrics do not say Redis is down and limits fell back:\n%s", grepLines(metrics, "qsgate_redis_up", "qsgate_limit_fallbacks"))
	}
	r.Restart()
	if !waitFor(func() bool { return httpStatus(s.url+"/readyz") == 200 }) {
		t.Fatal("/readyz did not recover when Redis came back")
	}
}

func mockUser(email string) *mockoidc.MockUser {
	return &mockoidc.MockUser{Subject: "sub-" + email, Email: email, EmailVerified: true}
}

func httpBody(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return string(data)
}

// grepLines is the lines of text that start with one of the prefixes.
func grepLines(text string, prefixes ...string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		for _, p := range prefixes {
			if strings.HasPrefix(l, p) {
				out = append(out, l)
			}
		}
	}
	return strings.Join(out, "\n")
}
