// Command qsgate puts the Amazon QuickSight console inside a company portal:
// it signs users in with OpenID Connect, maps them to QuickSight users, and
// embeds a fresh GetSessionEmbedUrl console session on every page view.
//
//	qsgate [serve] [--env-file PATH]   run the gateway (default)
//	qsgate check-config [--env-file PATH]
//	qsgate demo [--addr HOST:PORT] [--public-url URL] [--mapping MODE] [--api API] [--dashboard-experience X]
//	qsgate healthcheck [--env-file PATH]
//	qsgate doctor [--env-file PATH] [--user EMAIL]
//	qsgate sessions list --email E | revoke --email E | revoke --sub S [--env-file PATH]
//	qsgate version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/KimMachineGun/automemlimit/memlimit"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	if _, err := limitMemory(memlimit.FromCgroup); err != nil { // memory.go
		fmt.Fprintln(os.Stderr, "qsgate: no memory limit taken from the container:", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop() // a second Ctrl-C or SIGTERM ends the process at once
	}()
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	switch {
	case errors.Is(err, flag.ErrHelp): // usage already printed
	case err != nil:
		fmt.Fprintln(os.Stderr, err)
		stop()
		os.Exit(1)
	}
}

const usage = `usage: qsgate [command] [flags]

commands:
  serve          run the gateway (the default)
  check-config   check the settings, print a summary (no secrets) or every problem
  demo           run qsgate with a built-in sign-in page and QuickSight simulator
                 (no AWS account, nothing to configure; never expose it);
                 --mapping picks the user-mapping mode it shows, --api and
                 --dashboard-experience the embedding API and how dashboards open
  healthcheck    GET /healthz on the local listen address (QSGATE_LISTEN_ADDR): exit 0 when
                 it answers 200, else 1; for Docker's HEALTHCHECK in the distroless image
  doctor         preflight: settings, OIDC provider, AWS credentials, QuickSight edition and
                 identity region, and with --user EMAIL that person's QuickSight user; exit 1 on a failure
  sessions list --email E         the user's sessions: started, last seen, ends (redis store)
  sessions revoke --email E|--sub S  end every session of a user at once (redis store)
  version        print the version

flags:
`

// run is the whole program; getenv is the process environment (tests pass a
// map), stdout gets command output and stderr the logs.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("qsgate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	envFile := fs.String("env-file", "", "read settings from this file (default: .env when it exists); the real environment wins")
	user := fs.String("user", "", "doctor: also check the QuickSight user of the person with this email")
	var df demoFlags
	fs.StringVar(&df.addr, "addr", "127.0.0.1:8080", "demo: where the gateway listens")
	fs.StringVar(&df.publicURL, "public-url", "", "demo: the URL to open (default http://ADDR)")
	fs.StringVar(&df.mapping, "mapping", demoModes()[0], "demo: the user-mapping mode to show: "+strings.Join(demoModes(), ", "))
	fs.StringVar(&df.api, "api", "session", "demo: the embedding API: session or registered-user")
	fs.StringVar(&df.experience, "dashboard-experience", "console", "demo: how /embed/dashboards/{id} opens: console or dashboard (needs --api registered-user)")
	var sf sessionFlags
	fs.StringVar(&sf.email, "email", "", "sessions: the user's email")
	fs.StringVar(&sf.sub, "sub", "", "sessions revoke: the user's subject")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage)
		fs.PrintDefaults()
	}
	// Flags may come before or after the command.
	if err := fs.Parse(args); err != nil {
		return err
	}
	cmd, sub := "serve", ""
	if fs.NArg() > 0 {
		cmd = fs.Arg(0)
		if err := fs.Parse(fs.Args()[1:]); err != nil {
			return err
		}
		if cmd == "sessions" && fs.NArg() > 0 { // sessions list|revoke
			sub = fs.Arg(0)
			if err := fs.Parse(fs.Args()[1:]); err != nil {
				return err
			}
		}
		if fs.NArg() > 0 {
			return fmt.Errorf("unexpected argument %q (see qsgate --help)", fs.Arg(0))
		}
	}
	// Each flag belongs to some commands; a flag the command ignores would
	// mislead, so it is an error.
	var misplaced []string
	fs.Visit(func(f *flag.Flag) {
		demoFlag := f.Name == "addr" || f.Name == "public-url" || f.Name == "mapping" || f.Name == "api" || f.Name == "dashboard-experience"
		sessionFlag := f.Name == "email" || f.Name == "sub"
		if demoFlag != (cmd == "demo") || (f.Name == "user" && cmd != "doctor") || (sessionFlag && cmd != "sessions") {
			misplaced = append(misplaced, "--"+f.Name)
		}
	})
	if len(misplaced) > 0 {
		return fmt.Errorf("%s: not a flag of %q (--addr, --public-url, --mapping, --api and --dashboard-experience are for demo; --user for doctor; --email and --sub for sessions; --env-file for serve, check-config, healthcheck, doctor and sessions; serve listens on QSGATE_LISTEN_ADDR)", strings.Join(misplaced, ", "), cmd)
	}
	switch cmd {
	case "version":
		fmt.Fprintln(stdout, "qsgate", version)
		return nil
	case "serve", "check-config":
		env, used, err := envWithFile(*envFile, getenv)
		if err != nil {
			return err
		}
		g, err := build(ctx, env, stderr)
		if err != nil {
			return err
		}
		g.envFile = used
		if cmd == "check-config" {
			fmt.Fprint(stdout, g.summary())
			return nil
		}
		return g.serve(ctx)
	case "healthcheck":
		env, _, err := envWithFile(*envFile, getenv)
		if err != nil {
			return err
		}
		return healthcheck(ctx, env("QSGATE_LISTEN_ADDR"), stdout)
	case "doctor":
		env, _, err := envWithFile(*envFile, getenv)
		if err != nil {
			return err
		}
		return runDoctor(ctx, env, *user, stdout)
	case "sessions":
		env, _, err := envWithFile(*envFile, getenv)
		if err != nil {
			return err
		}
		return runSessions(ctx, env, sub, sf, stdout)
	case "demo":
		return runDemo(ctx, df, getenv, stdout, stderr)
	default:
		return fmt.Errorf("unknown command %q (see qsgate --help)", cmd)
	}
}
