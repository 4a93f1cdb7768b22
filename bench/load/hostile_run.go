package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"sync"
	"time"
)

// Running -hostile's scenarios and measuring the gateway meanwhile.

// hostileRun is the state the scenarios share.
type hostileRun struct {
	st         *stack
	users      []user
	a          attackOptions
	addr       string       // the gateway's host:port
	pathClient *http.Client // longpath's, a keep-alive connection per worker
	cg         memCgroup
	inCgroup   bool
}

// hostileResult is one scenario's figures.
type hostileResult struct {
	sc                 scenario
	t                  *tally
	rssBefore, rssEnd  int64
	hwm                int64 // VmHWM since the scenario began
	anonEnd            int64 // RssAnon as the attack ends
	seen               watched
	hwmReset           bool // false: VmHWM is the process's whole life
	openBefore         float64
	openEnd            float64
	limited            float64
	logBytes           int64
	gatewayCPU         time.Duration
	harnessCPU         time.Duration // this process: the attack, the views, the simulator
	legit              []legitView
	cgBefore, cgEnd    cgroupFigures
	cgPeakReset        bool
	load               string
	exited             error // the gateway died during the scenario
	pathLen, pathProbe int   // longpath: the path's length and its status
	ran                time.Duration
}

// hostile runs the scenarios; restart starts the gateway again (-restart).
func hostile(ctx context.Context, st *stack, users []user, a attackOptions, restart func() error, stdout, stderr io.Writer) error {
	u, err := url.Parse(st.gateway)
	if err != nil {
		return err
	}
	h := &hostileRun{st: st, users: users, a: a, addr: u.Host,
		pathClient: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: a.longpathWorkers}}}
	h.cg, h.inCgroup = gatewayCgroup(strconv.Itoa(st.pid()))
	if h.inCgroup {
		c := h.cg.read()
		fmt.Fprintf(stdout, "- the gateway's memory cgroup: %s (%s), limit %s MiB\n", h.cg.dir, map[bool]string{false: "v1", true: "v2"}[h.cg.v2], mib(c.limit))
	}
	fresh := "one gateway for all, in turn"
	if a.restart {
		fresh = "a fresh gateway for each (the same settings and session keys: the users stay signed in)"
	}
	fmt.Fprintf(stdout, "- each scenario %v, %s; a signed-in view (GET /embed/start, QuickSight answering at once) every second meanwhile\n\n", a.duration, fresh)
	var results []hostileResult
	for i, sc := range h.plan() {
		if i > 0 && a.restart {
			if err := restart(); err != nil {
				return err
			}
		}
		fmt.Fprintf(stderr, "%s: %s...\n", sc.name, sc.attack)
		r, err := h.runScenario(ctx, sc)
		if err != nil {
			return err
		}
		results = append(results, r)
		if r.exited != nil {
			fmt.Fprintf(stderr, "the gateway exited: %v\n", r.exited)
			if !a.restart {
				break
			}
			continue
		}
		if !a.restart {
			h.drain(ctx)
		}
	}
	printHostile(stdout, results, h.inCgroup)
	return ctx.Err()
}

