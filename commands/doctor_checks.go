package commands

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsqs "github.com/aws/aws-sdk-go-v2/service/quicksight"
	"github.com/aws/aws-sdk-go-v2/service/quicksight/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/qsgate/qsgate/quicksight"
)

// The checks of `qsgate doctor`, one method each (see doctor.go).

// discovery fetches the issuer's discovery document as the gateway does.
func (d *doctor) discovery(ctx context.Context) doctorVerdict {
	v := d.discover(ctx)
	v.notes = append(v.notes, fmt.Sprintf("register at the provider: redirect URI %s, post-logout redirect URI %s/signed-out",
		d.cfg.RedirectURL(), d.cfg.PublicURL))
	return v
}

func (d *doctor) discover(ctx context.Context) doctorVerdict {
	ctx, cancel := context.WithTimeout(ctx, doctorProviderTimeout)
	defer cancel()
	wellKnown := strings.TrimSuffix(d.cfg.OIDCIssuer, "/") + "/.well-known/openid-configuration"
	p, err := oidc.NewProvider(ctx, d.cfg.OIDCIssuer)
	var mismatch *oidc.IssuerMismatchError
	switch {
	case errors.As(err, &mismatch):
		return failVerdict(fmt.Sprintf("the provider names itself %q, not %q", mismatch.Discovered, mismatch.Provided),
			"set QSGATE_OIDC_ISSUER="+mismatch.Discovered+" (exactly as the provider writes it)")
	case err != nil:
		why := clipText(err.Error())
		if !strings.Contains(why, wellKnown) { // a status and body, without the URL
			why = "GET " + wellKnown + ": " + why
		}
		return failVerdict(why,
			"check QSGATE_OIDC_ISSUER (the issuer URL, without /.well-known/openid-configuration) and that this host reaches it: DNS, proxy, firewall, TLS certificates")
	}
	var doc struct {
		JWKS string `json:"jwks_uri"`
	}
	if err := p.Claims(&doc); err != nil || doc.JWKS == "" {
		return failVerdict(wellKnown+" names no jwks_uri", "fix the provider's discovery document: it must name its signing keys (jwks_uri)")
	}
	d.jwksURL = doc.JWKS
	return okVerdict("%s", wellKnown)
}

// jwks fetches the provider's signing keys: without them no ID token can be
// verified, and every sign-in fails.
func (d *doctor) jwks(ctx context.Context) doctorVerdict {
	ctx, cancel := context.WithTimeout(ctx, doctorProviderTimeout)
	defer cancel()
	fix := "the provider's jwks_uri must answer 200 with its signing keys ({\"keys\": [...]}); check the provider, and that this host reaches " + d.jwksURL
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.jwksURL, nil)
	if err != nil {
		return failVerdict(clipText(err.Error()), fix)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return failVerdict(clipText(err.Error()), fix)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return failVerdict(fmt.Sprintf("GET %s answered %s", d.jwksURL, resp.Status), fix)
	}
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&set); err != nil {
		return failVerdict(fmt.Sprintf("%s is not a JSON key set: %s", d.jwksURL, clipText(err.Error())), fix)
	}
	if len(set.Keys) == 0 {
		return failVerdict(d.jwksURL+" holds no keys", fix)
	}
	return okVerdict("%d key(s) at %s", len(set.Keys), d.jwksURL)
}

const doctorCredentialFix = "check the credential chain: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN, AWS_PROFILE, or the instance or task role (and this host's clock)"

// credentials resolves the AWS credentials and asks STS whose they are.
func (d *doctor) credentials(ctx context.Context) doctorVerdict {
	ctx, cancel := context.WithTimeout(ctx, d.cfg.AWSTimeout)
	defer cancel()
	if d.clients.cfg.Credentials == nil {
		return failVerdict("none found", doctorCredentialFix)
	}
	creds, err := d.clients.cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return failVerdict("none found: "+clipText(err.Error()), doctorCredentialFix)
	}
	out, err := d.clients.sts().GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return awsCallFailure("GetCallerIdentity", err, "AWS_ENDPOINT_URL_STS")
	}
	account := aws.ToString(out.Account)
	v := okVerdict("%s (account %s, credentials from %s)", aws.ToString(out.Arn), account, creds.Source)
	if account != d.cfg.AccountID {
		v.notes = append(v.notes, fmt.Sprintf("the credentials are account %s's and QuickSight is in account %s: fine when %s's policies grant them access",
			account, d.cfg.AccountID, d.cfg.AccountID))
	}
	return v
}

