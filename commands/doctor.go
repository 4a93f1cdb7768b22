package commands

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/qsgate/qsgate/access"
	"github.com/qsgate/qsgate/config"
	"github.com/qsgate/qsgate/handlers"
	"github.com/qsgate/qsgate/quicksight"
)

var doctorCommand = command{
	name: "doctor",
	summary: "preflight: the settings, the OIDC provider, AWS credentials, the QuickSight edition and identity\n" +
		"region (and Identity Center's account and role), and with --user that person's QuickSight user;\n" +
		"exit 1 when a check fails",
	settings: true,
	setup: func(fs *flag.FlagSet) func(context.Context, *invocation) error {
		user := fs.String("user", "", "also check the QuickSight user of the person with this email")
		return func(ctx context.Context, in *invocation) error {
			return runDoctor(ctx, in.getenv, *user, in.stdout)
		}
	},
}

// runDoctor is `qsgate doctor`, the preflight an operator runs before going
// live (and a pipeline runs before deploying): the settings, the OIDC
// provider's discovery document and signing keys, the AWS credentials, the
// QuickSight account and edition, the identity region and, given user (an
// email), which QuickSight user that person becomes and whether it may open
// the console. One line per check, a fix under each failure; it returns nil
// only when no check failed.
//
// It changes nothing: in register mode, and in iam mode with registration,
// it looks the user up and registers nobody. It never prints a secret.
// Beyond the mode's own permissions it calls sts:GetCallerIdentity (always
// allowed) and quicksight:DescribeAccountSettings; in identity-center mode
// also quicksight:DescribeAccountSubscription, and sts:AssumeRole of the
// role without an identity context (doctor_identitycenter.go).
func runDoctor(ctx context.Context, getenv func(string) string, user string, stdout io.Writer) error {
	if _, ok := access.Domain(user); user != "" && !ok {
		return fmt.Errorf("--user %q: want the email address the provider sends, e.g. alice@example.com", user)
	}
	d := &doctor{out: stdout, getenv: getenv, user: user, outcomes: map[string]doctorOutcome{}}
	d.check(ctx, doctorSettings, nil, d.settings)
	d.check(ctx, doctorDiscovery, []string{doctorSettings}, d.discovery)
	d.check(ctx, doctorJWKS, []string{doctorDiscovery}, d.jwks)
	d.check(ctx, doctorCredentials, []string{doctorSettings}, d.credentials)
	d.check(ctx, doctorAccount, []string{doctorCredentials}, d.account)
	d.check(ctx, doctorRegion, []string{doctorCredentials}, d.identityRegion)
	// The mode from the environment too: with settings that fail, its
	// checks are skipped rather than left out.
	if d.cfg.UserMapping == "identity-center" || strings.TrimSpace(getenv("QSGATE_USER_MAPPING")) == "identity-center" {
		d.identityCenterChecks(ctx) // no user mapping: --user cannot be checked as below
	} else if user != "" {
		mapping := "user mapping for " + user
		d.check(ctx, mapping, []string{doctorRegion}, d.mapping)
		d.check(ctx, "QuickSight user for "+user, []string{mapping}, d.quickSightUser)
	}
	if d.failed == 0 {
		return nil
	}
	msg := fmt.Sprintf("%d of %d checks failed", d.failed, len(d.outcomes))
	if d.skipped > 0 {
		msg += fmt.Sprintf(", %d skipped", d.skipped)
	}
	return errors.New(msg)
}

// The checks' names, which skip lines of later checks refer to.
const (
	doctorSettings    = "settings"
	doctorDiscovery   = "OIDC discovery"
	doctorJWKS        = "OIDC signing keys"
	doctorCredentials = "AWS credentials"
	doctorAccount     = "QuickSight account"
	doctorRegion      = "identity region"
)

// doctorProbeUser is the user name the identity region check asks
// DescribeUser about: whether it exists does not matter, where QuickSight
// answers does.
const doctorProbeUser = "qsgate-doctor-probe"

// doctorProviderTimeout bounds each request to the OIDC provider.
const doctorProviderTimeout = 10 * time.Second

type doctorOutcome int

const (
	doctorOK   doctorOutcome = iota
	doctorWarn               // reported, but does not fail the run
	doctorFail
	doctorSkip
)

var doctorLabels = [...]string{doctorOK: "ok  ", doctorWarn: "warn", doctorFail: "FAIL", doctorSkip: "skip"}

// doctorVerdict is what one check found.
type doctorVerdict struct {
	outcome doctorOutcome
	text    string   // ok, warn: what was found; FAIL: why; skip: what it needs
	details []string // more indented lines (every settings problem)
	fix     string   // what to change; FAIL and warn
	notes   []string // "info" lines after the check
}

