// Command load measures qsgate under load on one machine: it starts the
// QuickSight simulator (qssim) and the development OIDC provider (devidp) in
// this process, builds qsgate and runs it as a child process (`qsgate
// serve`, configured by environment) so /proc shows the gateway's own memory
// and CPU, signs in N distinct users through the real sign-in flow (a cookie
// jar each, the provider's sign-in page), then has 1, 50, 500... of them
// open /embed/start one view after another. The same load then goes
// straight to the simulator as bare aws-sdk-go-v2 GetSessionEmbedUrl calls,
// the floor of a view, and both run again with the simulator answering
// after -latency, as QuickSight takes its time.
//
//	go run ./bench/load [-users N] [-concurrency 1,50,500] [-duration 10s]
//	                    [-latency 100ms] [-mapping template|lookup|register|iam]
//
// With -hostile it signs in a few users and runs hostile traffic instead
// of the levels: unfinished headers, slowloris, idle keep-alives and the
// longest path, one scenario after another (hostile.go).
//
// It prints markdown tables; docs/BENCHMARKS.md explains the columns and
// holds the figures. It is a command, not a test: `go test ./...` never
// runs it, and it asserts nothing. It needs Linux (/proc) and the go tool.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		stop()
		os.Exit(1)
	}
}

type options struct {
	users              int
	concurrency        []int
	duration, warmup   time.Duration
	latency            time.Duration
	latencyConcurrency []int
	mapping, bin       string
	logLevel           string
	bare               bool
	signInParallel     int
	gatewayEnv         []string // K=V, added to the gateway's environment
	hostile            bool
	attack             attackOptions
}

func parse(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	conc := fs.String("concurrency", "1,50,500", "users viewing at once, one level each, comma-separated")
	latConc := fs.String("latency-concurrency", "1,50", "levels run again with -latency")
	fs.IntVar(&o.users, "users", 0, "distinct users to sign in (default: the largest level)")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "measured time per level")
	fs.DurationVar(&o.warmup, "warmup", 2*time.Second, "unmeasured time before each level's window")
	fs.DurationVar(&o.latency, "latency", 100*time.Millisecond, "the simulator's answer time for the latency levels; 0 skips them")
	fs.StringVar(&o.mapping, "mapping", "template", "QSGATE_USER_MAPPING: template, lookup, register or iam")
	fs.StringVar(&o.bin, "bin", "", "a built qsgate binary (default: go build of this module)")
	fs.StringVar(&o.logLevel, "log-level", "info", "the gateway's QSGATE_LOG_LEVEL (info logs two lines a view, as in production)")
	fs.BoolVar(&o.bare, "bare", true, "run each level as bare SDK calls too")
	fs.IntVar(&o.signInParallel, "signin-parallel", 4, "sign-ins at once")
	fs.Func("gateway-env", "K=V for the gateway's environment, e.g. GOMEMLIMIT=48MiB or GOGC=50 (repeatable)", func(kv string) error {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			return fmt.Errorf("%q is not K=V", kv)
		}
		o.gatewayEnv = append(o.gatewayEnv, kv)
		return nil
	})
	fs.BoolVar(&o.hostile, "hostile", false, "run hostile traffic at the gateway instead of the levels (the -hostile flags below)")
	parseAttack := o.attack.flags(fs)
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if err := parseAttack(); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	var err error
	if o.concurrency, err = ints(*conc); err != nil {
		return o, fmt.Errorf("-concurrency: %v", err)
	}
	if o.latencyConcurrency, err = ints(*latConc); err != nil {
		return o, fmt.Errorf("-latency-concurrency: %v", err)
	}
	if !slices.Contains([]string{"template", "lookup", "register", "iam"}, o.mapping) {
		return o, fmt.Errorf("-mapping: %q is not template, lookup, register or iam", o.mapping)
	}
	if o.hostile {
		if o.users == 0 {
			o.users = 4 // a few users viewing while the attack runs
		}
		return o, nil
	}
	most := slices.Max(o.concurrency)
	if o.latency > 0 {
		most = max(most, slices.Max(o.latencyConcurrency))
	}
	if o.users == 0 {
		o.users = most
	}
	if o.users < most {
		return o, fmt.Errorf("-users %d: fewer than the largest level, %d", o.users, most)
	}
	return o, nil
}

