package quicksight

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// DefaultARNTemplate is QSGATE_USER_ARN_TEMPLATE's default.
const DefaultARNTemplate = "arn:aws:quicksight:{identity_region}:{account_id}:user/{namespace}/{email}"

// TemplateClaims checks an ARN template and returns the claim names it
// reads, so the session can keep exactly those. The error names the first
// unknown placeholder.
func TemplateClaims(tmpl string) ([]string, error) {
	if strings.TrimSpace(tmpl) == "" {
		return nil, errors.New("empty template")
	}
	var claims []string
	for _, p := range placeholderRE.FindAllString(tmpl, -1) {
		switch {
		case p == "{account_id}", p == "{namespace}", p == "{identity_region}":
		case userClaims[p] != "":
			claims = append(claims, userClaims[p])
		case strings.HasPrefix(p, "{claim:"):
			name := strings.TrimSuffix(strings.TrimPrefix(p, "{claim:"), "}")
			if !claimNameRE.MatchString(name) {
				return nil, fmt.Errorf("bad claim name in placeholder %s", p)
			}
			claims = append(claims, name)
		default:
			return nil, fmt.Errorf("unknown placeholder %s (known: {email}, {sub}, {preferred_username}, {claim:NAME}, {account_id}, {namespace}, {identity_region})", p)
		}
	}
	if strings.ContainsAny(placeholderRE.ReplaceAllString(tmpl, ""), "{}") {
		return nil, errors.New("unbalanced { or }")
	}
	// A claim may only fill the user name: in the partition, region,
	// account or namespace it would let a user pick them.
	head, name, found := strings.Cut(tmpl, ":user/")
	if found {
		ns, _, _ := strings.Cut(name, "/")
		head += ":user/" + ns
	} else {
		head = "" // no user ARN at all: the shape check below says so
	}
	for _, p := range placeholderRE.FindAllString(head, -1) {
		if p != "{account_id}" && p != "{namespace}" && p != "{identity_region}" {
			return nil, fmt.Errorf("%s may only be used in the user name, after user/{namespace}/", p)
		}
	}
	if len(claims) == 0 {
		return nil, errors.New("the template reads no user claim, so every user would get the same QuickSight user")
	}
	// Fill it with sample values: a template that cannot give a QuickSight
	// user ARN must fail at start-up, not as a 403 for every user.
	sample := placeholderRE.ReplaceAllStringFunc(tmpl, func(p string) string {
		switch p {
		case "{account_id}":
			return "123456789012"
		case "{namespace}":
			return "default"
		case "{identity_region}":
			return "us-east-1"
		}
		return "user"
	})
	if !isUserARN(sample) {
		return nil, fmt.Errorf("does not give a QuickSight user ARN (arn:aws:quicksight:REGION:ACCOUNT:user/NAMESPACE/NAME), e.g. %q", sample)
	}
	return claims, nil
}

// TemplateMapper builds the ARN from a template (see TemplateClaims).
type TemplateMapper struct {
	tmpl      string
	filled    claimTemplate // tmpl split at its placeholders, once
	namespace string        // the default for {namespace}
}

// NewTemplateMapper fills the account-wide placeholders once; the template
// must already have passed TemplateClaims. {namespace} is filled per user
// (Identity) or with namespace (UserARN).
func NewTemplateMapper(tmpl, accountID, namespace, identityRegion string) *TemplateMapper {
	r := strings.NewReplacer("{account_id}", accountID, "{identity_region}", identityRegion)
	t := r.Replace(tmpl)
	return &TemplateMapper{tmpl: t, filled: splitClaims(t), namespace: namespace}
}

// CheckTemplate fills a template with the real account, namespace and
// identity region and sample claims, and reports whether the result is a
// QuickSight user ARN: a bad identity region from the AWS profile must stop
// start-up, not give every user a 403.
func CheckTemplate(tmpl, accountID, namespace, identityRegion string) error {
	m := NewTemplateMapper(tmpl, accountID, namespace, identityRegion)
	sample := placeholderRE.ReplaceAllString(strings.ReplaceAll(m.tmpl, "{namespace}", namespace), "user")
	if !isUserARN(sample) {
		return fmt.Errorf("gives %q with this account, namespace and identity region, not a QuickSight user ARN", sample)
	}
	return nil
}

// UserARN fills the claim placeholders, with the default namespace.
func (m *TemplateMapper) UserARN(c Claims) (string, error) {
	return m.arn(c, m.namespace)
}

// arn fills the claim placeholders. A claim that is missing or holds a
// character that could change the ARN's shape means no mapping.
func (m *TemplateMapper) arn(c Claims, namespace string) (string, error) {
	if namespace == "" {
		namespace = m.namespace
	}
	arn, err := m.filled.fill(c, namespace, "an ARN")
	if err != nil {
		return "", err
	}
	if !isUserARN(arn) {
		return "", fmt.Errorf("%w: the template gives %q, not a QuickSight user ARN", ErrNoMapping, arn)
	}
	return arn, nil
}

// Identity implements Mapper: the template needs no AWS call. The
// {namespace} placeholder is the person's namespace.
func (m *TemplateMapper) Identity(_ context.Context, p Person) (Identity, error) {
	arn, err := m.arn(p.Claims, p.Namespace)
	return Identity{UserARN: arn}, err
}

// PreviewARN is the ARN the template gives p, without any AWS call.
func (m *TemplateMapper) PreviewARN(p Person) (string, error) { return m.arn(p.Claims, p.Namespace) }
