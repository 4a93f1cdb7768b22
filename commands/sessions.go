package commands

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/qsgate/qsgate/audit"
	"github.com/qsgate/qsgate/auth"
	"github.com/qsgate/qsgate/cluster"
	"github.com/qsgate/qsgate/config"
)

var sessionsCommand = command{
	name: "sessions",
	args: "list|revoke",
	summary: "list: a user's sessions (started, last seen, ends); revoke: end every session of a user\n" +
		"at once (QSGATE_SESSION_STORE=redis)",
	settings: true,
	setup: func(fs *flag.FlagSet) func(context.Context, *invocation) error {
		var f sessionFlags
		fs.StringVar(&f.email, "email", "", "the user's email (list, revoke)")
		fs.StringVar(&f.sub, "sub", "", "the user's subject at the provider (revoke)")
		return func(ctx context.Context, in *invocation) error {
			var sub string
			if len(in.args) > 0 {
				sub = in.args[0]
			}
			return runSessions(ctx, in.getenv, sub, f, in.stdout, in.stderr)
		}
	},
}

// sessionFlags are the sessions command's flags.
type sessionFlags struct{ email, sub string }

// runSessions is `qsgate sessions list --email E` and `qsgate sessions
// revoke --email E | --sub S`: an operator's view of, and end to, a user's
// sessions in the Redis store. It needs the settings serve uses (the keys,
// the Redis URL), talks to Redis only, and never prints a session id.
func runSessions(ctx context.Context, getenv func(string) string, sub string, f sessionFlags, out, errOut io.Writer) error {
	switch {
	case sub != "list" && sub != "revoke":
		return fmt.Errorf("sessions: want list or revoke, got %q (see qsgate --help)", sub)
	case sub == "list" && (f.email == "" || f.sub != ""):
		return errors.New("sessions list: give --email")
	case sub == "revoke" && (f.email == "") == (f.sub == ""):
		return errors.New("sessions revoke: give --email or --sub, one of them")
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		return err
	}
	if cfg.SessionStore != "redis" {
		return auth.ErrNoServerSessions
	}
	rdb, err := cluster.NewClient(cfg.RedisURL)
	if err != nil {
		return fmt.Errorf("QSGATE_REDIS_URL: %w", err)
	}
	defer rdb.Close()
	// A revoke is an audit event, written where serve writes them
	// (QSGATE_AUDIT_LOG; stdout is this command's). An audit file this
	// user may not open must not stop an incident's revoke: the event goes
	// to stdout instead, and stderr says why.
	auditLog, aud, err := openAudit(cfg, out, nil)
	if err != nil {
		fmt.Fprintf(errOut, "qsgate: %v; the audit event goes to stdout\n", err)
		cfg.AuditLog = audit.Stdout
		if auditLog, aud, err = openAudit(cfg, out, nil); err != nil {
			return err
		}
	}
	defer auditLog.Close()
	a, err := auth.New(auth.Config{PublicURL: cfg.PublicURL, SessionKeys: cfg.SessionKeys, SessionTTL: cfg.SessionTTL, Redis: rdb, Idle: cfg.SessionIdle, Audit: aud})
	if err != nil {
		return err
	}
	if sub == "revoke" {
		n, err := a.Revoke(ctx, f.sub, f.email)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "ended %d session(s)\n", n)
		return nil
	}
	list, err := a.Sessions(ctx, f.email)
	if err != nil {
		return err
	}
	if len(list) == 0 {
		fmt.Fprintln(out, "no sessions")
		return nil
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SUBJECT\tEMAIL\tSTARTED\tLAST SEEN\tENDS")
	for _, s := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", printable(s.Subject), printable(s.Email), s.Created.UTC().Format(time.RFC3339),
			s.LastSeen.UTC().Format(time.RFC3339), s.Expires.UTC().Format(time.RFC3339))
	}
	return tw.Flush()
}

// printable is s as a terminal may show it: quoted and escaped
// (strconv.Quote) when it holds a character that is not printable, such as
// the escape sequences a provider's claims could carry.
func printable(s string) string {
	if strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		return strconv.Quote(s)
	}
	return s
}