// account asks QuickSight for the account's settings in the AWS region,
// where embedding happens: console embedding needs Enterprise edition.
func (d *doctor) account(ctx context.Context) doctorVerdict {
	ctx, cancel := context.WithTimeout(ctx, d.cfg.AWSTimeout)
	defer cancel()
	region, account := d.clients.cfg.Region, d.cfg.AccountID
	upgrade := fmt.Sprintf("upgrade QuickSight in account %s to Enterprise edition (an administrator can, under Manage QuickSight)", account)
	out, err := d.clients.quickSight(region).DescribeAccountSettings(ctx, &awsqs.DescribeAccountSettingsInput{AwsAccountId: aws.String(account)})
	if err != nil {
		code, why := describeAWSError("DescribeAccountSettings", err)
		switch code {
		case "AccessDeniedException":
			return failVerdict(why, fmt.Sprintf("allow quicksight:DescribeAccountSettings on arn:aws:quicksight:%s:%s:* (doctor alone calls it, serve does not), and check that QSGATE_QUICKSIGHT_ACCOUNT_ID=%s is the account that has QuickSight",
				region, account, account))
		case "ResourceNotFoundException":
			return failVerdict(why, fmt.Sprintf("sign up for QuickSight (Enterprise edition) in account %s, or fix QSGATE_QUICKSIGHT_ACCOUNT_ID", account))
		case "UnsupportedUserEditionException":
			return failVerdict(why, upgrade)
		}
		return awsCallFailure("DescribeAccountSettings", err, "AWS_ENDPOINT_URL_QUICKSIGHT")
	}
	var edition types.Edition
	if out.AccountSettings != nil {
		edition = out.AccountSettings.Edition
	}
	switch edition {
	case types.EditionEnterprise, types.EditionEnterpriseAndQ:
		return okVerdict("%s in %s, %s edition", account, region, edition)
	}
	return failVerdict(fmt.Sprintf("%s in %s is %s edition: console embedding needs Enterprise", account, region, cmp.Or(string(edition), "an unknown")), upgrade)
}

// identityRegion makes the user-management call the mode makes (ListUsers
// when it lists the namespace, else DescribeUser of a made-up name) in the
// identity region: QuickSight refuses it anywhere else, naming the right one.
func (d *doctor) identityRegion(ctx context.Context) doctorVerdict {
	op, ns := "DescribeUser", d.cfg.Namespace
	var err error
	if d.lists() {
		op = "ListUsers" // the whole listing, as a first sign-in makes it
		err = d.dir.List(ctx, ns, func(quicksight.User) {})
	} else if _, err = d.dir.Describe(ctx, ns, doctorProbeUser); errors.Is(err, quicksight.ErrUserNotFound) {
		err = nil // answered: this is the identity region
	}
	region := d.dir.Region()
	var e *quicksight.Error
	switch {
	case err == nil:
		return okVerdict("%s (%s answered there)", region, op)
	case !errors.As(err, &e):
		return failVerdict(clipText(err.Error()), "check the network path to AWS, AWS_REGION and AWS_ENDPOINT_URL_QUICKSIGHT")
	case e.IdentityRegion != "" && e.IdentityRegion != region:
		return failVerdict(fmt.Sprintf("QuickSight answers %s only in %s, not in %s", op, e.IdentityRegion, region),
			"set QSGATE_QUICKSIGHT_IDENTITY_REGION="+e.IdentityRegion)
	case e.Code == "AccessDeniedException" && !d.managesUsers():
		return warnVerdict(fmt.Sprintf("%s not confirmed: quicksight:DescribeUser is not granted", region),
			fmt.Sprintf("only lookup, register and iam with QSGATE_IAM_REGISTER need it; grant quicksight:DescribeUser on %s to confirm the region (template and file modes use it to tell readers why the console refuses them)",
				d.userResource(ns)))
	case e.Code == "AccessDeniedException":
		return failVerdict(fmt.Sprintf("quicksight:%s is not granted in %s", op, region),
			fmt.Sprintf("grant quicksight:%s on %s: QSGATE_USER_MAPPING=%s needs it", op, d.userResource(ns), d.cfg.UserMapping))
	}
	return quickSightCallFailure(e)
}

