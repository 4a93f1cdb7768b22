package main

import (
	"context"
	"flag"
	"fmt"
	"slices"
	"strings"
	"syscall"
	"time"
)

// -hostile: instead of the levels, hostile traffic at the gateway, one
// scenario after another (issue 16, items 5 and 6). For each: the
// gateway's memory, its connections, the log it wrote, and whether a
// signed-in user's view still works meanwhile.

// attackOptions are the -hostile flags.
type attackOptions struct {
	duration        time.Duration
	scenarios       []string
	headerConns     []int
	headerPace      time.Duration
	headerBytes     int
	slowlorisConns  int
	slowlorisPace   time.Duration
	idleConns       int
	longpathWorkers int
	redial          time.Duration // 0: a closed connection stays closed
	restart         bool
	settle          time.Duration
}

var allScenarios = []string{"headers", "slowloris", "idle", "longpath"}

func (a *attackOptions) flags(fs *flag.FlagSet) (parse func() error) {
	fs.DurationVar(&a.duration, "hostile-duration", 15*time.Second, "-hostile: how long each scenario runs")
	scen := fs.String("scenarios", strings.Join(allScenarios, ","), "-hostile: the scenarios to run, in order")
	conns := fs.String("header-conns", "40,400", "-hostile headers: connections, one run for each")
	fs.DurationVar(&a.headerPace, "header-pace", 50*time.Millisecond, "-hostile headers: one 1 KiB header line per connection this often")
	fs.IntVar(&a.headerBytes, "header-bytes", 1<<20, "-hostile headers: header bytes each connection sends at most, never ending them")
	fs.IntVar(&a.slowlorisConns, "slowloris-conns", 4000, "-hostile slowloris: connections")
	fs.DurationVar(&a.slowlorisPace, "slowloris-pace", 3*time.Second, "-hostile slowloris: a few header bytes per connection this often")
	fs.IntVar(&a.idleConns, "idle-conns", 3000, "-hostile idle: keep-alive connections idle after one GET /healthz")
	fs.IntVar(&a.longpathWorkers, "longpath-workers", 4, "-hostile longpath: requests at once")
	fs.DurationVar(&a.redial, "redial", time.Second, "-hostile: pause before an attack connection the gateway closed is dialed again; 0: never")
	fs.BoolVar(&a.restart, "restart", true, "-hostile: a fresh gateway for each scenario, so each starts from the same memory")
	fs.DurationVar(&a.settle, "settle", 20*time.Second, "-hostile -restart=false: the longest wait between scenarios for the gateway's connections to drain")
	return func() error {
		var err error
		if a.headerConns, err = ints(*conns); err != nil {
			return fmt.Errorf("-header-conns: %v", err)
		}
		for s := range strings.SplitSeq(*scen, ",") {
			if s = strings.TrimSpace(s); !slices.Contains(allScenarios, s) {
				return fmt.Errorf("-scenarios: %q is not one of %s", s, strings.Join(allScenarios, ", "))
			}
			a.scenarios = append(a.scenarios, s)
		}
		return nil
	}
}

// mostConnections is the most attack connections open at once in any
// scenario.
func (a attackOptions) mostConnections() int {
	return max(slices.Max(a.headerConns), a.slowlorisConns, a.idleConns, a.longpathWorkers)
}

// raiseFileLimit makes the open-file limit at least need (and at least the
// hard limit): each attack connection is a descriptor here. Go raises its
// own soft limit to the hard one at start, but hands a child the original
// soft limit unless the program sets the limit itself, as here, so the
// gateway (and a wrapper script before it) starts with this one too. Past
// the hard limit it needs root.
func raiseFileLimit(need uint64) (string, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return "", err
	}
	was := lim
	lim.Cur = max(lim.Max, need)
	lim.Max = max(lim.Max, need)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return "", fmt.Errorf("open files: need %d, the limit is %d/%d: %v", need, was.Cur, was.Max, err)
	}
	if lim == was {
		return fmt.Sprintf("%d (soft and hard; set again so the gateway inherits it)", lim.Cur), nil
	}
	return fmt.Sprintf("%d (raised from %d soft, %d hard; the gateway inherits it)", lim.Cur, was.Cur, was.Max), nil
}

// scenario is one kind of hostile traffic.
type scenario struct {
	name   string
	attack string // what it does, for the report
	conns  int    // attack connections kept (longpath: requests at once)
	run    func(ctx context.Context, t *tally)
	// path is set by longpath: the path it sends, for the report
	path *string
}

func (h *hostileRun) plan() []scenario {
	a, addr := h.a, h.addr
	var out []scenario
	for _, name := range a.scenarios {
		switch name {
		case "headers":
			for _, n := range a.headerConns {
				out = append(out, scenario{name: "headers", conns: n,
					attack: fmt.Sprintf("%d connections, each a request line then 1 KiB header lines every %v up to %s MiB, never finished", n, a.headerPace, mib(int64(a.headerBytes))),
					run: func(ctx context.Context, t *tally) {
						holdConnections(ctx, addr, n, a.redial, t, slowHeaders(padLine, a.headerPace, a.headerBytes))
					}})
			}
		case "slowloris":
			out = append(out, scenario{name: "slowloris", conns: a.slowlorisConns,
				attack: fmt.Sprintf("%d connections, each a request line then 8 header bytes every %v, never finished", a.slowlorisConns, a.slowlorisPace),
				run: func(ctx context.Context, t *tally) {
					holdConnections(ctx, addr, a.slowlorisConns, a.redial, t, slowHeaders([]byte("X-a: b\r\n"), a.slowlorisPace, 1<<30))
				}})
		case "idle":
			out = append(out, scenario{name: "idle", conns: a.idleConns,
				attack: fmt.Sprintf("%d keep-alive connections, each one GET /healthz, then idle", a.idleConns),
				run: func(ctx context.Context, t *tally) {
					holdConnections(ctx, addr, a.idleConns, a.redial, t, idleAfterOne)
				}})
		case "longpath":
			path := new(string)
			out = append(out, scenario{name: "longpath", conns: a.longpathWorkers, path: path,
				attack: fmt.Sprintf("%d at once, one request after another, each with the longest path the gateway accepts", a.longpathWorkers),
				run: func(ctx context.Context, t *tally) {
					requestLoop(ctx, h.pathClient, h.st.gateway, *path, a.longpathWorkers, t)
				}})
		}
	}
	return out
}
