package commands

import (
	"context"
	"flag"
	"fmt"
)

var versionCommand = command{
	name:    "version",
	summary: "print the version",
	setup: func(*flag.FlagSet) func(context.Context, *invocation) error {
		return func(_ context.Context, in *invocation) error {
			_, err := fmt.Fprintln(in.stdout, "qsgate", in.version)
			return err
		}
	},
}
