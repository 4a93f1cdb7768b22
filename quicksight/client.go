// Package quicksight is the gateway's side of Amazon QuickSight: it asks for
// embed URLs (GetSessionEmbedUrl, or GenerateEmbedUrlForRegisteredUser with
// the console, dashboard, Generative Q&A or visual experience and the
// features the settings turn on), maps signed-in users to QuickSight
// identities, lists what a user may open, and turns AWS errors into this
// package's own error values. It never caches an embed URL: each one is
// single-use.
package quicksight

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/quicksight"
	"github.com/aws/aws-sdk-go-v2/service/quicksight/types"
)

// API is the part of the AWS SDK client the embed calls use.
type API interface {
	GetSessionEmbedUrl(ctx context.Context, in *quicksight.GetSessionEmbedUrlInput, opts ...func(*quicksight.Options)) (*quicksight.GetSessionEmbedUrlOutput, error)
	GenerateEmbedUrlForRegisteredUser(ctx context.Context, in *quicksight.GenerateEmbedUrlForRegisteredUserInput, opts ...func(*quicksight.Options)) (*quicksight.GenerateEmbedUrlForRegisteredUserOutput, error)
	GenerateEmbedUrlForRegisteredUserWithIdentity(ctx context.Context, in *quicksight.GenerateEmbedUrlForRegisteredUserWithIdentityInput, opts ...func(*quicksight.Options)) (*quicksight.GenerateEmbedUrlForRegisteredUserWithIdentityOutput, error)
}

// Client issues embed URLs for one QuickSight account.
type Client struct {
	API             API
	AccountID       string
	SessionLifetime int64         // minutes, 15-600
	Timeout         time.Duration // per page view, retries included
	// Directory, when set, explains an AccessDenied: it asks DescribeUser
	// (in the identity region) whether the user is a reader.
	Directory *Directory
	// RegisteredUser switches to GenerateEmbedUrlForRegisteredUser, which
	// sends AllowedDomains (at most 3) with every call.
	RegisteredUser bool
	AllowedDomains []string
	// DashboardExperience opens /dashboards/{id} in the Dashboard
	// experience (read-only, open to readers); registered-user API only.
	DashboardExperience bool
	// ConsoleFeatures and DashboardFeatures are the features the
	// registered-user API turns on in the console and in the Dashboard
	// experience (names checked by CheckConsoleFeatures and
	// CheckDashboardFeatures); QuickSight leaves every other one off.
	ConsoleFeatures, DashboardFeatures []string
	// AmazonQGroups, when set, keep the q-* features to users in one of
	// these groups (Identity.Groups); the others get the rest.
	AmazonQGroups []string
	Now           func() time.Time // nil means time.Now
}

// Embed is one freshly issued embed URL. URL is a bearer credential: show it
// to its user once, never log or store it.
type Embed struct {
	URL       string
	RequestID string
	// ExpiresAt is when the URL stops working if unused (QuickSight's five
	// minutes).
	ExpiresAt time.Time
	// Dashboard is true when the URL opens the Dashboard experience.
	Dashboard bool
	// Experience is the experience the URL opens (ExperienceConsole, ...).
	Experience string
}

// URLLifetime is how long QuickSight accepts an unused embed URL.
const URLLifetime = 5 * time.Minute

// Target is what a view opens: an entry point (a console one, or /qna...,
// /visual/...: experiences.go), and for a dashboard the parameters to
// pre-filter it with.
type Target struct {
	EntryPoint string
	Params     []Param
}

// MaxEntryPoint is the longest entry point GetSessionEmbedUrl accepts.
const MaxEntryPoint = 1000

var idRE = regexp.MustCompile(`^[\w-]{1,512}$`)

// ErrBadEntryPoint means the entry point is not one QuickSight accepts; it is
// caught before any AWS call.
var ErrBadEntryPoint = errors.New("not a QuickSight console entry point")

// ValidID reports whether id is a well-formed dashboard or analysis id.
func ValidID(id string) bool { return idRE.MatchString(id) }

// CheckEntryPoint enforces the seed's entry point forms and length, and
// the forms of the registered-user API's other experiences (experiences.go).
func CheckEntryPoint(ep string) error {
	if _, ok := parseView(ep); !ok {
		return ErrBadEntryPoint
	}
	return nil
}