// lists reports whether the mapping finds users by listing the namespace.
func (d *doctor) lists() bool {
	m := d.cfg.UserMapping
	return (m == "lookup" || m == "register") && d.cfg.UserNameTemplate == ""
}

// managesUsers reports whether the mapping needs the user-management calls.
func (d *doctor) managesUsers() bool {
	m := d.cfg.UserMapping
	return m == "lookup" || m == "register" || (m == "iam" && d.cfg.IAMRegister)
}

func (d *doctor) userResource(ns string) string {
	return fmt.Sprintf("arn:aws:quicksight:%s:%s:user/%s/*", d.dir.Region(), d.cfg.AccountID, ns)
}

// emailOnlyClaims is a person doctor knows by a verified email alone: no sub,
// preferred_username, groups or other claims.
type emailOnlyClaims string

func (e emailOnlyClaims) Claim(name string) string {
	if name == "email" {
		return string(e)
	}
	return ""
}

// quickSightUserARNRE takes a QuickSight user ARN apart: region, account, namespace,
// name (an IAM role session's holds a slash itself).
var quickSightUserARNRE = regexp.MustCompile(`^arn:aws[a-z-]*:quicksight:([a-z0-9-]+):([0-9]{12}):user/([^/]+)/(.+)$`)

// mapping asks the gateway's mapper (lookup only) for the person with the
// email doctor was given.
func (d *doctor) mapping(ctx context.Context) doctorVerdict {
	email := d.user
	d.person = quicksight.Person{Claims: emailOnlyClaims(email), Namespace: d.cfg.Access.Namespace(email, nil), Role: d.cfg.Access.Role(nil)}
	v := d.mapEmail(ctx)
	v.notes = append([]string{"doctor knows " + email + " by this verified email alone: no sub, preferred_username or groups"}, v.notes...)
	if d.cfg.UserMapping == "register" || d.cfg.IAMRegister {
		v.notes = append(v.notes, "doctor looks users up and registers nobody")
	}
	return v
}

func (d *doctor) mapEmail(ctx context.Context) doctorVerdict {
	email, ns := d.user, d.person.Namespace
	domainsOnly := d.cfg.Access
	domainsOnly.Groups = nil // doctor cannot know the groups
	if err := domainsOnly.Allow(email, nil); err != nil {
		return failVerdict(err.Error(), "add the domain to QSGATE_ALLOWED_EMAIL_DOMAINS, or check with an address the portal admits")
	}
	var unknown []string
	for _, c := range d.cfg.TemplateClaims {
		if c != "email" && !slices.Contains(unknown, c) {
			unknown = append(unknown, c)
		}
	}
	if len(unknown) > 0 {
		return doctorVerdict{outcome: doctorSkip, text: fmt.Sprintf("needs the claims %s, which doctor cannot know from an email: sign in to check", strings.Join(unknown, ", "))}
	}
	if !d.lists() {
		// A listing is bounded page by page by the directory; the rest
		// (DescribeUser, iam's AssumeRole) gets the usual budget.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d.cfg.AWSTimeout)
		defer cancel()
	}
	id, err := d.mapper.Identity(ctx, d.person)
	var e *quicksight.Error
	switch {
	case errors.Is(err, quicksight.ErrUserNotFound):
		d.missing = true // what that means is the next check's to say
		return okVerdict("looked up by email in namespace %s: nobody has it", ns)
	case errors.Is(err, quicksight.ErrNoMapping):
		return failVerdict(err.Error(), d.noMappingFix(ns))
	case errors.As(err, &e):
		return quickSightCallFailure(e)
	case err != nil:
		return failVerdict(clipText(err.Error()), d.noMappingFix(ns))
	}
	d.identity = id
	m := quickSightUserARNRE.FindStringSubmatch(id.UserARN)
	if m == nil {
		return failVerdict(fmt.Sprintf("gives %q, not a QuickSight user ARN", id.UserARN), d.noMappingFix(ns))
	}
	// An ARN written by the operator (template, file) can name another
	// account or region than the one the gateway embeds for.
	if mode := d.cfg.UserMapping; (mode == "template" || mode == "file") && (m[1] != d.dir.Region() || m[2] != d.cfg.AccountID) {
		return failVerdict(fmt.Sprintf("gives %s, but QuickSight is account %s with identity region %s", id.UserARN, d.cfg.AccountID, d.dir.Region()),
			d.noMappingFix(ns))
	}
	return okVerdict("%s", id.UserARN)
}

