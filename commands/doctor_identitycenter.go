package commands

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsqs "github.com/aws/aws-sdk-go-v2/service/quicksight"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// The checks of `qsgate doctor` for QSGATE_USER_MAPPING=identity-center
// (see doctor.go). What they can check without a user: the settings, that
// QuickSight's account signs users in with IAM Identity Center (and the
// same instance as the application), and that the role answers the
// gateway. The chain itself (CreateTokenWithIAM, AssumeRole with the
// identity context, the embed call) needs a user's ID token from the
// provider, which doctor never has.

// The identity-center checks' names.
const (
	doctorIDCSettings = "Identity Center settings"
	doctorIDCAccount  = "QuickSight authentication"
	doctorIDCRole     = "Identity Center role"
)

// doctorIDCSession is the role session name of the role check.
const doctorIDCSession = "qsgate-doctor"

// identityCenterChecks are the identity-center mode's checks, after the
// identity region's.
func (d *doctor) identityCenterChecks(ctx context.Context) {
	d.check(ctx, doctorIDCSettings, []string{doctorSettings}, d.idcSettings)
	d.check(ctx, doctorIDCAccount, []string{doctorRegion}, d.idcAccount)
	d.check(ctx, doctorIDCRole, []string{doctorCredentials}, d.idcRole)
	if d.user != "" {
		d.check(ctx, "Identity Center chain for "+d.user, []string{doctorIDCAccount}, d.idcChain)
	}
}

// idcSettings reports the application, the role and Identity Center's
// region. Their shapes were checked with the settings (a bad one fails
// there); this says what the gateway will use, and where the region came
// from.
func (d *doctor) idcSettings(context.Context) doctorVerdict {
	from := "QSGATE_IDC_REGION"
	if d.cfg.IDCRegion == "" {
		from = "the AWS region; set QSGATE_IDC_REGION if Identity Center is in another"
	}
	return okVerdict("application %s, role %s, Identity Center in %s (%s)", d.cfg.IDCApplicationARN, d.cfg.IDCRoleARN, d.idcRegion, from)
}

// idcAccount asks QuickSight how the account signs users in
// (DescribeAccountSubscription, in the identity region): only an account
// on IAM Identity Center answers GenerateEmbedUrlForRegisteredUserWithIdentity,
// and only for users of its own Identity Center instance, which must be
// the application's.
func (d *doctor) idcAccount(ctx context.Context) doctorVerdict {
	ctx, cancel := context.WithTimeout(ctx, d.cfg.AWSTimeout)
	defer cancel()
	region, account := d.dir.Region(), d.cfg.AccountID
	out, err := d.clients.quickSight(region).DescribeAccountSubscription(ctx, &awsqs.DescribeAccountSubscriptionInput{AwsAccountId: aws.String(account)})
	if err != nil {
		code, why := describeAWSError("DescribeAccountSubscription", err)
		switch code {
		case "AccessDeniedException":
			return failVerdict(why, fmt.Sprintf("allow quicksight:DescribeAccountSubscription on arn:aws:quicksight:%s:%s:* (doctor alone calls it, serve does not)", region, account))
		case "ResourceNotFoundException":
			return failVerdict(why, fmt.Sprintf("sign up for QuickSight (Enterprise edition, with IAM Identity Center) in account %s, or fix QSGATE_QUICKSIGHT_ACCOUNT_ID", account))
		}
		return awsCallFailure("DescribeAccountSubscription", err, "AWS_ENDPOINT_URL_QUICKSIGHT")
	}
	var method, instance string
	if out.AccountInfo != nil {
		method, instance = aws.ToString(out.AccountInfo.AuthenticationType), aws.ToString(out.AccountInfo.IAMIdentityCenterInstanceArn)
	}
	if method != "IAM_IDENTITY_CENTER" {
		return failVerdict(fmt.Sprintf("account %s signs users in with %s, not IAM_IDENTITY_CENTER: QuickSight refuses identity-enhanced embedding", account, method),
			"QuickSight's authentication method is chosen when the account subscribes: identity-center mode needs an account subscribed with IAM Identity Center "+
				"(in the Identity Center instance of QSGATE_IDC_APPLICATION_ARN); for this account pick another QSGATE_USER_MAPPING")
	}
	appInstance := applicationInstance(d.cfg.IDCApplicationARN)
	if instance != "" && appInstance != "" && !strings.HasSuffix(instance, "/"+appInstance) {
		return failVerdict(fmt.Sprintf("QuickSight uses Identity Center instance %s, but QSGATE_IDC_APPLICATION_ARN is in %s", instance, appInstance),
			"create the application (a customer managed application trusting the provider) in the Identity Center instance QuickSight uses, and set QSGATE_IDC_APPLICATION_ARN to it")
	}
	return okVerdict("%s signs users in with IAM_IDENTITY_CENTER (%s)", account, instance)
}

// applicationInstance is the ssoins-... part of an application ARN.
func applicationInstance(arn string) string {
	_, rest, ok := strings.Cut(arn, ":application/")
	if !ok {
		return ""
	}
	instance, _, _ := strings.Cut(rest, "/")
	return instance
}

// idcRole assumes the role plainly. The gateway assumes it with the user's
// identity context, which needs a user: a success proves the trust policy
// lets the gateway in (not that it allows sts:SetContext), and a refusal
// may be a trust policy that demands the context, so it is a warning.
func (d *doctor) idcRole(ctx context.Context) doctorVerdict {
	ctx, cancel := context.WithTimeout(ctx, d.cfg.AWSTimeout)
	defer cancel()
	_, err := d.clients.sts().AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn: aws.String(d.cfg.IDCRoleARN), RoleSessionName: aws.String(doctorIDCSession), DurationSeconds: aws.Int32(900),
	})
	trust := "the role's trust policy must allow the gateway's identity sts:AssumeRole and sts:SetContext, and the gateway's policy both actions on the role"
	if err != nil {
		code, why := describeAWSError("AssumeRole", err)
		if code == "AccessDenied" {
			return warnVerdict(why+" (without an identity context: fine if the trust policy demands one, which only a user's first view can show)", trust)
		}
		return awsCallFailure("AssumeRole", err, "AWS_ENDPOINT_URL_STS")
	}
	v := okVerdict("%s answers the gateway (assumed without an identity context)", d.cfg.IDCRoleARN)
	v.notes = append(v.notes, "sts:SetContext, the identity context the gateway adds, is checked only at a user's first view: "+trust)
	return v
}

// idcChain says what doctor cannot check for a user in identity-center mode:
// there is no user mapping, and each step of the chain needs the user's ID
// token from the provider. It skips, so it does not fail the run.
func (d *doctor) idcChain(context.Context) doctorVerdict {
	return doctorVerdict{outcome: doctorSkip,
		text: fmt.Sprintf("needs %s's ID token from the provider, which doctor cannot get: sign in to the portal as them to check the rest", d.user),
		notes: []string{
			"identity-center mode maps no users: a first view sends the provider's ID token to CreateTokenWithIAM (QSGATE_IDC_APPLICATION_ARN), " +
				"assumes QSGATE_IDC_ROLE_ARN with the identity context it returns, and calls GenerateEmbedUrlForRegisteredUserWithIdentity",
			"each refusal on the way has its own page, and its log line names the fix",
		}}
}
