package commands

import (
	"cmp"
	"fmt"

	"github.com/qsgate/qsgate/config"
	"github.com/qsgate/qsgate/handlers"
	"github.com/qsgate/qsgate/quicksight"
)

// newMapper builds the user mapper of QSGATE_USER_MAPPING. What it reads or
// checks against the real account (the map file, the ARN template with the
// identity region filled in) is reported as a bad setting.
func newMapper(cfg config.Config, clients awsClients, dir *quicksight.Directory, identityRegion string) (handlers.UserMapper, *config.Problem) {
	bad := func(variable, format string, args ...any) (handlers.UserMapper, *config.Problem) {
		return nil, &config.Problem{Var: variable, Rule: fmt.Sprintf(format, args...)}
	}
	var names *quicksight.NameTemplate
	if cfg.UserNameTemplate != "" {
		var err error
		if names, err = quicksight.ParseNameTemplate(cfg.UserNameTemplate); err != nil {
			return bad("QSGATE_USER_NAME_TEMPLATE", "%v", err)
		}
	}
	switch cfg.UserMapping {
	case "file":
		m, err := quicksight.OpenMapFile(cfg.UserMapFile)
		if err != nil {
			return bad("QSGATE_USER_MAP_FILE", "cannot use %s: %v", cfg.UserMapFile, err)
		}
		return m, nil
	case "lookup":
		return quicksight.NewLookupMapper(dir, names, cfg.UserCacheTTL), nil
	case "register":
		return quicksight.NewRegisterMapper(quicksight.NewLookupMapper(dir, names, cfg.UserCacheTTL), names, cfg.CustomPermissionsName), nil
	case "iam":
		m, err := quicksight.NewIAMMapper(cfg.IAMRoleARN, clients.sts(), dir, cfg.IAMRegister, cfg.UserCacheTTL)
		if err != nil {
			return bad("QSGATE_IAM_ROLE_ARN", "%v", err)
		}
		if cfg.QuickSightAPI == "registered-user" {
			return m.ByARN(), nil // that API names every user by ARN
		}
		return m, nil
	case "identity-center":
		region := cmp.Or(cfg.IDCRegion, clients.cfg.Region)
		m, err := quicksight.NewIdentityCenterMapper(cfg.IDCApplicationARN, cfg.IDCRoleARN, clients.ssoOIDC(region), clients.sts(), cfg.AWSTimeout)
		if err != nil {
			return bad("QSGATE_IDC_APPLICATION_ARN", "%v", err)
		}
		return m, nil
	}
	// Fill the template with the real account, identity region and every
	// namespace a user can land in: a bad identity region from the AWS
	// profile must stop start-up, not give every user a 403.
	namespaces := []string{cfg.Namespace}
	for _, r := range cfg.Access.Rules {
		namespaces = append(namespaces, r.Namespace)
	}
	for _, ns := range namespaces {
		if err := quicksight.CheckTemplate(cfg.UserARNTemplate, cfg.AccountID, ns, identityRegion); err != nil {
			return bad("QSGATE_USER_ARN_TEMPLATE", "%v (identity region %q: set QSGATE_QUICKSIGHT_IDENTITY_REGION or AWS_REGION)", err, identityRegion)
		}
	}
	return quicksight.NewTemplateMapper(cfg.UserARNTemplate, cfg.AccountID, cfg.Namespace, identityRegion), nil
}