// noMappingFix says where a wrong or missing ARN comes from, per mode.
func (d *doctor) noMappingFix(ns string) string {
	switch d.cfg.UserMapping {
	case "template":
		return "QSGATE_USER_ARN_TEMPLATE must give this person's QuickSight user ARN (use {account_id}, {identity_region} and {namespace})"
	case "file":
		return fmt.Sprintf("add the row %s,arn:aws:quicksight:%s:%s:user/%s/NAME to %s (a row keyed by the subject also matches at sign-in; doctor looks up by email only)",
			d.user, d.dir.Region(), d.cfg.AccountID, ns, d.cfg.UserMapFile)
	}
	return fmt.Sprintf("each QuickSight user of namespace %s needs an email of its own (with QSGATE_USER_NAME_TEMPLATE, the user it names must have this email)", ns)
}

// quickSightUser checks that QuickSight knows the mapped user and that its
// role may open the console.
func (d *doctor) quickSightUser(ctx context.Context) doctorVerdict {
	if d.missing {
		return d.notRegistered(fmt.Sprintf("no QuickSight user in namespace %s has this email", d.person.Namespace))
	}
	m := quickSightUserARNRE.FindStringSubmatch(d.identity.UserARN)
	ns, name := m[3], m[4]
	role, active := d.identity.Role, true
	if role == "" { // the mapper did not learn it
		u, err := d.dir.Describe(ctx, ns, name)
		var e *quicksight.Error
		switch {
		case errors.Is(err, quicksight.ErrUserNotFound):
			return d.notRegistered(fmt.Sprintf("QuickSight has no user %s in namespace %s", name, ns))
		case errors.As(err, &e) && e.Code == "AccessDeniedException" && e.IdentityRegion == "" && !d.managesUsers():
			return warnVerdict("not checked: quicksight:DescribeUser is not granted",
				"grant quicksight:DescribeUser on "+d.userResource(ns)+" for doctor to check users")
		case errors.As(err, &e):
			return quickSightCallFailure(e)
		case err != nil:
			return failVerdict(clipText(err.Error()), "check the network path to AWS, AWS_REGION and AWS_ENDPOINT_URL_QUICKSIGHT")
		}
		role, active = u.Role, u.Active
	}
	switch {
	case quicksight.IsReader(role):
		return failVerdict(fmt.Sprintf("%s has the role %s: the console needs AUTHOR or ADMIN", name, role),
			"make them AUTHOR or ADMIN in QuickSight (Manage users, or the UpdateUser API)")
	case !active:
		return warnVerdict(fmt.Sprintf("%s (%s) is inactive", name, role),
			"QuickSight marks users inactive until their first sign-in; if the console refuses them, have them accept their invitation or reactivate them")
	}
	v := okVerdict("%s, %s", name, role)
	if q := d.amazonQFeatures(); len(q) > 0 && !strings.HasSuffix(role, "_PRO") {
		v.notes = append(v.notes, fmt.Sprintf("%s is %s, not a Pro role: QuickSight gives the Amazon Q features (%s) to Pro users only",
			name, role, strings.Join(q, ", ")))
	}
	return v
}

// amazonQFeatures are the q-* features the settings turn on, once each.
func (d *doctor) amazonQFeatures() []string {
	q := slices.DeleteFunc(append(slices.Clone(d.cfg.ConsoleFeatures), d.cfg.DashboardFeatures...), func(f string) bool { return !quicksight.IsAmazonQFeature(f) })
	slices.Sort(q)
	return slices.Compact(q)
}

