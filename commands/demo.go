//go:build !production

package commands

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/qsgate/qsgate/internal/devkit/demo"
)

var demoCommand = command{
	name: "demo",
	summary: "run qsgate with a built-in sign-in page and QuickSight simulator, on loopback\n" +
		"(no AWS account, nothing to configure; never expose it)",
	setup: func(fs *flag.FlagSet) func(context.Context, *invocation) error {
		var f demoFlags
		fs.StringVar(&f.addr, "addr", "127.0.0.1:8080", "where the gateway listens (loopback only)")
		fs.StringVar(&f.publicURL, "public-url", "", "the URL to open (default http://ADDR)")
		fs.StringVar(&f.mapping, "mapping", demo.Mappings()[0], "the user-mapping mode to show: "+strings.Join(demo.Mappings(), ", "))
		fs.StringVar(&f.api, "api", "", "the embedding API: "+strings.Join(demo.APIs(), " or ")+" (default session; identity-center takes registered-user only)")
		fs.StringVar(&f.experience, "dashboard-experience", "console", "how /embed/dashboards/{id} opens: "+strings.Join(demo.DashboardExperiences(), " or ")+" (dashboard needs --api registered-user)")
		return func(ctx context.Context, in *invocation) error {
			return runDemo(ctx, f, in)
		}
	},
}

// demoFlags are the demo command's flags.
type demoFlags struct {
	addr, publicURL, mapping, api, experience string
}

// demoTunables are the settings `qsgate demo` takes from the environment.
var demoTunables = []string{"QSGATE_EMBED_RATE", "QSGATE_QUICKSIGHT_MAX_RPS", "QSGATE_QUICKSIGHT_MAX_INFLIGHT", "QSGATE_LOG_LEVEL"}

// runDemo starts the built-in provider and the QuickSight simulator, then
// the gateway wired to them, all in this process, until ctx ends.
func runDemo(ctx context.Context, f demoFlags, in *invocation) error {
	addr, publicURL, mapping := f.addr, f.publicURL, f.mapping
	if !slices.Contains(demo.Mappings(), mapping) {
		return fmt.Errorf("--mapping: unknown mode %q; want one of %s", mapping, strings.Join(demo.Mappings(), ", "))
	}
	if f.api != "" && !slices.Contains(demo.APIs(), f.api) {
		return fmt.Errorf("--api: unknown API %q; want one of %s", f.api, strings.Join(demo.APIs(), ", "))
	}
	if !slices.Contains(demo.DashboardExperiences(), f.experience) {
		return fmt.Errorf("--dashboard-experience: unknown experience %q; want one of %s", f.experience, strings.Join(demo.DashboardExperiences(), ", "))
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--addr: %w", err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("--addr: the demo listens on loopback only (e.g. 127.0.0.1:%s); it must not face a network", port)
	}
	if publicURL == "" {
		publicURL = "http://" + addr
	}
	st, err := demo.Start(demo.Options{PublicURL: publicURL, Mapping: mapping, API: f.api, DashboardExperience: f.experience,
		Logger: slog.New(slog.NewTextHandler(in.stderr, nil))})
	if err != nil {
		return err
	}
	defer st.Close()
	settings := st.Settings
	settings["QSGATE_LISTEN_ADDR"] = addr
	// The limits can be tried (or lifted, for a load test) from the
	// environment; every other setting is the demo's own.
	for _, k := range demoTunables {
		if v := in.getenv(k); v != "" {
			settings[k] = v
		}
	}
	g, err := build(ctx, func(k string) string { return settings[k] }, in.stderr)
	if err != nil {
		return err
	}
	g.version = in.version
	printDemoBanner(in.stdout, settings["QSGATE_PUBLIC_URL"], st)
	return g.serve(ctx)
}

func printDemoBanner(w io.Writer, public string, st *demo.Stack) {
	fmt.Fprintf(w, `
qsgate demo: a built-in sign-in page and a QuickSight simulator, no AWS account.
THIS IS A DEMO. Anyone who reaches it can sign in as anyone: never expose it.

  Open %s

  User mapping: %s - %s

  Sign in as one of:
`, public, st.Mapping, demo.MappingSummary(st.Mapping))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, u := range st.Users {
		fmt.Fprintf(tw, "    %s\t%s\t%s\n", u.Subject, u.Email, u.Description)
	}
	tw.Flush()
	if ex := st.Examples(); len(ex) > 0 {
		fmt.Fprintf(w, "\n  Also try (registered-user API): %s\n", strings.Join(ex, "  "))
	}
	fmt.Fprintf(w, `
  Sign-in provider   %s
  QuickSight (sim)   %s

Press Ctrl-C to stop.

`, st.IssuerURL, st.Sim.URL())
}
