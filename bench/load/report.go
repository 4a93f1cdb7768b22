package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// harness runs the levels against one stack.
type harness struct {
	st    *stack
	users []user
	o     options
	bare  viewFunc // nil: -bare=false
}

// levels runs c users through the gateway, then (with -bare) the same
// load as bare SDK calls, with the simulator answering after latency.
func (h *harness) levels(ctx context.Context, progress io.Writer, c int, latency time.Duration) ([]result, error) {
	r, err := h.level(ctx, progress, "gateway", c, latency, pageView(h.st.gateway, h.users))
	if err != nil || h.bare == nil {
		return []result{r}, err
	}
	b, err := h.level(ctx, progress, "bare SDK", c, latency, h.bare)
	return []result{r, b}, err
}

func (h *harness) level(ctx context.Context, progress io.Writer, kind string, c int, latency time.Duration, view viewFunc) (result, error) {
	fmt.Fprintf(progress, "%s: %d at once, simulator latency %v...\n", kind, c, latency)
	st := h.st
	if st.renewable() {
		if err := st.newSimulator(true); err != nil {
			return result{}, err
		}
	}
	sim := st.simulator()
	sim.Reset() // forgets the calls so far, and the latency
	sim.SetLatency(latency)
	pid := strconv.Itoa(st.pid())
	gw0, _ := cpuTime(pid)      // zero if it cannot be read: the figure
	self0, _ := cpuTime("self") // then shows as an implausible one
	conns0, shed0 := st.simConns.Load(), scrape(st.metrics, "qsgate_aws_calls_shed_total")

	samples, from, to := drive(ctx, c, h.o.warmup, h.o.duration, view)

	gw1, _ := cpuTime(pid)
	self1, _ := cpuTime("self")
	r := result{kind: kind, concurrency: c, latency: latency}
	summarize(&r, samples, from, to)
	r.awsCalls = countCalls(st)
	r.simConns = st.simConns.Load() - conns0
	r.gatewayCPU, r.harnessCPU = gw1-gw0, self1-self0
	r.rss, r.hwm, _ = memory(pid)
	r.shed = scrape(st.metrics, "qsgate_aws_calls_shed_total") - shed0
	r.load = loadAverage()
	return r, nil
}

// countCalls counts the simulator's calls since its last Reset by
// operation.
func countCalls(st *stack) map[string]int {
	out := map[string]int{}
	for _, c := range st.simulator().Calls() {
		out[cmp.Or(c.Operation, "unknown")]++
	}
	return out
}

// callText is calls per view, with the operations: "1.00 (GetSessionEmbedUrl 1.00)".
func callText(calls map[string]int, views int) string {
	if views == 0 {
		return "-"
	}
	total := 0
	var ops []string
	for op, n := range calls {
		total += n
		ops = append(ops, fmt.Sprintf("%s %.2f", op, float64(n)/float64(views)))
	}
	slices.Sort(ops)
	return fmt.Sprintf("%.2f (%s)", float64(total)/float64(views), strings.Join(ops, ", "))
}

// hitsText is the provider's requests by path, most first.
func hitsText(hits map[string]int) string {
	var keys []string
	for k := range hits {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int { return hits[b] - hits[a] })
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("`%s` %d", k, hits[k]))
	}
	return strings.Join(parts, ", ")
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d)/float64(time.Millisecond)) }

func mb(b int64) string { return fmt.Sprintf("%.1f", float64(b)/(1<<20)) }

// perThousand is d per 1,000 requests, in seconds.
func perThousand(d time.Duration, n int) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprintf("%.3f", d.Seconds()*1000/float64(n))
}

func printResults(w io.Writer, results []result) {
	fmt.Fprintln(w, "| run | QuickSight latency | users at once | views in window | views/s | p50 ms | p99 ms | errors (status×n) | AWS calls per view | new connections to QuickSight | gateway CPU s / 1k views | load + simulator CPU s / 1k | gateway RSS / peak MB | budget shed | load avg after |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, r := range results {
		gwCPU, mem, shed := perThousand(r.gatewayCPU, r.total), mb(r.rss)+" / "+mb(r.hwm), strconv.FormatFloat(r.shed, 'f', 0, 64)
		if r.kind != "gateway" { // the gateway sat idle
			gwCPU, mem, shed = "-", "-", "-"
		}
		fmt.Fprintf(w, "| %s | %v | %d | %d | %.0f | %s | %s | %s | %s | %d | %s | %s | %s | %s | %s |\n",
			r.kind, r.latency, r.concurrency, r.views, r.rate, ms(r.p50), ms(r.p99), errorText(r.errors),
			callText(r.awsCalls, r.total), r.simConns, gwCPU, perThousand(r.harnessCPU, r.total), mem, shed, r.load)
	}
	fmt.Fprintln(w)
	for _, r := range results {
		for _, why := range r.why {
			fmt.Fprintf(w, "- %s, %d at once, latency %v: %s\n", r.kind, r.concurrency, r.latency, why)
		}
	}
	fmt.Fprintln(w)
}

// printRatios compares each gateway level with its bare SDK twin, and at a
// simulator latency gives the time a view adds to QuickSight's own.
func printRatios(w io.Writer, results []result) {
	fmt.Fprintln(w, "| QuickSight latency | users at once | gateway ÷ bare: views/s | p50 | p99 | view p50 − latency ms | bare p50 − latency ms |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|")
	for i, g := range results {
		if g.kind != "gateway" || i+1 >= len(results) || results[i+1].kind == "gateway" {
			continue
		}
		b := results[i+1]
		over, bareOver := "-", "-"
		if g.latency > 0 {
			over, bareOver = ms(g.p50-g.latency), ms(b.p50-b.latency)
		}
		fmt.Fprintf(w, "| %v | %d | %s | %s | %s | %s | %s |\n", g.latency, g.concurrency,
			ratio(g.rate, b.rate), ratio(float64(g.p50), float64(b.p50)), ratio(float64(g.p99), float64(b.p99)), over, bareOver)
	}
	fmt.Fprintln(w)
}

func ratio(a, b float64) string {
	if b == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f×", a/b)
}