// EmbedURL makes one embed call for id and t: GetSessionEmbedUrl (with
// id.UserARN, or, for an IAM role session, signed with id.Creds and without
// a UserArn), or GenerateEmbedUrlForRegisteredUser with the experience the
// entry point names: the console (the Dashboard experience for a dashboard
// when DashboardExperience is on), Generative Q&A or one visual, and the
// features turned on for the console and the Dashboard experience.
// Dashboard parameters go in the URL's fragment. Errors are *Error (see
// errors.go), or ErrBadEntryPoint, ErrBadParams and ErrNeedsRegisteredUser
// before any call.
func (c *Client) EmbedURL(ctx context.Context, id Identity, t Target) (Embed, error) {
	v, ok := parseView(t.EntryPoint)
	if !ok {
		return Embed{}, ErrBadEntryPoint
	}
	if len(t.Params) > 0 && !strings.HasPrefix(t.EntryPoint, "/dashboards/") {
		return Embed{}, ErrBadParams
	}
	if err := c.Supports(t.EntryPoint); err != nil {
		return Embed{}, err
	}
	if v.experience == ExperienceConsole && c.RegisteredUser && c.DashboardExperience && v.dashboardID != "" {
		v.experience = ExperienceDashboard
	}
	if dl, ok := ctx.Deadline(); !ok || time.Until(dl) > c.Timeout { // the caller's, when sooner
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.Timeout)
		defer cancel()
	}
	ctx, throttled := watchThrottling(ctx)
	var (
		out embedOutput
		err error
		op  string
	)
	switch {
	case id.WithIdentity:
		op = "GenerateEmbedUrlForRegisteredUserWithIdentity"
		out, err = c.registeredUser(ctx, id, t.EntryPoint, v)
	case c.RegisteredUser:
		op = "GenerateEmbedUrlForRegisteredUser"
		out, err = c.registeredUser(ctx, id, t.EntryPoint, v)
	default:
		op = "GetSessionEmbedUrl"
		out, err = c.session(ctx, id, t.EntryPoint)
	}
	if err != nil {
		e := throttledTimeout(classify(op, err), throttled)
		if id.WithIdentity && errors.Is(e, ErrAccessDenied) && strings.Contains(e.Message, "IAM Identity Center") {
			e.Kind, e.Hint = ErrAccountNotIdentityCenter, "QuickSight refused identity-enhanced credentials: the QuickSight account must be subscribed with IAM Identity Center (DescribeAccountSubscription's AuthenticationType IAM_IDENTITY_CENTER), in the same organization instance as QSGATE_IDC_APPLICATION_ARN"
		}
		// Only the console refuses readers; the other experiences are theirs too.
		if errors.Is(e, ErrAccessDenied) && v.experience == ExperienceConsole && c.isReader(ctx, id) {
			e.Kind, e.Hint = ErrNotAuthor, "the user's QuickSight role is a reader role; make them AUTHOR or ADMIN to use the console"
		}
		return Embed{}, e
	}
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	return Embed{
		URL: withParams(aws.ToString(out.url), t.Params), RequestID: aws.ToString(out.requestID),
		ExpiresAt: now().Add(URLLifetime), Dashboard: v.experience == ExperienceDashboard, Experience: v.experience,
	}, nil
}

type embedOutput struct{ url, requestID *string }

func (c *Client) session(ctx context.Context, id Identity, entryPoint string) (embedOutput, error) {
	in := &quicksight.GetSessionEmbedUrlInput{
		AwsAccountId:             aws.String(c.AccountID),
		EntryPoint:               aws.String(entryPoint),
		SessionLifetimeInMinutes: aws.Int64(c.SessionLifetime),
	}
	var opts []func(*quicksight.Options)
	if id.Creds != nil {
		opts = append(opts, func(o *quicksight.Options) { o.Credentials = id.Creds })
	} else {
		in.UserArn = aws.String(id.UserARN)
	}
	out, err := c.API.GetSessionEmbedUrl(ctx, in, opts...)
	if err != nil {
		return embedOutput{}, err
	}
	return embedOutput{out.EmbedUrl, out.RequestId}, nil
}

