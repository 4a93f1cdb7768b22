package commands

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"os"
)

var checkConfigCommand = command{
	name:     "check-config",
	summary:  "check the settings as serve would, and print a summary (no secrets) or every problem",
	settings: true,
	setup: func(*flag.FlagSet) func(context.Context, *invocation) error {
		return func(ctx context.Context, in *invocation) error {
			g, err := in.build(ctx)
			if err != nil {
				return err
			}
			g.audit.Close() // opened only to check it opens
			fmt.Fprint(in.stdout, g.summary())
			return nil
		}
	},
}

// noEnvFile is what the summary and the start-up log say when no env file
// was read.
const noEnvFile = "(none: the environment only)"

func (g *gateway) summary() string {
	s := g.cfg.Summary()
	s += fmt.Sprintf("  %-36s %s\n", "settings file", cmp.Or(g.envFile, noEnvFile))
	s += fmt.Sprintf("  %-36s %s\n", "AWS region", g.aws.Region)
	if g.endpoint != "" {
		s += fmt.Sprintf("  %-36s %s\n", "QuickSight endpoint", g.endpoint)
	}
	tracing := "off (OTEL_TRACES_EXPORTER unset or none)"
	if g.tracing != nil {
		// Never the endpoint or the headers: either may hold a credential.
		tracing = fmt.Sprintf("on: exporter %s, protocol %s, sampler %s",
			os.Getenv("OTEL_TRACES_EXPORTER"), cmp.Or(os.Getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"), os.Getenv("OTEL_EXPORTER_OTLP_PROTOCOL"), "http/protobuf"),
			cmp.Or(os.Getenv("OTEL_TRACES_SAMPLER"), "parentbased_always_on"))
	}
	s += fmt.Sprintf("  %-36s %s\n", "tracing", tracing)
	return s
}