func ints(s string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a positive whole number", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parse(args, stderr)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "qsgate-load-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	root, err := moduleRoot(ctx)
	if err != nil {
		return err
	}
	if o.bin == "" {
		fmt.Fprintln(stderr, "building qsgate...")
		if o.bin, err = buildGateway(ctx, root, dir); err != nil {
			return err
		}
	}
	listen, err := freeAddr()
	if err != nil {
		return err
	}
	metrics, err := freeAddr()
	if err != nil {
		return err
	}
	// One transport for every browser, keeping a connection per user as a
	// browser would.
	transport := &http.Transport{MaxIdleConns: 0, MaxIdleConnsPerHost: o.users + 16, IdleConnTimeout: time.Minute}
	users := makeUsers(o.users, transport)
	st, err := startSimAndProvider(o.mapping, "http://"+listen, users)
	if err != nil {
		return err
	}
	defer st.stop()
	env := st.gatewayEnv(o.mapping, listen, metrics, o.logLevel)
	for _, kv := range o.gatewayEnv {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	var files string
	if o.hostile {
		// Each attack connection is a descriptor here; the gateway holds at
		// most QSGATE_MAX_CONNECTIONS of them.
		if files, err = raiseFileLimit(uint64(o.attack.mostConnections()) + 1024); err != nil {
			return err
		}
	}
	if err := st.startGateway(ctx, o.bin, dir, env); err != nil {
		return err
	}

	fmt.Fprintf(stdout, "## qsgate load: %s mapping, %d users\n\n", o.mapping, o.users)
	fmt.Fprintf(stdout, "- machine: %s × %d, %s, %s\n", cpuModel(), runtime.NumCPU(), runtime.GOOS+"/"+runtime.GOARCH, runtime.Version())
	fmt.Fprintf(stdout, "- gateway: %s (this harness: %s)\n", binVersion(ctx, o.bin), describe(ctx, root))
	fmt.Fprintf(stdout, "- command: go run ./bench/load %s\n", strings.Join(args, " "))
	fmt.Fprintf(stdout, "- load average before: %s\n", loadAverage())
	if files != "" {
		fmt.Fprintf(stdout, "- open files: %s\n", files)
	}

	fmt.Fprintf(stderr, "signing in %d users...\n", len(users))
	before := time.Now()
	st.simulator().Reset()
	if err := signInAll(ctx, st.gateway, users, o.signInParallel); err != nil {
		return fmt.Errorf("sign-in: %w", err)
	}
	fmt.Fprintf(stdout, "- sign-in: %d users in %.1f s (each ends on its first, cold view: %s)\n",
		len(users), time.Since(before).Seconds(), callText(countCalls(st), len(users)))
	fmt.Fprintf(stdout, "- provider requests for %d sign-ins: %s\n", len(users), hitsText(st.idpHits.snapshot()))
	if o.hostile {
		restart := func() error {
			st.stopGateway()
			return st.startGateway(ctx, o.bin, dir, env)
		}
		return hostile(ctx, st, users, o.attack, restart, stdout, stderr)
	}
	fmt.Fprintln(stdout)

	h := &harness{st: st, users: users, o: o}
	if o.bare {
		if h.bare, err = bareCalls(ctx, st, users); err != nil {
			return err
		}
	}
	type level struct {
		c       int
		latency time.Duration
	}
	var plan []level
	for _, c := range o.concurrency {
		plan = append(plan, level{c, 0})
	}
	if o.latency > 0 {
		for _, c := range o.latencyConcurrency {
			plan = append(plan, level{c, o.latency})
		}
	}
	var results []result
	for _, l := range plan {
		rs, err := h.levels(ctx, stderr, l.c, l.latency)
		if err != nil {
			return err
		}
		results = append(results, rs...)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if !st.renewable() {
		fmt.Fprintln(stdout, "- the simulator was not renewed between levels (iam: the gateway holds its role credentials), so it slows as its issued URLs pile up")
	}
	printResults(stdout, results)
	printRatios(stdout, results)
	return nil
}
