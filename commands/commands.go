// Package commands is qsgate's command line: the command table, each
// command's flags, and what each command runs (serve wires the gateway and
// serves it). It reads the process only through Run's arguments, so a test
// can run the whole program with a map of settings.
package commands

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/qsgate/qsgate/config"
)

// A command is one verb of the command line. Each command's file declares
// its own; table lists them in the order usage shows them.
type command struct {
	name    string
	args    string // the positional arguments it takes, for usage ("list|revoke"); "" for none
	summary string // what it does, for usage
	// settings: the command reads qsgate's settings, so it takes --env-file
	// and runs with the env file chained behind the environment.
	settings bool
	// setup declares the command's flags on fs and returns what runs the
	// command once they are parsed.
	setup func(fs *flag.FlagSet) func(ctx context.Context, in *invocation) error
}

// invocation is what a command runs with.
type invocation struct {
	version string
	args    []string            // the positional arguments (at most one)
	getenv  func(string) string // the environment, with the env file behind it for settings commands
	envFile string              // the env file read, "" for none
	stdout  io.Writer           // command output
	stderr  io.Writer           // logs
}

// table is every command; the first is the default.
var table = []command{serveCommand, checkConfigCommand, doctorCommand, sessionsCommand, healthcheckCommand, demoCommand, versionCommand}

const envFileUsage = "read settings from this file (default: .env when it exists); the real environment wins"

// Run runs the command args name (serve when it names none) until it ends
// or ctx does. getenv is the process environment (tests pass a map), stdout
// gets command output and stderr the logs; version is what `qsgate version`
// and the start-up log say. --help returns flag.ErrHelp after printing the
// usage.
func Run(ctx context.Context, version string, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	// --env-file may come before the command.
	top := flag.NewFlagSet("qsgate", flag.ContinueOnError)
	top.SetOutput(stderr)
	envFile := top.String("env-file", "", envFileUsage)
	top.Usage = func() { printUsage(top.Output()) }
	if err := top.Parse(args); err != nil {
		return err
	}
	name, rest := table[0].name, top.Args()
	if len(rest) > 0 {
		name, rest = rest[0], rest[1:]
	}
	cmd, ok := lookup(name)
	if !ok {
		return fmt.Errorf("unknown command %q (see qsgate --help)", name)
	}

	fs := flag.NewFlagSet("qsgate "+cmd.name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	if cmd.settings {
		fs.StringVar(envFile, "env-file", *envFile, envFileUsage)
	} else if *envFile != "" {
		return fmt.Errorf("qsgate %s: flag provided but not defined: -env-file (it reads no settings)", cmd.name)
	}
	runCmd := cmd.setup(fs)
	fs.Usage = func() { printCommand(fs.Output(), cmd, true) }
	in := &invocation{version: version, getenv: getenv, stdout: stdout, stderr: stderr}
	// Flags may come before or after the positional argument.
	for {
		if err := fs.Parse(rest); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		if cmd.args == "" || len(in.args) > 0 {
			return fmt.Errorf("qsgate %s: unexpected argument %q (see qsgate %s --help)", cmd.name, fs.Arg(0), cmd.name)
		}
		in.args, rest = fs.Args()[:1], fs.Args()[1:]
	}
	if cmd.settings {
		lookup := func(k string) (string, bool) {
			v := getenv(k) // an empty value counts as unset, so a test's map and the real environment behave alike
			return v, v != ""
		}
		env, used, err := config.WithEnvFile(*envFile, lookup)
		if err != nil {
			return err
		}
		in.getenv, in.envFile = env, used
	}
	return runCmd(ctx, in)
}

func lookup(name string) (command, bool) {
	for _, c := range table {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

// printUsage writes every command with its flags, from the table.
func printUsage(w io.Writer) {
	fmt.Fprintf(w, "usage: qsgate [command] [flags]   (%s when no command is given)\n\n", table[0].name)
	fmt.Fprintf(w, "--env-file PATH (before or after the command, for those that read settings):\n    %s\n", envFileUsage)
	for _, c := range table {
		fmt.Fprintln(w)
		printCommand(w, c, false)
	}
}

// printCommand writes one command's synopsis, summary and flags; envFile
// lists --env-file among them.
func printCommand(w io.Writer, c command, envFile bool) {
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	synopsis := "qsgate " + c.name
	if c.args != "" {
		synopsis += " " + c.args
	}
	if c.settings {
		synopsis += " [--env-file PATH]"
		if envFile {
			fs.String("env-file", "", envFileUsage)
		}
	}
	c.setup(fs)
	fmt.Fprintln(w, synopsis)
	for line := range strings.SplitSeq(c.summary, "\n") {
		fmt.Fprintln(w, "    "+line)
	}
	fs.SetOutput(w)
	fs.PrintDefaults()
}