// registeredUser names the user by ARN, with the gateway's own
// credentials (IAM-federated users too); for an identity-enhanced
// identity (id.WithIdentity) it makes the same call without a UserArn,
// GenerateEmbedUrlForRegisteredUserWithIdentity, signed with id.Creds.
func (c *Client) registeredUser(ctx context.Context, id Identity, entryPoint string, v view) (embedOutput, error) {
	exp := &types.RegisteredUserEmbeddingExperienceConfiguration{}
	switch v.experience {
	case ExperienceDashboard:
		exp.Dashboard = &types.RegisteredUserDashboardEmbeddingConfiguration{
			InitialDashboardId:    aws.String(v.dashboardID),
			FeatureConfigurations: dashboardFeatures.build(c.DashboardFeatures, c.amazonQ(id)),
		}
	case ExperienceQnA:
		exp.GenerativeQnA = &types.RegisteredUserGenerativeQnAEmbeddingConfiguration{}
		if v.topicID != "" {
			exp.GenerativeQnA.InitialTopicId = aws.String(v.topicID)
		}
	case ExperienceVisual:
		exp.DashboardVisual = &types.RegisteredUserDashboardVisualEmbeddingConfiguration{
			InitialDashboardVisualId: &types.DashboardVisualId{
				DashboardId: aws.String(v.dashboardID), SheetId: aws.String(v.sheetID), VisualId: aws.String(v.visualID),
			},
		}
	default:
		exp.QuickSightConsole = &types.RegisteredUserQuickSightConsoleEmbeddingConfiguration{
			InitialPath:           aws.String(entryPoint),
			FeatureConfigurations: consoleFeatures.build(c.ConsoleFeatures, c.amazonQ(id)),
		}
	}
	if id.WithIdentity {
		out, err := c.API.GenerateEmbedUrlForRegisteredUserWithIdentity(ctx, &quicksight.GenerateEmbedUrlForRegisteredUserWithIdentityInput{
			AwsAccountId:             aws.String(c.AccountID),
			SessionLifetimeInMinutes: aws.Int64(c.SessionLifetime),
			AllowedDomains:           c.AllowedDomains,
			ExperienceConfiguration:  exp,
		}, func(o *quicksight.Options) { o.Credentials = id.Creds })
		if err != nil {
			return embedOutput{}, err
		}
		return embedOutput{out.EmbedUrl, out.RequestId}, nil
	}
	out, err := c.API.GenerateEmbedUrlForRegisteredUser(ctx, &quicksight.GenerateEmbedUrlForRegisteredUserInput{
		AwsAccountId:             aws.String(c.AccountID),
		UserArn:                  aws.String(id.UserARN),
		SessionLifetimeInMinutes: aws.Int64(c.SessionLifetime),
		AllowedDomains:           c.AllowedDomains,
		ExperienceConfiguration:  exp,
	})
	if err != nil {
		return embedOutput{}, err
	}
	return embedOutput{out.EmbedUrl, out.RequestId}, nil
}

// amazonQ reports whether the q-* features are for id: for everyone
// without AmazonQGroups, else for members of one of them. A user whose
// groups the session did not keep is not a member.
func (c *Client) amazonQ(id Identity) bool {
	if len(c.AmazonQGroups) == 0 {
		return true
	}
	for _, g := range id.Groups {
		if slices.Contains(c.AmazonQGroups, g) {
			return true
		}
	}
	return false
}

// isReader is a diagnosis made only after AccessDenied: QuickSight refuses
// readers the console with an unhelpful message. The role the mapper
// learned answers it; else DescribeUser in the identity region, which needs
// quicksight:DescribeUser: without it the answer is simply "no".
func (c *Client) isReader(ctx context.Context, id Identity) bool {
	if id.Role != "" {
		return IsReader(id.Role)
	}
	ns, name, ok := splitUserARN(id.UserARN)
	if !ok || c.Directory == nil {
		return false
	}
	u, err := c.Directory.Describe(ctx, ns, name)
	return err == nil && IsReader(u.Role)
}

// splitUserARN takes "arn:...:user/{namespace}/{name}" apart; an IAM role
// session's name holds a slash itself ("Role/session").
func splitUserARN(arn string) (namespace, name string, ok bool) {
	_, res, found := strings.Cut(arn, ":user/")
	if !found {
		return "", "", false
	}
	return strings.Cut(res, "/")
}
