package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"
)

// printHostile writes the -hostile tables: one row a scenario.
func printHostile(w io.Writer, results []hostileResult, inCgroup bool) {
	cg := ""
	if inCgroup {
		cg = " cgroup usage / peak MiB | cgroup hit its limit | OOM kills |"
	}
	fmt.Fprintln(w, "| scenario | attack connections | gateway RSS before / end / peak MiB | its own (RssAnon) end / most sampled MiB | connections open: before / most / at end | times full (`limited_total`) | log bytes written |"+
		" signed-in views ok | view p50 / max ms | gateway CPU s | harness CPU s |"+cg+" load avg after |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|"+strings.Repeat("---|", strings.Count(cg, "|"))+"---|")
	for _, r := range results {
		peak := mib(r.hwm)
		if !r.hwmReset { // VmHWM could not be reset: the most sampled instead
			peak = mib(r.seen.rss) + " (sampled)"
		}
		logged := fmt.Sprintf("%d", r.logBytes)
		if n := r.t.requests.Load(); r.sc.name == "longpath" && n > 0 {
			logged = fmt.Sprintf("%d (%d a request)", r.logBytes, r.logBytes/n)
		}
		ok, p50, most := legitText(r.legit)
		end, anonEnd, openEnd, limited, cpu := mib(r.rssEnd), mib(r.anonEnd), fmt.Sprintf("%.0f", r.openEnd), fmt.Sprintf("%.0f", r.limited), fmt.Sprintf("%.2f", r.gatewayCPU.Seconds())
		if r.exited != nil { // what it held is gone with it; the samples before are what is left
			end = fmt.Sprintf("**%v after %.1f s**", r.exited, r.seen.gone.Seconds())
			peak, anonEnd, openEnd, limited, cpu = mib(r.seen.rss)+" (sampled)", "-", "-", "-", "-"
		}
		fmt.Fprintf(w, "| %s | %d | %s / %s / %s | %s / %s | %.0f / %.0f / %s | %s | %s | %s | %s / %s | %s | %.2f |",
			r.sc.name, r.sc.conns, mib(r.rssBefore), end, peak, anonEnd, mib(r.seen.anon), r.openBefore, r.seen.open, openEnd, limited,
			logged, ok, p50, most, cpu, r.harnessCPU.Seconds())
		if inCgroup {
			peak := mib(r.cgEnd.peak)
			if !r.cgPeakReset {
				peak += " (since start)"
			}
			fmt.Fprintf(w, " %s / %s | %d | %d |", mib(r.cgEnd.usage), peak, r.cgEnd.failcnt-r.cgBefore.failcnt, r.cgEnd.oomKills-r.cgBefore.oomKills)
		}
		fmt.Fprintf(w, " %s |\n", r.load)
	}
	fmt.Fprintln(w)
	for _, r := range results {
		fmt.Fprintf(w, "- %s (%d): %s. %s\n", r.sc.name, r.sc.conns, r.sc.attack, attackText(r))
		for _, why := range r.t.why {
			fmt.Fprintf(w, "  - attack error: %s\n", why)
		}
		for _, why := range legitErrors(r.legit) {
			fmt.Fprintf(w, "  - signed-in view: %s\n", why)
		}
		if r.exited != nil {
			fmt.Fprintf(w, "  - **the gateway exited** (%v) about %.1f s into the scenario\n", r.exited, r.seen.gone.Seconds())
		}
	}
	fmt.Fprintln(w)
}

// attackText is what the attack saw: connections, the gateway's answers.
func attackText(r hostileResult) string {
	t := r.t
	var b strings.Builder
	if r.sc.name == "longpath" {
		fmt.Fprintf(&b, "Path %d bytes (status %d at that length, 431 past it); %d requests (%.0f/s)",
			r.pathLen, r.pathProbe, t.requests.Load(), float64(t.requests.Load())/r.ran.Seconds())
	} else {
		fmt.Fprintf(&b, "Connections made %d (dials failed %d); ended by the gateway %d; still open at the end %d",
			t.dials.Load(), t.dialFailed.Load(), t.closed.Load(), t.dials.Load()-t.closed.Load())
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.answers) > 0 {
		b.WriteString("; the gateway's answers: ")
		b.WriteString(strings.ReplaceAll(errorText(t.answers), "failed", "none"))
	}
	return b.String()
}

// legitText is "ok/made", the p50 and the most of the signed-in views;
// a view still waiting when the attack ended counts at its wait so far,
// as "≥".
func legitText(views []legitView) (ok, p50, most string) {
	n := 0
	var lat []time.Duration
	waiting := false
	for _, v := range views {
		if v.status == http.StatusOK {
			n++
		}
		lat = append(lat, v.latency)
		waiting = waiting || errors.Is(v.err, context.Canceled)
	}
	if len(lat) == 0 {
		return "0/0", "-", "-"
	}
	slices.Sort(lat)
	most = ms(lat[len(lat)-1])
	if waiting {
		most = "≥" + most
	}
	return fmt.Sprintf("%d/%d", n, len(views)), ms(percentile(lat, 0.5)), most
}

// legitErrors are the first few ways signed-in views failed.
func legitErrors(views []legitView) []string {
	var out []string
	for _, v := range views {
		switch {
		case len(out) == 3:
			return out
		case errors.Is(v.err, context.Canceled):
			out = append(out, fmt.Sprintf("still waiting after %s ms when the attack ended", ms(v.latency)))
		case v.err != nil:
			out = append(out, v.err.Error())
		case v.status != http.StatusOK:
			out = append(out, fmt.Sprintf("status %d", v.status))
		}
	}
	return out
}
