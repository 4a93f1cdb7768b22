//go:build production

package commands

import (
	"context"
	"errors"
	"flag"
)

// The production build (go build -tags production, the container image)
// leaves the demo, its sign-in page and the QuickSight simulator out of the
// binary; its demo command says so.
var demoCommand = command{
	name:    "demo",
	summary: "not in this binary (built with -tags production); run it from the source: go run . demo",
	setup: func(*flag.FlagSet) func(context.Context, *invocation) error {
		return func(context.Context, *invocation) error {
			return errors.New("qsgate demo is not built into this binary (it was built with -tags production); run it from a default build: go run . demo")
		}
	},
}