// runScenario runs one attack for the scenario's time and measures the
// gateway as it ends, before the attack's connections close.
func (h *hostileRun) runScenario(ctx context.Context, sc scenario) (hostileResult, error) {
	st, pid := h.st, strconv.Itoa(h.st.pid())
	r := hostileResult{sc: sc, t: newTally()}
	if sc.path != nil {
		path, status, err := longPath(ctx, st.gateway)
		if err != nil {
			return r, fmt.Errorf("longpath: %w", err)
		}
		*sc.path, r.pathLen, r.pathProbe = path, len(path), status
	}
	r.rssBefore, _, _ = memory(pid)
	r.openBefore = scrape(st.metrics, "qsgate_connections_open")
	// Writing 5 to clear_refs starts VmHWM again from VmRSS (Linux 4.0+).
	r.hwmReset = os.WriteFile("/proc/"+pid+"/clear_refs", []byte("5"), 0) == nil
	if h.inCgroup {
		r.cgPeakReset = h.cg.resetPeak()
		r.cgBefore = h.cg.read()
	}
	log0 := fileSize(st.logPath)
	limited0 := scrape(st.metrics, "qsgate_connections_limited_total")
	cpu0, _ := cpuTime(pid)
	self0, _ := cpuTime("self")

	// The attack, the views and the sampler run on until the gateway is
	// measured, so that the figures are the attack's, its connections open.
	actx, stopAttack := context.WithCancel(ctx)
	defer stopAttack()
	var wg sync.WaitGroup
	wg.Go(func() { sc.run(actx, r.t) })
	wg.Go(func() { r.legit = legitViews(actx, st.gateway, h.users, h.a.duration) })
	wg.Go(func() { r.seen = watch(actx, pid, st.metrics) })
	begin := time.Now()
	sleep(ctx, h.a.duration)
	r.ran = time.Since(begin)

	r.rssEnd, r.hwm, _ = memory(pid)
	r.anonEnd, _ = anonymous(pid)
	r.openEnd = scrape(st.metrics, "qsgate_connections_open")
	r.limited = scrape(st.metrics, "qsgate_connections_limited_total") - limited0
	r.logBytes = fileSize(st.logPath) - log0
	cpu1, _ := cpuTime(pid)
	self1, _ := cpuTime("self")
	r.gatewayCPU, r.harnessCPU = cpu1-cpu0, self1-self0
	if h.inCgroup {
		r.cgEnd = h.cg.read()
	}
	stopAttack()
	wg.Wait()
	r.load = loadAverage()
	select {
	case err := <-st.exited:
		st.exited <- err
		r.exited = err
	default:
	}
	return r, ctx.Err()
}

// watched is what the samples of a scenario saw.
type watched struct {
	rss, anon int64         // the most VmRSS and RssAnon
	open      float64       // the most connections open
	gone      time.Duration // when the gateway was first seen gone, from the start (0: never)
}

// watch reads the gateway's memory and open connections twice a second
// until ctx ends.
func watch(ctx context.Context, pid, metrics string) watched {
	var w watched
	begin := time.Now()
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return w
		case <-tick.C:
		}
		rss, _, err := memory(pid)
		if err != nil || rss == 0 { // a zombie has no VmRSS
			if w.gone == 0 {
				w.gone = time.Since(begin)
			}
			continue
		}
		anon, _ := anonymous(pid)
		w.rss, w.anon = max(w.rss, rss), max(w.anon, anon)
		w.open = max(w.open, scrape(metrics, "qsgate_connections_open"))
	}
}

// drain waits until the gateway holds no more than a few connections (the
// attack's last ones close as the gateway reads their end), at most
// -settle, so one scenario does not run into the next.
func (h *hostileRun) drain(ctx context.Context) {
	deadline := time.Now().Add(h.a.settle)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if open := scrape(h.st.metrics, "qsgate_connections_open"); open >= 0 && open <= 8 {
			break
		}
		sleep(ctx, 250*time.Millisecond)
	}
	sleep(ctx, 2*time.Second) // and a moment for the collector
}

// legitView is one signed-in view made during an attack.
type legitView struct {
	status  int // 0: failed or still waiting when the attack ended
	latency time.Duration
	err     error
}

// legitViews has the signed-in users open /embed/start, one view a second
// in turn (a slow one does not hold up the next), the last a second before
// the attack's time is up; a view still waiting when ctx ends (the gateway
// measured) counts as not done.
func legitViews(ctx context.Context, gateway string, users []user, within time.Duration) []legitView {
	last := time.Now().Add(within - time.Second)
	view := pageView(gateway, users)
	var (
		mu  sync.Mutex
		out []legitView
		wg  sync.WaitGroup
	)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			wg.Wait()
			return out
		case <-tick.C:
		}
		if time.Now().After(last) {
			continue
		}
		wg.Go(func() {
			start := time.Now()
			status, err := view(ctx, i%len(users))
			v := legitView{status: status, latency: time.Since(start), err: err}
			mu.Lock()
			out = append(out, v)
			mu.Unlock()
		})
	}
}

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return -1
	}
	return fi.Size()
}

func mib(b int64) string {
	if b < 0 {
		return "?"
	}
	return fmt.Sprintf("%.1f", float64(b)/(1<<20))
}