func okVerdict(format string, args ...any) doctorVerdict {
	return doctorVerdict{outcome: doctorOK, text: fmt.Sprintf(format, args...)}
}

func failVerdict(why, fix string) doctorVerdict {
	return doctorVerdict{outcome: doctorFail, text: why, fix: fix}
}

func warnVerdict(why, fix string) doctorVerdict {
	return doctorVerdict{outcome: doctorWarn, text: why, fix: fix}
}

// doctor runs the checks in order; each one leaves what later ones need.
type doctor struct {
	out      io.Writer
	getenv   func(string) string
	user     string
	outcomes map[string]doctorOutcome
	failed   int
	skipped  int

	// Set by the settings check.
	cfg     config.Config
	clients awsClients            // the SDK's own configuration, without serve's budget and retryer
	dir     *quicksight.Directory // follows no region: doctor reports a wrong one
	mapper  handlers.UserMapper   // lookup only, never registers
	// idcRegion is Identity Center's region (identity-center mode).
	idcRegion string

	jwksURL string // set by discovery

	// Set by the user mapping check.
	person   quicksight.Person
	identity quicksight.Identity
	missing  bool // lookup found nobody with the email
}

// check runs one check unless a check it needs failed or was skipped, and
// prints its lines.
func (d *doctor) check(ctx context.Context, name string, needs []string, run func(context.Context) doctorVerdict) {
	var v doctorVerdict
	if i := slices.IndexFunc(needs, func(n string) bool { return d.outcomes[n] >= doctorFail }); i >= 0 {
		v = doctorVerdict{outcome: doctorSkip, text: "needs " + needs[i]}
	} else {
		v = run(ctx)
	}
	d.outcomes[name] = v.outcome
	switch v.outcome {
	case doctorFail:
		d.failed++
	case doctorSkip:
		d.skipped++
	}
	line := doctorLabels[v.outcome] + " " + name
	if v.text != "" {
		line += ": " + v.text
	}
	fmt.Fprintln(d.out, line)
	for _, l := range v.details {
		fmt.Fprintln(d.out, "     "+l)
	}
	if v.fix != "" {
		fmt.Fprintln(d.out, "     fix: "+v.fix)
	}
	for _, n := range v.notes {
		fmt.Fprintln(d.out, "info "+n)
	}
}

// settings makes the checks build() makes before it wires the servers (those
// that follow cannot fail on settings that pass these), with the same
// loader and the same mapper, and keeps the parts the other checks use.
func (d *doctor) settings(ctx context.Context) doctorVerdict {
	set, err := loadSettings(ctx, d.getenv)
	var problems config.Problems
	if err != nil && !errors.As(err, &problems) {
		return failVerdict(err.Error(), "correct the settings; `qsgate check-config` checks them alone")
	}
	if err == nil {
		d.cfg, d.clients = set.cfg, awsClients{cfg: set.aws, endpoints: set.endpoints}
		d.idcRegion = set.identityCenterRegion()
		d.dir = quicksight.NewDirectory(set.cfg.AccountID, set.identityRegion(), set.cfg.AWSTimeout, false, d.clients.users, nil)
		// lookupOnlyConfig changes nothing newMapper checks, so its problems are serve's.
		mapper, problem := newMapper(lookupOnlyConfig(set.cfg), d.clients, d.dir, set.identityRegion())
		if problem != nil {
			problems = append(problems, *problem)
		}
		d.mapper = mapper
	}
	if len(problems) > 0 {
		v := failVerdict(fmt.Sprintf("%d invalid", len(problems)),
			"correct each of these in the environment or the env file; `qsgate check-config` checks the settings alone")
		for _, p := range problems {
			v.details = append(v.details, p.Var+": "+p.Rule)
		}
		return v
	}
	v := okVerdict("valid; QSGATE_USER_MAPPING=%s, account %s, AWS region %s, identity region %s",
		set.cfg.UserMapping, set.cfg.AccountID, set.aws.Region, d.dir.Region())
	if set.cfg.QuickSightAPI == "registered-user" {
		for _, l := range set.cfg.FeatureLines() {
			v.notes = append(v.notes, l[0]+": "+l[1])
		}
	}
	return v
}

// lookupOnlyConfig is the mapping doctor uses: register mode without registering
// (the lookup it starts with), iam mode without QSGATE_IAM_REGISTER.
func lookupOnlyConfig(cfg config.Config) config.Config {
	if cfg.UserMapping == "register" {
		cfg.UserMapping = "lookup"
	}
	cfg.IAMRegister = false
	return cfg
}
