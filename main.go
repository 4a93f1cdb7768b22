// Command qsgate puts the Amazon QuickSight console inside a company portal:
// it signs users in with OpenID Connect, maps them to QuickSight users, and
// embeds a fresh QuickSight console session on every page view.
//
// `qsgate --help` lists the commands; package commands holds them.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/qsgate/qsgate/commands"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	commands.LimitMemory(os.Stderr)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop() // a second Ctrl-C or SIGTERM ends the process at once
	}()
	err := commands.Run(ctx, version, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	switch {
	case errors.Is(err, flag.ErrHelp): // usage already printed
	case err != nil:
		fmt.Fprintln(os.Stderr, err)
		stop()
		os.Exit(1)
	}
}
