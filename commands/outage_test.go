package commands

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// QuickSight down for long enough that the SDK's retry budget runs out (the
// retries of calls that could not connect spend it): every view says
// QuickSight cannot be reached, before the budget is spent and after, never
// that QuickSight is busy; the log and the metric say so too. Throttling
// keeps its "busy" page (TestQuickSightErrors).
func TestQuickSightUnreachableIsNotBusy(t *testing.T) {
	metricsAddr := freeAddr(t)
	s := startStack(t, map[string]string{
		"QSGATE_METRICS_ADDR":       metricsAddr,
		"QSGATE_AWS_TIMEOUT":        "1s",   // backoffs of at most 250 ms: the budget goes quickly
		"QSGATE_QUICKSIGHT_MAX_RPS": "1000", // the gateway's own budget out of the way
	})
	const browsers = 8
	bs := make([]*browser, browsers)
	for i := range bs {
		bs[i] = newBrowser(t)
		// A connection pool each: browsers sharing one dial spare
		// connections that never carry a request, and the server's
		// shutdown waits 5 s for those.
		tr := &http.Transport{}
		t.Cleanup(tr.CloseIdleConnections)
		bs[i].c.Transport = tr
		s.signIn(bs[i], alice, "/")
	}
	metrics := func() string { return httpBody(t, "http://"+metricsAddr+"/metrics") }
	budget := func() int { return metricInt(t, metrics(), "qsgate_aws_retry_budget_remaining") }
	if got := budget(); got < 100 {
		t.Fatalf("retry budget %d before the outage, want it full", got)
	}
	s.sim.Close()

	var mu sync.Mutex
	var pages []page
	views := func(n int) { // n rounds of one view from each browser at once
		var wg sync.WaitGroup
		for _, b := range bs {
			wg.Go(func() {
				for range n {
					p := b.get(s.url + "/embed/start")
					mu.Lock()
					pages = append(pages, p)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
	}
	// A retry after a failed call costs 14 of the budget's 500 (the SDK's
	// aws/retry), two retries a view: spent after about 18 views.
	for rounds := 0; budget() >= 14; rounds++ {
		if rounds == 20 {
			t.Fatalf("the retry budget is still %d after %d views", budget(), len(pages))
		}
		views(1)
	}
	spentAt := len(pages)
	views(2) // with the budget spent
	t.Logf("retry budget spent after %d views; %d views in all", spentAt, len(pages))
	for i, p := range pages {
		if p.status != 502 || !strings.Contains(p.body, "QuickSight cannot be reached right now") || strings.Contains(p.body, "busy") {
			t.Errorf("view %d of %d (budget spent after %d): %s, want the 502 unreachable page\n%s", i+1, len(pages), spentAt, p, p.body)
			break
		}
	}

	m := metrics()
	if got, want := metricInt(t, m, `qsgate_embed_urls_total{result="Unreachable"}`), len(pages); got != want {
		t.Errorf(`qsgate_embed_urls_total{result="Unreachable"} = %d, want %d (every view)`, got, want)
	}
	if results := grepLines(m, "qsgate_embed_urls_total{"); strings.Count(results, "\n") > 0 { // more than one line
		t.Errorf("other embed results during the outage:\n%s", results)
	}
	logs := s.logs.String()
	failed := 0
	for _, l := range strings.Split(logs, "\n") {
		if !strings.Contains(l, "request failed") || !strings.Contains(l, "/embed/start") {
			continue
		}
		failed++
		if !strings.Contains(l, "aws_error=Unreachable") || !strings.Contains(l, "cannot be reached") {
			t.Errorf("a failed view's log line does not say QuickSight cannot be reached:\n%s", l)
			break
		}
	}
	if failed != len(pages) {
		t.Errorf("%d log lines of failed views, want %d", failed, len(pages))
	}
	if strings.Contains(logs, "RetryQuotaExceeded") || strings.Contains(strings.ToLower(logs), "throttl") {
		t.Errorf("the log speaks of throttling during an outage:\n%s", grepLines(logs, "time="))
	}
}

// metricInt is the value of the sample named (with its labels) in a
// Prometheus text exposition; 0 when absent.
func metricInt(t *testing.T, exposition, name string) int {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` ([0-9.e+]+)$`).FindStringSubmatch(exposition)
	if m == nil {
		return 0
	}
	f, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return int(f)
}
