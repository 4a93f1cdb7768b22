// Package quicksight is the gateway's side of Amazon QuickSight: it asks for
// embed URLs (GetSessionEmbedUrl, or GenerateEmbedUrlForRegisteredUser with
// the console or dashboard experience), maps signed-in users to QuickSight
// identities, lists what a user may open, and turns AWS errors into this
// package's own error values. It never caches an embed URL: each one is
// single-use.
package quicksight

import (
	"context"
	"errors"
	"regexp"
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
	Now                 func() time.Time // nil means time.Now
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
}

// URLLifetime is how long QuickSight accepts an unused embed URL.
const URLLifetime = 5 * time.Minute

// Target is what a view opens: a console entry point, and for a dashboard
// the parameters to pre-filter it with.
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

// CheckEntryPoint enforces the seed's entry point forms and length.
func CheckEntryPoint(ep string) error {
	if len(ep) > MaxEntryPoint {
		return ErrBadEntryPoint
	}
	switch ep {
	case "/start", "/start/analyses", "/start/dashboards", "/start/favorites":
		return nil
	}
	for _, prefix := range []string{"/dashboards/", "/analyses/"} {
		if id, ok := strings.CutPrefix(ep, prefix); ok && ValidID(id) {
			return nil
		}
	}
	return ErrBadEntryPoint
}

// EmbedURL makes one embed call for id and t: GetSessionEmbedUrl (with
// id.UserARN, or, for an IAM role session, signed with id.Creds and without
// a UserArn), or GenerateEmbedUrlForRegisteredUser with the console or, for
// a dashboard when DashboardExperience is on, the Dashboard experience.
// Dashboard parameters go in the URL's fragment. Errors are *Error (see
// errors.go), or ErrBadEntryPoint and ErrBadParams before any call.
func (c *Client) EmbedURL(ctx context.Context, id Identity, t Target) (Embed, error) {
	if err := CheckEntryPoint(t.EntryPoint); err != nil {
		return Embed{}, err
	}
	dashboardID, isDashboard := strings.CutPrefix(t.EntryPoint, "/dashboards/")
	if len(t.Params) > 0 && !isDashboard {
		return Embed{}, ErrBadParams
	}
	if dl, ok := ctx.Deadline(); !ok || time.Until(dl) > c.Timeout { // the caller's, when sooner
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.Timeout)
		defer cancel()
	}
	ctx, throttled := watchThrottling(ctx)
	var (
		out       embedOutput
		err       error
		op        string
		dashboard = c.RegisteredUser && c.DashboardExperience && isDashboard
	)
	if c.RegisteredUser {
		op = "GenerateEmbedUrlForRegisteredUser"
		out, err = c.registeredUser(ctx, id, t.EntryPoint, dashboard, dashboardID)
	} else {
		op = "GetSessionEmbedUrl"
		out, err = c.session(ctx, id, t.EntryPoint)
	}
	if err != nil {
		e := throttledTimeout(classify(op, err), throttled)
		if errors.Is(e, ErrAccessDenied) && !dashboard && c.isReader(ctx, id) {
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
		ExpiresAt: now().Add(URLLifetime), Dashboard: dashboard,
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

// registeredUser always names the user by ARN, with the gateway's own
// credentials (IAM-federated users too).
func (c *Client) registeredUser(ctx context.Context, id Identity, entryPoint string, dashboard bool, dashboardID string) (embedOutput, error) {
	exp := &types.RegisteredUserEmbeddingExperienceConfiguration{}
	if dashboard {
		exp.Dashboard = &types.RegisteredUserDashboardEmbeddingConfiguration{InitialDashboardId: aws.String(dashboardID)}
	} else {
		exp.QuickSightConsole = &types.RegisteredUserQuickSightConsoleEmbeddingConfiguration{InitialPath: aws.String(entryPoint)}
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
