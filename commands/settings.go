package commands

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsqs "github.com/aws/aws-sdk-go-v2/service/quicksight"
	"github.com/aws/aws-sdk-go-v2/service/ssooidc"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/qsgate/qsgate/config"
	"github.com/qsgate/qsgate/quicksight"
	"github.com/qsgate/qsgate/telemetry"
)

// settings are qsgate's checked settings and the AWS SDK's configuration:
// what serve, check-config and doctor start from.
type settings struct {
	cfg       config.Config
	aws       aws.Config // region and credentials, as the SDK loads them
	endpoints awsEndpoints
}

// loadSettings checks every setting and loads the AWS configuration. Its
// error is config.Problems, every problem at once, unless the env file
// itself could not be read.
func loadSettings(ctx context.Context, getenv func(string) string) (settings, error) {
	cfg, err := config.Load(getenv)
	var problems config.Problems
	if err != nil && !errors.As(err, &problems) {
		return settings{}, err
	}
	awsCfg, endpoints, awsProblem := loadAWS(ctx, getenv)
	if awsProblem != nil {
		problems = append(problems, *awsProblem)
	}
	// The SDK reads the process environment (the env file's OTEL_*
	// variables were copied there), so the check does too.
	for _, p := range telemetry.Check(os.Getenv) {
		problems = append(problems, config.Problem{Var: p.Var, Rule: p.Rule})
	}
	if len(problems) > 0 {
		return settings{}, problems
	}
	return settings{cfg: cfg, aws: awsCfg, endpoints: endpoints}, nil
}

// identityRegion is where QuickSight keeps the account's users:
// QSGATE_QUICKSIGHT_IDENTITY_REGION, or the AWS region.
func (s settings) identityRegion() string { return cmp.Or(s.cfg.IdentityRegion, s.aws.Region) }

// identityCenterRegion is where Identity Center answers: QSGATE_IDC_REGION,
// or the AWS region.
func (s settings) identityCenterRegion() string { return cmp.Or(s.cfg.IDCRegion, s.aws.Region) }

// awsEndpoints are endpoint overrides (the simulator, a VPC endpoint).
type awsEndpoints struct{ quickSight, sts, ssoOIDC string }

// awsClients makes the AWS clients from one SDK configuration, with the
// endpoint overrides. serve gives it the configuration with its admission
// budget and retryer; doctor gives it the SDK's own.
type awsClients struct {
	cfg       aws.Config
	endpoints awsEndpoints
}

// quickSight is a QuickSight client for region.
func (c awsClients) quickSight(region string) *awsqs.Client {
	return awsqs.NewFromConfig(c.cfg, func(o *awsqs.Options) {
		o.Region = region
		if c.endpoints.quickSight != "" {
			o.BaseEndpoint = aws.String(c.endpoints.quickSight)
		}
	})
}

// users is the QuickSight user API of region, for quicksight.NewDirectory.
func (c awsClients) users(region string) quicksight.UsersAPI { return c.quickSight(region) }

// sts is an STS client (the iam mapping's AssumeRole, doctor's
// GetCallerIdentity).
func (c awsClients) sts() *sts.Client {
	return sts.NewFromConfig(c.cfg, func(o *sts.Options) {
		if c.endpoints.sts != "" {
			o.BaseEndpoint = aws.String(c.endpoints.sts)
		}
	})
}

// ssoOIDC is an SSO OIDC client for region (identity-center's
// CreateTokenWithIAM).
func (c awsClients) ssoOIDC(region string) *ssooidc.Client {
	return ssooidc.NewFromConfig(c.cfg, func(o *ssooidc.Options) {
		o.Region = region
		if c.endpoints.ssoOIDC != "" {
			o.BaseEndpoint = aws.String(c.endpoints.ssoOIDC)
		}
	})
}

// loadAWS loads the SDK's own configuration (profile, credential chain,
// retryer). Settings that may come from the env file are passed explicitly,
// since the SDK reads only the process environment.
func loadAWS(ctx context.Context, getenv func(string) string) (aws.Config, awsEndpoints, *config.Problem) {
	var opts []func(*awsconfig.LoadOptions) error
	if region := cmp.Or(getenv("AWS_REGION"), getenv("AWS_DEFAULT_REGION")); region != "" {
		opts = append(opts, awsconfig.WithRegion(region))
	}
	if p := getenv("AWS_PROFILE"); p != "" {
		opts = append(opts, awsconfig.WithSharedConfigProfile(p))
	}
	if id, secret := getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY"); id != "" && secret != "" {
		opts = append(opts, awsconfig.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(id, secret, getenv("AWS_SESSION_TOKEN"))))
	}
	endpoints := awsEndpoints{
		quickSight: cmp.Or(getenv("AWS_ENDPOINT_URL_QUICKSIGHT"), getenv("AWS_ENDPOINT_URL")),
		sts:        cmp.Or(getenv("AWS_ENDPOINT_URL_STS"), getenv("AWS_ENDPOINT_URL")),
		ssoOIDC:    cmp.Or(getenv("AWS_ENDPOINT_URL_SSO_OIDC"), getenv("AWS_ENDPOINT_URL")),
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		variable := "AWS configuration"
		if getenv("AWS_PROFILE") != "" {
			variable = "AWS_PROFILE"
		}
		return aws.Config{}, endpoints, &config.Problem{Var: variable, Rule: fmt.Sprintf("cannot load: %v", err)}
	}
	if cfg.Region == "" {
		return aws.Config{}, endpoints, &config.Problem{Var: "AWS_REGION", Rule: "missing (set AWS_REGION, or a region in the AWS profile)"}
	}
	return cfg, endpoints, nil
}