// notRegistered is the verdict on a person QuickSight does not know yet:
// fine when the mode registers them with a role that may open the console.
func (d *doctor) notRegistered(who string) doctorVerdict {
	registers := d.cfg.UserMapping == "register" || (d.cfg.UserMapping == "iam" && d.cfg.IAMRegister)
	if !registers {
		if d.cfg.UserMapping == "iam" {
			return failVerdict(who, fmt.Sprintf("register the role session (RegisterUser with IdentityType IAM, IamArn %s, SessionName %s), or set QSGATE_IAM_REGISTER=true to register users on first sign-in",
				d.cfg.IAMRoleARN, quicksight.RoleSessionName(strings.ToLower(d.user))))
		}
		return failVerdict(who, "register them in QuickSight with this email (Manage users, or the RegisterUser API), or set QSGATE_USER_MAPPING=register to register users on first sign-in")
	}
	role, policy := d.person.Role, d.cfg.Access
	switch {
	case !quicksight.IsReader(role):
		return okVerdict("%s yet; the first sign-in registers them as %s", who, role)
	case len(policy.AdminGroups)+len(policy.AuthorGroups) > 0:
		return warnVerdict(fmt.Sprintf("%s yet; the first sign-in registers them as ADMIN if in QSGATE_ADMIN_GROUPS, AUTHOR if in QSGATE_AUTHOR_GROUPS, else %s, who cannot open the console (doctor cannot see groups)", who, role),
			"make sure the provider puts them in one of QSGATE_AUTHOR_GROUPS or QSGATE_ADMIN_GROUPS")
	}
	return failVerdict(fmt.Sprintf("%s yet, and the first sign-in would register them as %s, who cannot open the console", who, role),
		"set QSGATE_DEFAULT_ROLE=AUTHOR, or name the groups that author in QSGATE_AUTHOR_GROUPS (and QSGATE_ADMIN_GROUPS)")
}

// awsCredentialCodes are the answers AWS gives to credentials it will not take.
var awsCredentialCodes = []string{
	"InvalidClientTokenId", "SignatureDoesNotMatch", "ExpiredToken", "IncompleteSignature",
	"ExpiredTokenException", "UnrecognizedClientException", "InvalidSignatureException",
}

// describeAWSError is the code and a one-line account of a failed AWS call.
func describeAWSError(op string, err error) (code, why string) {
	var apiErr smithy.APIError
	switch {
	case errors.As(err, &apiErr):
		return apiErr.ErrorCode(), fmt.Sprintf("%s: %s: %s", op, apiErr.ErrorCode(), clipText(apiErr.ErrorMessage()))
	case errors.Is(err, context.DeadlineExceeded):
		return "Timeout", op + ": no answer within QSGATE_AWS_TIMEOUT"
	}
	return "", op + ": " + clipText(err.Error())
}

// awsCallFailure is the verdict on a failed AWS call no check-specific rule
// explains; endpointVar is the setting that can point the call elsewhere.
func awsCallFailure(op string, err error, endpointVar string) doctorVerdict {
	code, why := describeAWSError(op, err)
	switch {
	case slices.Contains(awsCredentialCodes, code):
		return failVerdict(why, doctorCredentialFix)
	case code == "" || code == "Timeout":
		return failVerdict(why, "check the network path to AWS (proxy, firewall, VPC endpoint), AWS_REGION and "+endpointVar)
	}
	return failVerdict(why, "see AWS's answer above; check AWS_REGION, the account id and the IAM policy of these credentials")
}

// quickSightCallFailure is the verdict on a failed call through the quicksight
// package, whose errors carry a hint.
func quickSightCallFailure(e *quicksight.Error) doctorVerdict {
	why := fmt.Sprintf("%s: %s", e.Op, e.Code)
	if e.Message != "" {
		why += ": " + clipText(e.Message)
	}
	if slices.Contains(awsCredentialCodes, e.Code) {
		return failVerdict(why, doctorCredentialFix)
	}
	return failVerdict(why, cmp.Or(e.Hint, "see QuickSight's answer: check the account id, QSGATE_QUICKSIGHT_NAMESPACE and the IAM policy"))
}

// clipText is an error text on one line, cut to a readable length: a
// provider's HTML error page would otherwise fill the screen.
func clipText(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > 300 {
		return string(r[:300]) + "..."
	}
	return s
}
